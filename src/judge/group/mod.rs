//! Incidents: failures of one cause in one account and cluster, bound for one Slack destination,
//! grouped within a window (as Alertmanager groups alerts by labels). The first few services
//! alert on their own; past the threshold one grouped message names them all. Windows are read
//! on the failures' own times; a backlog's (failures arriving late) is told once it has stopped
//! arriving. A pure decision; the state lives in memory or in the state table.

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
    /// When its latest failure arrived (the wall clock, not the failure's own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived: Option<DateTime<Utc>>,
    /// A backlog's window: its failures arrive late, by this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<Late>,
    /// Repeated failures of its services (the first [`REMEMBERED`]), so that a redelivery of one
    /// is not counted again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<Member>,
}

/// How late a backlog's failures arrive: the least and the most, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late {
    pub least: i64,
    pub most: i64,
}

impl Late {
    fn of(lag: Duration) -> Late {
        Late {
            least: lag.num_seconds(),
            most: lag.num_seconds(),
        }
    }

    fn and(self, other: Option<Late>) -> Late {
        match other {
            Some(o) => Late {
                least: self.least.min(o.least),
                most: self.most.max(o.most),
            },
            None => self,
        }
    }
}

/// When a failure happened and when it arrived: one that arrives more than `late_after` after
/// it happened is a backlog's (`BACKLOG_AFTER_SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Its own time (`plan.at`).
    pub happened: DateTime<Utc>,
    /// The wall clock when the function got it.
    pub arrived: DateTime<Utc>,
    /// `None`: never late (`render`, which has no arrival).
    pub late_after: Option<Duration>,
}

impl Timing {
    /// A failure judged as of its own time, never late.
    pub fn on_time(at: DateTime<Utc>) -> Timing {
        Timing {
            happened: at,
            arrived: at,
            late_after: None,
        }
    }

    /// How late it arrives, when it is a backlog's.
    pub fn lag(&self) -> Option<Duration> {
        let lag = self.arrived - self.happened;
        self.late_after.filter(|after| lag > *after).map(|_| lag)
    }
}

/// The clocks a window's end is read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The latest own time of the events an invocation brought; none for the periodic check.
    pub reached: Option<DateTime<Utc>>,
    /// The time it is: the wall clock, or the periodic check's own time.
    pub now: DateTime<Utc>,
    /// The wall clock, on which failures arrive.
    pub wall: DateTime<Utc>,
    /// How long a backlog's window waits with none of its failures arriving before it is told.
    pub settle: Duration,
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

    /// A grouped message was posted and its final summary not yet told.
    fn owes_summary(&self) -> bool {
        !self.closed && self.opened_with > 0
    }

    /// The window has ended with a grouped message that does not yet name everything: its
    /// final summary is due. A window ends when the events reach its end, or when the clock
    /// does; a backlog's, by the clock only once none of its failures has arrived for a while
    /// (the clock passed it long ago, and more of it may be on the way).
    pub fn summary_due(&self, clock: &Clock, window: Duration) -> bool {
        let end = self.window_end(window);
        let reached = clock.reached.is_some_and(|at| at >= end);
        let settled = self.late.is_none()
            || self
                .arrived
                .is_none_or(|arrived| clock.wall >= arrived + clock.settle);
        self.owes_summary() && (reached || (clock.now >= end && settled))
    }

    /// When its first failure happened (a backlog's may arrive out of order).
    pub fn first_at(&self) -> DateTime<Utc> {
        self.members
            .iter()
            .map(|m| m.at)
            .min()
            .map_or(self.window_start, |at| at.min(self.window_start))
    }

    /// The key under which the grouped message of this window is delivered and remembered.
    pub fn thread_id(&self, key: &str) -> String {
        format!("group:{key}@{}", self.window_start.timestamp())
    }

    /// The windows whose final summary is due on `clock`: the previous one, then this one.
    pub fn owed(&self, clock: &Clock, window: Duration) -> Vec<&GroupState> {
        let previous = self.previous.as_deref().filter(|p| !p.closed);
        previous
            .into_iter()
            .chain(self.summary_due(clock, window).then_some(self))
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
/// given its group's state, as of the failure's own time (never late: `render`). See
/// [`admit_arrived`].
pub fn admit(
    state: Option<&GroupState>,
    about: &Groupable,
    destination: (Option<&str>, Option<&str>),
    event: &str,
    at: DateTime<Utc>,
    settings: Grouping,
) -> (Admission, Option<GroupState>) {
    admit_arrived(
        state,
        about,
        destination,
        event,
        Timing::on_time(at),
        settings,
    )
}

/// Decides on a failure of `about` (event `event`: its identity, the same for a redelivery),
/// bound for `route` / `channel`, given its group's state. Returns the decision and the state
/// to store (`None`: unchanged). A failure after the window opens the next one, which keeps
/// the ended window while it owes its summary. A late failure (a backlog's) joins a window
/// already told, which then owes its summary again, and one that happened up to a window
/// before it (a backlog arrives out of order).
pub fn admit_arrived(
    state: Option<&GroupState>,
    about: &Groupable,
    (route, channel): (Option<&str>, Option<&str>),
    event: &str,
    timing: Timing,
    settings: Grouping,
) -> (Admission, Option<GroupState>) {
    let failure = Failure {
        about,
        route,
        channel,
        event,
        at: timing.happened,
        timing,
    };
    let Some(s) = state else {
        return (Admission::Alone, Some(failure.open()));
    };
    if let Some(again) = readmitted(s, event) {
        return (again, None);
    }
    let at = failure.at;
    if at >= s.window_end(settings.window) {
        return (Admission::Alone, Some(next_window(s, &failure)));
    }
    let late = timing.lag().is_some();
    let before = at < s.window_start && !(late && at + settings.window > s.window_start);
    if before || (s.closed && !late) {
        // Before the window, or (on time) late for a window already told: never held back.
        return (Admission::Alone, None);
    }
    let mut next = s.clone();
    failure.arrive(&mut next);
    next.failures += 1;
    let known = s.members.iter().any(|m| m.subject == about.subject);
    let admission = if known {
        // A service already in the group fails again: held by the group once it is posted,
        // else its own alert (flood control holds its repeats).
        let role = if s.opened_with > 0 {
            Role::Joined
        } else {
            Role::Alone
        };
        if next.repeats.len() < REMEMBERED {
            next.repeats.push(failure.member(role));
        }
        again(role)
    } else {
        // A new service reopens a window already told: its summary is owed again.
        next.closed = false;
        join(s, &mut next, &failure, settings.threshold)
    };
    (admission, Some(next))
}

/// One failure, as [`admit_arrived`] is given it.
struct Failure<'a> {
    about: &'a Groupable,
    route: Option<&'a str>,
    channel: Option<&'a str>,
    event: &'a str,
    at: DateTime<Utc>,
    timing: Timing,
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
            arrived: Some(self.timing.arrived),
            late: self.timing.lag().map(Late::of),
            repeats: Vec::new(),
        }
    }

    /// `state` after this failure arrived: when, and how late.
    fn arrive(&self, state: &mut GroupState) {
        let arrived = self.timing.arrived;
        state.arrived = Some(state.arrived.map_or(arrived, |a| a.max(arrived)));
        if let Some(lag) = self.timing.lag() {
            state.late = Some(Late::of(lag).and(state.late));
        }
    }
}

/// A redelivery of an event already admitted (in this window or the one before, a service's
/// first failure or a repeat): what it did then.
fn readmitted(s: &GroupState, event: &str) -> Option<Admission> {
    let windows = std::iter::once(s).chain(s.previous.as_deref());
    let admitted = windows
        .flat_map(|w| w.members.iter().chain(&w.repeats))
        .find(|m| m.event == event)?;
    Some(again(admitted.role))
}

/// What a failure admitted in `role` does (again).
fn again(role: Role) -> Admission {
    match role {
        Role::Alone => Admission::Alone,
        Role::Opener => Admission::Open,
        Role::Joined => Admission::Join {
            edit: false,
            reply: false,
        },
    }
}

/// The window `failure` opens after `s` ended (the failure happened after its end). The ended
/// one is kept while it owes its summary.
fn next_window(s: &GroupState, failure: &Failure) -> GroupState {
    let mut next = failure.open();
    let mut ended = s.clone();
    let older = ended.previous.take();
    next.previous = if ended.owes_summary() {
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
pub use notice::{notice, FINAL_LIST_NEEDS_THE_TABLE};

#[cfg(test)]
mod tests;
