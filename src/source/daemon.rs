//! Managed daemon events: `ECS Daemon Service Action` (a daemon task that cannot start, with
//! `eventType` `WARNING`, not `WARN`) and `ECS Daemon Deployment State Change`
//! (`DAEMON_DEPLOYMENT_*`). Shapes: the ECS developer guide's "Daemon events".

use serde::Deserialize;

use super::arn;
use super::envelope::Timestamp;
use super::lenient;

/// A daemon service action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonAction {
    /// `WARNING` in the documented examples (`WARN` and `ERROR` read the same).
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    /// `DAEMON_TASK_START_IMPAIRED`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub container_instance_arn: Option<String>,
    /// Present when the task was created but failed to run.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub daemon_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub daemon_revision_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub daemon_task_definition_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub capacity_provider_name: Option<String>,
    /// `TASK_FAILED_TO_RUN` or `TASK_CREATION_FAILED`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub failure_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
}

/// A daemon deployment state change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonDeployment {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    /// `DAEMON_DEPLOYMENT_PENDING`, `_IN_PROGRESS`, `_SUCCESSFUL`, `_STOPPED`,
    /// `_STOP_REQUESTED`, `_ROLLBACK_IN_PROGRESS`, `_ROLLBACK_SUCCESSFUL`, `_ROLLBACK_FAILED`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub daemon_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub daemon_deployment_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub target_daemon_revision_arn: Option<String>,
    /// Not in the one documented example (PENDING); read when present.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub updated_at: Option<Timestamp>,
}

/// The daemon's name from `…:daemon/<cluster>/<name>`, and its cluster.
fn daemon_of(daemon_arn: Option<&str>, cluster_arn: Option<&str>) -> (String, String) {
    let daemon = daemon_arn.map(arn::last_segment).unwrap_or("").to_string();
    let cluster = cluster_arn
        .map(arn::cluster_name)
        .or_else(|| daemon_arn.and_then(arn::daemon_cluster))
        .unwrap_or("")
        .to_string();
    (daemon, cluster)
}

impl DaemonAction {
    /// The daemon's name and cluster.
    pub fn place(&self) -> (String, String) {
        daemon_of(self.daemon_arn.as_deref(), self.cluster_arn.as_deref())
    }
}

impl DaemonDeployment {
    /// The daemon's name and cluster.
    pub fn place(&self) -> (String, String) {
        daemon_of(self.daemon_arn.as_deref(), self.cluster_arn.as_deref())
    }
}
