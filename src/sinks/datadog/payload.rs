//! Datadog request bodies: distribution points, count series and v1 events, built without I/O.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::change::Change;
use crate::sinks::notice::Notice;

/// Tags of a metric, shared by the metrics of one event (cloning them is a count increment).
pub type Tags = Arc<[String]>;

/// One distribution metric point: `/api/v1/distribution_points`.
///
/// Datadog aggregates distribution values server-side across every submitter, so counts are
/// sent as distributions too (one value of 1 per thing counted), as Datadog's own Lambda
/// libraries do: two invocations that count the same series in the same second add up, where
/// two `count` points of `/api/v2/series` would overwrite each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub metric: &'static str,
    pub points: Vec<(i64, Vec<f64>)>,
    pub tags: Tags,
    #[serde(rename = "type")]
    pub kind: &'static str,
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

/// Metric type `gauge` in `/api/v2/series`.
pub const GAUGE: u8 = 3;

/// One gauge series of `/api/v2/series`: a level at a time (the missed-run check's job ages),
/// where the last value sent for a timestamp is the one that counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub metric: &'static str,
    #[serde(rename = "type")]
    pub kind: u8,
    pub points: Vec<Point>,
    pub tags: Tags,
}

impl Series {
    pub fn gauge(metric: &'static str, timestamp: i64, value: f64, tags: impl Into<Tags>) -> Self {
        Self {
            metric,
            kind: GAUGE,
            points: vec![Point { timestamp, value }],
            tags: tags.into(),
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
    /// What a deployment changed: with an application key, the event goes as a change event
    /// (`/api/v2/events`) instead.
    #[serde(skip)]
    pub change: Option<Box<Change>>,
}

impl Event {
    /// The Datadog event telling `notice`: its title and plain text (cut to what Datadog keeps),
    /// its severity, grouped under `aggregation_key`; `tags` gain `source:ecs-notifier`.
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
            alert_type: notice.severity.alert_type(),
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

/// `text` cut to at most `max` characters.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((idx, _)) => text[..idx].to_string(),
        None => text.to_string(),
    }
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

    /// One submission for many events: points of the same metric and tags share a series (a
    /// gauge keeps its latest value per timestamp); distribution values are all kept.
    pub fn merge(parts: impl IntoIterator<Item = Submission>) -> Submission {
        let mut out = Submission::default();
        let mut distributions: HashMap<(&'static str, Tags), usize> = HashMap::new();
        let mut series: HashMap<(&'static str, u8, Tags), usize> = HashMap::new();
        for part in parts {
            for d in part.distributions {
                match distributions.get(&(d.metric, d.tags.clone())) {
                    Some(&i) => out.distributions[i].points.extend(d.points),
                    None => {
                        distributions.insert((d.metric, d.tags.clone()), out.distributions.len());
                        out.distributions.push(d);
                    }
                }
            }
            for s in part.series {
                let key = (s.metric, s.kind, s.tags.clone());
                match series.get(&key) {
                    Some(&i) => {
                        let target = &mut out.series[i];
                        for p in s.points {
                            match target
                                .points
                                .iter_mut()
                                .find(|q| q.timestamp == p.timestamp)
                            {
                                Some(q) => q.value = p.value,
                                None => target.points.push(p),
                            }
                        }
                    }
                    None => {
                        series.insert(key, out.series.len());
                        out.series.push(s);
                    }
                }
            }
            out.events.extend(part.events);
        }
        out
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

    #[test]
    fn merging_keeps_every_value_and_groups_points() {
        let tags = vec!["service:a".to_string()];
        let one = |ts, v| Submission {
            distributions: vec![
                Distribution::new("ecs.task.duration", ts, v, tags.clone()),
                Distribution::count("ecs.task.stops", ts, 1, tags.clone()),
            ],
            ..Submission::default()
        };
        let gauge = |v| Submission {
            series: vec![Series::gauge("ecs.job.overdue", 10, v, tags.clone())],
            ..Submission::default()
        };
        let merged = Submission::merge([
            one(10, 1.5),
            one(10, 2.5),
            one(11, 3.0),
            gauge(1.0),
            gauge(0.0),
        ]);
        assert_eq!(merged.distributions.len(), 2);
        assert_eq!(merged.distributions[0].points.len(), 3);
        let stopped = &merged.distributions[1];
        assert_eq!(
            stopped.points,
            vec![(10, vec![1.0]), (10, vec![1.0]), (11, vec![1.0])],
            "two stops in the same second stay two values"
        );
        assert_eq!(merged.values(), 6);
        assert_eq!(merged.series.len(), 1);
        assert_eq!(
            merged.series[0].points,
            vec![Point {
                timestamp: 10,
                value: 0.0
            }],
            "a gauge keeps its latest value"
        );
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
        let c = serde_json::to_value(Distribution::count(
            "ecs.task.launch_failures",
            10,
            2,
            vec![],
        ))
        .unwrap();
        assert_eq!(
            c,
            serde_json::json!({"metric":"ecs.task.launch_failures","points":[[10,[1.0,1.0]]],"tags":[],"type":"distribution"})
        );
        let s = serde_json::to_value(Series::gauge("ecs.job.overdue", 10, 1.0, vec![])).unwrap();
        assert_eq!(
            s,
            serde_json::json!({"metric":"ecs.job.overdue","type":3,"points":[{"timestamp":10,"value":1.0}],"tags":[]})
        );
    }
}
