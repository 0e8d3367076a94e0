//! State that outlives an invocation: what this process remembers in [`memory`], and what every
//! instance shares through the optional DynamoDB [`table`].

pub mod memory;
pub mod table;

pub use memory::{Cache, DeliveryLog};
pub use table::{Claim, JobRun, Table, JOB_INDEX};
