//! The planners of managed daemon events: a daemon task that cannot start is an alert (why, from
//! its failure type and reason); a daemon deployment that rolls back or whose rollback failed
//! alerts, a successful one is a notice like a completed service deployment, and pending or in
//! progress stay quiet. Each is counted; deployments are Datadog events.

use chrono::{DateTime, Utc};
use serde_json::{json, Map};

use crate::sinks::datadog::payload::{event_time, metric_time, tag};
use crate::sinks::datadog::payload::{Distribution, Event as DatadogEvent, Submission};
use crate::sinks::datadog::Change;
use crate::sinks::notice::{Body, Notice, Section, Severity};
use crate::source::daemon::{DaemonAction, DaemonDeployment};
use crate::source::{arn, Envelope};

use super::outgoing::Summary;
use super::placement;
use super::tags;

/// Plans a daemon service action.
pub fn plan_action(
    envelope: &Envelope,
    action: &DaemonAction,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let (daemon, cluster) = action.place();
    let name = action.event_name.as_deref().unwrap_or("UNKNOWN");
    let event_type = action.event_type.as_deref().unwrap_or("INFO");
    let failure = action.failure_type.as_deref().unwrap_or("");
    let summary = Summary {
        kind: "daemon_action",
        verdict: name.to_string(),
        cause: if failure.is_empty() {
            event_type.to_string()
        } else {
            failure.to_ascii_lowercase()
        },
        subject: daemon.clone(),
        reason: None,
    };
    // Daemon events say WARNING; service actions say WARN. Both read the same.
    let severity = match event_type {
        "ERROR" => Some(Severity::Failure),
        "WARN" | "WARNING" => Some(Severity::Warning),
        _ => None,
    };
    let shown = if daemon.is_empty() {
        "unknown daemon"
    } else {
        &daemon
    };
    let reason = action.reason.as_deref().unwrap_or("");
    let (title, what) = match (name, failure) {
        ("DAEMON_TASK_START_IMPAIRED", "TASK_FAILED_TO_RUN") => (
            format!("Daemon task cannot start: {shown}"),
            "a daemon task was created but did not reach RUNNING".to_string(),
        ),
        ("DAEMON_TASK_START_IMPAIRED", "TASK_CREATION_FAILED") => (
            format!("Daemon task cannot be placed: {shown}"),
            "a daemon task could not be created on the instance (not enough CPU, memory or another resource)".to_string(),
        ),
        ("DAEMON_TASK_START_IMPAIRED", _) => (
            format!("Daemon task cannot start: {shown}"),
            "a daemon task cannot start".to_string(),
        ),
        _ => (
            format!("Daemon event: {shown}"),
            format!("ECS reported {name}"),
        ),
    };
    let mut fields = vec![
        ("Cluster".to_string(), cluster.clone()),
        ("Daemon".to_string(), shown.to_string()),
        ("Event".to_string(), format!("{name} ({event_type})")),
    ];
    if !failure.is_empty() {
        fields.push(("Failure".into(), failure.to_string()));
    }
    if let Some(instance) = &action.container_instance_arn {
        fields.push((
            "Container instance".into(),
            arn::last_segment(instance).to_string(),
        ));
    }
    if let Some(td) = &action.daemon_task_definition_arn {
        fields.push((
            "Task definition".into(),
            arn::task_definition(td).to_string(),
        ));
    }
    if let Some(cp) = &action.capacity_provider_name {
        fields.push(("Capacity provider".into(), cp.clone()));
    }
    let mut sections = Vec::new();
    if !reason.is_empty() {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Code(reason.to_string()),
        });
    }
    // `RESOURCE:CPU - Unable to place daemon task…`: the placement reason before the dash.
    let placement_reason = reason.split(" - ").next().unwrap_or("");
    let resource = match placement_reason.trim().to_ascii_uppercase().as_str() {
        "RESOURCE:CPU" => Some("CPU"),
        "RESOURCE:MEMORY" => Some("memory"),
        _ => None,
    };
    let meaning = match resource {
        // A daemon task belongs on this instance: more instances do not help.
        Some(resource) => Some(format!(
            "A daemon task must fit on each instance next to the tasks already there, and this instance has too little free {resource} left. Use larger instance types, leave room for daemons when sizing tasks, or lower the daemon task's {resource}."
        )),
        None => placement::explain(placement_reason, false).map(|p| p.long.to_string()),
    };
    if let Some(meaning) = meaning {
        sections.push(Section {
            label: "What it means".into(),
            body: Body::Text(meaning),
        });
    }
    let at = action.created_at.or(envelope.time);
    let notice = severity.map(|severity| Notice {
        severity,
        title,
        summary: format!("In cluster {cluster}, {what} for daemon {shown}."),
        fields,
        sections,
        links: Vec::new(),
        context: at
            .map(|at| vec![at.format("%Y-%m-%d %H:%M:%S UTC").to_string()])
            .unwrap_or_default(),
        mentions: Vec::new(),
    });
    let mut tags = vec![
        tag(tags::CLUSTER, &cluster),
        tag(tags::DAEMON, &daemon),
        tag("event", name),
    ];
    if !failure.is_empty() {
        tags.push(tag("failure_type", failure));
    }
    if let Some(cp) = &action.capacity_provider_name {
        tags.push(tag("capacity_provider", cp));
    }
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.daemon.actions",
            metric_time(at, now),
            1,
            tags,
        )],
        ..Submission::default()
    };
    (summary, notice, datadog)
}

/// Plans a daemon deployment state change; the `bool` says whether it posts on its own (in
/// Slack app mode every state edits the deployment's one message).
pub fn plan_deployment(
    envelope: &Envelope,
    deployment: &DaemonDeployment,
    now: DateTime<Utc>,
) -> (Summary, Notice, bool, Submission) {
    let (daemon, cluster) = deployment.place();
    let name = deployment.event_name.as_deref().unwrap_or("UNKNOWN");
    let shown = if daemon.is_empty() {
        "unknown daemon"
    } else {
        &daemon
    };
    let state = name.trim_start_matches("DAEMON_DEPLOYMENT_");
    let (severity, verb, posts) = match state {
        "SUCCESSFUL" => (Severity::Success, "completed", true),
        "ROLLBACK_IN_PROGRESS" => (Severity::Warning, "is rolling back", true),
        "ROLLBACK_FAILED" => (Severity::Failure, "could not roll back", true),
        "ROLLBACK_SUCCESSFUL" => (Severity::Info, "rolled back", false),
        "STOP_REQUESTED" => (Severity::Warning, "was stopped and will roll back", false),
        "STOPPED" => (Severity::Info, "stopped (failed or replaced)", false),
        "PENDING" => (Severity::Info, "is pending", false),
        "IN_PROGRESS" => (Severity::Info, "started", false),
        _ => (Severity::Info, "changed state", false),
    };
    let id = deployment
        .daemon_deployment_arn
        .as_deref()
        .map(arn::last_segment)
        .unwrap_or("");
    let mut fields = vec![
        ("Cluster".to_string(), cluster.clone()),
        ("Daemon".to_string(), shown.to_string()),
    ];
    if !id.is_empty() {
        fields.push(("Deployment".into(), id.to_string()));
    }
    if let Some(revision) = &deployment.target_daemon_revision_arn {
        fields.push((
            "Target revision".into(),
            arn::last_segment(revision).to_string(),
        ));
    }
    let mut sections = Vec::new();
    if let Some(reason) = deployment.reason.as_deref().filter(|r| !r.is_empty()) {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Text(reason.to_string()),
        });
    }
    if severity == Severity::Failure {
        sections.push(Section {
            label: "Where to look".into(),
            body: Body::Text("The daemon may now run mixed revisions. Its deployment's events and the daemon tasks' stopped reasons say why; deploy a working revision.".into()),
        });
    }
    let at = deployment.updated_at.or(envelope.time);
    let notice = Notice {
        severity,
        title: format!(
            "Daemon deployment {}: {shown}",
            verb.trim_start_matches("is ")
                .split(" (")
                .next()
                .unwrap_or(verb)
        ),
        summary: format!("Deployment {id} of daemon {shown} in cluster {cluster} {verb}.")
            .replace("Deployment  of", "The deployment of"),
        fields,
        sections,
        links: Vec::new(),
        context: at
            .map(|at| vec![format!("{name} · {}", at.format("%Y-%m-%d %H:%M:%S UTC"))])
            .unwrap_or_default(),
        mentions: Vec::new(),
    };
    let tags = vec![
        tag(tags::CLUSTER, &cluster),
        tag(tags::DAEMON, &daemon),
        tag("event", name),
    ];
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.daemon.deployments",
            metric_time(at, now),
            1,
            tags.clone(),
        )],
        events: vec![DatadogEvent::of(
            &notice,
            Some(id).filter(|i| !i.is_empty()),
            event_time(at, now),
            tags,
        )
        .with_change(change(deployment, name, &daemon, &cluster, id))],
        ..Submission::default()
    };
    let summary = Summary {
        kind: "daemon_deployment",
        verdict: name.to_string(),
        cause: state.to_ascii_lowercase(),
        subject: daemon,
        reason: None,
    };
    (summary, notice, posts, datadog)
}

/// The daemon deployment as a change of the daemon: the revision it deploys.
fn change(
    deployment: &DaemonDeployment,
    name: &str,
    daemon: &str,
    cluster: &str,
    id: &str,
) -> Change {
    let mut new_value = Map::new();
    if let Some(revision) = &deployment.target_daemon_revision_arn {
        new_value.insert("daemon_revision".into(), json!(arn::last_segment(revision)));
    }
    let mut metadata = Map::new();
    metadata.insert("ecs_event".into(), json!(name));
    metadata.insert("cluster".into(), json!(cluster));
    if !id.is_empty() {
        metadata.insert("deployment_id".into(), json!(id));
    }
    if let Some(reason) = deployment.reason.as_deref().filter(|r| !r.is_empty()) {
        metadata.insert("reason".into(), json!(reason));
    }
    Change {
        resource: daemon.to_string(),
        impacted: vec![daemon.to_string()],
        new_value,
        prev_value: Map::new(),
        metadata,
    }
}
