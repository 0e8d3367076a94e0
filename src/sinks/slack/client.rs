//! The Slack clients: an incoming webhook (one channel, chosen when it was made), and the Web
//! API with a Slack app's bot token (`chat.postMessage` to any channel the app is in,
//! `chat.update` to edit a message in place).

use reqwest::Client;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::blocks::{Message, Posted};
use crate::config::Secret;
use crate::sinks::retry::{self, BodyVerdict, RetryPolicy, SendError};

/// Slack's Web API with a bot token.
#[derive(Debug, Clone)]
pub struct SlackApi {
    base_url: String,
    token: Secret,
    policy: RetryPolicy,
}

#[derive(Debug, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

/// Errors a retry can cure.
const PASSING: [&str; 6] = [
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Errors that mean the channel is wrong (not the token or the message).
pub const CHANNEL_ERRORS: [&str; 4] = [
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
];

/// Reads a Web API answer: `ok:true`, an error worth retrying, or one that is final.
pub fn judge(body: &str) -> BodyVerdict {
    match serde_json::from_str::<Answer>(body) {
        Ok(answer) if answer.ok => BodyVerdict::Ok,
        Ok(answer) => {
            let error = answer.error.unwrap_or_else(|| "unknown_error".into());
            if PASSING.contains(&error.as_str()) {
                BodyVerdict::Retry
            } else {
                BodyVerdict::Reject(error)
            }
        }
        Err(_) => BodyVerdict::Reject("answer is not Slack API JSON".into()),
    }
}

/// Whether a failed post is the channel's fault, so another channel may work.
pub fn is_channel_error(err: &SendError) -> bool {
    matches!(err, SendError::Rejected { body, .. } if CHANNEL_ERRORS.contains(&body.as_str()))
}

impl SlackApi {
    /// `base_url` is `https://slack.com/api` or an override, without a trailing slash.
    pub fn new(base_url: String, token: Secret, policy: RetryPolicy) -> Self {
        Self {
            base_url,
            token,
            policy,
        }
    }

    /// A Web API method's answer, as text, once Slack said `ok:true`.
    async fn answer(
        &self,
        client: &Client,
        method: &str,
        body: serde_json::Value,
        deadline: Instant,
    ) -> Result<String, SendError> {
        let url = format!("{}/{method}", self.base_url);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        retry::send_judged(
            client,
            |c| {
                c.post(&url)
                    .bearer_auth(self.token.expose())
                    .header("content-type", "application/json; charset=utf-8")
                    .body(bytes.clone())
            },
            &self.policy,
            deadline,
            judge,
        )
        .await
    }

    async fn call(
        &self,
        client: &Client,
        method: &str,
        body: serde_json::Value,
        deadline: Instant,
    ) -> Result<Posted, SendError> {
        let answer = self.answer(client, method, body, deadline).await?;
        let answer: Answer = serde_json::from_str(&answer).map_err(|_| SendError::Rejected {
            status: 200,
            body: "answer is not Slack API JSON".into(),
        })?;
        Ok(Posted {
            channel: answer.channel.unwrap_or_default(),
            ts: answer.ts.unwrap_or_default(),
        })
    }

    /// `chat.postMessage` to `channel` (a name without `#`, or an id).
    pub async fn post(
        &self,
        client: &Client,
        channel: &str,
        message: &Message,
        deadline: Instant,
    ) -> Result<Posted, SendError> {
        self.post_message(client, channel, None, message, deadline)
            .await
    }

    /// A reply in the thread of `posted` (notifies, where an edit does not); `broadcast`: also
    /// shown in the channel (`reply_broadcast`), for news that needs someone.
    pub async fn reply(
        &self,
        client: &Client,
        posted: &Posted,
        message: &Message,
        broadcast: bool,
        deadline: Instant,
    ) -> Result<Posted, SendError> {
        let thread = Some((posted.ts.as_str(), broadcast));
        self.post_message(client, &posted.channel, thread, message, deadline)
            .await
    }

    async fn post_message(
        &self,
        client: &Client,
        channel: &str,
        thread: Option<(&str, bool)>,
        message: &Message,
        deadline: Instant,
    ) -> Result<Posted, SendError> {
        let mut body = json!({
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Some((ts, broadcast)) = thread {
            body["thread_ts"] = json!(ts);
            if broadcast {
                body["reply_broadcast"] = json!(true);
            }
        }
        self.call(client, "chat.postMessage", body, deadline).await
    }

    /// `usergroups.users.list`: the user ids of user group `group` (`S…`).
    pub async fn group_members(
        &self,
        client: &Client,
        group: &str,
        deadline: Instant,
    ) -> Result<Vec<String>, SendError> {
        // A reading method: its argument in the query (Slack takes JSON bodies only for some).
        let method = format!("usergroups.users.list?usergroup={group}");
        let answer = self.answer(client, &method, json!({}), deadline).await?;
        let answer: serde_json::Value =
            serde_json::from_str(&answer).map_err(|_| SendError::Rejected {
                status: 200,
                body: "answer is not Slack API JSON".into(),
            })?;
        Ok(answer["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect())
    }

    /// `chat.update`: replaces a posted message in place.
    pub async fn update(
        &self,
        client: &Client,
        posted: &Posted,
        message: &Message,
        deadline: Instant,
    ) -> Result<Posted, SendError> {
        let body = json!({
            "channel": posted.channel,
            "ts": posted.ts,
            "text": message.text,
            "blocks": message.blocks,
        });
        self.call(client, "chat.update", body, deadline).await
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_web_api_answers() {
        assert_eq!(
            judge(r#"{"ok":true,"channel":"C1","ts":"1.2"}"#),
            BodyVerdict::Ok
        );
        assert_eq!(
            judge(r#"{"ok":false,"error":"ratelimited"}"#),
            BodyVerdict::Retry
        );
        assert_eq!(
            judge(r#"{"ok":false,"error":"internal_error"}"#),
            BodyVerdict::Retry
        );
        assert_eq!(
            judge(r#"{"ok":false,"error":"channel_not_found"}"#),
            BodyVerdict::Reject("channel_not_found".into())
        );
        assert_eq!(
            judge(r#"{"ok":false,"error":"invalid_auth"}"#),
            BodyVerdict::Reject("invalid_auth".into())
        );
        assert!(matches!(judge("ok"), BodyVerdict::Reject(_)));
        let err = SendError::Rejected {
            status: 200,
            body: "not_in_channel".into(),
        };
        assert!(is_channel_error(&err));
        let err = SendError::Rejected {
            status: 200,
            body: "invalid_auth".into(),
        };
        assert!(!is_channel_error(&err));
    }
}
