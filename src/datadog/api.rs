//! Posts metrics and events to the Datadog API.

use reqwest::Client;
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::payload::{Distribution, Event, Series};
use crate::retry::{self, RetryPolicy, SendError};
use crate::secret::Secret;

/// The Datadog HTTP API of one site (or a proxy), with its API key.
#[derive(Debug, Clone)]
pub struct DatadogApi {
    base_url: String,
    api_key: Secret,
    policy: RetryPolicy,
}

impl DatadogApi {
    /// `base_url` is `https://api.<site>` or an override, without a trailing slash.
    pub fn new(base_url: String, api_key: Secret, policy: RetryPolicy) -> Self {
        Self {
            base_url,
            api_key,
            policy,
        }
    }

    async fn post(
        &self,
        client: &Client,
        path: &str,
        body: &impl Serialize,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let url = format!("{}{path}", self.base_url);
        let body = serde_json::to_vec(body).unwrap_or_default();
        retry::send(
            client,
            |c| {
                c.post(&url)
                    .header("DD-API-KEY", self.api_key.expose())
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
            &self.policy,
            deadline,
        )
        .await
    }

    /// `POST /api/v1/distribution_points`.
    pub async fn distributions(
        &self,
        client: &Client,
        series: &[Distribution],
        deadline: Instant,
    ) -> Result<(), SendError> {
        self.post(
            client,
            "/api/v1/distribution_points",
            &json!({ "series": series }),
            deadline,
        )
        .await
    }

    /// `POST /api/v2/series`.
    pub async fn series(
        &self,
        client: &Client,
        series: &[Series],
        deadline: Instant,
    ) -> Result<(), SendError> {
        self.post(
            client,
            "/api/v2/series",
            &json!({ "series": series }),
            deadline,
        )
        .await
    }

    /// `POST /api/v1/events`.
    pub async fn event(
        &self,
        client: &Client,
        event: &Event,
        deadline: Instant,
    ) -> Result<(), SendError> {
        self.post(client, "/api/v1/events", event, deadline).await
    }
}
