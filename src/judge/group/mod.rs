//! Incidents: failures of one cause in one account and cluster, bound for one Slack destination,
//! grouped within a window (as Alertmanager groups alerts by labels). The first few services
//! alert on their own; past the threshold one grouped message names them all. A pure decision;
//! the state lives in memory or in the state table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

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
    let failure = Failure {
        about,
        route,
        channel,
        event,
        at,
    };
    let Some(s) = state else {
        return (Admission::Alone, Some(failure.open()));
    };
    if let Some(again) = readmitted(s, event) {
        return (again, None);
    }
    if at >= s.window_end(settings.window) {
        return (
            Admission::Alone,
            Some(next_window(s, &failure, settings.window)),
        );
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
        join(s, &mut next, &failure, settings.threshold)
    };
    (admission, Some(next))
}

/// One failure, as [`admit`] is given it.
struct Failure<'a> {
    about: &'a Groupable,
    route: Option<&'a str>,
    channel: Option<&'a str>,
    event: &'a str,
    at: DateTime<Utc>,
}

impl Failure<'_> {
    /// The failure's service, as a member of its group.
    fn member(&self, role: Role) -> Member {
        Member {
            subject: self.about.subject.clone(),
            event: self.event.to_string(),
            role,
            at: self.at,
        }
    }

    /// A window opened by this failure, which alerts on its own.
    fn open(&self) -> GroupState {
        GroupState {
            about: self.about.clone(),
            route: self.route.map(String::from),
            channel: self.channel.map(String::from),
            window_start: self.at,
            members: vec![self.member(Role::Alone)],
            more: 0,
            failures: 1,
            opened_with: 0,
            replied: false,
            edited_at: None,
            closed: false,
            previous: None,
        }
    }
}

/// A redelivery of an event already admitted (in this window or the one before): what it did
/// then.
fn readmitted(s: &GroupState, event: &str) -> Option<Admission> {
    let admitted = s
        .members
        .iter()
        .chain(s.previous.iter().flat_map(|p| p.members.iter()))
        .find(|m| m.event == event)?;
    Some(match admitted.role {
        Role::Alone => Admission::Alone,
        Role::Opener => Admission::Open,
        Role::Joined => Admission::Join {
            edit: false,
            reply: false,
        },
    })
}

/// The window `failure` opens after `s` ended. The ended one is kept while it owes its
/// summary.
fn next_window(s: &GroupState, failure: &Failure, window: Duration) -> GroupState {
    let mut next = failure.open();
    let mut ended = s.clone();
    let older = ended.previous.take();
    next.previous = if ended.summary_due(failure.at, window) {
        Some(Box::new(ended))
    } else {
        older.filter(|p| !p.closed)
    };
    next
}

/// A service new to the group: on its own while under the threshold, else it opens the
/// grouped message, or joins it (editing it at most every few seconds, replying once in its
/// thread when the group has grown much). `next` is the state to store.
fn join(s: &GroupState, next: &mut GroupState, failure: &Failure, threshold: usize) -> Admission {
    let at = failure.at;
    let role = if s.services() < threshold as u64 {
        Role::Alone
    } else if s.opened_with == 0 {
        Role::Opener
    } else {
        Role::Joined
    };
    if next.members.len() < REMEMBERED {
        next.members.push(failure.member(role));
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
}

mod notice;
pub use notice::notice;

#[cfg(test)]
mod tests;
