//! What the catalogue reads of a stopped task: its messages, its containers' exits (and which
//! are sidecars), its stop timeline, and what enrichment adds (essential flags, stop timeouts,
//! log lines).

use crate::judge::enrichment::{Enrichment, TaskDefinitionInfo};
use crate::source::{arn, Task};

use super::read::{ecr_account, executable};
use super::Fact;

/// ECS's stop timeout when a container sets none (Fargate and the EC2 agent alike).
pub const DEFAULT_STOP_TIMEOUT: f64 = 30.0;
/// How much sooner than its stop timeout a container may be killed and still count as killed
/// by it: the timestamps are the agent's, not the kernel's.
const TIMEOUT_SLACK: f64 = 1.5;

/// Names and images of the sidecars teams run beside the application (log routers, agents,
/// proxies): without the task definition, they are not taken for the job itself.
const SIDECARS: &[&str] = &[
    "log_router",
    "log-router",
    "firelens",
    "fluent-bit",
    "fluentbit",
    "fluentd",
    "datadog-agent",
    "datadog/agent",
    "dd-agent",
    "otel-collector",
    "aws-otel-collector",
    "adot",
    "xray",
    "x-ray",
    "envoy",
    "cloudwatch-agent",
    "newrelic",
    "splunk",
    "ecs-service-connect-agent",
];

/// How one container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub name: String,
    /// The exit code, with the codes the team declared successful read as 0.
    pub code: i64,
    /// Its reason says it was killed for memory.
    pub oom: bool,
    /// Essential, as the task definition says (when enrichment read it).
    pub essential: Option<bool>,
    /// Taken for a sidecar by its name or image (when the task definition is unknown).
    pub sidecar: bool,
}

impl Exit {
    /// ECS's own stop: SIGTERM (143), or SIGKILL (137) without an out-of-memory reason.
    pub fn by_signal(&self) -> bool {
        self.code == 143 || (self.code == 137 && !self.oom)
    }

    /// An exit that took the task down by itself.
    pub fn is_error(&self) -> bool {
        self.code != 0 && !self.by_signal()
    }

    /// Part of the job rather than a sidecar: not marked non-essential by the task definition,
    /// and not named like a sidecar (teams mark agents and log routers essential too).
    pub fn is_main(&self) -> bool {
        self.essential != Some(false) && !self.sidecar
    }
}

/// A message of the task: the container it came from (none for `stoppedReason`), the text
/// as printed, and in lower case.
type Message<'a> = (Option<&'a str>, &'a str, String);

/// Everything the catalogue matches against.
#[derive(Debug)]
pub struct Facts<'a> {
    pub task: &'a Task,
    pub definition: Option<&'a TaskDefinitionInfo>,
    pub enrichment: &'a Enrichment,
    messages: Vec<Message<'a>>,
    lines: Vec<Message<'a>>,
    pub exits: Vec<Exit>,
}

fn is_sidecar(name: &str, image: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    let image = image.unwrap_or("").to_ascii_lowercase();
    SIDECARS
        .iter()
        .any(|s| name.contains(s) || image.contains(s))
}

impl<'a> Facts<'a> {
    /// Reads a task, with what enrichment found and the exit codes that count as success.
    pub fn of(task: &'a Task, enrichment: &'a Enrichment, success_codes: &[i64]) -> Self {
        let definition = enrichment.task_definition.as_deref();
        let mut messages: Vec<Message<'a>> = task
            .containers
            .iter()
            .filter_map(|c| {
                let reason = c.reason.as_deref().filter(|r| !r.trim().is_empty())?;
                Some((Some(c.display_name()), reason, reason.to_lowercase()))
            })
            .collect();
        if let Some(reason) = task.stopped_reason.as_deref().filter(|r| !r.is_empty()) {
            messages.push((None, reason, reason.to_lowercase()));
        }
        let lines = enrichment
            .logs
            .iter()
            .flat_map(|tail| {
                tail.lines
                    .iter()
                    .map(|l| (Some(tail.container.as_str()), l.as_str(), l.to_lowercase()))
            })
            .collect();
        let exits = task
            .containers
            .iter()
            .filter_map(|c| {
                let code = c.exit_code?;
                let def = definition.and_then(|d| d.container(c.display_name()));
                let image = c.image.as_deref().or(def.and_then(|d| d.image.as_deref()));
                Some(Exit {
                    name: c.display_name().to_string(),
                    code: if success_codes.contains(&code) {
                        0
                    } else {
                        code
                    },
                    oom: c
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("OutOfMemoryError")),
                    essential: def.map(|d| d.essential),
                    sidecar: is_sidecar(c.display_name(), image),
                })
            })
            .collect();
        Facts {
            task,
            definition,
            enrichment,
            messages,
            lines,
            exits,
        }
    }

    pub fn stop_code(&self) -> Option<&str> {
        self.task.stop_code.as_deref()
    }

    /// The task's messages: the containers' reasons, then its stopped reason.
    pub fn reasons(&self) -> impl Iterator<Item = (Option<&str>, &str, &str)> {
        self.messages.iter().map(|(c, t, l)| (*c, *t, l.as_str()))
    }

    /// The log lines enrichment read, container by container.
    pub fn log_lines(&self) -> impl Iterator<Item = (Option<&str>, &str, &str)> {
        self.lines.iter().map(|(c, t, l)| (*c, *t, l.as_str()))
    }

    /// The container whose own error took the task down: the first essential one, else any.
    pub fn culprit(&self) -> Option<&Exit> {
        let mut errors = self.exits.iter().filter(|e| e.is_error());
        let first = errors.clone().next();
        errors.find(|e| e.is_main()).or(first)
    }

    /// The container an exit-code entry is about: the culprit for an error code; for 137 and
    /// 143, the first container that exited so.
    pub fn exited(&self, code: i64) -> Option<&Exit> {
        if code == 137 || code == 143 {
            return self.exits.iter().find(|e| e.code == code && e.by_signal());
        }
        self.culprit().filter(|e| e.code == code)
    }

    /// Whether ECS or a person asked the task to stop (rather than a container ending it).
    pub fn stop_requested(&self) -> bool {
        match self.task.stop_code.as_deref() {
            Some("UserInitiated" | "ServiceSchedulerInitiated" | "SpotInterruption")
            | Some("TerminationNotice") => true,
            Some(_) => false,
            None => {
                self.task.stopped_reason.as_deref().is_some_and(|r| {
                    r.contains("Scaling activity") || r.contains("stopped by user")
                })
            }
        }
    }

    /// Seconds between the task's move to STOPPING and its containers' end: how long ECS
    /// waited for them.
    pub fn stop_wait(&self) -> Option<f64> {
        let from = self.task.stopping_at?;
        let to = self.task.execution_stopped_at?;
        let millis = to.signed_duration_since(from).num_milliseconds();
        (millis >= 0).then(|| millis as f64 / 1000.0)
    }

    /// A container's stop timeout in seconds: its own (task definition), else ECS's default.
    pub fn stop_timeout(&self, container: &str) -> f64 {
        self.definition
            .and_then(|d| d.container(container))
            .and_then(|c| c.stop_timeout)
            .map(f64::from)
            .unwrap_or(DEFAULT_STOP_TIMEOUT)
    }

    /// Containers killed (137) without an out-of-memory reason.
    fn killed(&self) -> impl Iterator<Item = &Exit> {
        self.exits.iter().filter(|e| e.code == 137 && !e.oom)
    }

    /// A container killed after ECS waited out its stop timeout (or, when the event has no
    /// timeline, killed after a stop was requested).
    fn killed_after_timeout(&self) -> Option<&Exit> {
        self.killed().find(|e| match self.stop_wait() {
            Some(wait) => wait >= self.stop_timeout(&e.name) - TIMEOUT_SLACK,
            None => self.stop_requested(),
        })
    }

    fn killed_before_timeout(&self) -> Option<&Exit> {
        if !self.stop_requested() {
            return None;
        }
        let wait = self.stop_wait()?;
        self.killed()
            .find(|e| wait < self.stop_timeout(&e.name) - TIMEOUT_SLACK)
    }

    fn killed_unrequested(&self) -> Option<&Exit> {
        if self.stop_requested() {
            return None;
        }
        self.killed().find(|e| match self.stop_wait() {
            Some(wait) => wait < self.stop_timeout(&e.name) - TIMEOUT_SLACK,
            None => true,
        })
    }

    /// The job's own containers ended well (0, or SIGTERM when ECS stopped the rest), one of
    /// them with 0, and no container was killed for memory; its sidecars ended as sidecars do
    /// at shutdown (a non-essential one however it liked).
    fn succeeded(&self) -> bool {
        if self.stop_requested() || self.exits.iter().any(|e| e.oom) {
            return false;
        }
        let any_main = self.exits.iter().any(Exit::is_main);
        let main = |e: &&Exit| e.is_main() || !any_main;
        let mains_ok = self
            .exits
            .iter()
            .filter(main)
            .all(|e| e.code == 0 || e.code == 143);
        let some_zero = self.exits.iter().filter(main).any(|e| e.code == 0);
        let sidecars_ok = self
            .exits
            .iter()
            .filter(|e| !main(e))
            .all(|e| e.essential == Some(false) || e.code == 0 || e.by_signal());
        mains_ok && some_zero && sidecars_ok
    }

    /// The sidecar that had to be killed at shutdown.
    fn sidecar_killed(&self) -> Option<&Exit> {
        self.killed().find(|e| !e.is_main())
    }

    /// Whether a fact holds; `message` is the text an entry matched, for facts about it.
    pub fn holds(&self, fact: Fact, message: Option<&str>) -> bool {
        match fact {
            Fact::CommandOfWords => message
                .and_then(executable)
                .is_some_and(|cmd| cmd.trim().contains(' ')),
            Fact::ImageOfOtherAccount => self.foreign_image().is_some(),
            Fact::Fargate => self.on_fargate(),
            Fact::NotFargate => !self.on_fargate(),
            Fact::Culprit => self.culprit().is_some(),
            Fact::Succeeded => self.succeeded() && self.sidecar_killed().is_none(),
            Fact::SucceededSidecarKilled => self.succeeded() && self.sidecar_killed().is_some(),
            Fact::KilledAfterStopTimeout => self.killed_after_timeout().is_some(),
            Fact::KilledBeforeStopTimeout => self.killed_before_timeout().is_some(),
            Fact::KilledUnrequested => self.killed_unrequested().is_some(),
            Fact::TerminatedUnrequested => {
                !self.stop_requested() && self.exits.iter().any(|e| e.code == 143)
            }
            Fact::Ran => self.task.started_at.is_some(),
        }
    }

    /// The container a fact is about, when it is about one.
    pub fn container_of(&self, fact: Fact) -> Option<&str> {
        let exit = match fact {
            Fact::Culprit => self.culprit(),
            Fact::SucceededSidecarKilled => self.sidecar_killed(),
            Fact::KilledAfterStopTimeout => self.killed_after_timeout(),
            Fact::KilledBeforeStopTimeout => self.killed_before_timeout(),
            Fact::KilledUnrequested => self.killed_unrequested(),
            Fact::TerminatedUnrequested => self.exits.iter().find(|e| e.code == 143),
            _ => None,
        };
        exit.map(|e| e.name.as_str())
    }

    /// Fargate (or Fargate Spot), by launch type or capacity provider.
    pub fn on_fargate(&self) -> bool {
        let launch = self.task.launch_type.as_deref().unwrap_or("");
        let provider = self.task.capacity_provider_name.as_deref().unwrap_or("");
        launch == "FARGATE" || provider.starts_with("FARGATE")
    }

    /// An ECR image of another account than the task's: (its account, the image).
    pub fn foreign_image(&self) -> Option<(&str, &str)> {
        let own = self.task.task_arn.as_deref().and_then(arn::account)?;
        self.task
            .containers
            .iter()
            .filter_map(|c| c.image.as_deref())
            .chain(
                self.definition
                    .iter()
                    .flat_map(|d| d.containers.iter().filter_map(|c| c.image.as_deref())),
            )
            .find_map(|image| {
                let account = ecr_account(image)?;
                (account != own).then_some((account, image))
            })
    }

    /// The sidecars the judgement took for sidecars, and how it knew (for the log line).
    pub fn sidecars(&self) -> Vec<String> {
        self.exits
            .iter()
            .filter(|e| !e.is_main())
            .map(|e| match e.essential {
                Some(false) => format!("{} (not essential)", e.name),
                _ => format!("{} (named like a sidecar)", e.name),
            })
            .collect()
    }
}
