//! The EventBridge envelope and the kinds of event this function acts on: ECS task, deployment
//! and service events, RunTask calls recorded by CloudTrail, AWS Health retirement notices,
//! schedule and rule dead letters, and the periodic missed-run check.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::arn;
use crate::cloudtrail::ApiCall;
use crate::dlq::TargetFailure;
use crate::health::{Affected, HealthEvent};
use crate::lenient;

/// A timestamp as ECS writes it in events (ISO-8601, UTC).
pub type Timestamp = DateTime<Utc>;

/// Why an input could not be read as an ECS event this function handles.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("input is not a JSON object")]
    NotAnObject,
    #[error("SQS record body is not JSON")]
    BodyNotJson,
    #[error("input has no `{0}` field; not an EventBridge event")]
    MissingField(&'static str),
    #[error("event source `{0}` is not aws.ecs, aws.health or aws.events")]
    OtherSource(String),
    #[error("API call `{0}` is not handled (only ecs:RunTask)")]
    OtherApiCall(String),
    #[error("AWS Health event `{0}` is not handled (only AWS_ECS_TASK_PATCHING_RETIREMENT)")]
    OtherHealthEvent(String),
    #[error("detail-type `{0}` is not handled")]
    OtherDetailType(String),
    #[error("event detail is not a JSON object")]
    DetailNotAnObject,
}

/// The fields of the EventBridge envelope that identify and place an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub detail_type: String,
    pub account: String,
    pub region: String,
    pub time: Option<Timestamp>,
    pub resources: Vec<String>,
}

/// An ECS event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A Task State Change; only `STOPPED` ones lead to notices.
    Task(Envelope, Box<Task>),
    /// A Deployment State Change.
    Deployment(Envelope, Deployment),
    /// A Service Action.
    ServiceAction(Envelope, ServiceAction),
    /// An `ecs:RunTask` call recorded by CloudTrail.
    RunTask(Envelope, Box<ApiCall>),
    /// An AWS Health notice that Fargate tasks will be retired.
    Retirement(Envelope, Box<HealthEvent>),
    /// A schedule or rule target that could not launch its task (its dead-letter message).
    TargetFailure(Envelope, Box<TargetFailure>),
    /// The periodic missed-run check (an EventBridge schedule's `Scheduled Event`).
    Check(Envelope),
}

impl Event {
    /// The envelope shared by every kind.
    pub fn envelope(&self) -> &Envelope {
        match self {
            Event::Task(e, _)
            | Event::Deployment(e, _)
            | Event::ServiceAction(e, _)
            | Event::RunTask(e, _)
            | Event::Retirement(e, _)
            | Event::TargetFailure(e, _)
            | Event::Check(e) => e,
        }
    }

    /// The cluster and the service (or, for tasks outside services, the task family) the
    /// event is about, for the function-wide filter.
    pub fn scope(&self) -> (String, String) {
        match self {
            Event::Task(_, task) => {
                let name = task
                    .group
                    .as_deref()
                    .and_then(|g| g.strip_prefix("service:"))
                    .unwrap_or(task.family_revision().0);
                (task.cluster().to_string(), name.to_string())
            }
            Event::Deployment(env, _) => {
                let place = ServiceRef::locate(env, None, None);
                (place.cluster, place.service)
            }
            Event::ServiceAction(env, action) => {
                let place = action.service_ref(env);
                (place.cluster, place.service)
            }
            Event::RunTask(_, call) => (call.cluster().to_string(), call.family().to_string()),
            Event::Retirement(env, health) => {
                match health.affected(&env.resources).into_iter().next() {
                    Some(Affected::Service { cluster, service }) => (cluster, service),
                    Some(Affected::Task { cluster, .. }) => (cluster, String::new()),
                    _ => (String::new(), String::new()),
                }
            }
            Event::TargetFailure(_, f) => (
                f.cluster_name().unwrap_or("").to_string(),
                f.family()
                    .map(str::to_string)
                    .unwrap_or_else(|| f.launcher.name()),
            ),
            Event::Check(_) => (String::new(), String::new()),
        }
    }
}

/// A task as described by a Task State Change event (the DescribeTasks shape, ISO timestamps).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_definition_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub desired_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stop_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopped_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub group: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub started_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub launch_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub capacity_provider_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cpu: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub memory: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pull_started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pull_stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopping_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub execution_stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub stopped_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub containers: Vec<Container>,
}

/// One container of a task.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub image: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub last_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub exit_code: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_arn: Option<String>,
}

impl Container {
    /// The container's name, or `?` when the event left it out.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("?")
    }
}

impl Task {
    /// Fills in the task ARN when the detail lacks it: from the event's `resources` (a task
    /// ARN), else from a container's `taskArn`.
    fn locate(&mut self, envelope: &Envelope) {
        if self.task_arn.as_deref().is_some_and(|a| !a.is_empty()) {
            return;
        }
        self.task_arn = envelope
            .resources
            .iter()
            .find(|r| r.contains(":task/"))
            .cloned()
            .or_else(|| {
                self.containers
                    .iter()
                    .find_map(|c| c.task_arn.clone().filter(|a| a.contains(":task/")))
            });
    }

    /// Whether this event reports the task as stopped.
    pub fn is_stopped(&self) -> bool {
        self.last_status.as_deref() == Some("STOPPED")
    }

    /// The cluster's name (`prod`), from the cluster ARN or else the task ARN; empty when
    /// unknown.
    pub fn cluster(&self) -> &str {
        self.cluster_arn
            .as_deref()
            .map(arn::cluster_name)
            .or_else(|| self.task_arn.as_deref().and_then(arn::task_cluster))
            .unwrap_or("")
    }

    /// The task id (last part of the task ARN), or empty when unknown.
    pub fn task_id(&self) -> &str {
        self.task_arn.as_deref().map(arn::task_id).unwrap_or("")
    }

    /// Task definition family and revision.
    pub fn family_revision(&self) -> (&str, Option<u32>) {
        match self.task_definition_arn.as_deref() {
            Some(arn) => arn::family_revision(arn),
            None => (
                self.group
                    .as_deref()
                    .and_then(|g| g.strip_prefix("family:"))
                    .unwrap_or(""),
                None,
            ),
        }
    }

    /// `FARGATE`, `EC2`, `EXTERNAL`; tasks placed by a capacity provider name it instead.
    pub fn launch_type(&self) -> &str {
        self.launch_type
            .as_deref()
            .or(self.capacity_provider_name.as_deref())
            .unwrap_or("unknown")
    }
}

/// A Deployment State Change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub deployment_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub updated_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
}

/// A Service Action event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAction {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub service: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub capacity_provider_arns: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub container_instance_arns: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub task_arns: Vec<String>,
}

/// Where a service-level event happened: the service and its cluster, from the detail or the
/// event's `resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub service: String,
    pub cluster: String,
}

impl ServiceRef {
    /// Finds the service among `resources` (a service ARN), preferring a name from the detail.
    pub fn locate(
        envelope: &Envelope,
        detail_service: Option<&str>,
        cluster_arn: Option<&str>,
    ) -> Self {
        let service_arn = envelope
            .resources
            .iter()
            .find(|r| arn::service_name(r).is_some());
        let service = detail_service
            .map(|s| arn::service_name(s).unwrap_or(s))
            .or_else(|| service_arn.and_then(|a| arn::service_name(a)))
            .unwrap_or("")
            .to_string();
        let cluster = cluster_arn
            .map(arn::cluster_name)
            .or_else(|| service_arn.and_then(|a| arn::service_cluster(a)))
            .or_else(|| detail_service.and_then(arn::service_cluster))
            .unwrap_or("")
            .to_string();
        Self { service, cluster }
    }
}

impl ServiceAction {
    /// The service this action is about.
    pub fn service_ref(&self, envelope: &Envelope) -> ServiceRef {
        let named = self.service_name.as_deref().or(self.service.as_deref());
        ServiceRef::locate(envelope, named, self.cluster_arn.as_deref())
    }
}

/// Reads one EventBridge event (the Lambda payload) into a typed ECS event.
pub fn decode(input: &Value) -> Result<Event, DecodeError> {
    let obj = input.as_object().ok_or(DecodeError::NotAnObject)?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str);
    let source = text("source").ok_or(DecodeError::MissingField("source"))?;
    let detail_type = text("detail-type").ok_or(DecodeError::MissingField("detail-type"))?;
    if !matches!(source, "aws.ecs" | "aws.health" | "aws.events") {
        return Err(DecodeError::OtherSource(source.to_string()));
    }
    let detail = obj
        .get("detail")
        .ok_or(DecodeError::MissingField("detail"))?;
    if !detail.is_object() {
        return Err(DecodeError::DetailNotAnObject);
    }
    let envelope = Envelope {
        id: text("id").unwrap_or("").to_string(),
        detail_type: detail_type.to_string(),
        account: text("account").unwrap_or("").to_string(),
        region: text("region").unwrap_or("").to_string(),
        time: text("time").and_then(|t| t.parse().ok()),
        resources: obj
            .get("resources")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    // Every field of the detail types is lenient, so decoding an object cannot fail; the
    // fallback keeps that true should a field ever become strict.
    let decoded = match (source, detail_type) {
        ("aws.events", "Scheduled Event") => Event::Check(envelope),
        ("aws.ecs", "AWS API Call via CloudTrail") => {
            let call = ApiCall::deserialize(detail).unwrap_or_default();
            match call.event_name.as_deref() {
                Some("RunTask") => Event::RunTask(envelope, Box::new(call)),
                other => return Err(DecodeError::OtherApiCall(other.unwrap_or("").to_string())),
            }
        }
        ("aws.health", "AWS Health Event") => {
            let health = HealthEvent::deserialize(detail).unwrap_or_default();
            if !health.is_retirement() || health.service.as_deref().is_some_and(|s| s != "ECS") {
                let code = health.event_type_code.unwrap_or_default();
                return Err(DecodeError::OtherHealthEvent(code));
            }
            Event::Retirement(envelope, Box::new(health))
        }
        ("aws.ecs", "ECS Task State Change") => {
            let mut task = Task::deserialize(detail).unwrap_or_default();
            task.locate(&envelope);
            Event::Task(envelope, Box::new(task))
        }
        ("aws.ecs", "ECS Deployment State Change") => Event::Deployment(
            envelope,
            Deployment::deserialize(detail).unwrap_or_default(),
        ),
        ("aws.ecs", "ECS Service Action") => Event::ServiceAction(
            envelope,
            ServiceAction::deserialize(detail).unwrap_or_default(),
        ),
        (_, other) => return Err(DecodeError::OtherDetailType(other.to_string())),
    };
    Ok(decoded)
}

/// The event of one SQS record of a Lambda event: a schedule's or rule's dead letter (told by
/// its message attributes), or the EventBridge event in its body; with the id its deliveries
/// are known by.
pub fn decode_record(record: &Value) -> (String, Result<Event, DecodeError>) {
    if let Some((envelope, failure)) = TargetFailure::from_record(record) {
        return (
            envelope.id.clone(),
            Ok(Event::TargetFailure(envelope, Box::new(failure))),
        );
    }
    let body = record.get("body").and_then(Value::as_str).unwrap_or("");
    match serde_json::from_str::<Value>(body) {
        Ok(payload) => {
            let id = payload
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (id, decode(&payload))
        }
        Err(_) => (String::new(), Err(DecodeError::BodyNotJson)),
    }
}

/// Every event of a Lambda payload: the records of an SQS event, or the one EventBridge event.
pub fn decode_all(payload: &Value) -> Vec<(String, Result<Event, DecodeError>)> {
    match payload.get("Records").and_then(Value::as_array) {
        Some(records) => records.iter().map(decode_record).collect(),
        None => {
            let id = payload.get("id").and_then(Value::as_str).unwrap_or("");
            vec![(id.to_string(), decode(payload))]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_what_is_not_an_ecs_event() {
        assert_eq!(decode(&json!([1])), Err(DecodeError::NotAnObject));
        assert_eq!(decode(&json!({})), Err(DecodeError::MissingField("source")));
        assert_eq!(
            decode(&json!({"source":"aws.ec2","detail-type":"x","detail":{}})),
            Err(DecodeError::OtherSource("aws.ec2".into()))
        );
        assert_eq!(
            decode(
                &json!({"source":"aws.ecs","detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"StopTask"}})
            ),
            Err(DecodeError::OtherApiCall("StopTask".into()))
        );
        assert_eq!(
            decode(
                &json!({"source":"aws.health","detail-type":"AWS Health Event","detail":{"service":"EC2","eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"}})
            ),
            Err(DecodeError::OtherHealthEvent(
                "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED".into()
            ))
        );
        assert_eq!(
            decode(
                &json!({"source":"aws.ecs","detail-type":"ECS Container Instance State Change","detail":{}})
            ),
            Err(DecodeError::OtherDetailType(
                "ECS Container Instance State Change".into()
            ))
        );
        assert_eq!(
            decode(&json!({"source":"aws.ecs","detail-type":"ECS Task State Change","detail":"x"})),
            Err(DecodeError::DetailNotAnObject)
        );
    }

    #[test]
    fn tolerates_missing_and_odd_fields() {
        let ev = decode(&json!({
            "source": "aws.ecs", "detail-type": "ECS Task State Change",
            "detail": {"lastStatus": "STOPPED", "version": "seven", "stoppedAt": "yesterday",
                       "containers": [{"name": "app", "exitCode": null}, 42], "newField": {"a": 1}}
        }))
        .unwrap();
        let Event::Task(env, task) = ev else {
            panic!("not a task")
        };
        assert_eq!(env.id, "");
        assert!(task.is_stopped());
        assert_eq!(task.version, None);
        assert_eq!(task.stopped_at, None);
        assert_eq!(task.containers.len(), 1);
        assert_eq!(task.containers[0].exit_code, None);
        assert_eq!(task.cluster(), "");
        assert_eq!(task.family_revision(), ("", None));
    }

    #[test]
    fn finds_the_service_of_a_service_action() {
        let env = Envelope {
            resources: vec!["arn:aws:ecs:eu-west-1:1:service/prod/checkout-api".into()],
            ..Envelope::default()
        };
        let action = ServiceAction::default();
        assert_eq!(
            action.service_ref(&env),
            ServiceRef {
                service: "checkout-api".into(),
                cluster: "prod".into()
            }
        );
        let named = ServiceAction {
            service_name: Some("billing".into()),
            cluster_arn: Some("arn:aws:ecs:eu-west-1:1:cluster/staging".into()),
            ..ServiceAction::default()
        };
        assert_eq!(
            named.service_ref(&env),
            ServiceRef {
                service: "billing".into(),
                cluster: "staging".into()
            }
        );
    }
}
