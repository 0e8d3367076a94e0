//! The verdict on a stopped task: failure, expected stop or success, the named cause, and which
//! containers broke and which ECS stopped after them.

use crate::judge::enrichment::Enrichment;
use crate::source::Task;

use super::cause::{exit_meaning, Cause};
use super::causes::{self, Explanation, Facts};
use super::durations::Durations;
use super::trigger::Trigger;

/// How a stopped task ended, as the `result` tag and the alerting decision see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Something broke: alert.
    Failure,
    /// ECS or a person asked the task to stop, and it stopped cleanly: no alert.
    Expected,
    /// A job ran to completion: no alert unless asked for.
    Success,
}

impl Outcome {
    /// The value of the Datadog `result` tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failure => "failure",
            Outcome::Expected => "expected",
            Outcome::Success => "success",
        }
    }
}

/// A container that exited with a non-zero code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedContainer {
    pub name: String,
    pub exit_code: i64,
    pub reason: Option<String>,
}

impl FailedContainer {
    fn is_oom(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("OutOfMemoryError"))
    }

    /// Whether the exit is what ECS's stop does to a container: SIGTERM (143), or SIGKILL (137)
    /// once the stop timeout ran out, as opposed to an out-of-memory kill.
    pub fn stopped_by_signal(&self) -> bool {
        self.exit_code == 143 || (self.exit_code == 137 && !self.is_oom())
    }

    /// What the exit code means, when it means something in particular.
    pub fn meaning(&self) -> Option<&'static str> {
        let oom = self
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("OutOfMemoryError"));
        if oom && self.exit_code == 137 {
            return Some("killed (SIGKILL) for exceeding its memory limit");
        }
        exit_meaning(self.exit_code)
    }
}

/// Everything concluded about a stopped task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskVerdict {
    pub outcome: Outcome,
    pub cause: Cause,
    pub trigger: Trigger,
    pub durations: Durations,
    /// Every container that exited non-zero, in event order.
    pub failed_containers: Vec<FailedContainer>,
    /// The containers whose own exit took the task down: a non-zero exit other than ECS's
    /// SIGTERM (143) or SIGKILL after the stop timeout (137), or an out-of-memory kill.
    pub culprits: Vec<String>,
    /// The catalogue entry that explains the stop, and what it names.
    pub explanation: Explanation,
    /// For a job that succeeded: the containers taken for sidecars, and how it knew (for the
    /// log line).
    pub sidecars: Vec<String>,
}

impl TaskVerdict {
    /// The containers ECS stopped once `culprits` had taken the task down: failed containers
    /// that exited 143 (SIGTERM) or 137 without running out of memory (SIGKILL after their
    /// stop timeout). None when no container is to blame.
    pub fn stopped_by_ecs<'a>(&'a self, culprits: &[&str]) -> Vec<&'a FailedContainer> {
        if culprits.is_empty() {
            return Vec::new();
        }
        self.failed_containers
            .iter()
            .filter(|c| !culprits.contains(&c.name.as_str()) && c.stopped_by_signal())
            .collect()
    }
}

/// Whether a family's stop is a failure, an expected stop or a success. Capacity that AWS
/// took back (Spot, draining, maintenance) and a stop timeout are churn for a service, which
/// replaces the task, and a lost run for a job.
fn outcome_of(family: Cause, service: bool) -> Outcome {
    match family {
        Cause::Completed => Outcome::Success,
        Cause::Deployment | Cause::UserStop | Cause::Scheduler => Outcome::Expected,
        Cause::SpotInterruption
        | Cause::InstanceDraining
        | Cause::Infrastructure
        | Cause::StopTimeout
            if service =>
        {
            Outcome::Expected
        }
        _ => Outcome::Failure,
    }
}

/// Classifies a stopped task by the first catalogue entry its facts match. `success_codes`
/// are exit codes that count as success besides 0 (a job that exits 3 for "nothing to do");
/// `enrichment` tells which containers are essential, their stop timeouts and their last log
/// lines, where it was read.
pub fn classify(task: &Task, enrichment: &Enrichment, success_codes: &[i64]) -> TaskVerdict {
    let ok = success_codes;
    let trigger = Trigger::of(task);
    let facts = Facts::of(task, enrichment, ok);
    let explanation = causes::explain(&facts);
    let cause = explanation.entry.family;
    let outcome = outcome_of(cause, trigger.is_service());

    let failed_containers: Vec<FailedContainer> = task
        .containers
        .iter()
        .filter_map(|c| {
            let code = c
                .exit_code
                .filter(|&code| code != 0 && !ok.contains(&code))?;
            Some(FailedContainer {
                name: c.display_name().to_string(),
                exit_code: code,
                reason: c.reason.clone(),
            })
        })
        .collect();
    let culprits = failed_containers
        .iter()
        .filter(|c| !c.stopped_by_signal())
        .map(|c| c.name.clone())
        .collect();
    let sidecars = if cause == Cause::Completed {
        facts.sidecars()
    } else {
        Vec::new()
    };

    TaskVerdict {
        outcome,
        cause,
        trigger,
        durations: Durations::of(task),
        failed_containers,
        culprits,
        explanation,
        sidecars,
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "verdict_timeline_tests.rs"]
mod timeline_tests;
