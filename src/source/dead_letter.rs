//! Dead-letter messages of EventBridge Scheduler schedules and EventBridge rule targets that
//! could not launch their task, read from an SQS record.

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::envelope::Envelope;

/// What launched (or failed to launch) the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// An EventBridge Scheduler schedule.
    Schedule { group: Option<String>, name: String },
    /// An EventBridge rule.
    Rule { name: String },
}

impl Launcher {
    pub fn kind(&self) -> &'static str {
        match self {
            Launcher::Schedule { .. } => "scheduler",
            Launcher::Rule { .. } => "eventbridge_rule",
        }
    }

    /// `group/name` or `name`.
    pub fn name(&self) -> String {
        match self {
            Launcher::Schedule {
                group: Some(g),
                name,
            } if g != "default" => format!("{g}/{name}"),
            Launcher::Schedule { name, .. } | Launcher::Rule { name } => name.clone(),
        }
    }
}

/// A schedule or rule target that failed, as its dead-letter message tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFailure {
    pub launcher: Launcher,
    /// The schedule's or rule's ARN.
    pub launcher_arn: String,
    pub target_arn: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_attempts: Option<u32>,
    /// `MaximumRetryAttempts` or `MaximumEventAgeInSeconds`, when retries ran out.
    pub exhausted: Option<String>,
    /// When the schedule was due to run (Scheduler).
    pub scheduled_time: Option<DateTime<Utc>>,
    /// The task definition and cluster, when the message body names them.
    pub task_definition: Option<String>,
    pub cluster: Option<String>,
}

fn attribute<'a>(message: &'a SqsMessage, name: &str) -> Option<&'a str> {
    message
        .message_attributes
        .get(name)?
        .string_value
        .as_deref()
        .filter(|v| !v.is_empty())
}

/// `arn:aws:scheduler:region:account:schedule/group/name`, or `.../schedule/name`.
fn schedule(arn: &str) -> Option<Launcher> {
    let path = arn.split(":schedule/").nth(1)?;
    let (group, name) = match path.split_once('/') {
        Some((g, n)) => (Some(g.to_string()), n),
        None => (None, path),
    };
    (!name.is_empty()).then(|| Launcher::Schedule {
        group,
        name: name.to_string(),
    })
}

/// `arn:aws:events:region:account:rule/[bus/]name`.
fn rule(arn: &str) -> Option<Launcher> {
    let path = arn.split(":rule/").nth(1)?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty()).then(|| Launcher::Rule {
        name: name.to_string(),
    })
}

/// Looks for a value under any of `keys`, anywhere in the body (Scheduler's ECS target
/// parameters, or a rule's original event).
fn find_text<'a>(body: &'a Value, keys: &[&str], depth: usize) -> Option<&'a str> {
    match body {
        Value::Object(map) => keys
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .or_else(|| {
                (depth > 0)
                    .then(|| map.values().find_map(|v| find_text(v, keys, depth - 1)))
                    .flatten()
            }),
        Value::Array(items) if depth > 0 => {
            items.iter().find_map(|v| find_text(v, keys, depth - 1))
        }
        _ => None,
    }
}

impl TargetFailure {
    /// Reads an SQS message of a Lambda event. `None`: not a dead-letter message of a schedule
    /// or rule (no `ERROR_CODE` with a `SCHEDULE_ARN` or `RULE_ARN` attribute).
    pub fn from_message<'a>(record: &'a SqsMessage) -> Option<(Envelope, TargetFailure)> {
        let error_code = attribute(record, "ERROR_CODE");
        let schedule_arn = attribute(record, "SCHEDULE_ARN");
        let rule_arn = attribute(record, "RULE_ARN");
        if error_code.is_none() && attribute(record, "ERROR_MESSAGE").is_none() {
            return None;
        }
        let (launcher, launcher_arn) = match (schedule_arn, rule_arn) {
            (Some(arn), _) => (schedule(arn)?, arn),
            (None, Some(arn)) => (rule(arn)?, arn),
            (None, None) => return None,
        };
        let body: Value = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let task_definition = find_text(
            &body,
            &[
                "TaskDefinitionArn",
                "taskDefinitionArn",
                "taskDefinition",
                "TaskDefinition",
            ],
            4,
        )
        .map(str::to_string);
        let cluster =
            find_text(&body, &["Cluster", "cluster", "clusterArn"], 4).map(str::to_string);
        let scheduled_time = attribute(record, "SCHEDULED_TIME")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let sent = record
            .attributes
            .get("SentTimestamp")
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
        let source_arn = record.event_source_arn.as_deref().unwrap_or("");
        let field = |arn: &'a str, i: usize| arn.split(':').nth(i).filter(|f| !f.is_empty());
        let region = field(launcher_arn, 3)
            .or_else(|| field(source_arn, 3))
            .unwrap_or("");
        let account = field(launcher_arn, 4)
            .or_else(|| field(source_arn, 4))
            .unwrap_or("");
        let message_id = record.message_id.as_deref().unwrap_or("");
        let envelope = Envelope {
            id: format!(
                "dlq:{}",
                attribute(record, "EXECUTION_ID").unwrap_or(message_id)
            ),
            detail_type: "Target Failure".into(),
            account: account.to_string(),
            region: region.to_string(),
            time: scheduled_time.or(sent),
            resources: vec![launcher_arn.to_string()],
            replay_name: None,
            warnings: Vec::new(),
        };
        let failure = TargetFailure {
            launcher,
            launcher_arn: launcher_arn.to_string(),
            target_arn: attribute(record, "TARGET_ARN").map(str::to_string),
            error_code: error_code.map(str::to_string),
            error_message: attribute(record, "ERROR_MESSAGE").map(str::to_string),
            retry_attempts: attribute(record, "RETRY_ATTEMPTS").and_then(|n| n.parse().ok()),
            exhausted: attribute(record, "EXHAUSTED_RETRY_CONDITION").map(str::to_string),
            scheduled_time,
            task_definition,
            cluster,
        };
        Some((envelope, failure))
    }

    /// The task definition family the message names, if any.
    pub fn family(&self) -> Option<&str> {
        let td = self.task_definition.as_deref()?;
        Some(super::arn::family_revision(td).0).filter(|f| !f.is_empty())
    }

    /// The cluster's name, if the message names one.
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster.as_deref().map(super::arn::cluster_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn message(record: Value) -> SqsMessage {
        SqsMessage::deserialize(&record).unwrap()
    }

    fn attrs(pairs: &[(&str, &str)]) -> Value {
        let mut map = serde_json::Map::new();
        for (k, v) in pairs {
            map.insert((*k).into(), json!({"stringValue": v, "dataType": "String"}));
        }
        Value::Object(map)
    }

    #[test]
    fn reads_a_scheduler_dead_letter() {
        let record = json!({
            "messageId": "m-1", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:ecs-notifier-target-failures",
            "body": "{\"TaskDefinitionArn\":\"arn:aws:ecs:eu-west-1:111122223333:task-definition/nightly-etl:12\",\"Cluster\":\"arn:aws:ecs:eu-west-1:111122223333:cluster/batch\"}",
            "messageAttributes": attrs(&[
                ("ERROR_CODE", "AccessDeniedException"),
                ("ERROR_MESSAGE", "not authorized to perform: iam:PassRole"),
                ("EXECUTION_ID", "ad06616e51cdf74a"),
                ("RETRY_ATTEMPTS", "0"),
                ("SCHEDULED_TIME", "2026-11-22T02:00:00Z"),
                ("SCHEDULE_ARN", "arn:aws:scheduler:eu-west-1:111122223333:schedule/batch/nightly-etl"),
                ("TARGET_ARN", "arn:aws:scheduler:::aws-sdk:ecs:runTask"),
            ])
        });
        let (env, f) = TargetFailure::from_message(&message(record)).unwrap();
        assert_eq!(env.id, "dlq:ad06616e51cdf74a");
        assert_eq!(env.region, "eu-west-1");
        assert_eq!(env.account, "111122223333");
        assert_eq!(f.launcher.name(), "batch/nightly-etl");
        assert_eq!(f.family(), Some("nightly-etl"));
        assert_eq!(f.cluster_name(), Some("batch"));
        assert_eq!(f.retry_attempts, Some(0));
        assert_eq!(env.time, f.scheduled_time);
    }

    #[test]
    fn reads_a_rule_dead_letter_and_ignores_other_messages() {
        let record = json!({
            "messageId": "m-2", "body": "{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\"}",
            "attributes": {"SentTimestamp": "1795406400000"},
            "messageAttributes": attrs(&[
                ("ERROR_CODE", "InvalidParameterException"),
                ("RULE_ARN", "arn:aws:events:us-east-1:1:rule/hourly-report"),
            ])
        });
        let (env, f) = TargetFailure::from_message(&message(record)).unwrap();
        assert_eq!(
            f.launcher,
            Launcher::Rule {
                name: "hourly-report".into()
            }
        );
        assert_eq!(env.id, "dlq:m-2");
        assert_eq!(env.time.map(|t| t.timestamp()), Some(1_795_406_400));
        assert_eq!(f.family(), None);
        // An EventBridge event on the buffer queue has no such attributes.
        assert!(TargetFailure::from_message(&message(
            json!({"body": "{}", "messageAttributes": {}})
        ))
        .is_none());
        assert!(TargetFailure::from_message(&message(
            json!({"messageAttributes": attrs(&[("ERROR_CODE", "x")])})
        ))
        .is_none());
    }
}
