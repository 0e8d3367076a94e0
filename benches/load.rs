//! Load run of the release `ecs-notifier` (`scripts/load`): 10,000 ECS Task State Change
//! STOPPED events of 200 services, wrapped in SQS records and handed to the binary in batches
//! of 10 (the template's default `BatchSize`), one batch per invocation, through a Lambda
//! Runtime API (2018-06-01) emulated here on 127.0.0.1, with Slack and Datadog replaced by
//! loopback sinks that count what arrives.
//!
//! The events are built from events/task-*.json: `group: service:svc-000`..`svc-199` (job
//! runs: `family:svc-NNN`, started by an EventBridge schedule), each with its own event id,
//! task ARN and `version`, every timestamp shifted so the stops spread over 20 minutes of event
//! time ending 5 minutes ago (flood windows open and close). The mix: ≈85 % expected stops
//! (deployments, scale-in), ≈10 % successful scheduled jobs, ≈5 % failures of ten kinds spread
//! over services, plus one crash-looping service, `svc-crash`, whose tasks are killed for
//! running out of memory every 0.8 s for the whole 20 minutes (1,500 stops by default). The
//! batches follow stop time, as a standard queue roughly does.
//!
//! What must arrive is worked out with the library itself (`decode` + `judge` per event, and
//! `flood::admit` in event-time order per batch, as `handle_batch` does): the `ecs.task.stops`
//! count sum must be exactly the number of events and every distribution value must arrive;
//! the Slack posts are compared with that simulation. Slack pacing (≥ 1 s between posts to one
//! webhook within an invocation) is real waiting: the report shows how much of the wall time it
//! accounts for.
//!
//! ```sh
//! scripts/load     # cargo build --release, then:
//! cargo bench --bench load -- --load --bin target/release/ecs-notifier \
//!     [--events 10000] [--services 200] [--crash 1500] [--batch 10] [--seed N]
//! ```
//!
//! Prints a Markdown table; exits non-zero when a metric point is missing, a record is
//! reported in `batchItemFailures`, or the binary fails (does not start, crashes, reports an
//! error or goes quiet). Under `cargo test --all-targets` (no `--load`) it only says how to run.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use ecs_notifier::judge::flood::{admit, Admission, FloodState};
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::source::decode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::process::Child;
use tokio::task::JoinHandle;

mod support;
use support::{lambda_command, lock, series_of, Error, Reported, RuntimeApi};

const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:ecs-notifier-buffer";
const SLACK_PATH: &str = "/services/T000/B000/LOADWEBHOOK";
/// Longest the harness waits for one invocation's result, or for the first `/next`.
const WAIT: Duration = Duration::from_secs(60);
/// The function's flood window (set explicitly so the simulation matches).
const FLOOD_WINDOW_SECONDS: i64 = 600;
/// Event time covered by the stops, ending `END_AGO` before now.
const SPAN: chrono::Duration = chrono::Duration::minutes(20);
const END_AGO: chrono::Duration = chrono::Duration::minutes(5);
/// Linux `USER_HZ`, the unit of utime/stime in /proc/PID/stat.
const CLOCK_TICKS: f64 = 100.0;
const CRASH_SERVICE: &str = "svc-crash";

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

struct Args {
    bin: PathBuf,
    events: usize,
    services: usize,
    crash: usize,
    batch: usize,
    seed: u64,
}

const USAGE: &str = "usage: cargo bench --bench load -- --load --bin PATH [--events N] \
[--services N] [--crash N] [--batch N] [--seed N]";

/// `None`: not asked for a load run (`cargo test`), nothing to do.
fn parse_args() -> Result<Option<Args>, Error> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if !raw.iter().any(|a| a == "--load") {
        return Ok(None);
    }
    let mut bin = std::env::var_os("ECS_NOTIFIER_BIN").map(PathBuf::from);
    let mut args = Args {
        bin: PathBuf::new(),
        events: 10_000,
        services: 200,
        crash: 1_500,
        batch: 10,
        seed: 0x5eed_10ad,
    };
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            // `cargo bench` adds `--bench`.
            "--load" | "--bench" => {}
            "--bin" => bin = Some(value()?.into()),
            "--events" => args.events = value()?.parse()?,
            "--services" => args.services = value()?.parse()?,
            "--crash" => args.crash = value()?.parse()?,
            "--batch" => args.batch = value()?.parse()?,
            "--seed" => args.seed = value()?.parse()?,
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let bin = bin.ok_or_else(|| format!("--bin is missing\n{USAGE}"))?;
    if !bin.is_file() {
        return Err(format!(
            "--bin: {} is not a file (cargo build --release builds it)",
            bin.display()
        )
        .into());
    }
    args.bin = bin;
    args.services = args.services.max(1);
    args.batch = args.batch.clamp(1, 10_000);
    args.crash = args.crash.min(args.events);
    Ok(Some(args))
}

// ------------------------------------------------------------------------------------------
// Lambda Runtime API emulator
// ------------------------------------------------------------------------------------------

// ------------------------------------------------------------------------------------------
// Loopback sinks
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Sinks {
    /// Slack posts per webhook path.
    slack: Mutex<BTreeMap<String, u64>>,
    /// Slack posts naming the crash-looping service, and those among them that summarise.
    slack_crash: AtomicU64,
    slack_crash_summaries: AtomicU64,
    distribution_requests: AtomicU64,
    /// Values in `/api/v1/distribution_points` bodies.
    distribution_values: AtomicU64,
    series_requests: AtomicU64,
    /// Values of the `ecs.task.stops` distribution (one per stopped task).
    stopped_sum: Mutex<f64>,
    /// Points of `/api/v2/series` (none expected: task events send distributions only).
    other_series_points: AtomicU64,
    event_requests: AtomicU64,
    /// Requests to any other path, or bodies that are not what Datadog expects.
    unexpected: AtomicU64,
}

async fn slack(State(s): State<Arc<Sinks>>, uri: Uri, body: Bytes) -> &'static str {
    *lock(&s.slack).entry(uri.path().to_string()).or_default() += 1;
    let text = String::from_utf8_lossy(&body);
    if text.contains(CRASH_SERVICE) {
        s.slack_crash.fetch_add(1, Ordering::SeqCst);
        if text.contains("held back") {
            s.slack_crash_summaries.fetch_add(1, Ordering::SeqCst);
        }
    }
    "ok"
}

async fn distributions(State(s): State<Arc<Sinks>>, body: Bytes) -> Response {
    s.distribution_requests.fetch_add(1, Ordering::SeqCst);
    match series_of(&body) {
        Some(series) => {
            // {"series": [{"metric": m, "points": [[ts, [v, ...]], ...]}, ...]}: one value of 1
            // per stopped task for `ecs.task.stops`, durations for the others.
            let mut stopped = 0usize;
            for one in &series {
                let values: usize = one
                    .get("points")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get(1)?.as_array().map(Vec::len))
                    .sum();
                if one.get("metric").and_then(Value::as_str) == Some("ecs.task.stops") {
                    stopped += values;
                } else {
                    s.distribution_values
                        .fetch_add(values as u64, Ordering::SeqCst);
                }
            }
            *lock(&s.stopped_sum) += stopped as f64;
        }
        None => {
            s.unexpected.fetch_add(1, Ordering::SeqCst);
        }
    }
    (StatusCode::ACCEPTED, r#"{"status":"ok"}"#).into_response()
}

async fn series(State(s): State<Arc<Sinks>>, body: Bytes) -> Response {
    s.series_requests.fetch_add(1, Ordering::SeqCst);
    match series_of(&body) {
        Some(series) => {
            // Task events send no series: every point here is unexpected.
            for one in &series {
                let points = one.get("points").and_then(Value::as_array);
                s.other_series_points
                    .fetch_add(points.map_or(0, Vec::len) as u64, Ordering::SeqCst);
            }
        }
        None => {
            s.unexpected.fetch_add(1, Ordering::SeqCst);
        }
    }
    (StatusCode::ACCEPTED, r#"{"errors":[]}"#).into_response()
}

async fn dd_event(State(s): State<Arc<Sinks>>) -> Response {
    s.event_requests.fetch_add(1, Ordering::SeqCst);
    (StatusCode::ACCEPTED, r#"{"status":"ok"}"#).into_response()
}

async fn elsewhere(State(s): State<Arc<Sinks>>) -> StatusCode {
    s.unexpected.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}

async fn start_sinks(sinks: Arc<Sinks>) -> Result<(String, JoinHandle<()>), Error> {
    let app = Router::new()
        .route("/services/{*hook}", post(slack))
        .route("/api/v1/distribution_points", post(distributions))
        .route("/api/v2/series", post(series))
        .route("/api/v1/events", post(dd_event))
        .fallback(elsewhere)
        .with_state(sinks);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, server))
}

// ------------------------------------------------------------------------------------------
// Events
// ------------------------------------------------------------------------------------------

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A task template of events/.
struct Template {
    name: &'static str,
    value: Value,
    task_id: String,
    stopped_at: DateTime<Utc>,
}

impl Template {
    fn load(name: &'static str) -> Result<Self, Error> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("events")
            .join(format!("{name}.json"));
        let value: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let detail = &value["detail"];
        let arn = detail["taskArn"]
            .as_str()
            .ok_or_else(|| format!("{name}: no detail.taskArn"))?;
        let task_id = arn.rsplit('/').next().unwrap_or_default().to_string();
        let stopped_at = detail["stoppedAt"]
            .as_str()
            .or(value["time"].as_str())
            .ok_or_else(|| format!("{name}: no detail.stoppedAt"))?;
        let stopped_at = DateTime::parse_from_rfc3339(stopped_at)?.with_timezone(&Utc);
        Ok(Self {
            name,
            value,
            task_id,
            stopped_at,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mix {
    Expected,
    Success,
    Failure,
    Crash,
}

impl Mix {
    fn label(self) -> &'static str {
        match self {
            Mix::Expected => "expected stops (deployment, scale-in)",
            Mix::Success => "successful scheduled jobs",
            Mix::Failure => "failures (10 kinds)",
            Mix::Crash => "crash loop (`svc-crash`, OOM)",
        }
    }
}

const EXPECTED: &[&str] = &["task-deployment-replaced", "task-scale-in"];
const SUCCESS: &[&str] = &["task-job-success"];
const FAILURE: &[&str] = &[
    "task-oom",
    "task-container-health-check",
    "task-elb-health-check",
    "task-exit-command-not-found",
    "task-exit-nonzero",
    "task-exit-segfault",
    "task-image-pull",
    "task-resource-init-secrets",
    "task-failed-to-start-other",
    "task-stop-timeout-on-deploy",
];

struct Templates {
    expected: Vec<Template>,
    success: Vec<Template>,
    failure: Vec<Template>,
    crash: Template,
}

impl Templates {
    fn load() -> Result<Self, Error> {
        let all = |names: &[&'static str]| -> Result<Vec<Template>, Error> {
            names.iter().map(|n| Template::load(n)).collect()
        };
        Ok(Self {
            expected: all(EXPECTED)?,
            success: all(SUCCESS)?,
            failure: all(FAILURE)?,
            crash: Template::load("task-oom")?,
        })
    }
}

/// One event to send: what it is, and the generated EventBridge event.
struct Generated {
    mix: Mix,
    template: &'static str,
    service: String,
    at: DateTime<Utc>,
    event: Value,
}

/// Every RFC 3339 timestamp moved by `by`; every mention of the template's task renamed.
fn rewrite(value: &mut Value, by: chrono::Duration, from_task: &str, to_task: &str) {
    match value {
        Value::String(s) => {
            if s.contains(from_task) {
                *s = s.replace(from_task, to_task);
            } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                let format = if s.contains('.') {
                    SecondsFormat::Millis
                } else {
                    SecondsFormat::Secs
                };
                *s = (t.with_timezone(&Utc) + by).to_rfc3339_opts(format, true);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rewrite(v, by, from_task, to_task)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| rewrite(v, by, from_task, to_task)),
        _ => {}
    }
}

fn build(t: &Template, mix: Mix, service: &str, service_no: usize, at: DateTime<Utc>) -> Value {
    let mut event = t.value.clone();
    // Ids are set once the events are in stop-time order; a placeholder task id until then.
    rewrite(&mut event, at - t.stopped_at, &t.task_id, &t.task_id);
    let detail = &mut event["detail"];
    let revision = 3 + service_no % 40;
    detail["taskDefinitionArn"] =
        format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:{revision}").into();
    if mix == Mix::Success {
        detail["group"] = format!("family:{service}").into();
        detail["startedBy"] = format!("chronos-schedule/{service}-nightly").into();
    } else {
        detail["group"] = format!("service:{service}").into();
        detail["startedBy"] =
            format!("ecs-svc/{:019}", 1_000_000_007u64 * (service_no as u64 + 1)).into();
    }
    event
}

/// The events in stop-time order, with distinct event ids, task ARNs and versions.
fn generate(args: &Args, templates: &Templates) -> Vec<Generated> {
    let mut rng = Rng(args.seed);
    let end = Utc::now() - END_AGO;
    let start = end - SPAN;
    let span_ms = SPAN.num_milliseconds() as u64;
    let mut out = Vec::with_capacity(args.events);
    for _ in 0..args.events - args.crash {
        let roll = rng.below(1000);
        let (mix, pool) = match roll {
            0..850 => (Mix::Expected, &templates.expected),
            850..950 => (Mix::Success, &templates.success),
            _ => (Mix::Failure, &templates.failure),
        };
        let t = &pool[rng.below(pool.len() as u64) as usize];
        let service_no = rng.below(args.services as u64) as usize;
        let service = format!("svc-{service_no:03}");
        let at = start + chrono::Duration::milliseconds(rng.below(span_ms) as i64);
        let event = build(t, mix, &service, service_no, at);
        out.push(Generated {
            mix,
            template: t.name,
            service,
            at,
            event,
        });
    }
    for j in 0..args.crash {
        // A few tasks restarting in turn: a stop every SPAN / crash, ± 100 ms.
        let step = span_ms / args.crash.max(1) as u64;
        let jitter = rng.below(200) as i64 - 100;
        let at = start + chrono::Duration::milliseconds((j as u64 * step) as i64 + jitter);
        let event = build(&templates.crash, Mix::Crash, CRASH_SERVICE, 999, at);
        out.push(Generated {
            mix: Mix::Crash,
            template: templates.crash.name,
            service: CRASH_SERVICE.into(),
            at,
            event,
        });
    }
    out.sort_by_key(|g| g.at);
    for (n, g) in out.iter_mut().enumerate() {
        let template = match g.mix {
            Mix::Crash => &templates.crash,
            _ => [&templates.expected, &templates.success, &templates.failure]
                .into_iter()
                .flatten()
                .find(|t| t.name == g.template)
                .unwrap_or(&templates.crash),
        };
        let task_id = format!("{:08x}{:024x}", 0x10ad_u32, n);
        rewrite(
            &mut g.event,
            chrono::Duration::zero(),
            &template.task_id,
            &task_id,
        );
        g.event["id"] = format!("10ad0000-0000-4000-8000-{n:012x}").into();
        g.event["detail"]["version"] = (2 + (n % 7) as u64).into();
    }
    out
}

/// What must reach the sinks, from the library's own decisions.
#[derive(Default)]
struct Expected {
    stopped_sum: f64,
    distribution_values: u64,
    slack_posts: u64,
    slack_crash_alerts: u64,
    slack_crash_summaries: u64,
    /// Σ over batches of (Slack posts − 1): seconds the function must wait for pacing.
    pacing_seconds: u64,
    /// Most Slack posts in one batch.
    max_posts_per_batch: u64,
    /// Events per mix, per `result`, and invalid ones.
    per_mix: BTreeMap<Mix, u64>,
    per_verdict: BTreeMap<String, u64>,
    invalid: u64,
    failure_keys: usize,
}

fn expect(events: &[Generated], batch: usize) -> Expected {
    let now = Utc::now();
    let window = chrono::Duration::seconds(FLOOD_WINDOW_SECONDS);
    let mut e = Expected::default();
    let mut floods: HashMap<String, FloodState> = HashMap::new();
    for chunk in events.chunks(batch) {
        let mut plans = Vec::new();
        for g in chunk {
            *e.per_mix.entry(g.mix).or_default() += 1;
            match decode(&g.event) {
                Ok(event) => {
                    let p = judge(&event, &Enrichment::default(), &Options::default(), now);
                    let stopped = p.datadog.count_of("ecs.task.stops");
                    e.distribution_values += (p.datadog.values() - stopped) as u64;
                    e.stopped_sum += stopped as f64;
                    *e.per_verdict.entry(p.summary.verdict.clone()).or_default() += 1;
                    plans.push((p, g.service == CRASH_SERVICE));
                }
                Err(_) => e.invalid += 1,
            }
        }
        // As handle_batch: flood decisions in event-time order within the batch.
        plans.sort_by_key(|(p, _)| p.at);
        let mut posts = 0;
        for (p, crash) in &plans {
            if p.notice.is_none() {
                continue;
            }
            let admission = match &p.flood_key {
                Some(key) => {
                    let identity = p.dedupe_keys.last().cloned().unwrap_or_default();
                    let at = p.at.unwrap_or(now);
                    let (admission, next) = admit(floods.get(key), &identity, at, window);
                    if let Some(state) = next {
                        floods.insert(key.clone(), state);
                    }
                    admission
                }
                None => Admission::Alert,
            };
            let summary = matches!(admission, Admission::Summary { .. });
            if admission == Admission::Suppress {
                continue;
            }
            posts += 1;
            if *crash {
                if summary {
                    e.slack_crash_summaries += 1;
                } else {
                    e.slack_crash_alerts += 1;
                }
            }
        }
        e.slack_posts += posts;
        e.pacing_seconds += posts.saturating_sub(1);
        e.max_posts_per_batch = e.max_posts_per_batch.max(posts);
    }
    e.failure_keys = floods.len();
    e
}

fn sqs_batch(chunk: &[Generated], first: usize) -> Result<Value, Error> {
    let records = chunk
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let n = first + k;
            let body = serde_json::to_string(&g.event)?;
            Ok(json!({
                "messageId": format!("5a1e0000-0000-4000-8000-{n:012x}"),
                "receiptHandle": format!("AQEB{n:016x}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": g.at.timestamp_millis().to_string(),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": g.at.timestamp_millis().to_string(),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "eu-west-1",
            }))
        })
        .collect::<Result<Vec<Value>, Error>>()?;
    Ok(json!({ "Records": records }))
}

// ------------------------------------------------------------------------------------------
// The function process
// ------------------------------------------------------------------------------------------

struct Process {
    child: Child,
    pid: u32,
    api: RuntimeApi,
    log: PathBuf,
}

impl Process {
    async fn spawn(bin: &Path, env: &[(&str, String)], log: PathBuf) -> Result<Self, Error> {
        let api = RuntimeApi::start(support::FUNCTION_TIMEOUT, true).await;
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let child = lambda_command(bin, &api)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("the process has no id")?;
        Ok(Self {
            child,
            pid,
            api,
            log,
        })
    }

    fn failure(&self, what: String) -> Error {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "ecs-notifier (pid {}): {what}\nlast lines of {}:\n{}",
            self.pid,
            self.log.display(),
            tail.join("\n")
        )
        .into()
    }

    async fn report(&mut self) -> Result<Reported, Error> {
        let result = tokio::select! {
            r = self.api.reported.recv() => Ok(r),
            status = self.child.wait() => Err(format!("exited ({status:?})")),
            _ = tokio::time::sleep(WAIT) => Err(format!("nothing reached the Runtime API within {WAIT:?}")),
        };
        match result {
            Ok(Some(Reported::InitError { body, .. })) => {
                Err(self.failure(format!("init error: {body}")))
            }
            Ok(Some(Reported::Unexpected { uri, .. })) => {
                Err(self.failure(format!("unexpected Runtime API request {uri}")))
            }
            Ok(Some(reported)) => Ok(reported),
            Ok(None) => Err(self.failure("the Runtime API emulator stopped".into())),
            Err(what) => Err(self.failure(what)),
        }
    }

    /// Hands out one SQS batch and returns the response body (`batchItemFailures`).
    async fn invoke(&mut self, request_id: &str, payload: &Value) -> Result<Value, Error> {
        if !self.api.queue(request_id, serde_json::to_vec(payload)?) {
            return Err("the Runtime API emulator stopped".into());
        }
        loop {
            match self.report().await? {
                Reported::Polled { .. } => continue,
                Reported::Response {
                    request_id: id,
                    body,
                    ..
                } if id == request_id => return Ok(serde_json::from_str(&body)?),
                Reported::Error {
                    request_id: id,
                    body,
                    ..
                } if id == request_id => {
                    return Err(self.failure(format!("invocation {id} reported an error: {body}")))
                }
                other => {
                    return Err(self.failure(format!(
                        "expected the result of {request_id}, got {other:?}"
                    )))
                }
            }
        }
    }

    fn proc_status(&self, name: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// User and system CPU seconds so far.
    fn cpu(&self) -> (f64, f64) {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) / CLOCK_TICKS, ticks(12) / CLOCK_TICKS)
    }

    async fn stop(mut self) -> Result<(), Error> {
        let _ = self.child.start_kill();
        tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .map_err(|_| self.failure("did not exit after SIGKILL".into()))??;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Run and report
// ------------------------------------------------------------------------------------------

struct Measured {
    batches: usize,
    init: Duration,
    wall: Duration,
    latencies: Vec<Duration>,
    batch_item_failures: usize,
    hwm_kb: u64,
    rss_kb: u64,
    cpu: (f64, f64),
    log: PathBuf,
    log_lines: usize,
}

fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB ({kb} kB)", kb as f64 / 1024.0)
}

fn ok(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn report(args: &Args, e: &Expected, m: &Measured, s: &Sinks) -> (String, bool) {
    let mut t = String::new();
    let wall = m.wall.as_secs_f64();
    let slack = lock(&s.slack).clone();
    let slack_total: u64 = slack.values().sum();
    let stopped = *lock(&s.stopped_sum);
    let dist = s.distribution_values.load(Ordering::SeqCst);
    let unexpected = s.unexpected.load(Ordering::SeqCst);
    let crash_posts = s.slack_crash.load(Ordering::SeqCst);
    let crash_summaries = s.slack_crash_summaries.load(Ordering::SeqCst);
    let points_ok = stopped.round() as u64 == args.events as u64
        && (stopped - e.stopped_sum).abs() < 0.5
        && dist == e.distribution_values
        && e.invalid == 0;
    let slack_ok = slack_total == e.slack_posts
        && crash_posts == e.slack_crash_alerts + e.slack_crash_summaries
        && crash_summaries == e.slack_crash_summaries;
    let failures_ok = m.batch_item_failures == 0 && unexpected == 0;

    let _ = writeln!(t, "| | measured | expected | |\n|---|---|---|---|");
    let mix: Vec<String> = e
        .per_mix
        .iter()
        .map(|(k, v)| format!("{v} {}", k.label()))
        .collect();
    let _ = writeln!(
        t,
        "| events (STOPPED, {} services + `svc-crash`) | {} | {} | |",
        args.services,
        args.events,
        mix.join(", ")
    );
    let verdicts: Vec<String> = e
        .per_verdict
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(
        t,
        "| verdicts (library's `judge`) | {} | | |",
        verdicts.join(", ")
    );
    let _ = writeln!(
        t,
        "| SQS batches (invocations, {} records each) | {} | {} | |",
        args.batch,
        m.batches,
        args.events.div_ceil(args.batch)
    );
    let _ = writeln!(
        t,
        "| init: spawn → first `GET /next` | {} | | |",
        ms(m.init)
    );
    let _ = writeln!(t, "| wall time of the batches | {wall:.2} s | | |");
    let _ = writeln!(
        t,
        "| events per second | {:.0} | | |",
        args.events as f64 / wall.max(1e-9)
    );
    let paced = e.pacing_seconds as f64;
    let unpaced = (wall - paced).max(1e-3);
    let _ = writeln!(
        t,
        "| Slack pacing wait (≥ 1 s per extra post to one webhook in a batch) | ≈ {paced:.0} s ({:.0} % of wall; max {} posts in one batch) | | |",
        100.0 * paced / wall.max(1e-9),
        e.max_posts_per_batch
    );
    let _ = writeln!(
        t,
        "| events per second, pacing wait excluded | {:.0} | | |",
        args.events as f64 / unpaced
    );
    let _ = writeln!(
        t,
        "| invocation latency median / p99 / max | {} / {} / {} | | |",
        ms(quantile(&m.latencies, 0.5)),
        ms(quantile(&m.latencies, 0.99)),
        ms(quantile(&m.latencies, 1.0))
    );
    let _ = writeln!(
        t,
        "| function CPU time user + system | {:.2} s + {:.2} s ({:.0} µs per event) | | |",
        m.cpu.0,
        m.cpu.1,
        (m.cpu.0 + m.cpu.1) * 1e6 / args.events.max(1) as f64
    );
    let per_hook: Vec<String> = slack.iter().map(|(k, v)| format!("`{k}`: {v}")).collect();
    let _ = writeln!(
        t,
        "| Slack messages sent (per webhook) | {slack_total} ({}) | {} (flood simulation over {} failure keys) | {} |",
        per_hook.join(", "),
        e.slack_posts,
        e.failure_keys,
        ok(slack_total == e.slack_posts)
    );
    let _ = writeln!(
        t,
        "| … of them for the crash loop (alert + summaries) | {crash_posts} ({} + {crash_summaries}) | {} ({} + {}) of {} stops | {} |",
        crash_posts.saturating_sub(crash_summaries),
        e.slack_crash_alerts + e.slack_crash_summaries,
        e.slack_crash_alerts,
        e.slack_crash_summaries,
        args.crash,
        ok(crash_posts == e.slack_crash_alerts + e.slack_crash_summaries
            && crash_summaries == e.slack_crash_summaries)
    );
    let _ = writeln!(
        t,
        "| Datadog requests: `/api/v2/series` / `/api/v1/distribution_points` / `/api/v1/events` | {} / {} / {} | ≤ {} / ≤ {} / 0 (one per endpoint per batch) | |",
        s.series_requests.load(Ordering::SeqCst),
        s.distribution_requests.load(Ordering::SeqCst),
        s.event_requests.load(Ordering::SeqCst),
        m.batches,
        m.batches
    );
    let _ = writeln!(
        t,
        "| `ecs.task.stops` values (one per stopped task) | {stopped} | {} | {} |",
        args.events,
        ok(stopped.round() as u64 == args.events as u64)
    );
    let _ = writeln!(
        t,
        "| distribution values (`ecs.task.duration`, `startup_duration`, `pull_duration`) | {dist} | {} | {} |",
        e.distribution_values,
        ok(dist == e.distribution_values)
    );
    let other = s.other_series_points.load(Ordering::SeqCst);
    if other > 0 || unexpected > 0 || e.invalid > 0 {
        let _ = writeln!(
            t,
            "| other series points / unexpected sink requests / events the library rejects | {other} / {unexpected} / {} | 0 / 0 / 0 | {} |",
            e.invalid,
            ok(unexpected == 0 && e.invalid == 0)
        );
    }
    let _ = writeln!(
        t,
        "| `batchItemFailures` total | {} | 0 | {} |",
        m.batch_item_failures,
        ok(m.batch_item_failures == 0)
    );
    let _ = writeln!(
        t,
        "| peak RSS (VmHWM) after the run (RSS now) | {} ({}) | | |",
        mib(m.hwm_kb),
        mib(m.rss_kb)
    );
    let _ = writeln!(
        t,
        "| function log | {} lines in `{}` | | |",
        m.log_lines,
        m.log.display()
    );
    if !slack_ok {
        let _ = writeln!(
            t,
            "\nSlack posts differ from the flood simulation (benches/load.rs `expect`): check flood control or the harness."
        );
    }
    (t, points_ok && failures_ok)
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!(
                "benches/load.rs runs under `scripts/load`: it needs the release binary \
                 (cargo bench --bench load -- --load --bin target/release/ecs-notifier)"
            );
            return;
        }
        Err(err) => {
            eprintln!("load bench: {err}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("load bench: {err}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("load bench FAILED: metric points missing or records reported failed");
            std::process::exit(1);
        }
        Err(err) => {
            eprintln!("load bench FAILED: {err}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Args) -> Result<bool, Error> {
    let templates = Templates::load()?;
    let events = generate(&args, &templates);
    let expected = expect(&events, args.batch);
    let payloads: Vec<Value> = events
        .chunks(args.batch)
        .enumerate()
        .map(|(b, chunk)| sqs_batch(chunk, b * args.batch))
        .collect::<Result<_, _>>()?;
    drop(events);

    let sinks = Arc::new(Sinks::default());
    let (url, _server) = start_sinks(sinks.clone()).await?;
    let log_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-load");
    std::fs::create_dir_all(&log_dir)?;
    let log = log_dir.join("ecs-notifier.log");
    let env = [
        ("SLACK_WEBHOOK_URL", format!("{url}{SLACK_PATH}")),
        ("DD_API_KEY", "load-dd-api-key".to_string()),
        ("DD_API_URL", url.clone()),
        ("ENRICHMENT", "off".to_string()),
        ("FLOOD_WINDOW_SECONDS", FLOOD_WINDOW_SECONDS.to_string()),
        // The model above is flood control per service; incident grouping, which would fold
        // the 200 services' failures of one cause into grouped messages, has its own tests
        // (tests/it/incidents.rs).
        ("GROUP_WINDOW_SECONDS", "0".to_string()),
    ];
    eprintln!(
        "load bench: {} events in {} batches through {} (log: {})",
        args.events,
        payloads.len(),
        args.bin.display(),
        log.display()
    );
    let spawned = Instant::now();
    let mut process = Process::spawn(&args.bin, &env, log.clone()).await?;
    match process.report().await? {
        Reported::Polled { .. } => {}
        other => return Err(process.failure(format!("expected a GET /next first, got {other:?}"))),
    }
    let init = spawned.elapsed();

    let mut latencies = Vec::with_capacity(payloads.len());
    let mut batch_item_failures = 0;
    let started = Instant::now();
    for (b, payload) in payloads.iter().enumerate() {
        let at = Instant::now();
        let response = process.invoke(&format!("load-{b:06}"), payload).await?;
        latencies.push(at.elapsed());
        let failures = response
            .get("batchItemFailures")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                process.failure(format!("batch {b}: no batchItemFailures in {response}"))
            })?;
        batch_item_failures += failures.len();
        if (b + 1) % 100 == 0 {
            eprintln!(
                "load bench: {} batches, {:.1} s",
                b + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let wall = started.elapsed();
    let hwm_kb = process.proc_status("VmHWM:");
    let rss_kb = process.proc_status("VmRSS:");
    let cpu = process.cpu();
    // The sinks answered before each invocation ended; let the last handlers finish counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    process.stop().await?;
    let log_lines = std::fs::read_to_string(&log)
        .map(|l| l.lines().count())
        .unwrap_or(0);

    let measured = Measured {
        batches: payloads.len(),
        init,
        wall,
        latencies,
        batch_item_failures,
        hwm_kb,
        rss_kb,
        cpu,
        log,
        log_lines,
    };
    let (table, pass) = report(&args, &expected, &measured, &sinks);
    print!("{table}");
    Ok(pass)
}
