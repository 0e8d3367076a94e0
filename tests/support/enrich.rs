//! An `Enricher` whose AWS clients call `endpoint` (a `Moto::endpoint` or a fake ECS endpoint).

use ecs_notifier::aws::Aws;
use ecs_notifier::{config::EnrichSettings, enrich::Enricher};

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
