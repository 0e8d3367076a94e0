//! The EventBridge Scheduler schedule of a job (`GetSchedule`, or `ListSchedules` by the prefix
//! `startedBy` keeps), for missed-run checks; cached for ten minutes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::budget::{why, within, Why};
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
    ) -> Result<Arc<ScheduleInfo>, Why> {
        let get = |group: Option<String>, name: String| async move {
            let op = "scheduler:GetSchedule";
            within(deadline, op, async {
                scheduler
                    .get_schedule()
                    .name(name)
                    .set_group_name(group)
                    .send()
                    .await
                    .map_err(|e| why(op, &e))
            })
            .await
        };
        let runs_family = |out: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput| {
            out.target()
                .and_then(|t| t.ecs_parameters())
                .map(|p| arn::family_revision(p.task_definition_arn()).0 == family)
                .unwrap_or(false)
        };
        let found = if exact {
            get(group.map(str::to_string), name.to_string()).await?
        } else {
            let op = "scheduler:ListSchedules";
            let listed = within(deadline, op, async {
                scheduler
                    .list_schedules()
                    .name_prefix(name)
                    .set_group_name(group.map(str::to_string))
                    .max_results(SCHEDULE_CANDIDATES as i32)
                    .send()
                    .await
                    .map_err(|e| why(op, &e))
            })
            .await?;
            let mut found = None;
            for summary in listed.schedules().iter().take(SCHEDULE_CANDIDATES) {
                let Some(candidate) = summary.name() else {
                    continue;
                };
                let out = get(
                    summary.group_name().map(str::to_string),
                    candidate.to_string(),
                )
                .await?;
                if runs_family(&out) {
                    found = Some(out);
                    break;
                }
            }
            found.ok_or_else(|| {
                format!("{op}: no schedule named {name}… runs task definition {family}")
            })?
        };
        let expression = found
            .schedule_expression()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| "scheduler:GetSchedule: the schedule has no expression".to_string())?;
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
