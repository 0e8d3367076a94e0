//! What the ECS and CloudWatch Logs APIs add to an event: plain data, filled in by the enricher
//! and read by the pure planner (and, recorded as JSON, by `render --enrichment`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `awslogs` log configuration of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsLogs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

impl AwsLogs {
    /// The container's stream for a task: `<prefix>/<container>/<task id>`; `None` without a
    /// prefix (ECS then names streams by container id, which events do not carry).
    pub fn stream(&self, container: &str, task_id: &str) -> Option<String> {
        let prefix = self.stream_prefix.as_deref()?;
        Some(format!("{prefix}/{container}/{task_id}"))
    }
}

/// A container definition, as far as alerts need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDef {
    pub name: String,
    pub image: Option<String>,
    pub essential: bool,
    /// Hard limit, MiB.
    pub memory: Option<i32>,
    /// Soft limit, MiB.
    pub memory_reservation: Option<i32>,
    pub awslogs: Option<AwsLogs>,
    /// Seconds ECS waits after SIGTERM before it kills the container (`stopTimeout`).
    #[serde(default)]
    pub stop_timeout: Option<i32>,
}

/// A task definition revision, as far as alerts need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinitionInfo {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    /// Task-level memory, MiB (a string in the API: `"1024"`).
    pub memory: Option<String>,
    pub containers: Vec<ContainerDef>,
    pub tags: Vec<(String, String)>,
    /// Unified service tagging: `service`, `env` and `version` as a container of the task
    /// definition sets them (`DD_SERVICE`… in its environment, or `com.datadoghq.tags.*` labels).
    #[serde(default)]
    pub unified: Vec<(String, String)>,
    /// The EFS file systems its volumes mount.
    #[serde(default)]
    pub file_systems: Vec<String>,
    /// What its containers' `secrets` name (`valueFrom`: Secrets Manager ARNs, SSM parameters).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Its containers' `environmentFiles` (S3 object ARNs).
    #[serde(default)]
    pub environment_files: Vec<String>,
}

impl TaskDefinitionInfo {
    pub fn container(&self, name: &str) -> Option<&ContainerDef> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// `family:revision`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }

    /// The memory limit a container ran into: its hard limit, else the task's.
    pub fn memory_limit(&self, container: &str) -> Option<String> {
        match self.container(container).and_then(|c| c.memory) {
            Some(mib) => Some(format!("{mib} MiB (container limit)")),
            None => self
                .memory
                .as_ref()
                .map(|m| format!("{m} MiB (task limit)")),
        }
    }
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentInfo {
    pub id: String,
    pub task_definition: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
}

/// A service, as far as alerts need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceInfo {
    pub tags: Vec<(String, String)>,
    pub deployments: Vec<DeploymentInfo>,
}

impl ServiceInfo {
    pub fn deployment(&self, id: &str) -> Option<&DeploymentInfo> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

/// What the service deployment APIs tell of a deployment that failed or is rolling back
/// (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceDeploymentInfo {
    pub arn: String,
    /// `ROLLBACK_IN_PROGRESS`, `STOPPED`, …
    pub status: Option<String>,
    pub status_reason: Option<String>,
    /// `ROLLING`, `BLUE_GREEN`, `LINEAR`, `CANARY`.
    pub strategy: Option<String>,
    /// `POST_TEST_TRAFFIC_SHIFT`, `BAKE_TIME`, …
    pub lifecycle_stage: Option<String>,
    /// The CloudWatch alarms that triggered the rollback.
    pub triggered_alarms: Vec<String>,
    /// The circuit breaker's failed tasks and threshold, when it watches the deployment.
    pub circuit_breaker: Option<(i32, i32)>,
    pub rollback_reason: Option<String>,
    /// The task definition of the revision rolled back to (else the revision's ARN).
    pub rollback_to: Option<String>,
    /// The task definition of the revision being deployed.
    pub target: Option<String>,
}

/// The health a stopped task's container last reported (DescribeTasks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerHealth {
    pub name: String,
    /// `HEALTHY`, `UNHEALTHY`, `UNKNOWN`.
    pub status: String,
}

/// The last lines a container logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTail {
    pub container: String,
    pub group: String,
    pub stream: String,
    pub region: String,
    pub lines: Vec<String>,
}

/// Everything enrichment found for one event; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Enrichment {
    /// The task's task definition, or the deployment's.
    pub task_definition: Option<Arc<TaskDefinitionInfo>>,
    pub service: Option<Arc<ServiceInfo>>,
    pub health: Option<Vec<ContainerHealth>>,
    pub logs: Vec<LogTail>,
    /// For a rollback: the task definition rolled back to.
    pub rollback_to: Option<String>,
    /// For a deployment that failed or rolls back: what the service deployment APIs tell.
    pub service_deployment: Option<ServiceDeploymentInfo>,
    /// The tags of the container instance or daemon an event is about.
    pub resource_tags: Vec<(String, String)>,
    /// What could not be looked up, and why (for the log line).
    pub skipped: Vec<String>,
    /// For a missed-run check: the jobs the state table tracks.
    pub jobs: Vec<super::jobs::job::Job>,
    /// The name of the event's account in AWS Organizations (`organizations:DescribeAccount`).
    pub account_name: Option<String>,
}

impl Enrichment {
    /// Tags for routing: the task definition's, then the service's (which win); for container
    /// instance and daemon events, the resource's own.
    pub fn tags(&self) -> Vec<(&str, &str)> {
        let td = self.task_definition.iter().flat_map(|t| t.tags.iter());
        let svc = self.service.iter().flat_map(|s| s.tags.iter());
        td.chain(svc)
            .chain(self.resource_tags.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn log_tail(&self, container: &str) -> Option<&LogTail> {
        self.logs.iter().find(|l| l.container == container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_limits() {
        let logs = AwsLogs {
            group: "/ecs/api".into(),
            region: None,
            stream_prefix: Some("ecs".into()),
        };
        assert_eq!(logs.stream("app", "abc").as_deref(), Some("ecs/app/abc"));
        let td = TaskDefinitionInfo {
            arn: "arn".into(),
            family: "api".into(),
            revision: 3,
            memory: Some("1024".into()),
            containers: vec![ContainerDef {
                name: "app".into(),
                image: None,
                essential: true,
                memory: Some(512),
                memory_reservation: None,
                awslogs: Some(logs),
                stop_timeout: None,
            }],
            tags: vec![("ecs-notifier:slack".into(), "a".into())],
            unified: Vec::new(),
            file_systems: Vec::new(),
            secrets: Vec::new(),
            environment_files: Vec::new(),
        };
        assert_eq!(
            td.memory_limit("app").as_deref(),
            Some("512 MiB (container limit)")
        );
        assert_eq!(
            td.memory_limit("sidecar").as_deref(),
            Some("1024 MiB (task limit)")
        );
        let e = Enrichment {
            task_definition: Some(Arc::new(td)),
            service: Some(Arc::new(ServiceInfo {
                tags: vec![("ecs-notifier:slack".into(), "b".into())],
                deployments: vec![],
            })),
            ..Enrichment::default()
        };
        assert_eq!(
            e.tags(),
            [("ecs-notifier:slack", "a"), ("ecs-notifier:slack", "b")]
        );
    }
}
