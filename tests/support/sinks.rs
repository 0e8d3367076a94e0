//! Loopback Slack and Datadog (wiremock servers answering a status and body), the requests they
//! got, and a `Notifier` configured to post to them.

use std::time::Duration;

use ecs_notifier::config::Config;
use ecs_notifier::handler::Notifier;
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// A deadline `secs` seconds from now.
pub fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// A mock server answering every POST with `status` and `body`.
pub async fn server(status: u16, body: &str) -> MockServer {
    server_with(ResponseTemplate::new(status).set_body_string(body)).await
}

/// A mock server answering every POST with `answer`.
pub async fn server_with(answer: ResponseTemplate) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&s)
        .await;
    s
}

/// Slack's Web API answer to a post that worked (`ok`, channel `C0123`, ts
/// `1763630000.000100`).
pub fn slack_api_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"ok": true, "channel": "C0123", "ts": "1763630000.000100"}))
}

/// A mock server answering the POSTs `matcher` matches with `status` and `body` (anything else
/// gets wiremock's 404).
pub async fn server_for(matcher: impl Match + 'static, status: u16, body: &str) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(matcher)
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&s)
        .await;
    s
}

/// Every request `server` received, in arrival order.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("wiremock records requests")
}

/// The requests `server` received on path `route`.
pub async fn requests_to(server: &MockServer, route: &str) -> Vec<Request> {
    requests(server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == route)
        .collect()
}

/// The bodies of every request `server` received, as text.
pub async fn bodies(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// `Config::from_vars` on `vars` (a later pair overrides an earlier one of the same name).
pub fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
}

/// A `Notifier` posting to the webhook `webhook_path` on `slack` and to Datadog at `datadog`
/// with `api_key`, enrichment off; `extra` is added last (it overrides).
pub fn notifier_at(
    slack: &MockServer,
    webhook_path: &str,
    datadog: &MockServer,
    api_key: &str,
    extra: &[(&str, &str)],
) -> Notifier {
    let webhook = format!("{}{webhook_path}", slack.uri());
    let dd = datadog.uri();
    let mut vars = vec![
        ("SLACK_WEBHOOK_URL", webhook.as_str()),
        ("DD_API_KEY", api_key),
        ("DD_API_URL", dd.as_str()),
        ("ENRICHMENT", "off"),
    ];
    vars.extend_from_slice(extra);
    Notifier::new(&config(&vars)).unwrap()
}

/// `notifier_at` with the webhook `/services/T0/B0/x` and the Datadog API key `k`.
pub fn notifier(slack: &MockServer, datadog: &MockServer, extra: &[(&str, &str)]) -> Notifier {
    notifier_at(slack, "/services/T0/B0/x", datadog, "k", extra)
}
