//! `ECS Hook State Change`: a lifecycle hook of a service deployment (blue/green, linear, canary)
//! changed status: in progress, awaiting action (a pause hook waiting for
//! `ContinueServiceDeployment`), succeeded, failed, timed out. Shape: the ECS developer guide's
//! "Amazon ECS service deployment hook state change events".

use serde::Deserialize;

use super::arn;
use super::envelope::Timestamp;
use super::lenient;

/// A hook state change. Every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    /// `INFO` in every example AWS documents.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    /// `HOOK_IN_PROGRESS`, `HOOK_AWAITING_ACTION`, `HOOK_SUCCEEDED`, `HOOK_FAILED`,
    /// `HOOK_TIMED_OUT`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub hook_id: Option<String>,
    /// `PAUSE` (documented); `AWS_LAMBDA` for Lambda hooks is the API model's other target type,
    /// with no documented event.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub hook_type: Option<String>,
    /// When the hook's timeout action fires.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub expires_at: Option<Timestamp>,
    /// `POST_TEST_TRAFFIC_SHIFT`, `PRE_PRODUCTION_TRAFFIC_SHIFT`, …
    #[serde(default, deserialize_with = "lenient::opt")]
    pub lifecycle_stage: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_deployment_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub updated_at: Option<Timestamp>,
}

impl Hook {
    /// The service's name, from its ARN (else the service deployment's).
    pub fn service(&self) -> &str {
        self.service_arn
            .as_deref()
            .and_then(arn::service_name)
            .or_else(|| {
                self.service_deployment_arn
                    .as_deref()
                    .and_then(arn::deployment_service)
            })
            .unwrap_or("")
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        self.cluster_arn
            .as_deref()
            .map(arn::cluster_name)
            .or_else(|| self.service_arn.as_deref().and_then(arn::service_cluster))
            .unwrap_or("")
    }
}
