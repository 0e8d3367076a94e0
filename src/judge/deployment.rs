//! The planner of a Deployment State Change: started, completed (with how long it took),
//! failed or rolling back (with the revision it returns to); always a Datadog event.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::sinks::datadog::payload::{event_time, metric_time, tag};
use crate::sinks::datadog::payload::{Distribution, Event as DatadogEvent, Submission};
use crate::sinks::datadog::Change;
use crate::sinks::notice::{Body, Item, Link, Notice, Section, Severity};
use crate::source::{arn, Deployment, Envelope, ServiceRef};

use super::console;
use super::enrichment::Enrichment;
use super::outgoing::Summary;
use super::tags;
use super::task::durations::human;

/// Plans a deployment state change; the `bool` says whether it posts on its own (a start
/// only updates the deployment's thread).
pub fn plan(
    envelope: &Envelope,
    deployment: &Deployment,
    enrichment: &Enrichment,
    now: DateTime<Utc>,
) -> (Summary, Notice, bool, Submission) {
    let place = ServiceRef::locate(envelope, None, None);
    let name = deployment.event_name.as_deref().unwrap_or("UNKNOWN");
    let event_type = deployment.event_type.as_deref().unwrap_or("");
    let reason = deployment.reason.as_deref().unwrap_or("");
    let rollback = reason.to_ascii_lowercase().contains("rolling back");
    let (severity, verb, notify) = match name {
        "SERVICE_DEPLOYMENT_COMPLETED" => (Severity::Success, "completed", true),
        "SERVICE_DEPLOYMENT_FAILED" => (Severity::Failure, "failed", true),
        "SERVICE_DEPLOYMENT_IN_PROGRESS" if rollback => {
            (Severity::Warning, "is rolling back", true)
        }
        "SERVICE_DEPLOYMENT_IN_PROGRESS" => (Severity::Info, "started", false),
        _ if event_type == "ERROR" => (Severity::Failure, "reported an error", true),
        _ if event_type == "WARN" => (Severity::Warning, "reported a warning", true),
        _ => (Severity::Info, "changed state", false),
    };
    let deployment_id = deployment.deployment_id.as_deref().unwrap_or("");
    let service = if place.service.is_empty() {
        "unknown service"
    } else {
        &place.service
    };
    let summary_text = format!(
        "Deployment {deployment_id} of service {service} in cluster {} {verb}.",
        place.cluster
    );
    let mut fields = vec![
        ("Cluster".to_string(), place.cluster.clone()),
        ("Service".to_string(), service.to_string()),
    ];
    if !deployment_id.is_empty() {
        fields.push(("Deployment".into(), deployment_id.to_string()));
    }
    let td = enrichment.task_definition.as_deref();
    if let Some(td) = td {
        fields.push(("Task definition".into(), td.name()));
    }
    let details = enrichment.service_deployment.as_ref();
    let revision_name = |arn: &str| {
        let (family, rev) = arn::family_revision(arn);
        rev.map(|r| format!("{family}:{r}"))
            .unwrap_or_else(|| arn::last_segment(arn).to_string())
    };
    if let Some(d) = details {
        let mut how = d.strategy.clone().unwrap_or_default();
        if let Some(stage) = &d.lifecycle_stage {
            how = format!("{how} · stage {stage}")
                .trim_start_matches(" · ")
                .to_string();
        }
        if !how.is_empty() {
            fields.push(("Strategy".into(), how));
        }
        // The console has no documented address for one service deployment: its id, to find
        // on the service's Deployments tab (linked below).
        if !d.arn.is_empty() {
            fields.push((
                "Service deployment".into(),
                arn::last_segment(&d.arn).to_string(),
            ));
        }
    }
    if rollback || details.is_some_and(|d| d.rollback_to.is_some()) {
        let target = details
            .and_then(|d| d.rollback_to.as_deref())
            .map(revision_name)
            .or_else(|| enrichment.rollback_to.as_deref().map(revision_name))
            .or_else(|| rollback_target(reason).map(String::from));
        if let Some(target) = target {
            fields.push(("Rolling back to".into(), target));
        }
    }
    // How long a completed deployment took: from its creation to this event.
    let started = enrichment
        .service
        .as_deref()
        .and_then(|s| s.deployment(deployment_id))
        .and_then(|d| d.created_at);
    let finished = deployment.updated_at.or(envelope.time);
    let took = match (name, started, finished) {
        ("SERVICE_DEPLOYMENT_COMPLETED", Some(start), Some(end)) if end >= start => {
            Some((end - start).num_milliseconds() as f64 / 1000.0)
        }
        _ => None,
    };
    if let Some(secs) = took {
        fields.push(("Took".into(), human(secs)));
    }
    let mut sections = Vec::new();
    if let Some(td) = td {
        let images: Vec<Item> = td
            .containers
            .iter()
            .filter_map(|c| {
                Some(Item {
                    lead: c.name.clone(),
                    text: c.image.clone()?,
                })
            })
            .collect();
        if !images.is_empty() {
            sections.push(Section {
                label: "Images".into(),
                body: Body::Items(images),
            });
        }
    }
    if !reason.is_empty() {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Text(reason.to_string()),
        });
    }
    if let Some(d) = details {
        if let Some(why) = d.rollback_reason.as_ref().or(d.status_reason.as_ref()) {
            sections.push(Section {
                label: "Why, says the service deployment".into(),
                body: Body::Text(why.clone()),
            });
        }
        if !d.triggered_alarms.is_empty() {
            sections.push(Section {
                label: "Alarms that triggered".into(),
                body: Body::Items(
                    d.triggered_alarms
                        .iter()
                        .map(|a| Item {
                            lead: a.clone(),
                            text: String::new(),
                        })
                        .collect(),
                ),
            });
        }
        if let Some((failed, threshold)) = d.circuit_breaker {
            sections.push(Section {
                label: "Circuit breaker".into(),
                body: Body::Text(format!(
                    "{failed} task(s) failed to start, of a threshold of {threshold}."
                )),
            });
        }
    }
    if severity == Severity::Failure {
        sections.push(Section {
            label: "Where to look".into(),
            body: Body::Text("The service's events and its stopped tasks say why the new tasks did not become healthy; the circuit breaker rolls back when rollback is enabled.".into()),
        });
    }
    let region = console::region_of(envelope, envelope.resources.first().map(String::as_str));
    let links: Vec<Link> = (!place.service.is_empty() && !region.is_empty())
        .then(|| Link {
            label: "Service deployments in the ECS console".into(),
            url: console::service_url(region, &place.cluster, &place.service, "deployments"),
        })
        .into_iter()
        .collect();
    let mut context = Vec::new();
    if let Some(at) = deployment.updated_at.or(envelope.time) {
        context.push(format!("{name} · {}", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    let notice = Notice {
        severity,
        title: format!("Deployment {}: {service}", verb.trim_start_matches("is ")),
        summary: summary_text,
        fields,
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    let mut deployment_tags = vec![
        tag(tags::CLUSTER, &place.cluster),
        tag(tags::SERVICE, &place.service),
    ];
    // Unified service tagging, as the deployed task definition sets it.
    for (key, value) in td.iter().flat_map(|td| &td.unified) {
        deployment_tags.push(tag(key, value));
    }
    let distributions = took
        .map(|secs| {
            Distribution::new(
                "ecs.deployment.duration",
                metric_time(finished, now),
                secs,
                deployment_tags.clone(),
            )
        })
        .into_iter()
        .collect();
    // What the event says of the deployment's outcome, for monitors: `result:failure` and
    // `result:rollback` are the ones to page on.
    let result = match name {
        "SERVICE_DEPLOYMENT_COMPLETED" => Some("success"),
        "SERVICE_DEPLOYMENT_FAILED" => Some("failure"),
        _ if rollback => Some("rollback"),
        _ if event_type == "ERROR" => Some("failure"),
        _ => None,
    };
    let change = change(
        &place,
        name,
        deployment_id,
        reason,
        enrichment,
        took,
        notice
            .fields
            .iter()
            .find(|(k, _)| k == "Rolling back to")
            .map(|(_, v)| v.as_str()),
    );
    let dd_event = DatadogEvent::of(
        &notice,
        Some(deployment_id),
        event_time(deployment.updated_at.or(envelope.time), now),
        deployment_tags
            .iter()
            .cloned()
            .chain([tag("ecs_event", name)])
            .chain(result.map(|r| tag("result", r)))
            .collect(),
    )
    .with_change(change);
    (
        Summary {
            kind: "deployment",
            verdict: name.to_string(),
            cause: if rollback {
                "rollback".into()
            } else {
                event_type.to_string()
            },
            subject: place.service,
            reason: None,
        },
        notice,
        notify,
        Submission {
            events: vec![dd_event],
            distributions,
            ..Submission::default()
        },
    )
}

/// The deployment as a change of the service: the revision and images it deploys, the
/// revision it replaces (the service's other deployment, when the service was read), and the
/// revision a rollback returns to.
fn change(
    place: &ServiceRef,
    name: &str,
    deployment_id: &str,
    reason: &str,
    enrichment: &Enrichment,
    took: Option<f64>,
    rolling_back_to: Option<&str>,
) -> Change {
    let td = enrichment.task_definition.as_deref();
    let deployments = enrichment
        .service
        .as_deref()
        .map(|s| s.deployments.as_slice())
        .unwrap_or_default();
    let revision = |arn: &str| {
        let (family, rev) = arn::family_revision(arn);
        rev.map(|r| format!("{family}:{r}"))
            .unwrap_or_else(|| arn::last_segment(arn).to_string())
    };
    let mut new_value = Map::new();
    let deployed = td.map(|td| td.name()).or_else(|| {
        deployments
            .iter()
            .find(|d| d.id == deployment_id)
            .and_then(|d| d.task_definition.as_deref())
            .map(revision)
    });
    if let Some(deployed) = deployed.as_ref() {
        new_value.insert("task_definition".into(), json!(deployed));
    }
    if let Some(td) = td {
        let images: Map<String, Value> = td
            .containers
            .iter()
            .filter_map(|c| Some((c.name.clone(), json!(c.image.as_ref()?))))
            .collect();
        if !images.is_empty() {
            new_value.insert("images".into(), Value::Object(images));
        }
    }
    let mut prev_value = Map::new();
    let replaced = deployments
        .iter()
        .filter(|d| d.id != deployment_id)
        .filter_map(|d| d.task_definition.as_deref())
        .map(revision)
        .find(|r| Some(r) != deployed.as_ref());
    if let Some(replaced) = replaced {
        prev_value.insert("task_definition".into(), json!(replaced));
    }
    let mut metadata = Map::new();
    metadata.insert("ecs_event".into(), json!(name));
    metadata.insert("cluster".into(), json!(place.cluster));
    if !deployment_id.is_empty() {
        metadata.insert("deployment_id".into(), json!(deployment_id));
    }
    if !reason.is_empty() {
        metadata.insert("reason".into(), json!(reason));
    }
    if let Some(target) = rolling_back_to {
        metadata.insert("rolling_back_to".into(), json!(target));
    }
    if let Some(secs) = took {
        metadata.insert("duration_seconds".into(), json!(secs));
    }
    // Datadog's catalog knows a service by its unified `service` tag; else by the ECS name.
    let impacted = td
        .and_then(|td| td.unified.iter().find(|(k, _)| k == "service"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| place.service.clone());
    Change {
        resource: place.service.clone(),
        impacted: vec![impacted],
        new_value,
        prev_value,
        metadata,
    }
}

/// `ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123.` → `ecs-svc/123`.
pub fn rollback_target(reason: &str) -> Option<&str> {
    let rest = &reason[reason.find("deploymentId")? + "deploymentId".len()..];
    let id = rest.split_whitespace().next()?;
    Some(id.trim_end_matches(['.', ',', ')']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rollback_target() {
        assert_eq!(
            rollback_target("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1234567890123456789."),
            Some("ecs-svc/1234567890123456789")
        );
        assert_eq!(rollback_target("ECS deployment ecs-svc/1 completed."), None);
    }
}
