//! A backlog through the built binary under the Lambda Runtime API emulator: the burst of
//! incidents.rs (40 services failing image pulls within 90 s, an OOM of another cluster in the
//! middle) delivered four days late, as a retried target, a redriven queue or a dead-letter queue
//! delivers it. In one process, over two processes sharing the state table, and in SQS batches:
//! at most 5 Slack messages name all 40 services, one says the events arrive late and by how
//! much, and Datadog counts each of the 41 stops once (and the one duration: only the OOM's
//! task ran; the image pulls never started).

use crate::incidents::{
    assert_one_conversation, base_env, burst, check_after, later, named, recording, send,
    stops_counted, texts, Arrivals, SERVICES, TABLE,
};
use crate::support;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use support::lambda::{expect_response, Lambda};
use support::Moto;

/// How long a backlog's window waits with nothing arriving before its summary is told, in
/// these tests (`BACKLOG_AFTER_SECONDS`; 5 minutes by default).
const SETTLE: &str = "2";

/// The burst's start: four days ago.
fn four_days_ago() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(4) - chrono::Duration::seconds(95)
}

/// `ecs.task.duration` values Datadog received.
pub(crate) fn durations_counted(datadog: &Arrivals) -> usize {
    datadog
        .all()
        .iter()
        .filter(|(_, path, _)| path == "/api/v1/distribution_points")
        .map(|(_, _, body)| {
            support::distribution_values(body.to_string().as_bytes(), "ecs.task.duration").len()
        })
        .sum()
}

/// The Slack posts (webhook bodies) a recorder got.
fn posts(slack: &Arrivals) -> Vec<Value> {
    slack.all().into_iter().map(|(_, _, b)| b).collect()
}

/// Prints what the sinks got, then checks the late conversation: at most 5 messages naming all
/// 40 services, the OOM on its own, one message saying the events arrive late (by days), and
/// every stop counted once, with the one duration there is (the OOM's).
fn assert_late_conversation(what: &str, posts: &[Value], datadog: &Arrivals) {
    let late: Vec<&Value> = posts
        .iter()
        .filter(|p| {
            let t = texts(p);
            t.contains("late") && t.contains("4d")
        })
        .collect();
    let all: std::collections::BTreeSet<String> =
        posts.iter().flat_map(|p| named(&texts(p))).collect();
    println!(
        "{what}: {} Slack messages, {} services named, {} saying late; Datadog: {} stops, {} durations",
        posts.len(),
        all.len(),
        late.len(),
        stops_counted(datadog),
        durations_counted(datadog)
    );
    assert_one_conversation(what, posts);
    assert!(!late.is_empty(), "{what}: one says late: {posts:#?}");
    assert_eq!(stops_counted(datadog), SERVICES + 1, "{what}: every stop");
    assert_eq!(durations_counted(datadog), 1, "{what}: the OOM's duration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_delivered_days_late_is_one_conversation() {
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&base_env(&webhook, &dd, false)).await;
    let t0 = four_days_ago();
    for (i, event) in burst(t0).iter().enumerate() {
        send(&mut lambda, &format!("req-{i}"), event).await;
    }
    // The backlog moves on past the window: the next event of it ends the window.
    send(&mut lambda, "req-later", &later(t0)).await;
    lambda.stop().await;
    let posts = posts(&slack_seen);
    assert_late_conversation("one process, 4 days late", &posts, &dd_seen);
    // Without the state table, the grouped message says what its final list depends on.
    let grouped = posts
        .iter()
        .find(|p| texts(p).contains("3 services in prod"))
        .expect("the grouped message");
    assert!(
        texts(grouped).contains("The final list of services needs the state table (STATE_TABLE)"),
        "{grouped:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_burst_over_two_processes_is_one_conversation() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut env = base_env(&webhook, &dd, false);
    env.extend(support::moto_env(&moto.endpoint));
    env.extend([("STATE_TABLE", TABLE), ("BACKLOG_AFTER_SECONDS", SETTLE)]);
    let mut a = Lambda::spawn(&env).await;
    let mut b = Lambda::spawn(&env).await;
    let t0 = four_days_ago();
    for (i, event) in burst(t0).iter().enumerate() {
        let lambda = if i % 2 == 0 { &mut a } else { &mut b };
        send(lambda, &format!("req-{i}"), event).await;
    }
    // Nothing more arrives: once the backlog has settled, the periodic check tells the window.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    send(&mut a, "req-check-a", &check_after(Utc::now())).await;
    let mut again = check_after(Utc::now());
    again["id"] = json!("00000000-0000-4000-8000-0000000c4ec2");
    send(&mut b, "req-check-b", &again).await;
    a.stop().await;
    b.stop().await;
    let posts = posts(&slack_seen);
    assert_late_conversation("two processes, 4 days late", &posts, &dd_seen);
    assert!(
        posts.iter().all(|p| !texts(p).contains("STATE_TABLE")),
        "with the table, the check posts the final list: {posts:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_burst_in_batches_is_one_conversation() {
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&base_env(&webhook, &dd, false)).await;
    let t0 = four_days_ago();
    let events = burst(t0);
    for (i, chunk) in events.chunks(10).enumerate() {
        let report = expect_response(
            &format!("batch {i}"),
            &lambda
                .invoke(&format!("req-batch-{i}"), &support::batch(chunk), "msg-0")
                .await,
        );
        assert_eq!(report, json!({"batchItemFailures": []}), "batch {i}");
    }
    let later = support::batch(&[later(t0)]);
    expect_response("later", &lambda.invoke("req-later", &later, "msg-0").await);
    lambda.stop().await;
    assert_late_conversation("SQS batches, 4 days late", &posts(&slack_seen), &dd_seen);
}
