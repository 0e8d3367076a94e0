//! The button pressed, read from Slack's `block_actions` payload (a form field `payload`
//! holding JSON): who pressed it, which button, and the alert its value names. Nothing else of
//! the request is used: what a button acts on is what the function stored.

use serde_json::Value;

use super::request::Refusal;

pub use crate::sinks::slack::buttons::{value, ACK, RERUN, RUNBOOK, SILENCE, UNSILENCE};

/// What a button asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    /// For this many seconds (one of the configured choices, checked against them).
    Silence(u64),
    Unsilence,
    Rerun,
    /// A link: Slack tells of the click, there is nothing to do.
    Link,
}

/// One press of a button on an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The Slack user id (`U…`).
    pub user: String,
    pub action: Action,
    /// The alert the button was posted with.
    pub alert: String,
}

/// Reads the press from the request body (`payload=<json>`, form-encoded).
pub fn read(body: &[u8]) -> Result<Press, Refusal> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| Refusal::NotAnAction("no payload field".into()))?;
    let payload: Value = serde_json::from_str(&payload)
        .map_err(|e| Refusal::NotAnAction(format!("payload is not JSON: {e}")))?;
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "block_actions" {
        return Err(Refusal::NotAnAction(format!("type `{kind}`")));
    }
    let user = payload
        .pointer("/user/id")
        .and_then(Value::as_str)
        // A Slack id: it is written into replies as a mention (`<@U…>`).
        .filter(|u| {
            !u.is_empty()
                && u.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .ok_or_else(|| Refusal::NotAnAction("no user id".into()))?
        .to_string();
    let action = payload
        .pointer("/actions/0")
        .ok_or_else(|| Refusal::NotAnAction("no action".into()))?;
    let id = action
        .get("action_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = action.get("value").and_then(Value::as_str).unwrap_or("");
    let (alert, seconds) = match value.split_once(':') {
        Some((alert, s)) => (alert, s.parse::<u64>().ok()),
        None => (value, None),
    };
    let action = match (id, seconds) {
        (ACK, None) => Action::Acknowledge,
        (SILENCE, Some(s)) => Action::Silence(s),
        (UNSILENCE, None) => Action::Unsilence,
        (RERUN, None) => Action::Rerun,
        (RUNBOOK, _) => Action::Link,
        _ => return Err(Refusal::NotAnAction(format!("action `{id}`"))),
    };
    if alert.is_empty() && action != Action::Link {
        return Err(Refusal::NotAnAction("no alert named".into()));
    }
    Ok(Press {
        user,
        action,
        alert: alert.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(payload: Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    fn pressed(action_id: &str, value: &str) -> Vec<u8> {
        body(json!({"type": "block_actions", "user": {"id": "U1"},
            "actions": [{"action_id": action_id, "value": value}]}))
    }

    #[test]
    fn reads_each_button() {
        let read_ok = |id, v| read(&pressed(id, v)).unwrap();
        assert_eq!(read_ok(ACK, "a1").action, Action::Acknowledge);
        assert_eq!(read_ok(SILENCE, "a1:3600").action, Action::Silence(3600));
        assert_eq!(read_ok(UNSILENCE, "a1").action, Action::Unsilence);
        let rerun = read_ok(RERUN, "a1");
        assert_eq!((rerun.user.as_str(), rerun.alert.as_str()), ("U1", "a1"));
        assert_eq!(value("a1", Some(60)), "a1:60");
    }

    #[test]
    fn refuses_what_is_not_a_button_of_ours() {
        for bad in [
            b"nothing=1".to_vec(),
            b"payload=%7B".to_vec(),
            body(json!({"type": "view_submission"})),
            body(json!({"type": "block_actions", "actions": []})),
            pressed("delete_everything", "a1"),
            pressed(SILENCE, "a1"),
            pressed(ACK, ""),
            body(
                json!({"type": "block_actions", "user": {"id": "U1> <!channel"},
                "actions": [{"action_id": "ack", "value": "a1"}]}),
            ),
        ] {
            assert!(matches!(read(&bad), Err(Refusal::NotAnAction(_))));
        }
    }
}
