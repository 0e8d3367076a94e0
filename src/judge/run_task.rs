//! The planner of a RunTask call recorded by CloudTrail: an alert when ECS refused it (naming
//! who launched it and why, in plain words), counted by launcher and cause.

use chrono::{DateTime, Utc};

use crate::judge::measure::{metric_time, tag};
use crate::judge::measure::{Distribution, Submission};
use crate::judge::notice::{Item, Notice, Section, Severity};
use crate::source::cloudtrail::{ApiCall, Caller};
use crate::source::Envelope;

use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp_seconds;

/// A RunTask call: an alert when it failed, nothing otherwise.
fn tell(
    envelope: &Envelope,
    call: &ApiCall,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let family = call.family().to_string();
    let mut summary = Summary {
        kind: "run_task",
        verdict: "launched".into(),
        cause: String::new(),
        subject: family.clone(),
        reason: None,
    };
    if !call.failed() {
        return (summary, None, Submission::default());
    }
    let cause = call.cause();
    summary.verdict = "failure".into();
    summary.cause = cause.clone();
    let caller = call.user_identity.caller();
    let at = call.event_time.or(envelope.time);
    let notice = notice(call, &caller, &family, at);
    let datadog = datadog(call, &caller, &family, &cause, metric_time(at, now));
    // AWS Batch places its jobs itself, retrying while capacity is short: a refused placement is
    // its normal waiting (counted, not posted). An API error still alerts.
    let batch = call.cluster().starts_with("AWSBatch-")
        || matches!(&caller, Caller::Service { name } if name == "batch.amazonaws.com");
    if batch && call.error_code.is_none() {
        summary.verdict = "expected".into();
        return (summary, None, datadog);
    }
    (summary, Some(notice), datadog)
}

/// The tasks asked for (at least one).
fn requested(call: &ApiCall) -> i64 {
    call.request_parameters.count.unwrap_or(1).max(1)
}

/// The alert: which task was not launched, by whom, and why.
fn notice(call: &ApiCall, caller: &Caller, family: &str, at: Option<DateTime<Utc>>) -> Notice {
    let cluster = call.cluster();
    let td = call.task_definition();
    let started = call.response_elements.tasks.len();
    let how_many = if call.error_code.is_some() || started == 0 {
        "could not be launched".to_string()
    } else {
        format!("launched only {started} of {} tasks", requested(call))
    };
    let mut fields = vec![
        ("Cluster".to_string(), cluster.to_string()),
        ("Task definition".to_string(), td.to_string()),
        ("Launched by".to_string(), caller.describe()),
    ];
    if let Some(lt) = &call.request_parameters.launch_type {
        fields.push(("Launch".into(), lt.clone()));
    }
    if let Some(by) = &call.request_parameters.started_by {
        fields.push(("startedBy".into(), by.clone()));
    }
    let mut context = Vec::new();
    if let Some(at) = at {
        context.push(format!("RunTask · {}", stamp_seconds(at)));
    }
    if let Some(id) = &call.event_id {
        context.push(format!("CloudTrail event {id}"));
    }
    Notice {
        severity: Severity::Failure,
        title: format!("Task not launched: {family}"),
        summary: format!(
            "Task {td} in cluster {cluster} {how_many}: ECS refused the RunTask call made by {}.",
            caller.describe()
        ),
        fields,
        sections: sections(call),
        links: Vec::new(),
        context,
        mentions: Vec::new(),
    }
}

/// The API error, the failures ECS listed, and what the first one means.
fn sections(call: &ApiCall) -> Vec<Section> {
    let failures = &call.response_elements.failures;
    let mut sections = Vec::new();
    if let Some(code) = &call.error_code {
        let message = call.error_message.as_deref().unwrap_or("");
        sections.push(Section::code(
            "Error",
            format!("{code}: {message}").trim_end_matches(": "),
        ));
    }
    if !failures.is_empty() {
        let items = failures
            .iter()
            .take(10)
            .map(|f| Item {
                lead: f.reason.clone().unwrap_or_else(|| "?".into()),
                text: match (&f.detail, &f.arn) {
                    (Some(d), _) if !d.is_empty() => d.clone(),
                    (_, Some(a)) => a.rsplit('/').next().unwrap_or(a).to_string(),
                    _ => String::new(),
                },
            })
            .collect();
        sections.push(Section::items(
            format!("RunTask failures ({})", failures.len()),
            items,
        ));
    }
    let reason = call
        .error_code
        .as_deref()
        .or(failures.first().and_then(|f| f.reason.as_deref()))
        .unwrap_or("unknown");
    sections.push(Section::text(
        "What it means",
        if reason.len() <= 40 {
            format!("{reason}: {}", explain(reason))
        } else {
            explain(reason).to_string()
        },
    ));
    sections
}

/// The tasks refused, counted by cluster, family, launcher and cause.
fn datadog(call: &ApiCall, caller: &Caller, family: &str, cause: &str, ts: i64) -> Submission {
    let refused = if call.error_code.is_some() {
        requested(call)
    } else {
        call.response_elements.failures.len() as i64
    };
    let tags = vec![
        tag(tags::CLUSTER, call.cluster()),
        tag(tags::TASK_FAMILY, family),
        tag("launcher", caller.kind()),
        tag("cause", cause),
    ];
    Submission {
        distributions: vec![Distribution::count(
            "ecs.task.launch_failures",
            ts,
            refused.max(0) as usize,
            tags,
        )],
        ..Submission::default()
    }
}

/// A schedule or rule target's dead-letter message: an alert, always.
/// What a RunTask failure reason or error code means, in plain words.
pub fn explain(reason: &str) -> &'static str {
    if let Some(placement) = super::placement::explain(reason, false) {
        return placement.long;
    }
    let upper = reason.to_ascii_uppercase();
    match upper.as_str() {
        "MISSING" | "INACTIVE" => "the container instance is gone or deregistered.",
        _ if upper.contains("CAPACITY IS UNAVAILABLE") => "Fargate had no capacity for the task in the chosen Availability Zones. It usually passes; more subnets (zones) or a retry policy help.",
        "ACCESSDENIED" | "ACCESSDENIEDEXCEPTION" => "the caller's role may not run this task: it lacks ecs:RunTask on the task definition, or iam:PassRole on the task or execution role.",
        "INVALIDPARAMETEREXCEPTION" => "the request is invalid for this task definition or cluster: a network configuration, launch type or override does not fit.",
        "CLIENTEXCEPTION" => "ECS refused the request: often a task definition that is inactive or does not exist, or a wrong cluster.",
        "CLUSTERNOTFOUNDEXCEPTION" => "the cluster does not exist in this region.",
        "PLATFORMTASKDEFINITIONINCOMPATIBILITYEXCEPTION" => "the task definition does not fit the Fargate platform version asked for.",
        "PLATFORMUNKNOWNEXCEPTION" => "the Fargate platform version does not exist.",
        "UNSUPPORTEDFEATUREEXCEPTION" => "the task asks for a feature this region or launch type does not support.",
        "BLOCKEDEXCEPTION" => "the account is blocked from running tasks (a billing or account issue).",
        "SERVEREXCEPTION" | "THROTTLINGEXCEPTION" => "ECS itself failed or throttled the call; the launcher's retry policy decides whether it was tried again.",
        _ => "ECS did not start the task.",
    }
}

/// Plans a RunTask call CloudTrail recorded: a refusal floods per task family and cause (a
/// capacity shortage refuses a fan-out of launches at once).
pub fn plan(envelope: &Envelope, call: &ApiCall, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, call, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    if plan.notice.is_some() {
        plan.flood_key = Some(format!(
            "{}/{}/launch:{}",
            call.cluster(),
            plan.summary.subject,
            plan.summary.cause
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn refused(
        cluster: &str,
        invoked_by: &str,
        error: Option<&str>,
    ) -> (Summary, Option<Notice>, Submission) {
        let mut detail = json!({
            "eventName": "RunTask",
            "userIdentity": {"type": "AssumedRole", "invokedBy": invoked_by,
                             "sessionContext": {"sessionIssuer": {"userName": "role"}}},
            "requestParameters": {"cluster": cluster, "taskDefinition": "job:1"},
            "responseElements": {"tasks": [], "failures": [{"reason": "RESOURCE:CPU"}]}
        });
        if let Some(code) = error {
            detail["errorCode"] = json!(code);
        }
        let call = ApiCall::deserialize(&detail).unwrap();
        tell(&Envelope::default(), &call, Utc::now())
    }

    #[test]
    fn aws_batch_waiting_for_capacity_is_counted_not_posted() {
        let (s, notice, dd) = refused("AWSBatch-ce-1a2b", "batch.amazonaws.com", None);
        assert_eq!(s.verdict, "expected");
        assert!(notice.is_none());
        assert_eq!(dd.distributions[0].metric, "ecs.task.launch_failures");
        assert!(dd.distributions[0]
            .tags
            .contains(&"launcher:aws_service".to_string()));
        // The same refusal for anyone else alerts; so does an API error for Batch.
        let (s, notice, _) = refused("batch", "events.amazonaws.com", None);
        assert_eq!(s.verdict, "failure");
        assert!(notice.is_some());
        let (s, notice, _) = refused(
            "AWSBatch-ce-1a2b",
            "batch.amazonaws.com",
            Some("AccessDeniedException"),
        );
        assert_eq!(s.verdict, "failure");
        assert!(notice.is_some());
    }

    #[test]
    fn explains_reasons() {
        assert!(explain("RESOURCE:MEMORY").contains("memory"));
        assert!(explain("RESOURCE:PORTS_TCP").contains("ports"));
        assert!(
            explain("Capacity is unavailable at this time. Please try again").contains("Fargate")
        );
        assert!(explain("AccessDeniedException").contains("PassRole"));
        assert_eq!(explain("Something new"), "ECS did not start the task.");
    }
}
