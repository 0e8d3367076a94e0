//! What one kind's planner is given (the context of the judgement) and what it makes of an
//! event: its summary, notice and measurements, and how the notice joins the conversation,
//! floods, groups into incidents and pings.

use chrono::{DateTime, Utc};

use super::enrichment::Enrichment;
use super::group::Groupable;
use super::measure::Submission;
use super::notice::{Body, Notice, Severity};
use super::outgoing::{Options, Summary};
use super::post::Placement;
use super::routing::{Notify, Route};

/// What every planner reads besides its event.
pub struct Context<'a> {
    pub enrichment: &'a Enrichment,
    pub route: &'a Route,
    /// Which notices the tags and settings ask for.
    pub notify: Notify,
    pub options: &'a Options,
    /// Stamps metrics Datadog would refuse at the event's time.
    pub now: DateTime<Utc>,
}

/// What a planner makes of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub summary: Summary,
    /// The message for people, if the event is worth one.
    pub notice: Option<Notice>,
    pub datadog: Submission,
    /// Where the notice goes in a conversation (a shared thread, a reply…); the route and
    /// channel are the tags' and set by the judge.
    pub placement: Placement,
    /// Notices with the same key are flood-controlled together.
    pub flood_key: Option<String>,
    /// A failure that may be part of an incident (grouped with others of its cause).
    pub group: Option<Groupable>,
    /// The notice pings the people the tags name though it is no failure (an approval wait).
    pub pings: bool,
}

impl Plan {
    /// A plan of a summary, a notice and measurements, placed nowhere in particular.
    pub fn new(summary: Summary, notice: Option<Notice>, datadog: Submission) -> Plan {
        Plan {
            summary,
            notice,
            datadog,
            placement: Placement::default(),
            flood_key: None,
            group: None,
            pings: false,
        }
    }

    /// The notice's severity, if there is a notice.
    pub fn severity(&self) -> Option<Severity> {
        self.notice.as_ref().map(|n| n.severity)
    }

    /// Whether the notice is a failure's.
    pub fn fails(&self) -> bool {
        self.severity() == Some(Severity::Failure)
    }

    /// The periodic check's own event: it says nothing by itself.
    pub fn check() -> Plan {
        let summary = Summary {
            kind: "check",
            verdict: "check".into(),
            cause: String::new(),
            subject: String::new(),
            reason: None,
        };
        Plan::new(summary, None, Submission::default())
    }
}

/// A notice's title without its subject: `Image pull failed (registry rate limit)`.
pub fn headline(notice: &Notice, subject: &str) -> String {
    notice
        .title
        .split_once(&format!(": {subject}"))
        .map_or(notice.title.as_str(), |(head, _)| head)
        .to_string()
}

/// A notice's "Where to look" text.
pub fn hint(notice: &Notice) -> Option<String> {
    notice
        .sections
        .iter()
        .find(|s| s.label == "Where to look")
        .and_then(|s| match &s.body {
            Body::Text(text) => Some(text.clone()),
            _ => None,
        })
}
