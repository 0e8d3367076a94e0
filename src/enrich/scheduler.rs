//! The EventBridge Scheduler schedule of a job (`GetSchedule`, or `ListSchedules` by the prefix
//! `startedBy` keeps), for missed-run checks; cached for ten minutes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use tokio::time::Instant;

use super::budget::{within, LookupError};
use crate::source::arn;
use crate::state::memory::{lock, Cache};

/// An EventBridge Scheduler schedule's timing, for missed-run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// `group/name`.
    pub name: String,
    /// `rate(1 hour)`, `cron(0 3 * * ? *)`, `at(...)`.
    pub expression: String,
    /// `ScheduleExpressionTimezone`, when set.
    pub timezone: Option<String>,
}

/// Schedules read per lookup of a schedule by the prefix of its name.
const SCHEDULE_CANDIDATES: usize = 10;
/// How long a schedule's expression is trusted before it is read again.
const SCHEDULE_TTL: Duration = Duration::from_secs(600);

/// The schedule lookups and their cache.
pub struct Schedules {
    cache: Mutex<Cache<Arc<ScheduleInfo>>>,
}

impl Default for Schedules {
    fn default() -> Self {
        Self {
            cache: Mutex::new(Cache::new(256, Some(SCHEDULE_TTL))),
        }
    }
}

impl Schedules {
    /// The cached schedule known by `key`.
    pub fn cached(&self, key: &str) -> Option<Arc<ScheduleInfo>> {
        lock(&self.cache).get(key)
    }

    /// The EventBridge Scheduler schedule of a job: the one named `name` in `group` (`exact`),
    /// or the one whose name starts with `name` (ECS cuts `startedBy` to 36 characters) and
    /// whose ECS target runs the task definition `family`; remembered under `key`.
    #[allow(clippy::too_many_arguments)]
    pub async fn find(
        &self,
        scheduler: &aws_sdk_scheduler::Client,
        key: String,
        group: Option<&str>,
        name: &str,
        exact: bool,
        family: &str,
        deadline: Instant,
    ) -> Result<Arc<ScheduleInfo>, LookupError> {
        let group = group.map(str::to_string);
        let found = if exact {
            get(scheduler, group, name.to_string(), deadline).await?
        } else {
            by_prefix(scheduler, group, name, family, deadline).await?
        };
        let expression = found
            .schedule_expression()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                LookupError::missing("scheduler:GetSchedule", "the schedule has no expression")
            })?;
        let info = Arc::new(ScheduleInfo {
            name: format!(
                "{}/{}",
                found.group_name().unwrap_or("default"),
                found.name().unwrap_or(name)
            ),
            expression: expression.to_string(),
            timezone: found
                .schedule_expression_timezone()
                .filter(|tz| !tz.is_empty())
                .map(str::to_string),
        });
        lock(&self.cache).insert(key, info.clone());
        Ok(info)
    }
}

/// GetSchedule: the schedule `name` of `group` (the default group without one).
async fn get(
    scheduler: &aws_sdk_scheduler::Client,
    group: Option<String>,
    name: String,
    deadline: Instant,
) -> Result<GetScheduleOutput, LookupError> {
    let op = "scheduler:GetSchedule";
    within(deadline, op, async {
        scheduler
            .get_schedule()
            .name(name)
            .set_group_name(group)
            .send()
            .await
            .map_err(|e| LookupError::failed(op, &e))
    })
    .await
}

/// The first of the schedules whose names start with `prefix` (ListSchedules, a few at most)
/// whose ECS target runs the task definition `family`.
async fn by_prefix(
    scheduler: &aws_sdk_scheduler::Client,
    group: Option<String>,
    prefix: &str,
    family: &str,
    deadline: Instant,
) -> Result<GetScheduleOutput, LookupError> {
    let op = "scheduler:ListSchedules";
    let listed = within(deadline, op, async {
        scheduler
            .list_schedules()
            .name_prefix(prefix)
            .set_group_name(group)
            .max_results(SCHEDULE_CANDIDATES as i32)
            .send()
            .await
            .map_err(|e| LookupError::failed(op, &e))
    })
    .await?;
    for summary in listed.schedules().iter().take(SCHEDULE_CANDIDATES) {
        let Some(candidate) = summary.name() else {
            continue;
        };
        let group = summary.group_name().map(str::to_string);
        let out = get(scheduler, group, candidate.to_string(), deadline).await?;
        if runs_family(&out, family) {
            return Ok(out);
        }
    }
    Err(LookupError::missing(
        op,
        format!("no schedule named {prefix}… runs task definition {family}"),
    ))
}

/// Whether the schedule's ECS target runs the task definition `family`.
fn runs_family(out: &GetScheduleOutput, family: &str) -> bool {
    out.target()
        .and_then(|t| t.ecs_parameters())
        .map(|p| arn::family_revision(p.task_definition_arn()).0 == family)
        .unwrap_or(false)
}
