//! The grouped message of an incident: a count, then the services by name within Slack's
//! limits, and since when; for a backlog's window, that its failures arrive late, and by how
//! much.

use chrono::Duration;

use crate::config::duration;
use crate::judge::notice::{Item, Notice, Section, Severity};

use super::super::words::stamp;
use super::{GroupState, Late, Role, NAMED};

/// Said by a grouped message in webhook mode without the state table: nothing else will post
/// its final list for sure.
pub const FINAL_LIST_NEEDS_THE_TABLE: &str = "The final list of services needs the state table (STATE_TABLE): without it, it is posted only if a later event reaches this same instance.";

/// The grouped message: what failed, how many services, since when, and their names. `ended`:
/// the window's final summary.
pub fn notice(state: &GroupState, window: Duration, ended: bool) -> Notice {
    let about = &state.about;
    let services = state.services();
    let (title, summary) = match state.late {
        Some(late) => backlog_words(state, window, late, ended),
        None => on_time_words(state, window, ended),
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
    if let Some(late) = state.late {
        fields.push(("Arrived late by".into(), lag(late)));
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

/// The title and summary of a window whose failures arrived as they happened.
fn on_time_words(state: &GroupState, window: Duration, ended: bool) -> (String, String) {
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
    (title, summary)
}

/// The title and summary of a backlog's window: when its failures happened, and how late they
/// arrive.
fn backlog_words(
    state: &GroupState,
    window: Duration,
    late: Late,
    ended: bool,
) -> (String, String) {
    let about = &state.about;
    let services = state.services();
    let since = stamp(state.first_at());
    let lag = lag(late);
    let title = format!(
        "{}: {services} services in {} at {since}, arriving {lag} late",
        about.headline, about.cluster
    );
    let (so_far, until) = if ended {
        (
            "",
            format!(" to {}", state.window_end(window).format("%H:%M UTC")),
        )
    } else {
        (" so far", " on".to_string())
    };
    let summary = format!(
        "These failures arrive late: they happened from {since}{until}, and reached this function {lag} later (a backlog: a target retried, a queue or dead-letter queue redriven). {services} services in cluster {} failed the same way ({}): {} failures{so_far}. One message for all of them; every stop is counted in Datadog.",
        about.cluster,
        about.cause,
        state.failures,
    );
    (title, summary)
}

/// How late: `4d2h`, or `3h10m to 4h` (to the hour past a day, to the minute past an hour).
fn lag(late: Late) -> String {
    let words = |secs: i64| {
        let unit = match secs {
            s if s >= 86_400 => 3_600,
            s if s >= 3_600 => 60,
            _ => 1,
        };
        duration::format(Duration::seconds(secs / unit * unit))
    };
    let (least, most) = (words(late.least), words(late.most));
    if least == most {
        least
    } else {
        format!("{least} to {most}")
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
