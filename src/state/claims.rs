//! Delivery claims in the state table: one instance at a time delivers each event.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::table::{is_condition_failure, n, s, Item, StateError, Table, KEEP};

/// Margin added to a claimer's deadline: its claim lapses only once it can no longer be sending.
const LEASE_MARGIN: Duration = Duration::seconds(5);

/// The outcome of claiming an event for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This instance delivers it; `sent` are the parts some instance delivered before.
    Mine { sent: BTreeSet<String> },
    /// Another instance is delivering it right now.
    Elsewhere,
}

fn sent_parts(item: &Item) -> BTreeSet<String> {
    item.get("sent")
        .and_then(|v| v.as_ss().ok())
        .map(|parts| parts.iter().cloned().collect())
        .unwrap_or_default()
}

impl Table {
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
}
