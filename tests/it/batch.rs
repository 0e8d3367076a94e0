//! SQS batches and flood control against loopback sinks: partial batch failures, one Datadog
//! request per endpoint per batch with every point kept, Slack paced per destination, and a
//! crash loop that alerts once, then summarises.

use std::time::Duration;

use crate::support;

use serde_json::{json, Value};
use support::{
    answer_from_now, answer_in_turn, batch, bodies, crash_at, notifier, ok, ok_sinks, records,
    refuse_posts_containing, requests_to, sample, server, server_with, soon,
};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[tokio::test]
async fn a_batch_sends_one_request_per_datadog_endpoint_and_keeps_every_point() {
    let (slack, datadog, n) = ok_sinks(&[]).await;
    let names = [
        "task-oom.json",
        "task-job-success.json",
        "task-deployment-replaced.json",
        "task-exit-segfault.json",
        "deployment-completed.json",
        "deployment-failed.json",
    ];
    let events: Vec<Value> = names.iter().map(|n| sample(n)).collect();
    let answer = n.handle_batch(&records(&events), soon(20), None).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));

    let series = requests_to(&datadog, "/api/v2/series").await;
    let dist = requests_to(&datadog, "/api/v1/distribution_points").await;
    assert_eq!(
        (series.len(), dist.len()),
        (0, 1),
        "one request for the batch's metrics (counts are distributions too)"
    );
    let stopped = support::distribution_values(&dist[0].body, "ecs.task.stops");
    assert_eq!(stopped, [1.0; 4], "one stop per task event");
    let durations: usize = [
        "ecs.task.duration",
        "ecs.task.startup_duration",
        "ecs.task.pull_duration",
    ]
    .iter()
    .map(|m| support::distribution_values(&dist[0].body, m).len())
    .sum();
    assert_eq!(durations, 12, "3 durations for each of 4 tasks");
    assert_eq!(
        requests_to(&datadog, "/api/v1/events").await.len(),
        2,
        "one event per deployment change"
    );
    // Slack: the two failures and both deployment notices (completed, failed).
    assert_eq!(slack.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn only_records_that_failed_return_to_the_queue() {
    let slack = server_with(ok()).await;
    // Slack refuses messages about one service only.
    refuse_posts_containing(&slack, "image-resizer", 500).await;
    let datadog = server(202, "{}").await;
    let n = notifier(&slack, &datadog, &[("HTTP_TIMEOUT_MS", "500")]);
    let events = vec![
        sample("task-oom.json"),
        sample("task-exit-segfault.json"),
        sample("task-job-success.json"),
    ];
    let answer = n.handle_batch(&records(&events), soon(20), None).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]})
    );

    // The queue redelivers msg-1 alone: only its Slack message is tried again.
    let series_before = requests_to(&datadog, "/api/v2/series").await.len();
    answer_from_now(&slack, ok()).await;
    let answer = n
        .handle_batch(&records(&events[1..2]), soon(20), None)
        .await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(slack.received_requests().await.unwrap().len(), 1);
    assert_eq!(
        requests_to(&datadog, "/api/v2/series").await.len(),
        series_before,
        "metrics not sent twice"
    );
}

#[tokio::test]
async fn slack_is_paced_per_destination() {
    let (slack, _datadog, n) = ok_sinks(&[("FLOOD_WINDOW_SECONDS", "0")]).await;
    let events: Vec<Value> = (0..3).map(|i| crash_at(i, 60)).collect();
    let started = Instant::now();
    n.handle_batch(&records(&events), soon(20), None).await;
    let took = started.elapsed();
    assert_eq!(slack.received_requests().await.unwrap().len(), 3);
    assert!(
        took >= Duration::from_secs(2),
        "three messages to one webhook take two pauses: {took:?}"
    );
}

#[tokio::test]
async fn pacing_past_the_deadline_returns_the_rest_to_the_queue() {
    let (slack, _datadog, n) = ok_sinks(&[("FLOOD_WINDOW_SECONDS", "0")]).await;
    let events: Vec<Value> = (0..5).map(|i| crash_at(i, 60)).collect();
    let deadline = Instant::now() + Duration::from_millis(2500);
    let answer = n.handle_batch(&records(&events), deadline, None).await;
    let failed = answer["batchItemFailures"].as_array().unwrap().len();
    let posted = slack.received_requests().await.unwrap().len();
    assert_eq!(
        posted + failed,
        5,
        "each message either posted or returned: {answer}"
    );
    assert!(failed >= 2, "{answer}");
}

#[tokio::test]
async fn a_crash_loop_alerts_once_then_summarises() {
    let (slack, datadog, n) = ok_sinks(&[]).await;
    // 24 crashes 20 s apart (8 minutes), in batches of 6.
    let crashes: Vec<Value> = (0..24).map(|i| crash_at(i, 20)).collect();
    for chunk in crashes.chunks(6) {
        let answer = n.handle_batch(&records(chunk), soon(20), None).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let posted = slack.received_requests().await.unwrap();
    assert_eq!(posted.len(), 1, "one alert for the whole loop");
    // Datadog still counted every stop.
    let counted: f64 = requests_to(&datadog, "/api/v1/distribution_points")
        .await
        .iter()
        .flat_map(|r| support::distribution_values(&r.body, "ecs.task.stops"))
        .sum();
    assert_eq!(counted, 24.0);

    // Past the window, the next crash posts a summary of those held back.
    let late = crash_at(40, 20); // 13m20s after the first
    n.handle(&late, soon(10), None).await.unwrap();
    let posted = slack.received_requests().await.unwrap();
    assert_eq!(posted.len(), 2);
    let body: Value = serde_json::from_slice(&posted[1].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("Out of memory: checkout-api (+23 since 10:02 UTC)"),
        "{text}"
    );
    assert!(
        text.contains("23 more like it since 10:02 UTC were held back"),
        "{text}"
    );

    // A different cause for the same service alerts at once.
    let mut other = crash_at(41, 20);
    other["detail"]["containers"][0]["reason"] = json!(null);
    other["detail"]["containers"][0]["exitCode"] = json!(1);
    let report = n.handle(&other, soon(10), None).await.unwrap();
    assert_eq!(report.cause, "exit_nonzero");
    assert_eq!(slack.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_alert_that_opened_a_window_still_posts_when_retried() {
    let slack = MockServer::start().await;
    answer_in_turn(&slack, None, vec![(ResponseTemplate::new(500), 5)], ok()).await;
    let datadog = server(202, "{}").await;
    let n = notifier(&slack, &datadog, &[("HTTP_TIMEOUT_MS", "300")]);
    let first = crash_at(0, 20);
    assert!(
        n.handle(&first, soon(10), None).await.is_err(),
        "Slack down: the invocation fails"
    );
    // Lambda retries the same event: the window it opened must not hold it back.
    let report = n.handle(&first, soon(10), None).await.unwrap();
    assert_eq!(report.delivered, vec!["slack"]);
    assert_eq!(report.flood, None);
}

#[tokio::test]
async fn a_single_event_invocation_is_not_mistaken_for_a_batch() {
    let (_slack, _datadog, n) = ok_sinks(&[]).await;
    let deadline = std::time::SystemTime::now() + Duration::from_secs(10);
    let single = n
        .handle_invocation(
            &sample("task-oom.json"),
            deadline,
            "arn:aws:lambda:eu-west-1:123456789012:function:f",
        )
        .await
        .unwrap();
    assert_eq!(single["verdict"], "failure");
    let batched = n
        .handle_invocation(&batch(&[crash_at(7, 20)]), deadline, "")
        .await
        .unwrap();
    assert_eq!(batched, json!({"batchItemFailures": []}));
    // Records from another source are not an SQS batch: skipped as bad input.
    let odd = n
        .handle_invocation(
            &json!({"Records": [{"eventSource": "aws:s3"}]}),
            deadline,
            "",
        )
        .await
        .unwrap();
    assert_eq!(odd["verdict"], "skipped");
}

/// Matches Datadog requests carrying more than one series.
struct ManySeries;

impl wiremock::Match for ManySeries {
    fn matches(&self, request: &Request) -> bool {
        serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|b| b["series"].as_array().map(|s| s.len() > 1))
            .unwrap_or(false)
    }
}

#[tokio::test]
async fn datadog_413_splits_the_payload_until_it_fits() {
    let slack = server(200, "ok").await;
    let datadog = MockServer::start().await;
    Mock::given(method("POST"))
        .and(ManySeries)
        .respond_with(ResponseTemplate::new(413).set_body_string("Payload too large"))
        .mount(&datadog)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&datadog)
        .await;
    let n = notifier(&slack, &datadog, &[]);
    let names = [
        "task-oom.json",
        "task-job-success.json",
        "task-exit-segfault.json",
        "task-batch-failure.json",
        "task-scale-in.json",
    ];
    let events: Vec<Value> = names.iter().map(|n| sample(n)).collect();
    let answer = n.handle_batch(&records(&events), soon(20), None).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    // Every series arrived on its own in the end, and every stop was counted once.
    let all = requests_to(&datadog, "/api/v1/distribution_points").await;
    let accepted: Vec<&Request> = all
        .iter()
        .filter(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            b["series"].as_array().unwrap().len() == 1
        })
        .collect();
    let counted: f64 = accepted
        .iter()
        .flat_map(|r| support::distribution_values(&r.body, "ecs.task.stops"))
        .sum();
    assert_eq!(counted, 5.0);
    let refused = all.len() - accepted.len();
    assert!(refused >= 1, "the first, whole request was refused");
}

#[tokio::test]
async fn a_bad_datadog_key_fails_fast_without_a_retry_storm() {
    let slack = server(200, "ok").await;
    let datadog = server(403, r#"{"errors":["Forbidden"]}"#).await;
    let n = notifier(&slack, &datadog, &[]);
    let events: Vec<Value> = [
        "task-oom.json",
        "task-exit-segfault.json",
        "task-job-success.json",
    ]
    .iter()
    .map(|n| sample(n))
    .collect();
    let answer = n.handle_batch(&records(&events), soon(20), None).await;
    // No retry storm: the one request below shows it, not a wall-clock figure.
    assert_eq!(
        answer["batchItemFailures"].as_array().unwrap().len(),
        3,
        "every record carried metrics"
    );
    assert_eq!(
        datadog.received_requests().await.unwrap().len(),
        1,
        "one request for the batch's metrics, no retries"
    );
    // Slack delivered meanwhile, and will not be posted again when the records return.
    assert_eq!(slack.received_requests().await.unwrap().len(), 2);
    let again = n.handle_batch(&records(&events), soon(20), None).await;
    assert_eq!(again["batchItemFailures"].as_array().unwrap().len(), 3);
    assert_eq!(slack.received_requests().await.unwrap().len(), 2);
    let err = n
        .handle(&sample("task-user-stopped.json"), soon(5), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("HTTP 403") || err.to_string().contains("Forbidden"),
        "{err}"
    );
}

#[tokio::test]
async fn pacing_carries_over_from_one_batch_to_the_next() {
    let (slack, _datadog, n) = ok_sinks(&[("FLOOD_WINDOW_SECONDS", "0")]).await;
    let started = Instant::now();
    for i in 0..3 {
        let answer = n
            .handle_batch(&records(&[crash_at(i, 60)]), soon(20), None)
            .await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let took = started.elapsed();
    assert_eq!(slack.received_requests().await.unwrap().len(), 3);
    assert!(
        took >= Duration::from_secs(2),
        "one message a second to a webhook, across batches: {took:?}"
    );
}

/// The dead letter in the sample `name` (a Lambda SQS event with one record).
fn dead_letter(name: &str) -> Value {
    sample(name)["Records"][0].clone()
}

#[tokio::test]
async fn dead_letters_share_a_batch_with_events_and_alert_once() {
    let slack = server_with(ok()).await;
    // Slack refuses the message about the rule's dead letter only.
    refuse_posts_containing(&slack, "invoice-export-hourly", 500).await;
    let datadog = server(202, "{}").await;
    let n = notifier(&slack, &datadog, &[("HTTP_TIMEOUT_MS", "500")]);
    let scheduler = dead_letter("sqs-scheduler-dead-letter.json");
    let rule = dead_letter("sqs-rule-dead-letter.json");
    let mut mixed = records(&[sample("task-exit-segfault.json")]);
    mixed.push(scheduler.clone());
    mixed.push(rule.clone());
    let answer = n.handle_batch(&mixed, soon(20), None).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": rule["messageId"]}]}),
        "only the rule's dead letter returns to the queue"
    );
    let posted = bodies(&slack).await;
    assert!(
        posted
            .iter()
            .any(|b| b.contains("Scheduled run not launched: nightly-etl")),
        "{posted:?}"
    );
    let launch_failed: f64 = requests_to(&datadog, "/api/v1/distribution_points")
        .await
        .iter()
        .flat_map(|r| support::distribution_values(&r.body, "ecs.task.launch_failures"))
        .sum();
    assert_eq!(launch_failed, 2.0, "both dead letters counted");

    // The queue redelivers the failed record, and SQS delivers the scheduler's one again
    // (at least once): the rule's alert now posts, the scheduler's does not post twice.
    answer_from_now(&slack, ok()).await;
    let answer = n.handle_batch(&[rule, scheduler], soon(20), None).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let posted = bodies(&slack).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].contains("invoice-export-hourly"), "{posted:?}");
}
