//! The planner of a Deployment State Change: started, completed (with how long it took),
//! failed or rolling back (with the revision it returns to); always a Datadog event.

use chrono::{DateTime, Utc};

use crate::judge::measure::{event_time, metric_time, tag};
use crate::judge::measure::{Distribution, Event as DatadogEvent, Submission};
use crate::judge::notice::{Item, Notice, Section, Severity};
use crate::source::{arn, Deployment, Envelope, ServiceRef};

use super::console;
use super::enrichment::{Enrichment, ServiceDeploymentInfo, TaskDefinitionInfo};
use super::outgoing::Summary;
use super::tags;
use super::task::durations::human;
use super::words::stamp_seconds;

mod change;
use super::plan::{Context, Plan};
use change::change;

/// Tells a deployment state change; the `bool` says whether it posts on its own (a start
/// only updates the deployment's thread).
fn tell(
    envelope: &Envelope,
    deployment: &Deployment,
    enrichment: &Enrichment,
    now: DateTime<Utc>,
) -> (Summary, Notice, bool, Submission) {
    let read = Read::of(envelope, deployment, enrichment);
    let notice = read.notice();
    let datadog = read.datadog(&notice, now);
    (read.summary(), notice, read.notify, datadog)
}

/// What a deployment event says, with what enrichment adds, read once.
struct Read<'a> {
    envelope: &'a Envelope,
    enrichment: &'a Enrichment,
    place: ServiceRef,
    name: &'a str,
    event_type: &'a str,
    reason: &'a str,
    rollback: bool,
    /// A completion that finished a rollback (the service deployment APIs say so): the revision
    /// it is back on, and the one whose deployment failed.
    rolled_back: Option<(String, Option<String>)>,
    severity: Severity,
    verb: &'static str,
    notify: bool,
    deployment_id: &'a str,
    /// When the event happened: the deployment's update, else the envelope's time.
    finished: Option<DateTime<Utc>>,
    /// How long a completed deployment took, in seconds.
    took: Option<f64>,
}

impl<'a> Read<'a> {
    fn of(envelope: &'a Envelope, deployment: &'a Deployment, enrichment: &'a Enrichment) -> Self {
        let name = deployment.event_name.as_deref().unwrap_or("UNKNOWN");
        let event_type = deployment.event_type.as_deref().unwrap_or("");
        let reason = deployment.reason.as_deref().unwrap_or("");
        let rollback = reason.to_ascii_lowercase().contains("rolling back");
        let rolled_back = rolled_back(name, enrichment);
        let (severity, verb, notify) = match rolled_back {
            Some(_) => (Severity::Warning, "completed its rollback", true),
            None => outcome(name, event_type, rollback),
        };
        let deployment_id = deployment.deployment_id.as_deref().unwrap_or("");
        let finished = deployment.updated_at.or(envelope.time);
        Read {
            envelope,
            enrichment,
            place: ServiceRef::locate(envelope, None, None),
            name,
            event_type,
            reason,
            rollback,
            rolled_back,
            severity,
            verb,
            notify,
            deployment_id,
            finished,
            took: took(name, enrichment, deployment_id, finished),
        }
    }

    /// The service's name, or words saying it is not known.
    fn service(&self) -> &str {
        if self.place.service.is_empty() {
            "unknown service"
        } else {
            &self.place.service
        }
    }

    fn task_definition(&self) -> Option<&'a TaskDefinitionInfo> {
        self.enrichment.task_definition.as_deref()
    }

    fn details(&self) -> Option<&'a ServiceDeploymentInfo> {
        self.enrichment.service_deployment.as_ref()
    }

    fn summary(&self) -> Summary {
        Summary {
            kind: "deployment",
            verdict: self.name.to_string(),
            cause: if self.rollback || self.rolled_back.is_some() {
                "rollback".into()
            } else {
                self.event_type.to_string()
            },
            subject: self.place.service.clone(),
            reason: None,
        }
    }

    fn notice(&self) -> Notice {
        let (title, summary) = self.headline();
        let region = console::region_of(
            self.envelope,
            self.envelope.resources.first().map(String::as_str),
        );
        let links = console::service_links(
            region,
            &self.place.cluster,
            &self.place.service,
            "deployments",
            "Service deployments in the ECS console",
        );
        let context = self
            .finished
            .map(|at| vec![format!("{} · {}", self.name, stamp_seconds(at))])
            .unwrap_or_default();
        Notice {
            severity: self.severity,
            title,
            summary,
            fields: self.fields(),
            sections: self.sections(),
            links,
            context,
            mentions: Vec::new(),
        }
    }

    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("Cluster".to_string(), self.place.cluster.clone()),
            ("Service".to_string(), self.service().to_string()),
        ];
        if !self.deployment_id.is_empty() {
            fields.push(("Deployment".into(), self.deployment_id.to_string()));
        }
        if let Some(td) = self.task_definition() {
            fields.push(("Task definition".into(), td.name()));
        }
        if let Some(d) = self.details() {
            fields.extend(service_deployment_fields(d));
        }
        if let Some(target) = self.rolling_back_to() {
            fields.push(("Rolling back to".into(), target));
        }
        if let Some(secs) = self.took {
            fields.push(("Took".into(), human(secs)));
        }
        fields
    }

    /// The notice's title and summary: a rollback's completion names the revision the service
    /// is back on and the one it rolled back from.
    fn headline(&self) -> (String, String) {
        let (service, cluster) = (self.service(), &self.place.cluster);
        match &self.rolled_back {
            Some((back, from)) => {
                let from = from
                    .as_deref()
                    .map(|m| format!(" (from {m})"))
                    .unwrap_or_default();
                (
                    format!("Rollback completed: {service} back on revision {back}{from}"),
                    format!(
                        "The rollback of service {service} in cluster {cluster} completed (deployment {}): it runs revision {back} again{from}.",
                        self.deployment_id
                    ),
                )
            }
            None => (
                format!(
                    "Deployment {}: {service}",
                    self.verb.trim_start_matches("is ")
                ),
                format!(
                    "Deployment {} of service {service} in cluster {cluster} {}.",
                    self.deployment_id, self.verb
                ),
            ),
        }
    }

    /// The revision a rollback returns to: the service deployment's, else enrichment's, else
    /// the deployment the reason names.
    fn rolling_back_to(&self) -> Option<String> {
        let details = self.details();
        if !(self.rollback || details.is_some_and(|d| d.rollback_to.is_some())) {
            return None;
        }
        details
            .and_then(|d| d.rollback_to.as_deref())
            .map(revision_name)
            .or_else(|| self.enrichment.rollback_to.as_deref().map(revision_name))
            .or_else(|| rollback_target(self.reason).map(String::from))
    }

    fn sections(&self) -> Vec<Section> {
        let mut sections = Vec::new();
        sections.extend(self.task_definition().and_then(images));
        if !self.reason.is_empty() {
            sections.push(Section::text("Reason", self.reason));
        }
        if let Some(d) = self.details() {
            sections.extend(service_deployment_sections(d));
        }
        if self.severity == Severity::Failure {
            sections.push(Section::text(
                "Where to look",
                "The service's events and its stopped tasks say why the new tasks did not become healthy; the circuit breaker rolls back when rollback is enabled.",
            ));
        }
        sections
    }

    /// The deployment's tags: its cluster and service, and unified service tagging as the
    /// deployed task definition sets it.
    fn tags(&self) -> Vec<String> {
        let mut deployment_tags = vec![
            tag(tags::CLUSTER, &self.place.cluster),
            tag(tags::SERVICE, &self.place.service),
        ];
        for (key, value) in self.task_definition().iter().flat_map(|td| &td.unified) {
            deployment_tags.push(tag(key, value));
        }
        deployment_tags
    }

    /// What the event says of the deployment's outcome, for monitors: `result:failure` and
    /// `result:rollback` are the ones to page on.
    fn result(&self) -> Option<&'static str> {
        match self.name {
            "SERVICE_DEPLOYMENT_COMPLETED" if self.rolled_back.is_some() => Some("rolled_back"),
            "SERVICE_DEPLOYMENT_COMPLETED" => Some("success"),
            "SERVICE_DEPLOYMENT_FAILED" => Some("failure"),
            _ if self.rollback => Some("rollback"),
            _ if self.event_type == "ERROR" => Some("failure"),
            _ => None,
        }
    }

    /// The deployment's duration, when it completed, and its Datadog event (a change event).
    fn datadog(&self, notice: &Notice, now: DateTime<Utc>) -> Submission {
        let deployment_tags = self.tags();
        let distributions = self
            .took
            .map(|secs| {
                Distribution::new(
                    "ecs.deployment.duration",
                    metric_time(self.finished, now),
                    secs,
                    deployment_tags.clone(),
                )
            })
            .into_iter()
            .collect();
        let change = change(
            &self.place,
            self.name,
            self.deployment_id,
            self.reason,
            self.enrichment,
            self.took,
            self.rolling_back_to().as_deref(),
        );
        let dd_event = DatadogEvent::of(
            notice,
            Some(self.deployment_id),
            event_time(self.finished, now),
            deployment_tags
                .iter()
                .cloned()
                .chain([tag("ecs_event", self.name)])
                .chain(self.result().map(|r| tag("result", r)))
                .collect(),
        )
        .with_change(change);
        Submission {
            events: vec![dd_event],
            distributions,
            ..Submission::default()
        }
    }
}

/// A completion that finished a rollback, as the service deployment APIs tell it: the revision
/// the service is back on, and the one whose deployment failed.
fn rolled_back(name: &str, enrichment: &Enrichment) -> Option<(String, Option<String>)> {
    let details = enrichment.service_deployment.as_ref()?;
    if name != "SERVICE_DEPLOYMENT_COMPLETED"
        || details.status.as_deref() != Some("ROLLBACK_SUCCESSFUL")
    {
        return None;
    }
    let back = details.rollback_to.as_deref().map(revision_name)?;
    Some((back, details.target.as_deref().map(revision_name)))
}

/// The notice's severity, the verb of its title and summary, and whether it posts on its own.
fn outcome(name: &str, event_type: &str, rollback: bool) -> (Severity, &'static str, bool) {
    match name {
        "SERVICE_DEPLOYMENT_COMPLETED" => (Severity::Success, "completed", true),
        "SERVICE_DEPLOYMENT_FAILED" => (Severity::Failure, "failed", true),
        "SERVICE_DEPLOYMENT_IN_PROGRESS" if rollback => {
            (Severity::Warning, "is rolling back", true)
        }
        "SERVICE_DEPLOYMENT_IN_PROGRESS" => (Severity::Info, "started", false),
        _ if event_type == "ERROR" => (Severity::Failure, "reported an error", true),
        _ if event_type == "WARN" => (Severity::Warning, "reported a warning", true),
        _ => (Severity::Info, "changed state", false),
    }
}

/// How long a completed deployment took, in seconds: from its creation (as the service tells)
/// to this event.
fn took(
    name: &str,
    enrichment: &Enrichment,
    deployment_id: &str,
    finished: Option<DateTime<Utc>>,
) -> Option<f64> {
    let started = enrichment
        .service
        .as_deref()
        .and_then(|s| s.deployment(deployment_id))
        .and_then(|d| d.created_at);
    match (name, started, finished) {
        ("SERVICE_DEPLOYMENT_COMPLETED", Some(start), Some(end)) if end >= start => {
            Some((end - start).num_milliseconds() as f64 / 1000.0)
        }
        _ => None,
    }
}

/// `family:revision` of a task definition ARN, else its last segment.
fn revision_name(arn: &str) -> String {
    let (family, rev) = arn::family_revision(arn);
    rev.map(|r| format!("{family}:{r}"))
        .unwrap_or_else(|| arn::last_segment(arn).to_string())
}

/// What the service deployment APIs add to the fields: the strategy and stage, and the
/// service deployment's id.
fn service_deployment_fields(d: &ServiceDeploymentInfo) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut how = d.strategy.clone().unwrap_or_default();
    if let Some(stage) = &d.lifecycle_stage {
        how = format!("{how} · stage {stage}")
            .trim_start_matches(" · ")
            .to_string();
    }
    if !how.is_empty() {
        fields.push(("Strategy".into(), how));
    }
    // The console has no documented address for one service deployment: its id, to find
    // on the service's Deployments tab (linked below).
    if !d.arn.is_empty() {
        fields.push((
            "Service deployment".into(),
            arn::last_segment(&d.arn).to_string(),
        ));
    }
    fields
}

/// The images the deployed task definition runs, by container.
fn images(td: &TaskDefinitionInfo) -> Option<Section> {
    let images: Vec<Item> = td
        .containers
        .iter()
        .filter_map(|c| {
            Some(Item {
                lead: c.name.clone(),
                text: c.image.clone()?,
            })
        })
        .collect();
    (!images.is_empty()).then(|| Section::items("Images", images))
}

/// What the service deployment APIs say of why: its reason, the alarms that triggered, the
/// circuit breaker's count.
fn service_deployment_sections(d: &ServiceDeploymentInfo) -> Vec<Section> {
    let mut sections = Vec::new();
    if let Some(why) = d.rollback_reason.as_ref().or(d.status_reason.as_ref()) {
        sections.push(Section::text(
            "Why, says the service deployment",
            why.clone(),
        ));
    }
    if !d.triggered_alarms.is_empty() {
        let alarms = d
            .triggered_alarms
            .iter()
            .map(|a| Item {
                lead: a.clone(),
                text: String::new(),
            })
            .collect();
        sections.push(Section::items("Alarms that triggered", alarms));
    }
    if let Some((failed, threshold)) = d.circuit_breaker {
        sections.push(Section::text(
            "Circuit breaker",
            format!("{failed} task(s) failed to start, of a threshold of {threshold}."),
        ));
    }
    sections
}

/// `ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123.` → `ecs-svc/123`.
pub fn rollback_target(reason: &str) -> Option<&str> {
    let rest = &reason[reason.find("deploymentId")? + "deploymentId".len()..];
    let id = rest.split_whitespace().next()?;
    Some(id.trim_end_matches(['.', ',', ')']))
}

/// Whether a plan tells a rollback: one in progress, or its completion.
fn plan_is_rollback(summary: &Summary) -> bool {
    summary.cause == "rollback"
}

/// Plans a deployment state change: its notice is also the deployment's shared message (every
/// state updates it), remembered as the service's latest, where its hooks' notices reply.
pub fn plan(envelope: &Envelope, deployment: &Deployment, ctx: &Context) -> Plan {
    let (summary, notice, posts, datadog) = tell(envelope, deployment, ctx.enrichment, ctx.now);
    let rollback = plan_is_rollback(&summary);
    let failed = summary.verdict == "SERVICE_DEPLOYMENT_FAILED";
    let mut plan = Plan::new(summary, Some(notice.clone()).filter(|_| posts), datadog);
    let place = ServiceRef::locate(envelope, None, None);
    let failed_key = format!("deployment-failed:{}/{}", place.cluster, place.service);
    // A rollback (and its completion) is told in the message of the deployment that failed,
    // edited in place with a reply in its thread; a deployment's own states share its message.
    plan.placement.thread = if rollback {
        Some(failed_key.clone())
    } else {
        deployment.deployment_id.clone().filter(|id| !id.is_empty())
    };
    plan.placement.thread_notice = Some(notice);
    plan.placement.remember_as = vec![format!("service:{}/{}", place.cluster, place.service)];
    if failed {
        plan.placement.remember_as.push(failed_key);
    }
    plan
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
