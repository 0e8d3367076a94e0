//! Recording the stopped runs of jobs tagged `ecs-notifier:expect-every` in the state table, for
//! the missed-run check.

use chrono::Utc;

use super::Notifier;
use crate::config::duration;
use crate::judge::enrichment::Enrichment;
use crate::judge::jobs::expect::{Expect, Spec};
use crate::judge::jobs::{self, Job};
use crate::judge::task::trigger::Trigger;
use crate::judge::Outgoing;
use crate::source::{arn, Envelope, Task};
use crate::state::JobRun;

/// How long a job that stops running stays in the table: three of its intervals, at least.
const JOB_KEEP_MIN: chrono::Duration = chrono::Duration::days(14);

impl Notifier {
    /// Records a stopped run of a job tagged `ecs-notifier:expect-every` in the state table, for
    /// the missed-run check. Problems are logged; the event is delivered regardless.
    pub(super) async fn track_job(
        &self,
        envelope: &Envelope,
        task: &Task,
        enrichment: &Enrichment,
        plan: &Outgoing,
        own_account: Option<&str>,
    ) {
        let Some(table) = &self.table else { return };
        let success = match plan.summary.verdict.as_str() {
            "success" => true,
            "failure" => false,
            _ => return,
        };
        let tags = enrichment.tags();
        let tag = |name: &str| tags.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let Some(value) = tag(jobs::EXPECT_TAG) else {
            return;
        };
        let (family, _) = task.family_revision();
        let spec = match Spec::parse(value) {
            Ok(spec) => spec,
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "tag ecs-notifier:expect-every not understood; the job is not tracked");
                return;
            }
        };
        let (expect, timezone, schedule) = match spec {
            Spec::Fixed(text) => (text, None, None),
            Spec::Schedule { group, name } => {
                let Some(enricher) = &self.enricher else {
                    return;
                };
                let trigger = Trigger::of(task);
                let (name, exact) = match (name, trigger.schedule()) {
                    (Some(name), _) => (name, true),
                    (None, Some(started)) if trigger.kind() == "scheduler" => {
                        (started.to_string(), false)
                    }
                    _ => {
                        tracing::warn!(family, "tag ecs-notifier:expect-every=schedule, but this run was not launched by EventBridge Scheduler; name the schedule (schedule:group/name)");
                        return;
                    }
                };
                match enricher
                    .schedule(
                        envelope,
                        own_account,
                        group.as_deref(),
                        &name,
                        exact,
                        family,
                    )
                    .await
                {
                    Ok(info) => (
                        info.expression.clone(),
                        info.timezone.clone(),
                        Some(info.name.clone()),
                    ),
                    Err(why) => {
                        tracing::warn!(family, schedule = %name, error = %why, "could not read the job's schedule; its run is not recorded");
                        return;
                    }
                }
            }
        };
        let parsed = match Expect::parse(&expect, timezone.as_deref()) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return, // a one-time schedule expects no further run
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "the job's schedule expression is not understood; the job is not tracked");
                return;
            }
        };
        let grace = tag(jobs::GRACE_TAG)
            .and_then(duration::parse)
            .unwrap_or(self.expect_grace);
        let at = task.stopped_at.or(envelope.time).unwrap_or_else(Utc::now);
        let ran = match task.created_at {
            Some(created) if created <= at => at - created,
            _ => chrono::Duration::zero(),
        };
        let keep = parsed
            .due(at, ran, chrono::Duration::zero())
            .map(|due| (due - at) * 3)
            .unwrap_or(JOB_KEEP_MIN)
            .max(JOB_KEEP_MIN);
        let region = if envelope.region.is_empty() {
            task.task_arn
                .as_deref()
                .and_then(arn::region)
                .unwrap_or("")
                .to_string()
        } else {
            envelope.region.clone()
        };
        let run = JobRun {
            job: Job {
                account: envelope.account.clone(),
                region,
                cluster: task.cluster().to_string(),
                family: family.to_string(),
                expect,
                timezone,
                schedule,
                grace,
                first_seen: at,
                last_success: None,
                last_success_ran: chrono::Duration::zero(),
                last_run: None,
                last_result: None,
                tags: tags
                    .iter()
                    .filter(|(k, _)| k.starts_with("ecs-notifier:"))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            at,
            success,
            result: if success {
                "success".into()
            } else {
                plan.summary.cause.clone()
            },
            ran,
            keep_until: at + keep,
        };
        if let Err(err) = table.record_job(&run).await {
            tracing::warn!(family, error = %err, "could not record the job's run in the state table");
        }
    }
}
