//! ecs-notifier: Amazon ECS events in, Slack alerts and Datadog metrics out.
//!
//! An event takes the stages in this order: [`source`] (the payload becomes typed events),
//! [`enrich`] (what the ECS, Logs and Scheduler APIs add), [`judge`] (verdict, notice, metrics,
//! routing: pure), [`sinks`] (Slack and Datadog). [`handler`] is the glue of one invocation,
//! [`state`] what outlives it, [`config`] the settings; [`cli`] is `render`, offline.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod aws;
pub mod cli;
pub mod config;
pub mod enrich;
pub mod handler;
pub mod interact;
pub mod judge;
pub mod sinks;
pub mod source;
pub mod state;
