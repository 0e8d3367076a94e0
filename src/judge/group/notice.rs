//! The grouped message of an incident: a count, then the services by name within Slack's
//! limits, and since when.

use chrono::Duration;

use crate::judge::notice::{Item, Notice, Section, Severity};

use super::super::words::stamp;
use super::{GroupState, Role, NAMED};

/// The grouped message: what failed, how many services, since when, and their names. `ended`:
/// the window's final summary.
pub fn notice(state: &GroupState, window: Duration, ended: bool) -> Notice {
    let about = &state.about;
    let services = state.services();
    let since = state.window_start.format("%H:%M UTC");
    let title = format!(
        "{}: {services} services in {} since {since}",
        about.headline, about.cluster
    );
    let summary = if ended {
        format!(
            "{services} services in cluster {} failed the same way ({}) between {since} and {}: {} failures in all. One message for all of them; every stop is counted in Datadog.",
            about.cluster,
            about.cause,
            state.window_end(window).format("%H:%M UTC"),
            state.failures,
        )
    } else {
        format!(
            "Since {since}, {services} services in cluster {} have failed the same way ({}). One message for all of them, kept up to date; every stop is counted in Datadog.",
            about.cluster, about.cause
        )
    };
    let mut fields = vec![
        ("Cluster".to_string(), about.cluster.clone()),
        ("Cause".to_string(), about.cause.clone()),
        ("Services".to_string(), services.to_string()),
        ("Failures".to_string(), state.failures.to_string()),
    ];
    if !about.account.is_empty() {
        fields.push(("Account".into(), about.account.clone()));
    }
    let state_line = if ended {
        format!("Window closed at {}", stamp(state.window_end(window)))
    } else {
        format!(
            "Grouped by account, cluster and cause until {}",
            stamp(state.window_end(window))
        )
    };
    Notice {
        severity: Severity::Failure,
        title,
        summary,
        fields,
        sections: sections(state),
        links: Vec::new(),
        context: vec![state_line],
        mentions: Vec::new(),
    }
}

/// The services by name (the rest counted), what the first one says, and where to look.
fn sections(state: &GroupState) -> Vec<Section> {
    let about = &state.about;
    let mut sections = vec![Section::items("Services", services(state))];
    if let Some(reason) = &about.reason {
        sections.push(Section::code("The first one says", reason.clone()));
    }
    if let Some(hint) = &about.hint {
        sections.push(Section::text("Where to look", hint.clone()));
    }
    sections
}

/// The first [`NAMED`] services, when each failed, then how many more.
fn services(state: &GroupState) -> Vec<Item> {
    let mut items: Vec<Item> = state
        .members
        .iter()
        .take(NAMED)
        .map(|m| Item {
            lead: m.subject.clone(),
            text: format!(
                "{}{}",
                m.at.format("%H:%M:%S"),
                if m.role == Role::Alone {
                    " (alerted on its own)"
                } else {
                    ""
                }
            ),
        })
        .collect();
    let unnamed = state.services().saturating_sub(items.len() as u64);
    if unnamed > 0 {
        items.push(Item {
            lead: format!("… and {unnamed} more"),
            text: String::new(),
        });
    }
    items
}
