//! The Datadog sink: metric and event payloads built without I/O ([`payload`]), then posted by
//! the API [`client`].

pub mod client;
pub mod payload;

pub use client::DatadogApi;
pub use payload::{Distribution, Event, Series, Submission};
