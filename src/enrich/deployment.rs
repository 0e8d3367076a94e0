//! A deployment's lookups: its service, its details when troubled, its task definition.

use std::sync::Arc;

use tokio::time::Instant;

use super::LookupError;
use super::{ecs, region_of, Enricher};
use crate::aws::Clients;
use crate::judge::deployment::rollback_target;
use crate::judge::enrichment::{Enrichment, ServiceInfo, TaskDefinitionInfo};
use crate::source::{Deployment, Envelope, ServiceRef};

impl Enricher {
    pub(super) async fn for_deployment(
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
        // A deployment that failed, rolls back or completed: what the service deployment APIs
        // tell (alarms, circuit breaker, rollback), looked up beside the service.
        // A completion too: whether it finished a rollback (its latest service deployment).
        let completed = deployment.event_name.as_deref() == Some("SERVICE_DEPLOYMENT_COMPLETED");
        let troubled = matches!(
            deployment.event_name.as_deref(),
            Some("SERVICE_DEPLOYMENT_FAILED" | "SERVICE_DEPLOYMENT_COMPLETED")
        ) || reason.to_ascii_lowercase().contains("rolling back");
        // Deployments change by the minute: always ask. The service and its task definition
        // never wait on the service deployment details, which only add to them.
        let (service, details) = tokio::join!(
            self.service_and_definition(&clients, &place, id, deadline),
            async {
                match troubled {
                    true => Some(
                        ecs::service_deployment(
                            &clients,
                            &place.cluster,
                            &place.service,
                            completed,
                            deadline,
                        )
                        .await,
                    ),
                    false => None,
                }
            }
        );
        match details {
            Some(Ok(info)) => out.service_deployment = Some(info),
            // For a completion the lookup only asks whether it finished a rollback: without it,
            // the completion is told as a plain one.
            Some(Err(e)) if completed => {
                tracing::debug!(error = %e, "no service deployment details for a completion")
            }
            Some(Err(e)) => e.skip(&mut out),
            None => {}
        }
        let (service, definition) = match service {
            Ok(found) => found,
            Err(e) => {
                e.skip(&mut out);
                return out;
            }
        };
        out.rollback_to = rollback_target(reason)
            .and_then(|target| service.deployment(target))
            .and_then(|d| d.task_definition.clone());
        out.service = Some(service);
        match definition {
            Some(Ok(td)) => out.task_definition = Some(td),
            Some(Err(e)) => e.skip(&mut out),
            None => {}
        }
        out
    }

    /// The service, then the task definition its deployment `id` runs.
    async fn service_and_definition(
        &self,
        clients: &Clients,
        place: &ServiceRef,
        id: &str,
        deadline: Instant,
    ) -> Result<ServiceAndDefinition, LookupError> {
        let service = self
            .ecs
            .service(clients, &place.cluster, &place.service, false, deadline)
            .await?;
        let arn = service
            .deployment(id)
            .and_then(|d| d.task_definition.clone());
        let definition = match arn {
            Some(arn) => Some(self.ecs.task_definition(clients, &arn, deadline).await),
            None => None,
        };
        Ok((service, definition))
    }
}

/// A deployment's service, and its task definition when the service names one.
type ServiceAndDefinition = (
    Arc<ServiceInfo>,
    Option<Result<Arc<TaskDefinitionInfo>, LookupError>>,
);
