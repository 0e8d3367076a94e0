//! The planner of a schedule's or rule's dead letter: the run did not happen; an alert, always,
//! with what the error means, counted as a launch failure.

use chrono::{DateTime, Utc};

use crate::judge::measure::{metric_time, tag};
use crate::judge::measure::{Distribution, Submission};
use crate::judge::notice::{Notice, Section, Severity};
use crate::source::arn;
use crate::source::dead_letter::{Launcher, TargetFailure};
use crate::source::Envelope;

use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::run_task::explain;
use super::tags;
use super::words::stamp;

fn tell(
    envelope: &Envelope,
    failure: &TargetFailure,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let name = failure.launcher.name();
    let code = failure.error_code.as_deref().unwrap_or("unknown");
    let subject = failure.family().map(str::to_string).unwrap_or(name.clone());
    let summary = Summary {
        kind: "target_failure",
        verdict: "failure".into(),
        cause: code.to_string(),
        subject: subject.clone(),
        reason: None,
    };
    let what = match failure.launcher {
        Launcher::Schedule { .. } => format!("EventBridge Scheduler schedule {name}"),
        Launcher::Rule { .. } => format!("EventBridge rule {name}"),
    };
    let job = match (failure.family(), failure.cluster_name()) {
        (Some(f), Some(c)) => format!(" task {f} in cluster {c}"),
        (Some(f), None) => format!(" task {f}"),
        _ => " target".to_string(),
    };
    let mut context = vec![failure.launcher_arn.clone()];
    if let Some(at) = failure.scheduled_time {
        context.insert(0, format!("Scheduled for {}", stamp(at)));
    }
    let notice = Notice {
        severity: Severity::Failure,
        title: format!("Scheduled run not launched: {subject}"),
        summary: format!(
            "The {what} could not launch its{job}: {code}. The run did not happen; its dead-letter queue received the request."
        ),
        fields: fields(failure, &name),
        sections: vec![
            Section::code(
                "Error",
                match &failure.error_message {
                    Some(m) => format!("{code}: {m}"),
                    None => code.to_string(),
                },
            ),
            Section::text("What it means", explain(code)),
        ],
        links: Vec::new(),
        context,
        mentions: Vec::new(),
    };
    let datadog = datadog(failure, &name, code, metric_time(envelope.time, now));
    (summary, Some(notice), datadog)
}

/// The launcher, the task definition, cluster and target, and the retries.
fn fields(failure: &TargetFailure, name: &str) -> Vec<(String, String)> {
    let launcher = match failure.launcher {
        Launcher::Schedule { .. } => "Schedule",
        Launcher::Rule { .. } => "Rule",
    };
    let mut fields = vec![(launcher.to_string(), name.to_string())];
    if let Some(td) = &failure.task_definition {
        fields.push((
            "Task definition".into(),
            arn::task_definition(td).to_string(),
        ));
    }
    if let Some(c) = failure.cluster_name() {
        fields.push(("Cluster".into(), c.to_string()));
    }
    if let Some(t) = &failure.target_arn {
        fields.push(("Target".into(), t.clone()));
    }
    if let Some(n) = failure.retry_attempts {
        let after = match &failure.exhausted {
            Some(why) => format!("{n} (gave up: {why})"),
            None => n.to_string(),
        };
        fields.push(("Retries".into(), after));
    }
    fields
}

/// Counted as a launch failure, by launcher, schedule, cause, family and cluster.
fn datadog(failure: &TargetFailure, name: &str, code: &str, ts: i64) -> Submission {
    let mut tags = vec![
        tag("launcher", failure.launcher.kind()),
        tag("schedule", name),
        tag("cause", code),
    ];
    if let Some(f) = failure.family() {
        tags.push(tag(tags::TASK_FAMILY, f));
    }
    if let Some(c) = failure.cluster_name() {
        tags.push(tag(tags::CLUSTER, c));
    }
    Submission {
        distributions: vec![Distribution::count("ecs.task.launch_failures", ts, 1, tags)],
        ..Submission::default()
    }
}

/// Plans a schedule's or rule's dead letter: a schedule retrying a launch ECS refuses shows as
/// refused calls and as dead letters, so one flood window serves both when the dead letter
/// names the task.
pub fn plan(envelope: &Envelope, failure: &TargetFailure, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, failure, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    if plan.notice.is_some() {
        let cause = &plan.summary.cause;
        plan.flood_key = Some(match (failure.cluster_name(), failure.family()) {
            (Some(cluster), Some(family)) => format!("{cluster}/{family}/launch:{cause}"),
            _ => format!("dlq/{}/{cause}", failure.launcher.name()),
        });
    }
    plan
}
