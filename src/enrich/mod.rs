//! Stage 2 of the pipeline, I/O: what events lack, from the ECS, CloudWatch Logs and EventBridge
//! Scheduler APIs, within a time budget per event, never failing: whatever cannot be had is left
//! out and the reason noted. Which lookups an event gets is decided here; [`ecs`], [`logs`] and
//! [`scheduler`] make the calls.

pub mod budget;
pub mod ecs;
pub mod logs;
pub mod scheduler;

use std::sync::Arc;

use futures::future::{join_all, OptionFuture};
use tokio::time::Instant;

use crate::aws::{Aws, Clients};
use crate::config::EnrichSettings;
use crate::judge::deployment::rollback_target;
use crate::judge::enrichment::{ContainerHealth, Enrichment, LogTail, TaskDefinitionInfo};
use crate::judge::lookups::{self, TaskLookups};
use crate::source::{arn, Deployment, Envelope, Event, ServiceAction, ServiceRef, Task};
use budget::{found, within, LookupError};
use ecs::EcsLookups;
use scheduler::{ScheduleInfo, Schedules};

/// Most containers whose logs are read for one alert.
const MAX_LOG_TAILS: usize = 3;

/// The enricher: lazily built AWS clients and caches kept across warm invocations.
pub struct Enricher {
    aws: Arc<Aws>,
    settings: EnrichSettings,
    ecs: EcsLookups,
    schedules: Schedules,
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
            ecs: EcsLookups::default(),
            schedules: Schedules::default(),
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
            // A hook's service: its routing tags (who approves, where it posts).
            Event::Hook(env, hook) if !hook.service().is_empty() => {
                let place = ServiceRef {
                    service: hook.service().to_string(),
                    cluster: hook.cluster().to_string(),
                };
                self.service_tags(
                    env,
                    hook.service_arn.as_deref(),
                    &place,
                    own_account,
                    deadline,
                )
                .await
            }
            // An impaired instance, a daemon's failure or deployment notice: the resource's
            // routing tags (every daemon deployment state: in app mode each edits the deployment's
            // message). A return to OK replies in its alert's thread; state changes post nothing.
            Event::InstanceHealth(env, h) if h.overall_status.as_deref() == Some("IMPAIRED") => {
                let arn = h.container_instance_arn.as_deref();
                self.resource_tags(env, arn, own_account, deadline).await
            }
            Event::DaemonAction(env, a) => {
                let arn = a.daemon_arn.as_deref();
                self.resource_tags(env, arn, own_account, deadline).await
            }
            Event::DaemonDeployment(env, d) => {
                let arn = d.daemon_arn.as_deref();
                self.resource_tags(env, arn, own_account, deadline).await
            }
            Event::RunTask(..)
            | Event::Retirement(..)
            | Event::Check(_)
            | Event::Hook(..)
            | Event::InstanceHealth(..)
            | Event::InstanceState(..)
            | Event::Other(..) => Enrichment::default(),
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
    ) -> Result<Arc<ScheduleInfo>, LookupError> {
        let key = format!(
            "{}/{}/{}/{name}/{exact}/{family}",
            env.account,
            env.region,
            group.unwrap_or("")
        );
        if let Some(hit) = self.schedules.cached(&key) {
            return Ok(hit);
        }
        let deadline = Instant::now() + self.settings.budget;
        let clients = self
            .clients(env, &env.region, own_account, deadline)
            .await?;
        self.schedules
            .find(
                &clients.scheduler,
                key,
                group,
                name,
                exact,
                family,
                deadline,
            )
            .await
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
            Ok(clients) => match self.ecs.task_definition(&clients, td, deadline).await {
                Ok(info) => out.task_definition = Some(info),
                Err(e) => e.skip(&mut out),
            },
            Err(e) => e.skip(&mut out),
        }
        out
    }

    async fn clients(
        &self,
        env: &Envelope,
        region: &str,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<Clients, LookupError> {
        within(deadline, "aws clients", async {
            Ok(self.aws.clients(&env.account, region, own_account).await)
        })
        .await
    }

    /// A stopped task: the lookups the judge says it is worth ([`lookups::for_task`]); then,
    /// with its task definition, the last log lines of the containers that broke.
    async fn for_task(
        &self,
        env: &Envelope,
        task: &Task,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let Some(wanted) = lookups::for_task(task) else {
            return out;
        };
        let region = region_of(env, task.task_arn.as_deref());
        let clients = self.clients(env, &region, own_account, deadline).await;
        let Some(clients) = found(&mut out, clients) else {
            return out;
        };
        self.task_round(&clients, task, &wanted, deadline, &mut out)
            .await;

        // Second round: the last log lines of the containers that broke.
        if self.settings.log_lines == 0 || wanted.tags_only {
            return out;
        }
        let Some(td) = out.task_definition.clone() else {
            return out;
        };
        let targets = log_targets(out.health.as_deref(), &wanted.logs_of);
        for tail in self
            .tails(env, task, &td, &targets, own_account, deadline)
            .await
        {
            if let Some(tail) = found(&mut out, tail) {
                out.logs.push(tail);
            }
        }
        out
    }

    /// The first round of a stopped task's lookups, at once: its task definition, its service
    /// (from the short-lived cache) and its containers' health, as `wanted` says.
    async fn task_round(
        &self,
        clients: &Clients,
        task: &Task,
        wanted: &TaskLookups,
        deadline: Instant,
        out: &mut Enrichment,
    ) {
        let cluster = task
            .cluster_arn
            .clone()
            .unwrap_or_else(|| task.cluster().to_string());
        let definition = task
            .task_definition_arn
            .as_deref()
            .filter(|_| wanted.definition);
        let health_of = task.task_arn.as_deref().filter(|_| wanted.health);
        let td: OptionFuture<_> = definition
            .map(|arn| self.ecs.task_definition(clients, arn, deadline))
            .into();
        let service: OptionFuture<_> = wanted
            .service
            .as_deref()
            .map(|name| self.ecs.service(clients, &cluster, name, true, deadline))
            .into();
        let health: OptionFuture<_> = health_of
            .map(|arn| self.ecs.health(clients, &cluster, arn, deadline))
            .into();
        let (td, service, health) = tokio::join!(td, service, health);
        if let Some(td) = td {
            out.task_definition = found(out, td);
        }
        if let Some(service) = service {
            out.service = found(out, service);
        }
        if let Some(health) = health {
            out.health = found(out, health);
        }
    }

    /// The last log lines of each of `targets` that logs to CloudWatch Logs (awslogs), at once,
    /// in the order of `targets`.
    async fn tails(
        &self,
        env: &Envelope,
        task: &Task,
        td: &TaskDefinitionInfo,
        targets: &[String],
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Vec<Result<LogTail, LookupError>> {
        let region = region_of(env, task.task_arn.as_deref());
        let task_id = task.task_id();
        let tails = targets.iter().filter_map(|name| {
            let logs = td.container(name)?.awslogs.clone()?;
            let stream = logs.stream(name, task_id)?;
            let log_region = logs.region.clone().unwrap_or_else(|| region.clone());
            Some(async move {
                let clients = self
                    .clients(env, &log_region, own_account, deadline)
                    .await?;
                logs::tail(
                    &clients,
                    self.settings.log_lines,
                    name,
                    logs.group,
                    stream,
                    log_region,
                    deadline,
                )
                .await
            })
        });
        join_all(tails).await
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
                e.skip(&mut out);
                return out;
            }
        };
        let id = deployment.deployment_id.as_deref().unwrap_or("");
        let reason = deployment.reason.as_deref().unwrap_or("");
        // A deployment that failed or rolls back: what the service deployment APIs tell
        // (alarms, circuit breaker, rollback), looked up beside the service.
        let troubled = deployment.event_name.as_deref() == Some("SERVICE_DEPLOYMENT_FAILED")
            || reason.to_ascii_lowercase().contains("rolling back");
        // Deployments change by the minute: always ask.
        let (service, details) = tokio::join!(
            self.ecs
                .service(&clients, &place.cluster, &place.service, false, deadline),
            async {
                match troubled {
                    true => Some(
                        ecs::service_deployment(&clients, &place.cluster, &place.service, deadline)
                            .await,
                    ),
                    false => None,
                }
            }
        );
        match details {
            Some(Ok(info)) => out.service_deployment = Some(info),
            Some(Err(e)) => e.skip(&mut out),
            None => {}
        }
        let service = match service {
            Ok(s) => s,
            Err(e) => {
                e.skip(&mut out);
                return out;
            }
        };
        out.rollback_to = rollback_target(reason)
            .and_then(|target| service.deployment(target))
            .and_then(|d| d.task_definition.clone());
        let td_arn = service
            .deployment(id)
            .and_then(|d| d.task_definition.clone());
        out.service = Some(service);
        if let Some(arn) = td_arn {
            match self.ecs.task_definition(&clients, &arn, deadline).await {
                Ok(td) => out.task_definition = Some(td),
                Err(e) => e.skip(&mut out),
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
        let event_type = action.event_type.as_deref().unwrap_or("");
        let place = action.service_ref(env);
        if !matches!(event_type, "WARN" | "ERROR") || place.service.is_empty() {
            return Enrichment::default();
        }
        self.service_tags(
            env,
            action.cluster_arn.as_deref(),
            &place,
            own_account,
            deadline,
        )
        .await
    }

    /// A service's tags (routing, mentions), from the short-lived cache.
    async fn resource_tags(
        &self,
        env: &Envelope,
        arn: Option<&str>,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let Some(arn) = arn.filter(|a| a.starts_with("arn:")) else {
            return out;
        };
        let region = region_of(env, Some(arn));
        match self.clients(env, &region, own_account, deadline).await {
            Ok(clients) => match self.ecs.tags(&clients, arn, deadline).await {
                Ok(tags) => out.resource_tags = tags.to_vec(),
                Err(e) => e.skip(&mut out),
            },
            Err(e) => e.skip(&mut out),
        }
        out
    }

    async fn service_tags(
        &self,
        env: &Envelope,
        arn_hint: Option<&str>,
        place: &ServiceRef,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
        let mut out = Enrichment::default();
        let region = region_of(env, arn_hint);
        match self.clients(env, &region, own_account, deadline).await {
            Ok(clients) => match self
                .ecs
                .service(&clients, &place.cluster, &place.service, true, deadline)
                .await
            {
                Ok(s) => out.service = Some(s),
                Err(e) => e.skip(&mut out),
            },
            Err(e) => e.skip(&mut out),
        }
        out
    }
}

fn region_of(env: &Envelope, arn_hint: Option<&str>) -> String {
    if env.region.is_empty() {
        arn_hint.and_then(arn::region).unwrap_or("").to_string()
    } else {
        env.region.clone()
    }
}

/// Whose logs a stopped task's alert shows: the containers that reported unhealthy, then those
/// the judge names (`logs_of`), each once, a few at most.
fn log_targets(health: Option<&[ContainerHealth]>, logs_of: &[String]) -> Vec<String> {
    let mut targets: Vec<String> = health
        .into_iter()
        .flatten()
        .filter(|h| h.status == "UNHEALTHY")
        .map(|h| h.name.clone())
        .collect();
    for name in logs_of {
        if !targets.contains(name) {
            targets.push(name.clone());
        }
    }
    targets.truncate(MAX_LOG_TAILS);
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(name: &str, status: &str) -> ContainerHealth {
        ContainerHealth {
            name: name.into(),
            status: status.into(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn unhealthy_containers_come_first_then_those_that_broke_each_once_a_few_at_most() {
        let reported = [
            health("sidecar", "HEALTHY"),
            health("app", "UNHEALTHY"),
            health("proxy", "UNHEALTHY"),
        ];
        assert_eq!(
            log_targets(Some(&reported), &names(&["worker", "app"])),
            ["app", "proxy", "worker"]
        );
        assert_eq!(
            log_targets(Some(&reported), &names(&["a", "b"])),
            ["app", "proxy", "a"]
        );
        assert_eq!(log_targets(None, &names(&["a", "a", "b"])), ["a", "b"]);
        assert!(log_targets(Some(&[]), &[]).is_empty());
    }
}
