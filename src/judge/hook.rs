//! The planner of a deployment lifecycle hook's state change: a pause hook waiting for approval
//! is a notice naming the service, the stage and when the hook expires; a hook that failed or
//! timed out is an alert; one in progress or succeeded is quiet. Each is a Datadog event, and
//! counted.

use chrono::{DateTime, Utc};

use crate::sinks::datadog::payload::{event_time, metric_time, tag};
use crate::sinks::datadog::payload::{Distribution, Event as DatadogEvent, Submission};
use crate::sinks::notice::{Body, Link, Notice, Section, Severity};
use crate::source::hook::Hook;
use crate::source::{arn, Envelope};

use super::console;
use super::outgoing::Summary;
use super::tags;

/// A lifecycle stage in plain words.
fn stage_words(stage: &str) -> String {
    match stage {
        "RECONCILE_SERVICE" => "reconciling the service".into(),
        "PRE_SCALE_UP" => "before the new tasks scale up".into(),
        "SCALE_UP" => "scaling up the new tasks".into(),
        "POST_SCALE_UP" => "after the new tasks scaled up".into(),
        "TEST_TRAFFIC_SHIFT" => "shifting test traffic".into(),
        "POST_TEST_TRAFFIC_SHIFT" => "after test traffic moved to the new tasks".into(),
        "PRE_PRODUCTION_TRAFFIC_SHIFT" => "before production traffic moves".into(),
        "PRODUCTION_TRAFFIC_SHIFT" => "shifting production traffic".into(),
        "POST_PRODUCTION_TRAFFIC_SHIFT" => "after production traffic moved to the new tasks".into(),
        "BAKE_TIME" => "baking".into(),
        "CLEAN_UP" => "cleaning up".into(),
        "" => "an unnamed stage".into(),
        other => other.to_ascii_lowercase().replace('_', " "),
    }
}

/// Plans a hook state change.
pub fn plan(
    envelope: &Envelope,
    hook: &Hook,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let name = hook.event_name.as_deref().unwrap_or("UNKNOWN");
    let service = hook.service();
    let service_shown = if service.is_empty() {
        "unknown service"
    } else {
        service
    };
    let cluster = hook.cluster();
    let stage = hook.lifecycle_stage.as_deref().unwrap_or("");
    let hook_type = hook.hook_type.as_deref().unwrap_or("");
    let summary = Summary {
        kind: "hook",
        verdict: name.to_string(),
        cause: stage.to_string(),
        subject: service.to_string(),
        reason: None,
    };
    let (severity, posts, title, said) = match name {
        "HOOK_AWAITING_ACTION" => (
            Severity::Warning,
            true,
            format!("Approval needed: {service_shown}"),
            "is paused and waits for approval".to_string(),
        ),
        "HOOK_FAILED" => (
            Severity::Failure,
            true,
            format!("Deployment hook failed: {service_shown}"),
            "failed at a lifecycle hook: the deployment rolls back".to_string(),
        ),
        "HOOK_TIMED_OUT" => (
            Severity::Failure,
            true,
            format!("Deployment hook timed out: {service_shown}"),
            "timed out at a lifecycle hook: its timeout action (roll back, unless set to continue) applies".to_string(),
        ),
        "HOOK_SUCCEEDED" => (
            Severity::Success,
            false,
            format!("Deployment hook passed: {service_shown}"),
            "passed a lifecycle hook".to_string(),
        ),
        "HOOK_IN_PROGRESS" => (
            Severity::Info,
            false,
            format!("Deployment hook running: {service_shown}"),
            "is at a lifecycle hook".to_string(),
        ),
        _ => (
            Severity::Info,
            false,
            format!("Deployment hook changed: {service_shown}"),
            "changed at a lifecycle hook".to_string(),
        ),
    };
    let deployment = hook
        .service_deployment_arn
        .as_deref()
        .map(arn::last_segment)
        .unwrap_or("");
    let mut text = format!(
        "The deployment of service {service_shown} in cluster {cluster} {said}, {}.",
        stage_words(stage)
    );
    if name == "HOOK_AWAITING_ACTION" {
        if let Some(at) = hook.expires_at {
            text.push_str(&format!(
                " The hook expires at {}, when its timeout action applies.",
                at.format("%Y-%m-%d %H:%M UTC")
            ));
        }
    }
    let mut fields = vec![
        ("Cluster".to_string(), cluster.to_string()),
        ("Service".to_string(), service_shown.to_string()),
        ("Lifecycle stage".to_string(), stage.to_string()),
    ];
    if !hook_type.is_empty() {
        fields.push(("Hook".into(), hook_type.to_string()));
    }
    if let Some(at) = hook.expires_at {
        fields.push((
            "Expires".into(),
            at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ));
    }
    if !deployment.is_empty() {
        fields.push(("Service deployment".into(), deployment.to_string()));
    }
    let mut sections = Vec::new();
    if name == "HOOK_AWAITING_ACTION" {
        let arn = hook
            .service_deployment_arn
            .as_deref()
            .unwrap_or("<service deployment ARN>");
        let hook_id = hook.hook_id.as_deref().unwrap_or("<hook id>");
        sections.push(Section {
            label: "To continue or roll back".into(),
            body: Body::Code(format!(
                "aws ecs continue-service-deployment --service-deployment-arn {arn} --hook-id {hook_id} --action CONTINUE\n(or --action ROLLBACK)"
            )),
        });
    }
    if matches!(name, "HOOK_FAILED" | "HOOK_TIMED_OUT") {
        sections.push(Section {
            label: "Where to look".into(),
            body: Body::Text("A pause hook fails when someone chose ROLLBACK, and times out when nobody answered before it expired; a Lambda hook fails when its function said so. The service deployment's events and the hook's function logs say why.".into()),
        });
    }
    let region = console::region_of(envelope, hook.service_arn.as_deref());
    let links: Vec<Link> = (!service.is_empty() && !region.is_empty())
        .then(|| Link {
            label: "Service deployments in the ECS console".into(),
            url: console::service_url(region, cluster, service, "deployments"),
        })
        .into_iter()
        .collect();
    let at = hook.updated_at.or(envelope.time);
    let context = at
        .map(|at| vec![format!("{name} · {}", at.format("%Y-%m-%d %H:%M:%S UTC"))])
        .unwrap_or_default();
    let notice = Notice {
        severity,
        title,
        summary: text,
        fields,
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    let tags = vec![
        tag(tags::CLUSTER, cluster),
        tag(tags::SERVICE, service),
        tag("hook_type", hook_type),
        tag("lifecycle_stage", stage),
        tag(
            "status",
            &name.trim_start_matches("HOOK_").to_ascii_lowercase(),
        ),
    ];
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.deployment.hooks",
            metric_time(at, now),
            1,
            tags.clone(),
        )],
        events: vec![DatadogEvent::of(
            &notice,
            Some(deployment).filter(|d| !d.is_empty()),
            event_time(at, now),
            tags.into_iter().chain([tag("ecs_event", name)]).collect(),
        )],
        ..Submission::default()
    };
    (summary, Some(notice).filter(|_| posts), datadog)
}
