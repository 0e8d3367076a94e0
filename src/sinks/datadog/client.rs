//! Posts metrics and events to the Datadog API.

use std::future::Future;
use std::pin::Pin;

use reqwest::Client;
use serde::Serialize;
use tokio::time::Instant;

use super::payload::{Distribution, Event, Series};
use crate::config::Secret;
use crate::sinks::retry::{self, RetryPolicy, SendError};

/// `{"series": [...]}`, serialized straight from the borrowed items.
#[derive(Serialize)]
struct SeriesBody<'a, T> {
    series: &'a [T],
}

/// The request body of a series or distribution post: `{"series": items}`.
pub fn series_body<T: Serialize>(items: &[T]) -> Vec<u8> {
    serde_json::to_vec(&SeriesBody { series: items }).unwrap_or_default()
}

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
        body: &(impl Serialize + Sync),
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

    /// Posts `items` as `{"series": items}`; when Datadog answers 413 (payload too large),
    /// sends each half on its own, down to single series.
    fn post_series<'a, T: Serialize + Sync>(
        &'a self,
        client: &'a Client,
        path: &'a str,
        items: &'a [T],
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(async move {
            match self
                .post(client, path, &SeriesBody { series: items }, deadline)
                .await
            {
                Err(SendError::Rejected { status: 413, .. }) if items.len() > 1 => {
                    let (a, b) = items.split_at(items.len() / 2);
                    tracing::info!(
                        path,
                        series = items.len(),
                        "Datadog: payload too large; sending it in two halves"
                    );
                    self.post_series(client, path, a, deadline).await?;
                    self.post_series(client, path, b, deadline).await
                }
                other => other,
            }
        })
    }

    /// `POST /api/v1/distribution_points`.
    pub async fn distributions(
        &self,
        client: &Client,
        series: &[Distribution],
        deadline: Instant,
    ) -> Result<(), SendError> {
        self.post_series(client, "/api/v1/distribution_points", series, deadline)
            .await
    }

    /// `POST /api/v2/series`.
    pub async fn series(
        &self,
        client: &Client,
        series: &[Series],
        deadline: Instant,
    ) -> Result<(), SendError> {
        self.post_series(client, "/api/v2/series", series, deadline)
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
