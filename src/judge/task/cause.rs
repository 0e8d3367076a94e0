//! Why a task stopped, named (the Datadog `cause` tag) and told in plain words, with what a
//! container's exit code or start failure means.

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
    InstanceDraining,
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
    pub const ALL: [Cause; 16] = [
        Cause::OutOfMemory,
        Cause::ContainerHealthCheck,
        Cause::ElbHealthCheck,
        Cause::ImagePull,
        Cause::ResourceInitialization,
        Cause::StartFailure,
        Cause::SpotInterruption,
        Cause::Infrastructure,
        Cause::InstanceDraining,
        Cause::StopTimeout,
        Cause::ExitNonzero,
        Cause::Deployment,
        Cause::UserStop,
        Cause::Scheduler,
        Cause::Completed,
        Cause::Unknown,
    ];

    /// The cause whose `cause` tag is `tag`.
    pub fn from_tag(tag: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == tag)
    }

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
            Cause::InstanceDraining => "instance_draining",
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
            Cause::InstanceDraining => {
                "was stopped because its instance was drained (not an application failure)"
            }
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
            Cause::InstanceDraining => "Stopped by instance draining",
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
            Cause::InstanceDraining => {
                "ECS drained the instance the job ran on (Managed Instances are replaced regularly, from day 14 at the latest, and when impaired), so the job lost its run. Run it again, and give jobs a retry strategy or make them resumable."
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
