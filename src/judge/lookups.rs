//! Which lookups a stopped task is worth, for the enrichment to carry out (pure).

use crate::judge::enrichment::Enrichment;
use crate::source::Task;

use super::task::cause::Cause;
use super::task::verdict::{classify, Outcome};

/// What the enrichment looks up for a stopped task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskLookups {
    /// Its task definition (containers, memory, log configuration, tags).
    pub definition: bool,
    /// The service that ran it, by name: its tags and deployments.
    pub service: Option<String>,
    /// The health its containers last reported: it stopped on a failed container health check.
    pub health: bool,
    /// The containers whose last log lines to read, in order: those whose own exit took the
    /// task down, else every container that exited non-zero. The enrichment puts those that
    /// reported unhealthy before them, and reads a few at most.
    pub logs_of: Vec<String>,
    /// Only the tags (of the definition and the service): a service task killed after its stop
    /// timeout, which posts a notice only when its tags ask for one.
    pub tags_only: bool,
}

/// The lookups the stop of `task` is worth, judged as the stop alone tells (no enrichment yet);
/// `None` when none is: not stopped, or an expected stop (deployment churn, a person's stop),
/// which posts nothing.
pub fn for_task(task: &Task) -> Option<TaskLookups> {
    if !task.is_stopped() {
        return None;
    }
    let verdict = classify(task, &Enrichment::default(), &[]);
    let tags_only = verdict.outcome == Outcome::Expected && verdict.cause == Cause::StopTimeout;
    if verdict.outcome == Outcome::Expected && !tags_only {
        return None;
    }
    // The containers whose own exit took the task down first; those ECS stopped after them
    // only when no container is to blame.
    let broke: Vec<&str> = if verdict.culprits.is_empty() {
        verdict
            .failed_containers
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    } else {
        verdict.culprits.iter().map(String::as_str).collect()
    };
    let mut logs_of: Vec<String> = Vec::new();
    if !tags_only {
        for name in broke {
            if !logs_of.iter().any(|l| l == name) {
                logs_of.push(name.to_string());
            }
        }
    }
    Some(TaskLookups {
        definition: task.task_definition_arn.is_some(),
        service: verdict.trigger.service().map(String::from),
        health: verdict.cause == Cause::ContainerHealthCheck && task.task_arn.is_some(),
        logs_of,
        tags_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{decode, Event};

    fn sample(json: &str) -> Task {
        let input = serde_json::from_str(json).unwrap();
        match decode(&input).unwrap() {
            Event::Task(_, task) => *task,
            other => panic!("not a task event: {other:?}"),
        }
    }

    fn lookups(json: &str) -> Option<TaskLookups> {
        for_task(&sample(json))
    }

    #[test]
    fn running_tasks_and_expected_stops_are_worth_nothing() {
        assert_eq!(
            lookups(include_str!("../../events/task-running.json")),
            None
        );
        let replaced = include_str!("../../events/task-deployment-replaced.json");
        assert_eq!(lookups(replaced), None);
        assert_eq!(
            lookups(include_str!("../../events/task-user-stopped.json")),
            None
        );
    }

    #[test]
    fn a_failure_reads_the_definition_the_service_and_the_culprits_logs() {
        let oom = lookups(include_str!("../../events/task-oom.json")).unwrap();
        assert_eq!(
            oom,
            TaskLookups {
                definition: true,
                service: Some("checkout-api".into()),
                health: false,
                logs_of: vec!["app".into()],
                tags_only: false,
            }
        );
        // ECS stopped the sidecars after the app broke: only the app's lines are read.
        let sidecars = lookups(include_str!("../../events/task-sidecars-stopped.json")).unwrap();
        assert_eq!(sidecars.logs_of, ["app"]);
        // A job has no service to read.
        let job = lookups(include_str!("../../events/task-exit-nonzero.json")).unwrap();
        assert_eq!((job.service, job.logs_of), (None, vec!["app".to_string()]));
    }

    #[test]
    fn a_failed_health_check_reads_the_health_and_every_failed_containers_logs() {
        let health = lookups(include_str!(
            "../../events/task-container-health-check.json"
        ));
        let health = health.unwrap();
        assert!(health.health && health.definition && !health.tags_only);
        // No container is to blame: every one that exited non-zero, in event order.
        assert_eq!(health.logs_of, ["app", "datadog-agent"]);
    }

    #[test]
    fn a_service_task_killed_after_its_stop_timeout_reads_only_tags() {
        let killed = lookups(include_str!(
            "../../events/task-stop-timeout-on-deploy.json"
        ));
        assert_eq!(
            killed,
            Some(TaskLookups {
                definition: true,
                service: Some("orders-worker".into()),
                health: false,
                logs_of: Vec::new(),
                tags_only: true,
            })
        );
    }

    #[test]
    fn without_arns_nothing_is_asked_by_arn() {
        let mut task = sample(include_str!(
            "../../events/task-container-health-check.json"
        ));
        task.task_arn = None;
        task.task_definition_arn = None;
        let bare = for_task(&task).unwrap();
        assert!(!bare.definition && !bare.health);
        assert_eq!(bare.service.as_deref(), Some("checkout-api"));
    }
}
