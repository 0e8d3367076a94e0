//! The verdict on a stopped task: failure, expected stop or success, the named cause, and which
//! containers broke and which ECS stopped after them.

use crate::source::{Container, Task};

use super::cause::{exit_meaning, Cause, StartProblem};
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
    /// What kept a container from starting, when its reason says.
    pub start_problem: Option<StartProblem>,
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

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// The container exit codes present in the event (containers that never ran have none), with
/// codes the team declared successful read as 0.
fn exit_codes<'a>(
    containers: &'a [Container],
    success_codes: &'a [i64],
) -> impl Iterator<Item = i64> + 'a {
    containers.iter().filter_map(|c| c.exit_code).map(|code| {
        if success_codes.contains(&code) {
            0
        } else {
            code
        }
    })
}

/// The verdict on a stop that ECS or a person asked for: expected when the containers stopped
/// cleanly (0 or SIGTERM), `stop_timeout` when one had to be killed, else an error exit.
/// A service task killed after its stop timeout is deploy churn (`expected`, cause
/// `stop_timeout`): the service replaces it; a job killed so lost its run.
fn requested_stop(
    cause: Cause,
    containers: &[Container],
    ok: &[i64],
    service: bool,
) -> (Outcome, Cause) {
    if exit_codes(containers, ok).all(|code| code == 0 || code == 143) {
        (Outcome::Expected, cause)
    } else if exit_codes(containers, ok).all(|code| code == 0 || code == 143 || code == 137) {
        let outcome = if service {
            Outcome::Expected
        } else {
            Outcome::Failure
        };
        (outcome, Cause::StopTimeout)
    } else if exit_codes(containers, ok).any(|code| code == 137) && !service {
        (Outcome::Failure, Cause::StopTimeout)
    } else {
        (Outcome::Failure, Cause::ExitNonzero)
    }
}

/// Classifies a stopped task. The first rule that matches decides. `success_codes` are exit
/// codes that count as success besides 0 (a job that exits 3 for "nothing to do").
pub fn classify(task: &Task, success_codes: &[i64]) -> TaskVerdict {
    let ok = success_codes;
    let trigger = Trigger::of(task);
    let stop_code = task.stop_code.as_deref().unwrap_or("");
    let stopped_reason = task.stopped_reason.as_deref().unwrap_or("");
    let reasons = || {
        std::iter::once(stopped_reason)
            .chain(task.containers.iter().filter_map(|c| c.reason.as_deref()))
    };
    let any_reason = |needle: &str| reasons().any(|r| r.contains(needle));

    let (outcome, cause) = if task
        .containers
        .iter()
        .filter_map(|c| c.reason.as_deref())
        .any(|r| r.starts_with("OutOfMemoryError"))
        || stopped_reason.starts_with("OutOfMemoryError")
    {
        (Outcome::Failure, Cause::OutOfMemory)
    } else if any_reason("CannotPullContainerError") {
        (Outcome::Failure, Cause::ImagePull)
    } else if any_reason("ResourceInitializationError") {
        (Outcome::Failure, Cause::ResourceInitialization)
    } else if stop_code == "TaskFailedToStart"
        || [
            "CannotStartContainerError",
            "CannotCreateVolumeError",
            "ContainerRuntimeTimeoutError",
            "CannotInspectContainerError",
            "CannotStopContainerError",
        ]
        .iter()
        .any(|needle| any_reason(needle))
    {
        (Outcome::Failure, Cause::StartFailure)
    } else if contains_ci(stopped_reason, "failed container health checks") {
        (Outcome::Failure, Cause::ContainerHealthCheck)
    } else if contains_ci(stopped_reason, "failed ELB health checks") {
        (Outcome::Failure, Cause::ElbHealthCheck)
    } else if stop_code == "SpotInterruption"
        || contains_ci(stopped_reason, "Spot Task was interrupted")
    {
        let outcome = if trigger.is_service() {
            Outcome::Expected
        } else {
            Outcome::Failure
        };
        (outcome, Cause::SpotInterruption)
    } else if contains_ci(stopped_reason, "stopped during instance draining") {
        // Managed Instances drain their instances regularly; AWS documents the stop reason
        // (in the AWS Batch guide) but no stop code, so it is judged from the reason alone.
        let outcome = if trigger.is_service() {
            Outcome::Expected
        } else {
            Outcome::Failure
        };
        (outcome, Cause::InstanceDraining)
    } else if stop_code == "TerminationNotice" || stop_code == "InfrastructureHealth" {
        let outcome = if trigger.is_service() {
            Outcome::Expected
        } else {
            Outcome::Failure
        };
        (outcome, Cause::Infrastructure)
    } else if stopped_reason.starts_with("Scaling activity initiated by") {
        requested_stop(
            Cause::Deployment,
            &task.containers,
            ok,
            trigger.is_service(),
        )
    } else if stop_code == "UserInitiated" {
        requested_stop(Cause::UserStop, &task.containers, ok, trigger.is_service())
    } else if stop_code == "ServiceSchedulerInitiated" {
        requested_stop(Cause::Scheduler, &task.containers, ok, trigger.is_service())
    } else {
        let mut codes = exit_codes(&task.containers, ok).peekable();
        if codes.peek().is_none() {
            (Outcome::Failure, Cause::Unknown)
        } else if exit_codes(&task.containers, ok).all(|c| c == 0 || c == 143)
            && exit_codes(&task.containers, ok).any(|c| c == 0)
        {
            (Outcome::Success, Cause::Completed)
        } else {
            (Outcome::Failure, Cause::ExitNonzero)
        }
    };

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
    let start_problem = if cause == Cause::StartFailure {
        reasons().find_map(StartProblem::of)
    } else {
        None
    };

    TaskVerdict {
        outcome,
        cause,
        trigger,
        durations: Durations::of(task),
        failed_containers,
        culprits,
        start_problem,
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
