//! The Teams client: a Workflow's "When a Teams webhook request is received" trigger URL, which
//! takes the card's message and answers 202 (the flow then posts it). The URL carries a
//! signature (`sig=`): a secret, kept out of every error.

use reqwest::Client;
use tokio::time::Instant;

use super::card::Envelope;
use crate::config::Secret;
use crate::sinks::retry::{self, RetryPolicy, SendError};

/// A Workflow's webhook trigger; its URL is a secret.
#[derive(Debug, Clone)]
pub struct TeamsWorkflow {
    url: Secret,
    policy: RetryPolicy,
}

impl TeamsWorkflow {
    pub fn new(url: Secret, policy: RetryPolicy) -> Self {
        Self { url, policy }
    }

    /// Posts one message, retrying as the policy allows (429 with `Retry-After`, 408, 5xx,
    /// timeouts) until `deadline`.
    pub async fn post(
        &self,
        client: &Client,
        envelope: &Envelope,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let body = envelope.body();
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
        .map_err(|err| redact(err, self.url.expose()))
    }
}

/// An error with the URL, and its signature, masked wherever an answer's body echoed them.
pub fn redact(err: SendError, url: &str) -> SendError {
    let sig = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("sig="))
        .filter(|s| !s.is_empty());
    let mask = |text: String| {
        let text = text.replace(url, "***");
        match sig {
            Some(sig) => text.replace(sig, "***"),
            None => text,
        }
    };
    match err {
        SendError::Rejected { status, body } => SendError::Rejected {
            status,
            body: mask(body),
        },
        SendError::Exhausted { attempts, last } => SendError::Exhausted {
            attempts,
            last: mask(last),
        },
        SendError::Deadline { attempts, last } => SendError::Deadline {
            attempts,
            last: mask(last),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_carry_the_url_or_its_signature() {
        let url = "https://prod-1.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tSig";
        let err = SendError::Rejected {
            status: 400,
            body: format!("bad request to {url}; sig=s3cr3tSig"),
        };
        let text = redact(err, url).to_string();
        assert!(!text.contains("s3cr3tSig"), "{text}");
        assert!(!text.contains("logic.azure.com"), "{text}");
        let err = SendError::Exhausted {
            attempts: 5,
            last: "HTTP 502: s3cr3tSig".into(),
        };
        assert!(!redact(err, url).to_string().contains("s3cr3tSig"));
    }
}
