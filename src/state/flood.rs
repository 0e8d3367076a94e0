//! Flood-control windows in the state table, shared by every instance, and what each held back.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::table::{
    is_condition_failure, n, number, s, text, time, versioned, Item, StateError, Table,
};
use crate::judge::flood::{admit, Admission, FloodState};
use crate::judge::held_back::HeldBack;

/// Attempts at a flood-state update that raced another instance.
const FLOOD_ATTEMPTS: usize = 4;

impl Table {
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
            let state = item.and_then(flood_state);
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
                .item(
                    "held",
                    AttributeValue::L(next.held.iter().map(|h| s(h)).collect()),
                )
                .item("version", n(version.unwrap_or(0) + 1))
                // In the by-kind index: the missed-run check posts what a window held back.
                .item("kind", s("flood"))
                .item("flood_key", s(key))
                .item("route", s(route.unwrap_or("")))
                .item("channel", s(channel.unwrap_or("")))
                // Two windows after it opened, or after now for a backlog's window (its events'
                // times long past): kept while its events still arrive.
                .item(
                    "expires_at",
                    n((next.window_start.max(Utc::now()) + window * 2).timestamp()),
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
}

/// A flood key's state as the table holds it (an item written before `held` was kept has none).
fn flood_state(item: &Item) -> Option<FloodState> {
    let held = match item.get("held").map(|h| h.as_l()) {
        Some(Ok(list)) => list.iter().filter_map(|h| h.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    Some(FloodState {
        window_start: DateTime::from_timestamp(number(item, "window_start")?, 0)?,
        suppressed: number(item, "suppressed")?.max(0) as u64,
        opener: item.get("opener")?.as_s().ok()?.clone(),
        held,
    })
}
