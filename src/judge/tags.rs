//! The tag keys of metrics and events: Datadog's own ECS names where it has them (those the
//! Datadog Agent's tagger gives the same tasks), so the function's data joins the Agent's; the
//! project's own names where Datadog has none (`trigger`, `schedule`, `result`, `cause`, …).

/// The cluster's name (the Agent's `ecs_cluster_name`).
pub const CLUSTER: &str = "ecs_cluster_name";
/// The ECS service's name (the Agent's `ecs_service`, lower-cased like the Agent's).
pub const SERVICE: &str = "ecs_service";
/// The task definition family and revision (the Agent's `task_family`, `task_version`).
pub const TASK_FAMILY: &str = "task_family";
pub const TASK_VERSION: &str = "task_version";
/// A container's name in the task definition (the Agent's `ecs_container_name`).
pub const CONTAINER: &str = "ecs_container_name";
/// A managed daemon's name (the Agent's `ecs_daemon`).
pub const DAEMON: &str = "ecs_daemon";

/// Unified service tagging's reserved keys, sent only with the values the task definition
/// gives them (`DD_SERVICE`, `DD_ENV`, `DD_VERSION`, or the `com.datadoghq.tags.*` labels).
pub const UNIFIED: [&str; 3] = ["service", "env", "version"];

/// The AWS account id and region, under the names Datadog's AWS integration gives them (its
/// Forwarder tags Lambda logs `aws_account:<id>` and `region:<region>`).
pub const AWS_ACCOUNT: &str = "aws_account";
pub const REGION: &str = "region";
/// The account's name (`ACCOUNT_NAMES`, or AWS Organizations): the project's own key, where
/// Datadog has none.
pub const AWS_ACCOUNT_NAME: &str = "aws_account_name";
