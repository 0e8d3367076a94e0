//! What judging an event gives: everything it sends out (its notice, its measurements) and how
//! to place, route, deduplicate and flood-control it, with the summary the log line and
//! `render` show.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::flood::Admission;
use super::group::{self, Admission as GroupAdmission, GroupState, Groupable, Grouping};
use super::measure::Submission;
use super::notice::{Notice, Severity};
use super::post::Placement;
use crate::config::Accounts;

/// Choices that change what is posted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Post successful job runs to Slack.
    pub notify_on_success: bool,
    /// Post a notice when a service task that was asked to stop had to be killed after its stop
    /// timeout (deploy churn of an application that ignores SIGTERM).
    pub notify_on_stop_timeout: bool,
    /// The accounts served: their names, and the route or channel of each one's alerts.
    pub accounts: Arc<Accounts>,
    /// The function's own region: alerts name an event's region only when it is another.
    pub region: Option<String>,
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
    /// For a stopped task: the catalogue entry that explains it.
    pub reason: Option<Reason>,
}

/// The catalogue entry that explains a stopped task (the Datadog `reason` tag), and what the
/// log line should add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub id: &'static str,
    /// Said in the log line: the sidecars a succeeded job had killed at shutdown.
    pub note: Option<String>,
}

/// Everything an event leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub summary: Summary,
    /// The message for people (sinks render it), if the event is worth one.
    pub notice: Option<Notice>,
    /// Where the message goes and how it relates to messages already posted.
    pub placement: Placement,
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
    /// A failure that may be part of an incident (grouped with others of its cause).
    pub group: Option<Groupable>,
}

/// What a group's key adds for the Teams Workflow its failures' tags name.
const TEAMS_IN_KEY: &str = "+teams:";

/// The Teams Workflow a group's key names (`ecs-notifier:teams`), for its summaries.
pub fn teams_of_group(key: &str) -> Option<String> {
    key.rsplit_once(TEAMS_IN_KEY).map(|(_, t)| t.to_string())
}

/// Where a failure would join an incident: its group, keyed per Slack destination.
pub struct GroupCandidate<'a> {
    pub about: Groupable,
    pub key: String,
    /// The Slack route and channel it posts to.
    pub destination: (Option<&'a str>, Option<&'a str>),
    /// The event it is (its last dedupe key), and when it happened.
    pub event: String,
    pub at: DateTime<Utc>,
}

impl Outgoing {
    /// Where this plan's failure would group, as of its own time; none when it has no group,
    /// no time, or posts nothing to Slack.
    pub fn group_candidate(&self) -> Option<GroupCandidate<'_>> {
        self.group_candidate_at(self.at?)
    }

    /// Where this plan's failure would group; at `now` when the event has no time of its own.
    pub fn group_candidate_at(&self, now: DateTime<Utc>) -> Option<GroupCandidate<'_>> {
        let about = self.group.clone()?;
        self.notice.as_ref()?;
        let destination = (
            self.placement.route.as_deref(),
            self.placement.channel.as_deref(),
        );
        // Per destination: the Slack one, and the Teams Workflow the tags name.
        let slack = destination.1.or(destination.0).unwrap_or("");
        let key = match self.placement.teams.as_deref() {
            Some(teams) => about.key(&format!("{slack}{TEAMS_IN_KEY}{teams}")),
            None => about.key(slack),
        };
        Some(GroupCandidate {
            key,
            about,
            destination,
            event: self.dedupe_keys.last().cloned().unwrap_or_default(),
            at: self.at.unwrap_or(now),
        })
    }

    /// A plan made outside any event (the periodic check): `notice`, to the default route, and
    /// `datadog`.
    pub fn standalone(
        summary: Summary,
        notice: Option<Notice>,
        datadog: Submission,
        dedupe_keys: Vec<String>,
        at: Option<DateTime<Utc>>,
    ) -> Outgoing {
        Outgoing {
            summary,
            notice,
            placement: Placement::default(),
            route_problems: Vec::new(),
            datadog,
            dedupe_keys,
            flood_key: None,
            at,
            group: None,
        }
    }

    /// A plan that only sends metrics (a check's gauges).
    pub fn metrics_only(kind: &'static str, datadog: Submission) -> Outgoing {
        let summary = Summary {
            kind,
            verdict: "metrics".into(),
            cause: String::new(),
            subject: String::new(),
            reason: None,
        };
        Outgoing::standalone(summary, None, datadog, Vec::new(), None)
    }

    /// Turns this plan into the completion of an alert already posted (`posted`, app mode):
    /// the fuller update edits it in place, and nothing new is posted or counted.
    pub fn complete_in_place(&mut self, posted: Option<super::post::Posted>, event_id: &str) {
        self.placement.edit = posted;
        self.datadog = Submission::default();
        self.flood_key = None;
        self.placement.thread = None;
        self.placement.thread_notice = None;
        self.dedupe_keys = vec![format!("complete:{event_id}")];
    }

    /// Applies a flood-control decision: a held-back alert posts nothing to Slack; a summary
    /// says how many were held back since when.
    pub fn apply_flood(&mut self, admission: Admission) {
        match admission {
            Admission::Alert => {}
            Admission::Suppress => self.notice = None,
            Admission::Summary { count, since } => {
                if let Some(notice) = self.notice.as_mut() {
                    let since = since.format("%H:%M UTC");
                    notice.title.push_str(&format!(" (+{count} since {since})"));
                    notice.summary.push_str(&format!(
                        " {count} more like it since {since} were held back to keep the channel readable."
                    ));
                }
            }
        }
    }

    /// Turns a failure's plan into its part of an incident group (`key`, as `state` holds it
    /// after admitting it): the grouped message (opened, or edited in place in app mode as
    /// services join), or nothing in Slack (held back). Flood control no longer applies.
    pub fn apply_group(
        &mut self,
        key: &str,
        state: &GroupState,
        settings: Grouping,
        admission: GroupAdmission,
        app: bool,
    ) {
        if admission == GroupAdmission::Alone {
            return;
        }
        self.flood_key = None;
        match admission {
            GroupAdmission::Join { edit, reply } if app && edit => {
                // Edits the grouped message where it is; nothing when it is not known (yet).
                self.placement.reply_only = true;
                self.placement.loud = Some(reply);
            }
            GroupAdmission::Join { .. } => {
                // Named by the next edit, or by the window's final summary.
                self.notice = None;
                return;
            }
            _ => self.placement.loud = Some(false),
        }
        self.placement.thread = Some(state.thread_id(key));
        self.group_notice(state, settings);
    }

    /// The grouped message from `state` becomes this plan's notice (and its shared message's),
    /// with the mentions of this plan's own alert.
    pub fn group_notice(&mut self, state: &GroupState, settings: Grouping) {
        let mut notice = group::notice(state, settings.window, false);
        if let Some(own) = &self.notice {
            notice.mentions = own.mentions.clone();
        }
        self.placement.thread_notice = Some(notice.clone());
        self.notice = Some(notice);
    }

    /// Adds `line` to the context of this plan's notice (and its shared message's).
    pub fn note(&mut self, line: &str) {
        let notices = self
            .notice
            .iter_mut()
            .chain(&mut self.placement.thread_notice);
        for notice in notices {
            notice.context.push(line.to_string());
        }
    }

    /// Whether a post of this plan should notify: a failure or warning does, unless placed
    /// otherwise.
    pub fn loud(&self) -> bool {
        self.notice.is_some()
            && self.placement.loud.unwrap_or_else(|| {
                self.notice
                    .as_ref()
                    .is_some_and(|n| matches!(n.severity, Severity::Failure | Severity::Warning))
            })
    }
}
