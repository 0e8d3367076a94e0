//! What this is for: the enrichment's tests (tests/it/enrichment.rs, tests/it/lambda_e2e.rs) run
//! against a real `moto_server`, so they rest on what moto answers. Here, each call the
//! enrichment makes against moto (DescribeTaskDefinition, DescribeServices, DescribeTasks,
//! GetLogEvents, and their errors for missing resources) is made with the same requests as the
//! enrichment makes them, and what moto answers is pinned down, through the project's own
//! conversion where it has one (`enrich::ecs::task_definition_info`). A moto upgrade that
//! changes a shape fails here, naming the field, rather than somewhere in an alert's text.
//! Calls the project never makes are not tested here.
//!
//! Where moto differs from AWS, the comment says so: the enrichment must handle the AWS shape,
//! and tests that use moto get the moto shape.

use crate::support;

use std::collections::HashMap;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{HealthStatus, LogDriver, ServiceField, Tag, TaskDefinitionField};

use support::{
    clients, run_task, seed_cluster, seed_log_stream, seed_service, seed_task_definition,
    stop_task, update_service_task_definition, ContainerSeed, Moto, ACCOUNT, REGION,
};

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn app_and_sidecar() -> [ContainerSeed<'static>; 2] {
    [
        ContainerSeed {
            name: "app",
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.2.3",
            essential: true,
            memory: Some(512),
            memory_reservation: Some(256),
            log: Some(("/ecs/web", "web")),
            environment: &[],
            labels: &[],
        },
        ContainerSeed {
            name: "datadog-agent",
            image: "public.ecr.aws/datadog/agent:7",
            essential: false,
            memory: None,
            memory_reservation: Some(128),
            log: None,
            environment: &[],
            labels: &[],
        },
    ]
}

#[tokio::test]
async fn describe_task_definition_returns_containers_and_tags() {
    let moto = Moto::start().await;
    let (ecs, _) = clients(&moto.endpoint).await;
    let arn = seed_task_definition(
        &ecs,
        "web",
        &app_and_sidecar(),
        &[("team", "payments"), ("env", "prod")],
    )
    .await;
    assert_eq!(
        arn,
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:1")
    );

    let out = ecs
        .describe_task_definition()
        .task_definition(&arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .expect("DescribeTaskDefinition");

    // Tags come at the top level of the output, next to `taskDefinition`.
    assert_eq!(
        tag_map(out.tags()),
        pairs(&[("team", "payments"), ("env", "prod")])
    );
    let td = out.task_definition().expect("taskDefinition");
    assert_eq!(td.task_definition_arn(), Some(arn.as_str()));
    assert_eq!(td.family(), Some("web"));
    assert_eq!(td.revision(), 1);
    assert_eq!(td.cpu(), Some("256"));
    assert_eq!(td.memory(), Some("512"));
    // moto sets no registeredAt.
    assert!(td.registered_at().is_none());

    let containers = td.container_definitions();
    assert_eq!(containers.len(), 2);
    let app = &containers[0];
    assert_eq!(app.name(), Some("app"));
    assert_eq!(app.essential(), Some(true));
    assert_eq!(app.memory(), Some(512));
    assert_eq!(app.memory_reservation(), Some(256));
    assert_eq!(app.cpu(), 0, "moto fills in cpu 0");
    let log = app.log_configuration().expect("logConfiguration");
    assert_eq!(log.log_driver(), &LogDriver::Awslogs);
    let options = log.options().expect("options");
    assert_eq!(options["awslogs-group"], "/ecs/web");
    assert_eq!(options["awslogs-region"], REGION);
    assert_eq!(options["awslogs-stream-prefix"], "web");

    let sidecar = &containers[1];
    assert_eq!(sidecar.name(), Some("datadog-agent"));
    assert_eq!(sidecar.essential(), Some(false));
    assert_eq!(sidecar.memory(), None);
    assert_eq!(sidecar.memory_reservation(), Some(128));
    assert!(sidecar.log_configuration().is_none());

    // What the enrichment keeps of it.
    let info = ecs_notifier::enrich::ecs::task_definition_info(&out).expect("a definition");
    assert_eq!((info.family.as_str(), info.revision), ("web", 1));
    assert_eq!(info.memory.as_deref(), Some("512"));
    assert_eq!(
        info.tags,
        vec![
            ("team".to_string(), "payments".to_string()),
            ("env".to_string(), "prod".to_string())
        ]
    );
    let app_info = info.container("app").expect("app");
    assert!(app_info.essential);
    assert_eq!(app_info.memory, Some(512));
    assert_eq!(
        app_info.awslogs.as_ref().map(|l| l.group.as_str()),
        Some("/ecs/web")
    );
    assert!(info
        .container("datadog-agent")
        .is_some_and(|c| c.awslogs.is_none() && !c.essential));

    // Without include=TAGS there are no tags (an empty list, not an absent field, to the SDK).
    let out = ecs
        .describe_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .expect("DescribeTaskDefinition family:revision");
    assert!(out.tags().is_empty());
    assert_eq!(
        out.task_definition().and_then(|t| t.task_definition_arn()),
        Some(arn.as_str())
    );
}

#[tokio::test]
async fn describe_services_returns_tags_and_deployments() {
    let moto = Moto::start().await;
    let (ecs, _) = clients(&moto.endpoint).await;
    let network = moto.awsvpc().await;
    let cluster = seed_cluster(&ecs, "prod").await;
    assert_eq!(
        cluster,
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod")
    );
    let td1 = seed_task_definition(&ecs, "web", &app_and_sidecar(), &[]).await;
    let created = seed_service(
        &ecs,
        "prod",
        "web",
        &td1,
        &[("team", "payments"), ("service", "web")],
        &network,
    )
    .await;
    // moto uses the long ARN format (service/CLUSTER/NAME) by default.
    assert_eq!(
        created.arn,
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web")
    );
    assert!(
        created.deployment_id.starts_with("ecs-svc/"),
        "{}",
        created.deployment_id
    );

    let out = ecs
        .describe_services()
        .cluster("prod")
        .services("web")
        .include(ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let [service] = out.services() else {
        panic!("one service expected: {:?}", out.services());
    };
    assert_eq!(service.service_arn(), Some(created.arn.as_str()));
    assert_eq!(service.cluster_arn(), Some(cluster.as_str()));
    assert_eq!(service.task_definition(), Some(td1.as_str()));
    assert_eq!(service.desired_count(), 1);
    // moto starts no tasks for a service: runningCount 0, pendingCount = desiredCount.
    assert_eq!(service.running_count(), 0);
    assert_eq!(service.pending_count(), 1);
    // moto returns no service createdAt.
    assert!(service.created_at().is_none());
    assert_eq!(
        tag_map(service.tags()),
        pairs(&[("team", "payments"), ("service", "web")])
    );
    let [deployment] = service.deployments() else {
        panic!("one deployment expected: {:?}", service.deployments());
    };
    assert_eq!(deployment.id(), Some(created.deployment_id.as_str()));
    assert_eq!(deployment.status(), Some("PRIMARY"));
    assert_eq!(deployment.task_definition(), Some(td1.as_str()));
    assert_eq!(
        deployment.created_at(),
        Some(&created.deployment_created_at)
    );
    assert_eq!(deployment.updated_at(), deployment.created_at());
    assert_eq!(
        deployment.rollout_state().map(|s| s.as_str()),
        Some("IN_PROGRESS")
    );

    // Without include=TAGS moto leaves the tags out.
    let out = ecs
        .describe_services()
        .cluster(&cluster)
        .services(&created.arn)
        .send()
        .await
        .expect("DescribeServices by ARN");
    assert_eq!(out.services().len(), 1);
    assert!(out.services()[0].tags().is_empty());

    // UpdateService to revision 2 with forceNewDeployment.
    //
    // moto: still ONE deployment. It is rewritten in place: new `id`, new `createdAt` =
    // `updatedAt`, status PRIMARY, but its `taskDefinition` stays at the OLD revision (web:1)
    // and `rolloutStateReason` still names the old id; only the service's own `taskDefinition`
    // becomes web:2.
    // AWS: two deployments, a new PRIMARY one with web:2 and the old one as ACTIVE (web:1)
    // until it drains. So the enrichment must pick the deployment by id (from the event), not
    // by position, and tests against moto can't check a deployment's new taskDefinition.
    let td2 = seed_task_definition(&ecs, "web", &app_and_sidecar(), &[]).await;
    assert!(td2.ends_with("task-definition/web:2"), "{td2}");
    let updated = update_service_task_definition(&ecs, "prod", "web", &td2).await;
    assert_eq!(updated.arn, created.arn);
    assert_ne!(updated.deployment_id, created.deployment_id);
    assert!(updated.deployment_created_at.as_nanos() >= created.deployment_created_at.as_nanos());

    let out = ecs
        .describe_services()
        .cluster("prod")
        .services("web")
        .include(ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices after update");
    let service = &out.services()[0];
    assert_eq!(service.task_definition(), Some(td2.as_str()));
    let [deployment] = service.deployments() else {
        panic!(
            "moto keeps one deployment on update: {:?}",
            service.deployments()
        );
    };
    assert_eq!(deployment.id(), Some(updated.deployment_id.as_str()));
    assert_eq!(deployment.status(), Some("PRIMARY"));
    assert_eq!(
        deployment.created_at(),
        Some(&updated.deployment_created_at)
    );
    assert_eq!(
        deployment.task_definition(),
        Some(td1.as_str()),
        "moto leaves the deployment's taskDefinition at the old revision"
    );
    assert_eq!(
        tag_map(service.tags()),
        pairs(&[("team", "payments"), ("service", "web")])
    );
}

#[tokio::test]
async fn get_log_events_tail_returns_the_last_lines_in_order() {
    let moto = Moto::start().await;
    let (_, logs) = clients(&moto.endpoint).await;
    let lines: Vec<String> = (1..=25).map(|i| format!("line {i}")).collect();
    let stream = "web/app/0123456789abcdef";
    seed_log_stream(&logs, "/ecs/web", stream, &lines).await;
    seed_log_stream(
        &logs,
        "/ecs/web",
        "web/app/short",
        &["only".to_owned(), "two".to_owned()],
    )
    .await;

    let out = logs
        .get_log_events()
        .log_group_name("/ecs/web")
        .log_stream_name(stream)
        .limit(10)
        .start_from_head(false)
        .send()
        .await
        .expect("GetLogEvents");
    let messages: Vec<&str> = out.events().iter().filter_map(|e| e.message()).collect();
    // The LAST 10 lines, oldest first.
    let expected: Vec<String> = (16..=25).map(|i| format!("line {i}")).collect();
    assert_eq!(messages, expected);
    let stamps: Vec<i64> = out.events().iter().filter_map(|e| e.timestamp()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    assert!(out.events().iter().all(|e| e.ingestion_time().is_some()));
    // moto's tokens are "b/<56-digit index>" / "f/<56-digit index>".
    assert_eq!(
        out.next_backward_token(),
        Some(format!("b/{:056}", 15).as_str())
    );
    assert_eq!(
        out.next_forward_token(),
        Some(format!("f/{:056}", 24).as_str())
    );

    // Fewer lines than the limit: all of them.
    let out = logs
        .get_log_events()
        .log_group_name("/ecs/web")
        .log_stream_name("web/app/short")
        .limit(10)
        .start_from_head(false)
        .send()
        .await
        .expect("GetLogEvents short");
    let messages: Vec<&str> = out.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages, ["only", "two"]);
}

#[tokio::test]
async fn describe_tasks_status_and_health() {
    let moto = Moto::start().await;
    let (ecs, _) = clients(&moto.endpoint).await;
    let network = moto.awsvpc().await;
    let cluster = seed_cluster(&ecs, "prod").await;
    // moto's RunTask answers HTTP 500 (a Python TypeError) unless EVERY container has `memory`
    // or `memoryReservation`, even with task-level memory: app_and_sidecar() has both.
    let td = seed_task_definition(&ecs, "web", &app_and_sidecar(), &[]).await;
    let task = run_task(&ecs, "prod", &td, &network).await;
    assert!(
        task.starts_with(&format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/")),
        "{task}"
    );

    // moto moves a task one step along RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING
    // -> STOPPED on EVERY DescribeTasks (ecs::task state transition "manual", times 1), then
    // stays STOPPED; desiredStatus stays RUNNING and stoppedReason "" throughout.
    let mut seen = Vec::new();
    for _ in 0..5 {
        let out = ecs
            .describe_tasks()
            .cluster("prod")
            .tasks(&task)
            .send()
            .await
            .expect("DescribeTasks");
        assert!(out.failures().is_empty());
        let [t] = out.tasks() else {
            panic!("one task expected: {:?}", out.tasks());
        };
        assert_eq!(t.task_arn(), Some(task.as_str()));
        assert_eq!(t.cluster_arn(), Some(cluster.as_str()));
        assert_eq!(t.task_definition_arn(), Some(td.as_str()));
        assert_eq!(t.desired_status(), Some("RUNNING"));
        assert_eq!(t.group(), Some("family:web"));
        assert_eq!(t.stopped_reason(), Some(""));
        assert!(t.stopped_at().is_none() && t.started_at().is_none());
        // No task-level healthStatus.
        assert!(t.health_status().is_none());

        // moto lists ONLY THE FIRST container of the task definition, always lastStatus
        // PENDING, healthStatus HEALTHY and exitCode 0; its `taskArn` is the task DEFINITION
        // ARN. moto cannot make a container UNHEALTHY, exit non-zero, or list a second one.
        let [c] = t.containers() else {
            panic!("moto lists one container: {:?}", t.containers());
        };
        assert_eq!(c.name(), Some("app"));
        assert_eq!(c.last_status(), Some("PENDING"));
        assert_eq!(c.health_status(), Some(&HealthStatus::Healthy));
        assert_eq!(c.exit_code(), Some(0));
        assert_eq!(c.memory(), Some("512"));
        assert_eq!(c.task_arn(), Some(td.as_str()));
        seen.push(t.last_status().unwrap_or_default().to_owned());
    }
    assert_eq!(
        seen,
        [
            "DEACTIVATING",
            "STOPPING",
            "DEPROVISIONING",
            "STOPPED",
            "STOPPED"
        ]
    );

    // Slower transitions keep a task RUNNING for a test's DescribeTasks calls.
    moto.set_task_transition(1000).await;
    let steady = run_task(&ecs, "prod", &td, &network).await;
    for _ in 0..3 {
        let out = ecs
            .describe_tasks()
            .cluster("prod")
            .tasks(&steady)
            .send()
            .await
            .expect("DescribeTasks");
        assert_eq!(out.tasks()[0].last_status(), Some("RUNNING"));
    }

    // StopTask: lastStatus and desiredStatus STOPPED, stoppedReason as given; no stopCode, no
    // stoppedAt; the container is still PENDING / HEALTHY.
    let stopped = stop_task(&ecs, "prod", &steady, "Scaling activity initiated").await;
    assert_eq!(stopped.last_status(), Some("STOPPED"));
    assert_eq!(stopped.desired_status(), Some("STOPPED"));
    assert_eq!(stopped.stopped_reason(), Some("Scaling activity initiated"));
    assert!(stopped.stop_code().is_none() && stopped.stopped_at().is_none());
    assert_eq!(
        stopped.containers()[0].health_status(),
        Some(&HealthStatus::Healthy)
    );

    // An unknown task: moto answers no task and NO failure (AWS: failures [{arn, reason
    // "MISSING"}]).
    let out = ecs
        .describe_tasks()
        .cluster("prod")
        .tasks(format!(
            "arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/00000000000000000000000000000000"
        ))
        .send()
        .await
        .expect("DescribeTasks unknown");
    assert!(out.tasks().is_empty());
    assert!(out.failures().is_empty());
}

#[tokio::test]
async fn missing_resources_shapes() {
    let moto = Moto::start().await;
    let (ecs, logs) = clients(&moto.endpoint).await;
    seed_cluster(&ecs, "prod").await;
    seed_task_definition(&ecs, "web", &app_and_sidecar(), &[]).await;
    seed_log_stream(&logs, "/ecs/web", "web/app/1", &["x".to_owned()]).await;

    // DescribeTaskDefinition, unknown family or revision: HTTP 400 ClientException
    // "Unable to describe task definition." (same code as AWS).
    for missing in [
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/nope:1"),
        "web:99".to_owned(),
    ] {
        let err = ecs
            .describe_task_definition()
            .task_definition(&missing)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .expect_err("missing task definition");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
        let err = err.into_service_error();
        assert!(err.is_client_exception(), "{missing}: {err:?}");
        assert_eq!(err.code(), Some("ClientException"));
        assert_eq!(err.message(), Some("Unable to describe task definition."));
    }

    // DescribeServices, unknown service in a known cluster: NOT an error; `failures` gets
    // {arn, reason "MISSING"}. moto's failure ARN is the SHORT form service/NAME (no cluster)
    // when given a name, the ARN as given when given an ARN.
    let known_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/gone");
    let out = ecs
        .describe_services()
        .cluster("prod")
        .services("nope")
        .services(&known_arn)
        .include(ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices with missing services");
    assert!(out.services().is_empty());
    let failures: Vec<(&str, &str)> = out
        .failures()
        .iter()
        .map(|f| (f.arn().unwrap_or_default(), f.reason().unwrap_or_default()))
        .collect();
    let short_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/nope");
    assert_eq!(
        failures,
        [
            (short_arn.as_str(), "MISSING"),
            (known_arn.as_str(), "MISSING")
        ]
    );

    // DescribeServices, unknown cluster: HTTP 400 ClusterNotFoundException (modelled).
    let err = ecs
        .describe_services()
        .cluster("nocluster")
        .services("web")
        .send()
        .await
        .expect_err("missing cluster");
    let err = err.into_service_error();
    assert!(err.is_cluster_not_found_exception(), "{err:?}");
    assert_eq!(err.code(), Some("ClusterNotFoundException"));

    // ListTagsForResource, unknown service ARN: HTTP 400 with code ServiceNotFoundException,
    // which is NOT a modelled error of this operation: the SDK gives `Unhandled`, so match on
    // `code()`.
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/nope"))
        .send()
        .await
        .expect_err("missing service tags");
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("ServiceNotFoundException"), "{err:?}");
    assert_eq!(err.message(), Some("Service not found."));

    // ListTagsForResource, unknown task definition: ClientException as above.
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/nope:1"
        ))
        .send()
        .await
        .expect_err("missing task definition tags");
    let err = err.into_service_error();
    assert!(err.is_client_exception(), "{err:?}");

    // GetLogEvents, unknown group or unknown stream: ResourceNotFoundException; moto says
    // "The specified log group does not exist." for both (AWS: "... log stream ..." for a
    // missing stream).
    for (group, stream) in [("/ecs/nope", "web/app/1"), ("/ecs/web", "web/app/nope")] {
        let err = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .limit(10)
            .start_from_head(false)
            .send()
            .await
            .expect_err("missing log stream");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
        let err = err.into_service_error();
        assert!(
            err.is_resource_not_found_exception(),
            "{group}/{stream}: {err:?}"
        );
        assert_eq!(err.code(), Some("ResourceNotFoundException"));
        assert_eq!(
            err.message(),
            Some("The specified log group does not exist.")
        );
    }
}
