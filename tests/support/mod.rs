//! Test support shared by integration tests (`mod support;`): a real `moto_server` per test, an
//! `SdkConfig` pointing at it, and helpers that seed ECS and CloudWatch Logs through the SDK.
//! Sample events (`samples`), loopback Slack and Datadog with a `Notifier` on them (`sinks`)
//! and an `Enricher` on moto or a fake ECS endpoint (`enrich`) are re-exported here too.
//!
//! moto's account is 123456789012; everything here is in eu-west-1.
// Each integration test compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod block_kit;
pub mod enrich;
pub mod lambda;
mod moto;
pub mod samples;
pub mod sinks;
pub mod teams_card;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ecs::config::Credentials;
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, Deployment, KeyValuePair, LaunchType, LogConfiguration,
    LogDriver, NetworkConfiguration, NetworkMode, Service, Tag, Task,
};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

#[allow(unused_imports)] // not every test file enriches
pub use self::enrich::{aws_error, aws_json, enricher_for, enricher_without_logs, fake_ecs, ECS};
#[allow(unused_imports)] // not every test file starts moto
pub use self::moto::Moto;
#[allow(unused_imports)] // nor uses every sample helper
pub use self::samples::{
    batch, crash, crash_at, expectations, json_files, load, records, root, sample, sample_files,
    sample_paths, samples, with_id,
};
#[allow(unused_imports)] // nor every sink helper
pub use self::sinks::{
    answer_from_now, answer_in_turn, answer_posts, bodies, config, notifier, notifier_at, ok,
    ok_sinks, rate_limited, refuse_posts_containing, requests, requests_to, respond_429_then,
    server, server_for, server_with, slack_api_ok, soon,
};

/// The Slack message an outgoing posts: its notice as the Slack sink renders it.
pub fn slack(plan: &ecs_notifier::judge::Outgoing) -> Option<ecs_notifier::sinks::slack::Message> {
    plan.notice.as_ref().map(ecs_notifier::sinks::slack::render)
}

/// The Teams message an outgoing posts: its notice as the Teams sink renders it, as JSON.
pub fn teams(plan: &ecs_notifier::judge::Outgoing) -> Option<serde_json::Value> {
    let envelope = plan
        .notice
        .as_ref()
        .map(ecs_notifier::sinks::teams::render)?;
    serde_json::from_slice(&envelope.body()).ok()
}

pub const REGION: &str = "eu-west-1";

/// The environment that points the function's AWS clients at moto on `endpoint`.
pub fn moto_env(endpoint: &str) -> [(&'static str, &str); 4] {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
}
pub const ACCOUNT: &str = "123456789012";

/// The configuration the SDK clients use against `endpoint` (a `Moto::endpoint`): region
/// eu-west-1, static test credentials, the rustls/ring HTTPS client (it speaks plain http too),
/// and nothing from the host's environment.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(http)
        .load()
        .await
}

/// `sdk_config` + both clients.
pub async fn clients(endpoint: &str) -> (aws_sdk_ecs::Client, aws_sdk_cloudwatchlogs::Client) {
    let config = sdk_config(endpoint).await;
    (
        aws_sdk_ecs::Client::new(&config),
        aws_sdk_cloudwatchlogs::Client::new(&config),
    )
}

/// One container of a seeded task definition.
#[derive(Debug, Clone, Copy)]
pub struct ContainerSeed<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub essential: bool,
    /// Hard limit in MiB (`memory`).
    pub memory: Option<i32>,
    /// Soft limit in MiB (`memoryReservation`).
    pub memory_reservation: Option<i32>,
    /// awslogs `(awslogs-group, awslogs-stream-prefix)`; awslogs-region is eu-west-1.
    pub log: Option<(&'a str, &'a str)>,
    /// Environment variables and Docker labels, as `(name, value)`.
    pub environment: &'a [(&'a str, &'a str)],
    pub labels: &'a [(&'a str, &'a str)],
}

impl<'a> ContainerSeed<'a> {
    /// An essential container with no memory settings and no log configuration.
    pub fn new(name: &'a str, image: &'a str) -> Self {
        ContainerSeed {
            name,
            image,
            essential: true,
            memory: None,
            memory_reservation: None,
            log: None,
            environment: &[],
            labels: &[],
        }
    }
}

fn tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

/// Registers a Fargate task definition (requiresCompatibilities FARGATE, networkMode awsvpc,
/// task cpu "256" / memory "512") and returns its ARN with revision,
/// `arn:aws:ecs:eu-west-1:123456789012:task-definition/FAMILY:N`.
pub async fn seed_task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    containers: &[ContainerSeed<'_>],
    tags: &[(&str, &str)],
) -> String {
    seed_task_definition_sized(ecs, family, Some("256"), Some("512"), containers, tags).await
}

/// `seed_task_definition` with the task-level `cpu` and `memory` strings given (`None`: unset;
/// moto then wants `memory` or `memoryReservation` on every container).
pub async fn seed_task_definition_sized(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    cpu: Option<&str>,
    memory: Option<&str>,
    containers: &[ContainerSeed<'_>],
    tag_pairs: &[(&str, &str)],
) -> String {
    let definitions = containers
        .iter()
        .map(|c| {
            let log = c.log.map(|(group, prefix)| {
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", group)
                    .options("awslogs-region", REGION)
                    .options("awslogs-stream-prefix", prefix)
                    .build()
                    .expect("log configuration")
            });
            ContainerDefinition::builder()
                .name(c.name)
                .image(c.image)
                .essential(c.essential)
                .set_memory(c.memory)
                .set_memory_reservation(c.memory_reservation)
                .set_log_configuration(log)
                .set_environment((!c.environment.is_empty()).then(|| {
                    c.environment
                        .iter()
                        .map(|(k, v)| KeyValuePair::builder().name(*k).value(*v).build())
                        .collect()
                }))
                .set_docker_labels((!c.labels.is_empty()).then(|| {
                    c.labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                }))
                .build()
        })
        .collect();
    let out = ecs
        .register_task_definition()
        .family(family)
        .set_container_definitions(Some(definitions))
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .set_cpu(cpu.map(str::to_owned))
        .set_memory(memory.map(str::to_owned))
        .set_tags((!tag_pairs.is_empty()).then(|| tags(tag_pairs)))
        .send()
        .await
        .expect("RegisterTaskDefinition");
    out.task_definition()
        .and_then(|td| td.task_definition_arn())
        .expect("task definition ARN")
        .to_owned()
}

/// Creates a cluster; returns `arn:aws:ecs:eu-west-1:123456789012:cluster/NAME`.
pub async fn seed_cluster(ecs: &aws_sdk_ecs::Client, name: &str) -> String {
    let out = ecs
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .expect("CreateCluster");
    out.cluster()
        .and_then(|c| c.cluster_arn())
        .expect("cluster ARN")
        .to_owned()
}

/// A service as created or updated, and its PRIMARY deployment.
#[derive(Debug, Clone)]
pub struct ServiceSeed {
    /// `arn:aws:ecs:eu-west-1:123456789012:service/CLUSTER/NAME` (moto's default is long ARNs).
    pub arn: String,
    /// `ecs-svc/<digits>`.
    pub deployment_id: String,
    pub deployment_created_at: DateTime,
}

impl ServiceSeed {
    fn from(service: &Service) -> ServiceSeed {
        let primary: &Deployment = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .unwrap_or_else(|| panic!("no PRIMARY deployment in {service:?}"));
        ServiceSeed {
            arn: service.service_arn().expect("service ARN").to_owned(),
            deployment_id: primary.id().expect("deployment id").to_owned(),
            deployment_created_at: *primary.created_at().expect("deployment createdAt"),
        }
    }
}

/// Creates a FARGATE service with desired count 1 in `cluster` (name or ARN), networked by
/// `network` (use `Moto::awsvpc`: moto validates its subnets and security groups).
pub async fn seed_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
    task_definition_arn: &str,
    tag_pairs: &[(&str, &str)],
    network: &NetworkConfiguration,
) -> ServiceSeed {
    let out = ecs
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition_arn)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network.clone())
        .set_tags((!tag_pairs.is_empty()).then(|| tags(tag_pairs)))
        .send()
        .await
        .expect("CreateService");
    ServiceSeed::from(out.service().expect("service"))
}

/// UpdateService to `task_definition_arn` with `forceNewDeployment`.
///
/// moto does not add a deployment: it rewrites its only deployment in place with a new `id` and
/// `createdAt`/`updatedAt`, and keeps that deployment's `taskDefinition` at the OLD revision
/// (only the service's own `taskDefinition` changes). AWS would add a new PRIMARY deployment
/// and keep the old one as ACTIVE until it drains.
pub async fn update_service_task_definition(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    task_definition_arn: &str,
) -> ServiceSeed {
    let out = ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition_arn)
        .force_new_deployment(true)
        .send()
        .await
        .expect("UpdateService");
    ServiceSeed::from(out.service().expect("service"))
}

/// Writes `lines` to `group`/`stream` (both created if missing), oldest first, with increasing
/// timestamps ending now (one millisecond apart).
pub async fn seed_log_stream(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    lines: &[String],
) {
    if let Err(err) = logs.create_log_group().log_group_name(group).send().await {
        let err = err.into_service_error();
        assert!(
            err.is_resource_already_exists_exception(),
            "CreateLogGroup {group}: {err:?}"
        );
    }
    if let Err(err) = logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
    {
        let err = err.into_service_error();
        assert!(
            err.is_resource_already_exists_exception(),
            "CreateLogStream {group}/{stream}: {err:?}"
        );
    }
    if lines.is_empty() {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let first = now - lines.len() as i64 + 1;
    let events = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            InputLogEvent::builder()
                .timestamp(first + i as i64)
                .message(line)
                .build()
                .expect("log event")
        })
        .collect();
    let out = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("PutLogEvents");
    assert!(
        out.rejected_log_events_info().is_none(),
        "PutLogEvents rejected events: {:?}",
        out.rejected_log_events_info()
    );
}

/// RunTask with launch type FARGATE (moto needs no container instance for it); returns the task
/// ARN, `arn:aws:ecs:eu-west-1:123456789012:task/CLUSTER/ID`.
pub async fn run_task(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    task_definition_arn: &str,
    network: &NetworkConfiguration,
) -> String {
    let out = ecs
        .run_task()
        .cluster(cluster)
        .task_definition(task_definition_arn)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network.clone())
        .send()
        .await
        .expect("RunTask");
    assert!(out.failures().is_empty(), "RunTask: {:?}", out.failures());
    out.tasks()
        .first()
        .and_then(|t| t.task_arn())
        .expect("task ARN")
        .to_owned()
}

/// StopTask; returns the task as StopTask answered (lastStatus and desiredStatus STOPPED).
pub async fn stop_task(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    task_arn: &str,
    reason: &str,
) -> Task {
    ecs.stop_task()
        .cluster(cluster)
        .task(task_arn)
        .reason(reason)
        .send()
        .await
        .expect("StopTask")
        .task()
        .expect("task")
        .clone()
}

/// The state table as template.yaml creates it: `pk` (String) hash key, on-demand, and the
/// sparse `by-kind` index (`kind` hash, `pk` range) that lists tracked jobs.
pub async fn create_state_table(endpoint: &str, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("kind"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(ecs_notifier::state::JOB_INDEX)
                .key_schema(key("kind", KeyType::Hash))
                .key_schema(key("pk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
}

/// The values of distribution `metric` in a `/api/v1/distribution_points` body
/// (`{"series": [{"metric", "points": [[ts, [v, …]], …]}, …]}`): one value per thing counted.
pub fn distribution_values(body: &[u8], metric: &str) -> Vec<f64> {
    let body: serde_json::Value = serde_json::from_slice(body).expect("distribution body is JSON");
    body["series"]
        .as_array()
        .expect("distribution body has series")
        .iter()
        .filter(|s| s["metric"] == metric)
        .flat_map(|s| s["points"].as_array().cloned().unwrap_or_default())
        .flat_map(|p| p[1].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64())
        .collect()
}
