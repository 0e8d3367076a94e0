//! The alert of a stopped task: what broke and where to look (the catalogue's explanation of
//! the stop, with the object it names), the containers that broke and those ECS stopped after
//! them, every container reason, log lines and links.

use crate::judge::notice::{Link, Notice, Severity};
use crate::source::{Envelope, Task};

use super::cause::Cause;
use super::causes::{Explanation, Field};
use super::durations::human;
use super::verdict::{FailedContainer, Outcome, TaskVerdict};

mod sections;
use crate::judge::console;
use crate::judge::enrichment::{Enrichment, TaskDefinitionInfo};
use sections::{container_sections, explanation_sections, message_sections};

/// What the alert says of a transient cause.
const TRANSIENT: &str =
    "This is usually transient: a retry usually succeeds, and a service retries by itself.";

/// What a stopped task's notice reads from: the task, its verdict and enrichment.
struct Stop<'a> {
    envelope: &'a Envelope,
    task: &'a Task,
    verdict: &'a TaskVerdict,
    enrichment: &'a Enrichment,
    td: Option<&'a TaskDefinitionInfo>,
    /// Containers whose health check failed (enrichment).
    unhealthy: Vec<&'a str>,
}

impl<'a> Stop<'a> {
    fn essential(&self, name: &str) -> Option<bool> {
        self.td.and_then(|t| t.container(name)).map(|c| c.essential)
    }

    fn essential_note(&self, name: &str) -> &'static str {
        match self.essential(name) {
            Some(true) => " (essential)",
            Some(false) => " (not essential)",
            None => "",
        }
    }

    fn explanation(&self) -> &'a Explanation {
        &self.verdict.explanation
    }

    /// The containers that took the task down: the unhealthy ones for a health check failure,
    /// else those whose own exit did.
    fn culprits(&self) -> Vec<&'a str> {
        if self.verdict.cause == Cause::ContainerHealthCheck && !self.unhealthy.is_empty() {
            self.unhealthy.clone()
        } else {
            self.verdict.culprits.iter().map(String::as_str).collect()
        }
    }

    /// What a container's exit code means, knowing how the task stopped: a 137 is an
    /// out-of-memory kill, ECS's SIGKILL after the stop timeout, or a kill from elsewhere.
    fn meaning(&self, c: &FailedContainer) -> Option<&'static str> {
        if c.exit_code == 137 && c.stopped_by_signal() {
            let id = self.explanation().entry.id;
            let named = self.explanation().container.as_deref() == Some(c.name.as_str());
            return Some(match id {
                "exit_137_unrequested" if named => "killed (SIGKILL), not by ECS's stop",
                "exit_137_killed_on_stop" if named => {
                    "killed (SIGKILL) before its stop timeout ran out"
                }
                _ => "killed (SIGKILL) when it did not stop within its stopTimeout",
            });
        }
        c.meaning()
    }
}

/// The notice of a stopped task (its alert, or a success or stop-timeout notice).
pub fn of(
    envelope: &Envelope,
    task: &Task,
    verdict: &TaskVerdict,
    enrichment: &Enrichment,
    subject: &str,
) -> Notice {
    let stop = Stop {
        envelope,
        task,
        verdict,
        enrichment,
        td: enrichment.task_definition.as_deref(),
        unhealthy: enrichment
            .health
            .iter()
            .flatten()
            .filter(|h| h.status == "UNHEALTHY")
            .map(|h| h.name.as_str())
            .collect(),
    };
    let severity = match verdict.outcome {
        Outcome::Failure => Severity::Failure,
        Outcome::Success => Severity::Success,
        Outcome::Expected if verdict.cause == Cause::StopTimeout => Severity::Warning,
        Outcome::Expected => Severity::Info,
    };
    let mut sections = container_sections(&stop);
    sections.extend(message_sections(&stop));
    if matches!(severity, Severity::Failure | Severity::Warning) {
        sections.extend(explanation_sections(&stop));
    }
    Notice {
        severity,
        title: title(&stop, subject),
        summary: summary(&stop),
        fields: fields(&stop),
        sections,
        links: links(&stop),
        context: context(&stop),
        mentions: Vec::new(),
    }
}

/// `Image pull failed (registry rate limit): report`; a start failure of a task that ran is
/// not called a failure to start.
fn title(stop: &Stop, subject: &str) -> String {
    let verdict = stop.verdict;
    let family = match verdict.cause {
        Cause::StartFailure if verdict.durations.running.is_some() => "Task failed",
        cause => cause.title(),
    };
    let label = stop.explanation().entry.label;
    let mut title = if label.is_empty() {
        format!("{family}: {subject}")
    } else {
        format!("{family} ({label}): {subject}")
    };
    if verdict.cause == Cause::ContainerHealthCheck && !stop.unhealthy.is_empty() {
        title.push_str(&format!(" ({})", stop.unhealthy.join(", ")));
    }
    title
}

/// Who stopped where, how, and the detail that says it best.
fn summary(stop: &Stop) -> String {
    let (task, verdict) = (stop.task, stop.verdict);
    let definition = super::definition(task);
    let who = match verdict.trigger.service() {
        Some(service) => format!("A task of service {service} ({definition})"),
        None => match verdict.trigger.schedule() {
            Some(schedule) => format!("Scheduled job {definition} (schedule {schedule})"),
            None => format!("Task {definition}"),
        },
    };
    let explanation = stop.explanation();
    let describe = match verdict.cause {
        Cause::OutOfMemory if explanation.entry.on.field == Field::Log => "ran out of memory",
        Cause::StartFailure if verdict.durations.running.is_some() => "failed after it ran",
        cause => cause.describe(),
    };
    let mut summary = format!("{who} in cluster {} {describe}", task.cluster());
    summary.push_str(&detail(stop));
    summary.push('.');
    summary
}

/// The part of the summary after its verb: which container, and what it did.
fn detail(stop: &Stop) -> String {
    let (verdict, explanation) = (stop.verdict, stop.explanation());
    let container = explanation.container.as_deref();
    match verdict.cause {
        Cause::ContainerHealthCheck if !stop.unhealthy.is_empty() => {
            let essentials = stop
                .td
                .map(|t| t.containers.iter().filter(|c| c.essential).count())
                .unwrap_or(0);
            let described: Vec<String> = stop
                .unhealthy
                .iter()
                .map(|name| match stop.essential(name) {
                    Some(true) if essentials > 1 => format!("{name} (an essential sidecar: its failing health check took the whole task down)"),
                    Some(true) => format!("{name} (essential)"),
                    Some(false) => format!("{name} (not essential)"),
                    None => name.to_string(),
                })
                .collect();
            format!(": unhealthy {}", described.join(", "))
        }
        Cause::OutOfMemory if explanation.entry.on.field == Field::Reason => {
            match (container, stop.td) {
                (Some(name), Some(td)) => td
                    .memory_limit(name)
                    .map(|limit| format!(": container {name} hit its limit of {limit}"))
                    .unwrap_or_default(),
                _ => String::new(),
            }
        }
        Cause::ImagePull
        | Cause::ResourceInitialization
        | Cause::StartFailure
        | Cause::ContainerRuntime
        | Cause::OutOfMemory
            if !explanation.entry.label.is_empty() =>
        {
            let label = explanation.entry.label;
            match (container.filter(|c| *c != "?"), verdict.cause) {
                (Some(name), Cause::StartFailure) => {
                    format!(": container {name} could not start ({label})")
                }
                (Some(name), _) => format!(": {label} (container {name})"),
                (None, _) => format!(": {label}"),
            }
        }
        Cause::ExitNonzero | Cause::StopTimeout => exit_detail(stop),
        _ => String::new(),
    }
}

/// `: container app exited 139 (segmentation fault (SIGSEGV))`.
fn exit_detail(stop: &Stop) -> String {
    let verdict = stop.verdict;
    let culprits = stop.culprits();
    let named = stop.explanation().container.as_deref();
    let first = verdict
        .failed_containers
        .iter()
        .find(|c| culprits.contains(&c.name.as_str()))
        .or_else(|| {
            verdict
                .failed_containers
                .iter()
                .find(|c| Some(c.name.as_str()) == named)
        })
        .or_else(|| {
            verdict
                .failed_containers
                .iter()
                .find(|c| c.exit_code != 143)
        });
    let Some(first) = first else {
        return String::new();
    };
    let mut out = format!(": container {} exited {}", first.name, first.exit_code);
    if let Some(meaning) = stop.meaning(first) {
        out.push_str(&format!(" ({meaning})"));
    }
    out
}

/// Cluster, service, definition, trigger, launch, stop code and the object the cause names.
fn fields(stop: &Stop) -> Vec<(String, String)> {
    let (task, verdict) = (stop.task, stop.verdict);
    let mut fields = vec![("Cluster".to_string(), task.cluster().to_string())];
    if let Some(service) = verdict.trigger.service() {
        fields.push(("Service".into(), service.to_string()));
    }
    fields.push(("Task definition".into(), super::definition(task)));
    fields.push(("Trigger".into(), verdict.trigger.describe()));
    let mut placement = launch(task);
    if let Some(az) = &task.availability_zone {
        placement.push_str(&format!(" · {az}"));
    }
    fields.push(("Launch".into(), placement));
    if let Some(code) = &task.stop_code {
        fields.push(("Stop code".into(), code.clone()));
    }
    let explanation = stop.explanation();
    if let (Some(kind), Some(value)) = (explanation.entry.object, &explanation.object) {
        // The unhealthy containers and the memory limit are said in the summary already.
        let said = match kind {
            super::causes::Object::Unhealthy => verdict.cause == Cause::ContainerHealthCheck,
            super::causes::Object::MemoryLimit => {
                verdict.cause == Cause::OutOfMemory && explanation.entry.on.field == Field::Reason
            }
            _ => false,
        };
        if !said {
            fields.push((kind.label().to_string(), value.clone()));
        }
    }
    fields
}

/// Durations, the task id and its stop time.
fn context(stop: &Stop) -> Vec<String> {
    let d = &stop.verdict.durations;
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
        context.push(format!("⏱ {}", phases.join(" · ")));
    }
    let mut ids = format!("task {}", stop.task.task_id());
    if let Some(at) = stop.task.stopped_at {
        ids.push_str(&format!(
            " · stopped {}",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    context.push(ids);
    context
}

/// The task in the console, the logs of the containers that broke, and the AWS page that
/// explains the cause.
fn links(stop: &Stop) -> Vec<Link> {
    let task = stop.task;
    let region = console::region_of(stop.envelope, task.task_arn.as_deref());
    let mut links = Vec::new();
    if !task.task_id().is_empty() && !region.is_empty() {
        links.push(Link {
            label: "Task in the ECS console".into(),
            url: console::task_url(region, task.cluster(), task.task_id()),
        });
    }
    // Log links for the containers that broke (a tail's stream, else the one ECS names).
    let mut logged: Vec<&str> = stop.unhealthy.clone();
    for c in &stop.verdict.failed_containers {
        if !logged.contains(&c.name.as_str()) {
            logged.push(&c.name);
        }
    }
    for name in logged {
        let target = match stop.enrichment.log_tail(name) {
            Some(t) => Some((t.group.clone(), t.stream.clone(), t.region.clone())),
            None => stop.td.and_then(|t| t.container(name)).and_then(|c| {
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
    if stop.verdict.outcome == Outcome::Failure {
        links.push(Link {
            label: "What AWS says".into(),
            url: stop.explanation().entry.page.to_string(),
        });
    }
    links
}

/// How the task was launched: its capacity provider where it names one (`FARGATE_SPOT`, an Auto
/// Scaling group's provider), with the launch type beside it when that says more.
fn launch(task: &Task) -> String {
    match (
        task.launch_type.as_deref(),
        task.capacity_provider_name.as_deref(),
    ) {
        (Some(launch), Some(provider)) if !provider.is_empty() && provider != launch => {
            format!("{provider} ({launch})")
        }
        _ => task.launch_type().to_string(),
    }
}
