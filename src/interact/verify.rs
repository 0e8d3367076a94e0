//! Slack's request signature (v0): HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the app's
//! signing secret, compared in constant time; a timestamp more than five minutes from now is
//! refused.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::request::{Refusal, SignedRequest};
use crate::config::Secret;

/// How far a request's timestamp may be from now.
pub const MAX_AGE_SECS: i64 = 300;

/// Verifies that `request` was signed with `secret` within five minutes of `now` (Unix seconds).
pub fn verify(secret: &Secret, request: &SignedRequest, now: i64) -> Result<(), Refusal> {
    let at: i64 = request
        .timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    let away = now.saturating_sub(at);
    if away.unsigned_abs() > MAX_AGE_SECS.unsigned_abs() {
        return Err(Refusal::Stale(away));
    }
    let expected = request
        .signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refusal::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| Refusal::BadSignature)?;
    mac.update(b"v0:");
    mac.update(request.timestamp.as_bytes());
    mac.update(b":");
    mac.update(&request.body);
    // verify_slice compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| Refusal::BadSignature)
}

/// The `X-Slack-Signature` of `body` at `timestamp` (what Slack sends; tests sign with it).
pub fn sign(secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &str, at: i64, body: &str) -> SignedRequest {
        let timestamp = at.to_string();
        SignedRequest {
            signature: sign(&Secret::new(secret), &timestamp, body.as_bytes()),
            timestamp,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn slacks_documented_example_verifies() {
        // The example of Slack's "Verifying requests from Slack" page.
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let request = SignedRequest {
            timestamp: "1531420618".into(),
            signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503".into(),
            body: body.as_bytes().to_vec(),
        };
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        assert_eq!(verify(&secret, &request, 1_531_420_618 + 10), Ok(()));
        assert_eq!(
            sign(&secret, &request.timestamp, body.as_bytes()),
            request.signature
        );
    }

    #[test]
    fn refuses_what_slack_did_not_sign_now() {
        let secret = Secret::new("s3cret");
        let now = 1_800_000_000;
        assert_eq!(verify(&secret, &signed("s3cret", now, "a=1"), now), Ok(()));
        assert_eq!(
            verify(&secret, &signed("other", now, "a=1"), now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(&secret, &signed("s3cret", now - 360, "a=1"), now),
            Err(Refusal::Stale(360))
        );
        let mut altered = signed("s3cret", now, "a=1");
        altered.body = b"a=2".to_vec();
        assert_eq!(verify(&secret, &altered, now), Err(Refusal::BadSignature));
        let mut garbled = signed("s3cret", now, "a=1");
        garbled.signature = "v1=zz".into();
        assert_eq!(verify(&secret, &garbled, now), Err(Refusal::BadSignature));
        garbled.timestamp = "yesterday".into();
        assert_eq!(verify(&secret, &garbled, now), Err(Refusal::BadTimestamp));
    }
}
