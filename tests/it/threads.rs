//! Replies in Slack threads, through the built binary under the Lambda Runtime API emulator: in
//! app mode a deployment hook's notices go in its service's deployment thread, and a container
//! instance's return to OK in its impairment alert's thread; with a webhook (no threads) the
//! hook's notice is a post of its own and the return to OK posts nothing.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use support::lambda::{expect_response, Lambda};
use support::sample;

const CHANNEL_ID: &str = "C0THREADS";

/// Slack's Web API, answering each post with a `ts` of its own (`1763630000.00000N`).
struct Posts(AtomicUsize);

impl Respond for Posts {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "channel": CHANNEL_ID, "ts": format!("1763630000.{n:06}")}),
        )
    }
}

async fn slack_api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Posts(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

/// Each Slack call: its method (`chat.postMessage`, `chat.update`) and JSON body, in order.
async fn calls(slack: &MockServer) -> Vec<(String, Value)> {
    support::requests(slack)
        .await
        .iter()
        .map(|r| {
            (
                r.url.path().trim_start_matches("/api/").to_string(),
                serde_json::from_slice(&r.body).expect("JSON body"),
            )
        })
        .collect()
}

async fn app_mode(slack: &MockServer, datadog: &MockServer) -> Lambda {
    let api = format!("{}/api", slack.uri());
    let dd = datadog.uri();
    Lambda::spawn(&[
        ("SLACK_BOT_TOKEN", "xoxb-test-token"),
        ("SLACK_CHANNEL", "deploys"),
        ("SLACK_API_URL", api.as_str()),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", dd.as_str()),
        ("ENRICHMENT", "off"),
    ])
    .await
}

async fn send(lambda: &mut Lambda, samples: &[&str]) {
    for (i, name) in samples.iter().enumerate() {
        let event = sample(name);
        let id = event["id"].as_str().expect("id");
        expect_response(name, &lambda.invoke(&format!("req-{i}"), &event, id).await);
    }
}

fn text(body: &Value) -> &str {
    body["text"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_reply_in_the_deployment_thread_and_recovery_in_the_alert_thread() {
    let slack = slack_api().await;
    let datadog = support::server(202, "{}").await;
    let mut lambda = app_mode(&slack, &datadog).await;
    send(
        &mut lambda,
        &[
            "deployment-in-progress.json",
            "hook-awaiting-action.json",
            "hook-succeeded.json",
            "hook-failed.json",
            "instance-health-gpu-impaired.json",
            "instance-health-ok.json",
        ],
    )
    .await;
    lambda.stop().await;
    let calls = calls(&slack).await;
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        ["chat.postMessage"; 5],
        "deployment, approval, hook failure, impairment, recovery (a passed hook is quiet): {calls:?}"
    );
    let (deployment, approval, failed, impaired, ok) = (
        &calls[0].1,
        &calls[1].1,
        &calls[2].1,
        &calls[3].1,
        &calls[4].1,
    );

    // The deployment's message opens its thread in the configured channel.
    assert!(
        text(deployment).starts_with("Deployment started: checkout-api"),
        "{deployment}"
    );
    assert_eq!(deployment["channel"], "deploys");
    assert!(deployment.get("thread_ts").is_none());

    // The hook waiting for approval replies there, and is shown in the channel too.
    assert!(
        text(approval).starts_with("Approval needed: checkout-api"),
        "{approval}"
    );
    assert_eq!(approval["thread_ts"], "1763630000.000001", "{approval}");
    assert_eq!(approval["channel"], CHANNEL_ID);
    assert_eq!(approval["reply_broadcast"], true);
    assert!(
        text(approval).contains("POST_TEST_TRAFFIC_SHIFT")
            || approval["blocks"]
                .to_string()
                .contains("POST_TEST_TRAFFIC_SHIFT")
    );

    // Its failure too.
    assert!(
        text(failed).starts_with("Deployment hook failed: checkout-api"),
        "{failed}"
    );
    assert_eq!(failed["thread_ts"], "1763630000.000001", "{failed}");
    assert_eq!(failed["reply_broadcast"], true);

    // An impaired instance is a post of its own; its return to OK replies in its thread,
    // quietly (not shown in the channel).
    assert!(
        text(impaired).starts_with("Container instance impaired: i-0abcdef1234567890"),
        "{impaired}"
    );
    assert!(impaired.get("thread_ts").is_none());
    assert!(
        text(ok).starts_with("Container instance healthy again: i-0abcdef1234567890"),
        "{ok}"
    );
    assert_eq!(ok["thread_ts"], "1763630000.000004", "{ok}");
    assert!(ok.get("reply_broadcast").is_none(), "{ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_with_no_alert_to_answer_posts_nothing() {
    // App mode, but this process never saw the impairment (and has no state table).
    let slack = slack_api().await;
    let datadog = support::server(202, "{}").await;
    let mut lambda = app_mode(&slack, &datadog).await;
    send(
        &mut lambda,
        &["instance-health-ok.json", "hook-awaiting-action.json"],
    )
    .await;
    lambda.stop().await;
    let calls = calls(&slack).await;
    assert_eq!(calls.len(), 1, "only the approval: {calls:?}");
    let approval = &calls[0].1;
    assert!(text(approval).starts_with("Approval needed"), "{approval}");
    // No deployment message to reply in: a post of its own.
    assert!(approval.get("thread_ts").is_none(), "{approval}");
    assert_eq!(approval["channel"], "deploys");
    // The recovery still reached Datadog (its count and its event).
    let counted: usize = support::requests_to(&datadog, "/api/v1/distribution_points")
        .await
        .iter()
        .map(|r| support::distribution_values(&r.body, "ecs.instance.health_changes").len())
        .sum();
    assert_eq!(counted, 1, "the recovery is counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_webhook_hooks_post_on_their_own_and_recovery_is_quiet() {
    let slack = support::server(200, "ok").await;
    let datadog = support::server(202, "{}").await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut lambda = Lambda::spawn(&[
        ("SLACK_WEBHOOK_URL", webhook.as_str()),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", dd.as_str()),
        ("ENRICHMENT", "off"),
    ])
    .await;
    send(
        &mut lambda,
        &[
            "deployment-in-progress.json",
            "hook-awaiting-action.json",
            "instance-health-gpu-impaired.json",
            "instance-health-ok.json",
        ],
    )
    .await;
    lambda.stop().await;
    let posted: Vec<String> = support::bodies(&slack)
        .await
        .iter()
        .map(|b| {
            let v: Value = serde_json::from_str(b).expect("JSON");
            text(&v).to_string()
        })
        .collect();
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(
        posted[0].starts_with("Approval needed: checkout-api"),
        "{posted:?}"
    );
    assert!(
        posted[1].starts_with("Container instance impaired"),
        "{posted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_on_another_process_finds_the_thread_in_the_state_table() {
    let moto = support::Moto::start().await;
    support::create_state_table(&moto.endpoint, "ecs-notifier-state").await;
    let slack = slack_api().await;
    let datadog = support::server(202, "{}").await;
    let api = format!("{}/api", slack.uri());
    let dd = datadog.uri();
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-test-token"),
        ("SLACK_CHANNEL", "deploys"),
        ("SLACK_API_URL", api.as_str()),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", dd.as_str()),
        ("ENRICHMENT", "off"),
        ("STATE_TABLE", "ecs-notifier-state"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_REGION", support::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    // One process sees the impairment and the deployment; another, the recovery and the hook.
    let mut a = Lambda::spawn(&env).await;
    send(
        &mut a,
        &[
            "instance-health-gpu-impaired.json",
            "deployment-in-progress.json",
        ],
    )
    .await;
    a.stop().await;
    let mut b = Lambda::spawn(&env).await;
    send(
        &mut b,
        &["instance-health-ok.json", "hook-awaiting-action.json"],
    )
    .await;
    b.stop().await;
    let calls = calls(&slack).await;
    assert_eq!(calls.len(), 4, "{calls:?}");
    let (ok, approval) = (&calls[2].1, &calls[3].1);
    assert!(
        text(ok).starts_with("Container instance healthy again"),
        "{ok}"
    );
    assert_eq!(ok["thread_ts"], "1763630000.000001", "{ok}");
    assert!(text(approval).starts_with("Approval needed"), "{approval}");
    assert_eq!(approval["thread_ts"], "1763630000.000002", "{approval}");
}
