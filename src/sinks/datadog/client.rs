//! Posts metrics, events and change events to the Datadog API.

use std::future::Future;
use std::pin::Pin;

use reqwest::Client;
use serde::Serialize;
use tokio::time::Instant;

use super::change::change_body;
use super::payload;
use crate::config::Secret;
use crate::judge::measure::{Distribution, Event, Series};
use crate::sinks::retry::{self, RetryPolicy, SendError};

/// The Datadog HTTP API of one site (or a proxy), with its API key.
#[derive(Debug, Clone)]
pub struct DatadogApi {
    base_url: String,
    api_key: Secret,
    policy: RetryPolicy,
    /// Where change events go, and the application key `/api/v2/events` requires.
    changes: Option<(String, Secret)>,
}

impl DatadogApi {
    /// `base_url` is `https://api.<site>` or an override, without a trailing slash.
    pub fn new(base_url: String, api_key: Secret, policy: RetryPolicy) -> Self {
        Self {
            base_url,
            api_key,
            policy,
            changes: None,
        }
    }

    /// Sends the events that tell a change as change events, to `events_url` (the site's
    /// event intake, without a trailing slash) with `app_key`.
    pub fn with_change_events(mut self, events_url: String, app_key: Secret) -> Self {
        self.changes = Some((events_url, app_key));
        self
    }

    /// Whether change events go to `/api/v2/events`.
    pub fn sends_changes(&self) -> bool {
        self.changes.is_some()
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
        self.send(client, &url, body, None, deadline).await
    }

    async fn send(
        &self,
        client: &Client,
        url: &str,
        body: Vec<u8>,
        app_key: Option<&Secret>,
        deadline: Instant,
    ) -> Result<(), SendError> {
        retry::send(
            client,
            |c| {
                let request = c
                    .post(url)
                    .header("DD-API-KEY", self.api_key.expose())
                    .header("content-type", "application/json");
                match app_key {
                    Some(key) => request.header("DD-APPLICATION-KEY", key.expose()),
                    None => request,
                }
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
            let url = format!("{}{path}", self.base_url);
            match self
                .send(client, &url, payload::series_body(items), None, deadline)
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
        let wire: Vec<_> = series.iter().map(payload::distribution).collect();
        self.post_series(client, "/api/v1/distribution_points", &wire, deadline)
            .await
    }

    /// `POST /api/v2/series`.
    pub async fn series(
        &self,
        client: &Client,
        series: &[Series],
        deadline: Instant,
    ) -> Result<(), SendError> {
        let wire: Vec<_> = series.iter().map(payload::series).collect();
        self.post_series(client, "/api/v2/series", &wire, deadline)
            .await
    }

    /// `POST /api/v1/events`; an event that tells a change goes to `/api/v2/events` as a change
    /// event instead when an application key is configured.
    pub async fn event(
        &self,
        client: &Client,
        event: &Event,
        deadline: Instant,
    ) -> Result<(), SendError> {
        match (&event.change, &self.changes) {
            (Some(change), Some((events_url, app_key))) => {
                let url = format!("{events_url}/api/v2/events");
                let body = change_body(event, change);
                self.send(client, &url, body, Some(app_key), deadline).await
            }
            _ => {
                let body = payload::event(event);
                self.post(client, "/api/v1/events", &body, deadline).await
            }
        }
    }
}
