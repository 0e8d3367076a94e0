//! Incident grouping within an invocation: each failure admitted into its group (shared through
//! the state table, else per process) as of its own time and when it arrived, a grouped message
//! rendered from the group's latest state, and the final summaries that ended windows owe,
//! posted once.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Notifier, Prepared, SLACK_PACE};
use crate::judge::group::{
    self, Admission, Clock, GroupState, Grouping, Timing, FINAL_LIST_NEEDS_THE_TABLE,
};
use crate::judge::measure::Submission;
use crate::judge::outgoing::{teams_of_group, GroupCandidate};
use crate::judge::{Outgoing, Summary};
use crate::state::memory::lock;
use crate::state::Table;

/// A window's final summary, with what it closes.
pub(super) struct Owed {
    pub key: String,
    pub window_start: DateTime<Utc>,
    pub plan: Outgoing,
}

impl Notifier {
    /// Admits a failure into its incident group: its own alert (the first few), the grouped
    /// message (the one that crosses the threshold), or held back and named by the grouped
    /// message (app mode: which it edits in place).
    pub(super) async fn group_gate(&self, item: &mut Prepared) {
        let (Some(settings), Some(plan)) = (self.grouping, item.plan.as_mut()) else {
            return;
        };
        let arrived = Utc::now();
        let Some(GroupCandidate {
            about,
            key,
            destination,
            event,
            at,
        }) = plan.group_candidate_at(arrived)
        else {
            return;
        };
        let timing = Timing {
            happened: at,
            arrived,
            late_after: Some(self.backlog_after),
        };
        let shared = match &self.table {
            // Boxed: the table's futures are deep, and this one nests in the invocation's.
            Some(table) => {
                match Box::pin(table.group(&key, &about, destination, &event, timing, settings))
                    .await
                {
                    Ok(decided) => Some(decided),
                    Err(err) => {
                        tracing::warn!(error = %err, "state table unavailable; incidents grouped per process");
                        None
                    }
                }
            }
            None => None,
        };
        let (admission, state) = match shared {
            Some((admission, state)) => {
                lock(&self.groups).insert(key.clone(), state.clone());
                (admission, state)
            }
            None => {
                let mut groups = lock(&self.groups);
                let known = groups.get(&key);
                let (admission, next) = group::admit_arrived(
                    known.as_ref(),
                    &about,
                    destination,
                    &event,
                    timing,
                    settings,
                );
                let state = match next {
                    Some(next) => {
                        groups.insert(key.clone(), next.clone());
                        next
                    }
                    None => match known {
                        Some(known) => known,
                        None => return,
                    },
                };
                (admission, state)
            }
        };
        if admission == Admission::Alone {
            return;
        }
        plan.apply_group(&key, &state, settings, admission, self.sinks.is_app());
        self.note_final_list(plan);
        item.report.group = Some(match admission {
            Admission::Open => "opened",
            _ => "joined",
        });
        item.group_key = Some(key);
    }

    /// Renders each grouped message of an invocation from its group's latest state, so a
    /// batch's grouped message names every service the batch brought.
    pub(super) fn refresh_grouped(&self, items: &mut [Prepared]) {
        let Some(settings) = self.grouping else {
            return;
        };
        for item in items.iter_mut() {
            let (Some(key), Some(plan)) = (item.group_key.as_ref(), item.plan.as_mut()) else {
                continue;
            };
            if plan.notice.is_none() {
                continue;
            }
            let known = lock(&self.groups).get(key);
            if let Some(state) = known {
                if plan.placement.thread.as_deref() == Some(state.thread_id(key).as_str()) {
                    plan.group_notice(&state, settings);
                    self.note_final_list(plan);
                }
            }
        }
    }

    /// A grouped message in webhook mode without the state table says that its final list may
    /// never come: only a later event reaching this instance posts it.
    fn note_final_list(&self, plan: &mut crate::judge::Outgoing) {
        let grouped = plan
            .placement
            .thread
            .as_deref()
            .is_some_and(|t| t.starts_with("group:"));
        if grouped && !self.sinks.is_app() && self.table.is_none() {
            plan.note(FINAL_LIST_NEEDS_THE_TABLE);
        }
    }

    /// Posts the final summaries that ended windows owe (on `clock`), from this process's
    /// groups; with a state table, as the table holds them. A summary that cannot be posted
    /// stays owed: the next invocation or the periodic check posts it.
    pub(super) async fn post_owed(&self, clock: Clock, deadline: Instant) {
        let Some(settings) = self.grouping else {
            return;
        };
        let known: Vec<(String, GroupState)> = lock(&self.groups).entries();
        let mut owed = Vec::new();
        for (key, state) in known {
            if state.owed(&clock, settings.window).is_empty() {
                continue;
            }
            let state = match &self.table {
                Some(table) => match table.group_state(&key).await {
                    Ok(Some(stored)) => stored.state,
                    Ok(None) => continue,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not read an incident group; its summary waits");
                        continue;
                    }
                },
                None => state,
            };
            owed.extend(summaries(
                &key,
                &state,
                &clock,
                settings,
                self.sinks.is_app(),
            ));
        }
        self.tell(owed, self.table.as_ref(), settings, deadline)
            .await;
    }

    /// The summaries every group of the table owes at `now` (the check's time), for the
    /// periodic check.
    pub(super) async fn owed_in_table(&self, table: &Table, now: DateTime<Utc>) -> Vec<Owed> {
        let Some(settings) = self.grouping else {
            return Vec::new();
        };
        let clock = self.clock(None, now);
        let app = self.sinks.is_app();
        match table.groups().await {
            Ok(groups) => groups
                .iter()
                .flat_map(|g| summaries(&g.key, &g.state, &clock, settings, app))
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read incident groups; their summaries wait for the next check");
                Vec::new()
            }
        }
    }

    /// Delivers summaries and marks those told (in this process, and in the table).
    pub(super) async fn tell(
        &self,
        owed: Vec<Owed>,
        table: Option<&Table>,
        settings: Grouping,
        deadline: Instant,
    ) -> Vec<(
        super::Report,
        Vec<(&'static str, crate::sinks::retry::SendError)>,
    )> {
        if owed.is_empty() {
            return Vec::new();
        }
        let closes: Vec<(String, DateTime<Utc>)> = owed
            .iter()
            .map(|o| (o.key.clone(), o.window_start))
            .collect();
        let items = owed
            .into_iter()
            .map(|o| Prepared::planned(format!("group:{}", o.key), o.plan, 0, Vec::new()))
            .collect();
        // Boxed: this delivery nests inside an invocation's own, and the future would be deep.
        let done = Box::pin(self.deliver(items, deadline, SLACK_PACE)).await;
        for ((key, window_start), (report, failures)) in closes.iter().zip(&done) {
            if !failures.is_empty() {
                tracing::warn!(key = %key, "an incident's summary could not be posted; it stays owed");
                continue;
            }
            let _ = report; // delivered, a duplicate, or nothing to edit: told either way
            let known = lock(&self.groups).get(key);
            if let Some(mut state) = known {
                state.close(*window_start);
                lock(&self.groups).insert(key.clone(), state);
            }
            if let Some(table) = table {
                if let Err(err) = table.close_group(key, *window_start, settings.window).await {
                    tracing::warn!(error = %err, key = %key, "could not mark an incident's summary as told");
                }
            }
        }
        done
    }
}

/// The final summaries `state` owes on `clock`, each as a plan of its own: a post (webhook
/// mode), or the grouped message edited in place (app mode).
fn summaries(
    key: &str,
    state: &GroupState,
    clock: &Clock,
    settings: Grouping,
    app: bool,
) -> Vec<Owed> {
    let now = clock.now;
    state
        .owed(clock, settings.window)
        .into_iter()
        .map(|window| {
            let notice = group::notice(window, settings.window, true);
            let thread = window.thread_id(key);
            let summary = Summary {
                kind: "incident",
                verdict: "summary".into(),
                cause: window.about.cause.clone(),
                subject: format!("{} services", window.services()),
                reason: None,
            };
            let dedupe = vec![format!("{thread}:{}", window.services())];
            let mut plan = Outgoing::standalone(
                summary,
                Some(notice),
                Submission::default(),
                dedupe,
                Some(now),
            );
            plan.placement.route = window.route.clone();
            plan.placement.channel = window.channel.clone();
            plan.placement.teams = teams_of_group(key);
            if app {
                plan.placement.thread = Some(thread);
                plan.placement.thread_notice = plan.notice.clone();
                plan.placement.reply_only = true;
                plan.placement.loud = Some(false);
            }
            Owed {
                key: key.to_string(),
                window_start: window.window_start,
                plan,
            }
        })
        .collect()
}
