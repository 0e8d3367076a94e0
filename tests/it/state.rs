//! The state table on a real `moto_server` DynamoDB: two instances share delivery records and
//! flood windows; a failed delivery is released for a retry on any instance; an unavailable
//! table fails open (alerts still go out).

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use ecs_notifier::aws::Aws;
use ecs_notifier::handler::Notifier;
use ecs_notifier::state::Table;
use serde_json::json;
use support::{crash, sample, server, soon, Moto};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TABLE: &str = "ecs-notifier-state";

/// One instance of the function (its own memory), sharing the table at `aws_endpoint`.
async fn instance(aws_endpoint: &str, slack: &MockServer, datadog: &MockServer) -> Notifier {
    let webhook = format!("{}/services/T0/B0/x", slack.uri());
    let dd = datadog.uri();
    let config = support::config(&[
        ("SLACK_WEBHOOK_URL", &webhook),
        ("DD_API_KEY", "k"),
        ("DD_API_URL", &dd),
        ("ENRICHMENT", "off"),
        ("HTTP_TIMEOUT_MS", "500"),
    ]);
    let aws = Arc::new(Aws::with_config(
        support::sdk_config(aws_endpoint).await,
        None,
    ));
    Notifier::new(&config)
        .unwrap()
        .with_state(Table::new(aws, TABLE.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivered_to_two_instances_at_once_alerts_once() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    // A slow Slack widens the race: both instances are mid-delivery at the same time.
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("ok")
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&slack)
        .await;
    let datadog = server(202, "ok").await;
    let (a, b) = (
        instance(&moto.endpoint, &slack, &datadog).await,
        instance(&moto.endpoint, &slack, &datadog).await,
    );
    for n in 0..5 {
        let event = sample(
            [
                "task-oom.json",
                "task-exit-segfault.json",
                "task-image-pull.json",
                "deployment-failed.json",
                "service-action-start-impaired.json",
            ][n],
        );
        let (ra, rb) = tokio::join!(
            a.handle(&event, soon(10), None),
            b.handle(&event, soon(10), None)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let posted =
            ra.delivered.contains(&"slack") as usize + rb.delivered.contains(&"slack") as usize;
        assert_eq!(
            posted, 1,
            "event {n}: exactly one instance posted: {ra:?} / {rb:?}"
        );
        assert!(ra.duplicate.contains(&"slack") || rb.duplicate.contains(&"slack"));
    }
    assert_eq!(slack.received_requests().await.unwrap().len(), 5);
    // Datadog too: each stop counted once.
    let stopped: usize = datadog
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/distribution_points")
        .map(|r| support::distribution_values(&r.body, "ecs.task.stops").len())
        .sum();
    assert_eq!(stopped, 3, "the three task events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_released_for_the_retry_on_another_instance() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let down = server(500, "ok").await;
    let up = server(200, "ok").await;
    let datadog = server(202, "ok").await;
    let a = instance(&moto.endpoint, &down, &datadog).await;
    let b = instance(&moto.endpoint, &up, &datadog).await;
    let event = sample("task-exit-segfault.json");
    assert!(a.handle(&event, soon(10), None).await.is_err());
    let report = b.handle(&event, soon(10), None).await.unwrap();
    assert_eq!(
        report.delivered,
        vec!["slack"],
        "Datadog was already delivered by the first instance"
    );
    assert_eq!(report.duplicate, vec!["datadog.distributions"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_windows_are_shared_by_instances() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let slack = server(200, "ok").await;
    let datadog = server(202, "ok").await;
    let a = instance(&moto.endpoint, &slack, &datadog).await;
    let b = instance(&moto.endpoint, &slack, &datadog).await;
    for n in 0..8 {
        let which = if n % 2 == 0 { &a } else { &b };
        which.handle(&crash(n), soon(10), None).await.unwrap();
    }
    assert_eq!(
        slack.received_requests().await.unwrap().len(),
        1,
        "one alert across both instances"
    );
}

#[tokio::test]
async fn an_unavailable_table_fails_open() {
    // DynamoDB answering throttling to everything (after the SDK's own retries).
    let ddb = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_json(json!({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate of requests exceeds the allowed throughput."})),
        )
        .mount(&ddb)
        .await;
    let slack = server(200, "ok").await;
    let datadog = server(202, "ok").await;
    let n = instance(&ddb.uri(), &slack, &datadog).await;
    let started = Instant::now();
    let report = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    // Well within the invocation's 10 s: the table rests after its first failure, so the
    // other calls do not each wait out the SDK's retries (counted below).
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        ddb.received_requests().await.unwrap().len() <= 3,
        "one operation's attempts, then the table rests: {}",
        ddb.received_requests().await.unwrap().len()
    );
    assert!(
        report.delivered.contains(&"slack"),
        "the alert went out: {report:?}"
    );
    assert!(
        ddb.received_requests().await.unwrap().len() >= 2,
        "the table was tried"
    );
    // Within the process, a duplicate is still caught.
    let again = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert!(again.delivered.is_empty());
    assert_eq!(slack.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_cannot_read_the_jobs_fails_the_invocation() {
    // No table: every call answers ResourceNotFoundException. Events fall back to per-process
    // state and are delivered, but a check cannot work without the table, and says so by
    // failing (the function's error metric and alarm see it).
    let moto = Moto::start().await;
    let slack = server(200, "ok").await;
    let datadog = server(202, "ok").await;
    let n = instance(&moto.endpoint, &slack, &datadog).await;
    let check = json!({
        "id": "check-1", "source": "aws.events", "detail-type": "Scheduled Event",
        "time": "2026-11-22T05:00:00Z", "region": "eu-west-1", "account": "123456789012",
        "detail": {}
    });
    let err = n.handle(&check, soon(10), None).await.unwrap_err();
    assert_eq!(err.event_id, "check-1");
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].0, "state");
    assert!(
        err.to_string()
            .contains("dynamodb:Query: ResourceNotFoundException"),
        "{err}"
    );
    assert!(slack.received_requests().await.unwrap().is_empty());

    // With the table, and no job tracked yet: a quiet check.
    support::create_state_table(&moto.endpoint, TABLE).await;
    let report = n.handle(&check, soon(10), None).await.unwrap();
    assert_eq!(
        (report.kind.as_str(), report.verdict.as_str()),
        ("check", "checked")
    );
    assert_eq!(report.cause, "0 job(s), 0 overdue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_tells_what_a_quiet_flood_window_held_back() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let slack = server(200, "ok").await;
    let datadog = server(202, "ok").await;
    let n = instance(&moto.endpoint, &slack, &datadog).await;
    let posts = || support::bodies(&slack);
    let at = |minute: i64, second: i64| {
        (chrono::DateTime::parse_from_rfc3339("2026-11-20T10:02:00Z").unwrap()
            + chrono::Duration::seconds(minute * 60 + second))
        .to_rfc3339()
    };
    // A crash loop of five within the 10-minute window, then silence: one alert.
    for i in 0..5 {
        let mut e = crash(100 + i);
        e["detail"]["stoppedAt"] = json!(at(0, 30 * i as i64));
        n.handle(&e, soon(10), None).await.unwrap();
    }
    assert_eq!(posts().await.len(), 1);
    let check = |id: &str, time: String| {
        json!({"id": id, "source": "aws.events", "detail-type": "Scheduled Event",
               "time": time, "region": "eu-west-1", "account": "123456789012", "detail": {}})
    };
    // 10:11: the window (10:02 to 10:12) is still open: nothing to tell yet.
    n.handle(&check("c1", at(9, 0)), soon(10), None)
        .await
        .unwrap();
    assert_eq!(posts().await.len(), 1);
    // 10:13: it ended with four held back and nothing since: the check tells it, once.
    n.handle(&check("c2", at(11, 0)), soon(10), None)
        .await
        .unwrap();
    let all = posts().await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[1].contains(
            "4 more alerts like the one posted at 10:02 UTC (prod/checkout-api/out_of_memory)"
        ),
        "{}",
        all[1]
    );
    n.handle(&check("c3", at(16, 0)), soon(10), None)
        .await
        .unwrap();
    assert_eq!(posts().await.len(), 2, "told once");
    // The next crash alerts without repeating the four.
    let mut e = crash(200);
    e["detail"]["stoppedAt"] = json!(at(20, 0));
    n.handle(&e, soon(10), None).await.unwrap();
    let all = posts().await;
    assert_eq!(all.len(), 3);
    assert!(!all[2].contains("since 10:02"), "{}", all[2]);
}
