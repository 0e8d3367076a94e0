//! Preparing one event for delivery: decoded, filtered, its stop claimed (later STOPPED updates
//! of a task are dropped before any API call), enriched, judged, and flood-gated.

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

    /// Filters, enriches and plans one decoded event; its report carries what decoding had to
    /// drop or coerce.
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

    async fn prepare_decoded(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let skipped = |kind: &str, cause: String| Prepared {
            event_id: event_id.clone(),
            plan: None,
            report: Report {
                event_id: event_id.clone(),
                kind: kind.into(),
                verdict: "skipped".into(),
                cause,
                ..Report::default()
            },
            enrich_ms: 0,
            not_enriched: Vec::new(),
            stop: None,
            group_key: None,
        };
        let event = match event {
            Ok(Event::Check(_)) => {
                return skipped(
                    "check",
                    "a missed-run check runs only when invoked directly".into(),
                )
            }
            Ok(event) => event,
            Err(err) => return skipped("invalid", err.to_string()),
        };
        let (cluster, name) = event.scope();
        if !self.filter.admits(&cluster, &name) {
            return skipped("filtered", format!("{cluster}/{name}"));
        }
        // One stop, one alert: a task's later STOPPED updates post and count nothing, before
        // any API call is spent on them.
        let stop = match &event {
            Event::Task(envelope, task) => StopKey::of(envelope, task),
            _ => None,
        };
        let mut completing = None;
        if let Some(key) = &stop {
            if let Standing::Superseded(record) = self.own_stop(key).await {
                let why = stops::superseded(&record, key);
                if !(self.sinks.is_app() && stops::completes(&record, key)) {
                    return Prepared {
                        report: Report {
                            event_id: event_id.clone(),
                            kind: "task".into(),
                            verdict: "superseded".into(),
                            cause: why,
                            ..Report::default()
                        },
                        event_id,
                        plan: None,
                        enrich_ms: 0,
                        not_enriched: Vec::new(),
                        stop: None,
                        group_key: None,
                    };
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
            // The fuller update edits the alert already posted: nothing new is posted or counted.
            plan.placement.edit = record.posted.clone();
            plan.datadog = Default::default();
            plan.flood_key = None;
            plan.placement.thread = None;
            plan.placement.thread_notice = None;
            plan.dedupe_keys = vec![format!("complete:{}", event_id)];
            let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
            prepared.report.verdict = "superseded".into();
            prepared.report.cause = format!("{why}; its alert is completed in place");
            prepared.stop = stop;
            return prepared;
        }
        if let Event::Task(envelope, task) = &event {
            self.track_job(envelope, task, &enrichment, &plan, own_account)
                .await;
        }
        let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
        prepared.stop = stop;
        prepared
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
