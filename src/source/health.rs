//! AWS Health events about ECS: Fargate task retirement (`AWS_ECS_TASK_PATCHING_RETIREMENT`),
//! announced ahead of the date the tasks are stopped.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::arn;
use super::lenient;

/// The `detail` of an `AWS Health Event`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthEvent {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type_category: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_region: Option<String>,
    /// `Wed, 16 Aug 2023 23:18:51 GMT` (RFC 2822) in AWS's samples; ISO-8601 is read too.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub end_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub event_description: Vec<Description>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub affected_entities: Vec<Entity>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub language: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub latest_description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub entity_value: Option<String>,
}

/// Something a retirement notice names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Affected {
    /// `cluster|service`: the service's tasks are replaced by the service scheduler.
    Service { cluster: String, service: String },
    /// A task ARN: a standalone task, which nothing replaces.
    Task { cluster: String, task_id: String },
    /// Anything else, as written.
    Other(String),
}

impl Affected {
    fn read(value: &str) -> Self {
        let value = value.trim();
        if let Some((cluster, service)) = value.split_once('|') {
            return Affected::Service {
                cluster: arn::cluster_name(cluster).to_string(),
                service: arn::service_name(service).unwrap_or(service).to_string(),
            };
        }
        if value.contains(":task/") {
            let id = arn::task_id(value).to_string();
            let cluster = value
                .split(":task/")
                .nth(1)
                .and_then(|rest| rest.split_once('/'))
                .map(|(c, _)| c.to_string())
                .unwrap_or_default();
            return Affected::Task {
                cluster,
                task_id: id,
            };
        }
        if let (Some(service), Some(cluster)) =
            (arn::service_name(value), arn::service_cluster(value))
        {
            return Affected::Service {
                cluster: cluster.to_string(),
                service: service.to_string(),
            };
        }
        Affected::Other(value.to_string())
    }

    /// The cluster, when known.
    pub fn cluster(&self) -> &str {
        match self {
            Affected::Service { cluster, .. } | Affected::Task { cluster, .. } => cluster,
            Affected::Other(_) => "",
        }
    }
}

/// Reads a Health timestamp: RFC 2822 (`Wed, 16 Aug 2023 23:18:51 GMT`) or ISO-8601.
pub fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text)
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl HealthEvent {
    /// Whether this is a Fargate task retirement notice.
    pub fn is_retirement(&self) -> bool {
        self.event_type_code.as_deref() == Some("AWS_ECS_TASK_PATCHING_RETIREMENT")
    }

    /// When the tasks are retired (the event's start).
    pub fn starts(&self) -> Option<DateTime<Utc>> {
        self.start_time.as_deref().and_then(time)
    }

    /// The affected services and tasks, from `affectedEntities` and the event's `resources`,
    /// sorted and without repeats.
    pub fn affected(&self, resources: &[String]) -> Vec<Affected> {
        let mut out: Vec<Affected> = self
            .affected_entities
            .iter()
            .filter_map(|e| e.entity_value.as_deref())
            .chain(resources.iter().map(String::as_str))
            .filter(|v| !v.trim().is_empty())
            .map(Affected::read)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The English description, if any.
    pub fn description(&self) -> Option<&str> {
        self.event_description
            .iter()
            .find(|d| d.language.as_deref().is_none_or(|l| l.starts_with("en")))
            .or(self.event_description.first())
            .and_then(|d| d.latest_description.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_services_and_standalone_tasks() {
        let h = HealthEvent::deserialize(&json!({
            "eventTypeCode": "AWS_ECS_TASK_PATCHING_RETIREMENT",
            "startTime": "Wed, 16 Aug 2023 23:18:51 GMT",
            "affectedEntities": [
                {"entityValue": "arn:aws:ecs:eu-west-1:1:task/batch/00805ce1d81940b5a37398e5a2c23333"},
                {"entityValue": "prod|checkout-api"}, 7
            ]
        }))
        .unwrap();
        assert!(h.is_retirement());
        assert_eq!(
            h.starts().map(|t| t.to_rfc3339()).as_deref(),
            Some("2023-08-16T23:18:51+00:00")
        );
        let affected = h.affected(&["prod|checkout-api".into(), "prod|billing".into()]);
        assert_eq!(
            affected,
            vec![
                Affected::Service {
                    cluster: "prod".into(),
                    service: "billing".into()
                },
                Affected::Service {
                    cluster: "prod".into(),
                    service: "checkout-api".into()
                },
                Affected::Task {
                    cluster: "batch".into(),
                    task_id: "00805ce1d81940b5a37398e5a2c23333".into()
                },
            ]
        );
        assert_eq!(
            time("2026-11-30T10:00:00Z").map(|t| t.timestamp()),
            Some(1_796_032_800)
        );
        assert_eq!(time("soon"), None);
    }
}
