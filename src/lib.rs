//! ecs-notifier: Amazon ECS events in, Slack alerts and Datadog metrics out.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod arn;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod cloudtrail;
pub mod config;
pub mod console;
pub mod datadog;
pub mod delivery_log;
pub mod dlq;
pub mod durations;
pub mod enricher;
pub mod enrichment;
pub mod event;
pub mod expect;
pub mod flood;
pub mod handler;
pub mod health;
pub mod jobs;
pub mod lenient;
pub mod notice;
pub mod outbox;
pub mod placement;
pub mod plan;
pub mod retry;
pub mod routing;
pub mod secret;
pub mod secrets;
pub mod silent;
pub mod slack;
pub mod state;
pub mod stops;
pub mod trigger;
pub mod verdict;
