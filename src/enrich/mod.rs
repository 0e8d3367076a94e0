//! Stage 2 of the pipeline, I/O: what events lack, from the ECS, CloudWatch Logs and EventBridge
//! Scheduler APIs, within a time budget per event, never failing: whatever cannot be had is left
//! out and the reason noted. Which lookups an event gets is decided here; [`ecs`], [`logs`] and
//! [`scheduler`] make the calls.

pub mod budget;
pub mod ecs;
pub mod logs;
pub mod scheduler;

use std::sync::Arc;

use futures::future::join_all;
use tokio::time::Instant;

use crate::aws::{Aws, Clients};
use crate::config::EnrichSettings;
use crate::judge::deployment::rollback_target;
use crate::judge::enrichment::Enrichment;
use crate::judge::task::cause::Cause;
use crate::judge::task::verdict::{classify, Outcome};
use crate::source::{arn, Deployment, Envelope, Event, ServiceAction, ServiceRef, Task};
use budget::{within, Why};
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
    ) -> Result<Arc<ScheduleInfo>, Why> {
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
        let verdict = classify(task, &Enrichment::default(), &[]);
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
                Some(arn) => Some(self.ecs.task_definition(&clients, arn, deadline).await),
                None => None,
            }
        };
        let service = async {
            match verdict.trigger.service() {
                Some(name) => Some(
                    self.ecs
                        .service(&clients, &cluster, name, true, deadline)
                        .await,
                ),
                None => None,
            }
        };
        let health = async {
            if verdict.cause != Cause::ContainerHealthCheck {
                return None;
            }
            let task_arn = task.task_arn.as_deref()?;
            Some(
                self.ecs
                    .health(&clients, &cluster, task_arn, deadline)
                    .await,
            )
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
            Some(Err(e)) => out.skipped.push(e),
            None => {}
        }
        let service = match service {
            Ok(s) => s,
            Err(e) => {
                out.skipped.push(e);
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
                Err(e) => out.skipped.push(e),
            },
            Err(e) => out.skipped.push(e),
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
                Err(e) => out.skipped.push(e),
            },
            Err(e) => out.skipped.push(e),
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
