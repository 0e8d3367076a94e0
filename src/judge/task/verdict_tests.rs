//! Tests of the verdict on stopped tasks: one rule each, and the culprits among containers.

use super::*;
use crate::source::Container;

pub(super) fn container(name: &str, exit_code: Option<i64>, reason: Option<&str>) -> Container {
    Container {
        name: Some(name.into()),
        exit_code,
        reason: reason.map(String::from),
        ..Container::default()
    }
}

pub(super) fn task(stop_code: &str, reason: &str, group: &str, containers: Vec<Container>) -> Task {
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
    let v = classify(t, &Enrichment::default(), &[]);
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
    assert_eq!(
        classify(&t, &Enrichment::default(), &[]).failed_containers[0].exit_code,
        137
    );
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
fn instance_draining_is_judged_from_the_reason_whatever_the_code() {
    // AWS documents the stop reason of a Managed Instances drain, not its stop code.
    for code in [
        "",
        "ServiceSchedulerInitiated",
        "UserInitiated",
        "EssentialContainerExited",
        "TerminationNotice",
    ] {
        for exit in [Some(0), Some(143), Some(137), None] {
            let c = vec![container("app", exit, None)];
            let reason = "Task stopped during instance draining";
            let svc = task(code, reason, "service:api", c.clone());
            assert_eq!(
                verdict(&svc),
                (Outcome::Expected, Cause::InstanceDraining),
                "{code} {exit:?}"
            );
            let job = task(code, reason, "family:job", c);
            assert_eq!(
                verdict(&job),
                (Outcome::Failure, Cause::InstanceDraining),
                "{code} {exit:?}"
            );
        }
    }
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
    let v = classify(&t, &Enrichment::default(), &[3]);
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
    let v = classify(&t, &Enrichment::default(), &[]);
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
    let v = classify(&t, &Enrichment::default(), &[]);
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
    let v = classify(&oom, &Enrichment::default(), &[]);
    assert_eq!(v.culprits, ["app"]);
    assert_eq!(v.stopped_by_ecs(&["app"]).len(), 1);
    // Nobody to blame: nothing is said to be stopped by ECS.
    assert!(v.stopped_by_ecs(&[]).is_empty());
}

#[test]
fn start_failures_are_named_from_the_container_reason() {
    let reason = |r: &str| {
        let t = task(
            "TaskFailedToStart",
            "Essential container in task exited",
            "family:job",
            vec![container("app", None, Some(r))],
        );
        let v = classify(&t, &Enrichment::default(), &[]);
        assert_eq!(v.cause, Cause::StartFailure, "{r}");
        assert_eq!(v.explanation.container.as_deref(), Some("app"), "{r}");
        v.explanation.entry.id
    };
    assert_eq!(
        reason(
            r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/run.sh": permission denied: unknown"#
        ),
        "command_not_executable"
    );
    assert_eq!(
        reason(
            r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/run.sh": stat /app/run.sh: no such file or directory: unknown"#
        ),
        "entrypoint_missing"
    );
    assert_eq!(
        reason(
            r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "gunicorn": executable file not found in $PATH: unknown"#
        ),
        "command_not_found"
    );
    assert_eq!(
        reason("CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec format error: unknown"),
        "wrong_architecture"
    );
    assert_eq!(
        reason("CannotStartContainerError: API error (500)"),
        "start_other"
    );
}
