//! What the function stores when it posts an alert with buttons, and the only thing a button
//! acts on: where the alert is, its message, the service or job and cause it silences, and for
//! a job the stopped task's settings a re-run starts again.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::judge::post::Posted;
use crate::sinks::slack::Message;
use crate::source::Task;

/// The tag that allows a job's re-run (`true`), on its task definition: the function's
/// `ecs:RunTask` permission has the same condition.
pub const RERUN_TAG: &str = "ecs-notifier:rerun";
/// The tag that gives a re-run its security groups (`sg-…`) and, with `public-ip`, a public IP.
pub const RERUN_NETWORK_TAG: &str = "ecs-notifier:rerun-network";
/// `startedBy` of the tasks a re-run starts: their stop is told in the alert's thread.
pub const RERUN_STARTED_BY: &str = "ecs-notifier/rerun";

/// An alert with buttons, as stored in the state table under its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: String,
    pub channel: String,
    pub ts: String,
    /// The message as posted (the acknowledgement edits it).
    pub message: Message,
    /// The service or job and cause in its account ([`silence_key`]): what Silence silences.
    pub silence_key: String,
    /// The service or job, for the thread's words.
    pub subject: String,
    pub task_arn: String,
    /// A job's re-run; none for a service's task.
    #[serde(default)]
    pub rerun: Option<RunSpec>,
    /// Who acknowledged it.
    #[serde(default)]
    pub acknowledged_by: Option<String>,
}

impl AlertRecord {
    /// Where the alert is in Slack.
    pub fn posted(&self) -> Posted {
        Posted {
            channel: self.channel.clone(),
            ts: self.ts.clone(),
        }
    }
}

/// RunTask's input for a re-run: the stopped task's own settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub cluster: String,
    /// With its revision: the same definition runs again.
    pub task_definition: String,
    /// As the task event gave them (`containerOverrides`, `cpu`, `memory`, roles…).
    #[serde(default)]
    pub overrides: Option<Value>,
    #[serde(default)]
    pub launch_type: Option<String>,
    /// The capacity provider the task ran on (a strategy of that one provider).
    #[serde(default)]
    pub capacity_provider: Option<String>,
    #[serde(default)]
    pub platform_version: Option<String>,
    /// awsvpc: the stopped task's subnet (its ENI), the tag's security groups.
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub public_ip: bool,
    /// The task's `group` (`family:…`), kept.
    #[serde(default)]
    pub group: Option<String>,
}

/// What a silence silences: the service or job and cause (the flood key,
/// `cluster/subject/cause`) in its account, so two accounts' clusters of one name stay apart.
pub fn silence_key(account: &str, flood_key: &str) -> String {
    format!("{account}/{flood_key}")
}

/// The id of the alert of a task's stop: the same for every event of that stop, so a fuller
/// update that completes the alert keeps its buttons; not guessable from what Slack shows.
pub fn alert_id(task_arn: &str) -> String {
    let digest = Sha256::digest(format!("ecs-notifier alert {task_arn}").as_bytes());
    hex::encode(&digest[..12])
}

/// The re-run of a stopped job's task, when its task definition is tagged [`RERUN_TAG`] =
/// `true`; none for a service's task (its service starts another) or a task without its
/// cluster or task definition. `tags`: the task definition's and service's, for the two tags.
pub fn run_spec<'a>(
    task: &Task,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<RunSpec> {
    let tags: Vec<(&str, &str)> = tags.into_iter().collect();
    let allowed = tags
        .iter()
        .any(|(k, v)| *k == RERUN_TAG && v.trim() == "true");
    let service = task
        .group
        .as_deref()
        .is_some_and(|g| g.starts_with("service:"));
    if !allowed || service {
        return None;
    }
    let mut spec = RunSpec {
        cluster: task.cluster_arn.clone()?,
        task_definition: task.task_definition_arn.clone()?,
        overrides: task
            .overrides
            .clone()
            .filter(|o| o.as_object().is_some_and(|m| !m.is_empty())),
        launch_type: task.launch_type.clone(),
        capacity_provider: task.capacity_provider_name.clone(),
        platform_version: task.platform_version.clone(),
        subnets: subnets(task.attachments.as_ref()),
        group: task.group.clone(),
        ..RunSpec::default()
    };
    for (key, value) in tags {
        if key != RERUN_NETWORK_TAG {
            continue;
        }
        spec.security_groups.clear();
        for part in value.split([' ', ',', '+']).filter(|p| !p.is_empty()) {
            match part {
                "public-ip" => spec.public_ip = true,
                sg if sg.starts_with("sg-") => spec.security_groups.push(sg.to_string()),
                _ => {}
            }
        }
    }
    Some(spec)
}

/// The subnets of the task's ENI attachments (`details[name=subnetId]`).
fn subnets(attachments: Option<&Value>) -> Vec<String> {
    let Some(list) = attachments.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .flat_map(|a| {
            a.get("details")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|d| d.get("name").and_then(Value::as_str) == Some("subnetId"))
        .filter_map(|d| d.get("value").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(group: &str) -> Task {
        serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc",
            "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/nightly:7",
            "group": group, "launchType": "FARGATE", "platformVersion": "1.4.0",
            "overrides": {"containerOverrides": [{"name": "app", "command": ["run", "--all"]}]},
            "attachments": [{"type": "eni", "details": [
                {"name": "subnetId", "value": "subnet-1"}, {"name": "networkInterfaceId", "value": "eni-1"}]}]
        }))
        .unwrap()
    }

    #[test]
    fn a_jobs_rerun_takes_the_stopped_tasks_settings() {
        let spec = run_spec(
            &task("family:nightly"),
            [
                (RERUN_TAG, "true"),
                (RERUN_NETWORK_TAG, "sg-1 sg-2 public-ip"),
                ("team", "x"),
            ],
        )
        .unwrap();
        assert_eq!(spec.cluster, "arn:aws:ecs:eu-west-1:1:cluster/prod");
        assert_eq!(
            spec.task_definition,
            "arn:aws:ecs:eu-west-1:1:task-definition/nightly:7"
        );
        assert_eq!(spec.subnets, ["subnet-1"]);
        assert_eq!(spec.security_groups, ["sg-1", "sg-2"]);
        assert!(spec.public_ip);
        assert_eq!(
            spec.overrides.unwrap()["containerOverrides"][0]["command"][1],
            "--all"
        );
        assert_eq!(run_spec(&task("service:api"), [(RERUN_TAG, "true")]), None);
        assert_eq!(
            run_spec(&task("family:nightly"), []),
            None,
            "not tagged for re-runs"
        );
    }

    #[test]
    fn alert_ids_are_stable_and_opaque() {
        let a = alert_id("arn:aws:ecs:eu-west-1:1:task/prod/abc");
        assert_eq!(a, alert_id("arn:aws:ecs:eu-west-1:1:task/prod/abc"));
        assert_ne!(a, alert_id("arn:aws:ecs:eu-west-1:1:task/prod/abd"));
        assert_eq!(a.len(), 24);
        assert!(!a.contains("prod"));
    }
}
