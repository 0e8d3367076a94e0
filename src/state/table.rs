//! The optional state table (DynamoDB), shared by every instance: which parts of which events
//! were delivered, task stops, flood-control windows, deployment threads and tracked jobs.
//! Conditional writes keep two instances from both delivering the same event.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;
use tokio::sync::OnceCell;

use crate::aws::Aws;
use crate::judge::flood::{admit, Admission, FloodState};
use crate::judge::held_back::HeldBack;
use crate::judge::stops::{StopKey, StopRecord};
use crate::sinks::slack::Posted;
use crate::state::memory::lock;

/// Margin added to a claimer's deadline: its claim lapses only once it can no longer be sending.
const LEASE_MARGIN: Duration = Duration::seconds(5);
/// How long delivery records are kept: longer than EventBridge (24 h) and Lambda (6 h) retry.
const KEEP: Duration = Duration::days(3);
/// How long the table is left alone after a call failed (throttled, unreachable, denied).
const REST: std::time::Duration = std::time::Duration::from_secs(30);
/// Attempts at a flood-state update that raced another instance.
const FLOOD_ATTEMPTS: usize = 4;

/// The outcome of claiming an event for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This instance delivers it; `sent` are the parts some instance delivered before.
    Mine { sent: BTreeSet<String> },
    /// Another instance is delivering it right now.
    Elsewhere,
}

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
            | StateError::GroupState(_) => false,
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

fn sent_parts(item: &Item) -> BTreeSet<String> {
    item.get("sent")
        .and_then(|v| v.as_ss().ok())
        .map(|parts| parts.iter().cloned().collect())
        .unwrap_or_default()
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

    /// Claims delivery of the event known as `identity` for an instance that must be done by
    /// `until` (its invocation deadline): past that, the claim lapses, so a retry after a crash
    /// mid-delivery can take it over. One claim covers every part of the event, so two
    /// instances never split an event between them.
    pub async fn claim(
        &self,
        identity: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StateError> {
        let taken = self
            .client()
            .await?
            .update_item()
            .table_name(&self.name)
            .key("pk", s(&format!("d#{identity}")))
            .update_expression("SET #s = :sending, lease_until = :until, expires_at = :expires")
            .condition_expression(
                "attribute_not_exists(pk) OR #s <> :sending OR lease_until < :now",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":until", n((until + LEASE_MARGIN).timestamp()))
            .expression_attribute_values(":expires", n((now + KEEP).timestamp()))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match taken {
            Ok(out) => Ok(Claim::Mine {
                sent: out.attributes().map(sent_parts).unwrap_or_default(),
            }),
            Err(err) if is_condition_failure(&err) => Ok(Claim::Elsewhere),
            Err(err) => Err(self.failed("UpdateItem", &err)),
        }
    }

    /// Ends this instance's claim, recording the parts it delivered.
    pub async fn finish(&self, identity: &str, delivered: &[&str]) -> Result<(), StateError> {
        let mut update = self
            .client()
            .await?
            .update_item()
            .table_name(&self.name)
            .key("pk", s(&format!("d#{identity}")))
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":idle", s("idle"));
        update = if delivered.is_empty() {
            update.update_expression("SET #s = :idle")
        } else {
            update
                .update_expression("SET #s = :idle ADD sent :parts")
                .expression_attribute_values(
                    ":parts",
                    AttributeValue::Ss(delivered.iter().map(|p| p.to_string()).collect()),
                )
        };
        update
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("UpdateItem", &e))
    }

    /// Claims the stop of a task for the STOPPED event `key`: the first event to write wins,
    /// atomically. Returns the record of the event that counts (this one, or an earlier one).
    pub async fn own_stop(
        &self,
        key: &StopKey,
        now: DateTime<Utc>,
    ) -> Result<StopRecord, StateError> {
        let mut update = self
            .client()
            .await?
            .update_item()
            .table_name(&self.name)
            .key("pk", s(&format!("s#{}", key.task_arn)))
            .expression_attribute_values(":token", s(&key.token))
            .expression_attribute_values(":score", n(i64::from(key.score)))
            .expression_attribute_values(":expires", n((now + KEEP).timestamp()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let mut set = String::from(
            "SET #t = if_not_exists(#t, :token), score = if_not_exists(score, :score), \
             expires_at = if_not_exists(expires_at, :expires)",
        );
        update = update.expression_attribute_names("#t", "token");
        if let Some(version) = key.version {
            set.push_str(", #v = if_not_exists(#v, :version)");
            update = update
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":version", n(version));
        }
        let out = update
            .update_expression(set)
            .send()
            .await
            .map_err(|e| self.failed("UpdateItem", &e))?;
        let item = out.attributes().cloned().unwrap_or_default();
        Ok(stop_record(&item).unwrap_or_else(|| key.record()))
    }

    /// Remembers where the Slack alert of a task's stop is, and what its event told.
    pub async fn set_stop_alert(
        &self,
        task_arn: &str,
        posted: &Posted,
        score: u32,
    ) -> Result<(), StateError> {
        self.client()
            .await?
            .update_item()
            .table_name(&self.name)
            .key("pk", s(&format!("s#{task_arn}")))
            .update_expression("SET channel = :c, ts = :ts, score = :score")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":c", s(&posted.channel))
            .expression_attribute_values(":ts", s(&posted.ts))
            .expression_attribute_values(":score", n(i64::from(score)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("UpdateItem", &e))
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

    /// Where the Slack message of deployment `id` is, if one was posted.
    pub async fn thread(&self, id: &str) -> Result<Option<Posted>, StateError> {
        let got = self.get(&format!("t#{id}")).await?;
        Ok(got.as_ref().and_then(|i| {
            Some(Posted {
                channel: i.get("channel")?.as_s().ok()?.clone(),
                ts: i.get("ts")?.as_s().ok()?.clone(),
            })
        }))
    }

    /// Remembers where the Slack message of deployment `id` is.
    pub async fn set_thread(
        &self,
        id: &str,
        posted: &Posted,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        self.client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("t#{id}")))
            .item("channel", s(&posted.channel))
            .item("ts", s(&posted.ts))
            .item("expires_at", n((now + KEEP).timestamp()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutItem", &e))
    }

    /// Flood control across instances: the decision of [`admit`] on the shared state, written
    /// back only if no other instance changed it meanwhile.
    /// `route` and `channel` are where the alert goes, for a summary the check posts later.
    pub async fn flood(
        &self,
        key: &str,
        event: &str,
        at: DateTime<Utc>,
        window: Duration,
        (route, channel): (Option<&str>, Option<&str>),
    ) -> Result<Admission, StateError> {
        let pk = format!("f#{key}");
        for _ in 0..FLOOD_ATTEMPTS {
            let got = self.get(&pk).await?;
            let item = got.as_ref();
            let version = item.and_then(|i| number(i, "version"));
            let state = item.and_then(|i| {
                Some(FloodState {
                    window_start: DateTime::from_timestamp(number(i, "window_start")?, 0)?,
                    suppressed: number(i, "suppressed")?.max(0) as u64,
                    opener: i.get("opener")?.as_s().ok()?.clone(),
                })
            });
            let (admission, next) = admit(state.as_ref(), event, at, window);
            let Some(next) = next else {
                return Ok(admission);
            };
            let put = self
                .client()
                .await?
                .put_item()
                .table_name(&self.name)
                .item("pk", s(&pk))
                .item("window_start", n(next.window_start.timestamp()))
                .item("suppressed", n(next.suppressed as i64))
                .item("opener", s(&next.opener))
                .item("version", n(version.unwrap_or(0) + 1))
                // In the by-kind index: the missed-run check posts what a window held back.
                .item("kind", s("flood"))
                .item("flood_key", s(key))
                .item("route", s(route.unwrap_or("")))
                .item("channel", s(channel.unwrap_or("")))
                .item(
                    "expires_at",
                    n((next.window_start + window * 2).timestamp()),
                );
            match versioned(put, version).send().await {
                Ok(_) => return Ok(admission),
                Err(err) if is_condition_failure(&err) => continue, // another instance won; read again
                Err(err) => return Err(self.failed("PutItem", &err)),
            }
        }
        Err(StateError::KeptChanging("flood state"))
    }

    /// Flood windows holding back alerts, with the version each was read at.
    pub async fn held_back(&self) -> Result<Vec<HeldBack>, StateError> {
        Ok(self
            .of_kind("flood")
            .await?
            .iter()
            .filter_map(|i| {
                Some(HeldBack {
                    key: text(i, "flood_key")?,
                    since: time(i, "window_start")?,
                    count: number(i, "suppressed").filter(|n| *n > 0)? as u64,
                    version: number(i, "version")?,
                    route: text(i, "route"),
                    channel: text(i, "channel"),
                })
            })
            .collect())
    }

    /// Marks what a window held back as told, unless another instance changed the window since
    /// it was read (then the next alert's summary tells it). Returns whether it was marked.
    pub async fn release(&self, held: &HeldBack) -> Result<bool, StateError> {
        let done = self
            .client()
            .await?
            .update_item()
            .table_name(&self.name)
            .key("pk", s(&format!("f#{}", held.key)))
            .update_expression("SET suppressed = :zero, version = :next")
            .condition_expression("version = :v")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":next", n(held.version + 1))
            .expression_attribute_values(":v", n(held.version))
            .send()
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(self.failed("UpdateItem", &err)),
        }
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

fn stop_record(item: &Item) -> Option<StopRecord> {
    let posted = match (text(item, "channel"), text(item, "ts")) {
        (Some(channel), Some(ts)) => Some(Posted { channel, ts }),
        _ => None,
    };
    Some(StopRecord {
        token: text(item, "token")?,
        version: number(item, "version"),
        score: number(item, "score")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        posted,
    })
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
