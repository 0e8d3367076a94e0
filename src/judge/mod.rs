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
pub mod placement;
pub mod post;
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
use measure::Submission;
use notice::Severity;
use post::Placement;

pub use enrichment::Enrichment;
use group::Groupable;
pub use outgoing::{Options, Outgoing, Reason, Summary};
use routing::{Mention, Notify, Route};

/// Judges an event: what to post for it, with what enrichment found (`Enrichment::default()` when
/// it is off). `now` stamps metrics Datadog would refuse at event time.
pub fn judge(
    event: &Event,
    enrichment: &Enrichment,
    options: &Options,
    now: DateTime<Utc>,
) -> Outgoing {
    let envelope = event.envelope();
    let mut dedupe_keys = Vec::new();
    if !envelope.id.is_empty() {
        dedupe_keys.push(format!("id:{}", envelope.id));
    }
    let route = Route::from_tags(enrichment.tags());
    let notify = route.notify.unwrap_or(if options.notify_on_success {
        Notify::All
    } else {
        Notify::Failures
    });
    let mut placement = Placement::default();
    let (summary, mut notice, datadog) = match event {
        Event::Task(env, task) => {
            if let (Some(task_arn), Some(version)) = (&task.task_arn, task.version) {
                dedupe_keys.push(format!("task:{task_arn}#{version}"));
            }
            task::plan(env, task, enrichment, &route, notify, options, now)
        }
        Event::Deployment(env, deployment) => {
            let (summary, notice, posts, datadog) =
                deployment::plan(env, deployment, enrichment, now);
            placement.thread = deployment.deployment_id.clone().filter(|id| !id.is_empty());
            placement.thread_notice = Some(notice.clone());
            // A service's latest deployment message: its hooks' notices reply there.
            let place = crate::source::ServiceRef::locate(env, None, None);
            placement.remember_as = Some(format!("service:{}/{}", place.cluster, place.service));
            (summary, Some(notice).filter(|_| posts), datadog)
        }
        Event::Hook(env, hook) => {
            if let (Some(id), Some(name)) = (&hook.hook_id, &hook.event_name) {
                dedupe_keys.push(format!("hook:{id}:{name}"));
            }
            placement.reply_to = Some(format!("service:{}/{}", hook.cluster(), hook.service()));
            hook::plan(env, hook, now)
        }
        Event::InstanceHealth(env, health) => {
            let arn = health.container_instance_arn.clone().unwrap_or_default();
            let changed = health
                .health_checks
                .iter()
                .filter_map(|c| c.last_status_change)
                .max()
                .map(|t| t.timestamp())
                .unwrap_or_default();
            let status = health.overall_status.as_deref().unwrap_or("");
            dedupe_keys.push(format!("instance-health:{arn}:{status}@{changed}"));
            match status {
                // The impairment alert is remembered; the return to OK replies in its thread.
                "IMPAIRED" => placement.remember_as = Some(format!("instance:{arn}")),
                _ => {
                    placement.reply_to = Some(format!("instance:{arn}"));
                    placement.reply_only = true;
                }
            }
            instance::plan_health(env, health, now)
        }
        Event::InstanceState(env, state) => {
            let arn = state.container_instance_arn.as_deref().unwrap_or("");
            match (state.status.as_deref(), state.version) {
                // A status is told once, however many changes of the instance repeat it.
                (Some(status), _) if status != "ACTIVE" => {
                    dedupe_keys.push(format!("instance-status:{arn}:{status}"))
                }
                (_, Some(version)) => dedupe_keys.push(format!("instance:{arn}#{version}")),
                _ => {}
            }
            instance::plan_state(env, state, now)
        }
        Event::DaemonAction(env, action) => daemon::plan_action(env, action, now),
        Event::DaemonDeployment(env, deployment) => {
            let (summary, notice, posts, datadog) = daemon::plan_deployment(env, deployment, now);
            placement.thread = deployment
                .daemon_deployment_arn
                .clone()
                .filter(|id| !id.is_empty());
            if let (Some(id), Some(name)) = (&placement.thread, &deployment.event_name) {
                dedupe_keys.push(format!("daemon-deployment:{id}:{name}"));
            }
            placement.thread_notice = Some(notice.clone());
            (summary, Some(notice).filter(|_| posts), datadog)
        }
        Event::Other(env, other) => other::plan(env, other, now),
        Event::ServiceAction(env, action) => service_action::plan(env, action),
        Event::RunTask(env, call) => {
            if let Some(id) = call.event_id.as_deref().filter(|id| !id.is_empty()) {
                dedupe_keys.push(format!("cloudtrail:{id}"));
            }
            run_task::plan(env, call, now)
        }
        Event::TargetFailure(env, failure) => dead_letter::plan(env, failure, now),
        Event::Retirement(env, health) => retirement::plan(env, health, now),
        Event::Check(_) => (
            Summary {
                kind: "check",
                verdict: "check".into(),
                cause: String::new(),
                subject: String::new(),
                reason: None,
            },
            None,
            Submission::default(),
        ),
    };
    if notify == Notify::None {
        notice = None;
    }
    // A failure pings the people the tags name; so does a deployment waiting for approval.
    let awaits = matches!(event, Event::Hook(_, h) if h.event_name.as_deref() == Some("HOOK_AWAITING_ACTION"));
    if let Some(n) = notice.as_mut() {
        if n.severity == Severity::Failure || awaits {
            n.mentions = route
                .mentions
                .iter()
                .map(|m: &Mention| m.token().to_string())
                .collect();
        }
    }
    // Failures repeat (a crash loop, a fan-out); deployments and successes do not flood.
    let flood_key = match (&notice, event) {
        (Some(n), Event::Task(_, task)) if n.severity == Severity::Failure => Some(format!(
            "{}/{}/{}",
            task.cluster(),
            summary.subject,
            summary.cause
        )),
        (Some(_), Event::ServiceAction(env, action)) => {
            let place = action.service_ref(env);
            Some(format!(
                "{}/{}/{}",
                place.cluster, place.service, summary.verdict
            ))
        }
        // A capacity shortage refuses a fan-out of launches at once.
        (Some(_), Event::RunTask(_, call)) => Some(format!(
            "{}/{}/launch:{}",
            call.cluster(),
            summary.subject,
            summary.cause
        )),
        // A schedule retrying a launch ECS refuses shows as refused calls and as dead letters:
        // one flood window for both when the dead letter names the task.
        (Some(_), Event::TargetFailure(_, failure)) => {
            Some(match (failure.cluster_name(), failure.family()) {
                (Some(cluster), Some(family)) => {
                    format!("{cluster}/{family}/launch:{}", summary.cause)
                }
                _ => format!("dlq/{}/{}", failure.launcher.name(), summary.cause),
            })
        }
        (Some(n), Event::InstanceHealth(_, health)) if n.severity == Severity::Failure => Some(
            format!("{}/{}/impaired", health.cluster(), health.instance()),
        ),
        (Some(_), Event::DaemonAction(_, action)) => {
            let (daemon, cluster) = action.place();
            Some(format!("{cluster}/daemon:{daemon}/{}", summary.cause))
        }
        (Some(_), Event::Other(_, other)) => Some(format!(
            "{}/{}/other:{}",
            other.cluster(),
            other.subject(),
            summary.cause
        )),
        _ => None,
    };
    // Failures of one cause across services may be one incident (grouped when many).
    let group = match (&notice, event) {
        (Some(n), Event::Task(env, task)) if n.severity == Severity::Failure => Some(Groupable {
            account: env.account.clone(),
            cluster: task.cluster().to_string(),
            cause: summary.cause.clone(),
            // The alert's title without its subject, and its fix: the catalogue's words.
            headline: n
                .title
                .split_once(&format!(": {}", summary.subject))
                .map_or(n.title.as_str(), |(head, _)| head)
                .to_string(),
            hint: n
                .sections
                .iter()
                .find(|s| s.label == "Where to look")
                .and_then(|s| match &s.body {
                    crate::judge::notice::Body::Text(text) => Some(text.clone()),
                    _ => None,
                }),
            reason: task
                .stopped_reason
                .as_deref()
                .filter(|r| !r.starts_with("Essential container in task exited"))
                .or_else(|| task.containers.iter().find_map(|c| c.reason.as_deref()))
                .map(|r| r.chars().take(300).collect()),
            subject: summary.subject.clone(),
        }),
        (Some(n), Event::ServiceAction(env, action)) => {
            let place = action.service_ref(env);
            Some(Groupable {
                account: env.account.clone(),
                cluster: place.cluster,
                cause: summary.verdict.to_ascii_lowercase(),
                headline: match service_action::headline(&summary.verdict) {
                    "Service event" => n.title.clone(),
                    words => words.to_string(),
                },
                hint: None,
                reason: action.reason.clone(),
                subject: place.service,
            })
        }
        _ => None,
    };
    let at = match event {
        Event::Task(env, task) => task.stopped_at.or(env.time),
        Event::Deployment(env, d) => d.updated_at.or(env.time),
        Event::ServiceAction(env, a) => a.created_at.or(env.time),
        Event::RunTask(env, call) => call.event_time.or(env.time),
        Event::Retirement(env, _) | Event::TargetFailure(env, _) | Event::Check(env) => env.time,
        Event::Hook(env, h) => h.updated_at.or(env.time),
        Event::InstanceState(env, s) => s.updated_at.or(env.time),
        Event::DaemonAction(env, a) => a.created_at.or(env.time),
        Event::DaemonDeployment(env, d) => d.updated_at.or(env.time),
        Event::InstanceHealth(env, _) | Event::Other(env, _) => env.time,
    };
    if notify == Notify::None {
        placement.thread_notice = None;
    }
    placement.route = route.slack.clone();
    placement.channel = route.slack_channel.clone();
    Outgoing {
        flood_key,
        at,
        summary,
        notice,
        placement,
        route_problems: route.problems,
        datadog,
        dedupe_keys,
        group,
    }
}
