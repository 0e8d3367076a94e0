//! Incident groups in the state table: one item per group key holding its current window (and
//! the one before while its summary is owed), changed only by conditional writes so that every
//! instance admits failures into the same window.

use chrono::{DateTime, Duration, Utc};

use super::table::{is_condition_failure, n, number, s, text, versioned, Item, StateError, Table};
use crate::judge::group::{admit_arrived, Admission, GroupState, Groupable, Grouping, Timing};

/// Attempts at a group update that raced another instance.
const ATTEMPTS: usize = 6;

/// A group as the table holds it, with the version it was read at.
#[derive(Debug, Clone)]
pub struct StoredGroup {
    pub key: String,
    pub state: GroupState,
    pub version: i64,
}

fn stored(item: &Item) -> Option<StoredGroup> {
    Some(StoredGroup {
        key: text(item, "group_key")?,
        state: serde_json::from_str(&text(item, "state")?).ok()?,
        version: number(item, "version")?,
    })
}

impl Table {
    /// The decision of [`admit_arrived`] on the shared state of group `key`, written back only
    /// if no other instance changed it meanwhile. Returns the decision and the group after it.
    #[allow(clippy::too_many_arguments)]
    pub async fn group(
        &self,
        key: &str,
        about: &Groupable,
        destination: (Option<&str>, Option<&str>),
        event: &str,
        timing: Timing,
        settings: Grouping,
    ) -> Result<(Admission, GroupState), StateError> {
        let pk = format!("g#{key}");
        for _ in 0..ATTEMPTS {
            let current = self.get(&pk).await?.as_ref().and_then(stored);
            let state = current.as_ref().map(|c| &c.state);
            let (admission, next) =
                admit_arrived(state, about, destination, event, timing, settings);
            let Some(next) = next else {
                let state = state.cloned().ok_or(StateError::GroupWithoutState)?;
                return Ok((admission, state));
            };
            match self
                .put_group(key, &next, current.map(|c| c.version), settings.window)
                .await
            {
                Ok(true) => return Ok((admission, next)),
                Ok(false) => continue, // another instance won; read again
                Err(err) => return Err(err),
            }
        }
        Err(StateError::KeptChanging("the group"))
    }

    /// Writes `state` as group `key`, if the item is still at `version` (absent: `None`).
    /// Returns whether it was written.
    async fn put_group(
        &self,
        key: &str,
        state: &GroupState,
        version: Option<i64>,
        window: Duration,
    ) -> Result<bool, StateError> {
        let json = serde_json::to_string(state).map_err(StateError::GroupState)?;
        let put = self
            .client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("g#{key}")))
            .item("state", s(&json))
            .item("version", n(version.unwrap_or(0) + 1))
            // In the by-kind index: the periodic check posts the summaries windows owe.
            .item("kind", s("group"))
            .item("group_key", s(key))
            // A day after the window, or after now for a backlog's window.
            .item(
                "expires_at",
                n((state.window_end(window).max(Utc::now()) + Duration::days(1)).timestamp()),
            );
        match versioned(put, version).send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(self.failed("PutItem", &err)),
        }
    }

    /// Group `key` as the table holds it.
    pub async fn group_state(&self, key: &str) -> Result<Option<StoredGroup>, StateError> {
        Ok(self
            .get(&format!("g#{key}"))
            .await?
            .as_ref()
            .and_then(stored))
    }

    /// Every group of the table (the by-kind index), for the periodic check.
    pub async fn groups(&self) -> Result<Vec<StoredGroup>, StateError> {
        Ok(self
            .of_kind("group")
            .await?
            .iter()
            .filter_map(stored)
            .collect())
    }

    /// Marks the summary of `key`'s window that opened at `window_start` as told. Another
    /// instance's change in between is kept (the summary is marked on the state it wrote).
    pub async fn close_group(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        window: Duration,
    ) -> Result<(), StateError> {
        for _ in 0..ATTEMPTS {
            let Some(current) = self.group_state(key).await? else {
                return Ok(());
            };
            let mut next = current.state.clone();
            next.close(window_start);
            if next == current.state {
                return Ok(());
            }
            if self
                .put_group(key, &next, Some(current.version), window)
                .await?
            {
                return Ok(());
            }
        }
        Err(StateError::KeptChanging("the group"))
    }
}
