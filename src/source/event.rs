//! The kinds of event this function acts on, told apart by source and detail type: ECS task,
//! deployment and service events, RunTask calls recorded by CloudTrail, AWS Health retirement
//! notices, schedule and rule dead letters, and the periodic missed-run check.

use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;

use super::cloudtrail::ApiCall;
use super::daemon::{DaemonAction, DaemonDeployment};
use super::dead_letter::TargetFailure;
use super::ecs::{Deployment, ServiceAction, ServiceRef, Task};
use super::envelope::Envelope;
use super::health::{Affected, HealthEvent};
use super::hook::Hook;
use super::instance::{InstanceHealth, InstanceState};
use super::lenient;
use super::other::OtherEcs;
use super::warnings::{shown, Warning};

/// Why an input could not be read as an ECS event this function handles.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input, as shown (`a list`), is no object.
    #[error("input is {0}, not a JSON object")]
    NotAnObject(String),
    #[error("SQS record body is not JSON")]
    BodyNotJson,
    /// A field of the SQS record has the wrong shape: which, and why.
    #[error("SQS record is not an SQS message: {0}")]
    NotSqsMessage(String),
    #[error("input has no `{0}` field; not an EventBridge event")]
    MissingField(&'static str),
    /// `source` or `detail-type` is there, but not a string (its value as shown).
    #[error("`{0}` is {1}, not a string; not an EventBridge event")]
    NotText(&'static str, String),
    #[error("event source `{0}` is not aws.ecs, aws.health or aws.events")]
    OtherSource(String),
    #[error("API call `{0}` is not handled (only ecs:RunTask)")]
    OtherApiCall(String),
    #[error("AWS Health event `{0}` is not handled (only AWS_ECS_TASK_PATCHING_RETIREMENT)")]
    OtherHealthEvent(String),
    #[error("detail-type `{0}` is not handled")]
    OtherDetailType(String),
    /// The detail, as shown (`"oops"`, `a list`), is no object.
    #[error("`detail` is {0}, not a JSON object")]
    DetailNotAnObject(String),
    /// A field of the EventBridge envelope has the wrong shape (`time`, `resources`): which,
    /// and why.
    #[error("EventBridge envelope not understood: {0}")]
    Envelope(String),
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
    /// A deployment lifecycle hook changed status.
    Hook(Envelope, Box<Hook>),
    /// A container instance's health changed.
    InstanceHealth(Envelope, Box<InstanceHealth>),
    /// A container instance's state changed (status, agent connection, resources).
    InstanceState(Envelope, Box<InstanceState>),
    /// A managed daemon's service action (a daemon task that cannot start).
    DaemonAction(Envelope, Box<DaemonAction>),
    /// A managed daemon's deployment changed state.
    DaemonDeployment(Envelope, Box<DaemonDeployment>),
    /// An `aws.ecs` event of a kind this function does not know.
    Other(Envelope, Box<OtherEcs>),
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
            | Event::Check(e)
            | Event::Hook(e, _)
            | Event::InstanceHealth(e, _)
            | Event::InstanceState(e, _)
            | Event::DaemonAction(e, _)
            | Event::DaemonDeployment(e, _)
            | Event::Other(e, _) => e,
        }
    }

    /// What decoding had to drop or coerce in the event's detail, field by field.
    pub fn warnings(&self) -> &[Warning] {
        &self.envelope().warnings
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
            Event::Hook(_, hook) => (hook.cluster().to_string(), hook.service().to_string()),
            Event::InstanceHealth(_, h) => (h.cluster().to_string(), String::new()),
            Event::InstanceState(_, s) => (s.cluster().to_string(), String::new()),
            Event::DaemonAction(_, a) => {
                let (daemon, cluster) = a.place();
                (cluster, daemon)
            }
            Event::DaemonDeployment(_, d) => {
                let (daemon, cluster) = d.place();
                (cluster, daemon)
            }
            Event::Other(_, o) => (o.cluster().to_string(), o.subject().to_string()),
        }
    }
}

/// Reads one EventBridge event (the Lambda payload) into a typed ECS event. The envelope is
/// `aws_lambda_events`' EventBridge event (the periodic check's Scheduled Event too); the detail
/// of each kind is read leniently, what had to be dropped or coerced noted on the envelope.
pub fn decode(input: &Value) -> Result<Event, DecodeError> {
    let obj = input
        .as_object()
        .ok_or_else(|| DecodeError::NotAnObject(shown(input)))?;
    let text = |key: &'static str| match obj.get(key) {
        None | Some(Value::Null) => Err(DecodeError::MissingField(key)),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(DecodeError::NotText(key, shown(other))),
    };
    let source = text("source")?;
    let detail_type = text("detail-type")?;
    if !matches!(source, "aws.ecs" | "aws.health" | "aws.events") {
        return Err(DecodeError::OtherSource(source.to_string()));
    }
    let detail = obj
        .get("detail")
        .ok_or(DecodeError::MissingField("detail"))?;
    if !detail.is_object() {
        return Err(DecodeError::DetailNotAnObject(shown(detail)));
    }
    let envelope = Envelope::read(input).map_err(|e| DecodeError::Envelope(e.to_string()))?;
    decode_kind(source, detail_type, envelope, detail)
}

/// The event `make` builds of the envelope and the detail read as `T`, what reading had to drop
/// or coerce noted on the envelope.
fn with<T: DeserializeOwned + Default>(
    mut envelope: Envelope,
    detail: &Value,
    make: impl FnOnce(Envelope, T) -> Event,
) -> Event {
    let (value, warnings) = lenient::detail(detail);
    envelope.warnings = warnings;
    make(envelope, value)
}

/// The event of the kind `source` and `detail_type` tell, its detail read leniently (which
/// cannot fail on an object: every field of the detail types is lenient).
fn decode_kind(
    source: &str,
    detail_type: &str,
    mut envelope: Envelope,
    detail: &Value,
) -> Result<Event, DecodeError> {
    let decoded = match (source, detail_type) {
        ("aws.events", "Scheduled Event") => Event::Check(envelope),
        ("aws.ecs", "AWS API Call via CloudTrail") => {
            let (call, warnings) = lenient::detail::<ApiCall>(detail);
            envelope.warnings = warnings;
            match call.event_name.as_deref() {
                Some("RunTask") => Event::RunTask(envelope, Box::new(call)),
                other => return Err(DecodeError::OtherApiCall(other.unwrap_or("").to_string())),
            }
        }
        ("aws.health", "AWS Health Event") => {
            let (health, warnings) = lenient::detail::<HealthEvent>(detail);
            envelope.warnings = warnings;
            if !health.is_retirement() || health.service.as_deref().is_some_and(|s| s != "ECS") {
                let code = health.event_type_code.unwrap_or_default();
                return Err(DecodeError::OtherHealthEvent(code));
            }
            Event::Retirement(envelope, Box::new(health))
        }
        ("aws.ecs", "ECS Task State Change") => {
            with(envelope, detail, |envelope, mut task: Task| {
                task.locate(&envelope);
                Event::Task(envelope, Box::new(task))
            })
        }
        ("aws.ecs", "ECS Deployment State Change") => with(envelope, detail, Event::Deployment),
        ("aws.ecs", "ECS Service Action") => with(envelope, detail, Event::ServiceAction),
        ("aws.ecs", "ECS Hook State Change") => {
            with(envelope, detail, |e, d| Event::Hook(e, Box::new(d)))
        }
        ("aws.ecs", "ECS Container Instance Health Change") => with(envelope, detail, |e, d| {
            Event::InstanceHealth(e, Box::new(d))
        }),
        ("aws.ecs", "ECS Container Instance State Change") => with(envelope, detail, |e, d| {
            Event::InstanceState(e, Box::new(d))
        }),
        ("aws.ecs", "ECS Daemon Service Action") => {
            with(envelope, detail, |e, d| Event::DaemonAction(e, Box::new(d)))
        }
        ("aws.ecs", "ECS Daemon Deployment State Change") => with(envelope, detail, |e, d| {
            Event::DaemonDeployment(e, Box::new(d))
        }),
        // What ECS adds next: its warnings and errors still reach people.
        ("aws.ecs", _) => with(envelope, detail, |e, d| Event::Other(e, Box::new(d))),
        (_, other) => return Err(DecodeError::OtherDetailType(other.to_string())),
    };
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_what_is_not_an_ecs_event() {
        assert_eq!(
            decode(&json!([1])).unwrap_err().to_string(),
            "input is a list, not a JSON object"
        );
        assert_eq!(
            decode(&json!({"source": 5, "detail-type": "x"}))
                .unwrap_err()
                .to_string(),
            "`source` is 5, not a string; not an EventBridge event"
        );
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
            decode(&json!({"source":"aws.health","detail-type":"Something","detail":{}})),
            Err(DecodeError::OtherDetailType("Something".into()))
        );
        assert!(matches!(
            decode(
                &json!({"source":"aws.ecs","detail-type":"ECS Something New","detail":{"eventType":"ERROR"}})
            ),
            Ok(Event::Other(..))
        ));
        assert_eq!(
            decode(&json!({"source":"aws.ecs","detail-type":"ECS Task State Change","detail":"x"}))
                .unwrap_err()
                .to_string(),
            "`detail` is \"x\", not a JSON object"
        );
        let bad_time = json!({"source":"aws.ecs","detail-type":"ECS Task State Change",
                              "time": "yesterday", "detail": {}});
        assert_eq!(
            decode(&bad_time).unwrap_err().to_string(),
            "EventBridge envelope not understood: `time` is \"yesterday\": input contains invalid characters"
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
        // Each drop is noted with its path; the unknown field is not.
        let warned: Vec<String> = env.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warned,
            [
                "detail.containers[1]: not an object (42), dropped",
                "detail.stoppedAt: not a timestamp (\"yesterday\"), dropped",
                "detail.version: not an integer (\"seven\"), dropped",
            ]
        );
    }

    #[test]
    fn reads_plain_conversions_and_says_so() {
        let ev = decode(&json!({
            "source": "aws.ecs", "detail-type": "ECS Task State Change",
            "detail": {"lastStatus": "STOPPED", "version": 3.0, "stoppedAt": 1795000000,
                       "startedAt": 1794999000123_i64, "cpu": 256,
                       "containers": [{"name": "app", "exitCode": "1"}]}
        }))
        .unwrap();
        let Event::Task(_, task) = &ev else {
            panic!("not a task")
        };
        assert_eq!(task.containers[0].exit_code, Some(1));
        assert_eq!(task.version, Some(3));
        assert_eq!(task.cpu, None);
        let at = |t: &Option<crate::source::Timestamp>| t.map(|t| t.to_rfc3339());
        assert_eq!(
            at(&task.stopped_at).as_deref(),
            Some("2026-11-18T11:06:40+00:00")
        );
        assert_eq!(
            at(&task.started_at).as_deref(),
            Some("2026-11-18T10:50:00.123+00:00")
        );
        let warned: Vec<String> = ev.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(
            warned,
            [
                "detail.containers[0].exitCode: \"1\" read as 1",
                "detail.cpu: not a string (256), dropped",
                "detail.startedAt: epoch milliseconds 1794999000123 read as 2026-11-18T10:50:00.123Z",
                "detail.stoppedAt: epoch seconds 1795000000 read as 2026-11-18T11:06:40Z",
                "detail.version: 3.0 read as 3",
            ]
        );
    }
}
