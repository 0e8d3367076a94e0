//! The EventBridge envelope of an event: what identifies it and places it (id, account, region,
//! time, resources), read with `aws_lambda_events`' EventBridge event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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
}

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
    /// detail is left for the kind's own reader. Fails on a field of the wrong shape.
    pub fn read(input: &Value) -> Result<Envelope, String> {
        let event = EventBridgeEvent::<Unread>::deserialize(input).map_err(|e| e.to_string())?;
        Ok(Envelope {
            id: event.id.unwrap_or_default(),
            detail_type: event.detail_type,
            account: event.account.unwrap_or_default(),
            region: event.region.unwrap_or_default(),
            time: event.time,
            resources: event.resources.unwrap_or_default(),
        })
    }
}
