//! An `Enricher` on moto or on a fake ECS endpoint (canned answers by operation) on loopback.

use ecs_notifier::aws::Aws;
use ecs_notifier::{config::EnrichSettings, enrich::Enricher};
use serde_json::{json, Value};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The ECS API's `X-Amz-Target` prefix.
pub const ECS: &str = "AmazonEC2ContainerServiceV20141113";

/// An `Enricher` with `settings` on `super::sdk_config(endpoint)`, assuming `role` (a role ARN
/// pattern) for other accounts when given.
pub async fn enricher_for(
    endpoint: &str,
    role: Option<&str>,
    settings: EnrichSettings,
) -> Enricher {
    let config = super::sdk_config(endpoint).await;
    Enricher::with_aws(Aws::with_config(config, role.map(String::from)), settings)
}

/// An `enricher_for` `endpoint`, assuming no role, that reads no log lines (`LOG_LINES=0`).
pub async fn enricher_without_logs(endpoint: &str) -> Enricher {
    let settings = EnrichSettings {
        log_lines: 0,
        ..EnrichSettings::default()
    };
    enricher_for(endpoint, None, settings).await
}

/// An AWS JSON-protocol answer: 200 with `body`.
pub fn aws_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(body)
}

/// An AWS JSON-protocol error: 400 with `__type` `kind` and `message`.
pub fn aws_error(kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(json!({"__type": kind, "message": message}))
}

/// A fake ECS endpoint answering each ECS `(operation, answer)` (`DescribeTasks`); anything
/// else gets wiremock's 404.
pub async fn fake_ecs(answers: Vec<(&str, ResponseTemplate)>) -> MockServer {
    let server = MockServer::start().await;
    for (operation, answer) in answers {
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                format!("{ECS}.{operation}").as_str(),
            ))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    server
}
