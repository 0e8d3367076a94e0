//! Datadog request bodies: distribution points, count series and events, built without I/O.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One distribution metric point: `/api/v1/distribution_points`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub metric: &'static str,
    pub points: Vec<(i64, Vec<f64>)>,
    pub tags: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl Distribution {
    pub fn new(metric: &'static str, timestamp: i64, value: f64, tags: Vec<String>) -> Self {
        Self {
            metric,
            points: vec![(timestamp, vec![value])],
            tags,
            kind: "distribution",
        }
    }
}

/// A point of a v2 series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub timestamp: i64,
    pub value: f64,
}

/// Metric type `count` in `/api/v2/series`.
pub const COUNT: u8 = 1;

/// One series of `/api/v2/series`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub metric: &'static str,
    #[serde(rename = "type")]
    pub kind: u8,
    pub points: Vec<Point>,
    pub tags: Vec<String>,
}

impl Series {
    pub fn count(metric: &'static str, timestamp: i64, value: f64, tags: Vec<String>) -> Self {
        Self {
            metric,
            kind: COUNT,
            points: vec![Point { timestamp, value }],
            tags,
        }
    }
}

/// Longest event text Datadog keeps.
pub const EVENT_TEXT_MAX: usize = 4000;
/// Longest aggregation key.
pub const AGGREGATION_KEY_MAX: usize = 100;

/// An event of `/api/v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub title: String,
    pub text: String,
    pub alert_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation_key: Option<String>,
    pub date_happened: i64,
    pub tags: Vec<String>,
}

/// Everything one ECS event sends to Datadog.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Submission {
    pub distributions: Vec<Distribution>,
    pub series: Vec<Series>,
    pub events: Vec<Event>,
}

impl Submission {
    pub fn is_empty(&self) -> bool {
        self.distributions.is_empty() && self.series.is_empty() && self.events.is_empty()
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

    #[test]
    fn wire_shapes() {
        let d = serde_json::to_value(Distribution::new(
            "ecs.task.duration",
            10,
            1.5,
            vec!["a:b".into()],
        ))
        .unwrap();
        assert_eq!(
            d,
            serde_json::json!({"metric":"ecs.task.duration","points":[[10,[1.5]]],"tags":["a:b"],"type":"distribution"})
        );
        let s = serde_json::to_value(Series::count("ecs.task.stopped", 10, 1.0, vec![])).unwrap();
        assert_eq!(
            s,
            serde_json::json!({"metric":"ecs.task.stopped","type":1,"points":[{"timestamp":10,"value":1.0}],"tags":[]})
        );
    }
}
