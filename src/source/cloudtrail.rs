//! An `ecs:RunTask` call recorded by CloudTrail (`AWS API Call via CloudTrail`): who launched
//! what, and why ECS refused it.

use serde::Deserialize;

use super::arn;
use super::lenient;

/// The caller of an API call, from `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub invoked_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub session_context: SessionContext,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    #[serde(default, deserialize_with = "lenient::object")]
    pub session_issuer: SessionIssuer,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub user_name: Option<String>,
}

/// The RunTask request, as CloudTrail records it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cluster: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub task_definition: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub launch_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub started_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub group: Option<String>,
}

/// One task RunTask could not start.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Failure {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunTaskResponse {
    #[serde(default, deserialize_with = "lenient::records")]
    pub failures: Vec<Failure>,
    #[serde(default, deserialize_with = "lenient::records")]
    pub tasks: Vec<serde::de::IgnoredAny>,
}

/// The `detail` of an `AWS API Call via CloudTrail` event for `ecs:RunTask`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_time: Option<super::envelope::Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub aws_region: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub error_message: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub user_identity: UserIdentity,
    #[serde(default, deserialize_with = "lenient::object")]
    pub request_parameters: RunTaskRequest,
    #[serde(default, deserialize_with = "lenient::object")]
    pub response_elements: RunTaskResponse,
}

/// Who made the call, in words and as a Datadog tag value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An EventBridge rule target, through its role.
    EventBridgeRule {
        role: String,
    },
    /// An EventBridge Scheduler schedule, through its execution role.
    Scheduler {
        role: String,
    },
    /// A Step Functions state machine, through its role.
    StepFunctions {
        role: String,
    },
    /// Another AWS service.
    Service {
        name: String,
    },
    /// A person or a tool: an IAM user, an SSO user, a role session.
    Principal {
        name: String,
    },
    Unknown,
}

impl Caller {
    /// `launcher` tag value.
    pub fn kind(&self) -> &'static str {
        match self {
            Caller::EventBridgeRule { .. } => "eventbridge_rule",
            Caller::Scheduler { .. } => "scheduler",
            Caller::StepFunctions { .. } => "step_functions",
            Caller::Service { .. } => "aws_service",
            Caller::Principal { .. } => "principal",
            Caller::Unknown => "unknown",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Caller::EventBridgeRule { role } => format!("an EventBridge rule (role {role})"),
            Caller::Scheduler { role } => format!("EventBridge Scheduler (role {role})"),
            Caller::StepFunctions { role } => format!("Step Functions (role {role})"),
            Caller::Service { name } => format!("the AWS service {name}"),
            Caller::Principal { name } => name.clone(),
            Caller::Unknown => "an unknown caller".into(),
        }
    }
}

impl UserIdentity {
    /// Who made the call. Services acting through a role show as the role, `invokedBy` naming
    /// the service; Scheduler is told apart by its role's name when `invokedBy` is absent.
    pub fn caller(&self) -> Caller {
        let role = self
            .session_context
            .session_issuer
            .user_name
            .clone()
            .or_else(|| {
                self.session_context
                    .session_issuer
                    .arn
                    .as_deref()
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            })
            .unwrap_or_else(|| "?".into());
        let invoked_by = self.invoked_by.as_deref().unwrap_or("");
        match invoked_by {
            "events.amazonaws.com" => return Caller::EventBridgeRule { role },
            "scheduler.amazonaws.com" => return Caller::Scheduler { role },
            "states.amazonaws.com" => return Caller::StepFunctions { role },
            _ => {}
        }
        let lower = role.to_ascii_lowercase();
        if invoked_by.is_empty() && lower.contains("scheduler") {
            return Caller::Scheduler { role };
        }
        if !invoked_by.is_empty() && !invoked_by.starts_with("signin.") {
            return Caller::Service {
                name: invoked_by.to_string(),
            };
        }
        match self.kind.as_deref() {
            Some("IAMUser") => Caller::Principal {
                name: format!(
                    "IAM user {}",
                    self.user_name
                        .as_deref()
                        .unwrap_or_else(|| self.arn.as_deref().unwrap_or("?"))
                ),
            },
            Some("Root") => Caller::Principal {
                name: "the account's root user".into(),
            },
            Some("AssumedRole") => {
                // arn:aws:sts::123:assumed-role/Role/session: the session names the person
                // for SSO users, the tool otherwise.
                let session = self
                    .arn
                    .as_deref()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or("?");
                Caller::Principal {
                    name: format!("{session} (role {role})"),
                }
            }
            Some(other) => Caller::Principal {
                name: format!(
                    "{other} {}",
                    self.arn
                        .as_deref()
                        .unwrap_or(self.user_name.as_deref().unwrap_or("?"))
                ),
            },
            None => Caller::Unknown,
        }
    }
}

impl ApiCall {
    /// Whether RunTask refused to start some or all of the tasks.
    pub fn failed(&self) -> bool {
        self.error_code.is_some() || !self.response_elements.failures.is_empty()
    }

    /// The cluster's name (`default` when the request named none, as ECS does).
    pub fn cluster(&self) -> &str {
        match self.request_parameters.cluster.as_deref() {
            Some(c) if !c.is_empty() => arn::cluster_name(c),
            _ => "default",
        }
    }

    /// The task definition family (from `family`, `family:rev` or an ARN).
    pub fn family(&self) -> &str {
        arn::family_revision(self.task_definition()).0
    }

    /// The task definition as requested, without its ARN prefix.
    pub fn task_definition(&self) -> &str {
        arn::task_definition(
            self.request_parameters
                .task_definition
                .as_deref()
                .unwrap_or(""),
        )
    }

    /// A short cause for the Datadog tag and flood key: the error code, or the first failure's
    /// reason class (`resource_memory`, `capacity`, `agent`).
    pub fn cause(&self) -> String {
        if let Some(code) = &self.error_code {
            return code.clone();
        }
        let reason = self
            .response_elements
            .failures
            .first()
            .and_then(|f| f.reason.as_deref())
            .unwrap_or("unknown");
        if reason
            .to_ascii_lowercase()
            .contains("capacity is unavailable")
        {
            return "capacity".into();
        }
        reason
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(v: serde_json::Value) -> ApiCall {
        ApiCall::deserialize(&v).unwrap()
    }

    #[test]
    fn reads_failures_and_errors_leniently() {
        let c = call(json!({
            "eventName": "RunTask", "errorCode": "AccessDenied",
            "requestParameters": {"cluster": "arn:aws:ecs:eu-west-1:1:cluster/batch",
                                  "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/etl:7", "count": 1},
            "responseElements": null
        }));
        assert!(c.failed());
        assert_eq!(c.cluster(), "batch");
        assert_eq!(c.family(), "etl");
        assert_eq!(c.task_definition(), "etl:7");
        assert_eq!(c.cause(), "AccessDenied");

        let c = call(json!({
            "requestParameters": {"taskDefinition": "etl"},
            "responseElements": {"tasks": [], "failures": [{"arn": null, "reason": "Capacity is unavailable at this time."}, 3]}
        }));
        assert!(c.failed());
        assert_eq!(c.cluster(), "default");
        assert_eq!(c.cause(), "capacity");

        let ok = call(json!({"responseElements": {"tasks": [{"taskArn": "x"}], "failures": []}}));
        assert!(!ok.failed());
        let odd = call(
            json!({"requestParameters": "x", "responseElements": [1], "userIdentity": {"type": 5}}),
        );
        assert!(!odd.failed());
        assert_eq!(odd.user_identity.caller(), Caller::Unknown);
    }

    #[test]
    fn names_the_caller() {
        let role = |invoked_by: Option<&str>, role: &str| {
            let mut v = json!({"type": "AssumedRole",
                "arn": format!("arn:aws:sts::1:assumed-role/{role}/0123abcd"),
                "sessionContext": {"sessionIssuer": {"arn": format!("arn:aws:iam::1:role/{role}"), "userName": role}}});
            if let Some(by) = invoked_by {
                v["invokedBy"] = json!(by);
            }
            UserIdentity::deserialize(&v).unwrap().caller()
        };
        assert_eq!(
            role(Some("events.amazonaws.com"), "ecsEventsRole"),
            Caller::EventBridgeRule {
                role: "ecsEventsRole".into()
            }
        );
        assert_eq!(
            role(Some("states.amazonaws.com"), "sfn").kind(),
            "step_functions"
        );
        assert_eq!(role(None, "nightly-scheduler-role").kind(), "scheduler");
        assert_eq!(
            role(None, "AWSReservedSSO_Admin_0a1b"),
            Caller::Principal {
                name: "0123abcd (role AWSReservedSSO_Admin_0a1b)".into()
            }
        );
        let user = UserIdentity::deserialize(&json!({"type": "IAMUser", "userName": "alice"}))
            .unwrap()
            .caller();
        assert_eq!(user.describe(), "IAM user alice");
    }
}
