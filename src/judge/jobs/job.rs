//! A job expected to run on a schedule (tag `ecs-notifier:expect-every`): what the state table
//! keeps about each, and the pure check of which ones missed a run.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::expect::Expect;

/// The tag that marks a job and says how often it runs.
pub const EXPECT_TAG: &str = "ecs-notifier:expect-every";
/// The tag that overrides the grace period of one job.
pub const GRACE_TAG: &str = "ecs-notifier:expect-grace";

/// A job as the state table keeps it (and as `render` reads recorded jobs, durations in seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub account: String,
    pub region: String,
    pub cluster: String,
    /// The task definition family.
    pub family: String,
    /// The expectation: an interval (`1h`) or a schedule expression (`cron(0 3 * * ? *)`).
    pub expect: String,
    /// The schedule's time zone, for `cron()` expressions read from EventBridge Scheduler.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The EventBridge Scheduler schedule the expectation was read from (`group/name`).
    pub schedule: Option<String>,
    #[serde(with = "seconds")]
    pub grace: Duration,
    /// When the job was first seen, so a job that never succeeds is still checked.
    pub first_seen: DateTime<Utc>,
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
    /// How long the last successful run took (start to stop).
    #[serde(with = "seconds", default)]
    pub last_success_ran: Duration,
    #[serde(default)]
    pub last_run: Option<DateTime<Utc>>,
    /// `success`, or the failure's cause (`out_of_memory`).
    #[serde(default)]
    pub last_result: Option<String>,
    /// The `ecs-notifier:*` routing tags of the job's task definition.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A duration as whole seconds.
mod seconds {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_seconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::seconds(
            i64::deserialize(d)?.clamp(0, 10 * 365 * 86_400),
        ))
    }
}

impl Job {
    /// The table key of a job: one per account, region, cluster and family.
    pub fn key(account: &str, region: &str, cluster: &str, family: &str) -> String {
        format!("job#{account}#{region}#{cluster}#{family}")
    }

    /// The routing tags, as `Route::from_tags` takes them.
    pub fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The expectation in words: `every 1h`, `on schedule cron(0 3 * * ? *)`.
    pub fn describe_expectation(&self) -> String {
        let how = if self.expect.contains('(') {
            format!("on schedule {}", self.expect)
        } else {
            format!("every {}", self.expect)
        };
        match (&self.schedule, &self.timezone) {
            (Some(s), Some(tz)) if tz != "UTC" => {
                format!("{how} ({tz}, EventBridge Scheduler {s})")
            }
            (Some(s), _) => format!("{how} (EventBridge Scheduler {s})"),
            _ => how,
        }
    }
}

/// Where a job stands at a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Seconds since the last successful run finished (since first seen, if it never did).
    pub age: Duration,
    /// By when the next successful run should have finished; `None` if no run is expected.
    pub due: Option<DateTime<Utc>>,
    /// Whether `due` has passed.
    pub overdue: bool,
    /// Why the expectation could not be read, if it could not.
    pub problem: Option<String>,
}

/// Where `job` stands at `now`.
pub fn standing(job: &Job, now: DateTime<Utc>) -> Standing {
    let since = job.last_success.unwrap_or(job.first_seen);
    let age = (now - since).max(Duration::zero());
    match Expect::parse(&job.expect, job.timezone.as_deref()) {
        Ok(Some(expect)) => {
            let due = expect.due(since, job.last_success_ran, job.grace);
            Standing {
                age,
                due,
                overdue: due.is_some_and(|d| now > d),
                problem: None,
            }
        }
        Ok(None) => Standing {
            age,
            due: None,
            overdue: false,
            problem: None,
        },
        Err(problem) => Standing {
            age,
            due: None,
            overdue: false,
            problem: Some(problem.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn job(expect: &str) -> Job {
        Job {
            account: "1".into(),
            region: "eu-west-1".into(),
            cluster: "batch".into(),
            family: "nightly-etl".into(),
            expect: expect.into(),
            timezone: None,
            schedule: None,
            grace: Duration::minutes(15),
            first_seen: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            last_success: Some(Utc.with_ymd_and_hms(2026, 11, 21, 3, 20, 0).unwrap()),
            last_success_ran: Duration::minutes(20),
            last_run: None,
            last_result: None,
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn a_daily_job_is_overdue_after_its_next_run_and_grace() {
        let j = job("cron(0 3 * * ? *)");
        let before = Utc.with_ymd_and_hms(2026, 11, 22, 3, 35, 0).unwrap();
        let s = standing(&j, before);
        assert!(!s.overdue);
        assert_eq!(s.due, Some(before));
        assert_eq!(s.age, Duration::hours(24) + Duration::minutes(15));
        let after = before + Duration::seconds(1);
        assert!(standing(&j, after).overdue);
    }

    #[test]
    fn a_job_that_never_succeeded_counts_from_first_seen() {
        let mut j = job("1h");
        j.last_success = None;
        let s = standing(&j, j.first_seen + Duration::minutes(76));
        assert!(s.overdue);
        assert_eq!(s.age, Duration::minutes(76));
    }

    #[test]
    fn an_unreadable_expectation_is_reported_not_alerted() {
        let s = standing(&job("cron(bad)"), Utc::now());
        assert!(!s.overdue);
        assert!(s.problem.is_some());
        assert_eq!(
            job("cron(0 3 * * ? *)").describe_expectation(),
            "on schedule cron(0 3 * * ? *)"
        );
        assert_eq!(job("1h").describe_expectation(), "every 1h");
    }
}
