//! The planner of an AWS Health notice that Fargate tasks will be retired: a warning naming the
//! services and standalone tasks, the date, and what to do; a Datadog event.

use chrono::{DateTime, Utc};

use crate::sinks::datadog::payload::{cut, event_time, tag};
use crate::sinks::datadog::payload::{Event as DatadogEvent, Submission};
use crate::sinks::notice::{Body, Item, Link, Notice, Section, Severity};
use crate::source::arn;
use crate::source::health::{Affected, HealthEvent};
use crate::source::Envelope;

use super::console;
use super::outgoing::Summary;
use super::tags;
use super::words::stamp;

pub fn plan(
    envelope: &Envelope,
    health: &HealthEvent,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let affected = health.affected(&envelope.resources);
    let services: Vec<&Affected> = affected
        .iter()
        .filter(|a| matches!(a, Affected::Service { .. }))
        .collect();
    let tasks: Vec<&Affected> = affected
        .iter()
        .filter(|a| matches!(a, Affected::Task { .. }))
        .collect();
    let mut clusters: Vec<&str> = affected
        .iter()
        .map(Affected::cluster)
        .filter(|c| !c.is_empty())
        .collect();
    clusters.sort();
    clusters.dedup();
    let starts = health.starts();
    let when = starts
        .map(stamp)
        .unwrap_or_else(|| "a date AWS has not given".into());
    let region = health
        .event_region
        .clone()
        .unwrap_or_else(|| envelope.region.clone());
    let subject = match (services.len(), tasks.len()) {
        (1, 0) => match services[0] {
            Affected::Service { service, .. } => service.clone(),
            _ => String::new(),
        },
        _ => clusters.join(", "),
    };
    let summary = Summary {
        kind: "retirement",
        verdict: "warning".into(),
        cause: "fargate_retirement".into(),
        subject: subject.clone(),
        reason: None,
    };
    let mut what = Vec::new();
    if !services.is_empty() {
        what.push(format!("{} service(s)", services.len()));
    }
    if !tasks.is_empty() {
        what.push(format!("{} standalone task(s)", tasks.len()));
    }
    let what = if what.is_empty() {
        "Fargate tasks".to_string()
    } else {
        what.join(" and ")
    };
    let mut sections = Vec::new();
    if !services.is_empty() {
        let items = services
            .iter()
            .take(25)
            .filter_map(|a| match a {
                Affected::Service { cluster, service } => Some(Item {
                    lead: service.clone(),
                    text: format!(
                        "cluster {cluster}: the service replaces its tasks when they are stopped"
                    ),
                }),
                _ => None,
            })
            .collect();
        sections.push(Section {
            label: "Services".into(),
            body: Body::Items(items),
        });
    }
    if !tasks.is_empty() {
        let items = tasks
            .iter()
            .take(25)
            .filter_map(|a| match a {
                Affected::Task { cluster, task_id } => Some(Item {
                    lead: task_id.clone(),
                    text: format!("cluster {cluster}: a standalone task; nothing restarts it"),
                }),
                _ => None,
            })
            .collect();
        sections.push(Section {
            label: "Standalone tasks".into(),
            body: Body::Items(items),
        });
    }
    let others: Vec<Item> = affected
        .iter()
        .filter_map(|a| match a {
            Affected::Other(v) => Some(Item {
                lead: v.clone(),
                text: String::new(),
            }),
            _ => None,
        })
        .take(10)
        .collect();
    if !others.is_empty() {
        sections.push(Section {
            label: "Also named".into(),
            body: Body::Items(others),
        });
    }
    sections.push(Section {
        label: "What to do".into(),
        body: Body::Text("Before the date, redeploy the services (a new deployment moves them to patched hosts at a time you choose) and restart long-running standalone tasks. Jobs that finish before the date need nothing.".into()),
    });
    if let Some(text) = health.description() {
        sections.push(Section {
            label: "AWS Health".into(),
            body: Body::Code(cut(text, 1500)),
        });
    }
    let links: Vec<Link> = if console::is_region(&region) {
        services
            .iter()
            .take(5)
            .filter_map(|a| match a {
                Affected::Service { cluster, service } => Some(Link {
                    label: format!("{service} in the ECS console"),
                    url: console::service_url(&region, cluster, service, "deployments"),
                }),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut context = Vec::new();
    if let Some(arn) = &health.event_arn {
        context.push(arn.clone());
    }
    let notice = Notice {
        severity: Severity::Warning,
        title: format!("Fargate task retirement on {when}: {subject}"),
        summary: format!(
            "AWS will stop the Fargate tasks of {what} in {} from {when} to patch their hosts.",
            if clusters.is_empty() {
                "this account".to_string()
            } else {
                format!("cluster(s) {}", clusters.join(", "))
            }
        ),
        fields: vec![
            ("Region".into(), region.clone()),
            ("Retirement".into(), when.clone()),
        ],
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    let mut tags: Vec<String> = clusters.iter().map(|c| tag(tags::CLUSTER, c)).collect();
    tags.push(tag("ecs_event", "AWS_ECS_TASK_PATCHING_RETIREMENT"));
    let dd_event = DatadogEvent::of(
        &notice,
        health.event_arn.as_deref().map(arn::last_segment),
        event_time(envelope.time, now),
        tags,
    );
    let datadog = Submission {
        events: vec![dd_event],
        ..Submission::default()
    };
    (summary, Some(notice), datadog)
}
