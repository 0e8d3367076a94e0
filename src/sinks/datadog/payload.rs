//! The judge's measurements as Datadog request bodies (distribution points, v2 gauge series,
//! v1 events), and the merging of many events' measurements into one request per endpoint,
//! without I/O.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::judge::measure::{Distribution, Event, Point, Series, Submission, Tags};

/// Metric type `gauge` in `/api/v2/series`.
pub const GAUGE: u8 = 3;

/// A distribution as `/api/v1/distribution_points` takes it.
#[derive(Serialize)]
pub struct WireDistribution<'a> {
    metric: &'a str,
    points: &'a [(i64, Vec<f64>)],
    tags: &'a [String],
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A point of a v2 series.
#[derive(Serialize)]
struct WirePoint {
    timestamp: i64,
    value: f64,
}

/// A gauge as `/api/v2/series` takes it.
#[derive(Serialize)]
pub struct WireSeries<'a> {
    metric: &'a str,
    #[serde(rename = "type")]
    kind: u8,
    points: Vec<WirePoint>,
    tags: &'a [String],
}

/// An event as `/api/v1/events` takes it.
#[derive(Serialize)]
pub struct WireEvent<'a> {
    title: &'a str,
    text: &'a str,
    alert_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation_key: Option<&'a str>,
    date_happened: i64,
    tags: &'a [String],
}

pub fn distribution(d: &Distribution) -> WireDistribution<'_> {
    WireDistribution {
        metric: d.metric,
        points: &d.points,
        tags: &d.tags,
        kind: "distribution",
    }
}

pub fn series(s: &Series) -> WireSeries<'_> {
    WireSeries {
        metric: s.metric,
        kind: GAUGE,
        points: s
            .points
            .iter()
            .map(|p: &Point| WirePoint {
                timestamp: p.timestamp,
                value: p.value,
            })
            .collect(),
        tags: &s.tags,
    }
}

pub fn event(e: &Event) -> WireEvent<'_> {
    WireEvent {
        title: &e.title,
        text: &e.text,
        alert_type: e.alert_type,
        aggregation_key: e.aggregation_key.as_deref(),
        date_happened: e.date_happened,
        tags: &e.tags,
    }
}

/// `{"series": items}`, serialized straight from the borrowed items.
#[derive(Serialize)]
struct SeriesBody<'a, T> {
    series: &'a [T],
}

/// The request body of a series or distribution post: `{"series": items}`.
pub fn series_body<T: Serialize>(items: &[T]) -> Vec<u8> {
    serde_json::to_vec(&SeriesBody { series: items }).unwrap_or_default()
}

/// One event's measurements as the three requests would carry them (`render --json` shows
/// this): `{"distributions": […], "series": […], "events": […]}`.
pub fn submission_json(s: &Submission) -> Value {
    let distributions: Vec<WireDistribution> = s.distributions.iter().map(distribution).collect();
    let series: Vec<WireSeries> = s.series.iter().map(series).collect();
    let events: Vec<WireEvent> = s.events.iter().map(event).collect();
    serde_json::json!({
        "distributions": distributions,
        "series": series,
        "events": events,
    })
}

/// One submission for many events: points of the same metric and tags share a series (a gauge
/// keeps its latest value per timestamp); distribution values are all kept.
pub fn merge(parts: impl IntoIterator<Item = Submission>) -> Submission {
    let mut out = Submission::default();
    let mut distributions: HashMap<(&'static str, Tags), usize> = HashMap::new();
    let mut gauges: HashMap<(&'static str, Tags), usize> = HashMap::new();
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
            let key = (s.metric, s.tags.clone());
            match gauges.get(&key) {
                Some(&i) => keep_latest(&mut out.series[i], s.points),
                None => {
                    gauges.insert(key, out.series.len());
                    out.series.push(s);
                }
            }
        }
        out.events.extend(part.events);
    }
    out
}

/// A gauge's points with `points` added: the later value of a timestamp wins.
fn keep_latest(target: &mut Series, points: Vec<Point>) {
    for p in points {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let merged = merge([
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
        let d = serde_json::to_value(distribution(&Distribution::new(
            "ecs.task.duration",
            10,
            1.5,
            vec!["a:b".into()],
        )))
        .unwrap();
        assert_eq!(
            d,
            serde_json::json!({"metric":"ecs.task.duration","points":[[10,[1.5]]],"tags":["a:b"],"type":"distribution"})
        );
        let c = serde_json::to_value(distribution(&Distribution::count(
            "ecs.task.launch_failures",
            10,
            2,
            vec![],
        )))
        .unwrap();
        assert_eq!(
            c,
            serde_json::json!({"metric":"ecs.task.launch_failures","points":[[10,[1.0,1.0]]],"tags":[],"type":"distribution"})
        );
        let s = serde_json::to_value(series(&Series::gauge("ecs.job.overdue", 10, 1.0, vec![])))
            .unwrap();
        assert_eq!(
            s,
            serde_json::json!({"metric":"ecs.job.overdue","type":3,"points":[{"timestamp":10,"value":1.0}],"tags":[]})
        );
    }
}
