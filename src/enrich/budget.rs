//! The enrichment budget: every lookup of an event shares one deadline, and a lookup that gives
//! nothing says why (the AWS error code, or no answer in time).

use std::future::Future;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::time::{timeout_at, Instant};

/// Why a lookup gave nothing.
pub type Why = String;

/// Why an AWS call failed: its error code and message, else the transport error.
pub fn why<E, R>(operation: &str, err: &SdkError<E, R>) -> Why
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = match err.code() {
        Some(code) => match err.message() {
            Some(message) => format!("{operation}: {code}: {message}"),
            None => format!("{operation}: {code}"),
        },
        None => format!("{operation}: {}", DisplayErrorContext(err)),
    };
    text.chars().take(300).collect()
}

/// Runs `work` until the shared deadline.
pub async fn within<T>(
    deadline: Instant,
    operation: &str,
    work: impl Future<Output = Result<T, Why>>,
) -> Result<T, Why> {
    match timeout_at(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{operation}: no answer within the enrichment budget"
        )),
    }
}
