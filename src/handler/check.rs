//! The periodic missed-run check: overdue jobs alerted once per missed run, every job's age
//! gauges, what quiet flood windows held back, the summaries of incidents whose window ended,
//! and the digests of archive replays that have stopped arriving.

use chrono::Utc;
use tokio::time::Instant;

use super::{DeliveryError, Notifier, Prepared, Report, SLACK_PACE};
use crate::judge::held_back::{self, HeldBack};
use crate::judge::jobs::{missed_run, Job, Standing};
use crate::judge::measure::Submission;
use crate::judge::place::Place;
use crate::judge::post::Placement;
use crate::judge::Outgoing;
use crate::sinks::retry::SendError;
use crate::source::Envelope;
use crate::state::Table;

impl Notifier {
    /// The periodic missed-run check, as of the scheduled event's time: alerts for each job
    /// whose run is overdue (once per missed run), and the age gauges of every job.
    pub(super) async fn check(
        &self,
        envelope: &Envelope,
        deadline: Instant,
    ) -> Result<Report, DeliveryError> {
        let now = envelope.time.unwrap_or_else(Utc::now);
        let mut report = Report {
            event_id: envelope.id.clone(),
            kind: "check".into(),
            verdict: "checked".into(),
            ..Report::default()
        };
        let Some(table) = &self.table else {
            report.verdict = "skipped".into();
            report.cause = "the missed-run check needs the state table (STATE_TABLE)".into();
            tracing::warn!(event_id = %envelope.id, "{}", report.cause);
            return Ok(report);
        };
        let tracked = self.tracked(table, envelope).await?;
        let (mut missed, standings, _) = missed_run::plan(tracked, now);
        let ages = self
            .place_jobs(&mut missed, &standings, now, deadline)
            .await;
        for (job, standing) in &standings {
            if let Some(problem) = &standing.problem {
                tracing::warn!(family = %job.family, problem = %problem, "a tracked job's expectation is not understood");
            }
        }
        let overdue = missed.len();
        let mut done = self
            .deliver_check(envelope, table, missed, ages, now, deadline)
            .await;
        // Incidents whose window ended: their final summaries.
        let owed = self.owed_in_table(table, now).await;
        let incidents = owed.len();
        if let Some(settings) = self.grouping {
            done.extend(self.tell(owed, Some(table), settings, deadline).await);
        }
        // Archive replays that have stopped arriving: their digests.
        let digests = self.replays_in_table(table).await;
        let replays = digests.len();
        done.extend(self.tell_replays(digests, Some(table), deadline).await);
        report.cause = format!("{} job(s), {overdue} overdue", standings.len());
        if incidents > 0 {
            report
                .cause
                .push_str(&format!(", {incidents} incident summary(ies)"));
        }
        if replays > 0 {
            report
                .cause
                .push_str(&format!(", {replays} replay digest(s)"));
        }
        let failures = tally(&mut report, done);
        tracing::info!(event_id = %envelope.id, jobs = standings.len(), overdue, "missed-run check");
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(DeliveryError {
                event_id: envelope.id.clone(),
                failures,
            })
        }
    }

    /// Where each job runs, named as every event's place is ([`Place`]): in its missed-run
    /// alert (the overdue jobs', in order), and on its gauges, which it returns.
    async fn place_jobs(
        &self,
        missed: &mut [Outgoing],
        standings: &[(Job, Standing)],
        now: chrono::DateTime<Utc>,
        deadline: Instant,
    ) -> Submission {
        let mut ages = Submission::default();
        let mut alerts = missed.iter_mut();
        for pair in standings {
            let (job, standing) = pair;
            let found = match &self.enricher {
                Some(enricher) => enricher.account_name(&job.account, deadline).await,
                None => Ok(None),
            };
            let found = found.ok().flatten();
            let place = Place::new(&job.account, &job.region, found.as_deref(), &self.options);
            // The alerts are the overdue jobs', in the order of the standings.
            let alert = if standing.overdue {
                alerts.next()
            } else {
                None
            };
            if let Some(plan) = alert {
                place.apply(plan.notice.as_mut(), &mut plan.datadog, &mut plan.placement);
            }
            let mut gauges = missed_run::plan_ages(std::slice::from_ref(pair), now);
            place.apply(None, &mut gauges, &mut Placement::default());
            ages.series.extend(gauges.series);
        }
        ages
    }

    /// The jobs the state table tracks that the filter admits. Failing to read them fails the
    /// invocation: the next check would run anyway, but a failing check must show in the
    /// function's error metrics.
    async fn tracked(&self, table: &Table, envelope: &Envelope) -> Result<Vec<Job>, DeliveryError> {
        let tracked = table.jobs().await.map_err(|err| DeliveryError {
            event_id: envelope.id.clone(),
            failures: vec![(
                "state",
                SendError::Exhausted {
                    attempts: 1,
                    last: err.to_string(),
                },
            )],
        })?;
        Ok(tracked
            .into_iter()
            .filter(|job| self.filter.admits(&job.cluster, &job.family))
            .collect())
    }

    /// Delivers the missed-run alerts, the summaries of flood windows that ended holding alerts
    /// back with nothing since (released once Slack has them), and the age gauges.
    async fn deliver_check(
        &self,
        envelope: &Envelope,
        table: &Table,
        missed: Vec<Outgoing>,
        ages: Submission,
        now: chrono::DateTime<Utc>,
        deadline: Instant,
    ) -> Vec<Delivered> {
        let (held, summaries): (Vec<_>, Vec<_>) =
            self.held_back(table, now).await.into_iter().unzip();
        let mut plans = missed;
        let held_from = plans.len();
        plans.extend(summaries);
        if !ages.is_empty() {
            plans.push(Outgoing::metrics_only("check", ages));
        }
        let items = plans
            .into_iter()
            .map(|plan| Prepared::planned(envelope.id.clone(), plan, 0, Vec::new()))
            .collect();
        let done = self.deliver(items, deadline, SLACK_PACE).await;
        for (held, (outcome, _)) in held.iter().zip(&done[held_from..]) {
            let told = outcome.delivered.contains(&"slack") || outcome.duplicate.contains(&"slack");
            if told {
                if let Err(err) = table.release(held).await {
                    tracing::warn!(error = %err, key = %held.key, "could not mark held-back alerts as told");
                }
            }
        }
        done
    }

    /// Flood windows of the state table that ended holding alerts back, each with its summary.
    pub(super) async fn held_back(
        &self,
        table: &Table,
        now: chrono::DateTime<Utc>,
    ) -> Vec<(HeldBack, Outgoing)> {
        let Some(window) = self.flood_window else {
            return Vec::new();
        };
        match table.held_back().await {
            Ok(windows) => windows
                .into_iter()
                .filter(|h| h.since + window <= now)
                .map(|h| {
                    let plan = held_back::plan(&h, window, now);
                    (h, plan)
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read flood windows; held-back alerts wait for the next check");
                Vec::new()
            }
        }
    }
}

/// One delivered plan: its report, and the parts that failed.
type Delivered = (Report, Vec<(&'static str, SendError)>);

/// Adds what was delivered (and already posted) to the check's report, each part once; returns
/// the failures.
fn tally(report: &mut Report, done: Vec<Delivered>) -> Vec<(&'static str, SendError)> {
    let mut failures = Vec::new();
    for (item, failed) in done {
        report.delivered.extend(item.delivered);
        report.duplicate.extend(item.duplicate);
        failures.extend(failed);
    }
    report.delivered.sort();
    report.delivered.dedup();
    report.duplicate.sort();
    report.duplicate.dedup();
    failures
}
