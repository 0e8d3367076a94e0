//! The EventBridge envelope of an event: what identifies it and places it (id, account, region,
//! time, resources, and the archive replay that sent it again), read with `aws_lambda_events`'
//! EventBridge event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::warnings::{self, Located, Warning};

/// A timestamp as ECS writes it in events (ISO-8601, UTC).
pub type Timestamp = DateTime<Utc>;

/// The fields of the EventBridge envelope that identify and place an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub detail_type: String,
    pub account: String,
    pub region: String,
    pub time: Option<Timestamp>,
    pub resources: Vec<String>,
    /// `replay-name`: the archive replay that sent this event again (a top-level field of the
    /// event, EventBridge's "service event metadata"); `None` for an event as it happened.
    pub replay_name: Option<String>,
    /// What reading the event's detail had to drop or coerce, field by field.
    pub warnings: Vec<Warning>,
}

/// An envelope field of the wrong shape (`time`, `resources`): named, with the JSON reader's
/// reason.
pub type EnvelopeError = Located;

/// The envelope's `detail`, left unread by the envelope's reader: each kind's lenient reader
/// takes it from the payload itself, so it is never copied.
#[derive(Debug, Default, Serialize)]
struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Unread)
    }
}

impl Envelope {
    /// The envelope of an EventBridge event (the periodic check's Scheduled Event too); its
    /// detail is left for the kind's own reader. Fails on a field of the wrong shape, naming it.
    pub fn read(input: &Value) -> Result<Envelope, EnvelopeError> {
        let event = warnings::strict::<EventBridgeEvent<Unread>>(input)?;
        Ok(Envelope {
            id: event.id.unwrap_or_default(),
            detail_type: event.detail_type,
            account: event.account.unwrap_or_default(),
            region: event.region.unwrap_or_default(),
            time: event.time,
            resources: event.resources.unwrap_or_default(),
            replay_name: input
                .get("replay-name")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .map(String::from),
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope_and_says_what_has_the_wrong_shape() {
        let input = serde_json::json!({
            "id": "e-1", "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "123456789012", "region": "eu-west-1", "time": "2026-11-18T10:00:00Z",
            "resources": ["arn:aws:ecs:eu-west-1:123456789012:task/c/t"], "detail": {}
        });
        let envelope = Envelope::read(&input).unwrap();
        assert_eq!(
            (envelope.id.as_str(), envelope.region.as_str()),
            ("e-1", "eu-west-1")
        );
        assert_eq!(envelope.resources.len(), 1);
        assert_eq!(envelope.replay_name, None);
        let mut replayed = input.clone();
        replayed["replay-name"] = serde_json::json!("replay-2026-12-01");
        let envelope = Envelope::read(&replayed).unwrap();
        assert_eq!(envelope.replay_name.as_deref(), Some("replay-2026-12-01"));
        let mut bad = input.clone();
        bad["time"] = serde_json::json!("yesterday");
        let err = Envelope::read(&bad).unwrap_err();
        let serde = EventBridgeEvent::<Unread>::deserialize(&bad).unwrap_err();
        assert_eq!(err.to_string(), format!("`time` is \"yesterday\": {serde}"));
        bad["time"] = input["time"].clone();
        bad["resources"] = serde_json::json!(["a", 1]);
        let err = Envelope::read(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("`resources` is a list: invalid type: integer `1`"),
            "{err}"
        );
    }
}
