//! Fetches what events lack from the ECS and CloudWatch Logs APIs, within a time budget, never
//! failing: whatever cannot be had is left out and the reason noted.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{ServiceField, TaskDefinitionField};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio::time::{timeout_at, Instant};

use crate::arn;
use crate::aws::{Aws, Clients};
use crate::cache::Cache;
use crate::enrichment::{
    AwsLogs, ContainerDef, ContainerHealth, DeploymentInfo, Enrichment, LogTail, ServiceInfo,
    TaskDefinitionInfo,
};
use crate::event::{Deployment, Envelope, Event, ServiceAction, ServiceRef, Task};
use crate::verdict::{classify, Cause, Outcome};

/// Most containers whose logs are read for one alert.
const MAX_LOG_TAILS: usize = 3;
/// How long service tags and deployments are reused for task and service-action events.
const SERVICE_TTL: Duration = Duration::from_secs(60);

/// How much enrichment may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrichSettings {
    /// All calls for one event together.
    pub budget: Duration,
    /// Last log lines per failed container; 0 turns log reading off.
    pub log_lines: u32,
}

impl Default for EnrichSettings {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(2),
            log_lines: 10,
        }
    }
}

/// The enricher: lazily built AWS clients and caches kept across warm invocations.
pub struct Enricher {
    aws: Arc<Aws>,
    settings: EnrichSettings,
    task_definitions: Mutex<Cache<Arc<TaskDefinitionInfo>>>,
    services: Mutex<Cache<Arc<ServiceInfo>>>,
    schedules: Mutex<Cache<Arc<ScheduleInfo>>>,
}

/// An EventBridge Scheduler schedule's timing, for missed-run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// `group/name`.
    pub name: String,
    /// `rate(1 hour)`, `cron(0 3 * * ? *)`, `at(...)`.
    pub expression: String,
    /// `ScheduleExpressionTimezone`, when set.
    pub timezone: Option<String>,
}

/// Schedules read per lookup of a schedule by the prefix of its name.
const SCHEDULE_CANDIDATES: usize = 10;
/// How long a schedule's expression is trusted before it is read again.
const SCHEDULE_TTL: Duration = Duration::from_secs(600);

/// Why a lookup gave nothing.
type Why = String;

fn why<E, R>(operation: &str, err: &SdkError<E, R>) -> Why
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = match err.code() {
        Some(code) => match err.message() {
            Some(message) => format!("{operation}: {code}: {message}"),
            None => format!("{operation}: {code}"),
        },
        None => format!("{operation}: {}", DisplayErrorContext(err)),
    };
    text.chars().take(300).collect()
}

fn to_chrono(t: &aws_sdk_ecs::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Runs `work` until the shared deadline.
async fn within<T>(
    deadline: Instant,
    operation: &str,
    work: impl Future<Output = Result<T, Why>>,
) -> Result<T, Why> {
    match timeout_at(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{operation}: no answer within the enrichment budget"
        )),
    }
}

fn lock<V: Clone>(cache: &Mutex<Cache<V>>) -> std::sync::MutexGuard<'_, Cache<V>> {
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Enricher {
    pub fn new(role_pattern: Option<String>, settings: EnrichSettings) -> Self {
        Self::with_aws(Aws::new(role_pattern), settings)
    }

    /// With a prepared client factory (tests give one with a base configuration of their own).
    pub fn with_aws(aws: impl Into<Arc<Aws>>, settings: EnrichSettings) -> Self {
        Self {
            aws: aws.into(),
            settings,
            task_definitions: Mutex::new(Cache::new(256, None)),
            services: Mutex::new(Cache::new(256, Some(SERVICE_TTL))),
            schedules: Mutex::new(Cache::new(256, Some(SCHEDULE_TTL))),
        }
    }

    /// Looks up what the event lacks. `own_account` is the function's account (for deciding
    /// whether to assume a role).
    pub async fn enrich(&self, event: &Event, own_account: Option<&str>) -> Enrichment {
        let deadline = Instant::now() + self.settings.budget;
        match event {
            Event::Task(env, task) => self.for_task(env, task, own_account, deadline).await,
            Event::Deployment(env, d) => self.for_deployment(env, d, own_account, deadline).await,
            Event::ServiceAction(env, a) => {
                self.for_service_action(env, a, own_account, deadline).await
            }
            Event::RunTask(env, call) if call.failed() => {
                let td = call.request_parameters.task_definition.as_deref();
                self.for_launch(env, td, own_account, deadline).await
            }
            Event::TargetFailure(env, failure) => {
                let td = failure.task_definition.as_deref();
                self.for_launch(env, td, own_account, deadline).await
            }
            Event::RunTask(..) | Event::Retirement(..) | Event::Check(_) => Enrichment::default(),
        }
    }

    /// The EventBridge Scheduler schedule of a job: the one named `name` in `group` (`exact`),
    /// or the one whose name starts with `name` (ECS cuts `startedBy` to 36 characters) and
    /// whose ECS target runs the task definition `family`.
    #[allow(clippy::too_many_arguments)]
    pub async fn schedule(
        &self,
        env: &Envelope,
        own_account: Option<&str>,
        group: Option<&str>,
        name: &str,
        exact: bool,
        family: &str,
    ) -> Result<Arc<ScheduleInfo>, Why> {
        let key = format!(
            "{}/{}/{}/{name}/{exact}/{family}",
            env.account,
            env.region,
            group.unwrap_or("")
        );
        if let Some(hit) = lock(&self.schedules).get(&key) {
            return Ok(hit);
        }
        let deadline = Instant::now() + self.settings.budget;
        let clients = self
            .clients(env, &env.region, own_account, deadline)
            .await?;
        let scheduler = &clients.scheduler;
        let get = |group: Option<String>, name: String| async move {
            let op = "scheduler:GetSchedule";
            within(deadline, op, async {
                scheduler
                    .get_schedule()
                    .name(name)
                    .set_group_name(group)
                    .send()
                    .await
                    .map_err(|e| why(op, &e))
            })
            .await
        };
        let runs_family = |out: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput| {
            out.target()
                .and_then(|t| t.ecs_parameters())
                .map(|p| arn::family_revision(p.task_definition_arn()).0 == family)
                .unwrap_or(false)
        };
        let found = if exact {
            get(group.map(str::to_string), name.to_string()).await?
        } else {
            let op = "scheduler:ListSchedules";
            let listed = within(deadline, op, async {
                scheduler
                    .list_schedules()
                    .name_prefix(name)
                    .set_group_name(group.map(str::to_string))
                    .max_results(SCHEDULE_CANDIDATES as i32)
                    .send()
                    .await
                    .map_err(|e| why(op, &e))
            })
            .await?;
            let mut found = None;
            for summary in listed.schedules().iter().take(SCHEDULE_CANDIDATES) {
                let Some(candidate) = summary.name() else {
                    continue;
                };
                let out = get(
                    summary.group_name().map(str::to_string),
                    candidate.to_string(),
                )
                .await?;
                if runs_family(&out) {
                    found = Some(out);
                    break;
                }
            }
            found.ok_or_else(|| {
                format!("{op}: no schedule named {name}… runs task definition {family}")
            })?
        };
        let expression = found
            .schedule_expression()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| "scheduler:GetSchedule: the schedule has no expression".to_string())?;
        let info = Arc::new(ScheduleInfo {
            name: format!(
                "{}/{}",
                found.group_name().unwrap_or("default"),
                found.name().unwrap_or(name)
            ),
            expression: expression.to_string(),
            timezone: found
                .schedule_expression_timezone()
                .filter(|tz| !tz.is_empty())
                .map(str::to_string),
        });
        lock(&self.schedules).insert(key, info.clone());
        Ok(info)
    }

    /// A task that could not be launched: its task definition, for the routing tags.
    async fn for_launch(
        &self,
        env: &Envelope,
        task_definition: Option<&str>,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let Some(td) = task_definition.filter(|td| !td.is_empty()) else {
            return out;
        };
        let region = region_of(env, Some(td));
        match self.clients(env, &region, own_account, deadline).await {
            Ok(clients) => match self.task_definition(&clients, td, deadline).await {
                Ok(info) => out.task_definition = Some(info),
                Err(e) => out.skipped.push(e),
            },
            Err(e) => out.skipped.push(e),
        }
        out
    }

    async fn clients(
        &self,
        env: &Envelope,
        region: &str,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<Clients, Why> {
        within(deadline, "aws clients", async {
            Ok(self.aws.clients(&env.account, region, own_account).await)
        })
        .await
    }

    async fn for_task(
        &self,
        env: &Envelope,
        task: &Task,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        if !task.is_stopped() {
            return out;
        }
        let verdict = classify(task, &[]);
        // Deployment churn posts nothing: spend no API calls on it. A service task killed after
        // its stop timeout may post a notice when its tags ask: read only the (cached) tags.
        let tags_only = verdict.outcome == Outcome::Expected && verdict.cause == Cause::StopTimeout;
        if verdict.outcome == Outcome::Expected && !tags_only {
            return out;
        }
        let region = region_of(env, task.task_arn.as_deref());
        let clients = match self.clients(env, &region, own_account, deadline).await {
            Ok(c) => c,
            Err(e) => {
                out.skipped.push(e);
                return out;
            }
        };
        let cluster = task
            .cluster_arn
            .clone()
            .unwrap_or_else(|| task.cluster().to_string());
        let td = async {
            match task.task_definition_arn.as_deref() {
                Some(arn) => Some(self.task_definition(&clients, arn, deadline).await),
                None => None,
            }
        };
        let service = async {
            match verdict.trigger.service() {
                Some(name) => Some(self.service(&clients, &cluster, name, true, deadline).await),
                None => None,
            }
        };
        let health = async {
            if verdict.cause != Cause::ContainerHealthCheck {
                return None;
            }
            let task_arn = task.task_arn.as_deref()?;
            Some(self.health(&clients, &cluster, task_arn, deadline).await)
        };
        let (td, service, health) = tokio::join!(td, service, health);
        match td {
            Some(Ok(td)) => out.task_definition = Some(td),
            Some(Err(e)) => out.skipped.push(e),
            None => {}
        }
        match service {
            Some(Ok(s)) => out.service = Some(s),
            Some(Err(e)) => out.skipped.push(e),
            None => {}
        }
        match health {
            Some(Ok(h)) => out.health = Some(h),
            Some(Err(e)) => out.skipped.push(e),
            None => {}
        }

        // Second round: the last log lines of the containers that broke.
        if self.settings.log_lines == 0 || tags_only {
            return out;
        }
        let Some(td) = out.task_definition.clone() else {
            return out;
        };
        let mut targets: Vec<String> = out
            .health
            .iter()
            .flatten()
            .filter(|h| h.status == "UNHEALTHY")
            .map(|h| h.name.clone())
            .collect();
        // The containers whose own exit took the task down first; those ECS stopped after them
        // only when no container is to blame.
        let serious: Vec<&str> = verdict.culprits.iter().map(String::as_str).collect();
        let failed: Vec<&str> = if serious.is_empty() {
            verdict
                .failed_containers
                .iter()
                .map(|c| c.name.as_str())
                .collect()
        } else {
            serious
        };
        for name in failed {
            if !targets.iter().any(|t| t == name) {
                targets.push(name.to_string());
            }
        }
        targets.truncate(MAX_LOG_TAILS);
        let task_id = task.task_id();
        let tails = targets.iter().filter_map(|name| {
            let logs = td.container(name)?.awslogs.clone()?;
            let stream = logs.stream(name, task_id)?;
            let log_region = logs.region.clone().unwrap_or_else(|| region.clone());
            Some(self.log_tail(
                env,
                own_account,
                name,
                logs.group,
                stream,
                log_region,
                deadline,
            ))
        });
        for tail in join_all(tails).await {
            match tail {
                Ok(t) => out.logs.push(t),
                Err(e) => out.skipped.push(e),
            }
        }
        out
    }

    async fn for_deployment(
        &self,
        env: &Envelope,
        deployment: &Deployment,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let place = ServiceRef::locate(env, None, None);
        let service_arn = env.resources.first().map(String::as_str);
        if place.service.is_empty() {
            return out;
        }
        let region = region_of(env, service_arn);
        let clients = match self.clients(env, &region, own_account, deadline).await {
            Ok(c) => c,
            Err(e) => {
                out.skipped.push(e);
                return out;
            }
        };
        // Deployments change by the minute: always ask.
        let service = match self
            .service(&clients, &place.cluster, &place.service, false, deadline)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                out.skipped.push(e);
                return out;
            }
        };
        let id = deployment.deployment_id.as_deref().unwrap_or("");
        let reason = deployment.reason.as_deref().unwrap_or("");
        out.rollback_to = rollback_target(reason)
            .and_then(|target| service.deployment(target))
            .and_then(|d| d.task_definition.clone());
        let td_arn = service
            .deployment(id)
            .and_then(|d| d.task_definition.clone());
        out.service = Some(service);
        if let Some(arn) = td_arn {
            match self.task_definition(&clients, &arn, deadline).await {
                Ok(td) => out.task_definition = Some(td),
                Err(e) => out.skipped.push(e),
            }
        }
        out
    }

    async fn for_service_action(
        &self,
        env: &Envelope,
        action: &ServiceAction,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let event_type = action.event_type.as_deref().unwrap_or("");
        let place = action.service_ref(env);
        if !matches!(event_type, "WARN" | "ERROR") || place.service.is_empty() {
            return out;
        }
        let region = region_of(env, action.cluster_arn.as_deref());
        match self.clients(env, &region, own_account, deadline).await {
            Ok(clients) => match self
                .service(&clients, &place.cluster, &place.service, true, deadline)
                .await
            {
                Ok(s) => out.service = Some(s),
                Err(e) => out.skipped.push(e),
            },
            Err(e) => out.skipped.push(e),
        }
        out
    }

    /// DescribeTaskDefinition with tags; revisions never change, so cached for the process.
    async fn task_definition(
        &self,
        clients: &Clients,
        arn: &str,
        deadline: Instant,
    ) -> Result<Arc<TaskDefinitionInfo>, Why> {
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
                .map_err(|e| why(op, &e))
        })
        .await?;
        let info =
            Arc::new(task_definition_info(&out).ok_or_else(|| format!("{op}: empty answer"))?);
        lock(&self.task_definitions).insert(arn.to_string(), info.clone());
        Ok(info)
    }

    /// DescribeServices with tags, optionally from the short-lived cache.
    async fn service(
        &self,
        clients: &Clients,
        cluster: &str,
        name: &str,
        cached: bool,
        deadline: Instant,
    ) -> Result<Arc<ServiceInfo>, Why> {
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
            call.send().await.map_err(|e| why(op, &e))
        })
        .await?;
        let service = out.services().first().ok_or_else(|| {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("not found");
            format!("{op}: {name}: {reason}")
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

    /// DescribeTasks: the health each container last reported.
    async fn health(
        &self,
        clients: &Clients,
        cluster: &str,
        task_arn: &str,
        deadline: Instant,
    ) -> Result<Vec<ContainerHealth>, Why> {
        let op = "ecs:DescribeTasks";
        let out = within(deadline, op, async {
            let mut call = clients.ecs.describe_tasks().tasks(task_arn);
            if !cluster.is_empty() {
                call = call.cluster(cluster);
            }
            call.send().await.map_err(|e| why(op, &e))
        })
        .await?;
        let task = out
            .tasks()
            .first()
            .ok_or_else(|| format!("{op}: task no longer described"))?;
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

    /// GetLogEvents: the last lines of a container's stream.
    #[allow(clippy::too_many_arguments)]
    async fn log_tail(
        &self,
        env: &Envelope,
        own_account: Option<&str>,
        container: &str,
        group: String,
        stream: String,
        region: String,
        deadline: Instant,
    ) -> Result<LogTail, Why> {
        let op = "logs:GetLogEvents";
        let clients = self.clients(env, &region, own_account, deadline).await?;
        let lines = self.settings.log_lines.min(10_000) as i32;
        let out = within(deadline, op, async {
            clients
                .logs
                .get_log_events()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .limit(lines)
                .start_from_head(false)
                .send()
                .await
                .map_err(|e| why(op, &e))
        })
        .await?;
        Ok(LogTail {
            container: container.to_string(),
            lines: out
                .events()
                .iter()
                .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
                .collect(),
            group,
            stream,
            region,
        })
    }
}

fn region_of(env: &Envelope, arn_hint: Option<&str>) -> String {
    if env.region.is_empty() {
        arn_hint.and_then(arn::region).unwrap_or("").to_string()
    } else {
        env.region.clone()
    }
}

/// `ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123.` → `ecs-svc/123`.
pub fn rollback_target(reason: &str) -> Option<&str> {
    let rest = &reason[reason.find("deploymentId")? + "deploymentId".len()..];
    let id = rest.split_whitespace().next()?;
    Some(id.trim_end_matches(['.', ',', ')']))
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
            })
            .collect(),
        tags: out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rollback_target() {
        assert_eq!(
            rollback_target("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1234567890123456789."),
            Some("ecs-svc/1234567890123456789")
        );
        assert_eq!(rollback_target("ECS deployment ecs-svc/1 completed."), None);
    }
}
