//! The Teams sink's delivery policy: which Workflow each card goes to (the one the tags name,
//! else the one named like the Slack route, else the default), one paced queue per Workflow.
//! A Workflow cannot edit a posted card: each message is a card of its own, as Slack's webhook
//! mode posts them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Client;
use tokio::time::Instant;

use super::card::Envelope;
use super::client::TeamsWorkflow;
use super::render;
use crate::config::{Config, SecretSetting};
use crate::sinks::pacing::Pacer;
use crate::sinks::parcel::Parcel;
use crate::sinks::retry::{RetryPolicy, SendError};

/// The part name of a Teams card, as the delivery log remembers it.
pub const TEAMS: &str = "teams";

/// What became of one parcel's card.
#[derive(Debug)]
pub enum Delivery {
    /// Posted, or failed.
    Done(Result<(), SendError>),
    /// An earlier delivery of the same event posted it.
    Duplicate,
}

/// The Teams sink: its Workflows, and when each may next be posted to.
pub struct TeamsSink {
    default: Option<TeamsWorkflow>,
    routes: BTreeMap<String, TeamsWorkflow>,
    pacer: Pacer,
}

/// The notice a parcel posts as a card: its own, unless it only completes a posted alert.
fn card_of<'a>(parcel: &Parcel<'a>) -> Option<&'a crate::judge::notice::Notice> {
    parcel.notice.filter(|_| parcel.placement.edit.is_none())
}

/// A queued card: the parcel it is of, the message, the Workflow.
type Queued<'a> = (usize, (Envelope, &'a TeamsWorkflow));

impl TeamsSink {
    /// The sink the configuration turns on (secrets already read); none without a Workflow URL.
    pub fn new(config: &Config, policy: RetryPolicy) -> Option<Self> {
        let workflow = |setting: &SecretSetting| {
            setting
                .value()
                .map(|url| TeamsWorkflow::new(url.clone(), policy))
        };
        let default = config.teams.default.as_ref().and_then(workflow);
        let routes: BTreeMap<String, TeamsWorkflow> = config
            .teams
            .routes
            .iter()
            .filter_map(|(name, setting)| Some((name.clone(), workflow(setting)?)))
            .collect();
        if default.is_none() && routes.is_empty() {
            return None;
        }
        Some(Self {
            default,
            routes,
            pacer: Pacer::default(),
        })
    }

    /// Whether a parcel posts a card here: one with a notice of its own, to a Workflow. A fuller
    /// update of a stop that Slack's app mode edits into the alert it posted posts no second
    /// card (a card cannot be edited).
    pub fn posts(&self, parcel: &Parcel<'_>) -> bool {
        card_of(parcel).is_some() && self.target(parcel).is_some()
    }

    /// The Workflow a parcel's card goes to, and its name (for pacing): the one the tag
    /// `ecs-notifier:teams` names, else the one named like its Slack route, else the default.
    fn target(&self, parcel: &Parcel<'_>) -> Option<(String, &TeamsWorkflow)> {
        let placement = parcel.placement;
        let named = [placement.teams.as_deref(), placement.route.as_deref()];
        for name in named.into_iter().flatten() {
            if let Some(workflow) = self.routes.get(name) {
                return Some((format!("route:{name}"), workflow));
            }
        }
        if let Some(name) = placement.teams.as_deref() {
            tracing::warn!(route = %name, "tag ecs-notifier:teams names a route with no TEAMS_WEBHOOK_URL_<NAME>; using the default Workflow");
        }
        self.default.as_ref().map(|w| ("default".to_string(), w))
    }

    /// The cards of `parcels` in one queue per Workflow; those an earlier delivery posted are
    /// duplicates.
    fn queues<'a>(
        &'a self,
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        results: &mut Vec<(usize, Delivery)>,
    ) -> BTreeMap<String, Vec<Queued<'a>>> {
        let mut queues: BTreeMap<String, Vec<Queued<'a>>> = BTreeMap::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let Some(notice) = card_of(parcel) else {
                continue;
            };
            let Some((destination, workflow)) = self.target(parcel) else {
                continue;
            };
            if already[i].contains(TEAMS) {
                results.push((i, Delivery::Duplicate));
            } else {
                queues
                    .entry(destination)
                    .or_default()
                    .push((i, (render(notice), workflow)));
            }
        }
        queues
    }

    /// Delivers the cards of `parcels`. Cards to one Workflow leave at least `pace` apart, in
    /// order; Workflows are served at once.
    pub async fn deliver(
        &self,
        client: &Client,
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        deadline: Instant,
        pace: Duration,
    ) -> Vec<(usize, Delivery)> {
        let mut results = Vec::new();
        let queues = self.queues(parcels, already, &mut results);
        let sent = self
            .pacer
            .send_all(
                queues,
                pace,
                deadline,
                |_, (envelope, workflow)| async move {
                    workflow.post(client, &envelope, deadline).await
                },
            )
            .await;
        results.extend(sent.into_iter().map(|(i, r)| (i, Delivery::Done(r))));
        results
    }
}
