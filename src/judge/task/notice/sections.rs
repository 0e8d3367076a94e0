//! The sections of a stopped task's alert: container health, the containers that broke and
//! those ECS stopped after them, the other container reasons, the stop reason, the log lines,
//! and what the cause means with where to look.

use crate::judge::notice::{Body, Item, Section};

use super::super::cause::Cause;
use super::super::verdict::FailedContainer;
use super::{Stop, TRANSIENT};

/// Container health, the containers that exited non-zero and those ECS stopped after them.
pub(super) fn container_sections(stop: &Stop) -> Vec<Section> {
    let culprits = stop.culprits();
    let stopped_by_ecs = stop.verdict.stopped_by_ecs(&culprits);
    let broke: Vec<Item> = stop
        .verdict
        .failed_containers
        .iter()
        .filter(|c| !stopped_by_ecs.iter().any(|s| s.name == c.name))
        .map(|c| container_item(stop, c, broke_text(stop, c)))
        .collect();
    let mut sections: Vec<Section> = health_section(stop).into_iter().collect();
    if !broke.is_empty() {
        sections.push(Section::items("Containers that exited non-zero", broke));
    }
    if !stopped_by_ecs.is_empty() {
        let after =
            if stop.verdict.cause == Cause::ContainerHealthCheck && !stop.unhealthy.is_empty() {
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
                container_item(stop, c, text)
            })
            .collect();
        sections.push(Section::items(
            format!("Stopped by ECS after {after}"),
            items,
        ));
    }
    sections
}

/// The health each container last reported (enrichment), with whether it is essential.
fn health_section(stop: &Stop) -> Option<Section> {
    let items: Vec<Item> = stop
        .enrichment
        .health
        .as_ref()?
        .iter()
        .map(|h| Item {
            lead: h.name.clone(),
            text: match stop.essential(&h.name) {
                Some(true) => format!("{} · essential", h.status),
                Some(false) => format!("{} · not essential", h.status),
                None => h.status.clone(),
            },
        })
        .collect();
    (!items.is_empty()).then(|| Section::items("Container health", items))
}

/// What a container that broke did: failed its health check, or exited with a code that
/// means something.
fn broke_text(stop: &Stop, c: &FailedContainer) -> String {
    if stop.unhealthy.contains(&c.name.as_str()) && c.stopped_by_signal() {
        return format!(
            "failed its health check, then exited {} when ECS stopped the task",
            c.exit_code
        );
    }
    match stop.meaning(c) {
        Some(meaning) => format!("exited {}: {meaning}", c.exit_code),
        None => format!("exited {}", c.exit_code),
    }
}

/// A container's line: what its exit says, its reason, whether it is essential.
fn container_item(stop: &Stop, c: &FailedContainer, mut text: String) -> Item {
    if let Some(reason) = &c.reason {
        text.push_str(&format!(". Reason: {reason}"));
    }
    text.push_str(stop.essential_note(&c.name));
    Item {
        lead: c.name.clone(),
        text,
    }
}

/// Every other container reason, the stop reason and the log lines.
pub(super) fn message_sections(stop: &Stop) -> Vec<Section> {
    let (task, verdict) = (stop.task, stop.verdict);
    let mut sections = Vec::new();
    // A container that could not start has no exit code, and its reason is the one line that
    // says what broke.
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
                text: format!("{text}{}", stop.essential_note(c.display_name())),
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
    for tail in &stop.enrichment.logs {
        if tail.lines.is_empty() {
            continue;
        }
        sections.push(Section {
            label: format!("Last {} log lines of {}", tail.lines.len(), tail.container),
            body: Body::Code(tail.lines.join("\n")),
        });
    }
    sections
}

/// What the cause means and where to look, as the catalogue tells it.
pub(super) fn explanation_sections(stop: &Stop) -> Vec<Section> {
    let explanation = stop.explanation();
    let mut fix = explanation.fix();
    if explanation.entry.transient {
        fix.push(' ');
        fix.push_str(TRANSIENT);
    }
    vec![
        Section {
            label: "What it means".into(),
            body: Body::Text(explanation.entry.meaning.to_string()),
        },
        Section {
            label: "Where to look".into(),
            body: Body::Text(fix),
        },
    ]
}
