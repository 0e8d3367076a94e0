//! The Datadog sink: the judge's measurements encoded as request bodies ([`payload`],
//! [`change`]), posted by the API [`client`]; [`sink`] merges an invocation's measurements into
//! one request per endpoint.

pub mod change;
pub mod client;
pub mod payload;
pub mod sink;

pub use client::DatadogApi;
