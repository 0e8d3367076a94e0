//! Loopback Slack and Datadog (wiremock servers answering a status and body, or answers in
//! turn: rate limits or failures first, then success), the requests they got, and a `Notifier`
//! configured to post to them.

use std::time::Duration;

use ecs_notifier::config::Config;
use ecs_notifier::handler::Notifier;
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

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
    answer_posts(&s, answer).await;
    s
}

/// A webhook's answer to a post that worked: 200 `ok`.
pub fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string("ok")
}

/// A rate limit: 429, `Retry-After: 1` (second) and Slack's `rate_limited` body.
pub fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_string("rate_limited")
}

/// A mock of the POSTs to `route`, or of every POST.
fn posts_to(route: Option<&str>) -> MockBuilder {
    match route {
        Some(route) => Mock::given(method("POST")).and(path(route)),
        None => Mock::given(method("POST")),
    }
}

/// Mounts on `server`, for the POSTs to `route` (every POST when `None`): each of `first`'s
/// answers for its number of requests, in turn, then `then` for every request after.
pub async fn answer_in_turn(
    server: &MockServer,
    route: Option<&str>,
    first: Vec<(ResponseTemplate, u64)>,
    then: ResponseTemplate,
) {
    let mut priority = 1;
    for (answer, times) in first {
        posts_to(route)
            .respond_with(answer)
            .up_to_n_times(times)
            .with_priority(priority)
            .mount(server)
            .await;
        priority += 1;
    }
    posts_to(route)
        .respond_with(then)
        .with_priority(priority)
        .mount(server)
        .await;
}

/// Mounts on `server` `times` rate limits (`rate_limited`) for the first POSTs, then `then`.
pub async fn respond_429_then(server: &MockServer, times: u64, then: ResponseTemplate) {
    answer_in_turn(server, None, vec![(rate_limited(), times)], then).await;
}

/// Mounts on `server`, ahead of its other mounts, `status` for every POST whose body contains
/// `text`.
pub async fn refuse_posts_containing(server: &MockServer, text: &str, status: u16) {
    Mock::given(method("POST"))
        .and(body_string_contains(text))
        .respond_with(ResponseTemplate::new(status))
        .with_priority(1)
        .mount(server)
        .await;
}

/// Forgets what `server` was told to answer and what it received; `answer` answers every POST
/// from now on.
pub async fn answer_from_now(server: &MockServer, answer: ResponseTemplate) {
    server.reset().await;
    answer_posts(server, answer).await;
}

/// Mounts `answer` for every POST to `server`.
pub async fn answer_posts(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(server)
        .await;
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

/// Slack answering every POST 200 `ok`, Datadog 202 `{}`, and a `notifier` on them with `extra`.
pub async fn ok_sinks(extra: &[(&str, &str)]) -> (MockServer, MockServer, Notifier) {
    let slack = server(200, "ok").await;
    let datadog = server(202, "{}").await;
    let n = notifier(&slack, &datadog, extra);
    (slack, datadog, n)
}
