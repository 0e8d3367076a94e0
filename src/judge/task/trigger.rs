//! Who launched a task: an ECS service, a schedule, Step Functions, AWS Batch or a plain RunTask.

use crate::source::Task;

/// The launcher of a task, read from `group`, `startedBy` and the cluster name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A task of an ECS service (`group: service:<name>`).
    Service(String),
    /// A scheduled task of an EventBridge rule (`startedBy: events-rule/<rule>`, cut to 36 chars).
    EventBridgeRule(String),
    /// An EventBridge Scheduler schedule (`startedBy: chronos-schedule/<name>`, cut to 36 chars).
    Scheduler(String),
    /// A Step Functions `ecs:runTask` state.
    StepFunctions,
    /// A job of AWS Batch (Batch-managed clusters are named `AWSBatch-…`).
    Batch,
    /// RunTask by a person or tool; `startedBy` when it set one.
    RunTask(Option<String>),
}

impl Trigger {
    /// Reads the launcher of a task.
    pub fn of(task: &Task) -> Self {
        let started_by = task.started_by.as_deref().map(str::trim).unwrap_or("");
        if let Some(name) = task
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
        {
            return Trigger::Service(name.to_string());
        }
        if let Some(rule) = started_by.strip_prefix("events-rule/") {
            return Trigger::EventBridgeRule(rule.to_string());
        }
        if let Some(schedule) = started_by.strip_prefix("chronos-schedule/") {
            return Trigger::Scheduler(schedule.to_string());
        }
        if started_by == "AWS Step Functions" {
            return Trigger::StepFunctions;
        }
        if task.cluster().starts_with("AWSBatch-") {
            return Trigger::Batch;
        }
        Trigger::RunTask(Some(started_by.to_string()).filter(|s| !s.is_empty()))
    }

    /// The value of the Datadog `trigger` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Service(_) => "service",
            Trigger::EventBridgeRule(_) => "eventbridge_rule",
            Trigger::Scheduler(_) => "scheduler",
            Trigger::StepFunctions => "step_functions",
            Trigger::Batch => "batch",
            Trigger::RunTask(_) => "run_task",
        }
    }

    /// The service name, for service tasks.
    pub fn service(&self) -> Option<&str> {
        match self {
            Trigger::Service(name) => Some(name),
            _ => None,
        }
    }

    /// The rule or schedule name, for scheduled tasks.
    pub fn schedule(&self) -> Option<&str> {
        match self {
            Trigger::EventBridgeRule(name) | Trigger::Scheduler(name) => Some(name),
            _ => None,
        }
    }

    /// Whether ECS replaces the task by itself when it stops (a service keeps its count).
    pub fn is_service(&self) -> bool {
        matches!(self, Trigger::Service(_))
    }

    /// How a person would name the launcher.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Service(name) => format!("ECS service {name}"),
            Trigger::EventBridgeRule(rule) => format!("EventBridge rule {rule}"),
            Trigger::Scheduler(name) => format!("EventBridge Scheduler {name}"),
            Trigger::StepFunctions => "Step Functions".to_string(),
            Trigger::Batch => "AWS Batch".to_string(),
            Trigger::RunTask(Some(by)) => format!("RunTask (started by {by})"),
            Trigger::RunTask(None) => "RunTask".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(group: Option<&str>, started_by: Option<&str>, cluster: &str) -> Task {
        Task {
            group: group.map(String::from),
            started_by: started_by.map(String::from),
            cluster_arn: Some(format!("arn:aws:ecs:eu-west-1:1:cluster/{cluster}")),
            ..Task::default()
        }
    }

    #[test]
    fn reads_each_launcher() {
        let cases = [
            (
                task(Some("service:api"), Some("ecs-svc/123"), "prod"),
                Trigger::Service("api".into()),
            ),
            (
                task(
                    Some("family:job"),
                    Some("events-rule/nightly-report"),
                    "batch",
                ),
                Trigger::EventBridgeRule("nightly-report".into()),
            ),
            (
                task(None, Some("chronos-schedule/hourly-sync"), "batch"),
                Trigger::Scheduler("hourly-sync".into()),
            ),
            (
                task(None, Some("AWS Step Functions"), "batch"),
                Trigger::StepFunctions,
            ),
            (task(None, Some("abc"), "AWSBatch-etl-1f2e"), Trigger::Batch),
            (
                task(Some("family:job"), Some("deploy-bot"), "prod"),
                Trigger::RunTask(Some("deploy-bot".into())),
            ),
            (task(None, None, "prod"), Trigger::RunTask(None)),
        ];
        for (task, want) in cases {
            assert_eq!(Trigger::of(&task), want);
        }
    }

    #[test]
    fn names_for_tags() {
        assert_eq!(Trigger::Scheduler("s".into()).schedule(), Some("s"));
        assert_eq!(Trigger::Service("a".into()).service(), Some("a"));
        assert_eq!(Trigger::StepFunctions.kind(), "step_functions");
        assert_eq!(Trigger::RunTask(None).schedule(), None);
    }
}
