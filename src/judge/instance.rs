//! The planners of container instance events. A health change to `IMPAIRED` is an alert naming
//! the failing check and its reason (a GPU's Xid code explained; an agent that lost its
//! connection; an unhealthy daemon); a return to `OK` is quiet (in Slack app mode, a reply in
//! the alert's thread). A state change is quiet in Slack: the agent disconnects and reconnects
//! several times an hour as part of normal operation (AWS), and status changes (draining,
//! deregistration) are Datadog events.

use chrono::{DateTime, Utc};

use crate::judge::measure::{event_time, metric_time, tag};
use crate::judge::measure::{Distribution, Event as DatadogEvent, Submission};
use crate::judge::notice::{Item, Link, Notice, Section, Severity};
use crate::source::instance::{HealthCheck, InstanceHealth, InstanceState};
use crate::source::Envelope;

use super::console;
use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp_seconds;
use super::xid;

/// A health check's type in plain words.
fn check_words(kind: &str) -> &'static str {
    match kind {
        "CONTAINER_RUNTIME" => "the container runtime",
        "ACCELERATED_COMPUTE" => "a GPU",
        "DAEMON" => "a daemon",
        "AGENT_CONNECTIVITY" => "the ECS agent's connection",
        _ => "a health check",
    }
}

/// What a failing check says, in plain words.
fn explain(check: &HealthCheck) -> String {
    let kind = check.kind.as_deref().unwrap_or("");
    let reason = check.status_reason.as_deref().unwrap_or("");
    match kind {
        "ACCELERATED_COMPUTE" => match xid::code(reason) {
            Some(code) => {
                let meaning = xid::meaning(code)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_else(|| ": see NVIDIA's Xid catalog".into());
                let repair = if xid::REPAIRED.contains(&code) {
                    " ECS Managed Instances replace an instance for this code (GPU auto repair), unless auto repair is off."
                } else {
                    ""
                };
                format!("GPU Xid {code}{meaning}.{repair}")
            }
            None => format!("A GPU is impaired: {reason}."),
        },
        "AGENT_CONNECTIVITY" => format!(
            "The ECS agent has been disconnected for longer than ECS allows ({reason}). Tasks cannot be placed on the instance; check the agent (its log, and that it reaches the ECS endpoints)."
        ),
        "DAEMON" => format!("A daemon task is unhealthy ({reason}): its health check fails."),
        "CONTAINER_RUNTIME" => format!(
            "The container runtime (Docker, containerd) is not healthy{}: tasks on the instance may fail to start or stop.",
            if reason.is_empty() { String::new() } else { format!(" ({reason})") }
        ),
        _ => format!("{kind}: {reason}"),
    }
}

/// Plans a container instance health change.
fn tell_health(
    envelope: &Envelope,
    health: &InstanceHealth,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let status = health.overall_status.as_deref().unwrap_or("UNKNOWN");
    let instance = health.instance();
    let cluster = health.cluster();
    let failing: Vec<&HealthCheck> = health.failing().collect();
    let checks: Vec<&str> = failing.iter().filter_map(|c| c.kind.as_deref()).collect();
    let summary = Summary {
        kind: "instance_health",
        verdict: status.to_string(),
        cause: checks.join(","),
        subject: instance.to_string(),
        reason: None,
    };
    let (severity, title, said) = outcome(status, instance, &failing);
    let region = console::region_of(envelope, health.container_instance_arn.as_deref());
    let links: Vec<Link> = match (&health.ec2_instance_id, region.is_empty()) {
        (Some(id), false) => vec![Link {
            label: "Instance in the EC2 console".into(),
            url: console::ec2_instance_url(region, id),
        }],
        _ => Vec::new(),
    };
    let at = failing
        .iter()
        .filter_map(|c| c.last_status_change)
        .max()
        .or(envelope.time);
    let context = at
        .map(|at| vec![format!("Health change · {}", stamp_seconds(at))])
        .unwrap_or_default();
    let notice = Notice {
        severity,
        title,
        summary: format!("Container instance {instance} in cluster {cluster} {said}."),
        fields: health_fields(health, status),
        sections: health_sections(status, &failing),
        links,
        context,
        mentions: Vec::new(),
    };
    let datadog = health_datadog(health, status, &failing, &notice, at, now);
    let posts = status == "IMPAIRED" || status == "OK";
    (summary, Some(notice).filter(|_| posts), datadog)
}

/// The notice's severity, its title, and what the instance is, by its overall status.
fn outcome(status: &str, instance: &str, failing: &[&HealthCheck]) -> (Severity, String, String) {
    match status {
        "IMPAIRED" => {
            let what = failing
                .first()
                .map(|c| check_words(c.kind.as_deref().unwrap_or("")))
                .unwrap_or("a health check");
            (
                Severity::Failure,
                format!("Container instance impaired: {instance}"),
                format!("is impaired: {what} failed its health check"),
            )
        }
        "OK" => (
            Severity::Success,
            format!("Container instance healthy again: {instance}"),
            "is healthy again".to_string(),
        ),
        other => (
            Severity::Info,
            format!(
                "Container instance {}: {instance}",
                other.to_ascii_lowercase()
            ),
            format!("reports {other}"),
        ),
    }
}

fn health_fields(health: &InstanceHealth, status: &str) -> Vec<(String, String)> {
    let mut fields = vec![
        ("Cluster".to_string(), health.cluster().to_string()),
        ("Instance".to_string(), health.instance().to_string()),
        ("Status".to_string(), status.to_string()),
    ];
    if let Some(cp) = &health.capacity_provider_name {
        fields.push(("Capacity provider".into(), cp.clone()));
    }
    fields
}

/// The failing checks explained, and what ECS does with an impaired instance.
fn health_sections(status: &str, failing: &[&HealthCheck]) -> Vec<Section> {
    let mut sections = Vec::new();
    if !failing.is_empty() {
        let items = failing
            .iter()
            .map(|c| Item {
                lead: c.kind.clone().unwrap_or_else(|| "?".into()),
                text: explain(c),
            })
            .collect();
        sections.push(Section::items("Failing checks", items));
    }
    if status == "IMPAIRED" {
        sections.push(Section::text(
            "What ECS does",
            "ECS places no new tasks on an impaired instance. Managed Instances drain and replace it; on EC2 capacity, drain it (or let its Auto Scaling group replace it) once its tasks have moved.",
        ));
    }
    sections
}

/// Counted by status and failing check (with a GPU's Xid code); a Datadog event when the
/// instance becomes impaired or healthy again.
fn health_datadog(
    health: &InstanceHealth,
    status: &str,
    failing: &[&HealthCheck],
    notice: &Notice,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Submission {
    let first_check = failing.iter().find_map(|c| c.kind.as_deref());
    let mut tags = vec![
        tag(tags::CLUSTER, health.cluster()),
        tag("status", status),
        tag("check", first_check.unwrap_or("none")),
    ];
    if let Some(cp) = &health.capacity_provider_name {
        tags.push(tag("capacity_provider", cp));
    }
    if let Some(code) = failing
        .iter()
        .find_map(|c| c.status_reason.as_deref().and_then(xid::code))
    {
        tags.push(tag("xid", &code.to_string()));
    }
    let mut datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.instance.health_changes",
            metric_time(at, now),
            1,
            tags.clone(),
        )],
        ..Submission::default()
    };
    if matches!(status, "IMPAIRED" | "OK") {
        datadog.events.push(DatadogEvent::of(
            notice,
            health.container_instance_arn.as_deref(),
            event_time(at, now),
            tags,
        ));
    }
    datadog
}

/// Plans a container instance state change: counted and, for a status other than `ACTIVE`, a
/// Datadog event; nothing in Slack.
fn tell_state(
    envelope: &Envelope,
    state: &InstanceState,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let status = state.status.as_deref().unwrap_or("UNKNOWN");
    let instance = state.instance();
    let cluster = state.cluster();
    let disconnected = state.agent_connected == Some(false);
    let summary = Summary {
        kind: "instance_state",
        verdict: if status == "ACTIVE" && !disconnected {
            "ignored".into()
        } else {
            status.to_string()
        },
        cause: if disconnected {
            "agent_disconnected".into()
        } else {
            String::new()
        },
        subject: instance.to_string(),
        reason: None,
    };
    let at = state.updated_at.or(envelope.time);
    let ts = metric_time(at, now);
    let mut datadog = Submission::default();
    let mut tags = vec![tag(tags::CLUSTER, cluster), tag("status", status)];
    if let Some(cp) = &state.capacity_provider_name {
        tags.push(tag("capacity_provider", cp));
    }
    if disconnected {
        datadog.distributions.push(Distribution::count(
            "ecs.instance.agent_disconnects",
            ts,
            1,
            tags.clone(),
        ));
    }
    if status != "ACTIVE" {
        datadog.distributions.push(Distribution::count(
            "ecs.instance.state_changes",
            ts,
            1,
            tags.clone(),
        ));
        let notice = Notice {
            severity: Severity::Info,
            title: format!(
                "Container instance {}: {instance}",
                status.to_ascii_lowercase()
            ),
            summary: format!(
                "Container instance {instance} in cluster {cluster} is {status}{}.",
                state
                    .status_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            fields: Vec::new(),
            sections: Vec::new(),
            links: Vec::new(),
            context: Vec::new(),
            mentions: Vec::new(),
        };
        datadog.events.push(DatadogEvent::of(
            &notice,
            state.container_instance_arn.as_deref(),
            event_time(at, now),
            tags,
        ));
    }
    (summary, None, datadog)
}

/// Plans a container instance health change: an impairment alert is remembered (and floods
/// per instance); the return to OK replies in its thread, and says nothing without one.
pub fn plan_health(envelope: &Envelope, health: &InstanceHealth, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell_health(envelope, health, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    let arn = health.container_instance_arn.clone().unwrap_or_default();
    match health.overall_status.as_deref() {
        Some("IMPAIRED") => plan.placement.remember_as = vec![format!("instance:{arn}")],
        _ => {
            plan.placement.reply_to = Some(format!("instance:{arn}"));
            plan.placement.reply_only = true;
        }
    }
    if plan.fails() {
        plan.flood_key = Some(format!(
            "{}/{}/impaired",
            health.cluster(),
            health.instance()
        ));
    }
    plan
}

/// Plans a container instance state change.
pub fn plan_state(envelope: &Envelope, state: &InstanceState, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell_state(envelope, state, ctx.now);
    Plan::new(summary, notice, datadog)
}
