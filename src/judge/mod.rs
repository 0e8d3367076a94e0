//! Stage 3 of the pipeline, pure: an event and what enrichment found become an [`Outgoing`]: a
//! verdict, a notice rendered for Slack, Datadog payloads, and how to route and dedupe them.
//! One planner per kind of event; no I/O happens here.

pub mod console;
pub mod daemon;
pub mod dead_letter;
pub mod deployment;
pub mod enrichment;
pub mod flood;
pub mod group;
pub mod held_back;
pub mod hook;
pub mod instance;
pub mod jobs;
pub mod lookups;
pub mod measure;
pub mod notice;
pub mod other;
pub mod outgoing;
pub mod place;
pub mod placement;
pub mod plan;
pub mod post;
pub mod replay;
pub mod retirement;
pub mod routing;
pub mod run_task;
pub mod service_action;
pub mod stops;
pub mod tags;
pub mod task;
pub mod words;
pub mod xid;

use chrono::{DateTime, Utc};

use crate::source::Event;

pub use enrichment::Enrichment;
pub use outgoing::{Options, Outgoing, Reason, Summary};
use place::Place;
pub use plan::{Context, Plan};
use routing::{Notify, Route};

/// Judges an event: what to post for it, with what enrichment found (`Enrichment::default()` when
/// it is off). `now` stamps metrics Datadog would refuse at event time. One planner per kind
/// makes a [`Plan`]; the judge then applies what the tags ask of every kind.
pub fn judge(
    event: &Event,
    enrichment: &Enrichment,
    options: &Options,
    now: DateTime<Utc>,
) -> Outgoing {
    let route = Route::from_tags(enrichment.tags());
    let notify = route.notify.unwrap_or(if options.notify_on_success {
        Notify::All
    } else {
        Notify::Failures
    });
    let ctx = Context {
        enrichment,
        route: &route,
        notify,
        options,
        now,
    };
    let plan = match event {
        Event::Task(env, task) => task::plan(env, task, &ctx),
        Event::Deployment(env, deployment) => deployment::plan(env, deployment, &ctx),
        Event::Hook(env, hook) => hook::plan(env, hook, &ctx),
        Event::InstanceHealth(env, health) => instance::plan_health(env, health, &ctx),
        Event::InstanceState(env, state) => instance::plan_state(env, state, &ctx),
        Event::DaemonAction(env, action) => daemon::plan_action(env, action, &ctx),
        Event::DaemonDeployment(env, d) => daemon::plan_deployment(env, d, &ctx),
        Event::Other(env, other) => other::plan(env, other, &ctx),
        Event::ServiceAction(env, action) => service_action::plan(env, action, &ctx),
        Event::RunTask(env, call) => run_task::plan(env, call, &ctx),
        Event::TargetFailure(env, failure) => dead_letter::plan(env, failure, &ctx),
        Event::Retirement(env, health) => retirement::plan(env, health, &ctx),
        Event::Check(_) => Plan::check(),
    };
    let envelope = event.envelope();
    let found = enrichment.account_name.as_deref();
    let place = Place::new(&envelope.account, &envelope.region, found, options);
    finish(event, plan, route, notify, &place)
}

/// What the tags ask of every plan: no notice when they silence the event; the people they
/// name pinged on a failure (or on what asks for action); the route and channel they name.
/// Where it happened: the account and region named in the notice when worth it, on every metric
/// and event, and the account's route and channel where the tags name none. The event's own
/// identities and time make its keys.
fn finish(event: &Event, mut plan: Plan, route: Route, notify: Notify, place: &Place) -> Outgoing {
    if notify == Notify::None {
        plan.notice = None;
        plan.placement.thread_notice = None;
    }
    let pings = plan.fails() || plan.pings;
    if let Some(n) = plan.notice.as_mut().filter(|_| pings) {
        n.mentions = route.mentions.clone();
    }
    // Only what posts floods or groups.
    if plan.notice.is_none() {
        plan.flood_key = None;
        plan.group = None;
    }
    if plan.fails() && plan.notice.is_some() {
        plan.placement.buttons.runbook = route.runbook;
    }
    plan.placement.route = route.slack;
    plan.placement.teams = route.teams;
    plan.placement.channel = route.slack_channel;
    place.apply(plan.notice.as_mut(), &mut plan.datadog, &mut plan.placement);
    Outgoing {
        summary: plan.summary,
        notice: plan.notice,
        placement: plan.placement,
        route_problems: route.problems,
        datadog: plan.datadog,
        dedupe_keys: event.identities(),
        flood_key: plan.flood_key,
        at: event.happened_at(),
        group: plan.group,
    }
}
