//! Whether an HTTP attempt is worth repeating (a pure decision), and the bounded send loop.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use thiserror::Error;
use tokio::time::Instant;

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server answered.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// No answer within the attempt's timeout.
    Timeout,
    /// The connection failed.
    Connect,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Done,
    RetryAfter(Duration),
    GiveUp,
}

/// Bounds on retrying one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest a server's `Retry-After` is honoured; a longer one gives up.
    pub max_retry_after: Duration,
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff after the `attempt`-th try (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Decides what follows the `attempt`-th try (1-based).
    pub fn decide(&self, outcome: &Attempt, attempt: u32) -> Decision {
        let retry = |wait: Duration| {
            if attempt >= self.max_attempts {
                Decision::GiveUp
            } else {
                Decision::RetryAfter(wait)
            }
        };
        match outcome {
            Attempt::Status { code, .. } if (200..300).contains(code) => Decision::Done,
            Attempt::Status {
                code: 429,
                retry_after,
            } => match retry_after {
                Some(wait) if *wait > self.max_retry_after => Decision::GiveUp,
                Some(wait) => retry(*wait),
                None => retry(self.backoff(attempt)),
            },
            Attempt::Status { code, .. } if *code == 408 || *code >= 500 => {
                retry(self.backoff(attempt))
            }
            Attempt::Status { .. } => Decision::GiveUp,
            Attempt::Timeout | Attempt::Connect => retry(self.backoff(attempt)),
        }
    }
}

/// The wait a 429 asks for: `Retry-After` (Slack) or `X-RateLimit-Reset` (Datadog), in seconds.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset"]
        .iter()
        .find_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?.trim();
            value.parse::<u64>().ok().map(Duration::from_secs)
        })
}

/// What a 2xx answer's body says; Slack's Web API answers errors with HTTP 200 and `ok:false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyVerdict {
    Ok,
    /// Worth another attempt (rate limited, a passing server error).
    Retry,
    /// Refused for good, with the reason the body gave.
    Reject(String),
}

/// A request that did not deliver.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SendError {
    /// The server refused it for good (a 4xx other than 408/429, or a too-long Retry-After).
    #[error("rejected with HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    /// Retries ran out.
    #[error("failed after {attempts} attempts; last: {last}")]
    Exhausted { attempts: u32, last: String },
    /// The invocation's deadline came first.
    #[error("deadline reached after {attempts} attempts; last: {last}")]
    Deadline { attempts: u32, last: String },
}

/// Keeps an error body short enough for one log line.
fn clip(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(300) {
        Some((idx, _)) => format!("{}…", &body[..idx]),
        None => body.to_string(),
    }
}

/// Sends a request built by `build` until it succeeds, fails for good, or the deadline comes.
/// Errors never include the URL (a Slack webhook URL is a secret).
pub async fn send(
    client: &Client,
    build: impl Fn(&Client) -> RequestBuilder,
    policy: &RetryPolicy,
    deadline: Instant,
) -> Result<(), SendError> {
    send_judged(client, build, policy, deadline, |_| BodyVerdict::Ok)
        .await
        .map(|_| ())
}

/// Like [`send`], with `judge` reading the body of 2xx answers; returns the accepted body.
pub async fn send_judged(
    client: &Client,
    build: impl Fn(&Client) -> RequestBuilder,
    policy: &RetryPolicy,
    deadline: Instant,
    judge: impl Fn(&str) -> BodyVerdict,
) -> Result<String, SendError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(50) {
            return Err(SendError::Deadline {
                attempts: attempt - 1,
                last: "no time left for another attempt".into(),
            });
        }
        let timeout = policy.attempt_timeout.min(remaining);
        let (outcome, body, last) = try_once(client, &build, timeout).await;
        let outcome = match judged(outcome, &body, &judge) {
            Judged::Accepted => return Ok(body),
            Judged::Rejected(err) => return Err(err),
            Judged::As(outcome) => outcome,
        };
        match policy.decide(&outcome, attempt) {
            Decision::Done => return Ok(body),
            Decision::GiveUp => return Err(given_up(outcome, &body, attempt, last)),
            Decision::RetryAfter(wait) => {
                if Instant::now() + wait >= deadline {
                    return Err(SendError::Deadline {
                        attempts: attempt,
                        last,
                    });
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One attempt within `timeout`: how it ended, the answer's body (empty without one), and a
/// line saying what happened (for the error).
async fn try_once(
    client: &Client,
    build: &impl Fn(&Client) -> RequestBuilder,
    timeout: Duration,
) -> (Attempt, String, String) {
    match build(client).timeout(timeout).send().await {
        Ok(response) => {
            let code = response.status().as_u16();
            let wait = retry_after(response.headers());
            let body = match tokio::time::timeout(timeout, response.text()).await {
                Ok(Ok(body)) => body,
                _ => String::new(),
            };
            let last = format!("HTTP {code}: {}", clip(&body));
            (
                Attempt::Status {
                    code,
                    retry_after: wait,
                },
                body,
                last,
            )
        }
        Err(err) if err.is_timeout() => (Attempt::Timeout, String::new(), "timed out".to_string()),
        Err(err) => (
            Attempt::Connect,
            String::new(),
            err.without_url().to_string(),
        ),
    }
}

/// What the body of an answer makes of an attempt.
enum Judged {
    /// A 2xx whose body is fine.
    Accepted,
    /// A 2xx whose body refuses the request for good.
    Rejected(SendError),
    /// Decided as this attempt (a 2xx whose body asks for a retry counts as a 503).
    As(Attempt),
}

/// A 2xx whose body reports an error counts as that error.
fn judged(outcome: Attempt, body: &str, judge: &impl Fn(&str) -> BodyVerdict) -> Judged {
    let Attempt::Status { code, retry_after } = outcome else {
        return Judged::As(outcome);
    };
    if !(200..300).contains(&code) {
        return Judged::As(outcome);
    }
    match judge(body) {
        BodyVerdict::Ok => Judged::Accepted,
        BodyVerdict::Retry => Judged::As(Attempt::Status {
            code: 503,
            retry_after,
        }),
        BodyVerdict::Reject(reason) => Judged::Rejected(SendError::Rejected {
            status: code,
            body: reason,
        }),
    }
}

/// The error of a request given up on after `attempts`: refused for good (a 4xx other than
/// 408/429), else retries ran out.
fn given_up(outcome: Attempt, body: &str, attempts: u32, last: String) -> SendError {
    match outcome {
        Attempt::Status { code, .. } if code != 429 && code != 408 && code < 500 => {
            SendError::Rejected {
                status: code,
                body: clip(body),
            }
        }
        _ => SendError::Exhausted { attempts, last },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Attempt {
        Attempt::Status {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn decides_by_status() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(&status(200), 1), Decision::Done);
        assert_eq!(p.decide(&status(202), 1), Decision::Done);
        assert_eq!(p.decide(&status(400), 1), Decision::GiveUp);
        assert_eq!(p.decide(&status(403), 1), Decision::GiveUp);
        assert_eq!(p.decide(&status(404), 1), Decision::GiveUp);
        assert_eq!(
            p.decide(&status(500), 1),
            Decision::RetryAfter(p.base_delay)
        );
        assert_eq!(
            p.decide(&status(503), 2),
            Decision::RetryAfter(p.base_delay * 2)
        );
        assert_eq!(
            p.decide(&status(408), 1),
            Decision::RetryAfter(p.base_delay)
        );
        assert_eq!(
            p.decide(&Attempt::Timeout, 1),
            Decision::RetryAfter(p.base_delay)
        );
        assert_eq!(
            p.decide(&Attempt::Connect, 3),
            Decision::RetryAfter(p.base_delay * 4)
        );
    }

    #[test]
    fn honours_retry_after_within_bounds() {
        let p = RetryPolicy::default();
        let asked = |secs| Attempt::Status {
            code: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            p.decide(&asked(3), 1),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(p.decide(&asked(3600), 1), Decision::GiveUp);
        assert_eq!(
            p.decide(&status(429), 1),
            Decision::RetryAfter(p.base_delay)
        );
    }

    #[test]
    fn attempts_are_bounded_and_backoff_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(&status(500), p.max_attempts), Decision::GiveUp);
        assert_eq!(p.backoff(30), p.max_delay);
    }

    #[test]
    fn reads_rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("x-ratelimit-reset", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
    }
}
