//! What a run of `render` remembers across its files: the stops it has seen, its incident groups.

use std::collections::HashMap;

use crate::judge::group::{self, GroupState, Grouping};
use crate::judge::outgoing::GroupCandidate;
use crate::judge::stops::StopRecord;
use crate::judge::Outgoing;
use crate::sinks::slack::{render, Message};

/// What a run of `render` remembers across its files, as a warm function does: the task stops
/// it has seen (a later STOPPED update of a task shows as superseded) and its incident groups
/// (the failures past the threshold show as grouped).
#[derive(Debug, Default)]
pub struct Ledger {
    pub(super) stops: HashMap<String, StopRecord>,
    groups: Vec<(String, GroupState)>,
    grouping: Option<Grouping>,
    /// How many events could not be read as an event this function handles.
    pub(super) unreadable: usize,
}

impl Ledger {
    /// A ledger that groups incidents with `grouping` (`None`: not at all).
    pub fn new(grouping: Option<Grouping>) -> Self {
        Ledger {
            grouping,
            ..Ledger::default()
        }
    }

    /// Admits `plan`'s failure into its group, as the function does in webhook mode.
    pub(super) fn group(&mut self, plan: &mut Outgoing) {
        let Some(settings) = self.grouping else {
            return;
        };
        let Some(candidate) = plan.group_candidate() else {
            return;
        };
        let GroupCandidate {
            about,
            key,
            destination,
            event,
            at,
        } = candidate;
        let known = self.groups.iter().position(|(k, _)| *k == key);
        let state = known.map(|i| &self.groups[i].1);
        let (admission, next) = group::admit(state, &about, destination, &event, at, settings);
        let Some(next) = next else {
            return;
        };
        plan.apply_group(&key, &next, settings, admission, false);
        match known {
            Some(i) => self.groups[i].1 = next,
            None => self.groups.push((key, next)),
        }
    }

    /// Each group that grouped failures, with its grouped message as it stands now (what app
    /// mode shows after its edits).
    pub fn grouped(&self) -> Vec<(&str, Message)> {
        let Some(settings) = self.grouping else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter(|(_, g)| g.opened_with > 0)
            .map(|(key, g)| {
                (
                    key.as_str(),
                    render(&group::notice(g, settings.window, false)),
                )
            })
            .collect()
    }
}
