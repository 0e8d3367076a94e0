//! Preparing one event for delivery: decoded, filtered, its stop claimed (later STOPPED updates
//! of a task are dropped before any API call), enriched, judged, and flood-gated (an archive
//! replay's events go to their replay's digest instead).

use chrono::Utc;
use tokio::time::Instant;

use super::{Notifier, Prepared, Report};
use crate::judge::enrichment::Enrichment;
use crate::judge::flood::{admit, Admission};
use crate::judge::judge;
use crate::judge::stops::{self, Standing, StopKey};
use crate::source::{DecodeError, Event};
use crate::state::memory::lock;

impl Notifier {
    /// Filters, enriches, plans and flood-gates one decoded event.
    pub(super) async fn prepare(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let mut item = self.prepare_unflooded(event_id, event, own_account).await;
        self.gate(&mut item).await;
        self.refresh_grouped(std::slice::from_mut(&mut item));
        item
    }

    /// Filters, enriches and plans one decoded event (flood control aside); its report carries
    /// what decoding had to drop or coerce.
    pub(super) async fn prepare_unflooded(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let warnings = match &event {
            Ok(event) => event.warnings().iter().map(ToString::to_string).collect(),
            Err(_) => Vec::new(),
        };
        let mut prepared = self.prepare_decoded(event_id, event, own_account).await;
        prepared.report.decode_warnings = warnings;
        prepared
    }

    /// Filters, enriches and plans one decoded event: a later STOPPED update of a task posts and
    /// counts nothing (or, in app mode, completes the alert in place when it tells more).
    async fn prepare_decoded(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let event = match self.admit(event) {
            Ok(event) => event,
            Err((kind, why)) => return dropped(&event_id, kind, "skipped", why),
        };
        // One stop, one alert: a task's later STOPPED updates post and count nothing, before
        // any API call is spent on them.
        let stop = event.stop_key();
        let replay = event.envelope().replay_name.clone();
        let mut completing = None;
        if let Some(key) = &stop {
            if let Standing::Superseded(record) = self.own_stop(key).await {
                let why = stops::superseded(&record, key);
                // A replay's update never completes an alert in place: it tells nothing new.
                if replay.is_some() || !(self.sinks.is_app() && stops::completes(&record, key)) {
                    return dropped(&event_id, "task", "superseded", why);
                }
                completing = Some((record, why));
            }
        }
        let started = Instant::now();
        let enrichment = match &self.enricher {
            // Boxed: the enrichment future is deep, and its size would bloat every invocation.
            Some(enricher) => Box::pin(enricher.enrich(&event, own_account)).await,
            None => Enrichment::default(),
        };
        let enrich_ms = started.elapsed().as_millis() as u64;
        let mut plan = judge(&event, &enrichment, &self.options, Utc::now());
        if let Some((record, why)) = completing {
            plan.complete_in_place(record.posted.clone(), &event_id);
            let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
            prepared.report.verdict = "superseded".into();
            prepared.report.cause = format!("{why}; its alert is completed in place");
            prepared.stop = stop;
            return prepared;
        }
        if let (Event::Task(envelope, task), None) = (&event, &replay) {
            self.track_job(envelope, task, &enrichment, &plan, own_account)
                .await;
        }
        let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
        prepared.stop = stop;
        prepared.replay = replay;
        prepared
    }

    /// The event, if this function handles it: not a check (those run when invoked directly),
    /// decoded, and admitted by the filter; else what it is and why it is skipped.
    fn admit(&self, event: Result<Event, DecodeError>) -> Result<Event, (&'static str, String)> {
        let event = match event {
            Ok(Event::Check(_)) => {
                let why = "a missed-run check runs only when invoked directly";
                return Err(("check", why.into()));
            }
            Ok(event) => event,
            Err(err) => return Err(("invalid", err.to_string())),
        };
        let (cluster, name) = event.scope();
        if !self.filter.admits(&cluster, &name) {
            return Err(("filtered", format!("{cluster}/{name}")));
        }
        Ok(event)
    }

    /// Where a STOPPED event stands against the stops already seen: in this process, and
    /// across instances through the state table (the first event to write wins).
    pub(super) async fn own_stop(&self, key: &StopKey) -> Standing {
        let local = {
            let mut stops = lock(&self.stops);
            let known = stops.get(&key.task_arn);
            if known.is_none() {
                stops.insert(key.task_arn.clone(), key.record());
            }
            known
        };
        let standing = Standing::of(local.as_ref(), key);
        if matches!(standing, Standing::Superseded(_)) {
            return standing;
        }
        if let Some(table) = &self.table {
            match table.own_stop(key, Utc::now()).await {
                Ok(record) => {
                    let standing = Standing::of(Some(&record), key);
                    lock(&self.stops).insert(key.task_arn.clone(), record);
                    if matches!(standing, Standing::Superseded(_)) {
                        return standing;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "state table unavailable; task stops deduplicated per process")
                }
            }
        }
        standing
    }

    /// Flood control: holds back repeats of an alert within the window (shared through the
    /// state table when there is one; per process otherwise, or when the table fails).
    pub(super) async fn gate(&self, item: &mut Prepared) {
        // An archive replay's events: to its digest, nowhere else.
        if item.replay.is_some() {
            return self.replay_gate(item).await;
        }
        // An incident's failures first: grouped ones are not flood-controlled one by one.
        self.group_gate(item).await;
        let (Some(window), Some(plan)) = (self.flood_window, item.plan.as_mut()) else {
            return;
        };
        let Some(key) = plan.flood_key.clone() else {
            return;
        };
        if plan.notice.is_none() {
            return;
        }
        let identity = plan.dedupe_keys.last().cloned().unwrap_or_default();
        let at = plan.at.unwrap_or_else(Utc::now);
        let shared = match &self.table {
            Some(table) => match table
                .flood(
                    &key,
                    &identity,
                    at,
                    window,
                    (
                        plan.placement.route.as_deref(),
                        plan.placement.channel.as_deref(),
                    ),
                )
                .await
            {
                Ok(admission) => Some(admission),
                Err(err) => {
                    tracing::warn!(error = %err, "state table unavailable; flood control per process");
                    None
                }
            },
            None => None,
        };
        let admission = shared.unwrap_or_else(|| {
            let mut floods = lock(&self.floods);
            let (admission, next) = admit(floods.get(&key).as_ref(), &identity, at, window);
            if let Some(state) = next {
                floods.insert(key, state);
            }
            admission
        });
        plan.apply_flood(admission);
        item.report.flood = match admission {
            Admission::Alert => None,
            Admission::Suppress => Some("suppressed"),
            Admission::Summary { .. } => Some("summary"),
        };
    }
}

/// An event that sends nothing: skipped (not handled, filtered) or superseded, and why.
fn dropped(event_id: &str, kind: &str, verdict: &str, cause: String) -> Prepared {
    Prepared {
        event_id: event_id.to_string(),
        plan: None,
        report: Report {
            event_id: event_id.to_string(),
            kind: kind.into(),
            verdict: verdict.into(),
            cause,
            ..Report::default()
        },
        enrich_ms: 0,
        not_enriched: Vec::new(),
        stop: None,
        group_key: None,
        replay: None,
    }
}
