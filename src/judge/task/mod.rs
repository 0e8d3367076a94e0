//! The planner of a stopped task: its verdict, the alert when it failed (or a notice when asked
//! for), and the Datadog metrics of every stop.

pub mod cause;
pub mod causes;
pub mod durations;
pub mod notice;
pub mod trigger;
pub mod verdict;

use chrono::{DateTime, Utc};

use crate::judge::measure::{metric_time, tag, Tags};
use crate::judge::measure::{Distribution, Submission};
use crate::judge::notice::Notice;
use crate::source::{Envelope, Task};

use super::enrichment::Enrichment;
use super::group::Groupable;
use super::outgoing::{Reason, Summary};
use super::plan::{headline, hint, Context, Plan};
use super::routing::Notify;
use crate::judge::tags;
use cause::Cause;
use verdict::{classify, Outcome, TaskVerdict};

/// `family:rev`, or the family alone.
pub fn definition(task: &Task) -> String {
    match task.family_revision() {
        (family, Some(rev)) => format!("{family}:{rev}"),
        (family, None) => family.to_string(),
    }
}

/// Plans a Task State Change: ignored unless STOPPED; judged, counted, and alerted on when
/// it failed. A failure floods with the same failures of its service or job, and may be part
/// of an incident.
pub fn plan(envelope: &Envelope, task: &Task, ctx: &Context) -> Plan {
    let (family, _) = task.family_revision();
    if !task.is_stopped() {
        let status = task.last_status.as_deref().unwrap_or("unknown");
        let summary = Summary {
            kind: "task",
            verdict: "ignored".into(),
            cause: format!("status {status}"),
            subject: family.to_string(),
            reason: None,
        };
        return Plan::new(summary, None, Submission::default());
    }
    let verdict = classify(task, ctx.enrichment, &ctx.route.success_exit_codes);
    let subject = verdict
        .trigger
        .service()
        .unwrap_or(if family.is_empty() {
            task.task_id()
        } else {
            family
        })
        .to_string();
    let summary = Summary {
        kind: "task",
        verdict: verdict.outcome.as_str().into(),
        cause: verdict.cause.as_str().into(),
        subject: subject.clone(),
        reason: Some(Reason {
            id: verdict.explanation.entry.id,
            note: sidecar_note(&verdict),
        }),
    };
    let notice = wanted(&verdict, ctx)
        .then(|| notice::of(envelope, task, &verdict, ctx.enrichment, &subject));
    let datadog = task_metrics(envelope, task, &verdict, ctx.enrichment, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    if plan.fails() {
        plan.flood_key = Some(format!(
            "{}/{}/{}",
            task.cluster(),
            subject,
            plan.summary.cause
        ));
        plan.group = plan
            .notice
            .as_ref()
            .map(|n| incident(envelope, task, n, &subject, &plan.summary));
    }
    plan
}

/// Whether a stop gets a notice: a failure does; a success when asked for; a service task
/// killed after its stop timeout (churn) only when the tags or settings ask for it.
fn wanted(verdict: &TaskVerdict, ctx: &Context) -> bool {
    let stop_timeout_notice = verdict.cause == Cause::StopTimeout
        && (ctx.route.notify == Some(Notify::All) || ctx.options.notify_on_stop_timeout);
    match verdict.outcome {
        Outcome::Failure => true,
        Outcome::Success => ctx.notify == Notify::All,
        Outcome::Expected => stop_timeout_notice && ctx.notify != Notify::None,
    }
}

/// What an incident of this failure is about: its cause in its account and cluster, the
/// alert's headline and fix (the catalogue's words), and what ECS said of it.
fn incident(
    envelope: &Envelope,
    task: &Task,
    notice: &Notice,
    subject: &str,
    summary: &Summary,
) -> Groupable {
    Groupable {
        account: envelope.account.clone(),
        cluster: task.cluster().to_string(),
        cause: summary.cause.clone(),
        headline: headline(notice, subject),
        hint: hint(notice),
        reason: task
            .stopped_reason
            .as_deref()
            .filter(|r| !r.starts_with("Essential container in task exited"))
            .or_else(|| task.containers.iter().find_map(|c| c.reason.as_deref()))
            .map(|r| r.chars().take(300).collect()),
        subject: subject.to_string(),
    }
}

/// For a job that succeeded though a sidecar was killed at shutdown: which sidecar ignores
/// SIGTERM, and how the judgement knew which containers are sidecars.
fn sidecar_note(verdict: &TaskVerdict) -> Option<String> {
    if verdict.explanation.entry.id != "completed_sidecar_killed" {
        return None;
    }
    let killed = verdict.explanation.container.as_deref().unwrap_or("?");
    Some(format!(
        "the job succeeded; sidecar {killed} ignores SIGTERM and was killed (137) at shutdown; sidecars: {}",
        verdict.sidecars.join(", ")
    ))
}

/// The Datadog metrics of a stopped task.
fn task_metrics(
    envelope: &Envelope,
    task: &Task,
    verdict: &TaskVerdict,
    enrichment: &Enrichment,
    now: DateTime<Utc>,
) -> Submission {
    let (family, revision) = task.family_revision();
    let mut tags = vec![
        tag(tags::CLUSTER, task.cluster()),
        tag(tags::TASK_FAMILY, family),
    ];
    if let Some(revision) = revision {
        tags.push(tag(tags::TASK_VERSION, &revision.to_string()));
    }
    tags.push(tag("launch_type", task.launch_type()));
    tags.push(tag("trigger", verdict.trigger.kind()));
    if let Some(service) = verdict.trigger.service() {
        tags.push(tag(tags::SERVICE, service));
    }
    if let Some(schedule) = verdict.trigger.schedule() {
        tags.push(tag("schedule", schedule));
    }
    if let Some(provider) = &task.capacity_provider_name {
        tags.push(tag("capacity_provider", provider));
    }
    tags.push(tag("result", verdict.outcome.as_str()));
    tags.push(tag("cause", verdict.cause.as_str()));
    tags.push(tag("reason", verdict.explanation.entry.id));
    // A failure: the container that broke.
    if verdict.outcome == Outcome::Failure {
        if let Some(culprit) = verdict.culprits.first() {
            tags.push(tag(tags::CONTAINER, culprit));
        }
    }
    // Unified service tagging, only with the values the task definition gives.
    for (key, value) in enrichment.task_definition.iter().flat_map(|td| &td.unified) {
        tags.push(tag(key, value));
    }
    let tags: Tags = tags.into();

    let ts = metric_time(task.stopped_at.or(envelope.time), now);
    let d = &verdict.durations;
    let distributions = [
        ("ecs.task.duration", d.running),
        ("ecs.task.startup_duration", d.startup),
        ("ecs.task.pull_duration", d.pulling),
    ]
    .into_iter()
    .filter_map(|(metric, value)| value.map(|v| Distribution::new(metric, ts, v, tags.clone())))
    .chain([Distribution::count("ecs.task.stops", ts, 1, tags.clone())])
    .collect();
    Submission {
        distributions,
        ..Submission::default()
    }
}
