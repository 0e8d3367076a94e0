//! The planner of an `aws.ecs` event of a kind this function does not know: a warning or an
//! error is a plain alert with what the event has (and counted), so the next new event type does
//! not pass in silence; anything else is only logged.

use chrono::{DateTime, Utc};

use crate::judge::measure::{metric_time, tag};
use crate::judge::measure::{Distribution, Submission};
use crate::judge::notice::{Item, Notice, Section, Severity};
use crate::source::other::OtherEcs;
use crate::source::Envelope;

use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp_seconds;

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
fn tell(
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
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.events.unknown",
            metric_time(envelope.time, now),
            1,
            vec![
                tag(tags::CLUSTER, other.cluster()),
                tag("detail_type", detail_type),
                tag("event", name),
                tag("event_type", event_type),
            ],
        )],
        ..Submission::default()
    };
    (summary, Some(notice(envelope, other)), datadog)
}

/// The alert: the event as it came, with what it names.
fn notice(envelope: &Envelope, other: &OtherEcs) -> Notice {
    let event_type = other.event_type.as_deref().unwrap_or("");
    let name = other.event_name.as_deref().unwrap_or("");
    let detail_type = envelope.detail_type.as_str();
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
    let in_cluster = if cluster.is_empty() {
        String::new()
    } else {
        format!(" in cluster {cluster}")
    };
    let about = if subject.is_empty() {
        String::new()
    } else {
        format!(" about {subject}")
    };
    Notice {
        severity,
        title: format!(
            "ECS {}: {what}",
            if severity == Severity::Failure {
                "error"
            } else {
                "warning"
            }
        ),
        summary: format!("ECS reported {what}{in_cluster}{about}."),
        fields,
        sections: sections(envelope, other),
        links: Vec::new(),
        context: envelope
            .time
            .map(|at| vec![stamp_seconds(at)])
            .unwrap_or_default(),
        mentions: Vec::new(),
    }
}

/// The reason the event gives, the resources it names, and what it is.
fn sections(envelope: &Envelope, other: &OtherEcs) -> Vec<Section> {
    let mut sections = Vec::new();
    if let Some(reason) = other.reason.as_deref().or(other.status_reason.as_deref()) {
        sections.push(Section::code("Reason", reason));
    }
    if !envelope.resources.is_empty() {
        let resources = envelope
            .resources
            .iter()
            .take(10)
            .map(|r| Item {
                lead: r.clone(),
                text: String::new(),
            })
            .collect();
        sections.push(Section::items("Resources", resources));
    }
    sections.push(Section::text(
        "What it is",
        "ECS sent an event of a kind ecs-notifier does not know yet, with this event type. It is posted as it came; the ECS developer guide's event reference says what it means.",
    ));
    sections
}

/// Plans an ECS warning or error of a kind the function does not know: its notice floods per
/// subject and cause.
pub fn plan(envelope: &Envelope, other: &OtherEcs, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, other, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    if plan.notice.is_some() {
        plan.flood_key = Some(format!(
            "{}/{}/other:{}",
            other.cluster(),
            other.subject(),
            plan.summary.cause
        ));
    }
    plan
}
