//! The events of the generated day, each built from a sample of events/ (ids, names, codes and times changed), and their delivery: late, twice, or a task's update first.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{Generator, Live, Service, Stop, Stopped, REGISTRY};
use crate::support;

/// The timestamps of a task's life.
struct Life {
    created: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    stopping: DateTime<Utc>,
    execution_stopped: DateTime<Utc>,
}

impl Generator {
    /// A new task of the service's deployment: its RUNNING event.
    pub(super) fn start_task(&mut self, service: &Service, created: DateTime<Utc>) -> Live {
        let live = Live {
            id: self.rng.task_id(),
            created,
            started: created + self.rng.secs(25.0, 35.0),
            deployment: service.deployment.clone(),
            revision: service.revision,
        };
        let mut e = self.task_event("task-running.json", &live.id);
        self.as_service_task(&mut e, service, &live);
        let pull = self.rng.secs(5.0, 9.0);
        set_start(&mut e["detail"], created, Some(live.started), pull);
        e["detail"]["updatedAt"] = json!(millis(live.started));
        e["time"] = json!(seconds(live.started));
        self.day.running += 1;
        self.send(e);
        live
    }

    /// A service task's STOPPED event, from the sample of its kind of stop; its stop time.
    pub(super) fn stop_service_task(
        &mut self,
        service: &Service,
        task: &Live,
        stop: Stop,
        stopping: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let (sample, ran) = match stop {
            Stop::OutOfMemory => ("task-oom.json", Duration::zero()),
            Stop::HealthCheck => (
                "task-container-health-check.json",
                self.rng.secs(30.1, 30.4),
            ),
            Stop::KilledAfterTimeout => {
                ("task-deployment-replaced.json", self.rng.secs(30.0, 30.6))
            }
            _ => ("task-deployment-replaced.json", self.rng.secs(0.3, 3.0)),
        };
        let mut e = self.task_event(sample, &task.id);
        self.as_service_task(&mut e, service, task);
        let life = Life {
            created: task.created,
            started: Some(task.started),
            stopping,
            execution_stopped: stopping + ran,
        };
        let stopped = set_life(&mut e, &life, self.rng.secs(5.0, 9.0));
        if matches!(
            stop,
            Stop::Deployment | Stop::ScaleIn | Stop::KilledAfterTimeout
        ) {
            let code = match stop {
                Stop::KilledAfterTimeout => 137,
                _ if self.rng.one_in(3) => 0,
                _ => 143,
            };
            e["detail"]["containers"][0]["exitCode"] = json!(code);
            e["detail"]["stoppedReason"] = json!(format!(
                "Scaling activity initiated by (deployment {})",
                task.deployment
            ));
        }
        self.stopped(e, &service.name, stop);
        stopped
    }

    /// The service's names, revision, image and containers on a task event.
    fn as_service_task(&self, e: &mut Value, service: &Service, task: &Live) {
        let d = &mut e["detail"];
        d["group"] = json!(format!("service:{}", service.name));
        d["startedBy"] = json!(task.deployment);
        d["taskDefinitionArn"] = json!(format!(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/{}:{}",
            service.name, task.revision
        ));
        d["containers"][0]["image"] =
            json!(format!("{REGISTRY}/{}:1.{}.0", service.name, task.revision));
        if !service.sidecar {
            keep_first_container(d);
        }
    }

    /// A run of `job` (its rule's or schedule's) created at `created`, and how it stopped.
    pub(super) fn job_run(&mut self, job: &str, rule: bool, stop: Stop, created: DateTime<Utc>) {
        // Now and then the log router ignores SIGTERM and is killed (137) 30 s later.
        let sidecar_killed = stop == Stop::Job && self.rng.one_in(8);
        let sample = match stop {
            Stop::JobExit1 => "task-exit-nonzero.json",
            Stop::ImagePull => "task-image-pull.json",
            _ if sidecar_killed => "task-sidecar-killed-at-shutdown.json",
            _ => "task-job-success.json",
        };
        let id = self.rng.task_id();
        let mut e = self.task_event(sample, &id);
        let image = as_job_run(&mut e, job, rule);
        if stop == Stop::ImagePull {
            not_found(&mut e, &image);
        }
        let life = self.job_life(stop, sidecar_killed, created);
        set_life(&mut e, &life, self.rng.secs(5.0, 9.0));
        self.stopped(e, job, stop);
    }

    /// A run's timestamps: a few minutes of work, or an image that never pulled.
    fn job_life(&mut self, stop: Stop, sidecar_killed: bool, created: DateTime<Utc>) -> Life {
        if stop == Stop::ImagePull {
            let stopping = created + self.rng.secs(45.0, 50.0);
            return Life {
                created,
                started: None,
                stopping,
                execution_stopped: stopping,
            };
        }
        let started = created + self.rng.secs(25.0, 35.0);
        let stopping = started + self.rng.secs(90.0, 900.0);
        let execution_stopped = match sidecar_killed {
            true => stopping + self.rng.secs(30.0, 30.6),
            false => stopping,
        };
        Life {
            created,
            started: Some(started),
            stopping,
            execution_stopped,
        }
    }

    pub(super) fn deployment_event(
        &mut self,
        service: &str,
        id: &str,
        completed: bool,
        at: DateTime<Utc>,
    ) {
        let (sample, state) = match completed {
            true => ("deployment-completed.json", "completed"),
            false => ("deployment-in-progress.json", "in progress"),
        };
        let mut e = self.sample(sample);
        e["id"] = json!(self.rng.uuid());
        e["time"] = json!(seconds(at + Duration::seconds(1)));
        e["resources"] = json!([format!(
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/{service}"
        )]);
        e["detail"]["deploymentId"] = json!(id);
        e["detail"]["updatedAt"] = json!(millis(at));
        e["detail"]["reason"] = json!(format!("ECS deployment {id} {state}."));
        self.send(e);
    }

    /// A stopped task: its STOPPED event; now and then (for a failure, always) a later update
    /// of it, which sometimes arrives first.
    fn stopped(&mut self, e: Value, subject: &str, stop: Stop) {
        let d = &e["detail"];
        let at = time(&d["stoppedAt"]);
        let mut stopped = Stopped {
            task_id: d["taskArn"]
                .as_str()
                .and_then(|a| a.rsplit('/').next())
                .expect("task id")
                .to_string(),
            subject: subject.to_string(),
            stop,
            started: d.get("startedAt").is_some(),
            at,
            deliveries: 0,
            update_first: false,
        };
        let mut first = at + self.lateness();
        if stop.is_failure() || self.rng.one_in(6) {
            let (update, then) = self.update(&e, at);
            self.day.updates += 1;
            if self.rng.one_in(if stop.is_failure() { 2 } else { 3 }) {
                self.day.out_of_order += 1;
                stopped.update_first = true;
                first = then + self.rng.secs(1.0, 30.0);
            }
            stopped.deliveries += self.send_at(update, then);
        }
        stopped.deliveries += self.send_at(e, first);
        self.day.stops.push(stopped);
    }

    /// The next STOPPED change of the task of `e` (version + 1, `updatedAt` moved, a new event
    /// id), and when it arrives.
    fn update(&mut self, e: &Value, stopped: DateTime<Utc>) -> (Value, DateTime<Utc>) {
        let mut update = e.clone();
        let updated = stopped + self.rng.secs(20.0, 90.0);
        update["id"] = json!(self.rng.uuid());
        update["time"] = json!(seconds(updated));
        update["detail"]["updatedAt"] = json!(millis(updated));
        let version = e["detail"]["version"].as_i64().expect("version");
        update["detail"]["version"] = json!(version + 1);
        (update, updated + self.lateness())
    }

    /// Sends `e` a little after its time.
    fn send(&mut self, e: Value) {
        let at = time(&e["time"]) + self.lateness();
        self.send_at(e, at);
    }

    /// Delivers `e` at `at`; now and then again later (the same event id). How many times.
    fn send_at(&mut self, e: Value, at: DateTime<Utc>) -> usize {
        let mut times = 1;
        if self.rng.one_in(12) {
            self.day.duplicates += 1;
            times += 1;
            let again = at + self.rng.secs(1.0, 900.0);
            self.sent.push((again, self.sent.len(), e.clone()));
        }
        self.sent.push((at, self.sent.len(), e));
        times
    }

    /// How late EventBridge delivers: a second or so, now and then minutes.
    fn lateness(&mut self) -> Duration {
        if self.rng.one_in(25) {
            self.day.late += 1;
            self.rng.secs(60.0, 300.0)
        } else {
            self.rng.secs(0.2, 3.0)
        }
    }

    /// Sample `events/NAME`, read once.
    fn sample(&mut self, name: &'static str) -> Value {
        self.samples
            .entry(name)
            .or_insert_with(|| support::sample(name))
            .clone()
    }

    /// Sample `name` as task `id`'s event: the sample's task id replaced, an event id of its own.
    fn task_event(&mut self, name: &'static str, id: &str) -> Value {
        let mut e = self.sample(name);
        let arn = e["detail"]["taskArn"]
            .as_str()
            .expect("taskArn")
            .to_string();
        rename(&mut e, arn.rsplit('/').next().expect("task id"), id);
        e["id"] = json!(self.rng.uuid());
        e
    }
}

/// Every mention of `from` in the event's strings replaced by `to`.
fn rename(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| rename(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rename(v, from, to)),
        _ => {}
    }
}

/// A task without its sidecar (`datadog-agent`): its first container only.
fn keep_first_container(detail: &mut Value) {
    for path in ["/containers", "/overrides/containerOverrides"] {
        if let Some(items) = detail.pointer_mut(path).and_then(Value::as_array_mut) {
            items.truncate(1);
        }
    }
}

/// The job's names, trigger, revision and image on a run's event; its image.
fn as_job_run(e: &mut Value, job: &str, rule: bool) -> String {
    let revision = 7 + job.len();
    let image = format!("{REGISTRY}/{job}:2026.11.{revision}");
    let started_by = match rule {
        true => format!("events-rule/{job}-hourly"),
        false => format!("chronos-schedule/{job}-hourly"),
    };
    let d = &mut e["detail"];
    d["group"] = json!(format!("family:{job}"));
    // ECS cuts `startedBy` to 36 characters.
    d["startedBy"] = json!(started_by.chars().take(36).collect::<String>());
    d["taskDefinitionArn"] = json!(format!(
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/{job}:{revision}"
    ));
    d["containers"][0]["image"] = json!(image);
    image
}

/// A run whose image tag does not exist: the pull error, as the container's and the task's
/// reason.
fn not_found(e: &mut Value, image: &str) {
    let reason = format!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to \
         resolve ref {image}: {image}: not found"
    );
    e["detail"]["containers"][0]["reason"] = json!(reason);
    e["detail"]["stoppedReason"] = json!(reason);
}

/// A task's start: created, connected, its images pulled (for `pull`) and started, if it did.
fn set_start(
    d: &mut Value,
    created: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    pull: Duration,
) {
    let pull_started = created + Duration::milliseconds(17_900);
    d["createdAt"] = json!(millis(created));
    d["connectivityAt"] = json!(millis(created + Duration::milliseconds(3_600)));
    d["pullStartedAt"] = json!(millis(pull_started));
    match started {
        Some(started) => {
            d["pullStoppedAt"] = json!(millis((pull_started + pull).min(started)));
            d["startedAt"] = json!(millis(started));
        }
        None => {
            let detail = d.as_object_mut().expect("detail");
            detail.remove("pullStoppedAt");
            detail.remove("startedAt");
        }
    }
}

/// A stopped task's timestamps from its life (stopped 22.5 s after its execution stopped, as
/// the samples are); its stop time.
fn set_life(e: &mut Value, life: &Life, pull: Duration) -> DateTime<Utc> {
    let stopped = life.execution_stopped + Duration::milliseconds(22_500);
    let d = &mut e["detail"];
    set_start(d, life.created, life.started, pull);
    d["stoppingAt"] = json!(millis(life.stopping));
    d["executionStoppedAt"] = json!(millis(life.execution_stopped));
    d["stoppedAt"] = json!(millis(stopped));
    d["updatedAt"] = json!(millis(stopped));
    e["time"] = json!(seconds(stopped));
    stopped
}

/// `at` as ECS writes its timestamps (milliseconds).
fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `at` as EventBridge writes an event's `time` (seconds).
fn seconds(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A timestamp of an event.
pub(super) fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("no timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text}: {err}"))
        .with_timezone(&Utc)
}
