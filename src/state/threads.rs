//! Deployment threads in the state table: where the Slack message of each deployment is.

use chrono::{DateTime, Utc};

use super::table::{n, s, StateError, Table, KEEP};
use crate::judge::post::Posted;

impl Table {
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
}
