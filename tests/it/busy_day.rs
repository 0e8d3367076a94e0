//! A generated day of a busy account (seeded) through one `Notifier` on loopback Slack and Datadog: each failure told once, no alert for churn, one count per stopped task.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::MockServer;

mod day;

use day::{Day, Stop, Stopped};

/// The day's seed: the same events, in the same order, every run.
const SEED: u64 = 0x0b05_da7e_2026_1119;

/// What the sinks got.
#[derive(Debug, Default)]
struct Got {
    /// Each Slack message's text: its `text` and every string of its blocks.
    slack: Vec<String>,
    /// `ecs.task.stops` values by their `result` tag.
    stops: BTreeMap<String, f64>,
    /// `ecs.task.duration` values.
    durations: usize,
    /// Bodies posted to `/api/v1/events`.
    dd_events: Vec<Value>,
    /// Requests to any other Datadog path.
    dd_other: Vec<String>,
}

impl Got {
    async fn read(slack: &MockServer, datadog: &MockServer) -> Got {
        let mut got = Got {
            slack: support::requests(slack)
                .await
                .iter()
                .map(|r| texts(&serde_json::from_slice(&r.body).unwrap_or(Value::Null)))
                .collect(),
            ..Got::default()
        };
        for r in support::requests(datadog).await {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            match r.url.path() {
                "/api/v1/distribution_points" => got.add_distributions(&body),
                "/api/v1/events" => got.dd_events.push(body),
                other => got.dd_other.push(other.to_string()),
            }
        }
        got
    }

    fn add_distributions(&mut self, body: &Value) {
        for series in body["series"].as_array().into_iter().flatten() {
            let values: Vec<f64> = series["points"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p[1].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_f64())
                .collect();
            match series["metric"].as_str() {
                Some("ecs.task.stops") => {
                    let result = tag(series, "result").unwrap_or_default();
                    *self.stops.entry(result).or_default() += values.iter().sum::<f64>();
                }
                Some("ecs.task.duration") => self.durations += values.len(),
                _ => {}
            }
        }
    }

    fn stops_counted(&self) -> f64 {
        self.stops.values().sum()
    }
}

/// The value of tag `key` on a series.
fn tag(series: &Value, key: &str) -> Option<String> {
    let prefix = format!("{key}:");
    series["tags"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|t| t.strip_prefix(&prefix).map(str::to_owned))
}

/// Every string of a message body, joined.
fn texts(body: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut out);
    out.join("\n")
}

/// What a Slack message tells, by the tasks, deployments and names it mentions.
#[derive(Debug, PartialEq)]
enum Told {
    /// A failed task's own alert (its task id).
    Alone(Vec<String>),
    /// A message about several failures: the failed services or jobs it names (no task id).
    Grouped(BTreeSet<String>),
    /// A completed deployment's notice (its id).
    Deployment(String),
    /// A message naming a task that did not fail, or a deployment that is not a completion.
    Churn(String),
    /// Anything else.
    Unknown,
}

fn classify(text: &str, day: &Day) -> Told {
    let named: Vec<&Stopped> = day
        .stops
        .iter()
        .filter(|s| text.contains(&s.task_id))
        .collect();
    if let Some(churn) = named.iter().find(|s| !s.stop.is_failure()) {
        return Told::Churn(format!("task {} ({:?})", churn.task_id, churn.stop));
    }
    if !named.is_empty() {
        return Told::Alone(named.iter().map(|s| s.task_id.clone()).collect());
    }
    let completed: Vec<&(String, String)> = day
        .deployments
        .iter()
        .filter(|(service, id)| {
            text.contains(id.as_str()) && text.contains(&format!("Deployment completed: {service}"))
        })
        .collect();
    if let [(_, id)] = completed.as_slice() {
        return Told::Deployment(id.clone());
    }
    if let Some((_, id)) = day
        .deployments
        .iter()
        .find(|(_, id)| text.contains(id.as_str()))
    {
        return Told::Churn(format!("deployment {id}, not as its completion"));
    }
    let subjects: BTreeSet<String> = day
        .failures()
        .map(|s| s.subject.clone())
        .filter(|subject| text.contains(subject.as_str()))
        .collect();
    if subjects.is_empty() {
        Told::Unknown
    } else {
        Told::Grouped(subjects)
    }
}

/// The first line of a message, to show it.
fn headline(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The day through one `Notifier` with the default settings (flood control and incident
/// grouping on; enrichment off), on loopback Slack (a webhook) and Datadog, each event its own
/// invocation (EventBridge invoking the function) in delivery order; the verdicts the
/// invocations reported, and the wall time.
///
/// Not in SQS batches: the Slack sink keeps a process's posts to one webhook a second apart
/// across invocations, so replaying a day's 67 messages back to back waits about a minute.
async fn run(day: &Day) -> (Got, BTreeMap<String, usize>, Duration) {
    let (slack, datadog, notifier) = support::ok_sinks(&[]).await;
    let started = Instant::now();
    let mut verdicts = BTreeMap::new();
    for (i, event) in day.events.iter().enumerate() {
        let report = notifier
            .handle(event, support::soon(10), Some(support::ACCOUNT))
            .await
            .unwrap_or_else(|err| panic!("event {i} ({}): {err}", event["id"]));
        let verdict = match report.duplicate.is_empty() {
            true => report.verdict.as_str(),
            false => "duplicate",
        };
        *verdicts
            .entry(format!("{}/{verdict}", report.kind))
            .or_default() += 1;
    }
    let wall = started.elapsed();
    (Got::read(&slack, &datadog).await, verdicts, wall)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_day_tells_each_failure_once_and_counts_each_stop_once() {
    let day = Day::generate(SEED);
    day.assert_shape();
    let (got, verdicts, wall) = run(&day).await;
    let told: Vec<Told> = got.slack.iter().map(|t| classify(t, &day)).collect();
    print_figures(&day, &got, &told, &verdicts, wall);
    assert_only_failures_and_completions(&got, &told);
    assert_each_failure_told_once(&day, &got, &told);
    assert_each_deployment_told_once(&day, &got, &told);
    assert_each_stop_counted_once(&day, &got);
}

fn assert_only_failures_and_completions(got: &Got, told: &[Told]) {
    for (text, t) in got.slack.iter().zip(told) {
        assert!(
            !matches!(t, Told::Churn(_) | Told::Unknown),
            "a Slack message for no failure and no completed deployment ({t:?}): {}",
            headline(text)
        );
    }
}

fn assert_each_failure_told_once(day: &Day, got: &Got, told: &[Told]) {
    let mut alone_subjects = BTreeSet::new();
    for failure in day.failures() {
        let own: Vec<&String> = got
            .slack
            .iter()
            .zip(told)
            .filter(|(_, t)| matches!(t, Told::Alone(ids) if ids.contains(&failure.task_id)))
            .map(|(text, _)| text)
            .collect();
        let grouped = told
            .iter()
            .any(|t| matches!(t, Told::Grouped(s) if s.contains(&failure.subject)));
        assert!(
            own.len() == 1 || (own.is_empty() && grouped),
            "{failure:?}: told alone {} times, grouped: {grouped}",
            own.len()
        );
        if let [text] = own.as_slice() {
            assert!(
                text.contains(&failure.subject),
                "the alert of {failure:?} names it: {}",
                headline(text)
            );
            alone_subjects.insert(failure.subject.clone());
        }
    }
    // A grouped message tells failures that had no alert of their own, not again those that did.
    for t in told {
        if let Told::Grouped(subjects) = t {
            assert!(
                !subjects.is_subset(&alone_subjects),
                "a grouped message tells again what was told: {subjects:?}"
            );
        }
    }
}

/// A completed deployment posts a notice, one in progress none (docs/decisions.md); each state
/// change is a Datadog event.
fn assert_each_deployment_told_once(day: &Day, got: &Got, told: &[Told]) {
    for (service, id) in &day.deployments {
        let notices = told
            .iter()
            .filter(|t| matches!(t, Told::Deployment(d) if d == id))
            .count();
        assert_eq!(notices, 1, "the completed deployment {id} of {service}");
        let events = got
            .dd_events
            .iter()
            .filter(|e| texts(e).contains(id.as_str()))
            .count();
        assert_eq!(events, 2, "Datadog events of deployment {id} of {service}");
    }
    assert_eq!(got.dd_events.len(), 2 * day.deployments.len());
}

fn assert_each_stop_counted_once(day: &Day, got: &Got) {
    assert!(
        got.dd_other.is_empty(),
        "other Datadog requests: {:?}",
        got.dd_other
    );
    assert_eq!(
        got.stops_counted(),
        day.stops.len() as f64,
        "ecs.task.stops: one per distinct stopped task ({:?})",
        got.stops
    );
    let by_result = |result: &str| got.stops.get(result).copied().unwrap_or_default();
    assert_eq!(
        by_result("failure"),
        day.failures().count() as f64,
        "result:failure"
    );
    assert_eq!(
        by_result("success"),
        day.count(|s| s == Stop::Job) as f64,
        "result:success"
    );
    assert_eq!(
        got.durations,
        day.stops.iter().filter(|s| s.started).count(),
        "ecs.task.duration: one per distinct stopped task that started"
    );
}

fn print_figures(
    day: &Day,
    got: &Got,
    told: &[Told],
    verdicts: &BTreeMap<String, usize>,
    wall: Duration,
) {
    let kinds = |pick: fn(&Told) -> bool| told.iter().filter(|t| pick(t)).count();
    eprintln!("busy day, seed {SEED:#x}: {}", day.summary());
    eprintln!(
        "sent {} events, one invocation each, in {:.2} s ({:.2} ms an event)",
        day.events.len(),
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / day.events.len() as f64
    );
    eprintln!(
        "Slack: {} messages: {} failure alerts, {} grouped, {} deployment notices",
        got.slack.len(),
        kinds(|t| matches!(t, Told::Alone(_))),
        kinds(|t| matches!(t, Told::Grouped(_))),
        kinds(|t| matches!(t, Told::Deployment(_)))
    );
    for failure in day.failures() {
        let message = got
            .slack
            .iter()
            .zip(told)
            .find(|(_, t)| matches!(t, Told::Alone(ids) if ids.contains(&failure.task_id)))
            .map_or("(no alert of its own)", |(text, _)| headline(text));
        eprintln!(
            "  {} {:?} of {}: {} STOPPED deliveries{}: {message}",
            failure.at.format("%H:%M:%S"),
            failure.stop,
            failure.subject,
            failure.deliveries,
            if failure.update_first {
                ", the update first"
            } else {
                ""
            }
        );
    }
    for (text, t) in got.slack.iter().zip(told) {
        if matches!(t, Told::Grouped(_) | Told::Churn(_) | Told::Unknown) {
            eprintln!("  {t:?}: {}", headline(text));
        }
    }
    eprintln!(
        "Datadog: ecs.task.stops {} {:?} for {} distinct stopped tasks; ecs.task.duration {} \
         values for {} that started; {} events",
        got.stops_counted(),
        got.stops,
        day.stops.len(),
        got.durations,
        day.stops.iter().filter(|s| s.started).count(),
        got.dd_events.len()
    );
    eprintln!("verdicts reported: {verdicts:?}");
}
