//! What a flood window held back, told once the window is over and nothing came since (the
//! periodic check posts it; the next alert of its key would have told it otherwise).

use chrono::{DateTime, Utc};

use crate::judge::measure::Submission;
use crate::judge::notice::{Notice, Severity};

use super::outgoing::{Outgoing, Summary};
use super::words::stamp;

/// Alerts a flood window held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBack {
    /// `cluster/subject/cause`.
    pub key: String,
    /// When the window opened (the alert that opened it).
    pub since: DateTime<Utc>,
    pub count: u64,
    pub version: i64,
    /// Where the alerts went: the named Slack route and channel.
    pub route: Option<String>,
    pub channel: Option<String>,
}

pub fn plan(held: &HeldBack, window: chrono::Duration, now: DateTime<Utc>) -> Outgoing {
    let until = held.since + window;
    let notice = Notice {
        severity: Severity::Warning,
        title: format!("Held back: {} more like {}", held.count, held.key),
        summary: format!(
            "{} more alerts like the one posted at {} ({}) came before {} and were held back to keep the channel readable. None has come since.",
            held.count,
            held.since.format("%H:%M UTC"),
            held.key,
            until.format("%H:%M UTC")
        ),
        fields: Vec::new(),
        sections: Vec::new(),
        links: Vec::new(),
        context: vec![format!("Flood control · checked {}", stamp(now))],
        mentions: Vec::new(),
    };
    let summary = Summary {
        kind: "held_back",
        verdict: "summary".into(),
        cause: held.count.to_string(),
        subject: held.key.clone(),
        reason: None,
    };
    let dedupe = vec![format!("held:{}@{}", held.key, held.since.timestamp())];
    let mut plan = Outgoing::standalone(
        summary,
        Some(notice),
        Submission::default(),
        dedupe,
        Some(now),
    );
    plan.placement.route = held.route.clone();
    plan.placement.channel = held.channel.clone();
    plan
}
