//! Tests of the verdict that read the task's facts beyond its messages: a job whose sidecar was
//! killed at shutdown, the three ways a container ends with 137, a longer stop timeout.

use super::tests::{container, task};
use super::*;
use crate::judge::enrichment::{ContainerDef, TaskDefinitionInfo};

/// What enrichment reads of a task definition: these containers.
fn defined(containers: &[(&str, bool, Option<i32>)]) -> Enrichment {
    let containers = containers
        .iter()
        .map(|&(name, essential, stop_timeout)| ContainerDef {
            name: name.into(),
            image: None,
            essential,
            memory: None,
            memory_reservation: None,
            awslogs: None,
            stop_timeout,
        })
        .collect();
    Enrichment {
        task_definition: Some(std::sync::Arc::new(TaskDefinitionInfo {
            arn: String::new(),
            family: "job".into(),
            revision: 1,
            memory: None,
            containers,
            tags: Vec::new(),
            unified: Vec::new(),
            file_systems: Vec::new(),
            secrets: Vec::new(),
            environment_files: Vec::new(),
        })),
        ..Enrichment::default()
    }
}

/// A task stopped `wait` seconds after ECS asked it to (stoppingAt → executionStoppedAt).
fn waited(mut t: Task, wait_ms: i64) -> Task {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    t.stopping_at = Some(at);
    t.execution_stopped_at = Some(at + chrono::Duration::milliseconds(wait_ms));
    t
}

#[test]
fn a_job_whose_sidecar_was_killed_at_shutdown_succeeded() {
    // Without the task definition: the log router is known by its name.
    let t = waited(
        task(
            "EssentialContainerExited",
            "Essential container in task exited",
            "family:job",
            vec![
                container("app", Some(0), None),
                container("log_router", Some(137), None),
            ],
        ),
        30_400,
    );
    let v = classify(&t, &Enrichment::default(), &[]);
    assert_eq!((v.outcome, v.cause), (Outcome::Success, Cause::Completed));
    assert_eq!(v.explanation.entry.id, "completed_sidecar_killed");
    assert_eq!(v.explanation.container.as_deref(), Some("log_router"));
    assert_eq!(v.sidecars, ["log_router (named like a sidecar)"]);
    // A container named like no sidecar is part of the job: killed, it lost its run.
    let mut worker = t.clone();
    worker.containers[1].name = Some("worker".into());
    let v = classify(&worker, &Enrichment::default(), &[]);
    assert_eq!((v.outcome, v.cause), (Outcome::Failure, Cause::StopTimeout));
    // The task definition says which containers are essential: a non-essential one may end as
    // it likes; an essential one named like a sidecar (an agent) is still a sidecar.
    let definition = |essential: bool| defined(&[("app", true, None), ("worker", essential, None)]);
    let mut crashed = worker.clone();
    crashed.containers[1].exit_code = Some(1);
    let v = classify(&crashed, &definition(false), &[]);
    assert_eq!((v.outcome, v.cause), (Outcome::Success, Cause::Completed));
    assert_eq!(v.sidecars, ["worker (not essential)"]);
    let v = classify(&crashed, &definition(true), &[]);
    assert_eq!((v.outcome, v.cause), (Outcome::Failure, Cause::ExitNonzero));
}

#[test]
fn exit_137_is_told_by_its_reason_and_the_stop_timeline() {
    let killed = |code: &str, reason: &str, wait_ms: Option<i64>, oom: Option<&str>| {
        let t = task(
            code,
            reason,
            "family:job",
            vec![container("app", Some(137), oom)],
        );
        let t = match wait_ms {
            Some(ms) => waited(t, ms),
            None => t,
        };
        classify(&t, &Enrichment::default(), &[])
            .explanation
            .entry
            .id
    };
    let exited = "Essential container in task exited";
    let oom = Some("OutOfMemoryError: Container killed due to memory usage");
    assert_eq!(
        killed("EssentialContainerExited", exited, Some(0), oom),
        "oom_killed"
    );
    assert_eq!(
        killed("EssentialContainerExited", exited, Some(0), None),
        "exit_137_unrequested"
    );
    assert_eq!(
        killed("UserInitiated", "Task stopped by user", Some(30_100), None),
        "exit_137_stop_timeout"
    );
    assert_eq!(
        killed("UserInitiated", "Task stopped by user", Some(2_000), None),
        "exit_137_killed_on_stop"
    );
    // Without the timeline, a requested stop that ended in 137 is taken for the stop timeout.
    assert_eq!(
        killed("UserInitiated", "Task stopped by user", None, None),
        "exit_137_stop_timeout"
    );
    assert_eq!(
        killed("EssentialContainerExited", exited, None, None),
        "exit_137_unrequested"
    );
}

#[test]
fn a_longer_stop_timeout_moves_the_line() {
    let t = waited(
        task(
            "ServiceSchedulerInitiated",
            "Scaling activity initiated by (deployment ecs-svc/1)",
            "family:job",
            vec![container("app", Some(137), None)],
        ),
        60_000,
    );
    assert_eq!(
        classify(&t, &Enrichment::default(), &[])
            .explanation
            .entry
            .id,
        "exit_137_stop_timeout"
    );
    let two_minutes = defined(&[("app", true, Some(120))]);
    assert_eq!(
        classify(&t, &two_minutes, &[]).explanation.entry.id,
        "exit_137_killed_on_stop"
    );
}
