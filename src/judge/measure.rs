//! The judge's measurements of an event: counts and durations (distribution values), levels
//! (gauges) and events (with what a deployment changed), each with its name, tags and time;
//! the Datadog sink encodes them.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::notice::{Notice, Severity};

/// Tags of a metric, shared by the metrics of one event (cloning them is a count increment).
pub type Tags = Arc<[String]>;

/// Values of one metric at a time: a duration, or a count sent as values of 1.
///
/// Datadog aggregates distribution values server-side across every submitter, so counts are
/// distributions too (one value of 1 per thing counted), as Datadog's own Lambda libraries do:
/// two invocations that count the same series in the same second add up.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub metric: &'static str,
    pub points: Vec<(i64, Vec<f64>)>,
    pub tags: Tags,
}

impl Distribution {
    pub fn new(metric: &'static str, timestamp: i64, value: f64, tags: impl Into<Tags>) -> Self {
        Self::values(metric, timestamp, vec![value], tags)
    }

    /// A count of `n` things at `timestamp`: `n` values of 1 (`sum:` and `count:` both give `n`).
    pub fn count(metric: &'static str, timestamp: i64, n: usize, tags: impl Into<Tags>) -> Self {
        Self::values(metric, timestamp, vec![1.0; n], tags)
    }

    fn values(
        metric: &'static str,
        timestamp: i64,
        values: Vec<f64>,
        tags: impl Into<Tags>,
    ) -> Self {
        Self {
            metric,
            points: vec![(timestamp, values)],
            tags: tags.into(),
        }
    }
}

/// A level at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub timestamp: i64,
    pub value: f64,
}

/// A gauge: a level at a time (the missed-run check's job ages), where the last value for a
/// timestamp is the one that counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub metric: &'static str,
    pub points: Vec<Point>,
    pub tags: Tags,
}

impl Series {
    pub fn gauge(metric: &'static str, timestamp: i64, value: f64, tags: impl Into<Tags>) -> Self {
        Self {
            metric,
            points: vec![Point { timestamp, value }],
            tags: tags.into(),
        }
    }
}

/// Longest event text Datadog keeps.
pub const EVENT_TEXT_MAX: usize = 4000;
/// Longest aggregation key.
pub const AGGREGATION_KEY_MAX: usize = 100;

/// An event: what happened, for people reading Datadog.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub title: String,
    pub text: String,
    /// `error`, `warning`, `success` or `info`: the notice's severity.
    pub alert_type: &'static str,
    pub aggregation_key: Option<String>,
    pub date_happened: i64,
    pub tags: Vec<String>,
    /// What a deployment changed (sent as a change event where the sink can).
    pub change: Option<Box<Change>>,
}

impl Event {
    /// The event telling `notice`: its title and plain text (cut to what Datadog keeps), its
    /// severity, grouped under `aggregation_key`; `tags` gain `source:ecs-notifier`.
    pub fn of(
        notice: &Notice,
        aggregation_key: Option<&str>,
        date_happened: i64,
        mut tags: Vec<String>,
    ) -> Self {
        tags.push("source:ecs-notifier".to_string());
        Self {
            title: notice.title.clone(),
            text: cut(&notice.plain_text(), EVENT_TEXT_MAX),
            alert_type: alert_type(notice.severity),
            aggregation_key: aggregation_key
                .map(|k| cut(k, AGGREGATION_KEY_MAX))
                .filter(|k| !k.is_empty()),
            date_happened,
            tags,
            change: None,
        }
    }

    /// The same event, telling what it changed.
    pub fn with_change(mut self, change: Change) -> Self {
        self.change = Some(Box::new(change));
        self
    }
}

/// The word for a severity that events carry.
pub fn alert_type(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => "error",
        Severity::Warning => "warning",
        Severity::Success => "success",
        Severity::Info => "info",
    }
}

/// What a deployment changed, for Change Tracking.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The changed resource: the ECS service (or daemon).
    pub resource: String,
    /// The services it affects: the unified `service` tag when the task definition sets it,
    /// else the ECS service's name.
    pub impacted: Vec<String>,
    /// The revision and images deployed (`new_value`), and those it replaces (`prev_value`).
    pub new_value: Map<String, Value>,
    pub prev_value: Map<String, Value>,
    /// Everything else worth keeping: the ECS event, the deployment's id, its reason.
    pub metadata: Map<String, Value>,
}

/// `text` cut to at most `max` characters.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((idx, _)) => text[..idx].to_string(),
        None => text.to_string(),
    }
}

/// Everything one ECS event measures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    pub distributions: Vec<Distribution>,
    pub series: Vec<Series>,
    pub events: Vec<Event>,
}

impl Submission {
    pub fn is_empty(&self) -> bool {
        self.distributions.is_empty() && self.series.is_empty() && self.events.is_empty()
    }

    /// Distribution values in all (tests and logs check that nothing is lost in merging and
    /// splitting).
    pub fn values(&self) -> usize {
        self.distributions
            .iter()
            .flat_map(|d| d.points.iter().map(|(_, v)| v.len()))
            .sum()
    }

    /// The values of distribution `metric`: what a count sent as a distribution counts.
    pub fn count_of(&self, metric: &str) -> usize {
        self.distributions
            .iter()
            .filter(|d| d.metric == metric)
            .flat_map(|d| d.points.iter().map(|(_, v)| v.len()))
            .sum()
    }
}

/// A tag `key:value` with the value made safe for Datadog: lower case, only letters, digits and
/// `_-./:`, at most 200 characters in all.
pub fn tag(key: &str, value: &str) -> String {
    let clean: String = value
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = format!("{key}:{clean}");
    out.truncate(200);
    out
}

/// The timestamp to stamp points with: `at` when Datadog still accepts it (at most an hour
/// old, at most ten minutes ahead; a margin kept on each side), else `now`.
pub fn metric_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    match at {
        Some(at) if at > now - Duration::minutes(55) && at < now + Duration::minutes(5) => {
            at.timestamp()
        }
        _ => now.timestamp(),
    }
}

/// The `date_happened` of an event: `at` when Datadog still accepts it (18 h), else `now`.
pub fn event_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    match at {
        Some(at) if at > now - Duration::hours(17) && at < now + Duration::minutes(5) => {
            at.timestamp()
        }
        _ => now.timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_sanitised_and_bounded() {
        assert_eq!(tag("service", "Checkout API"), "service:checkout_api");
        assert_eq!(tag("cluster", "prod-eu"), "cluster:prod-eu");
        assert_eq!(tag("x", &"a".repeat(500)).len(), 200);
    }

    #[test]
    fn timestamps_within_acceptance() {
        let now: DateTime<Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
        let recent: DateTime<Utc> = "2026-11-20T11:30:00Z".parse().unwrap();
        let old: DateTime<Utc> = "2026-11-20T10:30:00Z".parse().unwrap();
        let future: DateTime<Utc> = "2026-11-20T12:30:00Z".parse().unwrap();
        assert_eq!(metric_time(Some(recent), now), recent.timestamp());
        assert_eq!(metric_time(Some(old), now), now.timestamp());
        assert_eq!(metric_time(Some(future), now), now.timestamp());
        assert_eq!(metric_time(None, now), now.timestamp());
        assert_eq!(event_time(Some(old), now), old.timestamp());
    }
}
