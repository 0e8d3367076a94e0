//! Every entry of the stop-cause catalogue, tried on the message as AWS, the ECS agent or a
//! public report prints it (the page or report each case names): the stop is explained by that
//! entry, and its alert carries the entry's fix with the object it names and reads as valid
//! Block Kit. Then messages that share a prefix and mean different things, told apart.

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use ecs_notifier::judge::enrichment::{
    AwsLogs, ContainerDef, ContainerHealth, Enrichment, LogTail, TaskDefinitionInfo,
};
use ecs_notifier::judge::task::causes::{self, Entry};
use ecs_notifier::judge::{judge, Options, Outgoing};
use ecs_notifier::sinks::slack::mrkdwn::escape;
use ecs_notifier::source::{events, Event};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.4.2";

/// How the message reaches the event: the shape ECS gives a stop of that kind.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A task that failed to start: the message as its stop reason and as its container's
    /// reason, stop code TaskFailedToStart, no exit code (Fargate's shape).
    Start,
    /// The message as the container's reason only, the container exited so (or never ran),
    /// the task's reason "Essential container in task exited".
    Container(Option<i64>, &'static str),
    /// The message as the stop reason of a stop ECS or AWS decided, with this stop code and
    /// launcher; the container ended on SIGTERM.
    Stop(&'static str, &'static str),
    /// A container exited with this code after logging the message.
    Log(i64),
    /// A container exited with this code; the message is the stop reason.
    Exit(i64),
    /// ECS waited this long for the container to stop, with this stop code, and it ended
    /// with this exit code.
    Waited(&'static str, f64, i64),
    /// The job's container exited 0 and its log router ended with this code, 30 s later.
    Sidecar(i64),
    /// Containers that carry no exit code.
    NoExit,
}

/// One entry's case: its id, the object its alert must name (read off the example by hand),
/// the shape of its stop, and the page or report its message is printed in.
struct Case {
    id: &'static str,
    object: Option<&'static str>,
    shape: Shape,
    source: &'static str,
}

const fn case(
    id: &'static str,
    object: Option<&'static str>,
    shape: Shape,
    source: &'static str,
) -> Case {
    Case {
        id,
        object,
        shape,
        source,
    }
}

use Shape::*;

const JOB: &str = "family:app";
const SERVICE: &str = "service:api";
const ASSUMED: &str = "assumed";

static CASES: &[Case] = &[
    case("oom_at_start", Some("512 MiB (container limit)"), Container(None, "TaskFailedToStart"), "https://github.com/aws/amazon-ecs-agent/issues/3021"),
    case("oom_killed", Some("512 MiB (container limit)"), Container(Some(137), "EssentialContainerExited"), "https://repost.aws/knowledge-center/ecs-resolve-outofmemory-errors"),
    case("pull_platform_mismatch", Some("linux/amd64"), Start, "https://github.com/aviswerdlow/relay/issues/71"),
    case("pull_rate_limit", Some("registry-1.docker.io"), Start, "https://repost.aws/knowledge-center/ecs-pull-container-error-rate-limit"),
    case("pull_ecr_role_not_authorized", Some("MyBrokenRole"), Start, ASSUMED),
    case("pull_s3_layer_forbidden", None, Start, "https://qiita.com/wildeagle/items/72dab00a16f11f9671d5"),
    case("pull_s3_route_nil_pointer", None, Start, ASSUMED),
    case("pull_fargate_ephemeral_full", Some(IMAGE), Start, ASSUMED),
    case("pull_disk_full", Some(IMAGE), Start, "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html#pull-request-write-error"),
    case("pull_digest_not_found", Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:latest@sha256:9b2a4f1e07c3d5a8e6f0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"), Start, ASSUMED),
    case("pull_cross_account", Some("366590864501"), Start, "https://github.com/aws-samples/bedrock-access-gateway/issues/114"),
    case("pull_ecr_forbidden", Some("123456789123.dkr.ecr.us-east-1.amazonaws.com/a2-ecr-app-repo:latest"), Start, "https://github.com/aws/aws-cdk/issues/29876"),
    case("pull_registry_unauthorized", Some("rrr-docker-nonprod-virtual.us.artifactory.r1.rrr.com"), Start, "https://github.com/aws/containers-roadmap/issues/1658"),
    case("pull_access_denied", Some("840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy"), Start, "https://docs.aws.amazon.com/app-mesh/latest/userguide/troubleshooting-setup.html#ts-setup-cannot-pull-envoy"),
    case("pull_repository_not_found", Some("serverless-batch"), Start, "https://github.com/RafalWilinski/deploy-with-serverless/issues/11"),
    case("pull_tag_not_found", Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:v42"), Start, ASSUMED),
    case("pull_registry_server_error", Some("registry-1.docker.io"), Start, ASSUMED),
    case("pull_registry_unreachable", Some("registry-1.docker.io"), Start, "https://github.com/ActionIQ/terraform-aws-retool-ecs-fargate/issues/20"),
    case("pull_failed_open_unexpected_status", Some("registry-1.docker.io"), Start, "https://github.com/aws/aws-xray-daemon/issues/146"),
    case("pull_context_canceled", Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com"), Start, ASSUMED),
    case("asm_kms_access_denied", Some("arn:aws:secretsmanager:eu-central-1:123456789012:secret:algo-dev-directus-secret20240626183203358800000004-EaPYTy"), Start, "https://github.com/GiamPy5/terraform-aws-directus/issues/10"),
    case("asm_access_denied", Some("arn:aws:secretsmanager:ap-northeast-1:810477631786:secret:N8N_ENCRYPTION_KEY-nAG4eC"), Start, ASSUMED),
    case("asm_secret_not_found", Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-password-a1B2c3"), Start, ASSUMED),
    case("asm_json_key_missing", Some("creds_key"), Start, "https://github.com/aws/amazon-ecs-agent/blob/master/agent/asm/asm.go"),
    case("asm_secret_not_json", Some("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app/db-AbCdEf"), Start, "https://github.com/rileydakota/valheim-ecs-fargate-cdk/issues/9"),
    case("asm_network", Some("arn:aws:secretsmanager:us-west-2:123456789012:secret:DBPasswordSecret-AbCdEf"), Start, "https://github.com/Releem/releem-agent/issues/195"),
    case("registry_auth_asm", Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-credentials-Xy12Ab"), Start, ASSUMED),
    case("ssm_invalid_parameter_name", Some("/prod/app/api-key"), Start, ASSUMED),
    case("ssm_access_denied", Some("arn:aws:ssm:eu-west-2:123456789012:parameter/GOOGLE_CLIENT_ID"), Start, "https://github.com/aws/copilot-cli/issues/4504"),
    case("ssm_parameter_not_found", Some("/api//new-relic-license-key"), Start, "https://github.com/HHS/simpler-grants-gov/pull/4330"),
    case("ssm_network", Some("/prod/app/api-key"), Start, "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html"),
    case("ecr_auth_access_denied", Some("ecsTaskExecutionRole"), Start, ASSUMED),
    case("ecr_auth_network", Some("api.ecr.us-east-1.amazonaws.com"), Start, "https://github.com/aws/copilot-cli/issues/5927"),
    case("pull_secrets_killed", None, Start, "https://aws.amazon.com/jp/premiumsupport/knowledge-center/ecs-unable-to-pull-secrets/"),
    case("log_create_group_denied", Some("/ecs/orders-api"), Start, "https://github.com/terraform-aws-modules/terraform-aws-ecs/pull/145"),
    case("log_stream_denied", Some("/minecraft/server"), Start, ASSUMED),
    case("log_network", Some("/ecs/app"), Start, "https://github.com/civiform/civiform/issues/7648"),
    case("log_group_not_found", Some("/ecs/app"), Start, "https://github.com/airbnb/ottr/issues/7"),
    case("efs_access_denied", Some("fs-0fedcba9876543210"), Start, "https://github.com/aws/copilot-cli/issues/3350"),
    case("efs_no_such_directory", Some("fs-0a1b2c3d4e5f67890"), Start, "https://github.com/acp-io/terraform-grafana/issues/4"),
    case("efs_dns_resolve", Some("fs-0a1b2c3d4e5f67890"), Start, "https://github.com/rileydakota/valheim-ecs-fargate-cdk/issues/28"),
    case("efs_mount_timeout", Some("fs-0fedcba9876543210"), Start, "https://aws.amazon.com/premiumsupport/knowledge-center/fargate-unable-to-mount-efs/"),
    case("efs_connection_reset", Some("fs-0fedcba9876543210"), Start, "https://github.com/docker-archive/compose-cli/issues/1490"),
    case("efs_mount_failed", Some("fs-0fedcba9876543210"), Start, ASSUMED),
    case("envfile_access_denied", Some("1.env"), Start, "https://github.com/aws/aws-cdk/issues/12720"),
    case("envfile_not_found", Some("app.env"), Start, ASSUMED),
    case("envfile_network", Some("arn:aws:s3:::app-config-bucket/prod/app.env"), Start, "https://github.com/aws/aws-cdk/issues/12720"),
    case("container_user_not_found", Some(IMAGE), Start, "https://github.com/aws-samples/net-modernization/issues/13"),
    case("command_not_split", Some("node index.js -t sockets_transport -i 0"), Start, "https://github.com/aws/amazon-ecs-cli/issues/78"),
    case("command_not_found", Some("019552fb-18b7-72c3-8935-313f6668bb0b"), Start, "https://github.com/saebyn/glowing-telegram/issues/398"),
    case("entrypoint_missing", Some("/opt/sonarqube/bin/run.sh"), Start, ASSUMED),
    case("command_not_executable", Some("/usr/local/bin/docker-entrypoint.sh"), Start, ASSUMED),
    case("wrong_architecture", Some("linux/x86_64"), Start, ASSUMED),
    case("mount_file_over_directory", Some("/app/config.yml"), Start, ASSUMED),
    case("mount_failed", None, Start, "https://github.com/aws/amazon-ecs-agent/issues/2442"),
    case("container_status_unknown", Some("512 MiB (container limit)"), Start, "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cannot-start-container.html"),
    case("thin_pool_full", None, Start, "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/master/doc_source/CannotCreateContainerError.md"),
    case("create_disk_full", None, Start, ASSUMED),
    case("container_name_conflict", None, Start, ASSUMED),
    case("volume_not_created", None, Start, ASSUMED),
    case("eni_provisioning_timeout", None, Stop("TaskFailedToStart", JOB), "https://github.com/aws/amazon-ecs-agent/issues/4825"),
    case("eni_provision_complete_error", None, Stop("TaskFailedToStart", JOB), "https://repost.aws/knowledge-center/ecs-fargate-network-interface-errors"),
    case("eni_subnet_no_free_ips", Some("subnet-0a1b2c3d4e5f67890"), Stop("TaskFailedToStart", JOB), ASSUMED),
    case("eni_unused_device_index", None, Stop("TaskFailedToStart", JOB), "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/failed-to-start-error.html#compute-compatibility-cpu"),
    case("cannot_inspect_container", None, Container(None, "EssentialContainerExited"), "https://github.com/aws/amazon-ecs-agent/issues/336"),
    case("cannot_stop_container", None, Container(None, "EssentialContainerExited"), "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html"),
    case("runtime_timeout_stopping", None, Container(None, "EssentialContainerExited"), ASSUMED),
    case("runtime_timeout", None, Start, "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html"),
    case("container_health_check", Some("app"), Stop("ServiceSchedulerInitiated", SERVICE), "https://github.com/aws/containers-roadmap/issues/1553"),
    case("elb_health_check", Some("examp-Targe-BNN5THFBIYHD"), Stop("ServiceSchedulerInitiated", SERVICE), "https://github.com/aws/copilot-cli/issues/3456"),
    case("spot_interruption", None, Stop("SpotInterruption", JOB), "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/49232cf2ab3bbe78781a45fb1a4c4cf7eee8790a/doc_source/fargate-capacity-providers.md"),
    case("spot_interruption_code", None, Stop("SpotInterruption", JOB), ASSUMED),
    case("managed_instance_draining", None, Stop("ServiceSchedulerInitiated", JOB), "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-instance-draining.html"),
    case("container_instance_draining", None, Stop("ServiceSchedulerInitiated", JOB), ASSUMED),
    case("task_retired", None, Stop("ServiceSchedulerInitiated", JOB), "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/49232cf2ab3bbe78781a45fb1a4c4cf7eee8790a/doc_source/task-maintenance.md"),
    case("host_terminated", Some("i-0da6526579af3bd1b"), Stop("TerminationNotice", JOB), "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/49232cf2ab3bbe78781a45fb1a4c4cf7eee8790a/doc_source/stopped-task-errors-classic-console.md"),
    case("instance_deregistered", None, Stop("ServiceSchedulerInitiated", JOB), "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/49232cf2ab3bbe78781a45fb1a4c4cf7eee8790a/doc_source/stopped-task-errors-classic-console.md"),
    case("termination_notice", None, Stop("TerminationNotice", JOB), ASSUMED),
    case("infrastructure_health", None, Stop("InfrastructureHealth", JOB), ASSUMED),
    case("pull_other", Some("registry-1.docker.io"), Start, ASSUMED),
    case("init_other", None, Start, ASSUMED),
    case("start_other", None, Start, ASSUMED),
    case("failed_to_start", None, Stop("TaskFailedToStart", JOB), ASSUMED),
    case("completed", None, Exit(0), "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html"),
    case("completed_sidecar_killed", None, Sidecar(137), "https://github.com/aws/aws-for-fluent-bit/issues/11"),
    case("jvm_metaspace_oom", Some("java.lang.OutOfMemoryError: Metaspace"), Log(1), ASSUMED),
    case("jvm_heap_oom", Some("java.lang.OutOfMemoryError: Java heap space"), Log(1), "https://github.com/sider/runners/pull/2938"),
    case("node_heap_oom", Some("FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory"), Log(134), "https://github.com/aws/amazon-ecs-agent/issues/2231"),
    case("go_runtime_oom", Some("fatal error: runtime: out of memory"), Log(2), ASSUMED),
    case("python_exception", Some("ModuleNotFoundError: No module named 'app'"), Log(1), ASSUMED),
    case("go_panic", Some("panic: runtime error: invalid memory address or nil pointer dereference"), Log(2), ASSUMED),
    case("wrong_architecture_log", Some("linux/x86_64"), Log(1), "https://github.com/aws-samples/amazon-bedrock-serverless-prompt-chaining/issues/213"),
    case("exit_1", None, Exit(1), "https://repost.aws/knowledge-center/ecs-task-stopped"),
    case("exit_2", None, Exit(2), ASSUMED),
    case("exit_126", None, Exit(126), ASSUMED),
    case("exit_127", None, Exit(127), ASSUMED),
    case("exit_134", None, Exit(134), "https://github.com/aws/agent-toolkit-for-aws/blob/main/skills/core-skills/aws-containers/references/ecs-troubleshooting-guide.md"),
    case("exit_139", None, Exit(139), "https://github.com/aws/amazon-ecs-agent/issues/625"),
    case("exit_255", None, Exit(255), "https://repost.aws/knowledge-center/ecs-task-stopped"),
    case("exit_other", None, Exit(3), "https://repost.aws/knowledge-center/ecs-task-stopped"),
    case("exit_137_stop_timeout", Some("30 s (ECS waited 30.4 s)"), Waited("ServiceSchedulerInitiated", 30.4, 137), "https://github.com/aws/agent-toolkit-for-aws/blob/main/skills/core-skills/aws-containers/references/ecs-troubleshooting-guide.md"),
    case("exit_137_killed_on_stop", Some("30 s (ECS waited 2.0 s)"), Waited("UserInitiated", 2.0, 137), ASSUMED),
    case("exit_137_unrequested", Some("512 MiB (container limit)"), Waited("EssentialContainerExited", 0.0, 137), "https://github.com/aws/agent-toolkit-for-aws/blob/main/skills/core-skills/aws-containers/references/ecs-troubleshooting-guide.md"),
    case("exit_143_unrequested", None, Waited("EssentialContainerExited", 0.0, 143), "https://github.com/aws/agent-toolkit-for-aws/blob/main/skills/core-skills/aws-containers/references/ecs-troubleshooting-guide.md"),
    case("scaling_activity", None, Stop("ServiceSchedulerInitiated", SERVICE), "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/master/doc_source/stopped-task-errors.md"),
    case("user_stop", None, Stop("UserInitiated", JOB), "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html"),
    case("scheduler_stop", None, Stop("ServiceSchedulerInitiated", SERVICE), ASSUMED),
    case("unrecognised", None, NoExit, ASSUMED),
];

/// The ECR account an image reference names, if it is an ECR image.
fn ecr_account(text: &str) -> Option<&str> {
    let at = text.find(".dkr.ecr.")?;
    let account = text[..at].rsplit(|c: char| !c.is_ascii_digit()).next()?;
    (account.len() == 12).then_some(account)
}

/// The image a pull message names (as the container's image), else the default one.
fn image_of(message: &str) -> String {
    let start = message
        .find(|c: char| c.is_ascii_digit())
        .filter(|_| ecr_account(message).is_some())
        .and_then(|_| {
            let at = message.find(".dkr.ecr.")?;
            Some(at - 12)
        });
    match start {
        Some(at) => message[at..]
            .split(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '@')
            .next()
            .unwrap()
            .trim_end_matches(':')
            .to_string(),
        None => IMAGE.to_string(),
    }
}

/// A STOPPED Task State Change carrying `entry`'s example in the shape of `case`.
fn event(entry: &Entry, case: &Case) -> Value {
    let message = entry.example;
    let image = image_of(message);
    // The task lives in the account of its image, unless the case is about another's.
    let account = match (case.id, ecr_account(&image)) {
        ("pull_cross_account", _) | (_, None) => ACCOUNT.to_string(),
        (_, Some(a)) => a.to_string(),
    };
    let task_arn =
        format!("arn:aws:ecs:eu-west-1:{account}:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    let mut app = json!({"name": "app", "image": image, "lastStatus": "STOPPED"});
    let mut containers = vec![];
    let (mut stop_code, mut reason, mut group) = ("TaskFailedToStart", message.to_string(), JOB);
    let mut wait = 0.0;
    match case.shape {
        Start => app["reason"] = json!(message),
        Container(exit, code) => {
            app["reason"] = json!(message);
            if let Some(exit) = exit {
                app["exitCode"] = json!(exit);
            }
            (stop_code, reason) = (code, "Essential container in task exited".into());
        }
        Stop(code, launcher) => {
            app["exitCode"] = json!(143);
            (stop_code, group) = (code, launcher);
            wait = 1.2;
        }
        Log(exit) | Exit(exit) => {
            app["exitCode"] = json!(exit);
            stop_code = "EssentialContainerExited";
        }
        Waited(code, waited, exit) => {
            app["exitCode"] = json!(exit);
            (stop_code, wait) = (code, waited);
        }
        Sidecar(exit) => {
            app["exitCode"] = json!(0);
            containers.push(json!({"name": "log_router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "lastStatus": "STOPPED", "exitCode": exit}));
            (stop_code, wait) = ("EssentialContainerExited", 30.3);
        }
        NoExit => stop_code = "EssentialContainerExited",
    }
    if let Log(_) = case.shape {
        reason = "Essential container in task exited".into();
    }
    containers.insert(0, app);
    let stopping = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap();
    let stopped = stopping + chrono::Duration::milliseconds((wait * 1000.0) as i64);
    json!({
        "version": "0",
        "id": format!("case-{}", case.id),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": "2026-11-20T10:00:30Z",
        "region": "eu-west-1",
        "resources": [task_arn],
        "detail": {
            "taskArn": task_arn,
            "clusterArn": format!("arn:aws:ecs:eu-west-1:{account}:cluster/prod"),
            "taskDefinitionArn": format!("arn:aws:ecs:eu-west-1:{account}:task-definition/app:7"),
            "group": group,
            "launchType": "FARGATE",
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stopCode": stop_code,
            "stoppedReason": reason,
            "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
            "createdAt": "2026-11-20T09:58:00Z",
            "stoppingAt": stopping.to_rfc3339(),
            "executionStoppedAt": stopped.to_rfc3339(),
            "stoppedAt": (stopped + chrono::Duration::seconds(20)).to_rfc3339(),
            "containers": containers,
            "version": 4
        }
    })
}

/// What enrichment would have read: the task definition (essential flags, limits, logs,
/// volumes, secrets, environment files), the health of its containers and its last log lines.
fn enrichment(entry: &Entry, case: &Case) -> Enrichment {
    let logs = AwsLogs {
        group: "/ecs/app".into(),
        region: Some("eu-west-1".into()),
        stream_prefix: Some("ecs".into()),
    };
    let container = |name: &str, essential: bool| ContainerDef {
        name: name.into(),
        image: None,
        essential,
        memory: Some(512),
        memory_reservation: None,
        awslogs: Some(logs.clone()),
        stop_timeout: None,
    };
    let definition = TaskDefinitionInfo {
        arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7".into(),
        family: "app".into(),
        revision: 7,
        memory: Some("1024".into()),
        containers: vec![container("app", true), container("log_router", false)],
        tags: Vec::new(),
        unified: Vec::new(),
        file_systems: vec!["fs-0fedcba9876543210".into()],
        secrets: vec![
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app/db-AbCdEf".into(),
            "/prod/app/api-key".into(),
        ],
        environment_files: vec!["arn:aws:s3:::app-config-bucket/prod/app.env".into()],
    };
    let lines = match case.shape {
        Log(_) => entry.example.lines().map(String::from).collect(),
        _ => vec!["2026-11-20T09:59:58Z INFO worker: batch 17 of 40".into()],
    };
    Enrichment {
        task_definition: Some(Arc::new(definition)),
        health: (case.id == "container_health_check").then(|| {
            vec![ContainerHealth {
                name: "app".into(),
                status: "UNHEALTHY".into(),
            }]
        }),
        logs: vec![LogTail {
            container: "app".into(),
            group: "/ecs/app".into(),
            stream: "ecs/app/0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            region: "eu-west-1".into(),
            lines,
        }],
        ..Enrichment::default()
    }
}

fn judged(input: &Value, enrichment: &Enrichment) -> Outgoing {
    let mut decoded = events(input);
    assert_eq!(decoded.len(), 1);
    let event: Event = decoded.remove(0).1.expect("decodes");
    let options = Options {
        notify_on_success: true,
        notify_on_stop_timeout: true,
        ..Options::default()
    };
    judge(&event, enrichment, &options, Utc::now())
}

#[test]
fn every_entry_has_a_case() {
    let entries: BTreeSet<&str> = causes::catalogue().map(|e| e.id).collect();
    let cases: BTreeSet<&str> = CASES.iter().map(|c| c.id).collect();
    assert_eq!(entries, cases, "a case per entry, an entry per case");
    assert_eq!(CASES.len(), entries.len(), "no entry has two cases");
}

/// Fails with `why` unless `ok`.
macro_rules! ensure {
    ($ok:expr, $($why:tt)+) => {
        if !$ok {
            return Err(format!($($why)+));
        }
    };
}

/// One case: its entry explains it, counts it under its id, and (for a failure) alerts with
/// the entry's fix, the object and the page. `Ok(true)` when an alert was checked.
fn check(case: &Case) -> Result<bool, String> {
    let id = case.id;
    let entry = causes::entry(id).ok_or(format!("{id}: no entry"))?;
    // The case names where the message is printed; so does the catalogue.
    if case.source == ASSUMED {
        ensure!(
            entry.source.starts_with("assumed: "),
            "{id}: {}",
            entry.source
        );
    } else {
        ensure!(
            entry.source == case.source,
            "{id}: {} in the catalogue",
            entry.source
        );
    }
    let plan = judged(&event(entry, case), &enrichment(entry, case));
    let reason = plan.summary.reason.as_ref().map(|r| r.id);
    ensure!(
        reason == Some(id),
        "{id}: explained by {reason:?} ({}): {}",
        entry.source,
        entry.example
    );
    let tagged = format!("reason:{id}");
    ensure!(
        plan.datadog
            .distributions
            .iter()
            .any(|d| d.tags.contains(&tagged)),
        "{id}: no Datadog reason tag"
    );
    if plan.summary.verdict != "failure" {
        return Ok(false);
    }
    let message = &support::slack(&plan).ok_or(format!("{id}: no alert"))?;
    let body = serde_json::to_value(message).unwrap();
    let problems = support::block_kit::problems(&body, &[]);
    ensure!(problems.is_empty(), "{id}: {problems:?}");
    let text = message.texts().join("\n");
    let fix = causes::Explanation {
        entry,
        container: None,
        message: None,
        object: case.object.map(String::from),
    }
    .fix();
    ensure!(
        text.contains(&escape(&fix)),
        "{id}: the fix {fix:?} not in {text}"
    );
    if let Some(object) = case.object {
        ensure!(
            text.contains(&escape(object)),
            "{id}: {object} not in {text}"
        );
    }
    ensure!(text.contains(entry.page), "{id}: the page not in {text}");
    Ok(true)
}

#[test]
fn every_entry_explains_its_own_message_and_its_alert_carries_the_fix() {
    let results: Vec<Result<bool, String>> = CASES.iter().map(check).collect();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        CASES.len(),
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    let alerts = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert!(alerts >= 90, "{alerts} alerts checked");
}

/// Messages of one family that mean different things, each with where it is printed: the
/// examples above and other wordings of the same causes (the EC2 agent's and Docker's, older
/// Fargate platform versions', the samples'), each explained by its own entry.
#[test]
fn messages_that_share_a_prefix_are_told_apart() {
    let sample = |name: &str| {
        support::sample(name)["detail"]["stoppedReason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let variants: Vec<(String, &str, &str)> = vec![
        // The pull family.
        ("CannotPullContainerError: Tag latest not found in repository docker.io/library/owncloud".into(), "pull_tag_not_found", "https://github.com/aws/amazon-ecs-agent/issues/422"),
        (sample("task-image-pull.json"), "pull_tag_not_found", "events/task-image-pull.json"),
        ("CannotPullContainerError: API error (500): Get https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/: net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)".into(), "pull_registry_unreachable", "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html#container-pull-request-canceled-connection"),
        ("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 123456789012.dkr.ecr.us-west-2.amazonaws.com/bedrock-proxy-api-ecs:latest@sha256:5de487da52320ad9978f3a7a4f6700910342956c7dcb3b6f955222b4cccbd600: unexpected status from HEAD request to https://123456789012.dkr.ecr.us-west-2.amazonaws.com/v2/bedrock-proxy-api-ecs/blobs/sha256:5de487da52320ad9978f3a7a4f6700910342956c7dcb3b6f955222b4cccbd600: 403 Forbidden".into(), "pull_ecr_forbidden", "https://github.com/aws-samples/bedrock-access-gateway/issues/114, in the task's own account"),
        ("CannotPullContainerError: Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries".into(), "pull_platform_mismatch", "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html"),
        // The initialization family.
        ("Fetching secret data from SSM Parameter Store in us-east-1: invalid parameters: /a,/b".into(), "ssm_parameter_not_found", "the EC2 agent, agent/taskresource/ssmsecret/ssmsecret.go"),
        ("Fetching secret data from AWS Secrets Manager in region us-east-1: secret arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf: ResourceNotFoundException: Secrets Manager can't find the specified secret.".into(), "asm_secret_not_found", "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-not-found-error.html"),
        (sample("task-resource-init-secrets.json"), "asm_network", "events/task-resource-init-secrets.json"),
        ("ResourceInitializationError: failed to validate logger args: : signal: killed".into(), "log_network", "Fargate 1.4's older wording, as the Knowledge Center quotes it"),
        ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post https://api.ecr.us-east-1.amazonaws.com/: dial tcp: i/o timeout".into(), "ecr_auth_network", "the older Fargate wording of the ResourceInitializationError page"),
        ("CannotStartContainerError: Error response from daemon: failed to initialize logging driver: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.".into(), "log_group_not_found", "https://github.com/cn-terraform/terraform-aws-ecs-fargate-service/issues"),
        ("CannotStartContainerError: Error response from daemon: VolumeDriver.Create: mounting volume failed: Mount attempt 1/3 failed due to b'mount.nfs4: Connection reset by peer\\n'".into(), "efs_connection_reset", "https://github.com/aws/efs-utils/issues/32"),
        // The start family.
        (r#"CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "gunicorn": executable file not found in $PATH: unknown"#.into(), "command_not_found", "runc's wording in the CannotStartContainerError page's family"),
        (r#"CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "node index.js -t x": executable file not found in $PATH: unknown"#.into(), "command_not_split", "Fargate's wording of a command written as one string"),
        ("CannotStartContainerError: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec /app/run.sh: permission denied: unknown".into(), "command_not_executable", "runc 1.1 and later (exec without a colon)"),
    ];
    let mut failed = Vec::new();
    for (message, want, source) in &variants {
        let entry = causes::entry(want).unwrap();
        let mut input = event(entry, &case(want, None, Start, source));
        input["detail"]["stoppedReason"] = json!(message);
        input["detail"]["containers"][0]["reason"] = json!(message);
        let plan = judged(&input, &Enrichment::default());
        let got = plan.summary.reason.as_ref().map(|r| r.id);
        if got != Some(*want) {
            failed.push(format!("{want} ({source}): got {got:?} for {message}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // Each family's variants are told apart from each other.
    let ids: BTreeSet<&str> = variants.iter().map(|(_, id, _)| *id).collect();
    assert!(ids.len() >= 13, "{ids:?}");
}

/// How an entry matches, in words.
fn matches(entry: &Entry) -> String {
    let on = &entry.on;
    let quoted = |list: &[&str]| {
        list.iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let place = match on.field {
        causes::Field::Reason => "the stop reason or a container's reason",
        causes::Field::Log => "a log line of the container that broke",
    };
    let mut parts = Vec::new();
    if !on.all.is_empty() {
        parts.push(format!("{place} holds {}", quoted(on.all)));
    }
    if !on.any.is_empty() {
        let lead = if on.all.is_empty() {
            place.to_string()
        } else {
            "and".into()
        };
        parts.push(format!("{lead} one of {}", quoted(on.any)));
    }
    if !on.none.is_empty() {
        parts.push(format!("none of {}", quoted(on.none)));
    }
    if let Some(code) = on.stop_code {
        parts.push(format!("stop code `{code}`"));
    }
    if let Some(code) = on.exit_code {
        parts.push(format!("the container that broke exited {code}"));
    }
    if let Some(fact) = on.fact {
        parts.push(fact.describe().to_string());
    }
    if parts.is_empty() {
        "anything".into()
    } else {
        parts.join("; ")
    }
}

/// docs/causes.md as the catalogue says it.
fn causes_doc() -> String {
    let mut out = String::from(
        "# Why tasks stop\n\n\
         <!-- Generated from src/judge/task/causes/catalogue/ by tests/it/causes.rs; \
         `UPDATE_DOCS=1 cargo test --test it causes::` rewrites it. -->\n\n\
         Every stopped task is explained by the first entry of this catalogue that its stop reason, its \
         containers' reasons, its exit codes, its stop timeline or (with enrichment) its last log lines \
         match. The alert says what the entry means and the fix AWS gives for it, names the object the \
         message or the task definition names (`{}` below), and links the AWS page. The entry's id is the \
         `reason` tag of the `ecs.task.*` metrics; its family is the `cause` tag \
         ([metrics.md](metrics.md)). Entries are tried in this order, the most specific first.\n\n\
         | # | reason | cause | alert |\n|---|---|---|---|\n",
    );
    for (i, e) in causes::catalogue().enumerate() {
        let title = if e.label.is_empty() {
            e.family.title().to_string()
        } else {
            format!("{} ({})", e.family.title(), e.label)
        };
        out.push_str(&format!(
            "| {} | [`{}`](#{}) | `{}` | {title} |\n",
            i + 1,
            e.id,
            e.id.replace('_', "-"),
            e.family.as_str()
        ));
    }
    let mut assumed = 0;
    for e in causes::catalogue() {
        let source = match e.source.strip_prefix("assumed: ") {
            Some(why) => {
                assumed += 1;
                format!("assumed: {why}")
            }
            None => format!("<{}>", e.source),
        };
        out.push_str(&format!("\n## {}\n\n", e.id.replace('_', "-")));
        out.push_str(&format!("`{}` · {}", e.id, e.family.title()));
        if !e.label.is_empty() {
            out.push_str(&format!(" ({})", e.label));
        }
        out.push_str(&format!(
            "\n\n- **Message**: `{}`\n",
            e.example.replace('`', "'").replace('\n', "⏎")
        ));
        out.push_str(&format!("- **Printed in**: {source}\n"));
        out.push_str(&format!("- **Matches**: {}\n", matches(e)));
        out.push_str(&format!("- **Means**: {}\n", e.meaning));
        out.push_str(&format!("- **Fix**: {}\n", e.fix));
        if let Some(object) = e.object {
            out.push_str(&format!(
                "- **Names**: {} (`{{}}` above)\n",
                object.label().to_lowercase()
            ));
        }
        if e.transient {
            out.push_str(
                "- **Transient**: a retry usually succeeds; a service retries by itself\n",
            );
        }
        out.push_str(&format!("- **AWS page**: <{}>\n", e.page));
    }
    out.push_str(&format!(
        "\n{} entries; {assumed} of them with a message composed from a template or the agent's source \
         (no page prints it whole).\n",
        causes::catalogue().count()
    ));
    out
}

#[test]
fn docs_causes_md_is_the_catalogue() {
    let path = support::root().join("docs/causes.md");
    let want = causes_doc();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/causes.md is not the catalogue: run UPDATE_DOCS=1 cargo test --test it causes::"
    );
}
