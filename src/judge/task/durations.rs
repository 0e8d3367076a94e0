//! How long a stopped task waited, pulled its images and ran, from its event timestamps.

use crate::source::{Task, Timestamp};

/// Phases of a task's life, in seconds; `None` where the event lacks a timestamp or the clock
/// went backwards.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Durations {
    /// `createdAt` → `pullStartedAt`: placement, ENI attachment, provisioning.
    pub waiting: Option<f64>,
    /// `pullStartedAt` → `pullStoppedAt`: pulling the images.
    pub pulling: Option<f64>,
    /// `createdAt` → `startedAt`: everything before the containers ran.
    pub startup: Option<f64>,
    /// `startedAt` → `executionStoppedAt` (else `stoppedAt`): the run itself.
    pub running: Option<f64>,
    /// `createdAt` → `stoppedAt`.
    pub total: Option<f64>,
}

fn between(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<f64> {
    let millis = to?.signed_duration_since(from?).num_milliseconds();
    (millis >= 0).then(|| millis as f64 / 1000.0)
}

impl Durations {
    /// Reads the phases of a task.
    pub fn of(task: &Task) -> Self {
        Self {
            waiting: between(task.created_at, task.pull_started_at),
            pulling: between(task.pull_started_at, task.pull_stopped_at),
            startup: between(task.created_at, task.started_at),
            running: between(
                task.started_at,
                task.execution_stopped_at.or(task.stopped_at),
            ),
            total: between(task.created_at, task.stopped_at),
        }
    }
}

/// `850ms`, `12.3s`, `4m 02s`, `2h 05m`.
pub fn human(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{}ms", (seconds * 1000.0).round() as u64)
    } else if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = seconds.round() as u64;
        let (h, m, s) = (whole / 3600, (whole % 3600) / 60, whole % 60);
        if h > 0 {
            format!("{h}h {m:02}m")
        } else {
            format!("{m}m {s:02}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<Timestamp> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn phases_from_timestamps() {
        let task = Task {
            created_at: ts("2026-11-20T10:00:00.000Z"),
            pull_started_at: ts("2026-11-20T10:00:20.250Z"),
            pull_stopped_at: ts("2026-11-20T10:00:28.000Z"),
            started_at: ts("2026-11-20T10:00:30.000Z"),
            execution_stopped_at: ts("2026-11-20T10:04:30.500Z"),
            stopped_at: ts("2026-11-20T10:05:00.000Z"),
            ..Task::default()
        };
        let d = Durations::of(&task);
        assert_eq!(d.waiting, Some(20.25));
        assert_eq!(d.pulling, Some(7.75));
        assert_eq!(d.startup, Some(30.0));
        assert_eq!(d.running, Some(240.5));
        assert_eq!(d.total, Some(300.0));
    }

    #[test]
    fn missing_or_backwards_is_none() {
        let task = Task {
            created_at: ts("2026-11-20T10:00:00Z"),
            stopped_at: ts("2026-11-20T09:59:00Z"),
            ..Task::default()
        };
        let d = Durations::of(&task);
        assert_eq!(d.running, None);
        assert_eq!(d.total, None);
        assert_eq!(d.startup, None);
    }

    #[test]
    fn human_readable() {
        assert_eq!(human(0.85), "850ms");
        assert_eq!(human(12.34), "12.3s");
        assert_eq!(human(242.0), "4m 02s");
        assert_eq!(human(7500.0), "2h 05m");
    }
}
