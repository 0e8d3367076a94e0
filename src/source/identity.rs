//! What identifies an event, and when it happened: the keys its deliveries are known by, a
//! STOPPED task's stop key (which task, which of its updates, how much it tells), its time.

use chrono::{DateTime, Utc};

use super::ecs::Task;
use super::envelope::Envelope;
use super::event::Event;

/// A STOPPED event of a task, as the stop ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopKey {
    pub task_arn: String,
    /// What tells one STOPPED event from another: its `version` (a redelivery keeps it), else
    /// its event id.
    pub token: String,
    pub version: Option<i64>,
    /// How much the event says about why the task stopped: exit codes, reasons, stop code.
    pub score: u32,
}

impl StopKey {
    /// The key of a STOPPED task event with a task ARN; `None` for anything else.
    pub fn of(envelope: &Envelope, task: &Task) -> Option<StopKey> {
        if !task.is_stopped() {
            return None;
        }
        let task_arn = task.task_arn.clone().filter(|a| !a.is_empty())?;
        let token = match task.version {
            Some(v) => format!("v{v}"),
            None => format!("id:{}", envelope.id),
        };
        Some(StopKey {
            task_arn,
            token,
            version: task.version,
            score: score(task),
        })
    }
}

/// How much a STOPPED event tells: one point per container exit code, per container reason,
/// for the stop reason and for the stop code.
pub fn score(task: &Task) -> u32 {
    let containers: usize = task
        .containers
        .iter()
        .map(|c| usize::from(c.exit_code.is_some()) + usize::from(c.reason.is_some()))
        .sum();
    let task_level =
        usize::from(task.stopped_reason.is_some()) + usize::from(task.stop_code.is_some());
    u32::try_from(containers + task_level).unwrap_or(u32::MAX)
}

impl Event {
    /// The keys a delivery of this event is remembered by: its event id, and the identity of
    /// what it tells (a task's version, a hook's state, an instance's health change, a
    /// CloudTrail call…), which a redelivery under a new event id keeps.
    pub fn identities(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let id = &self.envelope().id;
        if !id.is_empty() {
            keys.push(format!("id:{id}"));
        }
        keys.extend(self.identity());
        keys
    }

    /// What this event tells, as its kind identifies it.
    fn identity(&self) -> Option<String> {
        match self {
            Event::Task(_, task) => {
                let (arn, version) = (task.task_arn.as_ref()?, task.version?);
                Some(format!("task:{arn}#{version}"))
            }
            Event::Hook(_, hook) => {
                let (id, name) = (hook.hook_id.as_ref()?, hook.event_name.as_ref()?);
                Some(format!("hook:{id}:{name}"))
            }
            Event::InstanceHealth(_, health) => {
                let arn = health.container_instance_arn.as_deref().unwrap_or_default();
                let changed = health
                    .health_checks
                    .iter()
                    .filter_map(|c| c.last_status_change)
                    .max()
                    .map(|t| t.timestamp())
                    .unwrap_or_default();
                let status = health.overall_status.as_deref().unwrap_or("");
                Some(format!("instance-health:{arn}:{status}@{changed}"))
            }
            Event::InstanceState(_, state) => {
                let arn = state.container_instance_arn.as_deref().unwrap_or("");
                match (state.status.as_deref(), state.version) {
                    // A status is told once, however many changes of the instance repeat it.
                    (Some(status), _) if status != "ACTIVE" => {
                        Some(format!("instance-status:{arn}:{status}"))
                    }
                    (_, Some(version)) => Some(format!("instance:{arn}#{version}")),
                    _ => None,
                }
            }
            Event::DaemonDeployment(_, deployment) => {
                let id = deployment
                    .daemon_deployment_arn
                    .as_ref()
                    .filter(|id| !id.is_empty())?;
                let name = deployment.event_name.as_ref()?;
                Some(format!("daemon-deployment:{id}:{name}"))
            }
            Event::RunTask(_, call) => {
                let id = call.event_id.as_deref().filter(|id| !id.is_empty())?;
                Some(format!("cloudtrail:{id}"))
            }
            _ => None,
        }
    }

    /// When what the event tells happened: a task's stop, a deployment's or action's own time,
    /// else the event's.
    pub fn happened_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Event::Task(env, task) => task.stopped_at.or(env.time),
            Event::Deployment(env, d) => d.updated_at.or(env.time),
            Event::ServiceAction(env, a) => a.created_at.or(env.time),
            Event::RunTask(env, call) => call.event_time.or(env.time),
            Event::Retirement(env, _) | Event::TargetFailure(env, _) | Event::Check(env) => {
                env.time
            }
            Event::Hook(env, h) => h.updated_at.or(env.time),
            Event::InstanceState(env, s) => s.updated_at.or(env.time),
            Event::DaemonAction(env, a) => a.created_at.or(env.time),
            Event::DaemonDeployment(env, d) => d.updated_at.or(env.time),
            Event::InstanceHealth(env, _) | Event::Other(env, _) => env.time,
        }
    }

    /// The stop key of a STOPPED task event; none for anything else.
    pub fn stop_key(&self) -> Option<StopKey> {
        match self {
            Event::Task(envelope, task) => StopKey::of(envelope, task),
            _ => None,
        }
    }
}
