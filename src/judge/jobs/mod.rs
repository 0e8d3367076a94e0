//! Scheduled jobs (tagged `ecs-notifier:expect-every`): when a run is due, where each job stands,
//! and the periodic check's alerts and gauges.

pub mod expect;
pub mod job;
pub mod missed_run;

pub use job::{standing, Job, Standing, EXPECT_TAG, GRACE_TAG};
