//! A re-run, I/O: RunTask with a stopped job's settings as stored with its alert (its cluster,
//! task definition revision, overrides, launch type or capacity provider, platform version and
//! network), started by `ecs-notifier/rerun` so its stop is told in the alert's thread.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    KeyValuePair, LaunchType, NetworkConfiguration, TaskOverride,
};
use serde_json::Value;

use crate::interact::alert::{RunSpec, RERUN_STARTED_BY};

/// Starts the task again; its ARN, or why it did not start (an AWS error code, or ECS's
/// failure reason).
pub async fn run(ecs: &aws_sdk_ecs::Client, spec: &RunSpec) -> Result<String, String> {
    let mut call = ecs
        .run_task()
        .cluster(&spec.cluster)
        .task_definition(&spec.task_definition)
        .started_by(RERUN_STARTED_BY)
        .set_platform_version(spec.platform_version.clone())
        .set_group(spec.group.clone())
        .set_overrides(spec.overrides.as_ref().map(overrides))
        .set_network_configuration(network(spec));
    call = match (&spec.capacity_provider, &spec.launch_type) {
        (Some(provider), _) => call.capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider(provider)
                .weight(1)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        (None, Some(launch)) => call.launch_type(LaunchType::from(launch.as_str())),
        (None, None) => call,
    };
    let out = call.send().await.map_err(|e| {
        use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata};
        match e.code() {
            Some(code) => code.to_string(),
            None => DisplayErrorContext(&e)
                .to_string()
                .chars()
                .take(300)
                .collect(),
        }
    })?;
    if let Some(failure) = out.failures().first() {
        return Err(format!(
            "{}: {}",
            failure.reason().unwrap_or("failure"),
            failure.detail().unwrap_or("")
        ));
    }
    out.tasks()
        .first()
        .and_then(|t| t.task_arn())
        .map(str::to_string)
        .ok_or_else(|| "ECS started no task".to_string())
}

/// awsvpc: the stored subnets and security groups; none without subnets.
fn network(spec: &RunSpec) -> Option<NetworkConfiguration> {
    if spec.subnets.is_empty() {
        return None;
    }
    let public = if spec.public_ip {
        AssignPublicIp::Enabled
    } else {
        AssignPublicIp::Disabled
    };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(spec.subnets.clone()))
        .set_security_groups(
            (!spec.security_groups.is_empty()).then(|| spec.security_groups.clone()),
        )
        .assign_public_ip(public)
        .build()
        .ok()?;
    Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    )
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn int(v: &Value, key: &str) -> Option<i32> {
    v.get(key)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// The task event's `overrides` as RunTask's: container command, environment, cpu and memory,
/// the task's cpu, memory and roles.
pub fn overrides(v: &Value) -> TaskOverride {
    let containers = v
        .get("containerOverrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let command = c.get("command").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            });
            let environment = c.get("environment").and_then(Value::as_array).map(|a| {
                a.iter()
                    .map(|e| {
                        KeyValuePair::builder()
                            .set_name(text(e, "name"))
                            .set_value(text(e, "value"))
                            .build()
                    })
                    .collect()
            });
            ContainerOverride::builder()
                .set_name(text(c, "name"))
                .set_command(command)
                .set_environment(environment)
                .set_cpu(int(c, "cpu"))
                .set_memory(int(c, "memory"))
                .set_memory_reservation(int(c, "memoryReservation"))
                .build()
        })
        .collect();
    TaskOverride::builder()
        .set_container_overrides(Some(containers))
        .set_cpu(text(v, "cpu"))
        .set_memory(text(v, "memory"))
        .set_task_role_arn(text(v, "taskRoleArn"))
        .set_execution_role_arn(text(v, "executionRoleArn"))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_carry_over() {
        let o = overrides(&json!({
            "containerOverrides": [{"name": "app", "command": ["run", "--day", "2026-12-04"],
                "environment": [{"name": "MODE", "value": "full"}], "memory": 512}],
            "cpu": "1024", "taskRoleArn": "arn:aws:iam::1:role/job"
        }));
        let c = &o.container_overrides()[0];
        assert_eq!(c.name(), Some("app"));
        assert_eq!(c.command(), ["run", "--day", "2026-12-04"]);
        assert_eq!(c.environment()[0].value(), Some("full"));
        assert_eq!(c.memory(), Some(512));
        assert_eq!(o.cpu(), Some("1024"));
        assert_eq!(o.task_role_arn(), Some("arn:aws:iam::1:role/job"));
        let spec = RunSpec {
            subnets: vec!["subnet-1".into()],
            ..RunSpec::default()
        };
        let net = network(&spec).unwrap();
        let vpc = net.awsvpc_configuration().unwrap();
        assert_eq!(vpc.subnets(), ["subnet-1"]);
        assert_eq!(vpc.assign_public_ip(), Some(&AssignPublicIp::Disabled));
        assert!(network(&RunSpec::default()).is_none());
    }
}
