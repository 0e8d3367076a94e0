//! The planner of an `aws.ecs` event of a kind this function does not know: a warning or an
//! error is a plain alert with what the event has (and counted), so the next new event type does
//! not pass in silence; anything else is only logged.

use chrono::{DateTime, Utc};

use crate::sinks::datadog::payload::{metric_time, tag};
use crate::sinks::datadog::payload::{Distribution, Submission};
use crate::sinks::notice::{Body, Item, Notice, Section, Severity};
use crate::source::other::OtherEcs;
use crate::source::Envelope;

use super::outgoing::Summary;
use super::tags;

/// What the event is about: its service or container instance, else its first resource's name.
fn subject_of<'a>(envelope: &'a Envelope, other: &'a OtherEcs) -> &'a str {
    match other.subject() {
        "" => envelope
            .resources
            .first()
            .map(|r| r.rsplit(['/', ':']).next().unwrap_or(r))
            .unwrap_or(""),
        subject => subject,
    }
}

/// Plans an unknown ECS event.
pub fn plan(
    envelope: &Envelope,
    other: &OtherEcs,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let event_type = other.event_type.as_deref().unwrap_or("");
    let name = other.event_name.as_deref().unwrap_or("");
    let detail_type = envelope.detail_type.as_str();
    let summary = Summary {
        kind: "other",
        verdict: if other.is_loud() {
            "alert".into()
        } else {
            "ignored".into()
        },
        cause: format!("{detail_type} {name}").trim().to_string(),
        subject: subject_of(envelope, other).to_string(),
        reason: None,
    };
    if !other.is_loud() {
        return (summary, None, Submission::default());
    }
    let severity = if event_type == "ERROR" {
        Severity::Failure
    } else {
        Severity::Warning
    };
    let cluster = other.cluster();
    let subject = subject_of(envelope, other);
    let what = if name.is_empty() { detail_type } else { name };
    let mut fields = vec![("Event".to_string(), format!("{detail_type} ({event_type})"))];
    if !name.is_empty() {
        fields.push(("Name".into(), name.to_string()));
    }
    if !cluster.is_empty() {
        fields.push(("Cluster".into(), cluster.to_string()));
    }
    if !subject.is_empty() {
        fields.push(("About".into(), subject.to_string()));
    }
    let mut sections = Vec::new();
    if let Some(reason) = other.reason.as_deref().or(other.status_reason.as_deref()) {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Code(reason.to_string()),
        });
    }
    if !envelope.resources.is_empty() {
        sections.push(Section {
            label: "Resources".into(),
            body: Body::Items(
                envelope
                    .resources
                    .iter()
                    .take(10)
                    .map(|r| Item {
                        lead: r.clone(),
                        text: String::new(),
                    })
                    .collect(),
            ),
        });
    }
    sections.push(Section {
        label: "What it is".into(),
        body: Body::Text("ECS sent an event of a kind ecs-notifier does not know yet, with this event type. It is posted as it came; the ECS developer guide's event reference says what it means.".into()),
    });
    let notice = Notice {
        severity,
        title: format!(
            "ECS {}: {what}",
            if severity == Severity::Failure {
                "error"
            } else {
                "warning"
            }
        ),
        summary: format!(
            "ECS reported {what}{}{}.",
            if cluster.is_empty() {
                String::new()
            } else {
                format!(" in cluster {cluster}")
            },
            if subject.is_empty() {
                String::new()
            } else {
                format!(" about {subject}")
            }
        ),
        fields,
        sections,
        links: Vec::new(),
        context: envelope
            .time
            .map(|at| vec![at.format("%Y-%m-%d %H:%M:%S UTC").to_string()])
            .unwrap_or_default(),
        mentions: Vec::new(),
    };
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.events.unknown",
            metric_time(envelope.time, now),
            1,
            vec![
                tag(tags::CLUSTER, cluster),
                tag("detail_type", detail_type),
                tag("event", name),
                tag("event_type", event_type),
            ],
        )],
        ..Submission::default()
    };
    (summary, Some(notice), datadog)
}
