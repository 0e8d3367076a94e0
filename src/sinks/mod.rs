//! Stage 4 of the pipeline: the sinks. A [`notice`] (a message for people, sink-neutral) is
//! rendered by each sink's pure half ([`slack::render`], [`datadog::payload`]) and sent by its
//! client (I/O); the [`fanout`] delivers every parcel of an invocation at once, with bounded
//! [`retry`].

pub mod datadog;
pub mod fanout;
/// Transitional, while the planners move to `judge::notice`: removed in this same change.
pub mod notice {
    pub use crate::judge::notice::*;
}
pub mod parcel;
pub mod retry;
pub mod slack;

pub use fanout::{Outcome, Sinks, DISTRIBUTIONS, EVENT, SERIES, SLACK};
pub use parcel::Parcel;
