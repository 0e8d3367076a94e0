//! An incident is one conversation, through the built binary under the Lambda Runtime API
//! emulator: 40 services of one cluster fail to pull their images within 90 s, and an unrelated
//! OOM of another cluster arrives in the middle. In one process and over two processes sharing
//! the state table (single-event invocations), in Slack app mode, and in SQS batches (timed,
//! with grouping on and off): at most 5 Slack messages name all 40 services, the OOM alerts on
//! its own, and Datadog counts all 41 stops.

use crate::support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use support::lambda::{expect_response, Lambda};
use support::{sample, Moto};

pub(crate) const SERVICES: usize = 40;
pub(crate) const TABLE: &str = "ecs-notifier-state";
/// The grouping window these tests use: the default.
pub(crate) const WINDOW_SECONDS: i64 = 300;

/// When each request reached a mock, with its body.
#[derive(Clone, Default)]
pub(crate) struct Arrivals(Arc<Mutex<Vec<(Instant, String, Value)>>>);

impl Arrivals {
    pub(crate) fn all(&self) -> Vec<(Instant, String, Value)> {
        self.0.lock().unwrap().clone()
    }
}

/// Answers like Slack (a webhook's `ok`, or the Web API with a `ts` of its own per post) or
/// Datadog (202), and records each arrival.
struct Recorder {
    arrivals: Arrivals,
    api: bool,
}

impl Respond for Recorder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut seen = self.arrivals.0.lock().unwrap();
        seen.push((Instant::now(), request.url.path().to_string(), body));
        let n = seen.len();
        match (self.api, request.url.path()) {
            (true, _) => ResponseTemplate::new(200).set_body_json(
                json!({"ok": true, "channel": "C0INCIDENT", "ts": format!("1763630000.{n:06}")}),
            ),
            (false, p) if p.starts_with("/api/") => {
                ResponseTemplate::new(202).set_body_string("{}")
            }
            (false, _) => ResponseTemplate::new(200).set_body_string("ok"),
        }
    }
}

pub(crate) async fn recording(api: bool) -> (MockServer, Arrivals) {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(method("POST"))
        .and(path_regex("^/"))
        .respond_with(Recorder {
            arrivals: arrivals.clone(),
            api,
        })
        .mount(&server)
        .await;
    (server, arrivals)
}

/// The burst: 40 services of cluster `prod` failing to pull their images, 2.25 s apart over
/// 90 s ending now, with an OOM of cluster `payments` after the 20th.
pub(crate) fn burst(t0: DateTime<Utc>) -> Vec<Value> {
    let pull = sample("task-image-pull.json");
    let mut events = Vec::new();
    for i in 0..SERVICES {
        let at = t0 + chrono::Duration::milliseconds(2250 * i as i64);
        let service = format!("svc-{i:02}");
        let task = format!(
            "arn:aws:ecs:eu-west-1:123456789012:task/prod/{:032x}",
            0xa000 + i
        );
        let mut e = pull.clone();
        e["id"] = json!(format!("00000000-0000-4000-8000-{:012x}", 0xa000 + i));
        e["time"] = json!(at.to_rfc3339());
        e["resources"] = json!([task]);
        let d = &mut e["detail"];
        d["clusterArn"] = json!("arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
        d["taskArn"] = json!(task);
        d["group"] = json!(format!("service:{service}"));
        d["startedBy"] = json!("ecs-svc/8802657731904822311");
        d["taskDefinitionArn"] = json!(format!(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:3"
        ));
        d["stoppedAt"] = json!(at.to_rfc3339());
        events.push(e);
        if i == SERVICES / 2 - 1 {
            let mut oom = sample("task-oom.json");
            let task =
                "arn:aws:ecs:eu-west-1:123456789012:task/payments/0000000000000000000000000000beef";
            oom["id"] = json!("00000000-0000-4000-8000-00000000beef");
            oom["time"] = json!(at.to_rfc3339());
            oom["resources"] = json!([task]);
            oom["detail"]["clusterArn"] =
                json!("arn:aws:ecs:eu-west-1:123456789012:cluster/payments");
            oom["detail"]["taskArn"] = json!(task);
            oom["detail"]["stoppedAt"] = json!(at.to_rfc3339());
            events.push(oom);
        }
    }
    events
}

/// An event that only moves time on: a RUNNING task change (ignored), after the window.
pub(crate) fn later(t0: DateTime<Utc>) -> Value {
    let mut e = sample("task-running.json");
    e["id"] = json!("00000000-0000-4000-8000-0000000later");
    e["time"] = json!((t0 + chrono::Duration::seconds(WINDOW_SECONDS + 5)).to_rfc3339());
    e
}

/// The periodic check, as of after the window.
pub(crate) fn check_after(t0: DateTime<Utc>) -> Value {
    let mut e = sample("scheduled-check.json");
    e["id"] = json!("00000000-0000-4000-8000-00000000c4ec");
    e["time"] = json!((t0 + chrono::Duration::seconds(WINDOW_SECONDS + 5)).to_rfc3339());
    e
}

fn burst_start() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::seconds(95)
}

pub(crate) async fn send(lambda: &mut Lambda, name: &str, event: &Value) -> Value {
    let id = event["id"].as_str().expect("id");
    expect_response(name, &lambda.invoke(name, event, id).await)
}

pub(crate) fn base_env<'a>(slack: &'a str, datadog: &'a str, app: bool) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", datadog),
        ("ENRICHMENT", "off"),
    ];
    if app {
        env.extend([
            ("SLACK_BOT_TOKEN", "xoxb-test-token"),
            ("SLACK_CHANNEL", "incidents"),
            ("SLACK_API_URL", slack),
        ]);
    } else {
        env.push(("SLACK_WEBHOOK_URL", slack));
    }
    env
}

/// The Slack messages' texts (top-level `text` and every block string), one per post or edit.
pub(crate) fn texts(body: &Value) -> String {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(body, &mut out);
    out.join("\n")
}

/// The services of the burst that `text` names.
pub(crate) fn named(text: &str) -> BTreeSet<String> {
    (0..SERVICES)
        .map(|i| format!("svc-{i:02}"))
        .filter(|s| text.contains(&format!("`{s}`")) || text.contains(&format!(": {s}")))
        .collect()
}

/// `ecs.task.stops` values Datadog received.
pub(crate) fn stops_counted(datadog: &Arrivals) -> usize {
    datadog
        .all()
        .iter()
        .filter(|(_, path, _)| path == "/api/v1/distribution_points")
        .map(|(_, _, body)| {
            support::distribution_values(body.to_string().as_bytes(), "ecs.task.stops").len()
        })
        .sum()
}

/// What every run must show: at most 5 messages, all 40 services named, the OOM on its own.
pub(crate) fn assert_one_conversation(what: &str, posts: &[Value]) {
    assert!(
        posts.len() <= 5,
        "{what}: {} Slack messages: {posts:#?}",
        posts.len()
    );
    let all: BTreeSet<String> = posts.iter().flat_map(|p| named(&texts(p))).collect();
    assert_eq!(all.len(), SERVICES, "{what}: services named {all:?}");
    let oom: Vec<&Value> = posts
        .iter()
        .filter(|p| texts(p).contains("Out of memory: checkout-api"))
        .collect();
    assert_eq!(oom.len(), 1, "{what}: the OOM on its own");
    assert!(
        named(&texts(oom[0])).is_empty(),
        "{what}: the OOM message names no pull failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_one_conversation() {
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&base_env(&webhook, &dd, false)).await;
    let t0 = burst_start();
    let mut reports = Vec::new();
    for (i, event) in burst(t0).iter().enumerate() {
        reports.push(send(&mut lambda, &format!("req-{i}"), event).await);
    }
    // The grouped message, then the held back: their reports say so.
    let grouped: Vec<&str> = reports.iter().filter_map(|r| r["group"].as_str()).collect();
    assert_eq!(
        grouped.iter().filter(|g| **g == "opened").count(),
        1,
        "{reports:?}"
    );
    assert_eq!(
        grouped.iter().filter(|g| **g == "joined").count(),
        SERVICES - 3
    );
    let during: Vec<Value> = slack_seen.all().into_iter().map(|(_, _, b)| b).collect();
    assert_eq!(
        during.len(),
        4,
        "two alone, the grouped message, the OOM: {during:#?}"
    );
    // The window ends: the next invocation posts its summary, naming everyone.
    send(&mut lambda, "req-later", &later(t0)).await;
    lambda.stop().await;
    let posts: Vec<Value> = slack_seen.all().into_iter().map(|(_, _, b)| b).collect();
    assert_one_conversation("one process", &posts);
    let summary = texts(posts.last().unwrap());
    assert!(
        summary.contains("Image pull failed (tag not found): 40 services in prod"),
        "{summary}"
    );
    assert_eq!(stops_counted(&dd_seen), SERVICES + 1, "every stop counted");
    println!(
        "one process: {} Slack messages for {} failures",
        posts.len(),
        SERVICES + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_the_group_through_the_table() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut env = base_env(&webhook, &dd, false);
    env.extend(support::moto_env(&moto.endpoint));
    env.push(("STATE_TABLE", TABLE));
    let mut a = Lambda::spawn(&env).await;
    let mut b = Lambda::spawn(&env).await;
    let t0 = burst_start();
    for (i, event) in burst(t0).iter().enumerate() {
        let lambda = if i % 2 == 0 { &mut a } else { &mut b };
        send(lambda, &format!("req-{i}"), event).await;
    }
    // The periodic check posts the summary of the window that ended (once, from either).
    send(&mut a, "req-check-a", &check_after(t0)).await;
    let mut again = check_after(t0);
    again["id"] = json!("00000000-0000-4000-8000-0000000c4ec2");
    send(&mut b, "req-check-b", &again).await;
    a.stop().await;
    b.stop().await;
    let posts: Vec<Value> = slack_seen.all().into_iter().map(|(_, _, b)| b).collect();
    assert_one_conversation("two processes", &posts);
    assert_eq!(
        posts.len(),
        5,
        "two alone, grouped, OOM, summary: {posts:#?}"
    );
    assert_eq!(stops_counted(&dd_seen), SERVICES + 1, "every stop counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_mode_edits_the_grouped_message_in_place() {
    let (slack, slack_seen) = recording(true).await;
    let (datadog, dd_seen) = recording(false).await;
    let api = format!("{}/api", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&base_env(&api, &dd, true)).await;
    let t0 = burst_start();
    for (i, event) in burst(t0).iter().enumerate() {
        send(&mut lambda, &format!("req-{i}"), event).await;
    }
    send(&mut lambda, "req-later", &later(t0)).await;
    lambda.stop().await;
    let calls = slack_seen.all();
    let posts: Vec<Value> = calls
        .iter()
        .filter(|(_, p, _)| p == "/api/chat.postMessage")
        .map(|(_, _, b)| b.clone())
        .collect();
    let edits: Vec<&Value> = calls
        .iter()
        .filter(|(_, p, _)| p == "/api/chat.update")
        .map(|(_, _, b)| b)
        .collect();
    // Two alone, the grouped message, its one reply, the OOM.
    assert!(posts.len() <= 5, "{posts:#?}");
    let grouped = posts
        .iter()
        .position(|p| texts(p).contains("services in prod since"))
        .expect("a grouped message");
    let ts = format!("1763630000.{:06}", grouped_call_number(&calls, grouped));
    let replies: Vec<&Value> = posts
        .iter()
        .filter(|p| p["thread_ts"] == json!(ts))
        .collect();
    assert_eq!(replies.len(), 1, "one reply when it grew: {posts:#?}");
    assert!(
        edits.len() >= 2 && edits.len() <= 12,
        "{} edits",
        edits.len()
    );
    assert!(
        edits.iter().all(|e| e["ts"] == json!(ts)),
        "edits of the grouped message only"
    );
    // The last edit (the window's summary) names everyone.
    let last = texts(edits.last().unwrap());
    assert_eq!(named(&last).len(), SERVICES, "{last}");
    assert!(last.contains("Window closed"), "{last}");
    // The posts, with the grouped message as it stands at the end.
    let mut shown = posts.clone();
    shown[grouped] = (*edits.last().unwrap()).clone();
    assert_one_conversation("app mode", &shown);
    assert_eq!(stops_counted(&dd_seen), SERVICES + 1, "every stop counted");
}

/// The Web API call number (1-based) of the `n`th post: the `ts` it was answered with.
fn grouped_call_number(calls: &[(Instant, String, Value)], n: usize) -> usize {
    calls
        .iter()
        .enumerate()
        .filter(|(_, (_, p, _))| p == "/api/chat.postMessage")
        .nth(n)
        .map(|(i, _)| i + 1)
        .expect("the post")
}

/// The burst in SQS batches of 10 (the template's BatchSize), in one process, timed from the
/// first invocation to the last Slack message of the burst; with grouping off (as before) and
/// on (the default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_with_and_without_grouping() {
    let mut figures = Vec::new();
    for grouping in ["0", "300"] {
        let (slack, slack_seen) = recording(false).await;
        let (datadog, dd_seen) = recording(false).await;
        let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
        let dd = datadog.uri();
        let mut env = base_env(&webhook, &dd, false);
        env.push(("GROUP_WINDOW_SECONDS", grouping));
        let mut lambda = Lambda::spawn(&env).await;
        let t0 = burst_start();
        let events = burst(t0);
        let started = Instant::now();
        for (i, chunk) in events.chunks(10).enumerate() {
            let report = expect_response(
                &format!("batch {i}"),
                &lambda
                    .invoke(&format!("req-batch-{i}"), &support::batch(chunk), "msg-0")
                    .await,
            );
            assert_eq!(report, json!({"batchItemFailures": []}), "batch {i}");
        }
        let burst_posts = slack_seen.all();
        let last = burst_posts.last().expect("posts").0;
        let took = last.duration_since(started);
        if grouping != "0" {
            let later = support::batch(&[later(t0)]);
            expect_response("later", &lambda.invoke("req-later", &later, "msg-0").await);
        }
        lambda.stop().await;
        let posts: Vec<Value> = slack_seen.all().into_iter().map(|(_, _, b)| b).collect();
        assert_eq!(stops_counted(&dd_seen), SERVICES + 1, "every stop counted");
        if grouping == "0" {
            assert_eq!(
                posts.len(),
                SERVICES + 1,
                "one message per failure without grouping"
            );
        } else {
            assert_one_conversation("batches", &posts);
        }
        figures.push((grouping, burst_posts.len(), took, posts.len()));
    }
    for (grouping, burst_posts, took, posts) in &figures {
        println!(
            "GROUP_WINDOW_SECONDS={grouping}: {burst_posts} Slack messages during the burst, the last {:.1} s after the first event; {posts} in all",
            took.as_secs_f64()
        );
    }
    let (off, on) = (figures[0].2, figures[1].2);
    assert!(on * 4 < off, "grouped: {on:?}, not: {off:?}");
}

/// Services whose tags route them to different channels: each channel gets the group of its
/// own services (the library with a fake ECS endpoint for the task definitions' tags).
#[tokio::test]
async fn each_channel_gets_the_group_of_its_own_services() {
    use ecs_notifier::config::EnrichSettings;
    use ecs_notifier::handler::Notifier;
    use wiremock::matchers::body_partial_json;

    let ecs = MockServer::start().await;
    let events: Vec<Value> = burst(burst_start())
        .into_iter()
        .filter(|e| {
            e["detail"]["group"]
                .as_str()
                .is_some_and(|g| g.starts_with("service:svc-"))
        })
        .take(8)
        .collect();
    for (i, e) in events.iter().enumerate() {
        let td = e["detail"]["taskDefinitionArn"].as_str().unwrap();
        let channel = if i % 2 == 0 { "team-a" } else { "team-b" };
        Mock::given(method("POST"))
            .and(body_partial_json(json!({ "taskDefinition": td })))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/x-amz-json-1.1")
                    .set_body_json(json!({
                        "taskDefinition": {"taskDefinitionArn": td, "family": format!("svc-{i:02}"),
                            "revision": 3, "containerDefinitions": [{"name": "report", "essential": true}]},
                        "tags": [{"key": "ecs-notifier:slack-channel", "value": channel}]
                    })),
            )
            .mount(&ecs)
            .await;
    }
    let (slack, slack_seen) = recording(true).await;
    let api = format!("{}/api", slack.uri());
    let config = support::config(&[
        ("SLACK_BOT_TOKEN", "xoxb-test-token"),
        ("SLACK_CHANNEL", "incidents"),
        ("SLACK_API_URL", &api),
    ]);
    let settings = EnrichSettings {
        log_lines: 0,
        ..EnrichSettings::default()
    };
    let enricher = support::enricher_for(&ecs.uri(), None, settings).await;
    let n = Notifier::with_enricher(&config, Some(enricher)).unwrap();
    for e in &events {
        n.handle(e, support::soon(10), Some("123456789012"))
            .await
            .unwrap();
    }
    let posts: Vec<Value> = slack_seen
        .all()
        .into_iter()
        .filter(|(_, p, _)| p == "/api/chat.postMessage")
        .map(|(_, _, b)| b)
        .collect();
    for (channel, parity) in [("team-a", 0), ("team-b", 1)] {
        let mine: Vec<&Value> = posts.iter().filter(|p| p["channel"] == channel).collect();
        let grouped: Vec<&&Value> = mine
            .iter()
            .filter(|p| texts(p).contains("services in prod since"))
            .collect();
        assert_eq!(
            mine.len(),
            3,
            "{channel}: two alone, one grouped: {mine:#?}"
        );
        assert_eq!(grouped.len(), 1, "{channel}");
        let services: BTreeSet<String> = mine.iter().flat_map(|p| named(&texts(p))).collect();
        let want: BTreeSet<String> = (0..8)
            .filter(|i| i % 2 == parity)
            .map(|i| format!("svc-{i:02}"))
            .collect();
        // The grouped message of a channel names its own services only (the 4th joins later).
        assert!(services.is_subset(&want), "{channel}: {services:?}");
        assert!(services.len() >= 3, "{channel}: {services:?}");
    }
    assert!(
        posts.iter().all(|p| p["channel"] != "incidents"),
        "nothing to the default"
    );
}
