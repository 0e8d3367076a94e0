//! Slack and Datadog delivery against real HTTP servers on loopback: payloads, retries,
//! permanent failures, slow sinks, and what a redelivered event posts again.

use crate::support;

use std::time::Duration;

use ecs_notifier::config::Config;
use ecs_notifier::handler::Notifier;
use ecs_notifier::sinks::retry::SendError;
use serde_json::Value;
use support::{answer_from_now, ok, rate_limited, requests_to, respond_429_then, sample, soon};
use tokio::time::Instant;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const WEBHOOK_PATH: &str = "/services/T000/B000/webhooksecret";
const DD_KEY: &str = "dd-key-for-tests";

/// `support::notifier_at` with this file's webhook and Datadog key, enrichment off (no AWS here:
/// enrichment has tests of its own against moto) and flood control off; `extra` is added last.
fn notifier(slack: &MockServer, datadog: &MockServer, extra: &[(&str, &str)]) -> Notifier {
    // Redeliveries and new versions of one failure are sent on purpose here; flood control
    // has tests of its own (tests/it/batch.rs).
    let mut vars = vec![("FLOOD_WINDOW_SECONDS", "0")];
    vars.extend_from_slice(extra);
    support::notifier_at(slack, WEBHOOK_PATH, datadog, DD_KEY, &vars)
}

async fn datadog_ok() -> MockServer {
    support::server_for(header("DD-API-KEY", DD_KEY), 202, "{}").await
}

async fn slack_answering(status: u16, body: &str) -> MockServer {
    support::server_for(path(WEBHOOK_PATH), status, body).await
}

#[tokio::test]
async fn posts_block_kit_to_slack_and_metrics_to_datadog() {
    let slack = slack_answering(200, "ok").await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[]);
    let report = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert_eq!(report.verdict, "failure");
    assert_eq!(report.cause, "out_of_memory");

    let posted = requests_to(&slack, WEBHOOK_PATH).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0].headers.get("content-type").unwrap(),
        "application/json"
    );
    let body: Value = serde_json::from_slice(&posted[0].body).unwrap();
    assert!(body["text"]
        .as_str()
        .unwrap()
        .starts_with("Out of memory: checkout-api"));
    assert_eq!(body["blocks"][0]["type"], "header");
    assert!(body["blocks"].as_array().unwrap().len() <= 50);

    assert!(
        requests_to(&datadog, "/api/v2/series").await.is_empty(),
        "counts go as distributions, which Datadog adds up across submitters"
    );
    let dist = requests_to(&datadog, "/api/v1/distribution_points").await;
    assert_eq!(dist.len(), 1);
    let body: Value = serde_json::from_slice(&dist[0].body).unwrap();
    let metrics: Vec<&str> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        metrics,
        [
            "ecs.task.duration",
            "ecs.task.startup_duration",
            "ecs.task.pull_duration",
            "ecs.task.stops"
        ]
    );
    let s = &body["series"][3];
    assert_eq!(s["type"], "distribution");
    assert_eq!(
        s["points"][0][1],
        serde_json::json!([1.0]),
        "one value per stop"
    );
    let tags: Vec<&str> = s["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for want in [
        "ecs_cluster_name:prod",
        "ecs_service:checkout-api",
        "trigger:service",
        "result:failure",
        "cause:out_of_memory",
        "launch_type:fargate",
        "task_family:checkout-api",
    ] {
        assert!(tags.contains(&want), "{want} in {tags:?}");
    }
    assert_eq!(body["series"][0]["type"], "distribution");
    let run = body["series"][0]["points"][0][1][0].as_f64().unwrap();
    assert!((run - 3241.775).abs() < 0.001, "{run}");
}

#[tokio::test]
async fn deployment_becomes_a_datadog_event() {
    let slack = slack_answering(200, "ok").await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[]);
    n.handle(&sample("deployment-failed.json"), soon(10), None)
        .await
        .unwrap();
    let events = requests_to(&datadog, "/api/v1/events").await;
    assert_eq!(events.len(), 1);
    let body: Value = serde_json::from_slice(&events[0].body).unwrap();
    assert_eq!(body["alert_type"], "error");
    assert!(body["aggregation_key"]
        .as_str()
        .unwrap()
        .starts_with("ecs-svc/"));
    assert!(body["title"]
        .as_str()
        .unwrap()
        .starts_with("Deployment failed: checkout-api"));
    assert!(body["text"].as_str().unwrap().contains("circuit breaker"));
    assert_eq!(requests_to(&slack, WEBHOOK_PATH).await.len(), 1);
    // No metrics for a deployment.
    assert!(requests_to(&datadog, "/api/v2/series").await.is_empty());
}

/// Slack answering `times` posts with a rate limit, then `ok`; Datadog taking everything; and a
/// `notifier` on both.
async fn rate_limited_slack(times: u64) -> (MockServer, MockServer, Notifier) {
    let slack = MockServer::start().await;
    respond_429_then(&slack, times, ok()).await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[]);
    (slack, datadog, n)
}

#[tokio::test]
async fn slack_429_waits_retry_after_then_delivers() {
    let (slack, _datadog, n) = rate_limited_slack(1).await;
    let started = Instant::now();
    let report = n
        .handle(&sample("task-exit-nonzero.json"), soon(10), None)
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(report.delivered.contains(&"slack"));
    assert_eq!(requests_to(&slack, WEBHOOK_PATH).await.len(), 2);
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After honoured: {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "{waited:?}");
}

#[tokio::test]
async fn permanent_500_fails_the_invocation_after_datadog_delivered_and_retry_posts_only_slack() {
    let slack = MockServer::start().await;
    let failing = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal_error"))
        .named("slack down")
        .mount_as_scoped(&slack)
        .await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[("HTTP_TIMEOUT_MS", "1000")]);
    let event = sample("task-container-health-check.json");

    let err = n.handle(&event, soon(20), None).await.unwrap_err();
    assert_eq!(err.failures.len(), 1, "{err}");
    assert_eq!(err.failures[0].0, "slack");
    assert!(
        matches!(err.failures[0].1, SendError::Exhausted { attempts: 5, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(!err.to_string().contains("webhooksecret"), "{err}");
    assert_eq!(
        requests_to(&slack, WEBHOOK_PATH).await.len(),
        5,
        "bounded retries"
    );
    assert_eq!(
        requests_to(&datadog, "/api/v1/distribution_points")
            .await
            .len(),
        1,
        "datadog delivered anyway"
    );
    drop(failing);

    // Lambda retries the same event: Slack now works; Datadog is not posted twice.
    support::answer_posts(&slack, ok()).await;
    let report = n.handle(&event, soon(10), None).await.unwrap();
    assert_eq!(report.delivered, vec!["slack"]);
    assert_eq!(report.duplicate, vec!["datadog.distributions"]);
    assert_eq!(
        requests_to(&datadog, "/api/v1/distribution_points")
            .await
            .len(),
        1
    );
    assert_eq!(requests_to(&slack, WEBHOOK_PATH).await.len(), 6);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_carry_the_error_text() {
    let slack = slack_answering(400, "invalid_payload").await;
    let datadog = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"errors":["Forbidden"]}"#))
        .mount(&datadog)
        .await;
    let n = notifier(&slack, &datadog, &[]);
    let err = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap_err();
    assert_eq!(
        requests_to(&slack, WEBHOOK_PATH).await.len(),
        1,
        "no retry on 400"
    );
    assert_eq!(
        requests_to(&datadog, "/api/v1/distribution_points")
            .await
            .len(),
        1,
        "no retry on 403"
    );
    let slack_err = err.failures.iter().find(|(k, _)| *k == "slack").unwrap();
    assert_eq!(
        slack_err.1,
        SendError::Rejected {
            status: 400,
            body: "invalid_payload".into()
        }
    );
    let text = err.to_string();
    assert!(text.contains("Forbidden"), "{text}");
    assert!(!text.contains(DD_KEY), "{text}");
}

#[tokio::test]
async fn a_slow_sink_is_cut_off_by_the_deadline_without_holding_up_the_other() {
    let slack = slack_answering(200, "ok").await;
    let datadog = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(10)))
        .mount(&datadog)
        .await;
    let n = notifier(&slack, &datadog, &[("HTTP_TIMEOUT_MS", "400")]);
    let started = Instant::now();
    let err = n
        .handle(
            &sample("task-oom.json"),
            Instant::now() + Duration::from_secs(2),
            None,
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    // Bounded by the 2 s deadline, not by the sink's 10 s: the margin is for a loaded machine
    // scheduling the task late, and still far below the sink's delay.
    assert!(
        took < Duration::from_secs(2) + Duration::from_secs(2),
        "bounded by the deadline: {took:?}"
    );
    assert!(
        err.failures.iter().all(|(k, _)| k.starts_with("datadog")),
        "{err}"
    );
    assert!(err
        .failures
        .iter()
        .all(|(_, e)| matches!(e, SendError::Deadline { .. } | SendError::Exhausted { .. })));
    assert_eq!(
        requests_to(&slack, WEBHOOK_PATH).await.len(),
        1,
        "slack delivered meanwhile"
    );
}

/// Answers after a delay, recording when each request arrived.
#[derive(Clone)]
struct Arrivals {
    at: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    answer: ResponseTemplate,
}

impl wiremock::Respond for Arrivals {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(std::time::Instant::now());
        self.answer.clone()
    }
}

#[tokio::test]
async fn sinks_are_posted_concurrently() {
    const DELAY: Duration = Duration::from_millis(600);
    let at = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Arrivals {
            at: at.clone(),
            answer: ResponseTemplate::new(200)
                .set_body_string("ok")
                .set_delay(DELAY),
        })
        .mount(&slack)
        .await;
    let datadog = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Arrivals {
            at: at.clone(),
            answer: ResponseTemplate::new(202).set_delay(DELAY),
        })
        .mount(&datadog)
        .await;
    let n = notifier(&slack, &datadog, &[]);
    let report = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert_eq!(report.delivered, ["slack", "datadog.distributions"]);
    // Sent one after the other, the second request could only arrive once the first was
    // answered, 600 ms later; sent together, both arrive before either is answered.
    let at = at.lock().unwrap().clone();
    assert_eq!(at.len(), 2);
    let apart = at[1].duration_since(at[0]);
    assert!(
        apart < DELAY,
        "the second request arrived {apart:?} after the first: not concurrent"
    );
}

#[tokio::test]
async fn the_same_event_alerts_once() {
    let slack = slack_answering(200, "ok").await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[]);
    let event = sample("task-elb-health-check.json");
    n.handle(&event, soon(10), None).await.unwrap();
    let again = n.handle(&event, soon(10), None).await.unwrap();
    assert!(again.delivered.is_empty());
    assert_eq!(again.duplicate.len(), 2);
    // Redelivered under a new event id: same task and version, still once.
    let mut renamed = event.clone();
    renamed["id"] = Value::from("11111111-2222-3333-4444-555555555555");
    let third = n.handle(&renamed, soon(10), None).await.unwrap();
    assert!(third.delivered.is_empty());
    // A later STOPPED update of the same task (a higher version) is the same stop: nothing.
    let mut later = event.clone();
    later["id"] = Value::from("99999999-2222-3333-4444-555555555555");
    later["detail"]["version"] = Value::from(later["detail"]["version"].as_i64().unwrap() + 1);
    let fourth = n.handle(&later, soon(10), None).await.unwrap();
    assert_eq!(fourth.verdict, "superseded");
    assert!(fourth.delivered.is_empty() && fourth.duplicate.is_empty());
    // Another task of the same service is a new stop.
    let mut other = event.clone();
    other["id"] = Value::from("aaaaaaaa-2222-3333-4444-555555555555");
    other["detail"]["taskArn"] = Value::from(
        "arn:aws:ecs:eu-west-1:123456789012:task/prod/0000000000000000000000000000beef",
    );
    assert_eq!(
        n.handle(&other, soon(10), None)
            .await
            .unwrap()
            .delivered
            .len(),
        2
    );
    assert_eq!(requests_to(&slack, WEBHOOK_PATH).await.len(), 2);
}

#[tokio::test]
async fn bad_input_is_skipped_without_posting() {
    let slack = slack_answering(200, "ok").await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[]);
    for input in [
        serde_json::json!([1, 2]),
        serde_json::json!({"source": "aws.ec2", "detail-type": "x", "detail": {}}),
        serde_json::json!({"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": "oops"}),
        serde_json::json!(null),
    ] {
        let report = n.handle(&input, soon(5), None).await.unwrap();
        assert_eq!(report.verdict, "skipped", "{input}");
    }
    assert!(slack.received_requests().await.unwrap().is_empty());
    assert!(datadog.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn sinks_without_settings_are_off() {
    let config = Config::from_vars([("ENRICHMENT".to_string(), "off".to_string())]).unwrap();
    let n = Notifier::new(&config).unwrap();
    let report = n
        .handle(&sample("task-oom.json"), soon(5), None)
        .await
        .unwrap();
    assert_eq!(report.verdict, "failure");
    assert!(report.delivered.is_empty());
}

#[tokio::test]
async fn tags_route_alerts_to_a_team_webhook() {
    // A fake ECS endpoint whose task definition carries the routing tag.
    let ecs = MockServer::start().await;
    let definition = |route: &str| {
        serde_json::json!({
            "taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly-report:23",
                "family": "nightly-report", "revision": 23,
                "containerDefinitions": [{"name": "app", "image": "report:1", "essential": true}]},
            "tags": [{"key": "ecs-notifier:slack", "value": route}]
        })
    };
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{}.DescribeTaskDefinition", support::ECS).as_str(),
        ))
        .respond_with(support::aws_json(definition("payments")))
        .up_to_n_times(1)
        .mount(&ecs)
        .await;
    support::answer_posts(&ecs, support::aws_json(definition("nobody"))).await;

    let default = slack_answering(200, "ok").await;
    let payments = support::server_with(ok()).await;
    let datadog = datadog_ok().await;
    let webhook = format!("{}{WEBHOOK_PATH}", default.uri());
    let team_webhook = format!("{}/services/T1/B1/payments", payments.uri());
    let dd = datadog.uri();
    let config = support::config(&[
        ("SLACK_WEBHOOK_URL", &webhook),
        ("SLACK_WEBHOOK_URL_PAYMENTS", &team_webhook),
        ("DD_API_KEY", DD_KEY),
        ("DD_API_URL", &dd),
        ("FLOOD_WINDOW_SECONDS", "0"),
    ]);
    let enricher = support::enricher_without_logs(&ecs.uri()).await;
    let n = Notifier::with_enricher(&config, Some(enricher)).unwrap();

    let report = n
        .handle(
            &sample("task-exit-nonzero.json"),
            soon(10),
            Some("123456789012"),
        )
        .await
        .unwrap();
    assert!(report.delivered.contains(&"slack"));
    assert_eq!(
        payments.received_requests().await.unwrap().len(),
        1,
        "routed to the team"
    );
    assert!(
        requests_to(&default, WEBHOOK_PATH).await.is_empty(),
        "not to the default"
    );

    // A route with no webhook configured falls back to the default (new task definition revision).
    let mut other = sample("task-exit-nonzero.json");
    other["id"] = Value::from("0b7c0b7c-0000-4000-8000-000000000002");
    other["detail"]["taskDefinitionArn"] =
        Value::from("arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly-report:24");
    other["detail"]["taskArn"] = Value::from(
        "arn:aws:ecs:eu-west-1:123456789012:task/batch/000000000000000000000000000000aa",
    );
    n.handle(&other, soon(10), Some("123456789012"))
        .await
        .unwrap();
    assert_eq!(
        requests_to(&default, WEBHOOK_PATH).await.len(),
        1,
        "unknown route: default webhook"
    );
    assert_eq!(payments.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_burst_of_slack_429s_is_ridden_out_within_the_deadline() {
    let (slack, _datadog, n) = rate_limited_slack(3).await;
    let started = Instant::now();
    let report = n
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert!(report.delivered.contains(&"slack"));
    assert_eq!(
        requests_to(&slack, WEBHOOK_PATH).await.len(),
        4,
        "three 429s, then delivered"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "each Retry-After honoured"
    );

    // A burst longer than the deadline allows: the invocation fails (Lambda retries it) in time.
    answer_from_now(&slack, rate_limited()).await;
    let started = Instant::now();
    let err = n
        .handle(
            &sample("task-exit-segfault.json"),
            Instant::now() + Duration::from_millis(2500),
            None,
        )
        .await
        .unwrap_err();
    // The 2.5 s deadline, with a margin for a loaded machine: what proves it is the Deadline
    // error below (the burst itself never ends).
    assert!(
        started.elapsed() < Duration::from_millis(2500) + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err.failures[0].1, SendError::Deadline { .. }),
        "{err}"
    );
}

/// Checks request bodies of `POST /api/v2/events` with datadog-api-client's models
/// (`scripts/datadog --validate-change-event`, in `.venv`).
fn assert_valid_change_events(bodies: &[Vec<u8>]) {
    static CALL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("change-events-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let path = dir.join(format!("change-{i}.json"));
            std::fs::write(&path, body).unwrap();
            path.display().to_string()
        })
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/datadog"))
        .arg("--validate-change-event")
        .args(&files)
        .output()
        .expect(".venv/bin/python runs (make tools installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn deployments_go_to_change_tracking_with_an_application_key() {
    const APP_KEY: &str = "dd-app-key-for-tests";
    let slack = slack_answering(200, "ok").await;
    let datadog = datadog_ok().await;
    let n = notifier(&slack, &datadog, &[("DD_APP_KEY", APP_KEY)]);
    let samples = [
        ("deployment-in-progress.json", "checkout-api"),
        ("deployment-completed.json", "checkout-api"),
        ("deployment-failed.json", "checkout-api"),
        ("deployment-rollback.json", "checkout-api"),
        ("daemon-deployment-successful.json", ""),
        ("daemon-deployment-rollback-failed.json", ""),
    ];
    for (name, _) in samples {
        n.handle(&sample(name), soon(10), None)
            .await
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    assert!(
        requests_to(&datadog, "/api/v1/events").await.is_empty(),
        "no v1 event for a deployment when change events can be sent"
    );
    let changes = requests_to(&datadog, "/api/v2/events").await;
    assert_eq!(
        changes.len(),
        samples.len(),
        "one change event per deployment event"
    );
    for (request, (name, service)) in changes.iter().zip(samples) {
        let key = |h: &str| request.headers.get(h).and_then(|v| v.to_str().ok());
        assert_eq!(key("DD-API-KEY"), Some(DD_KEY), "{name}");
        assert_eq!(key("DD-APPLICATION-KEY"), Some(APP_KEY), "{name}");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let a = &body["data"]["attributes"];
        assert_eq!(a["category"], "change", "{name}");
        let resource = a["attributes"]["changed_resource"]["name"]
            .as_str()
            .unwrap();
        if !service.is_empty() {
            assert_eq!(resource, service, "{name}");
            assert_eq!(
                a["attributes"]["impacted_resources"][0],
                serde_json::json!({"name": service, "type": "service"}),
                "{name}"
            );
        }
        let tags: Vec<&str> = a["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(tags.contains(&"source:ecs-notifier"), "{name}: {tags:?}");
    }
    // What a monitor pages on: the outcome as a tag.
    let result = |i: usize| {
        let body: Value = serde_json::from_slice(&changes[i].body).unwrap();
        body["data"]["attributes"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|t| t.starts_with("result:"))
            .map(String::from)
    };
    assert_eq!(
        (0..4).map(result).collect::<Vec<_>>(),
        [
            None,
            Some("result:success".into()),
            Some("result:failure".into()),
            Some("result:rollback".into())
        ]
    );
    assert_valid_change_events(&changes.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    // Slack is told as before.
    assert!(!requests_to(&slack, WEBHOOK_PATH).await.is_empty());
}

#[test]
fn a_change_event_carries_the_revisions_and_images_enrichment_found() {
    use ecs_notifier::cli::load_enrichment;
    use ecs_notifier::judge::{judge, Options};
    use ecs_notifier::sinks::datadog::change::change_body;
    use ecs_notifier::source::events;

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events/enrichment");
    let mut bodies = Vec::new();
    for (name, new, prev) in [
        ("deployment-completed.json", "checkout-api:43", None),
        (
            "deployment-rollback.json",
            "checkout-api:42",
            Some("checkout-api:41"),
        ),
    ] {
        let enrichment = load_enrichment(Some(dir), name).unwrap();
        let (_, event) = events(&sample(name)).remove(0);
        let plan = judge(
            &event.unwrap(),
            &enrichment,
            &Options::default(),
            chrono::Utc::now(),
        );
        let event = &plan.datadog.events[0];
        let change = event
            .change
            .as_deref()
            .expect("a deployment tells a change");
        let body = change_body(event, change);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let c = &v["data"]["attributes"]["attributes"];
        assert_eq!(c["new_value"]["task_definition"], new, "{name}");
        assert!(
            c["new_value"]["images"]["app"]
                .as_str()
                .is_some_and(|i| i.contains(".dkr.ecr.")),
            "{name}: {c}"
        );
        assert_eq!(c["prev_value"]["task_definition"].as_str(), prev, "{name}");
        bodies.push(body);
    }
    assert_valid_change_events(&bodies);
}
