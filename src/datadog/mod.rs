//! The Datadog sink: metric and event payloads, and the API client.

pub mod api;
pub mod payload;

pub use api::DatadogApi;
pub use payload::{Distribution, Event, Series, Submission};
