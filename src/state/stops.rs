//! Task stops in the state table: which STOPPED event of a task counts, and where its alert is.

use chrono::{DateTime, Utc};

use super::table::{n, number, s, text, Item, StateError, Table, KEEP};
use crate::judge::post::Posted;
use crate::judge::stops::{StopKey, StopRecord};

impl Table {
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
