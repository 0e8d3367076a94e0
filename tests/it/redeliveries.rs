//! Redeliveries through the built binary under the Lambda Runtime API emulator: a crash loop of
//! one service whose stops arrive twice (the same event id, as EventBridge may deliver; the same
//! task and version under another id), among ECS's repeated STOPPED updates, with flood control
//! on. The summary that ends the window counts the distinct stops it held back, and Datadog
//! counts each stop once, with its duration: in one process (single events; one SQS batch) and
//! over two processes sharing the state table.

use crate::support;

use serde_json::{json, Value};
use wiremock::matchers::{path, path_regex};
use wiremock::MockServer;

use support::lambda::{expect_response, Lambda};
use support::{crash_at, Moto};

const SLACK_PATH: &str = "/services/T000/B000/XXXXREDELIVER";
const TABLE: &str = "ecs-notifier-state";
/// Stops of the loop, 20 s apart from 10:02:00: the first alerts, the other 7 are held back.
const STOPS: usize = 8;

/// The deliveries of the loop, in the order they arrive: each stop once, then stop 2 again
/// (the same event), stop 3's later STOPPED update (version 7), stop 5 under another event id
/// (the same task and version), stop 6 again (the same event).
fn deliveries() -> Vec<Value> {
    let mut out = Vec::new();
    for n in 0..STOPS {
        let stop = crash_at(n, 20);
        out.push(stop.clone());
        match n {
            2 | 6 => out.push(stop),
            3 => {
                let mut update = stop;
                update["id"] = json!("0e5a7c11-0000-4000-8000-000000000307");
                update["detail"]["version"] = json!(7);
                update["detail"]["updatedAt"] = json!("2026-11-20T10:30:00.000Z");
                out.push(update);
            }
            5 => {
                let mut copy = stop;
                copy["id"] = json!("0e5a7c11-0000-4000-8000-000000000505");
                out.push(copy);
            }
            _ => {}
        }
    }
    out
}

/// The crash after the window (13m20s after the first): it carries the window's summary.
fn after_the_window() -> Value {
    crash_at(40, 20)
}

async fn sinks() -> (MockServer, MockServer) {
    (
        support::server_for(path(SLACK_PATH), 200, "ok").await,
        support::server_for(path_regex("^/api/"), 202, "{}").await,
    )
}

fn env<'a>(slack: &'a str, datadog: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SLACK_WEBHOOK_URL", slack),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", datadog),
        ("ENRICHMENT", "off"),
    ]
}

/// Slack texts, Datadog's `ecs.task.stops` and `ecs.task.duration` values.
async fn got(slack: &MockServer, datadog: &MockServer) -> (Vec<String>, usize, usize) {
    let texts = support::bodies(slack)
        .await
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .map(|b| b["text"].as_str().unwrap_or_default().to_string())
        .collect();
    let (mut stops, mut durations) = (0, 0);
    for r in datadog.received_requests().await.expect("wiremock records") {
        if r.url.path() == "/api/v1/distribution_points" {
            stops += support::distribution_values(&r.body, "ecs.task.stops").len();
            durations += support::distribution_values(&r.body, "ecs.task.duration").len();
        }
    }
    (texts, stops, durations)
}

/// Prints the figures, then checks them: one alert, the summary counting the 7 distinct stops
/// held back, each stop counted once with its duration.
async fn assert_counted_once(what: &str, slack: &MockServer, datadog: &MockServer) {
    let (texts, stops, durations) = got(slack, datadog).await;
    let summary = texts.last().cloned().unwrap_or_default();
    let held = summary
        .split_once("(+")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map(|(n, _)| n.to_string())
        .unwrap_or_default();
    println!(
        "{what}: {} deliveries of {STOPS} stops and one after the window: Slack posts {}, \
         the summary says +{held}; Datadog: {stops} stops, {durations} durations",
        deliveries().len(),
        texts.len()
    );
    assert_eq!(texts.len(), 2, "{what}: the alert, the summary: {texts:#?}");
    assert!(
        summary.starts_with("Out of memory: checkout-api (+7 since 10:02 UTC)"),
        "{what}: {summary}"
    );
    assert_eq!((stops, durations), (STOPS + 1, STOPS + 1), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_delivered_twice_counts_each_stop_once() {
    let (slack, datadog) = sinks().await;
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&env(&webhook, &dd)).await;
    for (i, event) in deliveries().iter().chain([&after_the_window()]).enumerate() {
        let id = event["id"].as_str().expect("id");
        expect_response(
            &format!("delivery {i}"),
            &lambda.invoke(&format!("req-{i}"), event, id).await,
        );
    }
    lambda.stop().await;
    assert_counted_once("one process", &slack, &datadog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_delivered_twice_in_one_batch_counts_each_stop_once() {
    let (slack, datadog) = sinks().await;
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&env(&webhook, &dd)).await;
    let answer = expect_response(
        "the batch",
        &lambda
            .invoke("req-batch", &support::batch(&deliveries()), "")
            .await,
    );
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let last = after_the_window();
    let id = last["id"].as_str().expect("id");
    expect_response("after", &lambda.invoke("req-after", &last, id).await);
    lambda.stop().await;
    assert_counted_once("one SQS batch", &slack, &datadog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_loop_delivered_twice_over_two_processes_counts_each_stop_once() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let (slack, datadog) = sinks().await;
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let mut env = env(&webhook, &dd);
    env.extend(support::moto_env(&moto.endpoint));
    env.push(("STATE_TABLE", TABLE));
    let mut a = Lambda::spawn(&env).await;
    let mut b = Lambda::spawn(&env).await;
    // Alternately, so that each second delivery reaches the other process.
    for (i, event) in deliveries().iter().chain([&after_the_window()]).enumerate() {
        let id = event["id"].as_str().expect("id");
        let lambda = if i % 2 == 0 { &mut a } else { &mut b };
        expect_response(
            &format!("delivery {i}"),
            &lambda.invoke(&format!("req-{i}"), event, id).await,
        );
    }
    a.stop().await;
    b.stop().await;
    assert_counted_once("two processes", &slack, &datadog).await;
}
