//! The enrichment budget: every lookup of an event shares one deadline, and a lookup that gives
//! nothing says why (the AWS error code, or no answer in time).

use std::future::Future;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use thiserror::Error;
use tokio::time::{timeout_at, Instant};

use crate::judge::enrichment::Enrichment;

/// Longest text of a failed AWS call, its operation included.
const MAX_TEXT: usize = 300;

/// Why a lookup gave nothing; its text names the operation (`ecs:DescribeServices`).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LookupError {
    /// The AWS call failed: its error code and message, else the transport error.
    #[error("{}", cut(.operation, .reason))]
    Failed {
        operation: &'static str,
        reason: String,
    },
    /// The shared deadline came first.
    #[error("{operation}: no answer within the enrichment budget")]
    OutOfTime { operation: &'static str },
    /// The call answered without what was asked: `what` says what is missing, or why.
    #[error("{operation}: {what}")]
    Missing {
        operation: &'static str,
        what: String,
    },
}

fn cut(operation: &str, reason: &str) -> String {
    format!("{operation}: {reason}")
        .chars()
        .take(MAX_TEXT)
        .collect()
}

impl LookupError {
    /// The AWS call `operation` that failed with `err`.
    pub fn failed<E, R>(operation: &'static str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let reason = match err.code() {
            Some(code) => match err.message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_string(),
            },
            None => DisplayErrorContext(err).to_string(),
        };
        LookupError::Failed { operation, reason }
    }

    /// The call `operation` answered without `what`.
    pub fn missing(operation: &'static str, what: impl Into<String>) -> Self {
        LookupError::Missing {
            operation,
            what: what.into(),
        }
    }

    /// What a failed lookup leaves: the alert goes without what it would have found (it is not
    /// asked again for the event), and the event's log line says why, in `skipped`.
    pub fn skip(self, out: &mut Enrichment) {
        out.skipped.push(self.to_string());
    }
}

/// What a lookup found, or `None` with its failure left in `out` ([`LookupError::skip`]).
pub fn found<T>(out: &mut Enrichment, result: Result<T, LookupError>) -> Option<T> {
    result.map_err(|err| err.skip(out)).ok()
}

/// Runs `work` until the shared deadline.
pub async fn within<T>(
    deadline: Instant,
    operation: &'static str,
    work: impl Future<Output = Result<T, LookupError>>,
) -> Result<T, LookupError> {
    match timeout_at(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(LookupError::OutOfTime { operation }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesError;

    use super::*;

    fn answered(meta: ErrorMetadata) -> LookupError {
        let err = SdkError::<_, ()>::service_error(DescribeServicesError::generic(meta), ());
        LookupError::failed("ecs:DescribeServices", &err)
    }

    #[test]
    fn says_the_operation_and_why() {
        let denied = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("not authorized");
        assert_eq!(
            answered(denied.build()).to_string(),
            "ecs:DescribeServices: AccessDeniedException: not authorized"
        );
        let bare = ErrorMetadata::builder().code("ClientException").build();
        assert_eq!(
            answered(bare).to_string(),
            "ecs:DescribeServices: ClientException"
        );
        let long = ErrorMetadata::builder()
            .code("X")
            .message("m".repeat(400))
            .build();
        assert_eq!(answered(long).to_string().chars().count(), MAX_TEXT);
        assert_eq!(
            LookupError::OutOfTime {
                operation: "logs:GetLogEvents"
            }
            .to_string(),
            "logs:GetLogEvents: no answer within the enrichment budget"
        );
        assert_eq!(
            LookupError::missing("ecs:DescribeTasks", "task no longer described").to_string(),
            "ecs:DescribeTasks: task no longer described"
        );
    }

    #[test]
    fn a_failed_lookup_is_left_out_and_noted() {
        let mut out = Enrichment::default();
        let ok: Result<u8, LookupError> = Ok(1);
        assert_eq!(found(&mut out, ok), Some(1));
        let failed: Result<u8, LookupError> = Err(LookupError::missing("op", "empty answer"));
        assert_eq!(found(&mut out, failed), None);
        assert_eq!(out.skipped, ["op: empty answer"]);
    }

    #[tokio::test]
    async fn the_deadline_cuts_a_lookup_short() {
        let late = within(Instant::now(), "ecs:DescribeTasks", async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            Ok(())
        });
        assert_eq!(
            late.await,
            Err(LookupError::OutOfTime {
                operation: "ecs:DescribeTasks"
            })
        );
    }
}
