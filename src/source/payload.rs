//! The one rule that splits a Lambda payload into events, for the function and `render` alike:
//! an SQS batch (`aws_lambda_events`' SQS event: each message carries an EventBridge event in
//! its body, or is a schedule's or rule's dead letter), else one EventBridge event invoking the
//! function directly (a rule's target, the periodic check).

use aws_lambda_events::sqs::SqsMessage;
use serde_json::Value;

use super::dead_letter::TargetFailure;
use super::event::{decode, DecodeError, Event};
use super::warnings;

/// One event of a payload: the id its deliveries are known by, and what it decoded to (what
/// decoding had to drop or coerce is on the event: [`Event::warnings`]).
pub type Decoded = (String, Result<Event, DecodeError>);

/// A Lambda payload, split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Payload<'a> {
    /// The messages of an SQS batch, each answered in `batchItemFailures` by its message id.
    Batch(&'a [Value]),
    /// One EventBridge event.
    Single(&'a Value),
}

impl<'a> Payload<'a> {
    /// An SQS batch when `Records` holds only messages from `aws:sqs` (none at all included);
    /// anything else is one event, for decoding to judge.
    pub fn of(payload: &'a Value) -> Self {
        match payload.get("Records").and_then(Value::as_array) {
            Some(records)
                if records
                    .iter()
                    .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")) =>
            {
                Payload::Batch(records)
            }
            _ => Payload::Single(payload),
        }
    }

    /// Every event of the payload, in order.
    pub fn events(&self) -> Vec<Decoded> {
        match self {
            Payload::Batch(records) => records.iter().map(message).collect(),
            Payload::Single(event) => vec![single(event)],
        }
    }
}

/// Every event of a Lambda payload: the messages of an SQS batch, or the one event.
pub fn events(payload: &Value) -> Vec<Decoded> {
    Payload::of(payload).events()
}

/// One EventBridge event, known by its id.
pub fn single(event: &Value) -> Decoded {
    let id = event.get("id").and_then(Value::as_str).unwrap_or("");
    (id.to_string(), decode(event))
}

/// The event of one SQS message: a schedule's or rule's dead letter (told by its message
/// attributes), or the EventBridge event in its body; with the id its deliveries are known by.
pub fn message(record: &Value) -> Decoded {
    let message = match warnings::strict::<SqsMessage>(record) {
        Ok(message) => message,
        Err(err) => {
            return (
                String::new(),
                Err(DecodeError::NotSqsMessage(err.to_string())),
            )
        }
    };
    if let Some((envelope, failure)) = TargetFailure::from_message(&message) {
        return (
            envelope.id.clone(),
            Ok(Event::TargetFailure(envelope, Box::new(failure))),
        );
    }
    match serde_json::from_str::<Value>(message.body.as_deref().unwrap_or("")) {
        Ok(event) => single(&event),
        Err(_) => (String::new(), Err(DecodeError::BodyNotJson)),
    }
}

/// The message id of an SQS record, for `batchItemFailures`.
pub fn message_id(record: &Value) -> &str {
    record
        .get("messageId")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_rule_tells_a_batch_from_one_event() {
        let event = json!({"id": "e-1", "source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": {}});
        let batch = json!({"Records": [
            {"messageId": "m-1", "eventSource": "aws:sqs", "body": event.to_string()},
            {"messageId": "m-2", "eventSource": "aws:sqs", "body": "not json"},
        ]});
        let Payload::Batch(records) = Payload::of(&batch) else {
            panic!("an SQS batch")
        };
        assert_eq!(message_id(&records[1]), "m-2");
        let split = Payload::of(&batch).events();
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].0, "e-1");
        assert!(matches!(split[0].1, Ok(Event::Task(..))));
        assert_eq!(split[1].1, Err(DecodeError::BodyNotJson));
        assert_eq!(events(&event), vec![single(&event)]);
        assert!(matches!(Payload::of(&event), Payload::Single(_)));
        // Records of another source are no SQS batch: one event, without a source.
        let other = json!({"Records": [{"eventSource": "aws:s3"}]});
        assert_eq!(
            events(&other),
            vec![(String::new(), Err(DecodeError::MissingField("source")))]
        );
        assert_eq!(Payload::of(&json!({"Records": []})).events(), vec![]);
        let odd = json!({"Records": [{"eventSource": "aws:sqs", "body": 5}]});
        let (id, err) = events(&odd).remove(0);
        assert_eq!(id, "");
        assert_eq!(
            err.unwrap_err().to_string(),
            "SQS record is not an SQS message: `body` is 5: invalid type: integer `5`, expected a string"
        );
    }
}
