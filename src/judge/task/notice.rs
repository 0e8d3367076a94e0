//! The alert of a stopped task: what broke and where to look, the containers that broke and
//! those ECS stopped after them, every container reason, log lines and console links.

use crate::sinks::notice::{Body, Item, Link, Notice, Section, Severity};
use crate::source::{Envelope, Task};

use super::cause::{Cause, StartProblem};
use super::durations::human;
use super::verdict::{FailedContainer, Outcome, TaskVerdict};
use crate::judge::console;
use crate::judge::enrichment::Enrichment;

/// What a container's exit code means, knowing the task's cause: a 137 of a stop timeout is
/// the SIGKILL that followed an ignored SIGTERM.
fn meaning(c: &FailedContainer, cause: Cause) -> Option<&'static str> {
    if cause == Cause::StopTimeout && c.exit_code == 137 && c.stopped_by_signal() {
        return Some("killed (SIGKILL) when it did not stop within its stopTimeout");
    }
    c.meaning()
}

/// The notice of a stopped task (its alert, or a success or stop-timeout notice).
pub fn of(
    envelope: &Envelope,
    task: &Task,
    verdict: &TaskVerdict,
    enrichment: &Enrichment,
    subject: &str,
) -> Notice {
    let cluster = task.cluster();
    let definition = super::definition(task);
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
    let container_item = |c: &FailedContainer, mut text: String| {
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

    let region = console::region_of(envelope, task.task_arn.as_deref());
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
