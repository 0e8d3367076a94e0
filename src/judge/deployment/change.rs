//! The deployment as a Datadog change event: the revision and images it deploys, the revision
//! it replaces, and the revision a rollback returns to.

use serde_json::{json, Map, Value};

use crate::judge::measure::Change;
use crate::source::ServiceRef;

use super::super::enrichment::Enrichment;
use super::revision_name;

/// The deployment as a change of the service: the revision and images it deploys, the
/// revision it replaces (the service's other deployment, when the service was read), and the
/// revision a rollback returns to.
pub(super) fn change(
    place: &ServiceRef,
    name: &str,
    deployment_id: &str,
    reason: &str,
    enrichment: &Enrichment,
    took: Option<f64>,
    rolling_back_to: Option<&str>,
) -> Change {
    let td = enrichment.task_definition.as_deref();
    let deployments = enrichment
        .service
        .as_deref()
        .map(|s| s.deployments.as_slice())
        .unwrap_or_default();
    let mut new_value = Map::new();
    let deployed = td.map(|td| td.name()).or_else(|| {
        deployments
            .iter()
            .find(|d| d.id == deployment_id)
            .and_then(|d| d.task_definition.as_deref())
            .map(revision_name)
    });
    if let Some(deployed) = deployed.as_ref() {
        new_value.insert("task_definition".into(), json!(deployed));
    }
    if let Some(td) = td {
        let images: Map<String, Value> = td
            .containers
            .iter()
            .filter_map(|c| Some((c.name.clone(), json!(c.image.as_ref()?))))
            .collect();
        if !images.is_empty() {
            new_value.insert("images".into(), Value::Object(images));
        }
    }
    let mut prev_value = Map::new();
    let replaced = deployments
        .iter()
        .filter(|d| d.id != deployment_id)
        .filter_map(|d| d.task_definition.as_deref())
        .map(revision_name)
        .find(|r| Some(r) != deployed.as_ref());
    if let Some(replaced) = replaced {
        prev_value.insert("task_definition".into(), json!(replaced));
    }
    let mut metadata = Map::new();
    metadata.insert("ecs_event".into(), json!(name));
    metadata.insert("cluster".into(), json!(place.cluster));
    if !deployment_id.is_empty() {
        metadata.insert("deployment_id".into(), json!(deployment_id));
    }
    if !reason.is_empty() {
        metadata.insert("reason".into(), json!(reason));
    }
    if let Some(target) = rolling_back_to {
        metadata.insert("rolling_back_to".into(), json!(target));
    }
    if let Some(secs) = took {
        metadata.insert("duration_seconds".into(), json!(secs));
    }
    // Datadog's catalog knows a service by its unified `service` tag; else by the ECS name.
    let impacted = td
        .and_then(|td| td.unified.iter().find(|(k, _)| k == "service"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| place.service.clone());
    Change {
        resource: place.service.clone(),
        impacted: vec![impacted],
        new_value,
        prev_value,
        metadata,
    }
}
