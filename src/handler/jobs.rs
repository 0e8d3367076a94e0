//! Recording the stopped runs of jobs tagged `ecs-notifier:expect-every` in the state table, for
//! the missed-run check.

use chrono::{DateTime, Utc};

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

/// What a job's tag expects of it: the interval or schedule expression, its time zone, and
/// the schedule it was read from.
struct Expectation {
    expect: String,
    timezone: Option<String>,
    schedule: Option<String>,
}

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
        let Some((expectation, parsed)) =
            self.expectation(value, envelope, task, own_account).await
        else {
            return;
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
        let run = JobRun {
            job: job(envelope, task, expectation, grace, at, &tags),
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

    /// What the tag's `value` expects of the job, read (a schedule's expression looked up);
    /// `None`, logged, when it cannot be understood or expects no further run.
    async fn expectation(
        &self,
        value: &str,
        envelope: &Envelope,
        task: &Task,
        own_account: Option<&str>,
    ) -> Option<(Expectation, Expect)> {
        let (family, _) = task.family_revision();
        let spec = match Spec::parse(value) {
            Ok(spec) => spec,
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "tag ecs-notifier:expect-every not understood; the job is not tracked");
                return None;
            }
        };
        let expectation = match spec {
            Spec::Fixed(text) => Expectation {
                expect: text,
                timezone: None,
                schedule: None,
            },
            Spec::Schedule { group, name } => {
                self.schedule_expectation(group.as_deref(), name, envelope, task, own_account)
                    .await?
            }
        };
        match Expect::parse(&expectation.expect, expectation.timezone.as_deref()) {
            Ok(Some(parsed)) => Some((expectation, parsed)),
            Ok(None) => None, // a one-time schedule expects no further run
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "the job's schedule expression is not understood; the job is not tracked");
                None
            }
        }
    }

    /// The expression of the EventBridge Scheduler schedule named (else the one that launched
    /// the run); `None`, logged, when there is none or it cannot be read.
    async fn schedule_expectation(
        &self,
        group: Option<&str>,
        name: Option<String>,
        envelope: &Envelope,
        task: &Task,
        own_account: Option<&str>,
    ) -> Option<Expectation> {
        let enricher = self.enricher.as_ref()?;
        let (family, _) = task.family_revision();
        let trigger = Trigger::of(task);
        let (name, exact) = match (name, trigger.schedule()) {
            (Some(name), _) => (name, true),
            (None, Some(started)) if trigger.kind() == "scheduler" => (started.to_string(), false),
            _ => {
                tracing::warn!(family, "tag ecs-notifier:expect-every=schedule, but this run was not launched by EventBridge Scheduler; name the schedule (schedule:group/name)");
                return None;
            }
        };
        match enricher
            .schedule(envelope, own_account, group, &name, exact, family)
            .await
        {
            Ok(info) => Some(Expectation {
                expect: info.expression.clone(),
                timezone: info.timezone.clone(),
                schedule: Some(info.name.clone()),
            }),
            Err(why) => {
                tracing::warn!(family, schedule = %name, error = %why, "could not read the job's schedule; its run is not recorded");
                None
            }
        }
    }
}

/// The job a run describes, first seen at `at`, with its `ecs-notifier:` tags.
fn job(
    envelope: &Envelope,
    task: &Task,
    expectation: Expectation,
    grace: chrono::Duration,
    at: DateTime<Utc>,
    tags: &[(&str, &str)],
) -> Job {
    let (family, _) = task.family_revision();
    let region = if envelope.region.is_empty() {
        task.task_arn
            .as_deref()
            .and_then(arn::region)
            .unwrap_or("")
            .to_string()
    } else {
        envelope.region.clone()
    };
    Job {
        account: envelope.account.clone(),
        region,
        cluster: task.cluster().to_string(),
        family: family.to_string(),
        expect: expectation.expect,
        timezone: expectation.timezone,
        schedule: expectation.schedule,
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
    }
}
