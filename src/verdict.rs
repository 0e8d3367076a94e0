//! The verdict on a stopped task: failure, expected stop or success, and the named cause.

use crate::durations::Durations;
use crate::event::{Container, Task};
use crate::trigger::Trigger;

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

/// Why a task stopped. The snake_case names are the Datadog `cause` tag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    OutOfMemory,
    ContainerHealthCheck,
    ElbHealthCheck,
    ImagePull,
    ResourceInitialization,
    StartFailure,
    SpotInterruption,
    Infrastructure,
    StopTimeout,
    ExitNonzero,
    Deployment,
    UserStop,
    Scheduler,
    Completed,
    Unknown,
}

impl Cause {
    /// Every cause, for documentation and tests.
    pub const ALL: [Cause; 15] = [
        Cause::OutOfMemory,
        Cause::ContainerHealthCheck,
        Cause::ElbHealthCheck,
        Cause::ImagePull,
        Cause::ResourceInitialization,
        Cause::StartFailure,
        Cause::SpotInterruption,
        Cause::Infrastructure,
        Cause::StopTimeout,
        Cause::ExitNonzero,
        Cause::Deployment,
        Cause::UserStop,
        Cause::Scheduler,
        Cause::Completed,
        Cause::Unknown,
    ];

    /// The value of the Datadog `cause` tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::OutOfMemory => "out_of_memory",
            Cause::ContainerHealthCheck => "container_health_check",
            Cause::ElbHealthCheck => "elb_health_check",
            Cause::ImagePull => "image_pull",
            Cause::ResourceInitialization => "resource_initialization",
            Cause::StartFailure => "start_failure",
            Cause::SpotInterruption => "spot_interruption",
            Cause::Infrastructure => "infrastructure",
            Cause::StopTimeout => "stop_timeout",
            Cause::ExitNonzero => "exit_nonzero",
            Cause::Deployment => "deployment",
            Cause::UserStop => "user_stop",
            Cause::Scheduler => "scheduler",
            Cause::Completed => "completed",
            Cause::Unknown => "unknown",
        }
    }

    /// What happened, in plain words, completing "The task …".
    pub fn describe(self) -> &'static str {
        match self {
            Cause::OutOfMemory => "was killed for running out of memory",
            Cause::ContainerHealthCheck => "failed its container health checks",
            Cause::ElbHealthCheck => "failed its load balancer health checks",
            Cause::ImagePull => "could not pull its container image",
            Cause::ResourceInitialization => {
                "could not initialize (secrets, registry auth or networking)"
            }
            Cause::StartFailure => "failed to start",
            Cause::SpotInterruption => "was interrupted: Spot capacity was reclaimed",
            Cause::Infrastructure => "was stopped by AWS for infrastructure reasons",
            Cause::StopTimeout => "ignored SIGTERM and was killed when asked to stop",
            Cause::ExitNonzero => "exited with an error",
            Cause::Deployment => "was replaced or scaled in by its service",
            Cause::UserStop => "was stopped by a user",
            Cause::Scheduler => "was stopped by the ECS service scheduler",
            Cause::Completed => "completed successfully",
            Cause::Unknown => "stopped for a reason ecs-notifier does not recognise",
        }
    }

    /// A short title for headers: "Out of memory".
    pub fn title(self) -> &'static str {
        match self {
            Cause::OutOfMemory => "Out of memory",
            Cause::ContainerHealthCheck => "Container health checks failed",
            Cause::ElbHealthCheck => "Load balancer health checks failed",
            Cause::ImagePull => "Image pull failed",
            Cause::ResourceInitialization => "Resource initialization failed",
            Cause::StartFailure => "Task failed to start",
            Cause::SpotInterruption => "Spot interruption",
            Cause::Infrastructure => "Stopped by AWS",
            Cause::StopTimeout => "Killed after stop timeout",
            Cause::ExitNonzero => "Container exited with an error",
            Cause::Deployment => "Replaced by deployment or scale-in",
            Cause::UserStop => "Stopped by user",
            Cause::Scheduler => "Stopped by service scheduler",
            Cause::Completed => "Completed",
            Cause::Unknown => "Stopped",
        }
    }

    /// Where to look first, for failures.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Cause::OutOfMemory => {
                "The container used more memory than its limit. Raise the container or task memory, or look for a leak in its memory graph."
            }
            Cause::ContainerHealthCheck => {
                "A container's HEALTHCHECK command kept failing. Check that command and the container's logs; if it is a sidecar that is essential, it takes the task down with it."
            }
            Cause::ElbHealthCheck => {
                "The target group marked the task unhealthy. Check the health check path and port, the security groups, and whether the app starts within the service's health check grace period."
            }
            Cause::ImagePull => {
                "Check that the image tag exists, that the execution role may pull it, and that the subnets reach the registry (NAT or ECR VPC endpoints)."
            }
            Cause::ResourceInitialization => {
                "Check the execution role's access to the secrets and parameters it references, and that private subnets reach Secrets Manager, SSM and ECR (NAT or VPC endpoints)."
            }
            Cause::StartFailure => {
                "ECS could not start a container of the task: the reasons above say why."
            }
            Cause::SpotInterruption => {
                "The job lost its run to a Spot interruption. Retry it, or run it on on-demand capacity if it cannot be interrupted."
            }
            Cause::Infrastructure => "AWS stopped the task; run it again.",
            Cause::StopTimeout => {
                "The container did not exit within stopTimeout after SIGTERM (30 s by default) and was killed. Handle SIGTERM, or raise stopTimeout."
            }
            Cause::ExitNonzero => "Check the failed container's logs for the error.",
            Cause::Unknown => "Check the stop reason and the containers' logs.",
            Cause::Deployment | Cause::UserStop | Cause::Scheduler | Cause::Completed => {
                return None
            }
        })
    }
}

/// Why a container could not start, read from its reason (`CannotStartContainerError: … exec:
/// "/app/run.sh": permission denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartProblem {
    /// The entry point or command exists but may not be run.
    NotExecutable,
    /// The entry point or command is not in the image.
    NotFound,
    /// The image is built for another CPU architecture.
    WrongArchitecture,
    /// A volume or bind mount could not be set up.
    Mount,
}

impl StartProblem {
    /// Reads the problem from a container's (or the task's) reason.
    pub fn of(reason: &str) -> Option<Self> {
        let r = reason.to_ascii_lowercase();
        if r.contains("exec format error") {
            Some(StartProblem::WrongArchitecture)
        } else if r.contains("permission denied") {
            Some(StartProblem::NotExecutable)
        } else if r.contains("executable file not found")
            || r.contains("no such file or directory")
            || r.contains("not found in $path")
        {
            Some(StartProblem::NotFound)
        } else if r.contains("error mounting") || r.contains("mount") {
            Some(StartProblem::Mount)
        } else {
            None
        }
    }

    /// What went wrong, completing "could not start: …".
    pub fn describe(self) -> &'static str {
        match self {
            StartProblem::NotExecutable => {
                "its entry point or command is not executable (permission denied)"
            }
            StartProblem::NotFound => "its entry point or command is not in the image",
            StartProblem::WrongArchitecture => {
                "its image is built for another CPU architecture (exec format error)"
            }
            StartProblem::Mount => "a volume or bind mount could not be mounted",
        }
    }

    /// A short name for titles.
    pub fn title(self) -> &'static str {
        match self {
            StartProblem::NotExecutable => "command not executable",
            StartProblem::NotFound => "command not found",
            StartProblem::WrongArchitecture => "wrong CPU architecture",
            StartProblem::Mount => "mount failed",
        }
    }

    /// Where to look first.
    pub fn hint(self) -> &'static str {
        match self {
            StartProblem::NotExecutable => {
                "Make the entry point executable in the image (chmod +x, and a user that may run it), or fix the task definition's entryPoint and command."
            }
            StartProblem::NotFound => {
                "Check the task definition's entryPoint and command against the image: the path exists in it, or a bare name is on its $PATH."
            }
            StartProblem::WrongArchitecture => {
                "Build the image for the task's CPU architecture (runtimePlatform.cpuArchitecture), or publish a multi-architecture image."
            }
            StartProblem::Mount => {
                "Check the task definition's mountPoints and volumes: a file mounted over a directory, a missing host path or EFS access point."
            }
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

/// What an exit code says about how a process ended.
pub fn exit_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        126 => "command not executable: permission denied or not a binary",
        127 => "command not found: check the image's entrypoint and command",
        130 => "interrupted (SIGINT)",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL): out of memory, or did not stop within stopTimeout",
        139 => "segmentation fault (SIGSEGV)",
        143 => "terminated (SIGTERM): asked to stop",
        _ => return None,
    })
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
mod tests {
    use super::*;

    fn container(name: &str, exit_code: Option<i64>, reason: Option<&str>) -> Container {
        Container {
            name: Some(name.into()),
            exit_code,
            reason: reason.map(String::from),
            ..Container::default()
        }
    }

    fn task(stop_code: &str, reason: &str, group: &str, containers: Vec<Container>) -> Task {
        Task {
            last_status: Some("STOPPED".into()),
            stop_code: Some(stop_code.into()).filter(|s: &String| !s.is_empty()),
            stopped_reason: Some(reason.into()).filter(|s: &String| !s.is_empty()),
            group: Some(group.into()),
            containers,
            ..Task::default()
        }
    }

    fn verdict(t: &Task) -> (Outcome, Cause) {
        let v = classify(t, &[]);
        (v.outcome, v.cause)
    }

    #[test]
    fn oom_wins_over_exit_code() {
        let t = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "service:api",
            vec![container(
                "app",
                Some(137),
                Some("OutOfMemoryError: Container killed due to memory usage"),
            )],
        );
        assert_eq!(verdict(&t), (Outcome::Failure, Cause::OutOfMemory));
        assert_eq!(classify(&t, &[]).failed_containers[0].exit_code, 137);
    }

    #[test]
    fn requested_stops_are_expected_only_when_clean() {
        let reason = "Scaling activity initiated by (deployment ecs-svc/123)";
        let clean = task(
            "ServiceSchedulerInitiated",
            reason,
            "service:api",
            vec![
                container("app", Some(143), None),
                container("sidecar", Some(0), None),
            ],
        );
        assert_eq!(verdict(&clean), (Outcome::Expected, Cause::Deployment));
        // A service task that ignored SIGTERM on a deploy is churn, counted as a stop timeout;
        // a job killed the same way lost its run.
        let killed = task(
            "ServiceSchedulerInitiated",
            reason,
            "service:api",
            vec![container("app", Some(137), None)],
        );
        assert_eq!(verdict(&killed), (Outcome::Expected, Cause::StopTimeout));
        let job_killed = task(
            "UserInitiated",
            "Task stopped by user",
            "family:job",
            vec![container("app", Some(137), None)],
        );
        assert_eq!(verdict(&job_killed), (Outcome::Failure, Cause::StopTimeout));
        let crashed_on_deploy = task(
            "ServiceSchedulerInitiated",
            reason,
            "service:api",
            vec![
                container("app", Some(1), None),
                container("sidecar", Some(137), None),
            ],
        );
        assert_eq!(
            verdict(&crashed_on_deploy),
            (Outcome::Failure, Cause::ExitNonzero)
        );
        let crashed = task(
            "UserInitiated",
            "Task stopped by user",
            "family:job",
            vec![container("app", Some(2), None)],
        );
        assert_eq!(verdict(&crashed), (Outcome::Failure, Cause::ExitNonzero));
        let user = task(
            "UserInitiated",
            "Task stopped by user",
            "family:job",
            vec![container("app", None, None)],
        );
        assert_eq!(verdict(&user), (Outcome::Expected, Cause::UserStop));
    }

    #[test]
    fn spot_is_expected_for_services_only() {
        let c = vec![container("app", Some(143), None)];
        let svc = task(
            "SpotInterruption",
            "Your Spot Task was interrupted.",
            "service:api",
            c.clone(),
        );
        assert_eq!(verdict(&svc), (Outcome::Expected, Cause::SpotInterruption));
        let job = task(
            "SpotInterruption",
            "Your Spot Task was interrupted.",
            "family:job",
            c,
        );
        assert_eq!(verdict(&job), (Outcome::Failure, Cause::SpotInterruption));
    }

    #[test]
    fn success_allows_sidecars_stopped_by_sigterm() {
        let t = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "family:job",
            vec![
                container("app", Some(0), None),
                container("agent", Some(143), None),
            ],
        );
        assert_eq!(verdict(&t), (Outcome::Success, Cause::Completed));
        let all_term = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "family:job",
            vec![container("app", Some(143), None)],
        );
        assert_eq!(verdict(&all_term), (Outcome::Failure, Cause::ExitNonzero));
    }

    #[test]
    fn start_failures_by_reason() {
        let pull = task(
            "TaskFailedToStart",
            "CannotPullContainerError: pull image manifest has been retried",
            "family:job",
            vec![container("app", None, None)],
        );
        assert_eq!(verdict(&pull), (Outcome::Failure, Cause::ImagePull));
        let init = task(
            "TaskFailedToStart",
            "ResourceInitializationError: unable to pull secrets",
            "family:job",
            vec![],
        );
        assert_eq!(
            verdict(&init),
            (Outcome::Failure, Cause::ResourceInitialization)
        );
        let other = task(
            "TaskFailedToStart",
            "ContainerRuntimeTimeoutError: timed out",
            "family:job",
            vec![],
        );
        assert_eq!(verdict(&other), (Outcome::Failure, Cause::StartFailure));
        let volume = task(
            "",
            "CannotCreateVolumeError: no such volume",
            "family:job",
            vec![],
        );
        assert_eq!(verdict(&volume), (Outcome::Failure, Cause::StartFailure));
    }

    #[test]
    fn health_checks() {
        let c = vec![container("app", Some(143), None)];
        let hc = task(
            "ServiceSchedulerInitiated",
            "Task failed container health checks",
            "service:api",
            c.clone(),
        );
        assert_eq!(
            verdict(&hc),
            (Outcome::Failure, Cause::ContainerHealthCheck)
        );
        let elb = task("ServiceSchedulerInitiated", "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/a/b)", "service:api", c);
        assert_eq!(verdict(&elb), (Outcome::Failure, Cause::ElbHealthCheck));
    }

    #[test]
    fn nothing_known_is_a_failure_not_a_success() {
        assert_eq!(
            verdict(&task("", "", "family:job", vec![])),
            (Outcome::Failure, Cause::Unknown)
        );
        let t = task(
            "EssentialContainerExited",
            "",
            "family:job",
            vec![container("app", Some(1), None)],
        );
        assert_eq!(verdict(&t), (Outcome::Failure, Cause::ExitNonzero));
    }

    #[test]
    fn declared_exit_codes_count_as_success() {
        let t = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "family:job",
            vec![container("app", Some(3), None)],
        );
        assert_eq!(verdict(&t), (Outcome::Failure, Cause::ExitNonzero));
        let v = classify(&t, &[3]);
        assert_eq!((v.outcome, v.cause), (Outcome::Success, Cause::Completed));
        assert!(v.failed_containers.is_empty());
    }

    #[test]
    fn sidecars_stopped_by_ecs_are_told_apart_from_the_culprit() {
        let t = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "family:job",
            vec![
                container("envoy", Some(143), None),
                container("app", Some(2), None),
                container("agent", Some(137), None),
            ],
        );
        let v = classify(&t, &[]);
        assert_eq!(v.culprits, ["app"]);
        let stopped: Vec<&str> = v
            .stopped_by_ecs(&["app"])
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(stopped, ["envoy", "agent"]);
        // A sidecar that exited on its own is the culprit; the app ECS stopped is not.
        let t = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "service:api",
            vec![
                container("app", Some(143), None),
                container("envoy", Some(1), None),
            ],
        );
        let v = classify(&t, &[]);
        assert_eq!(v.culprits, ["envoy"]);
        assert_eq!(v.stopped_by_ecs(&["envoy"])[0].name, "app");
        // An OOM kill (137 with its reason) is never taken for ECS's stop.
        let oom = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "service:api",
            vec![
                container(
                    "app",
                    Some(137),
                    Some("OutOfMemoryError: Container killed due to memory usage"),
                ),
                container("envoy", Some(143), None),
            ],
        );
        let v = classify(&oom, &[]);
        assert_eq!(v.culprits, ["app"]);
        assert_eq!(v.stopped_by_ecs(&["app"]).len(), 1);
        // Nobody to blame: nothing is said to be stopped by ECS.
        assert!(v.stopped_by_ecs(&[]).is_empty());
    }

    #[test]
    fn start_problems_are_named_from_the_container_reason() {
        let reason = |r: &str| {
            let t = task(
                "TaskFailedToStart",
                "Essential container in task exited",
                "family:job",
                vec![container("app", None, Some(r))],
            );
            let v = classify(&t, &[]);
            assert_eq!(v.cause, Cause::StartFailure, "{r}");
            v.start_problem
        };
        assert_eq!(
            reason(
                r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/run.sh": permission denied: unknown"#
            ),
            Some(StartProblem::NotExecutable)
        );
        assert_eq!(
            reason(
                r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/run.sh": stat /app/run.sh: no such file or directory: unknown"#
            ),
            Some(StartProblem::NotFound)
        );
        assert_eq!(
            reason(
                r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "gunicorn": executable file not found in $PATH: unknown"#
            ),
            Some(StartProblem::NotFound)
        );
        assert_eq!(
            reason("CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec format error: unknown"),
            Some(StartProblem::WrongArchitecture)
        );
        assert_eq!(reason("CannotStartContainerError: API error (500)"), None);
    }

    #[test]
    fn every_cause_has_words() {
        for cause in Cause::ALL {
            assert!(!cause.as_str().is_empty());
            assert!(!cause.describe().is_empty());
            assert!(!cause.title().is_empty());
        }
        assert_eq!(exit_meaning(139), Some("segmentation fault (SIGSEGV)"));
        assert_eq!(exit_meaning(1), None);
    }
}
