//! The pure pipeline: a decoded event becomes a verdict, a notice, a Slack message and Datadog
//! payloads. No I/O happens here.

use chrono::{DateTime, Utc};

use crate::datadog::payload::{event_time, metric_time, tag};
use crate::datadog::{Distribution, Event as DatadogEvent, Submission};
use crate::durations::human;
use crate::enricher::rollback_target;
use crate::enrichment::Enrichment;
use crate::event::{Deployment, Envelope, Event, ServiceAction, ServiceRef, Task};
use crate::notice::{Body, Item, Link, Notice, Section, Severity};
use crate::routing::{Mention, Notify, Route};
use crate::silent;
use crate::slack;
use crate::verdict::{classify, Cause, Outcome, StartProblem, TaskVerdict};
use crate::{arn, console};

/// Choices that change what is posted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Post successful job runs to Slack.
    pub notify_on_success: bool,
    /// Post a notice when a service task that was asked to stop had to be killed after its stop
    /// timeout (deploy churn of an application that ignores SIGTERM).
    pub notify_on_stop_timeout: bool,
}

/// What was concluded about an event, for the log line and the local renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `task`, `deployment`, `service_action`.
    pub kind: &'static str,
    /// `failure`, `expected`, `success`, `ignored` for tasks; the event name otherwise.
    pub verdict: String,
    /// The cause for tasks; the event type (`INFO`, `WARN`, `ERROR`) otherwise.
    pub cause: String,
    /// The service, job or task family concerned.
    pub subject: String,
}

/// Everything an event leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub summary: Summary,
    pub notice: Option<Notice>,
    pub slack: Option<slack::Message>,
    /// Deployments: the deployment id, so its state changes can share one Slack message.
    pub thread: Option<String>,
    /// Deployments: the message for that shared Slack message, even for states that post
    /// nothing on their own (a deployment that started).
    pub thread_message: Option<slack::Message>,
    /// The named Slack route the tags ask for (`ecs-notifier:slack`); `None`: the default.
    pub slack_route: Option<String>,
    /// The Slack channel the tags ask for (`ecs-notifier:slack-channel`), in app mode.
    pub slack_channel: Option<String>,
    /// Routing tags that could not be used, for the log.
    pub route_problems: Vec<String>,
    pub datadog: Submission,
    /// Keys under which a delivery of this event is remembered: the event id, and for tasks
    /// the task ARN with its `version` (a redelivery may carry a new event id).
    pub dedupe_keys: Vec<String>,
    /// Alerts with the same key are flood-controlled together (`cluster/subject/cause`).
    pub flood_key: Option<String>,
    /// When the event happened (stop time, else the event's time).
    pub at: Option<DateTime<Utc>>,
    /// App mode: the posted Slack message this plan's message replaces in place (a fuller
    /// STOPPED update completing the alert of its task's stop), instead of a new post.
    pub edit: Option<crate::slack::api::Posted>,
}

impl Plan {
    /// A plan made outside any event (the periodic check): `notice`, rendered for Slack to the
    /// default route, and `datadog`.
    pub fn standalone(
        summary: Summary,
        notice: Option<Notice>,
        datadog: Submission,
        dedupe_keys: Vec<String>,
        at: Option<DateTime<Utc>>,
    ) -> Plan {
        Plan {
            summary,
            slack: notice.as_ref().map(slack::render),
            notice,
            thread: None,
            thread_message: None,
            slack_route: None,
            slack_channel: None,
            route_problems: Vec::new(),
            datadog,
            dedupe_keys,
            flood_key: None,
            at,
            edit: None,
        }
    }

    /// A plan that only sends metrics (a check's gauges).
    pub fn metrics_only(kind: &'static str, datadog: Submission) -> Plan {
        let summary = Summary {
            kind,
            verdict: "metrics".into(),
            cause: String::new(),
            subject: String::new(),
        };
        Plan::standalone(summary, None, datadog, Vec::new(), None)
    }

    /// Applies a flood-control decision: a held-back alert posts nothing to Slack; a summary
    /// says how many were held back since when.
    pub fn apply_flood(&mut self, admission: crate::flood::Admission) {
        use crate::flood::Admission;
        match admission {
            Admission::Alert => {}
            Admission::Suppress => {
                self.notice = None;
                self.slack = None;
            }
            Admission::Summary { count, since } => {
                if let Some(notice) = self.notice.as_mut() {
                    let since = since.format("%H:%M UTC");
                    notice.title.push_str(&format!(" (+{count} since {since})"));
                    notice.summary.push_str(&format!(
                        " {count} more like it since {since} were held back to keep the channel readable."
                    ));
                    self.slack = Some(slack::render(notice));
                }
            }
        }
    }
}

/// Plans what to post for an event, with what enrichment found (`Enrichment::default()` when
/// it is off). `now` stamps metrics Datadog would refuse at event time.
pub fn plan(event: &Event, enrichment: &Enrichment, options: &Options, now: DateTime<Utc>) -> Plan {
    let envelope = event.envelope();
    let mut dedupe_keys = Vec::new();
    if !envelope.id.is_empty() {
        dedupe_keys.push(format!("id:{}", envelope.id));
    }
    let route = Route::from_tags(enrichment.tags());
    let notify = route.notify.unwrap_or(if options.notify_on_success {
        Notify::All
    } else {
        Notify::Failures
    });
    let mut thread = None;
    let mut thread_message = None;
    let (summary, mut notice, datadog) = match event {
        Event::Task(env, task) => {
            if let (Some(task_arn), Some(version)) = (&task.task_arn, task.version) {
                dedupe_keys.push(format!("task:{task_arn}#{version}"));
            }
            plan_task(env, task, enrichment, &route, notify, options, now)
        }
        Event::Deployment(env, deployment) => {
            let (summary, notice, posts, datadog) =
                plan_deployment(env, deployment, enrichment, now);
            thread = deployment.deployment_id.clone().filter(|id| !id.is_empty());
            thread_message = Some(slack::render(&notice));
            (summary, Some(notice).filter(|_| posts), datadog)
        }
        Event::ServiceAction(env, action) => plan_service_action(env, action),
        Event::RunTask(env, call) => {
            if let Some(id) = call.event_id.as_deref().filter(|id| !id.is_empty()) {
                dedupe_keys.push(format!("cloudtrail:{id}"));
            }
            silent::plan_run_task(env, call, now)
        }
        Event::TargetFailure(env, failure) => silent::plan_target_failure(env, failure, now),
        Event::Retirement(env, health) => silent::plan_retirement(env, health, now),
        Event::Check(_) => (
            Summary {
                kind: "check",
                verdict: "check".into(),
                cause: String::new(),
                subject: String::new(),
            },
            None,
            Submission::default(),
        ),
    };
    if notify == Notify::None {
        notice = None;
    }
    if let Some(n) = notice.as_mut() {
        if n.severity == Severity::Failure {
            n.mentions = route
                .mentions
                .iter()
                .map(|m: &Mention| m.token().to_string())
                .collect();
        }
    }
    let slack = notice.as_ref().map(slack::render);
    // Failures repeat (a crash loop, a fan-out); deployments and successes do not flood.
    let flood_key = match (&notice, event) {
        (Some(n), Event::Task(_, task)) if n.severity == Severity::Failure => Some(format!(
            "{}/{}/{}",
            task.cluster(),
            summary.subject,
            summary.cause
        )),
        (Some(_), Event::ServiceAction(env, action)) => {
            let place = action.service_ref(env);
            Some(format!(
                "{}/{}/{}",
                place.cluster, place.service, summary.verdict
            ))
        }
        // A capacity shortage refuses a fan-out of launches at once.
        (Some(_), Event::RunTask(_, call)) => Some(format!(
            "{}/{}/launch:{}",
            call.cluster(),
            summary.subject,
            summary.cause
        )),
        // A schedule retrying a launch ECS refuses shows as refused calls and as dead letters:
        // one flood window for both when the dead letter names the task.
        (Some(_), Event::TargetFailure(_, failure)) => {
            Some(match (failure.cluster_name(), failure.family()) {
                (Some(cluster), Some(family)) => {
                    format!("{cluster}/{family}/launch:{}", summary.cause)
                }
                _ => format!("dlq/{}/{}", failure.launcher.name(), summary.cause),
            })
        }
        _ => None,
    };
    let at = match event {
        Event::Task(env, task) => task.stopped_at.or(env.time),
        Event::Deployment(env, d) => d.updated_at.or(env.time),
        Event::ServiceAction(env, a) => a.created_at.or(env.time),
        Event::RunTask(env, call) => call.event_time.or(env.time),
        Event::Retirement(env, _) | Event::TargetFailure(env, _) | Event::Check(env) => env.time,
    };
    if notify == Notify::None {
        thread_message = None;
    }
    Plan {
        thread,
        thread_message,
        flood_key,
        at,
        summary,
        notice,
        slack,
        slack_route: route.slack.clone(),
        slack_channel: route.slack_channel.clone(),
        route_problems: route.problems,
        datadog,
        dedupe_keys,
        edit: None,
    }
}

/// The event's region (else the ARN's), when it is a well-formed region name; empty otherwise,
/// so no console link is built from it.
fn region<'a>(envelope: &'a Envelope, arn_hint: Option<&'a str>) -> &'a str {
    let region = if envelope.region.is_empty() {
        arn_hint.and_then(arn::region).unwrap_or("")
    } else {
        &envelope.region
    };
    if console::is_region(region) {
        region
    } else {
        ""
    }
}

/// `family:rev`, or the family alone.
fn task_definition(task: &Task) -> String {
    match task.family_revision() {
        (family, Some(rev)) => format!("{family}:{rev}"),
        (family, None) => family.to_string(),
    }
}

fn plan_task(
    envelope: &Envelope,
    task: &Task,
    enrichment: &Enrichment,
    route: &Route,
    notify: Notify,
    options: &Options,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let (family, _) = task.family_revision();
    if !task.is_stopped() {
        let status = task.last_status.as_deref().unwrap_or("unknown");
        return (
            Summary {
                kind: "task",
                verdict: "ignored".into(),
                cause: format!("status {status}"),
                subject: family.to_string(),
            },
            None,
            Submission::default(),
        );
    }
    let verdict = classify(task, &route.success_exit_codes);
    let subject = verdict
        .trigger
        .service()
        .unwrap_or(if family.is_empty() {
            task.task_id()
        } else {
            family
        })
        .to_string();
    let summary = Summary {
        kind: "task",
        verdict: verdict.outcome.as_str().into(),
        cause: verdict.cause.as_str().into(),
        subject: subject.clone(),
    };
    // A service task killed after its stop timeout is churn: a notice only when asked for.
    let stop_timeout_notice = verdict.cause == Cause::StopTimeout
        && (route.notify == Some(Notify::All) || options.notify_on_stop_timeout);
    let notice = match verdict.outcome {
        Outcome::Failure => Some(task_notice(envelope, task, &verdict, enrichment, &subject)),
        Outcome::Success if notify == Notify::All => {
            Some(task_notice(envelope, task, &verdict, enrichment, &subject))
        }
        Outcome::Expected if stop_timeout_notice && notify != Notify::None => {
            Some(task_notice(envelope, task, &verdict, enrichment, &subject))
        }
        _ => None,
    };
    (summary, notice, task_metrics(envelope, task, &verdict, now))
}

/// What a container's exit code means, knowing the task's cause: a 137 of a stop timeout is
/// the SIGKILL that followed an ignored SIGTERM.
fn meaning(c: &crate::verdict::FailedContainer, cause: Cause) -> Option<&'static str> {
    if cause == Cause::StopTimeout && c.exit_code == 137 && c.stopped_by_signal() {
        return Some("killed (SIGKILL) when it did not stop within its stopTimeout");
    }
    c.meaning()
}

fn task_notice(
    envelope: &Envelope,
    task: &Task,
    verdict: &TaskVerdict,
    enrichment: &Enrichment,
    subject: &str,
) -> Notice {
    let cluster = task.cluster();
    let definition = task_definition(task);
    let td = enrichment.task_definition.as_deref();
    let essential = |name: &str| td.and_then(|t| t.container(name)).map(|c| c.essential);
    let unhealthy: Vec<&str> = enrichment
        .health
        .iter()
        .flatten()
        .filter(|h| h.status == "UNHEALTHY")
        .map(|h| h.name.as_str())
        .collect();
    let who = match verdict.trigger.service() {
        Some(service) => format!("A task of service {service} ({definition})"),
        None => match verdict.trigger.schedule() {
            Some(schedule) => format!("Scheduled job {definition} (schedule {schedule})"),
            None => format!("Task {definition}"),
        },
    };
    let mut summary = format!("{who} in cluster {cluster} {}", verdict.cause.describe());
    let mut title = format!("{}: {subject}", verdict.cause.title());
    if verdict.cause == Cause::ContainerHealthCheck && !unhealthy.is_empty() {
        title.push_str(&format!(" ({})", unhealthy.join(", ")));
        let essentials = td
            .map(|t| t.containers.iter().filter(|c| c.essential).count())
            .unwrap_or(0);
        let described: Vec<String> = unhealthy
            .iter()
            .map(|name| match essential(name) {
                Some(true) if essentials > 1 => format!("{name} (an essential sidecar: its failing health check took the whole task down)"),
                Some(true) => format!("{name} (essential)"),
                Some(false) => format!("{name} (not essential)"),
                None => name.to_string(),
            })
            .collect();
        summary.push_str(&format!(": unhealthy {}", described.join(", ")));
    }
    if verdict.cause == Cause::OutOfMemory {
        let oom = task.containers.iter().find(|c| {
            c.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("OutOfMemoryError"))
        });
        if let (Some(c), Some(td)) = (oom, td) {
            if let Some(limit) = td.memory_limit(c.display_name()) {
                summary.push_str(&format!(
                    ": container {} hit its limit of {limit}",
                    c.display_name()
                ));
            }
        }
    }
    // The containers that took the task down, and those ECS stopped after them.
    let culprits: Vec<&str> =
        if verdict.cause == Cause::ContainerHealthCheck && !unhealthy.is_empty() {
            unhealthy.clone()
        } else {
            verdict.culprits.iter().map(String::as_str).collect()
        };
    let stopped_by_ecs = verdict.stopped_by_ecs(&culprits);
    if let Some(problem) = verdict.start_problem {
        let named = task.containers.iter().find(|c| {
            c.reason
                .as_deref()
                .and_then(StartProblem::of)
                .is_some_and(|p| p == problem)
        });
        match named {
            Some(c) => summary.push_str(&format!(
                ": container {} could not start: {}",
                c.display_name(),
                problem.describe()
            )),
            None => summary.push_str(&format!(": {}", problem.describe())),
        }
        title = format!("{} ({}): {subject}", verdict.cause.title(), problem.title());
    }
    if matches!(verdict.cause, Cause::ExitNonzero | Cause::StopTimeout) {
        let first = verdict
            .failed_containers
            .iter()
            .find(|c| culprits.contains(&c.name.as_str()))
            .or_else(|| {
                verdict
                    .failed_containers
                    .iter()
                    .find(|c| c.exit_code != 143)
            });
        if let Some(first) = first {
            summary.push_str(&format!(
                ": container {} exited {}",
                first.name, first.exit_code
            ));
            if let Some(meaning) = meaning(first, verdict.cause) {
                summary.push_str(&format!(" ({meaning})"));
            }
        }
    }
    summary.push('.');

    let severity = match verdict.outcome {
        Outcome::Failure => Severity::Failure,
        Outcome::Success => Severity::Success,
        Outcome::Expected if verdict.cause == Cause::StopTimeout => Severity::Warning,
        Outcome::Expected => Severity::Info,
    };
    let mut fields = vec![("Cluster".to_string(), cluster.to_string())];
    if let Some(service) = verdict.trigger.service() {
        fields.push(("Service".into(), service.to_string()));
    }
    fields.push(("Task definition".into(), definition));
    fields.push(("Trigger".into(), verdict.trigger.describe()));
    let mut placement = task.launch_type().to_string();
    if let Some(az) = &task.availability_zone {
        placement.push_str(&format!(" · {az}"));
    }
    fields.push(("Launch".into(), placement));
    if let Some(code) = &task.stop_code {
        fields.push(("Stop code".into(), code.clone()));
    }

    let mut sections = Vec::new();
    if let Some(health) = &enrichment.health {
        let items: Vec<Item> = health
            .iter()
            .map(|h| Item {
                lead: h.name.clone(),
                text: match essential(&h.name) {
                    Some(true) => format!("{} · essential", h.status),
                    Some(false) => format!("{} · not essential", h.status),
                    None => h.status.clone(),
                },
            })
            .collect();
        if !items.is_empty() {
            sections.push(Section {
                label: "Container health".into(),
                body: Body::Items(items),
            });
        }
    }
    let essential_note = |name: &str| match essential(name) {
        Some(true) => " (essential)",
        Some(false) => " (not essential)",
        None => "",
    };
    // A container's line: what its exit says, its reason, whether it is essential.
    let container_item = |c: &crate::verdict::FailedContainer, mut text: String| {
        if let Some(reason) = &c.reason {
            text.push_str(&format!(". Reason: {reason}"));
        }
        text.push_str(essential_note(&c.name));
        Item {
            lead: c.name.clone(),
            text,
        }
    };
    let broke: Vec<Item> = verdict
        .failed_containers
        .iter()
        .filter(|c| !stopped_by_ecs.iter().any(|s| s.name == c.name))
        .map(|c| {
            let text = if unhealthy.contains(&c.name.as_str()) && c.stopped_by_signal() {
                format!(
                    "failed its health check, then exited {} when ECS stopped the task",
                    c.exit_code
                )
            } else {
                let mut text = format!("exited {}", c.exit_code);
                if let Some(meaning) = meaning(c, verdict.cause) {
                    text.push_str(&format!(": {meaning}"));
                }
                text
            };
            container_item(c, text)
        })
        .collect();
    if !broke.is_empty() {
        sections.push(Section {
            label: "Containers that exited non-zero".into(),
            body: Body::Items(broke),
        });
    }
    if !stopped_by_ecs.is_empty() {
        let after = if verdict.cause == Cause::ContainerHealthCheck && !unhealthy.is_empty() {
            format!("{} failed its health check", culprits.join(", "))
        } else {
            format!("{} exited", culprits.join(", "))
        };
        let items = stopped_by_ecs
            .iter()
            .map(|c| {
                let text = match c.exit_code {
                    143 => "exited 143 (SIGTERM)".to_string(),
                    code => format!(
                        "exited {code}: killed (SIGKILL) when it did not stop within its stopTimeout"
                    ),
                };
                container_item(c, text)
            })
            .collect();
        sections.push(Section {
            label: format!("Stopped by ECS after {after}"),
            body: Body::Items(items),
        });
    }
    // Every other container reason: a container that could not start has no exit code, and its
    // reason is the one line that says what broke.
    let listed = |name: &str| verdict.failed_containers.iter().any(|c| c.name == name);
    let reasons: Vec<Item> = task
        .containers
        .iter()
        .filter(|c| !listed(c.display_name()))
        .filter_map(|c| {
            let reason = c.reason.as_deref().filter(|r| !r.is_empty())?;
            let text = match c.exit_code {
                None => format!("did not start: {reason}"),
                Some(code) => format!("exited {code}: {reason}"),
            };
            Some(Item {
                lead: c.display_name().to_string(),
                text: format!("{text}{}", essential_note(c.display_name())),
            })
        })
        .collect();
    if !reasons.is_empty() {
        sections.push(Section {
            label: "Container reasons".into(),
            body: Body::Items(reasons),
        });
    }
    if let Some(reason) = task.stopped_reason.as_deref().filter(|r| !r.is_empty()) {
        sections.push(Section {
            label: "Stop reason".into(),
            body: Body::Code(reason.to_string()),
        });
    }
    for tail in &enrichment.logs {
        if tail.lines.is_empty() {
            continue;
        }
        sections.push(Section {
            label: format!("Last {} log lines of {}", tail.lines.len(), tail.container),
            body: Body::Code(tail.lines.join("\n")),
        });
    }
    if verdict.outcome == Outcome::Failure || severity == Severity::Warning {
        let hint = verdict
            .start_problem
            .map(StartProblem::hint)
            .or_else(|| verdict.cause.hint());
        if let Some(hint) = hint {
            sections.push(Section {
                label: "Where to look".into(),
                body: Body::Text(hint.to_string()),
            });
        }
    }

    let d = &verdict.durations;
    let phases: Vec<String> = [
        ("waited", d.waiting),
        ("pulled", d.pulling),
        ("ran", d.running),
        ("total", d.total),
    ]
    .iter()
    .filter_map(|(label, secs)| secs.map(|s| format!("{label} {}", human(s))))
    .collect();
    let mut context = Vec::new();
    if !phases.is_empty() {
        context.push(format!(":stopwatch: {}", phases.join(" · ")));
    }
    let mut ids = format!("task {}", task.task_id());
    if let Some(at) = task.stopped_at {
        ids.push_str(&format!(
            " · stopped {}",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    context.push(ids);

    let region = region(envelope, task.task_arn.as_deref());
    let mut links = Vec::new();
    if !task.task_id().is_empty() && !region.is_empty() {
        links.push(Link {
            label: "Task in the ECS console".into(),
            url: console::task_url(region, cluster, task.task_id()),
        });
    }
    // Log links for the containers that broke (a tail's stream, else the one ECS names).
    let mut logged: Vec<&str> = unhealthy.clone();
    for c in &verdict.failed_containers {
        if !logged.contains(&c.name.as_str()) {
            logged.push(&c.name);
        }
    }
    for name in logged {
        let tail = enrichment.log_tail(name);
        let target = match tail {
            Some(t) => Some((t.group.clone(), t.stream.clone(), t.region.clone())),
            None => td.and_then(|t| t.container(name)).and_then(|c| {
                let logs = c.awslogs.as_ref()?;
                let stream = logs.stream(name, task.task_id())?;
                let log_region = logs.region.clone().unwrap_or_else(|| region.to_string());
                Some((logs.group.clone(), stream, log_region))
            }),
        };
        if let Some((group, stream, log_region)) = target.filter(|(_, _, r)| console::is_region(r))
        {
            links.push(Link {
                label: format!("Logs of {name}"),
                url: console::log_stream_url(&log_region, &group, &stream),
            });
        }
    }

    Notice {
        severity,
        title,
        summary,
        fields,
        sections,
        links,
        context,
        mentions: Vec::new(),
    }
}

/// The Datadog metrics of a stopped task.
fn task_metrics(
    envelope: &Envelope,
    task: &Task,
    verdict: &TaskVerdict,
    now: DateTime<Utc>,
) -> Submission {
    let (family, _) = task.family_revision();
    let mut tags = vec![
        tag("cluster", task.cluster()),
        tag("task_family", family),
        tag("launch_type", task.launch_type()),
        tag("trigger", verdict.trigger.kind()),
    ];
    if let Some(service) = verdict.trigger.service() {
        tags.push(tag("service", service));
    }
    if let Some(schedule) = verdict.trigger.schedule() {
        tags.push(tag("schedule", schedule));
    }
    tags.push(tag("result", verdict.outcome.as_str()));
    tags.push(tag("cause", verdict.cause.as_str()));
    let tags: crate::datadog::payload::Tags = tags.into();

    let ts = metric_time(task.stopped_at.or(envelope.time), now);
    let d = &verdict.durations;
    let distributions = [
        ("ecs.task.duration", d.running),
        ("ecs.task.startup_duration", d.startup),
        ("ecs.task.pull_duration", d.pulling),
    ]
    .into_iter()
    .filter_map(|(metric, value)| value.map(|v| Distribution::new(metric, ts, v, tags.clone())))
    .chain([Distribution::count("ecs.task.stops", ts, 1, tags.clone())])
    .collect();
    Submission {
        distributions,
        ..Submission::default()
    }
}

fn plan_deployment(
    envelope: &Envelope,
    deployment: &Deployment,
    enrichment: &Enrichment,
    now: DateTime<Utc>,
) -> (Summary, Notice, bool, Submission) {
    let place = ServiceRef::locate(envelope, None, None);
    let name = deployment.event_name.as_deref().unwrap_or("UNKNOWN");
    let event_type = deployment.event_type.as_deref().unwrap_or("");
    let reason = deployment.reason.as_deref().unwrap_or("");
    let rollback = reason.to_ascii_lowercase().contains("rolling back");
    let (severity, verb, notify) = match name {
        "SERVICE_DEPLOYMENT_COMPLETED" => (Severity::Success, "completed", true),
        "SERVICE_DEPLOYMENT_FAILED" => (Severity::Failure, "failed", true),
        "SERVICE_DEPLOYMENT_IN_PROGRESS" if rollback => {
            (Severity::Warning, "is rolling back", true)
        }
        "SERVICE_DEPLOYMENT_IN_PROGRESS" => (Severity::Info, "started", false),
        _ if event_type == "ERROR" => (Severity::Failure, "reported an error", true),
        _ if event_type == "WARN" => (Severity::Warning, "reported a warning", true),
        _ => (Severity::Info, "changed state", false),
    };
    let deployment_id = deployment.deployment_id.as_deref().unwrap_or("");
    let service = if place.service.is_empty() {
        "unknown service"
    } else {
        &place.service
    };
    let summary_text = format!(
        "Deployment {deployment_id} of service {service} in cluster {} {verb}.",
        place.cluster
    );
    let mut fields = vec![
        ("Cluster".to_string(), place.cluster.clone()),
        ("Service".to_string(), service.to_string()),
    ];
    if !deployment_id.is_empty() {
        fields.push(("Deployment".into(), deployment_id.to_string()));
    }
    let td = enrichment.task_definition.as_deref();
    if let Some(td) = td {
        fields.push(("Task definition".into(), td.name()));
    }
    if rollback {
        let target = enrichment
            .rollback_to
            .as_deref()
            .map(|arn| {
                let (family, rev) = arn::family_revision(arn);
                rev.map(|r| format!("{family}:{r}"))
                    .unwrap_or_else(|| family.to_string())
            })
            .or_else(|| rollback_target(reason).map(String::from));
        if let Some(target) = target {
            fields.push(("Rolling back to".into(), target));
        }
    }
    // How long a completed deployment took: from its creation to this event.
    let started = enrichment
        .service
        .as_deref()
        .and_then(|s| s.deployment(deployment_id))
        .and_then(|d| d.created_at);
    let finished = deployment.updated_at.or(envelope.time);
    let took = match (name, started, finished) {
        ("SERVICE_DEPLOYMENT_COMPLETED", Some(start), Some(end)) if end >= start => {
            Some((end - start).num_milliseconds() as f64 / 1000.0)
        }
        _ => None,
    };
    if let Some(secs) = took {
        fields.push(("Took".into(), human(secs)));
    }
    let mut sections = Vec::new();
    if let Some(td) = td {
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
        if !images.is_empty() {
            sections.push(Section {
                label: "Images".into(),
                body: Body::Items(images),
            });
        }
    }
    if !reason.is_empty() {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Text(reason.to_string()),
        });
    }
    if severity == Severity::Failure {
        sections.push(Section {
            label: "Where to look".into(),
            body: Body::Text("The service's events and its stopped tasks say why the new tasks did not become healthy; the circuit breaker rolls back when rollback is enabled.".into()),
        });
    }
    let region = region(envelope, envelope.resources.first().map(String::as_str));
    let links: Vec<Link> = (!place.service.is_empty() && !region.is_empty())
        .then(|| Link {
            label: "Service deployments in the ECS console".into(),
            url: console::service_url(region, &place.cluster, &place.service, "deployments"),
        })
        .into_iter()
        .collect();
    let mut context = Vec::new();
    if let Some(at) = deployment.updated_at.or(envelope.time) {
        context.push(format!("{name} · {}", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    let notice = Notice {
        severity,
        title: format!("Deployment {}: {service}", verb.trim_start_matches("is ")),
        summary: summary_text,
        fields,
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    let deployment_tags = vec![
        tag("cluster", &place.cluster),
        tag("service", &place.service),
    ];
    let distributions = took
        .map(|secs| {
            Distribution::new(
                "ecs.deployment.duration",
                metric_time(finished, now),
                secs,
                deployment_tags.clone(),
            )
        })
        .into_iter()
        .collect();
    let dd_event = DatadogEvent::of(
        &notice,
        Some(deployment_id),
        event_time(deployment.updated_at.or(envelope.time), now),
        deployment_tags
            .iter()
            .cloned()
            .chain([tag("ecs_event", name)])
            .collect(),
    );
    (
        Summary {
            kind: "deployment",
            verdict: name.to_string(),
            cause: if rollback {
                "rollback".into()
            } else {
                event_type.to_string()
            },
            subject: place.service,
        },
        notice,
        notify,
        Submission {
            events: vec![dd_event],
            distributions,
            ..Submission::default()
        },
    )
}

/// Title and explanation of a Service Action event.
fn service_action_words(name: &str) -> (&'static str, &'static str) {
    match name {
        "SERVICE_TASK_START_IMPAIRED" => (
            "Tasks cannot start",
            "ECS keeps failing to start tasks for this service and is backing off between attempts.",
        ),
        "SERVICE_TASK_PLACEMENT_FAILURE" => (
            "Tasks cannot be placed",
            "ECS cannot place tasks: no capacity has the CPU, memory, ports or attributes they need.",
        ),
        "SERVICE_TASK_CONFIGURATION_FAILURE" => (
            "Task configuration failure",
            "ECS cannot start tasks because of a configuration error (tags, networking or a missing resource).",
        ),
        "SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED" => (
            "Daemon placement constraint violated",
            "A daemon task no longer satisfies its placement constraints.",
        ),
        "ECS_OPERATION_THROTTLED" => (
            "ECS API throttled",
            "ECS throttled API calls made for this service; scaling and deployments may lag.",
        ),
        "SERVICE_DISCOVERY_OPERATION_THROTTLED" => (
            "Service discovery throttled",
            "Cloud Map throttled registration of this service's tasks.",
        ),
        "SERVICE_DISCOVERY_INSTANCE_UNHEALTHY" => (
            "Service discovery instance unhealthy",
            "A task registered in Cloud Map for this service is unhealthy.",
        ),
        "VPC_LATTICE_TARGET_UNHEALTHY" => (
            "VPC Lattice target unhealthy",
            "A VPC Lattice target of this service is unhealthy.",
        ),
        "SERVICE_HEALTH_UNKNOWN" => (
            "Service health unknown",
            "ECS could not determine the health of this service's tasks.",
        ),
        _ => ("Service event", "ECS reported a problem with this service."),
    }
}

fn plan_service_action(
    envelope: &Envelope,
    action: &ServiceAction,
) -> (Summary, Option<Notice>, Submission) {
    let place = action.service_ref(envelope);
    let name = action.event_name.as_deref().unwrap_or("UNKNOWN");
    let event_type = action.event_type.as_deref().unwrap_or("INFO");
    let summary = Summary {
        kind: "service_action",
        verdict: name.to_string(),
        cause: event_type.to_string(),
        subject: place.service.clone(),
    };
    let severity = match event_type {
        "ERROR" => Severity::Failure,
        "WARN" => Severity::Warning,
        _ => return (summary, None, Submission::default()),
    };
    let (title, meaning) = service_action_words(name);
    let service = if place.service.is_empty() {
        "unknown service"
    } else {
        &place.service
    };
    // A placement failure is explained by its reason (Fargate Spot out of capacity, no free
    // memory, a disconnected agent…); an undocumented reason keeps the general words.
    let reason = action.reason.as_deref().filter(|r| !r.is_empty());
    let spot = action
        .capacity_provider_arns
        .iter()
        .any(|a| arn::last_segment(a).eq_ignore_ascii_case("FARGATE_SPOT"));
    let placement = match (name, reason) {
        ("SERVICE_TASK_PLACEMENT_FAILURE", Some(r)) => crate::placement::explain(r, spot),
        _ => None,
    };
    let summary_text = match &placement {
        Some(p) => format!(
            "ECS cannot place tasks of service {service} in cluster {}: {}.",
            place.cluster, p.short
        ),
        None => format!("{meaning} Service {service} in cluster {}.", place.cluster),
    };
    let mut fields = vec![
        ("Cluster".to_string(), place.cluster.clone()),
        ("Service".to_string(), service.to_string()),
        ("Event".to_string(), format!("{name} ({event_type})")),
    ];
    if !action.container_instance_arns.is_empty() {
        fields.push((
            "Container instances".into(),
            action.container_instance_arns.len().to_string(),
        ));
    }
    let mut sections = Vec::new();
    if let Some(reason) = reason {
        sections.push(Section {
            label: "Reason".into(),
            body: Body::Code(reason.to_string()),
        });
    }
    if let Some(p) = &placement {
        sections.push(Section {
            label: "What it means".into(),
            body: Body::Text(p.long.to_string()),
        });
    }
    if !action.capacity_provider_arns.is_empty() {
        let items = action
            .capacity_provider_arns
            .iter()
            .map(|a| Item {
                lead: a.rsplit('/').next().unwrap_or(a).to_string(),
                text: String::new(),
            })
            .collect();
        sections.push(Section {
            label: "Capacity providers".into(),
            body: Body::Items(items),
        });
    }
    let region = region(envelope, action.cluster_arn.as_deref());
    let links: Vec<Link> = (!place.service.is_empty() && !region.is_empty())
        .then(|| Link {
            label: "Service events in the ECS console".into(),
            url: console::service_url(region, &place.cluster, &place.service, "events"),
        })
        .into_iter()
        .collect();
    let mut context = Vec::new();
    if let Some(at) = action.created_at.or(envelope.time) {
        context.push(at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    }
    let notice = Notice {
        severity,
        title: format!("{title}: {service}"),
        summary: summary_text,
        fields,
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    (summary, Some(notice), Submission::default())
}
