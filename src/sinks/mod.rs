//! Stage 4 of the pipeline: the sinks. Each encodes what the judge made (the notice, the
//! measurements) in its own terms and delivers it with its own policy: [`slack`] (Block Kit,
//! webhooks or the Web API, pacing, threads and edits), [`teams`] (Adaptive Cards to
//! Workflows, paced) and [`datadog`] (request bodies merged
//! per endpoint); the [`fanout`] hands every parcel of an invocation to each at once, with
//! bounded [`retry`]; the chat sinks pace each destination with [`pacing`].

pub mod datadog;
pub mod fanout;
pub mod pacing;
pub mod parcel;
pub mod retry;
pub mod slack;
pub mod teams;

pub use datadog::sink::{DISTRIBUTIONS, EVENT, SERIES};
pub use fanout::{Outcome, Sinks};
pub use parcel::Parcel;
pub use slack::sink::SLACK;
pub use teams::sink::TEAMS;
