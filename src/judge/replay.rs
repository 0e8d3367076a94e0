//! An archive replay's digest: the events an EventBridge archive replays (they carry
//! `replay-name`) post nothing one by one and count nothing in Datadog again; one message tells
//! what the replay brought, once it has stopped arriving. A pure decision; the state lives in
//! memory or in the state table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::measure::Submission;
use super::notice::{Item, Notice, Section, Severity};
use super::outgoing::{Outgoing, Summary};
use super::words::stamp;

/// Subjects a line of the digest names; the rest are counted.
const NAMED: usize = 12;
/// Lines (a cluster and a cause each) a digest keeps; the alerts of others are counted.
const LINES: usize = 40;
/// Events a digest remembers (a hash of each one's identity), so that a redelivery of one is not
/// counted again; past them, the oldest are forgotten.
const REMEMBERED: usize = 2000;

/// What a replay brought so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// The replay's name (`replay-name`).
    pub name: String,
    /// Its events, each counted once.
    pub events: u64,
    /// Those that would have alerted, by cluster and cause.
    pub lines: Vec<Line>,
    /// Alerts beyond the lines kept.
    pub more: u64,
    /// The first and the last of its events' own times.
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// When its latest event arrived (the wall clock).
    pub arrived: DateTime<Utc>,
    /// The events it had when it was last told (0: never).
    pub told: u64,
    /// The events counted (FNV-1a hashes of their identities).
    pub seen: Vec<u64>,
}

/// The alerts of one cluster and cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub cluster: String,
    pub cause: String,
    pub alerts: u64,
    /// The services or jobs, each once, the first [`NAMED`].
    pub subjects: Vec<String>,
    /// Subjects beyond those named.
    pub more: u64,
}

/// What would have alerted: where, why, what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert<'a> {
    pub cluster: &'a str,
    pub cause: &'a str,
    pub subject: &'a str,
}

/// One replayed event, as the digest takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed<'a> {
    /// Its identity (the same event id, or the same task and version, for a redelivery).
    pub identity: &'a str,
    /// Its own time, and when it arrived (the wall clock).
    pub at: DateTime<Utc>,
    pub arrived: DateTime<Utc>,
    /// The alert it would have posted.
    pub alert: Option<Alert<'a>>,
}

/// Adds `event` to the digest of replay `name` (`state`, if it has begun). Returns the digest
/// to store, or `None` for an event already counted (a redelivery).
pub fn admit(state: Option<&Digest>, name: &str, event: &Replayed) -> Option<Digest> {
    let hash = fnv(event.identity);
    let mut next = match state {
        Some(s) if s.seen.contains(&hash) => return None,
        Some(s) => s.clone(),
        None => Digest {
            name: name.to_string(),
            events: 0,
            lines: Vec::new(),
            more: 0,
            first: event.at,
            last: event.at,
            arrived: event.arrived,
            told: 0,
            seen: Vec::new(),
        },
    };
    next.events += 1;
    next.first = next.first.min(event.at);
    next.last = next.last.max(event.at);
    next.arrived = next.arrived.max(event.arrived);
    if next.seen.len() >= REMEMBERED {
        next.seen.remove(0);
    }
    next.seen.push(hash);
    if let Some(alert) = event.alert {
        next.count(alert);
    }
    Some(next)
}

impl Digest {
    /// Alerts the replay would have posted.
    pub fn alerts(&self) -> u64 {
        self.lines.iter().map(|l| l.alerts).sum::<u64>() + self.more
    }

    /// It has alerts not yet told, and none of its events has arrived for `settle`.
    pub fn due(&self, wall: DateTime<Utc>, settle: Duration) -> bool {
        self.told < self.events && self.alerts() > 0 && wall >= self.arrived + settle
    }

    fn count(&mut self, alert: Alert) {
        let at = self
            .lines
            .iter()
            .position(|l| l.cluster == alert.cluster && l.cause == alert.cause);
        let line = match at {
            Some(i) => &mut self.lines[i],
            None if self.lines.len() < LINES => {
                self.lines.push(Line {
                    cluster: alert.cluster.to_string(),
                    cause: alert.cause.to_string(),
                    alerts: 0,
                    subjects: Vec::new(),
                    more: 0,
                });
                let last = self.lines.len() - 1;
                &mut self.lines[last]
            }
            None => {
                self.more += 1;
                return;
            }
        };
        line.alerts += 1;
        if !line.subjects.iter().any(|s| s == alert.subject) {
            if line.subjects.len() < NAMED {
                line.subjects.push(alert.subject.to_string());
            } else {
                line.more += 1;
            }
        }
    }
}

/// The digest's message, to the default Slack destination, as of `now`.
pub fn plan(digest: &Digest, now: DateTime<Utc>) -> Outgoing {
    let (first, last) = (stamp(digest.first), stamp(digest.last));
    let alerts = digest.alerts();
    let notice = Notice {
        severity: Severity::Warning,
        title: format!(
            "Replay {}: {} events of {first} to {last}, {}",
            digest.name,
            digest.events,
            self::alerts(alerts)
        ),
        summary: format!(
            "An EventBridge archive replay ({}) brought {} events that happened from {first} to {last}; {alerts} of them would have alerted. They are told here once rather than one by one, and Datadog does not count them: it counted them as they happened, and would count them again at the time of the replay.",
            digest.name, digest.events
        ),
        fields: Vec::new(),
        sections: vec![Section::items("Alerts by cluster and cause", items(digest))],
        links: Vec::new(),
        context: vec![format!("Replay digest (REPLAY=digest) · told {}", stamp(now))],
        mentions: Vec::new(),
    };
    let summary = Summary {
        kind: "replay",
        verdict: "digest".into(),
        cause: alerts.to_string(),
        subject: digest.name.clone(),
        reason: None,
    };
    let dedupe = vec![format!("replay:{}:{}", digest.name, digest.events)];
    Outgoing::standalone(
        summary,
        Some(notice),
        Submission::default(),
        dedupe,
        Some(now),
    )
}

/// A line per cluster and cause: how many alerts, and whose.
fn items(digest: &Digest) -> Vec<Item> {
    let mut items: Vec<Item> = digest
        .lines
        .iter()
        .map(|l| {
            let mut whose = l.subjects.join(", ");
            if l.more > 0 {
                whose.push_str(&format!(" and {} more", l.more));
            }
            Item {
                lead: format!("{} · {}", l.cluster, l.cause),
                text: format!("{}: {whose}", alerts(l.alerts)),
            }
        })
        .collect();
    if digest.more > 0 {
        items.push(Item {
            lead: format!("… and {} more alerts", digest.more),
            text: String::new(),
        });
    }
    items
}

/// `1 alert`, `40 alerts`.
fn alerts(n: u64) -> String {
    format!("{n} alert{}", if n == 1 { "" } else { "s" })
}

/// FNV-1a: a hash that stays the same across processes and builds.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn replayed<'a>(identity: &'a str, subject: &'a str, at: i64) -> Replayed<'a> {
        Replayed {
            identity,
            at: t(at),
            arrived: t(400_000 + at),
            alert: Some(Alert {
                cluster: "prod",
                cause: "image_pull",
                subject,
            }),
        }
    }

    #[test]
    fn a_replay_is_counted_once_and_told_once_it_has_settled() {
        let mut digest = None;
        for i in 0..40 {
            let (id, subject) = (format!("task:{i}#1"), format!("svc-{i:02}"));
            digest = admit(digest.as_ref(), "r1", &replayed(&id, &subject, i * 2)).or(digest);
        }
        let d = digest.clone().unwrap();
        // A redelivery changes nothing.
        assert_eq!(
            admit(Some(&d), "r1", &replayed("task:3#1", "svc-03", 6)),
            None
        );
        assert_eq!((d.events, d.alerts(), d.lines.len()), (40, 40, 1));
        assert_eq!(
            (d.lines[0].subjects.len() as u64, d.lines[0].more),
            (12, 28)
        );
        assert_eq!((d.first, d.last), (t(0), t(78)));
        let settle = Duration::minutes(5);
        assert!(!d.due(t(400_078), settle), "still arriving");
        assert!(d.due(t(400_078) + settle, settle));
        let told = Digest {
            told: 40,
            ..d.clone()
        };
        assert!(!told.due(t(500_000), settle), "told once");
        let text = plan(&d, t(500_000)).notice.unwrap();
        assert!(
            text.title.starts_with("Replay r1: 40 events of"),
            "{}",
            text.title
        );
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
