//! Stage 2 of the pipeline, I/O: what events lack, from the ECS, CloudWatch Logs and EventBridge
//! Scheduler APIs (and the account's name, from AWS Organizations), within a time budget per
//! event, never failing: whatever cannot be had is left out and the reason noted. Which lookups
//! an event gets is decided here and, per kind, in `task`, `deployment` and `tags`; [`ecs`],
//! [`logs`] and [`scheduler`] make the calls, `accounts` the names'.

pub mod budget;
pub mod ecs;
pub mod logs;
pub mod scheduler;

mod accounts;
mod deployment;
mod tags;
mod task;

use std::sync::Arc;

use tokio::time::Instant;

use crate::aws::{Aws, Clients};
use crate::config::EnrichSettings;
use crate::judge::enrichment::Enrichment;
use crate::source::{arn, Envelope, Event, ServiceRef};
use budget::{within, LookupError};
use ecs::EcsLookups;
use scheduler::{ScheduleInfo, Schedules};

/// The enricher: lazily built AWS clients and caches kept across warm invocations.
pub struct Enricher {
    aws: Arc<Aws>,
    settings: EnrichSettings,
    ecs: EcsLookups,
    schedules: Schedules,
    names: accounts::Names,
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
            names: accounts::Names::default(),
        }
    }

    /// Looks up what the event lacks, and its account's name where AWS Organizations has it.
    /// `own_account` is the function's account (for deciding whether to assume a role).
    pub async fn enrich(&self, event: &Event, own_account: Option<&str>) -> Enrichment {
        let deadline = Instant::now() + self.settings.budget;
        let account = &event.envelope().account;
        let name = async {
            match event {
                Event::Check(_) => None,
                _ => Some(self.account_name(account, deadline).await),
            }
        };
        // Boxed: the kinds' lookups make a deep future, which would sit on the caller's stack.
        let lookups = Box::pin(self.lookups(event, own_account, deadline));
        let (mut out, name) = tokio::join!(lookups, name);
        match name {
            Some(Ok(name)) => out.account_name = name,
            Some(Err(err)) => err.skip(&mut out),
            None => {}
        }
        out
    }

    /// The lookups of the event's kind.
    async fn lookups(
        &self,
        event: &Event,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Enrichment {
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

    /// Clients for the event's account in `region`; a role that cannot be assumed is the one
    /// failure told for the event (its other lookups are not tried).
    async fn clients(
        &self,
        env: &Envelope,
        region: &str,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<Clients, LookupError> {
        within(deadline, "sts:AssumeRole", async {
            self.aws
                .clients(&env.account, region, own_account)
                .await
                .map_err(|err| LookupError::Failed {
                    operation: "sts:AssumeRole",
                    reason: err.to_string(),
                })
        })
        .await
    }
}

fn region_of(env: &Envelope, arn_hint: Option<&str>) -> String {
    if env.region.is_empty() {
        arn_hint.and_then(arn::region).unwrap_or("").to_string()
    } else {
        env.region.clone()
    }
}
