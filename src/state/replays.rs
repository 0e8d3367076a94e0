//! Archive replays' digests in the state table: one item per replay, changed only by
//! conditional writes, so that every instance adds to the same digest and one tells it.

use chrono::{Duration, Utc};

use super::table::{is_condition_failure, n, number, s, text, versioned, Item, StateError, Table};
use crate::judge::replay::{admit, Digest, Replayed};

/// Attempts at a digest update that raced another instance.
const ATTEMPTS: usize = 6;
/// How long a digest is kept after its latest event arrived.
const KEEP: Duration = Duration::days(3);

/// A digest as the table holds it, with the version it was read at.
#[derive(Debug, Clone)]
pub struct StoredDigest {
    pub digest: Digest,
    pub version: i64,
}

fn stored(item: &Item) -> Option<StoredDigest> {
    Some(StoredDigest {
        digest: serde_json::from_str(&text(item, "state")?).ok()?,
        version: number(item, "version")?,
    })
}

impl Table {
    /// Adds `event` to the shared digest of replay `name` ([`admit`]), written back only if no
    /// other instance changed it meanwhile. Returns the digest after it.
    pub async fn replayed(
        &self,
        name: &str,
        event: &Replayed<'_>,
    ) -> Result<Option<Digest>, StateError> {
        for _ in 0..ATTEMPTS {
            let current = self.digest(name).await?;
            let Some(next) = admit(current.as_ref().map(|c| &c.digest), name, event) else {
                return Ok(current.map(|c| c.digest));
            };
            if self.put_digest(&next, current.map(|c| c.version)).await? {
                return Ok(Some(next));
            }
        }
        Err(StateError::KeptChanging("the replay's digest"))
    }

    /// The digest of replay `name`, as the table holds it.
    pub async fn digest(&self, name: &str) -> Result<Option<StoredDigest>, StateError> {
        Ok(self
            .get(&format!("r#{name}"))
            .await?
            .as_ref()
            .and_then(stored))
    }

    /// Every replay's digest (the by-kind index), for the periodic check.
    pub async fn digests(&self) -> Result<Vec<StoredDigest>, StateError> {
        Ok(self
            .of_kind("replay")
            .await?
            .iter()
            .filter_map(stored)
            .collect())
    }

    /// Marks the digest of replay `name` as told with `events` events, unless it was told with
    /// as many already.
    pub async fn told_digest(&self, name: &str, events: u64) -> Result<(), StateError> {
        for _ in 0..ATTEMPTS {
            let Some(current) = self.digest(name).await? else {
                return Ok(());
            };
            if current.digest.told >= events {
                return Ok(());
            }
            let next = Digest {
                told: events,
                ..current.digest
            };
            if self.put_digest(&next, Some(current.version)).await? {
                return Ok(());
            }
        }
        Err(StateError::KeptChanging("the replay's digest"))
    }

    /// Writes `digest`, if its item is still at `version` (absent: `None`). Returns whether it
    /// was written.
    async fn put_digest(&self, digest: &Digest, version: Option<i64>) -> Result<bool, StateError> {
        let json = serde_json::to_string(digest).map_err(StateError::Digest)?;
        let put = self
            .client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("r#{}", digest.name)))
            .item("state", s(&json))
            .item("version", n(version.unwrap_or(0) + 1))
            // In the by-kind index: the periodic check tells the digests due.
            .item("kind", s("replay"))
            .item(
                "expires_at",
                n((digest.arrived.max(Utc::now()) + KEEP).timestamp()),
            );
        match versioned(put, version).send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(self.failed("PutItem", &err)),
        }
    }
}
