//! The planner of a Service Action: `WARN` and `ERROR` events alert, saying what the event means
//! (a placement failure by its reason); `INFO` is quiet.

use crate::judge::measure::Submission;
use crate::judge::notice::{Item, Notice, Section, Severity};
use crate::source::{arn, Envelope, ServiceAction};

use super::console;
use super::group::Groupable;
use super::outgoing::Summary;
use super::placement::Explanation;
use super::plan::{Context, Plan};
use super::words::stamp_seconds;

/// Title and explanation of a Service Action event.
fn service_action_words(name: &str) -> (&'static str, &'static str) {
    match name {
        "SERVICE_TASK_START_IMPAIRED" => (
            "Tasks cannot start",
            "ECS keeps failing to start tasks for this service and is backing off between attempts.",
        ),
        "SERVICE_TASK_PLACEMENT_FAILURE" => (
            "Tasks cannot be placed",
            "ECS cannot place tasks: no capacity has the CPU, memory, ports or attributes they need.",
        ),
        "SERVICE_TASK_CONFIGURATION_FAILURE" => (
            "Task configuration failure",
            "ECS cannot start tasks because of a configuration error (tags, networking or a missing resource).",
        ),
        "SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED" => (
            "Daemon placement constraint violated",
            "A daemon task no longer satisfies its placement constraints.",
        ),
        "ECS_OPERATION_THROTTLED" => (
            "ECS API throttled",
            "ECS throttled API calls made for this service; scaling and deployments may lag.",
        ),
        "SERVICE_DISCOVERY_OPERATION_THROTTLED" => (
            "Service discovery throttled",
            "Cloud Map throttled registration of this service's tasks.",
        ),
        "SERVICE_DISCOVERY_INSTANCE_UNHEALTHY" => (
            "Service discovery instance unhealthy",
            "A task registered in Cloud Map for this service is unhealthy.",
        ),
        "VPC_LATTICE_TARGET_UNHEALTHY" => (
            "VPC Lattice target unhealthy",
            "A VPC Lattice target of this service is unhealthy.",
        ),
        "SERVICE_HEALTH_UNKNOWN" => (
            "Service health unknown",
            "ECS could not determine the health of this service's tasks.",
        ),
        _ => ("Service event", "ECS reported a problem with this service."),
    }
}

/// The title of a Service Action event, by name (`Tasks cannot be placed`).
pub fn headline(name: &str) -> &'static str {
    service_action_words(name).0
}

/// Plans a Service Action event.
fn tell(envelope: &Envelope, action: &ServiceAction) -> (Summary, Option<Notice>, Submission) {
    let place = action.service_ref(envelope);
    let name = action.event_name.as_deref().unwrap_or("UNKNOWN");
    let event_type = action.event_type.as_deref().unwrap_or("INFO");
    let summary = Summary {
        kind: "service_action",
        verdict: name.to_string(),
        cause: event_type.to_string(),
        subject: place.service.clone(),
        reason: None,
    };
    let severity = match event_type {
        "ERROR" => Severity::Failure,
        "WARN" => Severity::Warning,
        _ => return (summary, None, Submission::default()),
    };
    let (title, meaning) = service_action_words(name);
    let service = if place.service.is_empty() {
        "unknown service"
    } else {
        &place.service
    };
    let placement = placement(action, name);
    let summary_text = match &placement {
        Some(p) => format!(
            "ECS cannot place tasks of service {service} in cluster {}: {}.",
            place.cluster, p.short
        ),
        None => format!("{meaning} Service {service} in cluster {}.", place.cluster),
    };
    let mut fields = vec![
        ("Cluster".to_string(), place.cluster.clone()),
        ("Service".to_string(), service.to_string()),
        ("Event".to_string(), format!("{name} ({event_type})")),
    ];
    if !action.container_instance_arns.is_empty() {
        fields.push((
            "Container instances".into(),
            action.container_instance_arns.len().to_string(),
        ));
    }
    let region = console::region_of(envelope, action.cluster_arn.as_deref());
    let mut context = Vec::new();
    if let Some(at) = action.created_at.or(envelope.time) {
        context.push(stamp_seconds(at));
    }
    let notice = Notice {
        severity,
        title: format!("{title}: {service}"),
        summary: summary_text,
        fields,
        sections: sections(action, placement),
        links: console::service_links(
            region,
            &place.cluster,
            &place.service,
            "events",
            "Service events in the ECS console",
        ),
        context,
        mentions: Vec::new(),
    };
    (summary, Some(notice), Submission::default())
}

/// A placement failure is explained by its reason (Fargate Spot out of capacity, no free
/// memory, a disconnected agent…); an undocumented reason keeps the general words.
fn placement(action: &ServiceAction, name: &str) -> Option<Explanation> {
    let reason = action.reason.as_deref().filter(|r| !r.is_empty());
    let spot = action
        .capacity_provider_arns
        .iter()
        .any(|a| arn::last_segment(a).eq_ignore_ascii_case("FARGATE_SPOT"));
    match (name, reason) {
        ("SERVICE_TASK_PLACEMENT_FAILURE", Some(r)) => super::placement::explain(r, spot),
        _ => None,
    }
}

/// The reason ECS gave, what a placement failure means, and the capacity providers.
fn sections(action: &ServiceAction, placement: Option<Explanation>) -> Vec<Section> {
    let mut sections = Vec::new();
    if let Some(reason) = action.reason.as_deref().filter(|r| !r.is_empty()) {
        sections.push(Section::code("Reason", reason));
    }
    if let Some(p) = &placement {
        sections.push(Section::text("What it means", p.long));
    }
    if !action.capacity_provider_arns.is_empty() {
        let items = action
            .capacity_provider_arns
            .iter()
            .map(|a| Item {
                lead: a.rsplit('/').next().unwrap_or(a).to_string(),
                text: String::new(),
            })
            .collect();
        sections.push(Section::items("Capacity providers", items));
    }
    sections
}

/// Plans a service action: its notice floods per service and event, and may be part of an
/// incident of services failing alike.
pub fn plan(envelope: &Envelope, action: &ServiceAction, _ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, action);
    let mut plan = Plan::new(summary, notice, datadog);
    if let Some(notice) = &plan.notice {
        let place = action.service_ref(envelope);
        plan.flood_key = Some(format!(
            "{}/{}/{}",
            place.cluster, place.service, plan.summary.verdict
        ));
        plan.group = Some(Groupable {
            account: envelope.account.clone(),
            cluster: place.cluster,
            cause: plan.summary.verdict.to_ascii_lowercase(),
            headline: match headline(&plan.summary.verdict) {
                "Service event" => notice.title.clone(),
                words => words.to_string(),
            },
            hint: None,
            reason: action.reason.clone(),
            subject: place.service,
        });
    }
    plan
}
