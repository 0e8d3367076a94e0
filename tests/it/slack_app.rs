//! Slack app mode against a Slack Web API on loopback: `chat.postMessage` with the bot token,
//! per-service channels, and Slack's `ok:false` errors.

use crate::support;

use std::time::Duration;

use ecs_notifier::handler::Notifier;
use ecs_notifier::sinks::retry::SendError;
use serde_json::{json, Value};
use support::{answer_in_turn, rate_limited, sample, slack_api_ok, soon};
use tokio::time::Instant;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "xoxb-test-token-secret";

fn notifier(slack: &MockServer) -> Notifier {
    let api = format!("{}/api", slack.uri());
    let config = support::config(&[
        ("SLACK_BOT_TOKEN", TOKEN),
        ("SLACK_CHANNEL", "#ops-alerts"),
        ("SLACK_API_URL", &api),
        ("ENRICHMENT", "off"),
    ]);
    Notifier::new(&config).unwrap()
}

fn slack_error(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": error}))
}

async fn posts(server: &MockServer) -> Vec<Request> {
    support::requests_to(server, "/api/chat.postMessage").await
}

#[tokio::test]
async fn posts_with_the_bot_token_to_the_default_channel() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(slack_api_ok())
        .mount(&slack)
        .await;
    let report = notifier(&slack)
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert_eq!(report.delivered, vec!["slack"]);
    let sent = posts(&slack).await;
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["channel"], "ops-alerts");
    assert!(body["text"]
        .as_str()
        .unwrap()
        .starts_with("Out of memory: checkout-api"));
    assert_eq!(body["blocks"][0]["type"], "header");
}

#[tokio::test]
async fn retries_rate_limits_and_passing_errors() {
    let slack = MockServer::start().await;
    let first = vec![(rate_limited(), 1), (slack_error("ratelimited"), 1)];
    answer_in_turn(&slack, None, first, slack_api_ok()).await;
    let started = Instant::now();
    notifier(&slack)
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap();
    assert_eq!(posts(&slack).await.len(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
}

#[tokio::test]
async fn invalid_auth_fails_at_once_with_slacks_error() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(slack_error("invalid_auth"))
        .mount(&slack)
        .await;
    let err = notifier(&slack)
        .handle(&sample("task-oom.json"), soon(10), None)
        .await
        .unwrap_err();
    assert_eq!(posts(&slack).await.len(), 1, "no retry");
    assert_eq!(
        err.failures[0].1,
        SendError::Rejected {
            status: 200,
            body: "invalid_auth".into()
        }
    );
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_wrong_routed_channel_falls_back_to_the_default() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"channel": "payments-alerts"})))
        .respond_with(slack_error("not_in_channel"))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"channel": "ops-alerts"})))
        .respond_with(slack_api_ok())
        .mount(&slack)
        .await;
    // The routing tag comes from the task definition, served by a fake ECS endpoint.
    let ecs = support::server_with(support::aws_json(json!({
        "taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly-report:23",
            "family": "nightly-report", "revision": 23, "containerDefinitions": [{"name": "app", "essential": true}]},
        "tags": [{"key": "ecs-notifier:slack-channel", "value": "payments-alerts"}]
    })))
    .await;
    let api = format!("{}/api", slack.uri());
    let config = support::config(&[
        ("SLACK_BOT_TOKEN", TOKEN),
        ("SLACK_CHANNEL", "ops-alerts"),
        ("SLACK_API_URL", &api),
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
    assert_eq!(report.delivered, vec!["slack"]);
    let channels: Vec<String> = posts(&slack)
        .await
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["channel"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(channels, ["payments-alerts", "ops-alerts"]);
}

#[tokio::test]
async fn a_deployment_is_one_message_updated_in_place() {
    let slack = support::server_with(slack_api_ok()).await;
    let n = notifier(&slack);
    let id = "ecs-svc/7286439018245531904";
    let mut started = sample("deployment-in-progress.json");
    started["detail"]["deploymentId"] = json!(id);
    let mut failed = sample("deployment-failed.json");
    failed["detail"]["deploymentId"] = json!(id);
    let mut rollback = sample("deployment-rollback.json");
    rollback["detail"]["deploymentId"] = json!(id);
    for event in [&started, &failed, &rollback] {
        n.handle(event, soon(10), None).await.unwrap();
    }
    let calls: Vec<(String, Value)> = slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect();
    let summary: Vec<(&str, Option<&str>, &str)> = calls
        .iter()
        .map(|(path, body)| {
            (
                path.as_str(),
                body["thread_ts"].as_str().or(body["ts"].as_str()),
                body["text"].as_str().unwrap(),
            )
        })
        .collect();
    // Started: posted. Failed: the same message edited, and a reply in its thread (an edit
    // notifies nobody). Rollback: edited again, and replied to.
    assert_eq!(calls.len(), 5, "{summary:#?}");
    assert_eq!(summary[0].0, "/api/chat.postMessage");
    assert!(
        summary[0].2.starts_with("Deployment started: checkout-api"),
        "{summary:#?}"
    );
    assert_eq!(
        (summary[1].0, summary[1].1),
        ("/api/chat.update", Some("1763630000.000100"))
    );
    assert!(
        summary[1].2.starts_with("Deployment failed"),
        "{summary:#?}"
    );
    assert_eq!(
        (summary[2].0, summary[2].1),
        ("/api/chat.postMessage", Some("1763630000.000100"))
    );
    assert_eq!(
        (summary[3].0, summary[3].1),
        ("/api/chat.update", Some("1763630000.000100"))
    );
    assert!(
        summary[3].2.starts_with("Deployment rolling back"),
        "{summary:#?}"
    );
    assert_eq!(summary[4].1, Some("1763630000.000100"));
    assert_eq!(calls[1].1["channel"], "C0123");
}

#[tokio::test]
async fn webhook_mode_keeps_deployment_starts_quiet() {
    let slack = support::server(200, "ok").await;
    let webhook = format!("{}/services/T0/B0/x", slack.uri());
    let config = support::config(&[("SLACK_WEBHOOK_URL", &webhook), ("ENRICHMENT", "off")]);
    let n = Notifier::new(&config).unwrap();
    n.handle(&sample("deployment-in-progress.json"), soon(10), None)
        .await
        .unwrap();
    assert!(slack.received_requests().await.unwrap().is_empty());
}

/// A circuit breaker's rollback is a deployment of its own (another deployment id): it is told
/// in the message of the deployment that failed, edited in place, with a reply in its thread.
#[tokio::test]
async fn a_rollback_is_told_in_the_failed_deployments_message() {
    let slack = support::server_with(slack_api_ok()).await;
    let n = notifier(&slack);
    let failed_id = "ecs-svc/7286439018245531904";
    let mut started = sample("deployment-in-progress.json");
    started["detail"]["deploymentId"] = json!(failed_id);
    let mut failed = sample("deployment-failed.json");
    failed["detail"]["deploymentId"] = json!(failed_id);
    // The rollback as the AWS page shows it: a deployment id of its own.
    let rollback = sample("deployment-rollback.json");
    assert_ne!(rollback["detail"]["deploymentId"], json!(failed_id));
    for event in [&started, &failed, &rollback] {
        n.handle(event, soon(10), None).await.unwrap();
    }
    let calls: Vec<(String, Value)> = slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect();
    let last_two: Vec<(&str, Option<&str>, &str)> = calls[calls.len() - 2..]
        .iter()
        .map(|(path, body)| {
            (
                path.as_str(),
                body["thread_ts"].as_str().or(body["ts"].as_str()),
                body["text"].as_str().unwrap(),
            )
        })
        .collect();
    // The failed deployment's message (posted first) is edited to say it rolls back, and the
    // rollback replies in its thread: no message of its own.
    assert_eq!(last_two[0].0, "/api/chat.update", "{last_two:#?}");
    assert_eq!(last_two[0].1, Some("1763630000.000100"));
    assert!(
        last_two[0].2.starts_with("Deployment rolling back"),
        "{last_two:#?}"
    );
    assert_eq!(last_two[1].0, "/api/chat.postMessage");
    assert_eq!(last_two[1].1, Some("1763630000.000100"), "{last_two:#?}");
    let posts = calls
        .iter()
        .filter(|(path, body)| path == "/api/chat.postMessage" && body["thread_ts"].is_null())
        .count();
    assert_eq!(
        posts, 1,
        "one message for the deployment, its failure and its rollback"
    );
}
