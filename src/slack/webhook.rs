//! Posts messages to a Slack incoming webhook.

use reqwest::Client;
use tokio::time::Instant;

use super::Message;
use crate::retry::{self, RetryPolicy, SendError};
use crate::secret::Secret;

/// A Slack incoming webhook; its URL is a secret.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    url: Secret,
    policy: RetryPolicy,
}

impl SlackWebhook {
    pub fn new(url: Secret, policy: RetryPolicy) -> Self {
        Self { url, policy }
    }

    /// Posts one message, retrying as the policy allows until `deadline`.
    pub async fn post(
        &self,
        client: &Client,
        message: &Message,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let body = serde_json::to_vec(message).unwrap_or_default();
        retry::send(
            client,
            |c| {
                c.post(self.url.expose())
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
            &self.policy,
            deadline,
        )
        .await
    }
}
