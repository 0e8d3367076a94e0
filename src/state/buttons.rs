//! What the buttons on alerts keep in the state table: each alert with buttons (`a#id`, its
//! record as JSON), each Slack request seen (`r#signature`, so a replay is refused), and each
//! silence (`s#cluster/subject/cause`, until when and by whom).

use chrono::{DateTime, Duration, Utc};

use super::table::{is_condition_failure, n, number, s, text, StateError, Table};

/// How long an alert's buttons keep working.
pub const ALERT_KEEP: Duration = Duration::days(14);
/// How long a request is remembered: longer than the five minutes its timestamp is accepted.
const REQUEST_KEEP: Duration = Duration::minutes(10);

/// A silence in force: until when, and who set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub until: DateTime<Utc>,
    pub by: String,
}

impl Table {
    /// Stores the record of alert `id` (JSON).
    pub async fn put_alert(
        &self,
        id: &str,
        record: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        self.client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("a#{id}")))
            .item("record", s(record))
            .item("expires_at", n((now + ALERT_KEEP).timestamp()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutItem", &e))
    }

    /// The record of alert `id` (JSON), if it was stored.
    pub async fn alert(&self, id: &str) -> Result<Option<String>, StateError> {
        Ok(self
            .get(&format!("a#{id}"))
            .await?
            .and_then(|item| text(&item, "record")))
    }

    /// Records request `key` as seen; `false` when it was seen before (a replay).
    pub async fn first_request(&self, key: &str, now: DateTime<Utc>) -> Result<bool, StateError> {
        let put = self
            .client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("r#{key}")))
            .item("expires_at", n((now + REQUEST_KEEP).timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(self.failed("PutItem", &err)),
        }
    }

    /// Silences the alerts of `key` until `until`.
    pub async fn set_silence(&self, key: &str, silence: &Silence) -> Result<(), StateError> {
        self.client()
            .await?
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("s#{key}")))
            .item("until", n(silence.until.timestamp()))
            .item("by", s(&silence.by))
            .item("expires_at", n(silence.until.timestamp()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutItem", &e))
    }

    /// The silence of `key` in force at `now` (an expired one the table has not yet removed is
    /// over).
    pub async fn silence(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Silence>, StateError> {
        let Some(item) = self.get(&format!("s#{key}")).await? else {
            return Ok(None);
        };
        let until = number(&item, "until").and_then(|t| DateTime::from_timestamp(t, 0));
        Ok(until.filter(|u| *u > now).map(|until| Silence {
            until,
            by: text(&item, "by").unwrap_or_default(),
        }))
    }

    /// Lifts the silence of `key`: it ends now (a write over it, so the table is only ever
    /// written, never deleted from, by the function; the expiry removes the item).
    pub async fn lift_silence(
        &self,
        key: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let over = Silence {
            until: now,
            by: by.to_string(),
        };
        self.set_silence(key, &over).await
    }
}
