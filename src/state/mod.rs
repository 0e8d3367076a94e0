//! State that outlives an invocation: what this process remembers in [`memory`], and what every
//! instance shares through the optional DynamoDB [`table`].

pub mod buttons;
pub mod claims;
pub mod flood;
pub mod groups;
pub mod jobs;
pub mod memory;
pub mod replays;
pub mod stops;
pub mod table;
pub mod threads;

pub use claims::Claim;
pub use jobs::JobRun;
pub use memory::{Cache, DeliveryLog};
pub use table::{StateError, Table, JOB_INDEX};
