//! The Datadog sink: metric and event payloads built without I/O ([`payload`], [`change`]), then
//! posted by the API [`client`].

pub mod change;
pub mod client;
pub mod payload;

pub use change::Change;
pub use client::DatadogApi;
pub use payload::{Distribution, Event, Series, Submission};
