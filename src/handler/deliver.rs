//! Delivering the prepared events of one invocation together: what this process and the state
//! table already delivered is left out, claims keep two instances from sending the same event,
//! the sinks send the rest, and where alerts landed is remembered.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::log::log_event;
use super::{Notifier, Prepared, Report, CLAIM_WAIT};
use crate::judge::post::Posted;
use crate::judge::Outgoing;
use crate::sinks::retry::SendError;
use crate::sinks::{Outcome, Parcel, SLACK};
use crate::state::memory::lock;
use crate::state::Claim;

impl Notifier {
    /// Delivers prepared events together; returns each one's report and failures, logging one
    /// line per event.
    pub(super) async fn deliver(
        &self,
        items: Vec<Prepared>,
        deadline: Instant,
        pace: Duration,
    ) -> Vec<(Report, Vec<(&'static str, SendError)>)> {
        let planned: Vec<(usize, &Outgoing)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((i, item.plan.as_ref()?)))
            .collect();
        let plans: Vec<&Outgoing> = planned.iter().map(|(_, p)| *p).collect();
        let outcomes = self.send(&plans, deadline, pace).await;
        let mut by_item: Vec<Option<Outcome>> = items.iter().map(|_| None).collect();
        for ((i, _), outcome) in planned.iter().zip(outcomes) {
            by_item[*i] = Some(outcome);
        }
        let posted_stops: Vec<(&Prepared, &Outcome)> = items
            .iter()
            .zip(&by_item)
            .filter_map(|(item, outcome)| Some((item, outcome.as_ref()?)))
            .filter(|(item, outcome)| item.stop.is_some() && outcome.posted.is_some())
            .collect();
        self.remember_stops(&posted_stops).await;
        let with_buttons: Vec<(&Prepared, &Outcome)> = items
            .iter()
            .zip(&by_item)
            .filter_map(|(item, outcome)| Some((item, outcome.as_ref()?)))
            .filter(|(item, _)| item.alert.is_some())
            .collect();
        self.remember_alerts(&with_buttons).await;
        items
            .into_iter()
            .zip(by_item)
            .map(|(item, outcome)| report(item, outcome.unwrap_or_default()))
            .collect()
    }

    /// Sends the plans' parcels: what this process or another instance delivered before is
    /// left out, claims are taken and settled, and where messages landed is remembered.
    async fn send(&self, plans: &[&Outgoing], deadline: Instant, pace: Duration) -> Vec<Outcome> {
        let mut already: Vec<BTreeSet<&'static str>> = {
            let log = lock(&self.log);
            plans
                .iter()
                .map(|p| log.delivered(&p.dedupe_keys))
                .collect()
        };
        let threads = self.threads_of(plans).await;
        let parcels: Vec<Parcel<'_>> = plans
            .iter()
            .zip(&threads)
            .map(|(plan, thread)| {
                let mut parcel = parcel(plan);
                // A reply with nothing to reply to (or no app mode to reply in) posts nothing.
                if plan.placement.reply_only && (thread.is_none() || !self.sinks.is_app()) {
                    parcel.notice = None;
                }
                parcel
            })
            .collect();
        // The same event twice in one batch (at-least-once delivery into the queue): the first
        // copy delivers, the others are duplicates of it.
        let mut identities = std::collections::HashSet::new();
        for (k, plan) in plans.iter().enumerate() {
            if let Some(identity) = plan.dedupe_keys.last() {
                if !identities.insert(identity.as_str()) {
                    already[k].extend(self.sinks.parts(&parcels[k]));
                }
            }
        }
        let (mine, blocked) = self.claim(plans, &parcels, &mut already, deadline).await;
        let mut outcomes = self
            .sinks
            .deliver(&parcels, &already, &threads, deadline, pace)
            .await;
        for (outcome, parts) in outcomes.iter_mut().zip(&blocked) {
            for part in parts {
                outcome.duplicate.retain(|p| p != part);
                outcome.failures.push((
                    part,
                    SendError::Exhausted {
                        attempts: 0,
                        last: "another instance has been delivering this event; retry later".into(),
                    },
                ));
            }
        }
        self.remember_threads(plans, &threads, &outcomes).await;
        self.settle_claims(plans, &mine, &outcomes).await;
        let mut log = lock(&self.log);
        for (plan, outcome) in plans.iter().zip(&outcomes) {
            for part in &outcome.delivered {
                log.record(&plan.dedupe_keys, part);
            }
        }
        outcomes
    }

    /// Claims in the state table each event this instance is about to send parts of. Parts
    /// some instance delivered before join `already`. An event another instance is delivering
    /// right now (a concurrent duplicate) is waited for briefly and claimed once it is free; if
    /// it stays busy, its parts are returned as blocked: they fail here, and the retry finds
    /// them delivered, or takes the claim over once the other instance's deadline has passed.
    /// Returns, per plan, whether this instance holds its claim, and the blocked parts.
    pub(super) async fn claim(
        &self,
        plans: &[&Outgoing],
        parcels: &[Parcel<'_>],
        already: &mut [BTreeSet<&'static str>],
        deadline: Instant,
    ) -> (Vec<bool>, Vec<Vec<&'static str>>) {
        let mut mine = vec![false; plans.len()];
        let mut blocked: Vec<Vec<&'static str>> = plans.iter().map(|_| Vec::new()).collect();
        let Some(table) = &self.table else {
            return (mine, blocked);
        };
        let wanted: Vec<(usize, &str, Vec<&'static str>)> = plans
            .iter()
            .enumerate()
            .filter_map(|(k, plan)| {
                let identity = plan.dedupe_keys.last()?;
                let parts: Vec<&'static str> = self
                    .sinks
                    .parts(&parcels[k])
                    .into_iter()
                    .filter(|p| !already[k].contains(p))
                    .collect();
                (!parts.is_empty()).then_some((k, identity.as_str(), parts))
            })
            .collect();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let until = Utc::now()
            + chrono::Duration::from_std(remaining).unwrap_or(chrono::Duration::seconds(30));
        let wait_until = (Instant::now() + CLAIM_WAIT).min(deadline);
        let mut pending = wanted;
        loop {
            let now = Utc::now();
            let answers = futures::future::join_all(
                pending
                    .iter()
                    .map(|(_, identity, _)| table.claim(identity, now, until)),
            )
            .await;
            let mut busy = Vec::new();
            for ((k, identity, parts), answer) in pending.into_iter().zip(answers) {
                match answer {
                    Ok(Claim::Mine { sent }) => {
                        mine[k] = true;
                        for part in parts {
                            if sent.contains(part) {
                                already[k].insert(part);
                            }
                        }
                    }
                    Ok(Claim::Elsewhere) => busy.push((k, identity, parts)),
                    Err(err) => {
                        tracing::warn!(error = %err, "state table unavailable; delivering without cross-instance deduplication")
                    }
                }
            }
            if busy.is_empty() || Instant::now() >= wait_until {
                for (k, _, parts) in busy {
                    for part in parts {
                        already[k].insert(part);
                        blocked[k].push(part);
                    }
                }
                return (mine, blocked);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            pending = busy;
        }
    }

    /// Where each deployment plan's shared Slack message is, if it was posted before.
    pub(super) async fn threads_of(&self, plans: &[&Outgoing]) -> Vec<Option<Posted>> {
        let mut out = Vec::new();
        for plan in plans {
            let placement = &plan.placement;
            let Some(id) = placement.thread.as_ref().or(placement.reply_to.as_ref()) else {
                out.push(None);
                continue;
            };
            let local = lock(&self.threads).get(id);
            let found = match (&self.table, local) {
                (_, Some(posted)) => Some(posted),
                (Some(table), None) => table.thread(id).await.unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "state table unavailable; a deployment may get a second message");
                    None
                }),
                (None, None) => None,
            };
            out.push(found);
        }
        out
    }

    /// Remembers where deployment messages, and messages later ones reply to, were posted (in
    /// memory, and in the table).
    pub(super) async fn remember_threads(
        &self,
        plans: &[&Outgoing],
        before: &[Option<Posted>],
        outcomes: &[Outcome],
    ) {
        for ((plan, before), outcome) in plans.iter().zip(before).zip(outcomes) {
            let Some(posted) = &outcome.posted else {
                continue;
            };
            let keys = plan
                .placement
                .thread
                .iter()
                .chain(&plan.placement.remember_as);
            for id in keys {
                if plan.placement.thread.as_ref() == Some(id) && before.as_ref() == Some(posted) {
                    continue;
                }
                lock(&self.threads).insert(id.clone(), posted.clone());
                if let Some(table) = &self.table {
                    if let Err(err) = table.set_thread(id, posted, Utc::now()).await {
                        tracing::warn!(error = %err, "could not record where a message is in the state table");
                    }
                }
            }
        }
    }

    /// Remembers where the alert of each owned stop landed (app mode), and what the event that
    /// posted or completed it told, so only a fuller update completes it again.
    pub(super) async fn remember_stops(&self, items: &[(&Prepared, &Outcome)]) {
        for (item, outcome) in items {
            let (Some(key), Some(posted)) = (&item.stop, &outcome.posted) else {
                continue;
            };
            if !outcome.delivered.contains(&SLACK) {
                continue;
            }
            let posted = item
                .plan
                .as_ref()
                .and_then(|p| p.placement.edit.clone())
                .unwrap_or_else(|| posted.clone());
            {
                let mut stops = lock(&self.stops);
                let mut record = stops.get(&key.task_arn).unwrap_or_else(|| key.record());
                record.posted = Some(posted.clone());
                record.score = record.score.max(key.score);
                stops.insert(key.task_arn.clone(), record);
            }
            if let Some(table) = &self.table {
                if let Err(err) = table
                    .set_stop_alert(&key.task_arn, &posted, key.score)
                    .await
                {
                    tracing::warn!(error = %err, "could not record where the stop's alert is in the state table");
                }
            }
        }
    }

    /// Ends this instance's claims, recording what it delivered.
    pub(super) async fn settle_claims(
        &self,
        plans: &[&Outgoing],
        mine: &[bool],
        outcomes: &[Outcome],
    ) {
        let Some(table) = &self.table else { return };
        let work = plans.iter().zip(mine).zip(outcomes).filter_map(|((plan, mine), outcome)| {
            let identity = plan.dedupe_keys.last().filter(|_| *mine)?;
            Some(async move {
                if let Err(err) = table.finish(identity, &outcome.delivered).await {
                    tracing::warn!(error = %err, "could not record the delivery in the state table");
                }
            })
        });
        futures::future::join_all(work).await;
    }
}

/// What the fan-out needs of an outgoing: its notice and where it goes, its measurements.
fn parcel(plan: &Outgoing) -> Parcel<'_> {
    Parcel {
        notice: plan.notice.as_ref(),
        placement: &plan.placement,
        loud: plan.loud(),
        datadog: &plan.datadog,
    }
}

/// An event's report with what its delivery did, logged in one line.
fn report(item: Prepared, outcome: Outcome) -> (Report, Vec<(&'static str, SendError)>) {
    let mut report = item.report;
    report.delivered = outcome.delivered;
    report.duplicate = outcome.duplicate;
    log_event(
        &item.event_id,
        &report,
        item.plan.as_ref(),
        item.enrich_ms,
        &item.not_enriched,
        &outcome.failures,
    );
    (report, outcome.failures)
}
