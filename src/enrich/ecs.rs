//! The ECS lookups: task definitions (cached per revision for the process), services (tags and
//! deployments, cached a minute for tasks), container instances' and daemons' tags (a minute),
//! and the health a stopped task's containers reported.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::types::{ServiceField, TaskDefinitionField};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::budget::{within, LookupError};
use crate::aws::Clients;
use crate::judge::enrichment::{
    AwsLogs, ContainerDef, ContainerHealth, DeploymentInfo, ServiceDeploymentInfo, ServiceInfo,
    TaskDefinitionInfo,
};
use crate::state::memory::{lock, Cache};

/// How long service tags and deployments are reused for task and service-action events.
const SERVICE_TTL: Duration = Duration::from_secs(60);

/// A resource's tags, as key and value.
type Tags = Vec<(String, String)>;

/// The ECS lookups and their caches, kept across warm invocations.
pub struct EcsLookups {
    task_definitions: Mutex<Cache<Arc<TaskDefinitionInfo>>>,
    services: Mutex<Cache<Arc<ServiceInfo>>>,
    tags: Mutex<Cache<Arc<Tags>>>,
}

impl Default for EcsLookups {
    fn default() -> Self {
        Self {
            task_definitions: Mutex::new(Cache::new(256, None)),
            services: Mutex::new(Cache::new(256, Some(SERVICE_TTL))),
            tags: Mutex::new(Cache::new(256, Some(SERVICE_TTL))),
        }
    }
}

fn to_chrono(t: &aws_sdk_ecs::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

impl EcsLookups {
    /// DescribeTaskDefinition with tags; revisions never change, so cached for the process.
    pub async fn task_definition(
        &self,
        clients: &Clients,
        arn: &str,
        deadline: Instant,
    ) -> Result<Arc<TaskDefinitionInfo>, LookupError> {
        if let Some(hit) = lock(&self.task_definitions).get(arn) {
            return Ok(hit);
        }
        let op = "ecs:DescribeTaskDefinition";
        let out = within(deadline, op, async {
            clients
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .map_err(|e| LookupError::failed(op, &e))
        })
        .await?;
        let info = Arc::new(
            task_definition_info(&out).ok_or_else(|| LookupError::missing(op, "empty answer"))?,
        );
        lock(&self.task_definitions).insert(arn.to_string(), info.clone());
        Ok(info)
    }

    /// DescribeServices with tags, optionally from the short-lived cache.
    pub async fn service(
        &self,
        clients: &Clients,
        cluster: &str,
        name: &str,
        cached: bool,
        deadline: Instant,
    ) -> Result<Arc<ServiceInfo>, LookupError> {
        let key = format!("{cluster}/{name}");
        if cached {
            if let Some(hit) = lock(&self.services).get(&key) {
                return Ok(hit);
            }
        }
        let op = "ecs:DescribeServices";
        let out = within(deadline, op, async {
            let mut call = clients
                .ecs
                .describe_services()
                .services(name)
                .include(ServiceField::Tags);
            if !cluster.is_empty() {
                call = call.cluster(cluster);
            }
            call.send().await.map_err(|e| LookupError::failed(op, &e))
        })
        .await?;
        let service = out.services().first().ok_or_else(|| {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("not found");
            LookupError::missing(op, format!("{name}: {reason}"))
        })?;
        let info = Arc::new(ServiceInfo {
            tags: service
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect(),
            deployments: service
                .deployments()
                .iter()
                .map(|d| DeploymentInfo {
                    id: d.id().unwrap_or("").to_string(),
                    task_definition: d.task_definition().map(String::from),
                    created_at: d.created_at().and_then(to_chrono),
                    status: d.status().map(String::from),
                })
                .collect(),
        });
        lock(&self.services).insert(key, info.clone());
        Ok(info)
    }

    /// ListTagsForResource of a container instance or a daemon, cached like services.
    pub async fn tags(
        &self,
        clients: &Clients,
        arn: &str,
        deadline: Instant,
    ) -> Result<Arc<Tags>, LookupError> {
        if let Some(hit) = lock(&self.tags).get(arn) {
            return Ok(hit);
        }
        let op = "ecs:ListTagsForResource";
        let out = within(deadline, op, async {
            clients
                .ecs
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| LookupError::failed(op, &e))
        })
        .await?;
        let tags = Arc::new(
            out.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect(),
        );
        lock(&self.tags).insert(arn.to_string(), Arc::clone(&tags));
        Ok(tags)
    }

    /// DescribeTasks: the health each container last reported.
    pub async fn health(
        &self,
        clients: &Clients,
        cluster: &str,
        task_arn: &str,
        deadline: Instant,
    ) -> Result<Vec<ContainerHealth>, LookupError> {
        let op = "ecs:DescribeTasks";
        let out = within(deadline, op, async {
            let mut call = clients.ecs.describe_tasks().tasks(task_arn);
            if !cluster.is_empty() {
                call = call.cluster(cluster);
            }
            call.send().await.map_err(|e| LookupError::failed(op, &e))
        })
        .await?;
        let task = out
            .tasks()
            .first()
            .ok_or_else(|| LookupError::missing(op, "task no longer described"))?;
        Ok(task
            .containers()
            .iter()
            .map(|c| ContainerHealth {
                name: c.name().unwrap_or("?").to_string(),
                status: c
                    .health_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "UNKNOWN".into()),
            })
            .collect())
    }
}

/// The service deployment of a service that failed or is rolling back: the most recent one
/// ListServiceDeployments names (a rollback's or a failure's first), with its details from
/// DescribeServiceDeployments and its revisions' task definitions from DescribeServiceRevisions.
pub async fn service_deployment(
    clients: &Clients,
    cluster: &str,
    service: &str,
    latest: bool,
    deadline: Instant,
) -> Result<ServiceDeploymentInfo, LookupError> {
    let arn = latest_deployment(clients, cluster, service, latest, deadline).await?;
    let op = "ecs:DescribeServiceDeployments";
    let described = within(deadline, op, async {
        clients
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(&arn)
            .send()
            .await
            .map_err(|e| LookupError::failed(op, &e))
    })
    .await?;
    let deployment = described
        .service_deployments()
        .first()
        .ok_or_else(|| LookupError::missing(op, format!("{arn} not described")))?;
    let mut info = service_deployment_info(arn, deployment);
    revision_definitions(clients, &mut info, deadline).await;
    Ok(info)
}

/// The ARN of the service deployment ListServiceDeployments names first among its latest: a
/// rollback's or a stopped one's, else the most recent; with `latest`, the most recent whatever
/// its state (a completion asks what it finished).
async fn latest_deployment(
    clients: &Clients,
    cluster: &str,
    service: &str,
    latest: bool,
    deadline: Instant,
) -> Result<String, LookupError> {
    let op = "ecs:ListServiceDeployments";
    let listed = within(deadline, op, async {
        let mut call = clients
            .ecs
            .list_service_deployments()
            .service(service)
            .max_results(10);
        if !cluster.is_empty() {
            call = call.cluster(cluster);
        }
        call.send().await.map_err(|e| LookupError::failed(op, &e))
    })
    .await?;
    let mut briefs: Vec<_> = listed.service_deployments().iter().collect();
    briefs.sort_by_key(|b| std::cmp::Reverse(b.created_at().map(|t| (t.secs(), t.subsec_nanos()))));
    let troubled = |status: &str| {
        status.starts_with("ROLLBACK") || matches!(status, "STOPPED" | "STOP_REQUESTED")
    };
    let brief = briefs
        .iter()
        .find(|b| !latest && b.status().is_some_and(|s| troubled(s.as_str())))
        .or(briefs.first())
        .ok_or_else(|| LookupError::missing(op, format!("no service deployment of {service}")))?;
    Ok(brief
        .service_deployment_arn()
        .ok_or_else(|| LookupError::missing(op, "a deployment without an ARN"))?
        .to_string())
}

/// What alerts tell of the service deployment `arn`, as DescribeServiceDeployments describes
/// it; its revisions by ARN.
fn service_deployment_info(
    arn: String,
    deployment: &aws_sdk_ecs::types::ServiceDeployment,
) -> ServiceDeploymentInfo {
    ServiceDeploymentInfo {
        arn,
        status: deployment.status().map(|s| s.as_str().to_string()),
        status_reason: deployment.status_reason().map(String::from),
        strategy: deployment
            .deployment_configuration()
            .and_then(|c| c.strategy())
            .map(|s| s.as_str().to_string()),
        lifecycle_stage: deployment.lifecycle_stage().map(|s| s.as_str().to_string()),
        triggered_alarms: deployment
            .alarms()
            .map(|a| a.triggered_alarm_names().to_vec())
            .unwrap_or_default(),
        circuit_breaker: deployment
            .deployment_circuit_breaker()
            .filter(|c| c.status().is_some_and(|s| s.as_str() != "DISABLED"))
            .map(|c| (c.failure_count(), c.threshold())),
        rollback_reason: deployment
            .rollback()
            .and_then(|r| r.reason())
            .map(String::from),
        rollback_to: deployment
            .rollback()
            .and_then(|r| r.service_revision_arn())
            .map(String::from),
        target: deployment
            .target_service_revision()
            .and_then(|r| r.arn())
            .map(String::from),
    }
}

/// The task definitions of the deployment's revisions (the one rolled back to, the target),
/// from DescribeServiceRevisions: they say more than the revisions' ARNs, which stay where
/// the call fails or does not name one.
async fn revision_definitions(
    clients: &Clients,
    info: &mut ServiceDeploymentInfo,
    deadline: Instant,
) {
    let revisions: Vec<String> = [&info.rollback_to, &info.target]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if revisions.is_empty() {
        return;
    }
    let op = "ecs:DescribeServiceRevisions";
    let answer = within(deadline, op, async {
        clients
            .ecs
            .describe_service_revisions()
            .set_service_revision_arns(Some(revisions))
            .send()
            .await
            .map_err(|e| LookupError::failed(op, &e))
    })
    .await;
    let Ok(answer) = answer else {
        return;
    };
    let definition = |arn: &Option<String>| {
        let arn = arn.as_deref()?;
        answer
            .service_revisions()
            .iter()
            .find(|r| r.service_revision_arn() == Some(arn))
            .and_then(|r| r.task_definition())
            .map(String::from)
    };
    let (rollback, target) = (definition(&info.rollback_to), definition(&info.target));
    if rollback.is_some() {
        info.rollback_to = rollback;
    }
    if target.is_some() {
        info.target = target;
    }
}

/// The parts of a DescribeTaskDefinition answer alerts use.
pub fn task_definition_info(
    out: &aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput,
) -> Option<TaskDefinitionInfo> {
    let td = out.task_definition()?;
    Some(TaskDefinitionInfo {
        arn: td.task_definition_arn().unwrap_or("").to_string(),
        family: td.family().unwrap_or("").to_string(),
        revision: td.revision(),
        memory: td.memory().map(String::from),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerDef {
                name: c.name().unwrap_or("").to_string(),
                image: c.image().map(String::from),
                // ECS treats a container without `essential` as essential.
                essential: c.essential().unwrap_or(true),
                memory: c.memory(),
                memory_reservation: c.memory_reservation(),
                awslogs: c.log_configuration().and_then(|lc| {
                    if lc.log_driver().as_str() != "awslogs" {
                        return None;
                    }
                    let options = lc.options()?;
                    Some(AwsLogs {
                        group: options.get("awslogs-group")?.clone(),
                        region: options.get("awslogs-region").cloned(),
                        stream_prefix: options.get("awslogs-stream-prefix").cloned(),
                    })
                }),
                stop_timeout: c.stop_timeout(),
            })
            .collect(),
        tags: out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect(),
        unified: unified_tags(td.container_definitions()),
        file_systems: td
            .volumes()
            .iter()
            .filter_map(|v| v.efs_volume_configuration())
            .map(|efs| efs.file_system_id().to_string())
            .collect(),
        secrets: td
            .container_definitions()
            .iter()
            .flat_map(|c| c.secrets())
            .map(|s| s.value_from().to_string())
            .collect(),
        environment_files: td
            .container_definitions()
            .iter()
            .flat_map(|c| c.environment_files())
            .map(|f| f.value().to_string())
            .collect(),
    })
}

/// `service`, `env` and `version` as the task definition's containers set them for Datadog:
/// `DD_SERVICE`, `DD_ENV`, `DD_VERSION` in the environment, else the `com.datadoghq.tags.*`
/// Docker labels; essential containers first.
fn unified_tags(containers: &[aws_sdk_ecs::types::ContainerDefinition]) -> Vec<(String, String)> {
    let mut ordered: Vec<&aws_sdk_ecs::types::ContainerDefinition> = containers.iter().collect();
    ordered.sort_by_key(|c| !c.essential().unwrap_or(true));
    crate::judge::tags::UNIFIED
        .iter()
        .filter_map(|key| {
            let env = format!("DD_{}", key.to_ascii_uppercase());
            let label = format!("com.datadoghq.tags.{key}");
            ordered.iter().find_map(|c| {
                let from_env = c
                    .environment()
                    .iter()
                    .find(|kv| kv.name() == Some(env.as_str()))
                    .and_then(|kv| kv.value());
                let from_label = c
                    .docker_labels()
                    .and_then(|l| l.get(&label))
                    .map(String::as_str);
                from_env
                    .or(from_label)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (key.to_string(), v.to_string()))
            })
        })
        .collect()
}
