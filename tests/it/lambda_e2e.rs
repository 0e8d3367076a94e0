//! End to end: the built `ecs-notifier` binary, run exactly as AWS Lambda runs a custom runtime,
//! against a Lambda Runtime API (2018-06-01) emulator served by this test on 127.0.0.1, with
//! Slack and Datadog replaced by wiremock servers.
//!
//! Every wait is bounded: a hang, a crash of the function or a missing result fails the test
//! with the function's captured output instead of blocking it.

use crate::support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use support::lambda::{expect_response, Lambda, Output, Reported};
use support::{
    clients, expectations, requests, samples, seed_cluster, seed_log_stream, seed_service,
    seed_task_definition, with_id, ContainerSeed, Moto,
};

const SLACK_PATH: &str = "/services/T000/B000/XXXXSECRET";
const DD_KEY: &str = "dd-test-key-SECRET";
/// Strings that must never reach the logs or the Runtime API.
const SECRETS: [&str; 2] = ["XXXXSECRET", DD_KEY];

const DD_SERIES: &str = "/api/v2/series";
const DD_DISTRIBUTIONS: &str = "/api/v1/distribution_points";
const DD_EVENTS: &str = "/api/v1/events";

// ------------------------------------------------------------------------------------------
// The function under test (the Runtime API emulator and `Lambda` are in tests/support/lambda.rs)
// ------------------------------------------------------------------------------------------

impl Lambda {
    /// Serves the Runtime API and starts the binary against it, with enrichment off.
    async fn start(slack: &MockServer, datadog: &MockServer) -> Self {
        Self::start_with_env(slack, datadog, &[("ENRICHMENT", "off")]).await
    }

    /// `start` with `extra_env` added to (or overriding) the function's environment, which
    /// otherwise holds only what Lambda sets and the sink settings: nothing of the host's.
    async fn start_with_env(
        slack: &MockServer,
        datadog: &MockServer,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let webhook = format!("{}{SLACK_PATH}", slack.uri());
        let datadog = datadog.uri();
        let mut env = vec![
            ("SLACK_WEBHOOK_URL", webhook.as_str()),
            ("DD_API_KEY", DD_KEY),
            ("DD_API_URL", datadog.as_str()),
            ("HTTP_TIMEOUT_MS", "2000"),
            // These tests send the same failure again on purpose (redeliveries, new versions);
            // flood control, which would hold those back, has tests of its own.
            ("FLOOD_WINDOW_SECONDS", "0"),
        ];
        env.extend_from_slice(extra_env);
        Lambda::spawn(&env).await
    }
}

// ------------------------------------------------------------------------------------------
// Slack and Datadog mocks
// ------------------------------------------------------------------------------------------

async fn mount_slack(server: &MockServer, status: u16) {
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(
            ResponseTemplate::new(status).set_body_string(if status == 200 {
                "ok"
            } else {
                "internal_error"
            }),
        )
        .mount(server)
        .await;
}

/// Mounts the three Datadog endpoints; `failing` answer 500.
async fn mount_datadog(server: &MockServer, failing: &[&str]) {
    for endpoint in [DD_SERIES, DD_DISTRIBUTIONS, DD_EVENTS] {
        let response = if failing.contains(&endpoint) {
            ResponseTemplate::new(500).set_body_string(r#"{"errors":["Internal Server Error"]}"#)
        } else {
            ResponseTemplate::new(202).set_body_string("{}")
        };
        Mock::given(method("POST"))
            .and(path(endpoint))
            .and(header("DD-API-KEY", DD_KEY))
            .respond_with(response)
            .mount(server)
            .await;
    }
}

/// Slack webhook POSTs.
fn slack_posts(all: &[Request]) -> Vec<Request> {
    all.iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == SLACK_PATH)
        .cloned()
        .collect()
}

/// Authenticated Datadog POSTs to `endpoint`.
fn dd_posts(all: &[Request], endpoint: &str) -> Vec<Request> {
    all.iter()
        .filter(|r| {
            r.method.as_str() == "POST"
                && r.url.path() == endpoint
                && r.headers.get("dd-api-key").and_then(|v| v.to_str().ok()) == Some(DD_KEY)
        })
        .cloned()
        .collect()
}

/// Every request a mock got went where it should.
fn assert_only_known_requests(all: &[Request], known: &[&str], api_key: bool) {
    for r in all {
        let keyed = r.headers.get("dd-api-key").and_then(|v| v.to_str().ok()) == Some(DD_KEY);
        assert!(
            r.method.as_str() == "POST" && known.contains(&r.url.path()) && (keyed || !api_key),
            "unexpected request {} {} (api key sent: {keyed})",
            r.method,
            r.url.path()
        );
    }
}

/// What each sink received, as request lists (in arrival order).
struct Seen {
    slack: Vec<Request>,
    series: Vec<Request>,
    distributions: Vec<Request>,
    events: Vec<Request>,
}

impl Seen {
    async fn now(slack: &MockServer, datadog: &MockServer) -> Self {
        let s = requests(slack).await;
        let d = requests(datadog).await;
        Self {
            slack: slack_posts(&s),
            series: dd_posts(&d, DD_SERIES),
            distributions: dd_posts(&d, DD_DISTRIBUTIONS),
            events: dd_posts(&d, DD_EVENTS),
        }
    }

    /// Requests that arrived after `before`.
    fn since(&self, before: &Seen) -> Seen {
        let tail = |now: &[Request], then: &[Request]| now[then.len()..].to_vec();
        Seen {
            slack: tail(&self.slack, &before.slack),
            series: tail(&self.series, &before.series),
            distributions: tail(&self.distributions, &before.distributions),
            events: tail(&self.events, &before.events),
        }
    }

    fn counts(&self) -> [usize; 4] {
        [
            self.slack.len(),
            self.series.len(),
            self.distributions.len(),
            self.events.len(),
        ]
    }
}

fn json_body(what: &str, r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|err| {
        panic!(
            "{what}: body is not JSON ({err}): {}",
            String::from_utf8_lossy(&r.body)
        )
    })
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out)
        }),
        _ => {}
    }
}

/// A Slack post is `{text, blocks}` JSON and carries no live mention or foreign link.
fn check_slack_body(name: &str, r: &Request) {
    check_slack_body_mentioning(name, r, &[]);
}

/// `check_slack_body`, with `mentions` (those the test's routing tags ask for) allowed.
fn check_slack_body_mentioning(name: &str, r: &Request, mentions: &[&str]) {
    let raw = String::from_utf8_lossy(&r.body).into_owned();
    let body = json_body(&format!("{name}: Slack"), r);
    assert!(
        body["text"].as_str().is_some_and(|t| !t.trim().is_empty()),
        "{name}: Slack body has no `text`: {raw}"
    );
    assert!(
        body["blocks"].as_array().is_some_and(|b| !b.is_empty()),
        "{name}: Slack body has no `blocks`: {raw}"
    );
    // As Slack reads it: every block within Block Kit's limits, no mention but those the test
    // asked for and no link but the console's.
    let problems = support::block_kit::problems(&body, mentions);
    assert!(problems.is_empty(), "{name}: {problems:?}: {raw}");
}

// ------------------------------------------------------------------------------------------
// Samples and what they must produce
// ------------------------------------------------------------------------------------------

/// What one sample must make the sinks receive.
struct Want {
    slack: bool,
    /// One `ecs.task.stops` value of 1 (a stopped task).
    stopped: bool,
    /// Tasks a refused launch or a dead letter did not launch (`ecs.task.launch_failures`).
    launch_failed: Option<f64>,
    /// The duration metrics and values, when any duration is known.
    durations: BTreeMap<&'static str, f64>,
    /// Other kinds' one count (`ecs.deployment.hooks`, `ecs.instance.health_changes`, …).
    counted: Option<String>,
    event_alert_type: Option<String>,
}

impl Want {
    /// Whether the event's metrics go to Datadog (all counts are distributions).
    fn distributions(&self) -> bool {
        self.stopped
            || self.launch_failed.is_some()
            || !self.durations.is_empty()
            || self.counted.is_some()
    }
}

fn want(name: &str, expected: &Value) -> Want {
    let kind = expected["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: expectation without `kind`"));
    let stopped = kind == "task_stopped";
    let mut durations = BTreeMap::new();
    if stopped {
        for (field, metric) in [
            ("run_seconds", "ecs.task.duration"),
            ("startup_seconds", "ecs.task.startup_duration"),
            ("pull_seconds", "ecs.task.pull_duration"),
        ] {
            if let Some(v) = expected[field].as_f64() {
                durations.insert(metric, v);
            }
        }
    }
    Want {
        // A reply that has no thread to go in (webhook mode) is not posted.
        slack: expected["slack"].as_bool() == Some(true) && expected["reply_only"] != true,
        stopped,
        launch_failed: expected["launch_failed"].as_f64(),
        durations,
        counted: expected["metric"].as_str().map(String::from),
        event_alert_type: match kind {
            "deployment" => Some(
                expected["alert_type"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: deployment without alert_type"))
                    .to_string(),
            ),
            "retirement" => Some("warning".to_string()),
            _ => expected["dd_event"].as_str().map(String::from),
        },
    }
}

/// The tags of one series of a Datadog body.
fn tags_of(series: &Value) -> Vec<&str> {
    series["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Checks what one invocation of sample `name` delivered against what it must.
/// `mentions`: those the test's routing tags ask for (none for the samples alone).
fn check_delivery(name: &str, expected: &Value, want: &Want, got: &Seen, mentions: &[&str]) {
    assert_eq!(
        got.slack.len(),
        usize::from(want.slack),
        "{name}: Slack posts (expected slack: {})",
        want.slack
    );
    for r in &got.slack {
        check_slack_body_mentioning(name, r, mentions);
        // What the expectations say the alert says, as the posted body says it.
        let body = json_body(&format!("{name}: Slack"), r);
        let mut texts = Vec::new();
        strings(&body, &mut texts);
        let text = texts.join("\n");
        for says in expected["says"].as_array().into_iter().flatten() {
            let says =
                ecs_notifier::sinks::slack::mrkdwn::escape(says.as_str().unwrap_or_default());
            assert!(
                text.contains(&says),
                "{name}: the Slack post lacks `{says}`:\n{text}"
            );
        }
    }
    assert_eq!(
        got.series.len(),
        0,
        "{name}: {DD_SERIES} posts (counts go as distributions)"
    );
    assert_eq!(
        got.distributions.len(),
        usize::from(want.distributions()),
        "{name}: {DD_DISTRIBUTIONS} posts (stopped: {}, launch_failed: {:?}, durations: {:?})",
        want.stopped,
        want.launch_failed,
        want.durations
    );
    for r in &got.distributions {
        let body = json_body(&format!("{name}: distributions"), r);
        let mut seen: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in body["series"].as_array().cloned().unwrap_or_default() {
            assert_eq!(s["type"], "distribution", "{name}: {body}");
            let metric = s["metric"].as_str().unwrap_or_default().to_string();
            let values: Vec<f64> = s["points"][0][1]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_f64)
                .collect();
            tags.insert(
                metric.clone(),
                tags_of(&s).into_iter().map(String::from).collect(),
            );
            assert!(
                seen.insert(metric.clone(), values).is_none(),
                "{name}: {metric} sent twice: {body}"
            );
        }
        // A stop counts one, tagged with its result, cause and trigger.
        match seen.get("ecs.task.stops") {
            Some(values) => {
                assert!(want.stopped, "{name}: a stop counted: {body}");
                assert_eq!(
                    values,
                    &[1.0],
                    "{name}: ecs.task.stops counts one task: {body}"
                );
                for key in ["result", "cause", "trigger"] {
                    let tag = format!("{key}:{}", expected[key].as_str().unwrap_or_default());
                    assert!(
                        tags["ecs.task.stops"].contains(&tag),
                        "{name}: ecs.task.stops lacks tag {tag}: {body}"
                    );
                }
                // And the tags its expectation lists (the catalogue's reason among them).
                for tag in expected["tags"].as_array().into_iter().flatten() {
                    let tag = tag.as_str().unwrap_or_default().to_string();
                    assert!(
                        tags["ecs.task.stops"].contains(&tag),
                        "{name}: ecs.task.stops lacks tag {tag}: {body}"
                    );
                }
            }
            None => assert!(!want.stopped, "{name}: no ecs.task.stops: {body}"),
        }
        // A launch that failed: counted by launcher and cause, one value per task.
        match (seen.get("ecs.task.launch_failures"), want.launch_failed) {
            (Some(values), Some(count)) => {
                assert_eq!(
                    values.len() as f64,
                    count,
                    "{name}: tasks not launched: {body}"
                );
                assert!(values.iter().all(|v| *v == 1.0), "{name}: {body}");
                let launcher = format!(
                    "launcher:{}",
                    expected["launched_by"].as_str().unwrap_or("?")
                );
                assert!(
                    tags["ecs.task.launch_failures"].contains(&launcher),
                    "{name}: launch_failed lacks tag {launcher}: {body}"
                );
            }
            (None, None) => {}
            (got, want) => panic!("{name}: launch_failed {got:?}, expected {want:?}: {body}"),
        }
        // Another kind's one count, with the tags the expectation lists.
        match (
            &want.counted,
            seen.get(want.counted.as_deref().unwrap_or("-")),
        ) {
            (Some(metric), Some(values)) => {
                assert_eq!(values, &[1.0], "{name}: {metric} counts one: {body}");
                for tag in expected["tags"].as_array().into_iter().flatten() {
                    let tag = tag.as_str().unwrap_or_default().to_string();
                    assert!(
                        tags[metric].contains(&tag),
                        "{name}: {metric} lacks tag {tag}: {body}"
                    );
                }
            }
            (None, _) => {}
            (Some(metric), None) => panic!("{name}: no {metric}: {body}"),
        }
        let durations: BTreeMap<&str, f64> = seen
            .iter()
            .filter(|(m, _)| {
                m.as_str() != "ecs.task.stops"
                    && m.as_str() != "ecs.task.launch_failures"
                    && Some(m.as_str()) != want.counted.as_deref()
            })
            .map(|(m, v)| {
                assert_eq!(v.len(), 1, "{name}: one {m} value: {body}");
                (m.as_str(), v[0])
            })
            .collect();
        assert_eq!(
            durations.keys().collect::<Vec<_>>(),
            want.durations.keys().collect::<Vec<_>>(),
            "{name}: distribution metrics: {body}"
        );
        for (metric, value) in &want.durations {
            let got = durations[metric];
            assert!(
                (got - value).abs() < 0.001,
                "{name}: {metric} is {got}, expected {value}"
            );
        }
    }

    assert_eq!(
        got.events.len(),
        usize::from(want.event_alert_type.is_some()),
        "{name}: {DD_EVENTS} posts"
    );
    for r in &got.events {
        let body = json_body(&format!("{name}: Datadog event"), r);
        assert_eq!(
            body["alert_type"].as_str(),
            want.event_alert_type.as_deref(),
            "{name}: Datadog event alert_type: {body}"
        );
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: Datadog event without title: {body}"
        );
    }
}

fn assert_delivered_nothing(name: &str, got: &Seen) {
    assert_eq!(
        got.counts(),
        [0, 0, 0, 0],
        "{name}: expected no Slack post and no Datadog request (slack, series, distributions, events)"
    );
}

// ------------------------------------------------------------------------------------------
// Logs
// ------------------------------------------------------------------------------------------

/// The function logs one JSON line with `event_id` per invocation, in order, and never a
/// secret; nothing at all may leak a secret.
fn check_output(output: &Output, extra_texts: &[String]) {
    let everything = || {
        output
            .stdout
            .iter()
            .chain(&output.stderr)
            .chain(extra_texts)
    };
    for line in everything() {
        for secret in SECRETS {
            assert!(!line.contains(secret), "a secret ({secret}) leaked: {line}");
        }
    }

    // (event_id, requestId of the enclosing span if the line names one)
    let mut logged: Vec<(String, Option<String>)> = Vec::new();
    for line in output.stdout.iter().chain(&output.stderr) {
        let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = record.get("fields").unwrap_or(&Value::Null);
        let event_id = fields
            .get("event_id")
            .or_else(|| record.get("event_id"))
            .and_then(Value::as_str);
        if let Some(event_id) = event_id {
            let request_id = record
                .get("span")
                .and_then(|s| s.get("requestId"))
                .and_then(Value::as_str)
                .map(str::to_string);
            logged.push((event_id.to_string(), request_id));
        }
    }
    let all = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            output.stdout.join("\n"),
            output.stderr.join("\n")
        )
    };
    assert_eq!(
        logged.len(),
        output.invocations.len(),
        "one JSON log line with event_id per invocation; got {logged:?}\n{}",
        all()
    );
    for ((request_id, event_id), (logged_event, logged_request)) in
        output.invocations.iter().zip(&logged)
    {
        assert_eq!(
            logged_event,
            event_id,
            "log line of invocation {request_id} names the wrong event\n{}",
            all()
        );
        if let Some(logged_request) = logged_request {
            assert_eq!(
                logged_request, request_id,
                "log line for event {event_id} is in the span of another request"
            );
        }
    }
}

/// The fields of the `event handled` log line of `event_id` (the line `check_output` found).
fn handled_fields(output: &Output, event_id: &str) -> serde_json::Map<String, Value> {
    let mut found = Vec::new();
    for line in output.stdout.iter().chain(&output.stderr) {
        let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = match record.get("fields") {
            Some(Value::Object(fields)) => fields.clone(),
            _ => record.clone(),
        };
        if fields.get("event_id").and_then(Value::as_str) == Some(event_id)
            && fields.get("message").and_then(Value::as_str) == Some("event handled")
        {
            found.push(fields);
        }
    }
    assert_eq!(
        found.len(),
        1,
        "one `event handled` log line for {event_id}:\n{}\n{}",
        output.stdout.join("\n"),
        output.stderr.join("\n")
    );
    found.remove(0)
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

/// Every sample, a duplicate delivery, inputs that are not ECS events, then a fresh event: each
/// invocation succeeds and the sinks receive exactly what `tests/expected/events.json` says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_serves_every_sample_through_the_runtime_api() {
    let started = std::time::Instant::now();
    let expected = expectations();
    let samples = samples();
    let names: Vec<&String> = samples.iter().map(|(n, _)| n).collect();
    let mut listed: Vec<&String> = expected.keys().collect();
    listed.sort();
    assert_eq!(
        names, listed,
        "every sample has expectations and vice versa"
    );

    let slack = MockServer::start().await;
    mount_slack(&slack, 200).await;
    let datadog = MockServer::start().await;
    mount_datadog(&datadog, &[]).await;
    let mut lambda = Lambda::start(&slack, &datadog).await;
    let mut texts = Vec::new();

    // 1. Every sample, in file-name order.
    for (i, (name, event)) in samples.iter().enumerate() {
        // The id the function logs: the event's, or a dead letter's (an SQS record).
        let ids = ecs_notifier::source::events(event);
        let event_id = ids[0].0.as_str();
        assert!(!event_id.is_empty(), "{name}: samples have an id");
        let want = want(name, &expected[name]);
        let before = Seen::now(&slack, &datadog).await;
        let reported = lambda
            .invoke(&format!("req-sample-{i:02}"), event, event_id)
            .await;
        let report = expect_response(name, &reported);
        if event.get("Records").is_some() {
            assert_eq!(
                report,
                json!({"batchItemFailures": []}),
                "{name}: every record delivered"
            );
        } else {
            assert_eq!(
                report["event_id"],
                json!(event_id),
                "{name}: response names the event"
            );
        }
        texts.push(format!("{reported:?}"));
        let got = Seen::now(&slack, &datadog).await.since(&before);
        match expected[name]["update_of"].as_str() {
            // A later STOPPED update of a task an earlier sample stopped: one stop, one alert,
            // one count, so nothing at all.
            Some(original) => {
                assert!(
                    original < name.as_str() && expected.contains_key(original),
                    "{name}: updates {original}, which must come first"
                );
                assert_eq!(report["verdict"], "superseded", "{name}: {report}");
                assert!(
                    report["cause"].as_str().is_some_and(
                        |c| c.starts_with("superseded: task already stopped at version ")
                    ),
                    "{name}: {report}"
                );
                assert_delivered_nothing(name, &got);
            }
            None => check_delivery(name, &expected[name], &want, &got, &[]),
        }
    }

    // 2. Duplicate delivery of a sample that posts everywhere: same body, nothing sent again.
    let (dup_name, dup_event) = samples
        .iter()
        .find(|(n, _)| n == "task-oom.json")
        .expect("task-oom.json sample");
    let dup_id = dup_event["id"].as_str().expect("id");
    let before = Seen::now(&slack, &datadog).await;
    let reported = lambda.invoke("req-duplicate", dup_event, dup_id).await;
    expect_response(dup_name, &reported);
    texts.push(format!("{reported:?}"));
    assert_delivered_nothing(
        &format!("{dup_name} delivered twice"),
        &Seen::now(&slack, &datadog).await.since(&before),
    );

    // The same task stop redelivered under a new event id is a duplicate as well.
    let redelivered = with_id(dup_event, "0b5c2f6e-1111-4c8e-9a55-redelivered01");
    let reported = lambda
        .invoke(
            "req-redelivery",
            &redelivered,
            "0b5c2f6e-1111-4c8e-9a55-redelivered01",
        )
        .await;
    expect_response("redelivery with a new event id", &reported);
    texts.push(format!("{reported:?}"));
    assert_delivered_nothing(
        &format!("{dup_name} redelivered with a new event id"),
        &Seen::now(&slack, &datadog).await.since(&before),
    );

    // 3. Inputs that are not ECS events this function handles: skipped, not failed.
    let bad_inputs = [
        (
            "an EC2 event",
            json!({"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}),
            "",
        ),
        ("a payload that is not an object", json!([1, 2]), ""),
        (
            "a detail that is not an object",
            json!({"version":"0","id":"bad-detail-0001","source":"aws.ecs",
                   "detail-type":"ECS Task State Change","account":"123456789012",
                   "region":"eu-west-1","time":"2026-11-22T10:00:00Z","resources":[],
                   "detail":"oops"}),
            "bad-detail-0001",
        ),
    ];
    for (i, (what, payload, log_id)) in bad_inputs.iter().enumerate() {
        let before = Seen::now(&slack, &datadog).await;
        let reported = lambda
            .invoke(&format!("req-bad-{i}"), payload, log_id)
            .await;
        expect_response(what, &reported);
        texts.push(format!("{reported:?}"));
        assert_delivered_nothing(what, &Seen::now(&slack, &datadog).await.since(&before));
        lambda.assert_alive(&format!("after {what}"));
    }

    // Totals so far are exactly what the expectations list.
    let count = |pred: &dyn Fn(&Value) -> bool| {
        expected
            .values()
            .filter(|v| v.get("update_of").is_none() && pred(v))
            .count()
    };
    let slack_true = count(&|v| v["slack"].as_bool() == Some(true) && v["reply_only"] != true);
    let counted = count(&|v| {
        v["kind"] == "task_stopped" || v["launch_failed"].is_number() || v["metric"].is_string()
    });
    let datadog_events = count(&|v| {
        v["kind"] == "deployment" || v["kind"] == "retirement" || v["dd_event"].is_string()
    });
    let totals = Seen::now(&slack, &datadog).await;
    assert_eq!(
        totals.slack.len(),
        slack_true,
        "Slack posts == samples with slack: true (updates of a stop excepted)"
    );
    assert_eq!(totals.series.len(), 0, "no series posts for events");
    assert_eq!(
        totals.distributions.len(),
        counted,
        "distribution posts == samples with a count (stops, launch failures, other kinds)"
    );
    assert_eq!(
        totals.events.len(),
        datadog_events,
        "Datadog events == deployment, retirement and dd_event samples"
    );

    // 4. The process still serves a new, valid event after the bad ones.
    let mut fresh = with_id(dup_event, "7d0f7a51-2222-4f0e-8c41-freshevent01");
    fresh["detail"]["taskArn"] =
        json!("arn:aws:ecs:eu-west-1:123456789012:task/prod/00000000000000000000000000f2e5e1");
    let before = Seen::now(&slack, &datadog).await;
    let reported = lambda
        .invoke(
            "req-after-bad",
            &fresh,
            "7d0f7a51-2222-4f0e-8c41-freshevent01",
        )
        .await;
    expect_response("a valid event after the bad ones", &reported);
    texts.push(format!("{reported:?}"));
    check_delivery(
        "a valid event after the bad ones",
        &expected[dup_name.as_str()],
        &want(dup_name, &expected[dup_name.as_str()]),
        &Seen::now(&slack, &datadog).await.since(&before),
        &[],
    );

    assert_only_known_requests(&requests(&slack).await, &[SLACK_PATH], false);
    assert_only_known_requests(
        &requests(&datadog).await,
        &[DD_SERIES, DD_DISTRIBUTIONS, DD_EVENTS],
        true,
    );
    let output = lambda.stop().await;
    check_output(&output, &texts);
    // The job whose log router was killed at shutdown: a success, and its log line says which
    // sidecar ignores SIGTERM.
    let sidecar = output
        .stdout
        .iter()
        .chain(&output.stderr)
        .find(|l| l.contains("completed_sidecar_killed"))
        .expect("the sidecar sample's log line");
    assert!(
        sidecar.contains("sidecar log_router ignores SIGTERM and was killed (137) at shutdown"),
        "{sidecar}"
    );
    eprintln!(
        "lambda e2e (samples): {} invocations in {:.1?}",
        output.invocations.len(),
        started.elapsed()
    );
}

/// An event with fields of odd shapes (an exit code as a string, times in epoch seconds and
/// milliseconds, an element that is no object, unknown fields) is alerted on for what it means,
/// and its log line (and the invocation's result) says what decoding coerced or dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_logs_what_decoding_coerced_or_dropped() {
    let slack = MockServer::start().await;
    mount_slack(&slack, 200).await;
    let datadog = MockServer::start().await;
    mount_datadog(&datadog, &[]).await;
    let mut lambda = Lambda::start(&slack, &datadog).await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/input/task-exit-lenient.json"
    );
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let id = event["id"].as_str().expect("id");
    let reported = lambda.invoke("req-lenient", &event, id).await;
    let report = expect_response("the lenient event", &reported);
    assert_eq!(report["reason"], "exit_1", "{report}");
    let warnings = [
        r#"detail.containers[0].exitCode: "1" read as 1"#,
        r#"detail.containers[2]: not an object ("log_router_v2"), dropped"#,
        "detail.pullStoppedAt: epoch milliseconds 1795140033592 read as 2026-11-20T02:00:33.592Z",
        "detail.stoppedAt: epoch seconds 1795140470 read as 2026-11-20T02:07:50Z",
    ];
    assert_eq!(report["decode_warnings"], json!(warnings), "{report}");
    let posts = slack_posts(&requests(&slack).await);
    assert_eq!(posts.len(), 1, "one alert");
    let body = String::from_utf8_lossy(&posts[0].body).into_owned();
    assert!(body.contains("`app` exited 1"), "{body}");
    assert!(body.contains("stopped 2026-11-20 02:07:50 UTC"), "{body}");

    let output = lambda.stop().await;
    check_output(&output, &[format!("{reported:?}")]);
    let fields = handled_fields(&output, id);
    let logged = fields["decode_warnings"]
        .as_str()
        .expect("decode_warnings logged");
    assert_eq!(logged, format!("{warnings:?}"), "{fields:?}");
}

/// A sink that fails makes the invocation fail (so Lambda retries it); the retry of the same
/// event delivers only what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_fails_on_sink_errors_and_retries_without_doubling() {
    let started = std::time::Instant::now();
    let expected = expectations();
    let samples = samples();
    let sample = |name: &str| -> (Value, Value, Want) {
        let (_, event) = samples
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} sample"));
        (
            event.clone(),
            expected[name].clone(),
            want(name, &expected[name]),
        )
    };

    let slack = MockServer::start().await;
    mount_slack(&slack, 500).await;
    let datadog = MockServer::start().await;
    mount_datadog(&datadog, &[]).await;
    let mut lambda = Lambda::start(&slack, &datadog).await;
    let mut texts = Vec::new();

    // Slack down: the invocation fails; Datadog still gets the metrics.
    let name = "task-oom.json";
    let (event, exp, want_oom) = sample(name);
    let event_id = event["id"].as_str().expect("id").to_string();
    assert!(
        want_oom.slack && want_oom.distributions(),
        "{name} posts to Slack and Datadog"
    );
    let reported = lambda.invoke("req-retry-1", &event, &event_id).await;
    texts.push(format!("{reported:?}"));
    match &reported {
        Reported::Error { body, .. } => {
            let diagnostic: Value = serde_json::from_str(body)
                .unwrap_or_else(|err| panic!("error body is not JSON ({err}): {body}"));
            assert!(
                diagnostic["errorType"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "error names a type: {body}"
            );
            assert!(
                diagnostic["errorMessage"]
                    .as_str()
                    .is_some_and(|m| m.contains("slack")),
                "error says Slack failed: {body}"
            );
        }
        other => panic!("{name} with Slack answering 500 must fail the invocation, got {other:?}"),
    }
    let first = Seen::now(&slack, &datadog).await;
    assert!(!first.slack.is_empty(), "{name}: Slack was tried");
    for r in &first.slack {
        check_slack_body(name, r);
    }
    assert_eq!(
        first.distributions.len(),
        1,
        "{name}: metrics sent although Slack failed"
    );
    lambda.assert_alive("after a failed invocation");

    // Slack is back; Lambda retries the same event (same request id, same body).
    slack.reset().await;
    mount_slack(&slack, 200).await;
    let reported = lambda.invoke("req-retry-1", &event, &event_id).await;
    expect_response(&format!("{name} retried"), &reported);
    texts.push(format!("{reported:?}"));
    let second = Seen::now(&slack, &datadog).await;
    assert_eq!(
        second.slack.len(),
        1,
        "{name}: the retry posts to Slack once"
    );
    check_slack_body(name, &second.slack[0]);
    assert_eq!(
        second.distributions.len(),
        first.distributions.len(),
        "{name}: the retry does not send the metrics again"
    );
    assert_eq!(second.events.len(), 0, "{name}: no Datadog event");
    let merged = Seen {
        slack: second.slack.clone(),
        series: second.series.clone(),
        distributions: second.distributions.clone(),
        events: Vec::new(),
    };
    check_delivery(name, &exp, &want_oom, &merged, &[]);

    // Datadog's metrics intake down: the invocation fails after Slack posted; the retry only
    // sends the metrics.
    let name = "task-exit-nonzero.json";
    let (event, exp_nonzero, want_nonzero) = sample(name);
    let event_id = event["id"].as_str().expect("id").to_string();
    assert!(
        want_nonzero.slack && want_nonzero.distributions(),
        "{name} posts to Slack and Datadog"
    );
    let before = Seen::now(&slack, &datadog).await;
    datadog.reset().await;
    mount_datadog(&datadog, &[DD_DISTRIBUTIONS]).await;
    let reported = lambda.invoke("req-retry-2", &event, &event_id).await;
    texts.push(format!("{reported:?}"));
    assert!(
        matches!(&reported, Reported::Error { body, .. } if body.contains("datadog.distributions")),
        "{name} with the distribution endpoint answering 500 must fail the invocation, got {reported:?}"
    );
    let failed = Seen::now(&slack, &datadog).await;
    let slack_failed_phase = failed.since(&before).slack;
    assert_eq!(slack_failed_phase.len(), 1, "{name}: Slack posted once");
    check_slack_body(name, &slack_failed_phase[0]);
    assert!(
        !failed.distributions.is_empty(),
        "{name}: the metrics were tried"
    );
    datadog.reset().await;
    mount_datadog(&datadog, &[]).await;
    let before = Seen::now(&slack, &datadog).await;
    let reported = lambda.invoke("req-retry-2", &event, &event_id).await;
    expect_response(&format!("{name} retried"), &reported);
    texts.push(format!("{reported:?}"));
    let retried = Seen::now(&slack, &datadog).await.since(&before);
    assert_eq!(
        retried.slack.len(),
        0,
        "{name}: the retry does not post to Slack again"
    );
    assert_eq!(
        retried.distributions.len(),
        1,
        "{name}: the retry sends the metrics"
    );
    assert_eq!(retried.events.len(), 0, "{name}: no Datadog event");
    let merged = Seen {
        slack: slack_failed_phase,
        series: retried.series,
        distributions: retried.distributions,
        events: Vec::new(),
    };
    check_delivery(name, &exp_nonzero, &want_nonzero, &merged, &[]);

    let output = lambda.stop().await;
    check_output(&output, &texts);
    eprintln!(
        "lambda e2e (failing sinks): {} invocations in {:.1?}",
        output.invocations.len(),
        started.elapsed()
    );
}

/// What one enriched Slack post of the seeded OOM task must say, from moto's answers: the
/// mention from the task definition's tags, the container's memory limit, the last `LOG_LINES`
/// (10) log lines with mrkdwn escaped, a CloudWatch Logs link to the stream and whether the
/// container was essential.
fn check_enriched_slack(what: &str, r: &Request, task_id: &str) {
    // The seeded task definition's tag `ecs-notifier:mention=@here`.
    check_slack_body_mentioning(what, r, &["<!here>"]);
    let body = json_body(what, r);
    let mut texts = Vec::new();
    strings(&body, &mut texts);
    let text = texts.join("\n");
    let has = |needle: &str| {
        assert!(
            text.contains(needle),
            "{what}: Slack body lacks `{needle}`:\n{text}"
        )
    };
    has("<!here>");
    has("512 MiB");
    assert!(
        text.lines()
            .any(|l| l.contains("`app` exited 137") && l.ends_with("(essential)")),
        "{what}: Slack body does not call app essential:\n{text}"
    );
    for i in 16..=25 {
        has(&format!("line {i}"));
    }
    assert!(
        !text.contains("line 15"),
        "{what}: more than the last 10 log lines:\n{text}"
    );
    let first = text.find("line 16").expect("line 16");
    let last = text.find("line 25").expect("line 25");
    assert!(first < last, "{what}: log lines out of order:\n{text}");
    has("line 20 &lt;!channel&gt; wake everyone up");
    has(&format!(
        "#logsV2:log-groups/log-group/$252Fecs$252Fcheckout-api/log-events/ecs$252Fapp$252F{task_id}"
    ));
}

/// Enrichment on, against a real moto_server: the OOM alert gains the mention from the task
/// definition's tags, the container's limit, its last log lines and a link to them; the second
/// event of the same task definition is enriched from the warm cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_enriches_alerts_from_moto() {
    let started = std::time::Instant::now();
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, logs) = clients(&moto.endpoint).await;
    let network = moto.awsvpc().await;

    let cluster_arn = seed_cluster(&ecs, "prod").await;
    let td_arn = seed_task_definition(
        &ecs,
        "checkout-api",
        &[
            ContainerSeed {
                memory: Some(512),
                log: Some(("/ecs/checkout-api", "ecs")),
                ..ContainerSeed::new(
                    "app",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.14.2",
                )
            },
            ContainerSeed {
                memory: Some(256),
                ..ContainerSeed::new("datadog-agent", "public.ecr.aws/datadog/agent:7.58.2")
            },
        ],
        &[("ecs-notifier:mention", "@here")],
    )
    .await;
    // The task belongs to service checkout-api (`group`), whose tags the enrichment reads too:
    // without the service, DescribeServices would land in `not_enriched`.
    seed_service(&ecs, &cluster_arn, "checkout-api", &td_arn, &[], &network).await;

    let mut event = support::sample("task-oom.json");
    event["detail"]["clusterArn"] = json!(cluster_arn);
    event["detail"]["taskDefinitionArn"] = json!(td_arn);
    let event_id = event["id"].as_str().expect("id").to_string();
    let task_id = event["detail"]["taskArn"]
        .as_str()
        .and_then(|arn| arn.rsplit('/').next())
        .expect("task ARN")
        .to_string();
    let lines: Vec<String> = (1..=25)
        .map(|i| match i {
            20 => format!("line {i} <!channel> wake everyone up"),
            _ => format!("line {i}"),
        })
        .collect();
    seed_log_stream(
        &logs,
        "/ecs/checkout-api",
        &format!("ecs/app/{task_id}"),
        &lines,
    )
    .await;

    let expected = expectations();
    let name = "task-oom.json";
    let want_oom = want(name, &expected[name]);
    let slack = MockServer::start().await;
    mount_slack(&slack, 200).await;
    let datadog = MockServer::start().await;
    mount_datadog(&datadog, &[]).await;
    // ENRICHMENT unset (on). Only loopback: moto for AWS, no instance metadata, no profile.
    let mut lambda = Lambda::start_with_env(
        &slack,
        &datadog,
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ],
    )
    .await;
    let mut texts = Vec::new();

    // 1. Cold: clients built, task definition and service described, logs read.
    let reported = lambda.invoke("req-enrich-cold", &event, &event_id).await;
    let report = expect_response("cold enrichment", &reported);
    assert_eq!(
        report["event_id"],
        json!(event_id),
        "response names the event"
    );
    texts.push(format!("{reported:?}"));
    let cold = Seen::now(&slack, &datadog).await;
    check_delivery(name, &expected[name], &want_oom, &cold, &["<!here>"]);
    check_enriched_slack("cold enrichment", &cold.slack[0], &task_id);

    // moto forgets the task definition: only the cache can still answer for it.
    ecs.deregister_task_definition()
        .task_definition(&td_arn)
        .send()
        .await
        .expect("DeregisterTaskDefinition");
    let deleted = ecs
        .delete_task_definitions()
        .task_definitions(&td_arn)
        .send()
        .await
        .expect("DeleteTaskDefinitions");
    assert!(
        deleted.failures().is_empty(),
        "DeleteTaskDefinitions: {:?}",
        deleted.failures()
    );
    assert!(
        ecs.describe_task_definition()
            .task_definition(&td_arn)
            .send()
            .await
            .is_err(),
        "moto still describes {td_arn} after deleting it"
    );

    // 2. Warm: another task of the same task definition stopped (a new event and task); a
    // DescribeTaskDefinition would now fail and show in `not_enriched`, and the post would lack
    // the limit and mention.
    let warm_id = "5e0c1f2a-3333-4b7d-9e61-warmenrich01";
    let warm_task = "0000000000000000000000000000a2e1";
    let mut warm_event = with_id(&event, warm_id);
    let warm_arn = format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{warm_task}");
    warm_event["detail"]["taskArn"] = json!(warm_arn);
    warm_event["resources"] = json!([warm_arn]);
    seed_log_stream(
        &logs,
        "/ecs/checkout-api",
        &format!("ecs/app/{warm_task}"),
        &lines,
    )
    .await;
    let reported = lambda.invoke("req-enrich-warm", &warm_event, warm_id).await;
    expect_response("warm enrichment", &reported);
    texts.push(format!("{reported:?}"));
    let warm = Seen::now(&slack, &datadog).await.since(&cold);
    check_delivery(name, &expected[name], &want_oom, &warm, &["<!here>"]);
    check_enriched_slack("warm enrichment", &warm.slack[0], warm_task);

    assert_only_known_requests(&requests(&slack).await, &[SLACK_PATH], false);
    assert_only_known_requests(
        &requests(&datadog).await,
        &[DD_SERIES, DD_DISTRIBUTIONS, DD_EVENTS],
        true,
    );
    let output = lambda.stop().await;
    check_output(&output, &texts);
    let mut enrich_ms = Vec::new();
    for (what, id) in [("cold", event_id.as_str()), ("warm", warm_id)] {
        let fields = handled_fields(&output, id);
        assert_eq!(
            fields.get("not_enriched").and_then(Value::as_str),
            Some("[]"),
            "{what}: everything was enriched: {fields:?}"
        );
        let ms = fields
            .get("enrich_ms")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("{what}: log line without enrich_ms: {fields:?}"));
        enrich_ms.push(ms);
    }
    eprintln!(
        "lambda e2e (enrichment from moto): enrich_ms cold {} ms, warm {} ms; test took {:.1?}",
        enrich_ms[0],
        enrich_ms[1],
        started.elapsed()
    );
}

/// An SQS batch through the binary: the record whose Slack post fails comes back in
/// `batchItemFailures` (and only it), so the queue redelivers it alone; the redelivery posts
/// its alert once and sends no metric again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_returns_the_failed_records_of_a_batch() {
    let slack = MockServer::start().await;
    // Slack refuses the alert about one service, until it is reset below.
    support::refuse_posts_containing(&slack, "image-resizer", 500).await;
    mount_slack(&slack, 200).await;
    let datadog = MockServer::start().await;
    mount_datadog(&datadog, &[]).await;
    let mut lambda = Lambda::start_with_env(
        &slack,
        &datadog,
        &[("ENRICHMENT", "off"), ("HTTP_TIMEOUT_MS", "500")],
    )
    .await;
    let events = [
        support::sample("task-oom.json"),
        support::sample("task-exit-segfault.json"),
        support::sample("task-job-success.json"),
    ];
    assert!(
        events[1].to_string().contains("image-resizer")
            && !events[0].to_string().contains("image-resizer"),
        "the refused alert is the second record's"
    );
    let batch = support::batch(&events);
    let reported = lambda.invoke("req-batch", &batch, "msg-0").await;
    assert_eq!(
        expect_response("the batch", &reported),
        json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]})
    );
    let before = Seen::now(&slack, &datadog).await;

    // The queue redelivers msg-1 alone, and Slack takes it now.
    slack.reset().await;
    mount_slack(&slack, 200).await;
    let retry = support::batch(&events[1..2]);
    let reported = lambda.invoke("req-retry", &retry, "msg-0").await;
    assert_eq!(
        expect_response("the redelivery", &reported),
        json!({"batchItemFailures": []})
    );
    let got = Seen::now(&slack, &datadog).await;
    assert_eq!(
        slack_posts(&requests(&slack).await).len(),
        1,
        "the one alert, once"
    );
    assert_eq!(
        got.distributions.len(),
        before.distributions.len(),
        "no metric sent again"
    );
    lambda.stop().await;
}
