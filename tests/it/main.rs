//! The integration tests, as modules of one test binary: the library, the built binary under a
//! Lambda Runtime API emulator, sinks on loopback HTTP and AWS on moto_server. One binary links
//! the crate and its dependencies once (the fuzz properties, run in release by `make fuzz`, are
//! their own binary).

#[path = "../support/mod.rs"]
mod support;

mod backlog;
mod batch;
mod block_kit;
mod busy_day;
mod buttons;
mod causes;
mod cli;
mod datadog_assets;
mod docs;
mod enrichment;
mod events;
mod incidents;
mod lambda_e2e;
mod missed_runs;
mod moto_smoke;
mod one_stop;
mod organization;
mod preview;
mod readme;
mod redeliveries;
mod replay;
mod secrets;
mod secrets_e2e;
mod sinks;
mod slack_app;
mod state;
mod state_e2e;
mod teams;
mod teams_cards;
mod threads;
