//! A stopped task's lookups: its task definition, service and containers' health, then log lines.

use futures::future::{join_all, OptionFuture};
use tokio::time::Instant;

use super::budget::{found, LookupError};
use super::{logs, region_of, Enricher};
use crate::aws::Clients;
use crate::judge::enrichment::{ContainerHealth, Enrichment, LogTail, TaskDefinitionInfo};
use crate::judge::lookups::{self, TaskLookups};
use crate::source::{Envelope, Task};

/// Most containers whose logs are read for one alert.
const MAX_LOG_TAILS: usize = 3;

impl Enricher {
    /// A stopped task: the lookups the judge says it is worth ([`lookups::for_task`]); then,
    /// with its task definition, the last log lines of the containers that broke.
    pub(super) async fn for_task(
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
