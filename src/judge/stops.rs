//! One stop, one alert: the first STOPPED event of a task is the one judged, posted and counted;
//! every later STOPPED update of the same task (any version) is superseded. A pure decision on
//! the event's stop key (`source::StopKey`).

use super::post::Posted;
pub use crate::source::StopKey;

/// What the ledger remembers of the stop of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRecord {
    /// The token of the event that counted.
    pub token: String,
    pub version: Option<i64>,
    /// What that event (or a later one that completed its alert) told.
    pub score: u32,
    /// Where its Slack alert is (app mode), so a later, fuller update can complete it.
    pub posted: Option<Posted>,
}

impl StopKey {
    /// The record a ledger keeps when this event is the first.
    pub fn record(&self) -> StopRecord {
        StopRecord {
            token: self.token.clone(),
            version: self.version,
            score: self.score,
            posted: None,
        }
    }
}

/// Where an event stands against what the ledger knows of its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The first STOPPED event of the task: judged, posted and counted.
    First,
    /// A redelivery of the event that counted (same version): delivered parts are not sent again.
    Again,
    /// A later STOPPED update (or an earlier one arriving late): posts nothing, counts nothing.
    Superseded(StopRecord),
}

impl Standing {
    /// Decides on `key` given what the ledger has for its task.
    pub fn of(record: Option<&StopRecord>, key: &StopKey) -> Standing {
        match record {
            None => Standing::First,
            Some(r) if r.token == key.token => Standing::Again,
            Some(r) => Standing::Superseded(r.clone()),
        }
    }
}

/// The log's reason for dropping a superseded event.
pub fn superseded(record: &StopRecord, key: &StopKey) -> String {
    let at = match record.version {
        Some(v) => format!("version {v}"),
        None => "an earlier event".to_string(),
    };
    match key.version {
        Some(v) => format!("superseded: task already stopped at {at} (this is version {v})"),
        None => format!("superseded: task already stopped at {at}"),
    }
}

/// Whether a superseded update carries what the counted event lacked, so its alert may be
/// completed in place.
pub fn completes(record: &StopRecord, key: &StopKey) -> bool {
    record.posted.is_some() && key.score > record.score
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Container, Envelope, Task};

    fn stopped(version: Option<i64>, exit: Option<i64>) -> (Envelope, Task) {
        let env = Envelope {
            id: format!("e-{version:?}"),
            ..Envelope::default()
        };
        let task = Task {
            task_arn: Some("arn:aws:ecs:eu-west-1:1:task/prod/abc".into()),
            last_status: Some("STOPPED".into()),
            version,
            containers: vec![Container {
                name: Some("app".into()),
                exit_code: exit,
                ..Container::default()
            }],
            ..Task::default()
        };
        (env, task)
    }

    #[test]
    fn the_first_stop_counts_and_every_later_update_is_superseded() {
        let (env, task) = stopped(Some(5), None);
        let first = StopKey::of(&env, &task).unwrap();
        assert_eq!(Standing::of(None, &first), Standing::First);
        let record = first.record();
        assert_eq!(Standing::of(Some(&record), &first), Standing::Again);
        for version in [6, 7, 4] {
            let (env, task) = stopped(Some(version), Some(1));
            let later = StopKey::of(&env, &task).unwrap();
            assert_eq!(
                Standing::of(Some(&record), &later),
                Standing::Superseded(record.clone())
            );
            assert_eq!(
                superseded(&record, &later),
                format!(
                    "superseded: task already stopped at version 5 (this is version {version})"
                )
            );
            // It tells more (an exit code), but there is no posted alert to complete.
            assert!(later.score > record.score);
            assert!(!completes(&record, &later));
        }
        let posted = StopRecord {
            posted: Some(Posted {
                channel: "C1".into(),
                ts: "1.2".into(),
            }),
            ..record.clone()
        };
        let (env, task) = stopped(Some(6), Some(1));
        assert!(completes(&posted, &StopKey::of(&env, &task).unwrap()));
        let (env, task) = stopped(Some(6), None);
        assert!(!completes(&posted, &StopKey::of(&env, &task).unwrap()));
    }

    #[test]
    fn only_stopped_tasks_with_an_arn_have_a_key() {
        let (env, mut task) = stopped(Some(1), None);
        task.last_status = Some("RUNNING".into());
        assert_eq!(StopKey::of(&env, &task), None);
        let (env, mut task) = stopped(None, None);
        assert_eq!(StopKey::of(&env, &task).unwrap().token, "id:e-None");
        task.task_arn = None;
        assert_eq!(StopKey::of(&env, &task), None);
    }
}
