//! The optional state table (DynamoDB) itself, shared by every instance: its client, its errors.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;
use tokio::sync::OnceCell;

use crate::aws::Aws;
use crate::state::memory::lock;

/// How long delivery records are kept: longer than EventBridge (24 h) and Lambda (6 h) retry.
pub(super) const KEEP: Duration = Duration::days(3);
/// How long the table is left alone after a call failed (throttled, unreachable, denied).
const REST: std::time::Duration = std::time::Duration::from_secs(30);

/// The state table.
pub struct Table {
    aws: Arc<Aws>,
    pub(super) name: String,
    client: OnceCell<aws_sdk_dynamodb::Client>,
    /// Until when calls are not made, after one failed.
    resting: std::sync::Mutex<Option<std::time::Instant>>,
}

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Why the state table gave no answer to use.
#[derive(Debug, Error)]
pub enum StateError {
    /// A call failed: the AWS error code of the table's answer, or `None` when no answer came
    /// (no connection, a timeout).
    #[error("dynamodb:{operation}: {}", .code.as_deref().unwrap_or("no answer"))]
    Call {
        operation: &'static str,
        code: Option<String>,
    },
    /// Not asked: the table rests after a call that found it unable to serve.
    #[error("state table unavailable (it failed moments ago); not asked")]
    Resting,
    /// Other instances kept changing an item (`flood state`, `the group`) between this
    /// instance's reads and its writes over them.
    #[error("dynamodb: {0} kept changing under this instance")]
    KeptChanging(&'static str),
    #[error("dynamodb: a group without state")]
    GroupWithoutState,
    #[error("group state: {0}")]
    GroupState(#[source] serde_json::Error),
    #[error("replay digest: {0}")]
    Digest(#[source] serde_json::Error),
}

impl StateError {
    /// The failed call `operation`; only an answer of the table carries an error code.
    pub(super) fn call<E: ProvideErrorMetadata, R>(
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> Self {
        StateError::Call {
            operation,
            code: err.code().map(String::from),
        }
    }

    /// Whether the table rests after this error (`REST`, 30 s): it cannot serve now, for no answer
    /// came in time, or no connection, or it answered throttling or a server error (which the
    /// SDK has already retried, at a cost in time). Other answers (a missing table, access
    /// denied) come fast, and errors of this instance's own making are not the table's.
    pub fn rests(&self) -> bool {
        match self {
            StateError::Call { code: None, .. } => true,
            StateError::Call {
                code: Some(code), ..
            } => matches!(
                code.as_str(),
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
            ),
            StateError::Resting
            | StateError::KeptChanging(_)
            | StateError::GroupWithoutState
            | StateError::GroupState(_)
            | StateError::Digest(_) => false,
        }
    }
}

/// A put that succeeds only over the item at `version` (optimistic locking), or, without one,
/// only where no item is yet.
pub(super) fn versioned(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    version: Option<i64>,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    match version {
        Some(v) => put
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v)),
        None => put.condition_expression("attribute_not_exists(pk)"),
    }
}

pub(super) fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

pub(super) fn number(item: &Item, key: &str) -> Option<i64> {
    item.get(key)?.as_n().ok()?.parse().ok()
}

impl Table {
    /// The table `name`; its client is built on first use.
    pub fn new(aws: Arc<Aws>, name: String) -> Self {
        Self {
            aws,
            name,
            client: OnceCell::new(),
            resting: std::sync::Mutex::new(None),
        }
    }

    /// The DynamoDB client; an error while the table is resting after failures (calls then fail
    /// at once, so an invocation does not wait on every one of them in turn).
    pub(super) async fn client(&self) -> Result<&aws_sdk_dynamodb::Client, StateError> {
        if let Some(until) = *lock(&self.resting) {
            if std::time::Instant::now() < until {
                return Err(StateError::Resting);
            }
        }
        Ok(self
            .client
            .get_or_init(|| async { aws_sdk_dynamodb::Client::new(self.aws.base().await) })
            .await)
    }

    /// The failed call `operation`. When the table cannot serve now ([`StateError::rests`]), it
    /// rests for a while, so the calls after it fail at once rather than each waiting out its
    /// own timeout or retries; a fast answer (a missing table, access denied) does not.
    pub(super) fn failed<E: ProvideErrorMetadata, R>(
        &self,
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> StateError {
        let error = StateError::call(operation, err);
        if error.rests() {
            *lock(&self.resting) = Some(std::time::Instant::now() + REST);
        }
        error
    }

    /// The item `pk`, read consistently.
    pub(super) async fn get(&self, pk: &str) -> Result<Option<Item>, StateError> {
        let got = self
            .client()
            .await?
            .get_item()
            .table_name(&self.name)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.failed("GetItem", &e))?;
        Ok(got.item)
    }

    /// Every item of `kind` (`job`, `flood`), from the sparse `by-kind` index, all pages.
    pub(super) async fn of_kind(&self, kind: &str) -> Result<Vec<Item>, StateError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client()
                .await?
                .query()
                .table_name(&self.name)
                .index_name(JOB_INDEX)
                .key_condition_expression("kind = :kind")
                .expression_attribute_values(":kind", s(kind))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.failed("Query", &e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(out),
            }
        }
    }
}

/// The index over job items and flood windows.
pub const JOB_INDEX: &str = "by-kind";

pub(super) fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key)?
        .as_s()
        .ok()
        .filter(|v| !v.is_empty())
        .cloned()
}

pub(super) fn time(item: &Item, key: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(number(item, key)?, 0)
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    use super::*;

    fn answered(code: &str) -> StateError {
        let answer = GetItemError::generic(ErrorMetadata::builder().code(code).build());
        StateError::call("GetItem", &SdkError::<_, ()>::service_error(answer, ()))
    }

    #[test]
    fn rests_after_throttling_server_errors_or_no_answer_not_after_fast_answers() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
        ] {
            assert!(answered(code).rests(), "{code}");
        }
        let silent = SdkError::<GetItemError, ()>::timeout_error("no answer in time");
        let silent = StateError::call("GetItem", &silent);
        assert!(silent.rests());
        assert_eq!(silent.to_string(), "dynamodb:GetItem: no answer");
        for code in ["ResourceNotFoundException", "AccessDeniedException"] {
            assert!(!answered(code).rests(), "{code}");
        }
        assert_eq!(
            answered("ResourceNotFoundException").to_string(),
            "dynamodb:GetItem: ResourceNotFoundException"
        );
        assert!(!StateError::Resting.rests());
        assert!(!StateError::KeptChanging("flood state").rests());
        assert_eq!(
            StateError::KeptChanging("the group").to_string(),
            "dynamodb: the group kept changing under this instance"
        );
    }
}
