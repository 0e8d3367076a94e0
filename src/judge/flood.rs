//! Flood control: one alert per service (or job) and cause per window, then at most one summary
//! per window. A pure decision; the state lives in memory or in the state table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// What is known about one flood key (`cluster/subject/cause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodState {
    /// When the current window opened (the time of the alert that opened it).
    pub window_start: DateTime<Utc>,
    /// Failures held back since then.
    pub suppressed: u64,
    /// The event that opened the window: its redelivery must still alert.
    pub opener: String,
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

/// Decides on a failure of `key` seen at `at` (event `event`), given the key's state. Returns
/// the decision and the state to store (`None`: leave it as it is).
pub fn admit(
    state: Option<&FloodState>,
    event: &str,
    at: DateTime<Utc>,
    window: Duration,
) -> (Admission, Option<FloodState>) {
    let open = |at| FloodState {
        window_start: at,
        suppressed: 0,
        opener: event.to_string(),
    };
    match state {
        None => (Admission::Alert, Some(open(at))),
        // A redelivery of the alert that opened the window (a failed sink, a retry).
        Some(s) if s.opener == event => (Admission::Alert, None),
        Some(s) if at < s.window_start + window => (
            Admission::Suppress,
            Some(FloodState {
                suppressed: s.suppressed + 1,
                ..s.clone()
            }),
        ),
        Some(s) if s.suppressed > 0 => (
            Admission::Summary {
                count: s.suppressed,
                since: s.window_start,
            },
            Some(open(at)),
        ),
        Some(_) => (Admission::Alert, Some(open(at))),
    }
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
        // A quiet window ends without a summary: the next failure is a plain alert.
        let (a, _) = admit(Some(&next), "e25", t(30), window);
        assert_eq!(a, Admission::Alert);
    }
}
