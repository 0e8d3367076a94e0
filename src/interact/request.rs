//! A Lambda function URL request from Slack: told apart from the other payloads, its raw body
//! (base64-decoded when Lambda encoded it) and the two headers Slack signs with; and the
//! function URL response.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use serde_json::{json, Value};
use thiserror::Error;

/// The largest body read (Slack's block_actions payload carries the whole message: a long
/// alert is 10 to 20 KiB form-encoded).
pub const MAX_BODY: usize = 128 * 1024;

/// Why a request is refused, with the HTTP status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("body larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("body is not valid base64")]
    BadEncoding,
    #[error("no {0} header")]
    MissingHeader(&'static str),
    #[error("timestamp is not a number")]
    BadTimestamp,
    #[error("timestamp {0} s away from now (more than 5 minutes)")]
    Stale(i64),
    #[error("signature does not match")]
    BadSignature,
    #[error("request seen before")]
    Replayed,
    #[error("not a block_actions payload: {0}")]
    NotAnAction(String),
    #[error("alert {0} is not known")]
    UnknownAlert(String),
    #[error("{0} may not re-run jobs")]
    NotAllowed(String),
    #[error("{0}")]
    Unusable(String),
    /// The state table did not answer: nothing was done; Slack shows the user an error.
    #[error("state table unavailable: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// 401 when the request cannot be shown to be Slack's (or is one seen before); 403 when
    /// it is, but what it asks is not allowed; 400 when Slack sent something unusable; 503
    /// when the state table could not be asked.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::TooLarge
            | Refusal::BadEncoding
            | Refusal::MissingHeader(_)
            | Refusal::BadTimestamp
            | Refusal::Stale(_)
            | Refusal::BadSignature
            | Refusal::Replayed => 401,
            Refusal::UnknownAlert(_) | Refusal::NotAllowed(_) => 403,
            Refusal::NotAnAction(_) | Refusal::Unusable(_) => 400,
            Refusal::Unavailable(_) => 503,
        }
    }
}

/// What a request must show before anything is done for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `X-Slack-Request-Timestamp`.
    pub timestamp: String,
    /// `X-Slack-Signature`: `v0=` and the hex HMAC.
    pub signature: String,
    /// The body exactly as Slack sent it.
    pub body: Vec<u8>,
}

/// Whether a payload is a function URL request (an HTTP request, not an event).
pub fn is_http(payload: &Value) -> bool {
    payload
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some()
        && payload.get("rawPath").is_some()
}

/// Reads the request: its body (at most [`MAX_BODY`] bytes), and Slack's headers (lowercase
/// in function URL events; looked up in any case).
pub fn read(payload: &Value) -> Result<SignedRequest, Refusal> {
    let request: LambdaFunctionUrlRequest = serde_json::from_value(payload.clone())
        .map_err(|e| Refusal::Unusable(format!("not a function URL request: {e}")))?;
    let raw = request.body.unwrap_or_default();
    let encoded = payload
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // A base64 text is 4/3 of its bytes: refused before decoding what would be too large.
    if raw.len()
        > if encoded {
            MAX_BODY / 3 * 4 + 4
        } else {
            MAX_BODY
        }
    {
        return Err(Refusal::TooLarge);
    }
    let body = if encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw.as_bytes())
            .map_err(|_| Refusal::BadEncoding)?
    } else {
        raw.into_bytes()
    };
    if body.len() > MAX_BODY {
        return Err(Refusal::TooLarge);
    }
    let header = |name: &'static str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or(Refusal::MissingHeader(name))
    };
    Ok(SignedRequest {
        timestamp: header("x-slack-request-timestamp")?,
        signature: header("x-slack-signature")?,
        body,
    })
}

/// The function URL response: a status and a short plain text.
pub fn response(status: u16, text: &str) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": text,
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, encoded: bool, headers: Value) -> Value {
        json!({
            "version": "2.0", "rawPath": "/", "rawQueryString": "",
            "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": "/"}, "timeEpoch": 0},
            "body": body, "isBase64Encoded": encoded,
        })
    }

    #[test]
    fn reads_the_body_and_the_signed_headers() {
        let headers =
            json!({"x-slack-request-timestamp": "1700000000", "x-slack-signature": "v0=ab"});
        let plain = request("payload=%7B%7D", false, headers.clone());
        assert!(is_http(&plain));
        assert!(!is_http(&json!({"source": "aws.ecs"})));
        let read_plain = read(&plain).unwrap();
        assert_eq!(read_plain.body, b"payload=%7B%7D");
        assert_eq!(read_plain.timestamp, "1700000000");
        let encoded = base64::engine::general_purpose::STANDARD.encode("payload=%7B%7D");
        assert_eq!(
            read(&request(&encoded, true, headers.clone())).unwrap(),
            read_plain
        );
        assert_eq!(
            read(&request("%%%", true, headers.clone())),
            Err(Refusal::BadEncoding)
        );
        let big = "a".repeat(MAX_BODY + 1);
        assert_eq!(read(&request(&big, false, headers)), Err(Refusal::TooLarge));
        let unsigned = request("x", false, json!({"x-slack-request-timestamp": "1"}));
        assert_eq!(
            read(&unsigned),
            Err(Refusal::MissingHeader("x-slack-signature"))
        );
        assert_eq!(Refusal::Replayed.status(), 401);
        assert_eq!(Refusal::NotAllowed("U1".into()).status(), 403);
        assert_eq!(response(401, "no")["statusCode"], 401);
    }
}
