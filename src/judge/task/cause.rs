//! The family of why a task stopped (the Datadog `cause` tag), told in plain words, and what a
//! container's exit code means.

/// Why a task stopped. The snake_case names are the Datadog `cause` tag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    OutOfMemory,
    ContainerHealthCheck,
    ElbHealthCheck,
    ImagePull,
    ResourceInitialization,
    StartFailure,
    ContainerRuntime,
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
    pub const ALL: [Cause; 17] = [
        Cause::OutOfMemory,
        Cause::ContainerHealthCheck,
        Cause::ElbHealthCheck,
        Cause::ImagePull,
        Cause::ResourceInitialization,
        Cause::StartFailure,
        Cause::ContainerRuntime,
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
            Cause::ContainerRuntime => "container_runtime",
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
            Cause::ResourceInitialization => "could not set up what it needs before starting",
            Cause::StartFailure => "failed to start",
            Cause::ContainerRuntime => "was failed by its container runtime",
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
            Cause::ContainerRuntime => "Container runtime error",
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
}

/// What an exit code says about how a process ended.
pub fn exit_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        126 => "command not executable: permission denied or not a binary",
        127 => "command not found: check the image's entrypoint and command",
        130 => "interrupted (SIGINT)",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL)",
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
