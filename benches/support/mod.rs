//! Shared by the runtime and load harnesses: the tests' Lambda Runtime API emulator
//! (`tests/support/lambda.rs`, reporting every `GET /next` with its time for the harnesses), and
//! small helpers for the loopback sinks.
// Each harness compiles this module on its own and reads only part of what it reports.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

#[path = "../../tests/support/lambda.rs"]
pub mod lambda;

pub use lambda::{lambda_command, Reported, RuntimeApi};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The deadline each invocation gets.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `series` array of a Datadog request body.
pub fn series_of(body: &[u8]) -> Option<Vec<Value>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    match v.get_mut("series")?.take() {
        Value::Array(items) => Some(items),
        _ => None,
    }
}
