//! The periodic missed-run check: overdue jobs alerted once per missed run, every job's age
//! gauges, what quiet flood windows held back, and the summaries of incidents whose window
//! ended.

use chrono::Utc;
use tokio::time::Instant;

use super::{DeliveryError, Notifier, Prepared, Report, SLACK_PACE};
use crate::judge::held_back::{self, HeldBack};
use crate::judge::jobs::{missed_run, Job};
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
        let tracked = match table.jobs().await {
            Ok(jobs) => jobs,
            Err(err) => {
                // Fail the invocation: the next check would run anyway, but a failing check
                // must show in the function's error metrics.
                return Err(DeliveryError {
                    event_id: envelope.id.clone(),
                    failures: vec![(
                        "state",
                        SendError::Exhausted {
                            attempts: 1,
                            last: err.to_string(),
                        },
                    )],
                });
            }
        };
        let tracked: Vec<Job> = tracked
            .into_iter()
            .filter(|job| self.filter.admits(&job.cluster, &job.family))
            .collect();
        let (missed, standings, ages) = missed_run::plan(tracked, now);
        for (job, standing) in &standings {
            if let Some(problem) = &standing.problem {
                tracing::warn!(family = %job.family, problem = %problem, "a tracked job's expectation is not understood");
            }
        }
        let overdue = missed.len();
        // Flood windows that ended holding alerts back, with nothing since: told now.
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
        // Incidents whose window ended: their final summaries.
        let owed = self.owed_in_table(table, now).await;
        let incidents = owed.len();
        let mut done = done;
        if let Some(settings) = self.grouping {
            done.extend(self.tell(owed, Some(table), settings, deadline).await);
        }
        report.cause = format!("{} job(s), {overdue} overdue", standings.len());
        if incidents > 0 {
            report
                .cause
                .push_str(&format!(", {incidents} incident summary(ies)"));
        }
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
