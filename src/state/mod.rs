//! State that outlives an invocation: what this process remembers in [`memory`], and what every
//! instance shares through the optional DynamoDB [`table`].

pub mod groups;
pub mod jobs;
pub mod memory;
pub mod table;

pub use jobs::JobRun;
pub use memory::{Cache, DeliveryLog};
pub use table::{Claim, StateError, Table, JOB_INDEX};
