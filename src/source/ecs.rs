//! The details of ECS's own events: a task (Task State Change), a deployment (Deployment State
//! Change) and a service action (Service Action), read leniently.

use serde::Deserialize;

use super::arn;
use super::envelope::{Envelope, Timestamp};
use super::lenient;

/// A task as described by a Task State Change event (the DescribeTasks shape, ISO timestamps).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_definition_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub desired_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stop_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopped_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub group: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub started_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub launch_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub capacity_provider_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cpu: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub memory: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pull_started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pull_stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopping_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub execution_stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub platform_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub attributes: Vec<Attribute>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub containers: Vec<Container>,
    /// What RunTask overrode (`containerOverrides`, `cpu`…), as sent: a re-run sends it again.
    #[serde(default)]
    pub overrides: Option<serde_json::Value>,
    /// The task's attachments (its ENI: `subnetId`), as sent: a re-run's subnets.
    #[serde(default)]
    pub attachments: Option<serde_json::Value>,
}

/// A task attribute (`ecs.cpu-architecture`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Attribute {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub value: Option<String>,
}

/// One container of a task.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub image: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub exit_code: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_arn: Option<String>,
}

impl Container {
    /// The container's name, or `?` when the event left it out.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("?")
    }
}

impl Task {
    /// Fills in the task ARN when the detail lacks it: from the event's `resources` (a task
    /// ARN), else from a container's `taskArn`.
    pub(super) fn locate(&mut self, envelope: &Envelope) {
        if self.task_arn.as_deref().is_some_and(|a| !a.is_empty()) {
            return;
        }
        self.task_arn = envelope
            .resources
            .iter()
            .find(|r| r.contains(":task/"))
            .cloned()
            .or_else(|| {
                self.containers
                    .iter()
                    .find_map(|c| c.task_arn.clone().filter(|a| a.contains(":task/")))
            });
    }

    /// Whether this event reports the task as stopped.
    pub fn is_stopped(&self) -> bool {
        self.last_status.as_deref() == Some("STOPPED")
    }

    /// The cluster's name (`prod`), from the cluster ARN or else the task ARN; empty when
    /// unknown.
    pub fn cluster(&self) -> &str {
        self.cluster_arn
            .as_deref()
            .map(arn::cluster_name)
            .or_else(|| self.task_arn.as_deref().and_then(arn::task_cluster))
            .unwrap_or("")
    }

    /// The task id (last part of the task ARN), or empty when unknown.
    pub fn task_id(&self) -> &str {
        self.task_arn.as_deref().map(arn::task_id).unwrap_or("")
    }

    /// Task definition family and revision.
    pub fn family_revision(&self) -> (&str, Option<u32>) {
        match self.task_definition_arn.as_deref() {
            Some(arn) => arn::family_revision(arn),
            None => (
                self.group
                    .as_deref()
                    .and_then(|g| g.strip_prefix("family:"))
                    .unwrap_or(""),
                None,
            ),
        }
    }

    /// The CPU architecture the task ran on (`x86_64`, `arm64`), from its attributes.
    pub fn cpu_architecture(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.as_deref() == Some("ecs.cpu-architecture"))
            .and_then(|a| a.value.as_deref())
    }

    /// `FARGATE`, `EC2`, `EXTERNAL`; tasks placed by a capacity provider name it instead.
    pub fn launch_type(&self) -> &str {
        self.launch_type
            .as_deref()
            .or(self.capacity_provider_name.as_deref())
            .unwrap_or("unknown")
    }
}

/// A Deployment State Change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub deployment_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub updated_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
}

/// A Service Action event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAction {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub capacity_provider_arns: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub container_instance_arns: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub task_arns: Vec<String>,
}

/// Where a service-level event happened: the service and its cluster, from the detail or the
/// event's `resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub service: String,
    pub cluster: String,
}

impl ServiceRef {
    /// Finds the service among `resources` (a service ARN), preferring a name from the detail.
    pub fn locate(
        envelope: &Envelope,
        detail_service: Option<&str>,
        cluster_arn: Option<&str>,
    ) -> Self {
        let service_arn = envelope
            .resources
            .iter()
            .find(|r| arn::service_name(r).is_some());
        let service = detail_service
            .map(|s| arn::service_name(s).unwrap_or(s))
            .or_else(|| service_arn.and_then(|a| arn::service_name(a)))
            .unwrap_or("")
            .to_string();
        let cluster = cluster_arn
            .map(arn::cluster_name)
            .or_else(|| service_arn.and_then(|a| arn::service_cluster(a)))
            .or_else(|| detail_service.and_then(arn::service_cluster))
            .unwrap_or("")
            .to_string();
        Self { service, cluster }
    }
}

impl ServiceAction {
    /// The service this action is about.
    pub fn service_ref(&self, envelope: &Envelope) -> ServiceRef {
        let named = self.service_name.as_deref().or(self.service.as_deref());
        ServiceRef::locate(envelope, named, self.cluster_arn.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_service_of_a_service_action() {
        let env = Envelope {
            resources: vec!["arn:aws:ecs:eu-west-1:1:service/prod/checkout-api".into()],
            ..Envelope::default()
        };
        let action = ServiceAction::default();
        assert_eq!(
            action.service_ref(&env),
            ServiceRef {
                service: "checkout-api".into(),
                cluster: "prod".into()
            }
        );
        let named = ServiceAction {
            service_name: Some("billing".into()),
            cluster_arn: Some("arn:aws:ecs:eu-west-1:1:cluster/staging".into()),
            ..ServiceAction::default()
        };
        assert_eq!(
            named.service_ref(&env),
            ServiceRef {
                service: "billing".into(),
                cluster: "staging".into()
            }
        );
    }
}
