//! An `aws.ecs` event of a kind this function does not know yet (ECS adds event types over
//! time): what any ECS event may carry, read leniently, so that a new kind's warnings and errors
//! still reach people.

use serde::Deserialize;

use super::arn;
use super::lenient;

/// An ECS event of an unknown detail type (or a known type's unknown fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherEcs {
    /// `ERROR`, `WARN`, `WARNING` alert; `INFO` or none stays quiet.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub container_instance_arn: Option<String>,
}

impl OtherEcs {
    /// Whether people should hear of it: a warning or an error.
    pub fn is_loud(&self) -> bool {
        matches!(
            self.event_type.as_deref(),
            Some("ERROR" | "WARN" | "WARNING")
        )
    }

    pub fn cluster(&self) -> &str {
        self.cluster_arn
            .as_deref()
            .map(arn::cluster_name)
            .or_else(|| self.service_arn.as_deref().and_then(arn::service_cluster))
            .or_else(|| {
                self.container_instance_arn
                    .as_deref()
                    .and_then(arn::instance_cluster)
            })
            .unwrap_or("")
    }

    /// The service, else the container instance, it is about.
    pub fn subject(&self) -> &str {
        self.service_name
            .as_deref()
            .or_else(|| self.service_arn.as_deref().and_then(arn::service_name))
            .or_else(|| {
                self.container_instance_arn
                    .as_deref()
                    .map(arn::last_segment)
            })
            .unwrap_or("")
    }
}
