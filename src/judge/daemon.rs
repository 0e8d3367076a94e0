//! The planners of managed daemon events: a daemon task that cannot start is an alert (why, from
//! its failure type and reason); a daemon deployment that rolls back or whose rollback failed
//! alerts, a successful one is a notice like a completed service deployment, and pending or in
//! progress stay quiet. Each is counted; deployments are Datadog events.

use chrono::{DateTime, Utc};
use serde_json::{json, Map};

use crate::judge::measure::Change;
use crate::judge::measure::{event_time, metric_time, tag};
use crate::judge::measure::{Distribution, Event as DatadogEvent, Submission};
use crate::judge::notice::{Notice, Section, Severity};
use crate::source::daemon::{DaemonAction, DaemonDeployment};
use crate::source::{arn, Envelope};

use super::outgoing::Summary;
use super::placement;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp_seconds;

/// Plans a daemon service action.
fn tell_action(
    envelope: &Envelope,
    action: &DaemonAction,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let read = Action::of(action);
    let summary = Summary {
        kind: "daemon_action",
        verdict: read.name.to_string(),
        cause: if read.failure.is_empty() {
            read.event_type.to_string()
        } else {
            read.failure.to_ascii_lowercase()
        },
        subject: read.daemon.clone(),
        reason: None,
    };
    // Daemon events say WARNING; service actions say WARN. Both read the same.
    let severity = match read.event_type {
        "ERROR" => Some(Severity::Failure),
        "WARN" | "WARNING" => Some(Severity::Warning),
        _ => None,
    };
    let at = action.created_at.or(envelope.time);
    let notice = severity.map(|severity| read.notice(severity, at));
    let datadog = read.datadog(metric_time(at, now));
    (summary, notice, datadog)
}

/// The daemon's name, or words saying it is not known.
fn shown(daemon: &str) -> &str {
    if daemon.is_empty() {
        "unknown daemon"
    } else {
        daemon
    }
}

/// What a daemon action says, read once.
struct Action<'a> {
    action: &'a DaemonAction,
    daemon: String,
    cluster: String,
    name: &'a str,
    event_type: &'a str,
    failure: &'a str,
}

impl<'a> Action<'a> {
    fn of(action: &'a DaemonAction) -> Self {
        let (daemon, cluster) = action.place();
        Action {
            action,
            daemon,
            cluster,
            name: action.event_name.as_deref().unwrap_or("UNKNOWN"),
            event_type: action.event_type.as_deref().unwrap_or("INFO"),
            failure: action.failure_type.as_deref().unwrap_or(""),
        }
    }

    /// The alert of an action that warns or fails: what happened, where, and why.
    fn notice(&self, severity: Severity, at: Option<DateTime<Utc>>) -> Notice {
        let shown = shown(&self.daemon);
        let (title, what) = match (self.name, self.failure) {
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
                format!("ECS reported {}", self.name),
            ),
        };
        Notice {
            severity,
            title,
            summary: format!("In cluster {}, {what} for daemon {shown}.", self.cluster),
            fields: self.fields(),
            sections: action_sections(self.action.reason.as_deref().unwrap_or("")),
            links: Vec::new(),
            context: at.map(|at| vec![stamp_seconds(at)]).unwrap_or_default(),
            mentions: Vec::new(),
        }
    }

    fn fields(&self) -> Vec<(String, String)> {
        let action = self.action;
        let mut fields = vec![
            ("Cluster".to_string(), self.cluster.clone()),
            ("Daemon".to_string(), shown(&self.daemon).to_string()),
            (
                "Event".to_string(),
                format!("{} ({})", self.name, self.event_type),
            ),
        ];
        if !self.failure.is_empty() {
            fields.push(("Failure".into(), self.failure.to_string()));
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
        fields
    }

    /// Counted by cluster, daemon, event, failure type and capacity provider.
    fn datadog(&self, ts: i64) -> Submission {
        let mut tags = vec![
            tag(tags::CLUSTER, &self.cluster),
            tag(tags::DAEMON, &self.daemon),
            tag("event", self.name),
        ];
        if !self.failure.is_empty() {
            tags.push(tag("failure_type", self.failure));
        }
        if let Some(cp) = &self.action.capacity_provider_name {
            tags.push(tag("capacity_provider", cp));
        }
        Submission {
            distributions: vec![Distribution::count("ecs.daemon.actions", ts, 1, tags)],
            ..Submission::default()
        }
    }
}

/// The reason ECS gave, and what it means when it is a placement reason.
fn action_sections(reason: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    if !reason.is_empty() {
        sections.push(Section::code("Reason", reason));
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
        sections.push(Section::text("What it means", meaning));
    }
    sections
}

/// Plans a daemon deployment state change; the `bool` says whether it posts on its own (in
/// Slack app mode every state edits the deployment's one message).
fn tell_deployment(
    envelope: &Envelope,
    deployment: &DaemonDeployment,
    now: DateTime<Utc>,
) -> (Summary, Notice, bool, Submission) {
    let (daemon, cluster) = deployment.place();
    let name = deployment.event_name.as_deref().unwrap_or("UNKNOWN");
    let shown = shown(&daemon);
    let state = name.trim_start_matches("DAEMON_DEPLOYMENT_");
    let (severity, verb, posts) = deployment_outcome(state);
    let id = deployment
        .daemon_deployment_arn
        .as_deref()
        .map(arn::last_segment)
        .unwrap_or("");
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
        fields: deployment_fields(deployment, shown, &cluster, id),
        sections: deployment_sections(deployment, severity),
        links: Vec::new(),
        context: at
            .map(|at| vec![format!("{name} · {}", stamp_seconds(at))])
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

/// The notice's severity, the verb of its title and summary, and whether it posts on its own,
/// by the deployment's state.
fn deployment_outcome(state: &str) -> (Severity, &'static str, bool) {
    match state {
        "SUCCESSFUL" => (Severity::Success, "completed", true),
        "ROLLBACK_IN_PROGRESS" => (Severity::Warning, "is rolling back", true),
        "ROLLBACK_FAILED" => (Severity::Failure, "could not roll back", true),
        "ROLLBACK_SUCCESSFUL" => (Severity::Info, "rolled back", false),
        "STOP_REQUESTED" => (Severity::Warning, "was stopped and will roll back", false),
        "STOPPED" => (Severity::Info, "stopped (failed or replaced)", false),
        "PENDING" => (Severity::Info, "is pending", false),
        "IN_PROGRESS" => (Severity::Info, "started", false),
        _ => (Severity::Info, "changed state", false),
    }
}

fn deployment_fields(
    deployment: &DaemonDeployment,
    shown: &str,
    cluster: &str,
    id: &str,
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("Cluster".to_string(), cluster.to_string()),
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
    fields
}

/// The reason the deployment gives, and where to look when its rollback failed.
fn deployment_sections(deployment: &DaemonDeployment, severity: Severity) -> Vec<Section> {
    let mut sections = Vec::new();
    if let Some(reason) = deployment.reason.as_deref().filter(|r| !r.is_empty()) {
        sections.push(Section::text("Reason", reason));
    }
    if severity == Severity::Failure {
        sections.push(Section::text(
            "Where to look",
            "The daemon may now run mixed revisions. Its deployment's events and the daemon tasks' stopped reasons say why; deploy a working revision.",
        ));
    }
    sections
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

/// Plans a managed daemon's action: its notice floods per daemon and cause.
pub fn plan_action(envelope: &Envelope, action: &DaemonAction, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell_action(envelope, action, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    if plan.notice.is_some() {
        let (daemon, cluster) = action.place();
        plan.flood_key = Some(format!("{cluster}/daemon:{daemon}/{}", plan.summary.cause));
    }
    plan
}

/// Plans a daemon deployment's state change: its notice is also the deployment's shared
/// message, which every state updates.
pub fn plan_deployment(envelope: &Envelope, deployment: &DaemonDeployment, ctx: &Context) -> Plan {
    let (summary, notice, posts, datadog) = tell_deployment(envelope, deployment, ctx.now);
    let mut plan = Plan::new(summary, Some(notice.clone()).filter(|_| posts), datadog);
    plan.placement.thread = deployment
        .daemon_deployment_arn
        .clone()
        .filter(|id| !id.is_empty());
    plan.placement.thread_notice = Some(notice);
    plan
}
