//! How often a job should run, and by when its next successful run is due: intervals (`1h`),
//! and EventBridge `rate()` and `cron()` schedule expressions.

use chrono::{DateTime, Duration, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use thiserror::Error;

use crate::config::duration;

/// A tag value or schedule expression that says no expectation this function can follow.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ExpectError {
    #[error("`{0}`: no schedule name")]
    NoScheduleName(String),
    #[error("`{0}` is neither an interval (`90m`, `1h`, `1d`) nor `schedule[:group/name]`")]
    NotATagValue(String),
    #[error("`{0}`: expected rate(value unit)")]
    RateForm(String),
    #[error("`{0}`: the value is not a positive integer")]
    RateValue(String),
    #[error("`{text}`: unknown unit `{unit}`")]
    RateUnit { text: String, unit: String },
    #[error("`{0}`: too long")]
    TooLong(String),
    #[error("`{0}`: cron() takes 6 fields")]
    CronFields(String),
    #[error("`{0}`: one of day-of-month and day-of-week must be `?`")]
    CronDays(String),
    /// What the cron parser found wrong.
    #[error("`{text}`: {problem}")]
    Cron { text: String, problem: String },
    #[error("`{0}` is not an interval, rate() or cron() expression")]
    NotAnExpression(String),
}

/// What the `ecs-notifier:expect-every` tag asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A fixed interval or schedule expression, written in the tag.
    Fixed(String),
    /// The EventBridge Scheduler schedule's expression: the one named (`schedule:[group/]name`),
    /// or the one that launched the run (`schedule`).
    Schedule {
        group: Option<String>,
        name: Option<String>,
    },
}

impl Spec {
    /// Reads a tag value: `90m`, `1h`, `1d`, `1h30m`; `schedule`; `schedule:name` or
    /// `schedule:group/name`. Tag values cannot hold `(`, `*` or `?`, so schedule expressions
    /// come from the Scheduler API, never from the tag itself.
    pub fn parse(value: &str) -> Result<Self, ExpectError> {
        let value = value.trim();
        if value == "schedule" {
            return Ok(Spec::Schedule {
                group: None,
                name: None,
            });
        }
        if let Some(rest) = value.strip_prefix("schedule:") {
            let (group, name) = match rest.split_once('/') {
                Some((g, n)) => (Some(g.to_string()), n),
                None => (None, rest),
            };
            if name.is_empty() {
                return Err(ExpectError::NoScheduleName(value.to_string()));
            }
            return Ok(Spec::Schedule {
                group,
                name: Some(name.to_string()),
            });
        }
        match duration::parse(value) {
            Some(_) => Ok(Spec::Fixed(value.to_string())),
            None => Err(ExpectError::NotATagValue(value.to_string())),
        }
    }
}

/// A parsed expectation.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A run every so often (`1h`, `rate(1 hour)`).
    Every(Duration),
    /// A `cron()` expression. In UTC it is followed exactly; in another time zone (Scheduler's
    /// `ScheduleExpressionTimezone`) by its longest gap between runs, plus an hour for
    /// daylight saving time, so a time zone never causes a false alarm.
    Cron { cron: Box<Cron>, utc: bool },
}

impl Expect {
    /// Reads an interval (`1h`), `rate(n unit)` or `cron(min hour dom month dow year)`.
    /// `Ok(None)`: a one-time `at()` schedule, which expects nothing after it ran.
    pub fn parse(text: &str, timezone: Option<&str>) -> Result<Option<Expect>, ExpectError> {
        let text = text.trim();
        if let Some(d) = duration::parse(text) {
            return Ok(Some(Expect::Every(d)));
        }
        if text.starts_with("at(") {
            return Ok(None);
        }
        if let Some(inner) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
            let (n, unit) = inner
                .trim()
                .split_once(' ')
                .ok_or_else(|| ExpectError::RateForm(text.to_string()))?;
            let n: i64 = n
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ExpectError::RateValue(text.to_string()))?;
            let d = match unit.trim() {
                "minute" | "minutes" => Duration::try_minutes(n),
                "hour" | "hours" => Duration::try_hours(n),
                "day" | "days" => Duration::try_days(n),
                other => {
                    return Err(ExpectError::RateUnit {
                        text: text.to_string(),
                        unit: other.to_string(),
                    })
                }
            };
            return d
                .map(|d| Some(Expect::Every(d)))
                .ok_or_else(|| ExpectError::TooLong(text.to_string()));
        }
        if let Some(inner) = text.strip_prefix("cron(").and_then(|t| t.strip_suffix(')')) {
            let fields: Vec<&str> = inner.split_whitespace().collect();
            if fields.len() != 6 {
                return Err(ExpectError::CronFields(text.to_string()));
            }
            if fields[2] != "?" && fields[4] != "?" {
                return Err(ExpectError::CronDays(text.to_string()));
            }
            let parser = CronParser::builder()
                .seconds(Seconds::Required)
                .year(Year::Required)
                // AWS numbers days of the week 1-7 from Sunday.
                .alternative_weekdays(true)
                .sloppy_ranges(true)
                .build();
            let cron = parser
                .parse(&format!("0 {}", fields.join(" ")))
                .map_err(|e| ExpectError::Cron {
                    text: text.to_string(),
                    problem: e.to_string(),
                })?;
            let utc = timezone.is_none_or(|tz| matches!(tz, "" | "UTC" | "Etc/UTC" | "GMT"));
            return Ok(Some(Expect::Cron {
                cron: Box::new(cron),
                utc,
            }));
        }
        Err(ExpectError::NotAnExpression(text.to_string()))
    }

    /// By when the run after one that finished at `finished` (after `ran` of running) should
    /// have finished too, with `grace` to spare. `None`: no further run is scheduled.
    pub fn due(
        &self,
        finished: DateTime<Utc>,
        ran: Duration,
        grace: Duration,
    ) -> Option<DateTime<Utc>> {
        match self {
            // The next run starts an interval after this one started, and takes as long.
            Expect::Every(d) => Some(finished + *d + grace),
            Expect::Cron { cron, utc: true } => {
                // The run began at (or, with a flexible window, after) a scheduled time; half a
                // minute of margin keeps a clock skew from taking that time for the next one.
                let started = finished - ran + Duration::seconds(30);
                let next = cron.find_next_occurrence(&started, false).ok()?;
                Some(next + ran + grace)
            }
            Expect::Cron { cron, utc: false } => {
                let gap = longest_gap(cron, finished)?;
                Some(finished + gap + Duration::hours(1) + grace)
            }
        }
    }
}

/// The longest time between two consecutive runs in the 400 days after `from` (a schedule's
/// longest gap in UTC is its longest gap in any time zone, give or take daylight saving).
fn longest_gap(cron: &Cron, from: DateTime<Utc>) -> Option<Duration> {
    let end = from + Duration::days(400);
    let mut at = cron.find_next_occurrence(&from, false).ok()?;
    let mut longest = Duration::zero();
    for _ in 0..2_000 {
        let Ok(next) = cron.find_next_occurrence(&at, false) else {
            break;
        };
        longest = longest.max(next - at);
        at = next;
        if at > end {
            break;
        }
    }
    (longest > Duration::zero()).then_some(longest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, h, m, 0).unwrap() // a Wednesday
    }

    #[test]
    fn reads_tag_values() {
        assert_eq!(Spec::parse("1h"), Ok(Spec::Fixed("1h".into())));
        assert_eq!(
            Spec::parse("schedule"),
            Ok(Spec::Schedule {
                group: None,
                name: None
            })
        );
        assert_eq!(
            Spec::parse("schedule:nightly/etl"),
            Ok(Spec::Schedule {
                group: Some("nightly".into()),
                name: Some("etl".into())
            })
        );
        assert!(Spec::parse("hourly").is_err());
        assert!(Spec::parse("schedule:").is_err());
        assert_eq!(duration::parse("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(duration::parse("2w"), Some(Duration::days(14)));
        assert_eq!(duration::parse("0m"), None);
        assert_eq!(duration::parse("10"), None);
        assert_eq!(duration::parse("99999999999999999d"), None);
        assert_eq!(duration::format(Duration::minutes(90)), "1h30m");
        assert_eq!(duration::format(Duration::seconds(86_401)), "1d1s");
    }

    #[test]
    fn intervals_and_rates_are_due_an_interval_after_the_last_finish() {
        let grace = Duration::minutes(15);
        for text in ["1h", "rate(1 hour)", "rate(60 minutes)"] {
            let e = Expect::parse(text, None).unwrap().unwrap();
            assert_eq!(
                e.due(at(10, 5), Duration::minutes(5), grace),
                Some(at(11, 20)),
                "{text}"
            );
        }
        assert!(Expect::parse("rate(1 fortnight)", None).is_err());
        assert!(Expect::parse("rate(0 hours)", None).is_err());
        assert!(Expect::parse("at(2026-12-01T00:00:00)", None)
            .unwrap()
            .is_none());
    }

    #[test]
    fn cron_in_utc_is_due_after_the_next_scheduled_run_would_finish() {
        // Weekdays at 03:00; a run that took 20 minutes finished Wednesday 03:20.
        let e = Expect::parse("cron(0 3 ? * MON-FRI *)", None)
            .unwrap()
            .unwrap();
        let due = e.due(at(3, 20), Duration::minutes(20), Duration::minutes(15));
        assert_eq!(
            due,
            Some(Utc.with_ymd_and_hms(2026, 11, 19, 3, 35, 0).unwrap())
        );
        // Friday's run: the next is Monday's.
        let friday = Utc.with_ymd_and_hms(2026, 11, 20, 3, 20, 0).unwrap();
        assert_eq!(
            e.due(friday, Duration::minutes(20), Duration::minutes(15)),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 3, 35, 0).unwrap())
        );
        // AWS day-of-week numbers: 2 is Monday.
        let monday = Expect::parse("cron(0 9 ? * 2 *)", Some("UTC"))
            .unwrap()
            .unwrap();
        assert_eq!(
            monday.due(at(9, 0), Duration::zero(), Duration::zero()),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap())
        );
        assert!(Expect::parse("cron(0 3 * * * *)", None).is_err());
        assert!(Expect::parse("cron(0 3 * *)", None).is_err());
    }

    #[test]
    fn a_run_created_a_moment_before_its_scheduled_time_is_that_run() {
        let e = Expect::parse("cron(0 3 * * ? *)", None).unwrap().unwrap();
        // Created at 02:59:50 by a clock 10 s behind, finished 03:10.
        let due = e.due(at(3, 10), Duration::seconds(610), Duration::minutes(15));
        assert_eq!(
            due,
            Some(Utc.with_ymd_and_hms(2026, 11, 19, 3, 25, 10).unwrap())
        );
    }

    #[test]
    fn cron_in_another_time_zone_uses_its_longest_gap() {
        let e = Expect::parse("cron(0 3 ? * MON-FRI *)", Some("Europe/Berlin"))
            .unwrap()
            .unwrap();
        // Longest gap Friday to Monday: 72 h, plus an hour for daylight saving, plus grace.
        assert_eq!(
            e.due(at(3, 20), Duration::minutes(20), Duration::minutes(15)),
            Some(at(3, 20) + Duration::hours(73) + Duration::minutes(15))
        );
    }

    #[test]
    fn problems_read_as_they_are_logged() {
        let problem = |text: &str| Expect::parse(text, None).unwrap_err().to_string();
        assert_eq!(
            Spec::parse("hourly").unwrap_err().to_string(),
            "`hourly` is neither an interval (`90m`, `1h`, `1d`) nor `schedule[:group/name]`"
        );
        assert_eq!(
            Spec::parse("schedule:g/").unwrap_err().to_string(),
            "`schedule:g/`: no schedule name"
        );
        assert_eq!(problem("rate(1)"), "`rate(1)`: expected rate(value unit)");
        assert_eq!(
            problem("rate(0 hours)"),
            "`rate(0 hours)`: the value is not a positive integer"
        );
        assert_eq!(
            problem("rate(1 fortnight)"),
            "`rate(1 fortnight)`: unknown unit `fortnight`"
        );
        assert_eq!(
            problem("rate(9999999999999 days)"),
            "`rate(9999999999999 days)`: too long"
        );
        assert_eq!(
            problem("cron(0 3 * *)"),
            "`cron(0 3 * *)`: cron() takes 6 fields"
        );
        assert_eq!(
            problem("cron(0 3 * * * *)"),
            "`cron(0 3 * * * *)`: one of day-of-month and day-of-week must be `?`"
        );
        assert!(problem("cron(99 3 * * ? *)").starts_with("`cron(99 3 * * ? *)`: "));
        assert_eq!(
            problem("weekly"),
            "`weekly` is not an interval, rate() or cron() expression"
        );
    }
}
