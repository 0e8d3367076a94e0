//! Flood control: one alert per service (or job) and cause per window, then at most one summary
//! per window, each failure counted once however often it is delivered. A pure decision; the
//! state lives in memory or in the state table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Failures a flood key remembers having counted (held back, or opened the window before), so
/// that their redeliveries are not counted again (past them, the oldest are forgotten).
pub const HELD_REMEMBERED: usize = 500;
/// How an earlier window's opener is marked among the events a key remembers.
const OPENED: &str = "opened:";

/// What is known about one flood key (`cluster/subject/cause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodState {
    /// When the current window opened (the time of the alert that opened it).
    pub window_start: DateTime<Utc>,
    /// Failures held back since then.
    pub suppressed: u64,
    /// The event that opened the window: its redelivery must still alert.
    pub opener: String,
    /// The events held back (their identities: the same event id, or the same task and
    /// version), in this window and the ones before, and the earlier windows' openers (marked
    /// `opened:`), the last [`HELD_REMEMBERED`]: a redelivery of one does what it did the first
    /// time, and is not counted again.
    #[serde(default)]
    pub held: Vec<String>,
}

/// What to do with one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Post it.
    Alert,
    /// Hold it back; Datadog still counts it.
    Suppress,
    /// Post it, saying how many were held back since `since`.
    Summary { count: u64, since: DateTime<Utc> },
}

/// Decides on a failure of `key` that happened at `at` (event `event`: its identity), given the
/// key's state. Returns the decision and the state to store (`None`: leave it as it is).
pub fn admit(
    state: Option<&FloodState>,
    event: &str,
    at: DateTime<Utc>,
    window: Duration,
) -> (Admission, Option<FloodState>) {
    // A window opened by this failure; the events of the window before stay known, so that
    // their redeliveries are not counted in this one.
    let open = |at, before: Option<&FloodState>| {
        let mut held = Vec::new();
        if let Some(b) = before {
            held.extend(b.held.iter().cloned());
            remember(&mut held, &format!("{OPENED}{}", b.opener));
        }
        FloodState {
            window_start: at,
            suppressed: 0,
            opener: event.to_string(),
            held,
        }
    };
    match state {
        None => (Admission::Alert, Some(open(at, None))),
        // A redelivery of the alert that opened the window, or the one before (a failed sink, a
        // retry): it alerts again, and changes nothing.
        Some(s) if s.opener == event || s.held.contains(&format!("{OPENED}{event}")) => {
            (Admission::Alert, None)
        }
        // A redelivery of a failure held back: held back again, counted once.
        Some(s) if s.held.iter().any(|h| h == event) => (Admission::Suppress, None),
        Some(s) if at < s.window_start + window => {
            let mut next = s.clone();
            next.suppressed += 1;
            remember(&mut next.held, event);
            (Admission::Suppress, Some(next))
        }
        Some(s) if s.suppressed > 0 => (
            Admission::Summary {
                count: s.suppressed,
                since: s.window_start,
            },
            Some(open(at, Some(s))),
        ),
        Some(s) => (Admission::Alert, Some(open(at, Some(s)))),
    }
}

/// Adds `event` to the events a window remembers, forgetting the oldest past
/// [`HELD_REMEMBERED`].
fn remember(held: &mut Vec<String>, event: &str) {
    if held.len() >= HELD_REMEMBERED {
        held.remove(0);
    }
    held.push(event.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn a_crash_loop_alerts_once_then_summarises_per_window() {
        let window = Duration::minutes(10);
        let (first, state) = admit(None, "e0", t(0), window);
        assert_eq!(first, Admission::Alert);
        let mut state = state.unwrap();
        for i in 1..=23 {
            let (a, next) = admit(
                Some(&state),
                &format!("e{i}"),
                t(0) + Duration::seconds(i * 20),
                window,
            );
            assert_eq!(a, Admission::Suppress);
            state = next.unwrap();
        }
        assert_eq!(state.suppressed, 23);
        // A held-back failure delivered again is held back again, and not counted again.
        assert_eq!(
            admit(Some(&state), "e7", t(6), window),
            (Admission::Suppress, None)
        );
        // The opener's redelivery still alerts, and changes nothing.
        assert_eq!(
            admit(Some(&state), "e0", t(5), window),
            (Admission::Alert, None)
        );
        // The first failure after the window carries the summary and opens a new window.
        let (a, next) = admit(Some(&state), "e24", t(11), window);
        assert_eq!(
            a,
            Admission::Summary {
                count: 23,
                since: t(0)
            }
        );
        let next = next.unwrap();
        assert_eq!((next.suppressed, next.window_start), (0, t(11)));
        // The window before stays known: a late redelivery of its failures is not counted.
        assert_eq!(next.held.len(), 24);
        assert_eq!(
            admit(Some(&next), "e3", t(12), window),
            (Admission::Suppress, None)
        );
        assert_eq!(
            admit(Some(&next), "e0", t(12), window),
            (Admission::Alert, None),
            "the window before's opener alerts again"
        );
        // A quiet window ends without a summary: the next failure is a plain alert.
        let (a, _) = admit(Some(&next), "e25", t(30), window);
        assert_eq!(a, Admission::Alert);
    }
}
