//! Container instance events: `ECS Container Instance Health Change` (its health checks: the
//! container runtime, GPUs, daemons, the agent's connection) and `ECS Container Instance State
//! Change` (status, agent connection; the detail resembles DescribeContainerInstances' object).
//! Shapes: the ECS developer guide's container instance health change and state change pages.

use serde::Deserialize;

use super::arn;
use super::envelope::Timestamp;
use super::lenient;

/// One health check of an instance.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `CONTAINER_RUNTIME`, `ACCELERATED_COMPUTE`, `DAEMON`, `AGENT_CONNECTIVITY`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    pub kind: Option<String>,
    /// `OK`, `IMPAIRED`, `INSUFFICIENT_DATA`, `INITIALIZING`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status: Option<String>,
    /// `XID_46` (a GPU), `Daemon task: … is unhealthy`, `Agent disconnected since …`; often null.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_status_change: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_updated: Option<Timestamp>,
}

/// A container instance health change. The event has no `version`: AWS documents no
/// deduplication key, so deliveries are known by event id and the checks' last status change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealth {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub container_instance_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub capacity_provider_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub ec2_instance_id: Option<String>,
    /// The most severe of the checks: `IMPAIRED`, `INSUFFICIENT_DATA`, `INITIALIZING`, `OK`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub overall_status: Option<String>,
    /// `healthChecks` in the event (`details` in the API's object, also read).
    #[serde(default, alias = "details", deserialize_with = "lenient::records")]
    pub health_checks: Vec<HealthCheck>,
}

/// A container instance state change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceState {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub agent_connected: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub container_instance_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub ec2_instance_id: Option<String>,
    /// `ACTIVE`, `DRAINING`, `DEREGISTERING`, `INACTIVE`, `REGISTERING`, `REGISTRATION_FAILED`
    /// (AWS's list; the API model has no enum for it).
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status: Option<String>,
    /// Not in the documented example, but on DescribeContainerInstances' object.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub status_reason: Option<String>,
    /// Not in the documented example; container instances carry it with capacity providers.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub capacity_provider_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub updated_at: Option<Timestamp>,
}

/// The cluster's name from a cluster ARN, else from a container instance ARN
/// (`…:container-instance/<cluster>/<id>`).
pub fn cluster_of<'a>(cluster_arn: Option<&'a str>, instance_arn: Option<&'a str>) -> &'a str {
    cluster_arn
        .map(arn::cluster_name)
        .or_else(|| instance_arn.and_then(arn::instance_cluster))
        .unwrap_or("")
}

/// The EC2 instance id, else the container instance id from its ARN.
fn instance_of<'a>(ec2_instance_id: Option<&'a str>, instance_arn: Option<&'a str>) -> &'a str {
    ec2_instance_id
        .or(instance_arn.map(arn::last_segment))
        .unwrap_or("")
}

impl InstanceHealth {
    pub fn cluster(&self) -> &str {
        cluster_of(
            self.cluster_arn.as_deref(),
            self.container_instance_arn.as_deref(),
        )
    }

    /// The EC2 instance id, else the container instance id.
    pub fn instance(&self) -> &str {
        instance_of(
            self.ec2_instance_id.as_deref(),
            self.container_instance_arn.as_deref(),
        )
    }

    /// The checks that are impaired.
    pub fn failing(&self) -> impl Iterator<Item = &HealthCheck> {
        self.health_checks
            .iter()
            .filter(|c| c.status.as_deref() == Some("IMPAIRED"))
    }
}

impl InstanceState {
    pub fn cluster(&self) -> &str {
        cluster_of(
            self.cluster_arn.as_deref(),
            self.container_instance_arn.as_deref(),
        )
    }

    /// The EC2 instance id, else the container instance id.
    pub fn instance(&self) -> &str {
        instance_of(
            self.ec2_instance_id.as_deref(),
            self.container_instance_arn.as_deref(),
        )
    }
}
