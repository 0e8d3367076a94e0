//! Stage 1 of the pipeline, pure: a Lambda payload becomes typed events.
//!
//! [`payload`] splits the payload (an SQS batch, or one EventBridge event), [`envelope`] reads
//! each event's envelope and [`event`] tells the kinds apart. Each kind's detail is read
//! leniently ([`lenient`]): unknown fields are ignored, odd ones coerced when their meaning is
//! plain or else dropped, each noted as a [`Warning`] on the event's envelope; so an input can
//! end in a [`DecodeError`] but never in a panic.

pub mod arn;
pub mod cloudtrail;
pub mod daemon;
pub mod dead_letter;
pub mod ecs;
pub mod envelope;
pub mod event;
pub mod health;
pub mod hook;
pub mod identity;
pub mod instance;
pub mod lenient;
pub mod other;
pub mod payload;
pub mod warnings;

pub use ecs::{Attribute, Container, Deployment, ServiceAction, ServiceRef, Task};
pub use envelope::{Envelope, Timestamp};
pub use event::{decode, DecodeError, Event};
pub use identity::StopKey;
pub use payload::{events, Decoded, Payload};
pub use warnings::Warning;
