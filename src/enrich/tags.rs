//! The lookups for routing tags: a service's, another resource's, a failed launch's definition.

use tokio::time::Instant;

use super::{region_of, Enricher};
use crate::judge::enrichment::Enrichment;
use crate::source::{Envelope, ServiceAction, ServiceRef};

impl Enricher {
    /// A task that could not be launched: its task definition, for the routing tags.
    pub(super) async fn for_launch(
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

    pub(super) async fn for_service_action(
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
    pub(super) async fn resource_tags(
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

    pub(super) async fn service_tags(
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
