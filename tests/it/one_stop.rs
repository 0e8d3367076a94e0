//! One stop, one alert, one count, through the built binary under the Lambda Runtime API
//! emulator: ECS's repeated STOPPED updates of a task (single events, an SQS batch, two
//! processes sharing the state table), two processes counting stops in the same second, a
//! fuller update completing its alert in Slack app mode, and events that lack fields.
//!
//! The figures each test prints are what the sinks got: Slack posts, and what Datadog would
//! count from the bodies (a `count` series keeps one value per metric, tags and second; a
//! distribution keeps every value).

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{path, path_regex};
use wiremock::{MockServer, Request};

use support::lambda::{expect_response, Lambda, Output};
use support::{batch, sample, Moto};

const SLACK_PATH: &str = "/services/T000/B000/XXXXSECRET";
const DD_KEY: &str = "dd-test-key";
const TABLE: &str = "ecs-notifier-state";

/// The webhook answering `ok`, and Datadog answering 202 on `/api/…`.
async fn sinks() -> (MockServer, MockServer) {
    (
        support::server_for(path(SLACK_PATH), 200, "ok").await,
        support::server_for(path_regex("^/api/"), 202, "{}").await,
    )
}

/// The function with the webhook and Datadog on loopback, flood control off (these tests send
/// the same failure again on purpose), enrichment off; `extra` is added last.
async fn function(slack: &MockServer, datadog: &MockServer, extra: &[(&str, &str)]) -> Lambda {
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let mut env = vec![
        ("SLACK_WEBHOOK_URL", webhook.as_str()),
        ("DD_API_KEY", DD_KEY),
        ("DD_API_URL", dd.as_str()),
        ("FLOOD_WINDOW_SECONDS", "0"),
        ("ENRICHMENT", "off"),
    ];
    env.extend_from_slice(extra);
    Lambda::spawn(&env).await
}

/// The table's environment for a function sharing the state table on `moto`.
fn table_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("STATE_TABLE", TABLE.to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", support::REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
    ]
}

/// What the sinks got, and what Datadog would keep of it.
#[derive(Debug, Default, PartialEq)]
struct Got {
    slack_posts: usize,
    /// `ecs.task.stops` as Datadog would count it: every distribution value, plus for
    /// `count` series the last value of each (tags, timestamp).
    stopped: f64,
    /// `ecs.task.stops` points submitted, in whichever form.
    stopped_points: usize,
    /// `ecs.task.duration` values.
    durations: usize,
}

async fn got(slack: &MockServer, datadog: &MockServer) -> Got {
    let slack_posts = slack
        .received_requests()
        .await
        .expect("wiremock records")
        .iter()
        .filter(|r| r.url.path() == SLACK_PATH)
        .count();
    let mut series_kept: BTreeMap<(String, i64), f64> = BTreeMap::new();
    let mut g = Got {
        slack_posts,
        ..Got::default()
    };
    for r in datadog.received_requests().await.expect("wiremock records") {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        for s in body["series"].as_array().into_iter().flatten() {
            let tags = s["tags"].to_string();
            match (r.url.path(), s["metric"].as_str()) {
                ("/api/v1/distribution_points", Some("ecs.task.stops")) => {
                    for p in s["points"].as_array().into_iter().flatten() {
                        let values = p[1].as_array().cloned().unwrap_or_default();
                        g.stopped_points += values.len();
                        g.stopped += values.iter().filter_map(Value::as_f64).sum::<f64>();
                    }
                }
                ("/api/v1/distribution_points", Some("ecs.task.duration")) => {
                    for p in s["points"].as_array().into_iter().flatten() {
                        g.durations += p[1].as_array().map_or(0, Vec::len);
                    }
                }
                ("/api/v2/series", Some("ecs.task.stops")) => {
                    for p in s["points"].as_array().into_iter().flatten() {
                        g.stopped_points += 1;
                        let ts = p["timestamp"].as_i64().unwrap_or_default();
                        // Datadog keeps the last value sent for a series and timestamp.
                        series_kept.insert((tags.clone(), ts), p["value"].as_f64().unwrap_or(0.0));
                    }
                }
                _ => {}
            }
        }
    }
    g.stopped += series_kept.values().sum::<f64>();
    g
}

/// The log lines (JSON) of the function that name `event_id`, as (message, fields).
fn lines_of(output: &Output, event_id: &str) -> Vec<(String, serde_json::Map<String, Value>)> {
    output
        .stdout
        .iter()
        .chain(&output.stderr)
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|record| {
            let fields = match record.get("fields") {
                Some(Value::Object(f)) => f.clone(),
                _ => record.as_object()?.clone(),
            };
            (fields.get("event_id").and_then(Value::as_str) == Some(event_id)).then(|| {
                let message = fields
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (message, fields)
            })
        })
        .collect()
}

/// The STOPPED updates ECS sends for the task of `events/task-oom.json` (version 6): the same
/// stop with `updatedAt` moved (7, 8), the stop delivered again (6), and an earlier STOPPED
/// (5) that arrives last. Each a new event id, but the redelivery.
fn updates() -> Vec<Value> {
    let first = sample("task-oom.json");
    let mut out = vec![first.clone()];
    for (n, version) in [(1, 7), (2, 8), (3, 5)] {
        let mut e = first.clone();
        e["id"] = json!(format!("0e5a7c11-0000-4000-8000-00000000000{n}"));
        e["detail"]["version"] = json!(version);
        e["detail"]["updatedAt"] = json!(format!("2026-11-20T10:3{}:00.000Z", 5 + n));
        out.push(e);
    }
    out.push(first);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_stopped_updates_alert_and_count_once() {
    let (slack, datadog) = sinks().await;
    let mut lambda = function(&slack, &datadog, &[]).await;
    let events = updates();
    for (i, event) in events.iter().enumerate() {
        let id = event["id"].as_str().expect("id");
        let reported = lambda.invoke(&format!("req-{i}"), event, id).await;
        expect_response(&format!("update {i}"), &reported);
    }
    let g = got(&slack, &datadog).await;
    let output = lambda.stop().await;
    eprintln!(
        "{} STOPPED events of one task, one at a time: Slack posts {}, ecs.task.stops points {} \
         (Datadog counts {}), ecs.task.duration values {}",
        events.len(),
        g.slack_posts,
        g.stopped_points,
        g.stopped,
        g.durations
    );
    assert_eq!(
        g,
        Got {
            slack_posts: 1,
            stopped: 1.0,
            stopped_points: 1,
            durations: 1
        },
        "one stop, one alert, one count"
    );
    // The log says why each later update was dropped.
    for (event, version) in events[1..4].iter().zip([7, 8, 5]) {
        let id = event["id"].as_str().expect("id");
        let lines = lines_of(&output, id);
        assert_eq!(lines.len(), 1, "{id}: {lines:?}");
        let (message, fields) = &lines[0];
        assert_eq!(
            message,
            &format!(
                "event dropped: superseded: task already stopped at version 6 (this is version {version})"
            ),
            "{fields:?}"
        );
        assert_eq!(fields["verdict"], "superseded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_stopped_updates_in_one_batch_alert_and_count_once() {
    let (slack, datadog) = sinks().await;
    let mut lambda = function(&slack, &datadog, &[]).await;
    let events = updates();
    let reported = lambda.invoke("req-batch", &batch(&events), "").await;
    // The log lines name each event by its own id; the batch is logged under them.
    let answer = expect_response("the batch", &reported);
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let g = got(&slack, &datadog).await;
    lambda.stop().await;
    eprintln!(
        "{} STOPPED events of one task in one SQS batch: Slack posts {}, ecs.task.stops points {} \
         (Datadog counts {})",
        events.len(),
        g.slack_posts,
        g.stopped_points,
        g.stopped
    );
    assert_eq!((g.slack_posts, g.stopped_points, g.durations), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_spread_over_two_processes_alert_once() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let (slack, datadog) = sinks().await;
    let env = table_env(&moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut a = function(&slack, &datadog, &env).await;
    let mut b = function(&slack, &datadog, &env).await;
    let events = updates();
    // The first STOPPED and its first update reach the two processes at the same instant.
    a.wait_polling(Duration::from_secs(10)).await;
    b.wait_polling(Duration::from_secs(10)).await;
    let (ia, ib) = (
        events[0]["id"].as_str().expect("id").to_string(),
        events[1]["id"].as_str().expect("id").to_string(),
    );
    let (ra, rb) = tokio::join!(
        a.invoke("a-0", &events[0], &ia),
        b.invoke("b-0", &events[1], &ib)
    );
    let (ra, rb) = (expect_response("a", &ra), expect_response("b", &rb));
    // Then the rest, alternately.
    for (i, event) in events[2..].iter().enumerate() {
        let id = event["id"].as_str().expect("id");
        let reported = if i % 2 == 0 {
            b.invoke(&format!("b-{}", i + 1), event, id).await
        } else {
            a.invoke(&format!("a-{}", i + 1), event, id).await
        };
        expect_response(&format!("update {i}"), &reported);
    }
    let g = got(&slack, &datadog).await;
    let (oa, ob) = (a.stop().await, b.stop().await);
    eprintln!(
        "{} STOPPED events of one task over two processes sharing the table: Slack posts {}, \
         ecs.task.stops points {}; first pair: a {} / b {}",
        events.len(),
        g.slack_posts,
        g.stopped_points,
        ra["verdict"],
        rb["verdict"]
    );
    assert_eq!((g.slack_posts, g.stopped_points, g.durations), (1, 1, 1));
    let verdicts = [ra["verdict"].clone(), rb["verdict"].clone()];
    assert!(
        verdicts.contains(&json!("failure")) && verdicts.contains(&json!("superseded")),
        "one process judged the stop, the other dropped its update: {verdicts:?}"
    );
    for (who, output) in [("a", &oa), ("b", &ob)] {
        assert!(
            !output
                .stdout
                .iter()
                .chain(&output.stderr)
                .any(|l| l.contains("state table unavailable")),
            "{who} used the table"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_counting_in_the_same_second_both_count() {
    let (slack, datadog) = sinks().await;
    let mut a = function(&slack, &datadog, &[]).await;
    let mut b = function(&slack, &datadog, &[]).await;
    // Two tasks of one service crash in the same second (a crash loop, an incident).
    let crash = |n: usize| {
        let mut e = support::with_id(
            &support::crash(n),
            &format!("00000000-0000-4000-8000-0000000000c{n}"),
        );
        e["resources"] = json!([e["detail"]["taskArn"].clone()]);
        // A minute ago, so that the points carry the stop's own second (Datadog takes it) rather
        // than the second each process happens to send in.
        let at = (chrono::Utc::now() - chrono::Duration::seconds(60)).format("%Y-%m-%dT%H:%M:%SZ");
        e["time"] = json!(at.to_string());
        e["detail"]["stoppedAt"] = json!(at.to_string());
        e
    };
    let (one, two) = (crash(1), crash(2));
    a.wait_polling(Duration::from_secs(10)).await;
    b.wait_polling(Duration::from_secs(10)).await;
    let (i1, i2) = (
        one["id"].as_str().expect("id").to_string(),
        two["id"].as_str().expect("id").to_string(),
    );
    let (ra, rb) = tokio::join!(a.invoke("a-0", &one, &i1), b.invoke("b-0", &two, &i2));
    expect_response("a", &ra);
    expect_response("b", &rb);
    a.stop().await;
    b.stop().await;
    let g = got(&slack, &datadog).await;
    let bodies: Vec<Request> = datadog
        .received_requests()
        .await
        .expect("wiremock records")
        .into_iter()
        .filter(|r| r.url.path() == "/api/v1/distribution_points")
        .collect();
    eprintln!(
        "two processes, one stop each in the same second: ecs.task.stops points {}, Datadog \
         counts {}",
        g.stopped_points, g.stopped
    );
    // Both requests carry the same series (metric, tags, second) as a distribution value of 1,
    // which Datadog adds up.
    assert_eq!(bodies.len(), 2, "one request per process");
    let series: Vec<Value> = bodies
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("JSON");
            body["series"]
                .as_array()
                .expect("series")
                .iter()
                .find(|s| s["metric"] == "ecs.task.stops")
                .cloned()
                .expect("ecs.task.stops in each request")
        })
        .collect();
    for s in &series {
        assert_eq!(s["type"], "distribution", "{s}");
        assert_eq!(s["points"][0][1], json!([1.0]), "{s}");
    }
    assert_eq!(series[0]["tags"], series[1]["tags"], "the same series");
    assert_eq!(
        series[0]["points"][0][0], series[1]["points"][0][0],
        "the same second"
    );
    assert_eq!(g.stopped, 2.0, "Datadog counts both stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuller_update_completes_the_alert_in_app_mode() {
    let slack = support::server_with(support::slack_api_ok()).await;
    let datadog = support::server(202, "{}").await;
    let dd = datadog.uri();
    let api = format!("{}/api", slack.uri());
    let mut lambda = Lambda::spawn(&[
        ("SLACK_BOT_TOKEN", "xoxb-test-token"),
        ("SLACK_CHANNEL", "ops-alerts"),
        ("SLACK_API_URL", api.as_str()),
        ("DD_API_KEY", DD_KEY),
        ("DD_API_URL", dd.as_str()),
        ("ENRICHMENT", "off"),
    ])
    .await;
    // The first STOPPED event lacks the containers' exit codes and reasons; the update has them.
    let full = sample("task-oom.json");
    let mut thin = full.clone();
    thin["id"] = json!("0e5a7c11-0000-4000-8000-0000000000a0");
    thin["detail"]["version"] = json!(5);
    for c in thin["detail"]["containers"]
        .as_array_mut()
        .expect("containers")
    {
        c.as_object_mut().expect("container").remove("exitCode");
        c.as_object_mut().expect("container").remove("reason");
    }
    for (i, event) in [&thin, &full, &full].iter().enumerate() {
        let id = event["id"].as_str().expect("id");
        expect_response(
            &format!("event {i}"),
            &lambda.invoke(&format!("req-{i}"), event, id).await,
        );
    }
    let output = lambda.stop().await;
    let calls: Vec<(String, Value)> = slack
        .received_requests()
        .await
        .expect("wiremock records")
        .iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                serde_json::from_slice(&r.body).expect("JSON"),
            )
        })
        .collect();
    let paths: Vec<&str> = calls.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/api/chat.postMessage", "/api/chat.update"],
        "posted once, completed once in place, not again for the redelivery"
    );
    let first = calls[0].1["text"].as_str().expect("text");
    let completed = &calls[1].1;
    assert!(first.starts_with("Stopped: checkout-api"), "{first}");
    assert_eq!(completed["ts"], "1763630000.000100");
    assert_eq!(completed["channel"], "C0123");
    let text = completed["text"].as_str().expect("text");
    assert!(text.starts_with("Out of memory: checkout-api"), "{text}");
    let g = got(&MockServer::start().await, &datadog).await;
    assert_eq!((g.stopped_points, g.durations), (1, 1), "counted once");
    let lines = lines_of(&output, full["id"].as_str().expect("id"));
    assert!(
        lines.iter().any(|(m, _)| m.contains(
            "superseded: task already stopped at version 5 (this is version 6); its alert is completed in place"
        )),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_degrade_gracefully() {
    let (slack, datadog) = sinks().await;
    let mut lambda = function(&slack, &datadog, &[]).await;
    // No detail.taskArn: the task comes from `resources` (and the containers' taskArn).
    let mut event = sample("task-exit-nonzero.json");
    let arn = event["detail"]["taskArn"]
        .as_str()
        .expect("taskArn")
        .to_string();
    let task_id = arn.rsplit('/').next().expect("task id").to_string();
    event["detail"]
        .as_object_mut()
        .expect("detail")
        .remove("taskArn");
    let id = event["id"].as_str().expect("id").to_string();
    expect_response("no taskArn", &lambda.invoke("req-0", &event, &id).await);
    // An SQS record whose body is not JSON is logged as such, not retried.
    let mut bad = batch(&[sample("task-job-success.json")]);
    bad["Records"][0]["body"] = json!("not { json");
    let answer = expect_response(
        "a body that is not JSON",
        &lambda.invoke("req-1", &bad, "").await,
    );
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let output = lambda.stop().await;

    let posted = slack.received_requests().await.expect("wiremock records");
    assert_eq!(posted.len(), 1);
    let body: Value = serde_json::from_slice(&posted[0].body).expect("JSON");
    let text = body.to_string();
    assert!(
        text.contains(&format!(
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/batch/tasks/{task_id}/configuration"
        )),
        "the console link: {text}"
    );
    assert!(
        text.contains(&format!("task {task_id}")),
        "the footer's task id: {text}"
    );
    let skipped: Vec<&String> = output
        .stdout
        .iter()
        .chain(&output.stderr)
        .filter(|l| l.contains("event skipped"))
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].contains("SQS record body is not JSON"),
        "{}",
        skipped[0]
    );
}
