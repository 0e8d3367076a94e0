//! Incidents: failures of one cause in one account and cluster, bound for one Slack destination,
//! grouped within a window (as Alertmanager groups alerts by labels). The first few services
//! alert on their own; past the threshold one grouped message names them all. A pure decision;
//! the state lives in memory or in the state table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::sinks::notice::{Body, Item, Notice, Section, Severity};

use super::words::stamp;

/// Services named in a grouped message; the rest are counted.
const NAMED: usize = 60;
/// Services a group remembers by name (the rest are counted).
const REMEMBERED: usize = 500;
/// In app mode the grouped message is edited at most this often as services join (Slack
/// limits edits too); the final summary names everyone.
const EDIT_EVERY: i64 = 10;
/// A grouped message replies in its thread once, when it reaches this many services (or twice
/// the services it was posted with, whichever is more).
const REPLY_AT: usize = 10;

/// How incidents are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    /// How long a group stays open from its first failure (`GROUP_WINDOW_SECONDS`).
    pub window: Duration,
    /// Services that alert on their own in a window before the rest are grouped
    /// (`GROUP_THRESHOLD`).
    pub threshold: usize,
}

/// What the judge says of an alert that may be part of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Groupable {
    pub account: String,
    pub cluster: String,
    /// The `cause` tag (`image_pull`) or the service action's event name.
    pub cause: String,
    /// What went wrong, as a title: `Image pull failed`.
    pub headline: String,
    /// Where to look first.
    pub hint: Option<String>,
    /// What ECS said of the failure (its stop reason), cut short.
    #[serde(default)]
    pub reason: Option<String>,
    /// The service or job that failed.
    pub subject: String,
}

impl Groupable {
    /// The group's key: account, cluster, cause and where its messages go.
    pub fn key(&self, destination: &str) -> String {
        format!(
            "{}/{}/{}/{destination}",
            self.account, self.cluster, self.cause
        )
    }
}

/// How a service came into a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Alerted on its own (the first few).
    Alone,
    /// Its alert was the grouped message.
    Opener,
    /// Held back: named by the grouped message.
    Joined,
}

/// A service of a group, with the event that brought it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub subject: String,
    pub event: String,
    pub role: Role,
    pub at: DateTime<Utc>,
}

/// One group's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// What the group is about, from its first failure.
    pub about: Groupable,
    /// Where its messages go: the named webhook route, the channel.
    pub route: Option<String>,
    pub channel: Option<String>,
    /// When the window opened (its first failure).
    pub window_start: DateTime<Utc>,
    /// The services, in the order they failed (the first [`REMEMBERED`]).
    pub members: Vec<Member>,
    /// Services beyond those remembered.
    pub more: u64,
    /// Failures in the window, repeats of a service included.
    pub failures: u64,
    /// Services the grouped message named when it was first posted (0: not posted).
    pub opened_with: usize,
    /// The one reply in the grouped message's thread has been posted (app mode).
    pub replied: bool,
    /// When the grouped message was last posted or edited (event time).
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    /// The window's final summary has been told.
    pub closed: bool,
    /// The window before this one, while its final summary is still owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<GroupState>>,
}

/// What to do with one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Its own alert, as without grouping (flood control still applies).
    Alone,
    /// The grouped message instead of its own alert.
    Open,
    /// Held back: the grouped message names it. In app mode, `edit`: the grouped message is
    /// edited in place to name it now (at most every few seconds); `reply`: and replies once in
    /// its thread, when the group has grown much.
    Join { edit: bool, reply: bool },
}

impl GroupState {
    /// Services in the group, remembered or counted.
    pub fn services(&self) -> u64 {
        self.members.len() as u64 + self.more
    }

    pub fn window_end(&self, window: Duration) -> DateTime<Utc> {
        self.window_start + window
    }

    /// The window has ended with a grouped message that does not yet name everything: its
    /// final summary is due.
    pub fn summary_due(&self, now: DateTime<Utc>, window: Duration) -> bool {
        !self.closed && self.opened_with > 0 && now >= self.window_end(window)
    }

    /// The key under which the grouped message of this window is delivered and remembered.
    pub fn thread_id(&self, key: &str) -> String {
        format!("group:{key}@{}", self.window_start.timestamp())
    }

    /// The windows whose final summary is due at `now`: the previous one, then this one.
    pub fn owed(&self, now: DateTime<Utc>, window: Duration) -> Vec<&GroupState> {
        let previous = self.previous.as_deref().filter(|p| !p.closed);
        previous
            .into_iter()
            .chain(self.summary_due(now, window).then_some(self))
            .collect()
    }

    /// Marks the summary of the window that opened at `window_start` as told.
    pub fn close(&mut self, window_start: DateTime<Utc>) {
        if self.window_start == window_start {
            self.closed = true;
        }
        if self
            .previous
            .as_ref()
            .is_some_and(|p| p.window_start == window_start)
        {
            self.previous = None;
        }
    }
}

/// Decides on a failure of `about` (event `event`, at `at`), bound for `route` / `channel`,
/// given its group's state. Returns the decision and the state to store (`None`: unchanged).
/// A failure after the window opens the next one, which keeps the ended window while it owes
/// its summary.
pub fn admit(
    state: Option<&GroupState>,
    about: &Groupable,
    (route, channel): (Option<&str>, Option<&str>),
    event: &str,
    at: DateTime<Utc>,
    settings: Grouping,
) -> (Admission, Option<GroupState>) {
    let member = |role| Member {
        subject: about.subject.clone(),
        event: event.to_string(),
        role,
        at,
    };
    let open = || GroupState {
        about: about.clone(),
        route: route.map(String::from),
        channel: channel.map(String::from),
        window_start: at,
        members: vec![member(Role::Alone)],
        more: 0,
        failures: 1,
        opened_with: 0,
        replied: false,
        edited_at: None,
        closed: false,
        previous: None,
    };
    let Some(s) = state else {
        return (Admission::Alone, Some(open()));
    };
    // A redelivery of an event already admitted (in this window or the one before): what it
    // did then.
    let admitted = s
        .members
        .iter()
        .chain(s.previous.iter().flat_map(|p| p.members.iter()))
        .find(|m| m.event == event);
    if let Some(m) = admitted {
        let again = match m.role {
            Role::Alone => Admission::Alone,
            Role::Opener => Admission::Open,
            Role::Joined => Admission::Join {
                edit: false,
                reply: false,
            },
        };
        return (again, None);
    }
    if at >= s.window_end(settings.window) {
        // A new window. The ended one is kept while it owes its summary.
        let mut next = open();
        let mut ended = s.clone();
        let older = ended.previous.take();
        next.previous = if ended.summary_due(at, settings.window) {
            Some(Box::new(ended))
        } else {
            older.filter(|p| !p.closed)
        };
        return (Admission::Alone, Some(next));
    }
    if at < s.window_start || s.closed {
        // Late for a window already told, or before it: never held back.
        return (Admission::Alone, None);
    }
    let mut next = s.clone();
    next.failures += 1;
    let known = s.members.iter().any(|m| m.subject == about.subject);
    let admission = if known {
        // A service already in the group fails again: held by the group once it is posted,
        // else its own alert (flood control holds its repeats).
        if s.opened_with > 0 {
            Admission::Join {
                edit: false,
                reply: false,
            }
        } else {
            Admission::Alone
        }
    } else {
        let role = if s.services() < settings.threshold as u64 {
            Role::Alone
        } else if s.opened_with == 0 {
            Role::Opener
        } else {
            Role::Joined
        };
        if next.members.len() < REMEMBERED {
            next.members.push(member(role));
        } else {
            next.more += 1;
        }
        match role {
            Role::Alone => Admission::Alone,
            Role::Opener => {
                next.opened_with = next.services() as usize;
                next.edited_at = Some(at);
                Admission::Open
            }
            Role::Joined => {
                let reply_at = REPLY_AT.max(2 * s.opened_with) as u64;
                let reply = !s.replied && next.services() >= reply_at;
                let edit = reply
                    || s.edited_at
                        .is_none_or(|last| at >= last + Duration::seconds(EDIT_EVERY));
                next.replied |= reply;
                if edit {
                    next.edited_at = Some(at);
                }
                Admission::Join { edit, reply }
            }
        }
    };
    (admission, Some(next))
}

/// The grouped message: what failed, how many services, since when, and their names. `ended`:
/// the window's final summary.
pub fn notice(state: &GroupState, window: Duration, ended: bool) -> Notice {
    let about = &state.about;
    let services = state.services();
    let since = state.window_start.format("%H:%M UTC");
    let title = format!(
        "{}: {services} services in {} since {since}",
        about.headline, about.cluster
    );
    let summary = if ended {
        format!(
            "{services} services in cluster {} failed the same way ({}) between {since} and {}: {} failures in all. One message for all of them; every stop is counted in Datadog.",
            about.cluster,
            about.cause,
            state.window_end(window).format("%H:%M UTC"),
            state.failures,
        )
    } else {
        format!(
            "Since {since}, {services} services in cluster {} have failed the same way ({}). One message for all of them, kept up to date; every stop is counted in Datadog.",
            about.cluster, about.cause
        )
    };
    let mut fields = vec![
        ("Cluster".to_string(), about.cluster.clone()),
        ("Cause".to_string(), about.cause.clone()),
        ("Services".to_string(), services.to_string()),
        ("Failures".to_string(), state.failures.to_string()),
    ];
    if !about.account.is_empty() {
        fields.push(("Account".into(), about.account.clone()));
    }
    let mut items: Vec<Item> = state
        .members
        .iter()
        .take(NAMED)
        .map(|m| Item {
            lead: m.subject.clone(),
            text: format!(
                "{}{}",
                m.at.format("%H:%M:%S"),
                if m.role == Role::Alone {
                    " (alerted on its own)"
                } else {
                    ""
                }
            ),
        })
        .collect();
    let unnamed = services.saturating_sub(items.len() as u64);
    if unnamed > 0 {
        items.push(Item {
            lead: format!("… and {unnamed} more"),
            text: String::new(),
        });
    }
    let mut sections = vec![Section {
        label: "Services".into(),
        body: Body::Items(items),
    }];
    if let Some(reason) = &about.reason {
        sections.push(Section {
            label: "The first one says".into(),
            body: Body::Code(reason.clone()),
        });
    }
    if let Some(hint) = &about.hint {
        sections.push(Section {
            label: "Where to look".into(),
            body: Body::Text(hint.clone()),
        });
    }
    let state_line = if ended {
        format!("Window closed at {}", stamp(state.window_end(window)))
    } else {
        format!(
            "Grouped by account, cluster and cause until {}",
            stamp(state.window_end(window))
        )
    };
    Notice {
        severity: Severity::Failure,
        title,
        summary,
        fields,
        sections,
        links: Vec::new(),
        context: vec![state_line],
        mentions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Grouping = Grouping {
        window: Duration::minutes(5),
        threshold: 2,
    };

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn about(subject: &str) -> Groupable {
        Groupable {
            account: "123456789012".into(),
            cluster: "prod".into(),
            cause: "image_pull".into(),
            headline: "Image pull failed".into(),
            hint: Some("Check the registry.".into()),
            reason: None,
            subject: subject.into(),
        }
    }

    /// Admits `subject`'s failure `event` at `at`, storing the next state.
    fn step(state: &mut Option<GroupState>, subject: &str, event: &str, at: i64) -> Admission {
        let (a, next) = admit(
            state.as_ref(),
            &about(subject),
            (None, None),
            event,
            t(at),
            SETTINGS,
        );
        if let Some(next) = next {
            *state = Some(next);
        }
        a
    }

    #[test]
    fn forty_services_give_two_alerts_and_one_group() {
        let mut state = None;
        let mut got = Vec::new();
        for i in 0..40 {
            got.push(step(
                &mut state,
                &format!("svc-{i:02}"),
                &format!("e{i}"),
                i * 2,
            ));
        }
        assert_eq!(
            &got[..3],
            [Admission::Alone, Admission::Alone, Admission::Open]
        );
        let replies = got
            .iter()
            .filter(|a| matches!(a, Admission::Join { reply: true, .. }))
            .count();
        assert_eq!(replies, 1, "one reply when it grows much");
        assert_eq!(
            got[9],
            Admission::Join {
                edit: true,
                reply: true
            },
            "at the 10th service"
        );
        // Failures 2 s apart: the grouped message is edited every 10 s (5 failures), or with
        // the reply.
        let edits = got
            .iter()
            .filter(|a| matches!(a, Admission::Join { edit: true, .. }))
            .count();
        assert_eq!(edits, 8, "{got:?}");
        let s = state.unwrap();
        assert_eq!((s.services(), s.failures, s.opened_with), (40, 40, 3));
        let text = format!("{:?}", notice(&s, SETTINGS.window, false));
        for i in 0..40 {
            assert!(text.contains(&format!("svc-{i:02}")), "{i}");
        }
        assert!(text.contains("Image pull failed: 40 services in prod since"));
    }

    #[test]
    fn redeliveries_do_what_they_did_and_repeats_follow_the_group() {
        let mut state = None;
        step(&mut state, "a", "e1", 0);
        step(&mut state, "b", "e2", 1);
        // `a` fails again before the group is posted: its own alert (flood control decides).
        assert_eq!(step(&mut state, "a", "e3", 2), Admission::Alone);
        assert_eq!(step(&mut state, "c", "e4", 3), Admission::Open);
        // Once posted, the group holds repeats of its services.
        assert!(matches!(
            step(&mut state, "a", "e5", 4),
            Admission::Join { reply: false, .. }
        ));
        // A retried alert is never held back: the redelivery of `a`'s first alert alerts, the
        // opener's posts the grouped message again.
        assert_eq!(step(&mut state, "a", "e1", 5), Admission::Alone);
        assert_eq!(step(&mut state, "c", "e4", 6), Admission::Open);
        let s = state.unwrap();
        assert_eq!((s.services(), s.failures), (3, 5));
    }

    #[test]
    fn a_window_ends_and_owes_its_summary_once_grouped() {
        let mut state = None;
        for (i, svc) in ["a", "b", "c", "d"].iter().enumerate() {
            step(&mut state, svc, &format!("e{i}"), i as i64);
        }
        let s = state.clone().unwrap();
        assert!(!s.summary_due(t(299), SETTINGS.window));
        assert!(s.summary_due(t(300), SETTINGS.window));
        // The next failure after the window opens a new one, alone, which keeps the ended
        // window until its summary is told.
        assert_eq!(step(&mut state, "e", "e9", 301), Admission::Alone);
        let next = state.clone().unwrap();
        assert_eq!(next.window_start, t(301));
        let owed = next.owed(t(301), SETTINGS.window);
        assert_eq!(owed.len(), 1);
        assert_eq!((owed[0].services(), owed[0].window_start), (4, t(0)));
        // A redelivery of a failure of the ended window does what it did then.
        assert!(matches!(
            step(&mut state, "d", "e3", 302),
            Admission::Join { reply: false, .. }
        ));
        let mut told = state.clone().unwrap();
        told.close(t(0));
        assert!(told.owed(t(302), SETTINGS.window).is_empty());
        // A window that never grouped owes nothing.
        let mut quiet = None;
        step(&mut quiet, "a", "q1", 0);
        assert!(!quiet.unwrap().summary_due(t(400), SETTINGS.window));
    }

    #[test]
    fn late_and_told_failures_are_never_held() {
        let mut state = None;
        for (i, svc) in ["a", "b", "c"].iter().enumerate() {
            step(&mut state, svc, &format!("e{i}"), 10 + i as i64);
        }
        assert_eq!(step(&mut state, "z", "late", 5), Admission::Alone);
        state.as_mut().unwrap().closed = true;
        assert_eq!(step(&mut state, "y", "e8", 20), Admission::Alone);
    }

    #[test]
    fn a_huge_group_stays_within_what_a_message_can_name() {
        let mut state = None;
        for i in 0..700 {
            step(&mut state, &format!("svc-{i}"), &format!("e{i}"), i / 10);
        }
        let s = state.unwrap();
        assert_eq!(
            (s.members.len(), s.more, s.services()),
            (REMEMBERED, 200, 700)
        );
        let n = notice(&s, SETTINGS.window, true);
        let Body::Items(items) = &n.sections[0].body else {
            panic!()
        };
        assert_eq!(items.len(), NAMED + 1);
        assert_eq!(items[NAMED].lead, format!("… and {} more", 700 - NAMED));
    }
}
