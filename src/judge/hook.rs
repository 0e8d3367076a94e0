//! The planner of a deployment lifecycle hook's state change: a pause hook waiting for approval
//! is a notice naming the service, the stage and when the hook expires; a hook that failed or
//! timed out is an alert; one in progress or succeeded is quiet. Each is a Datadog event, and
//! counted.

use chrono::{DateTime, Utc};

use crate::judge::measure::{event_time, metric_time, tag};
use crate::judge::measure::{Distribution, Event as DatadogEvent, Submission};
use crate::judge::notice::{Notice, Section, Severity};
use crate::source::hook::Hook;
use crate::source::{arn, Envelope};

use super::console;
use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp_seconds;

/// A lifecycle stage in plain words.
fn stage_words(stage: &str) -> String {
    match stage {
        "RECONCILE_SERVICE" => "reconciling the service".into(),
        "PRE_SCALE_UP" => "before the new tasks scale up".into(),
        "SCALE_UP" => "scaling up the new tasks".into(),
        "POST_SCALE_UP" => "after the new tasks scaled up".into(),
        "TEST_TRAFFIC_SHIFT" => "shifting test traffic".into(),
        "POST_TEST_TRAFFIC_SHIFT" => "after test traffic moved to the new tasks".into(),
        "PRE_PRODUCTION_TRAFFIC_SHIFT" => "before production traffic moves".into(),
        "PRODUCTION_TRAFFIC_SHIFT" => "shifting production traffic".into(),
        "POST_PRODUCTION_TRAFFIC_SHIFT" => "after production traffic moved to the new tasks".into(),
        "BAKE_TIME" => "baking".into(),
        "CLEAN_UP" => "cleaning up".into(),
        "" => "an unnamed stage".into(),
        other => other.to_ascii_lowercase().replace('_', " "),
    }
}

/// Plans a hook state change.
fn tell(
    envelope: &Envelope,
    hook: &Hook,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let read = Read::of(hook);
    let summary = Summary {
        kind: "hook",
        verdict: read.name.to_string(),
        cause: read.stage.to_string(),
        subject: read.service.to_string(),
        reason: None,
    };
    let (severity, posts, title, said) = outcome(read.name, read.service_shown);
    let region = console::region_of(envelope, hook.service_arn.as_deref());
    let at = hook.updated_at.or(envelope.time);
    let context = at
        .map(|at| vec![format!("{} · {}", read.name, stamp_seconds(at))])
        .unwrap_or_default();
    let notice = Notice {
        severity,
        title,
        summary: read.text(&said),
        fields: read.fields(),
        sections: read.sections(),
        links: console::service_links(
            region,
            read.cluster,
            read.service,
            "deployments",
            "Service deployments in the ECS console",
        ),
        context,
        mentions: Vec::new(),
    };
    let datadog = read.datadog(&notice, at, now);
    (summary, Some(notice).filter(|_| posts), datadog)
}

/// What a hook event says, read once.
struct Read<'a> {
    hook: &'a Hook,
    name: &'a str,
    service: &'a str,
    /// The service's name, or words saying it is not known.
    service_shown: &'a str,
    cluster: &'a str,
    stage: &'a str,
    hook_type: &'a str,
    /// The service deployment's id.
    deployment: &'a str,
}

impl<'a> Read<'a> {
    fn of(hook: &'a Hook) -> Self {
        let service = hook.service();
        Read {
            hook,
            name: hook.event_name.as_deref().unwrap_or("UNKNOWN"),
            service,
            service_shown: if service.is_empty() {
                "unknown service"
            } else {
                service
            },
            cluster: hook.cluster(),
            stage: hook.lifecycle_stage.as_deref().unwrap_or(""),
            hook_type: hook.hook_type.as_deref().unwrap_or(""),
            deployment: hook
                .service_deployment_arn
                .as_deref()
                .map(arn::last_segment)
                .unwrap_or(""),
        }
    }

    /// The notice's summary: what the deployment `said`, at which stage, and when a hook that
    /// waits expires.
    fn text(&self, said: &str) -> String {
        let mut text = format!(
            "The deployment of service {} in cluster {} {said}, {}.",
            self.service_shown,
            self.cluster,
            stage_words(self.stage)
        );
        if self.name == "HOOK_AWAITING_ACTION" {
            if let Some(at) = self.hook.expires_at {
                text.push_str(&format!(
                    " The hook expires at {}, when its timeout action applies.",
                    at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
        }
        text
    }

    fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("Cluster".to_string(), self.cluster.to_string()),
            ("Service".to_string(), self.service_shown.to_string()),
            ("Lifecycle stage".to_string(), self.stage.to_string()),
        ];
        if !self.hook_type.is_empty() {
            fields.push(("Hook".into(), self.hook_type.to_string()));
        }
        if let Some(at) = self.hook.expires_at {
            fields.push(("Expires".into(), stamp_seconds(at)));
        }
        if !self.deployment.is_empty() {
            fields.push(("Service deployment".into(), self.deployment.to_string()));
        }
        fields
    }

    /// How to answer a hook that waits; where to look when one failed.
    fn sections(&self) -> Vec<Section> {
        let mut sections = Vec::new();
        if self.name == "HOOK_AWAITING_ACTION" {
            let arn = self
                .hook
                .service_deployment_arn
                .as_deref()
                .unwrap_or("<service deployment ARN>");
            let hook_id = self.hook.hook_id.as_deref().unwrap_or("<hook id>");
            sections.push(Section::code(
                "To continue or roll back",
                format!(
                    "aws ecs continue-service-deployment --service-deployment-arn {arn} --hook-id {hook_id} --action CONTINUE\n(or --action ROLLBACK)"
                ),
            ));
        }
        if matches!(self.name, "HOOK_FAILED" | "HOOK_TIMED_OUT") {
            sections.push(Section::text(
                "Where to look",
                "A pause hook fails when someone chose ROLLBACK, and times out when nobody answered before it expired; a Lambda hook fails when its function said so. The service deployment's events and the hook's function logs say why.",
            ));
        }
        sections
    }

    /// Counted, and a Datadog event.
    fn datadog(
        &self,
        notice: &Notice,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Submission {
        let tags = vec![
            tag(tags::CLUSTER, self.cluster),
            tag(tags::SERVICE, self.service),
            tag("hook_type", self.hook_type),
            tag("lifecycle_stage", self.stage),
            tag(
                "status",
                &self.name.trim_start_matches("HOOK_").to_ascii_lowercase(),
            ),
        ];
        Submission {
            distributions: vec![Distribution::count(
                "ecs.deployment.hooks",
                metric_time(at, now),
                1,
                tags.clone(),
            )],
            events: vec![DatadogEvent::of(
                notice,
                Some(self.deployment).filter(|d| !d.is_empty()),
                event_time(at, now),
                tags.into_iter()
                    .chain([tag("ecs_event", self.name)])
                    .collect(),
            )],
            ..Submission::default()
        }
    }
}

/// The notice's severity, whether it posts, its title, and what the deployment did.
fn outcome(name: &str, service_shown: &str) -> (Severity, bool, String, String) {
    match name {
        "HOOK_AWAITING_ACTION" => (
            Severity::Warning,
            true,
            format!("Approval needed: {service_shown}"),
            "is paused and waits for approval".to_string(),
        ),
        "HOOK_FAILED" => (
            Severity::Failure,
            true,
            format!("Deployment hook failed: {service_shown}"),
            "failed at a lifecycle hook: the deployment rolls back".to_string(),
        ),
        "HOOK_TIMED_OUT" => (
            Severity::Failure,
            true,
            format!("Deployment hook timed out: {service_shown}"),
            "timed out at a lifecycle hook: its timeout action (roll back, unless set to continue) applies".to_string(),
        ),
        "HOOK_SUCCEEDED" => (
            Severity::Success,
            false,
            format!("Deployment hook passed: {service_shown}"),
            "passed a lifecycle hook".to_string(),
        ),
        "HOOK_IN_PROGRESS" => (
            Severity::Info,
            false,
            format!("Deployment hook running: {service_shown}"),
            "is at a lifecycle hook".to_string(),
        ),
        _ => (
            Severity::Info,
            false,
            format!("Deployment hook changed: {service_shown}"),
            "changed at a lifecycle hook".to_string(),
        ),
    }
}

/// Plans a lifecycle hook's state change: a notice that replies in its service's deployment
/// thread; an approval wait pings the people the tags name.
pub fn plan(envelope: &Envelope, hook: &Hook, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, hook, ctx.now);
    let mut plan = Plan::new(summary, notice, datadog);
    plan.placement.reply_to = Some(format!("service:{}/{}", hook.cluster(), hook.service()));
    plan.pings = hook.event_name.as_deref() == Some("HOOK_AWAITING_ACTION");
    plan
}
