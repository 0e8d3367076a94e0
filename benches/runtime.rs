//! The runtime half of `make bench`: the release `ecs-notifier` and an empty Rust Lambda
//! (examples/empty_lambda.rs), both built with the release profile by `scripts/bench`, each run
//! as AWS Lambda runs a custom runtime against a Lambda Runtime API (2018-06-01) emulated here on
//! 127.0.0.1, with Slack and Datadog replaced by loopback sinks that count what arrives.
//!
//! It builds nothing: the binaries come from the command line (or `ECS_NOTIFIER_BIN`,
//! `EMPTY_LAMBDA_BIN`). For each binary it measures
//! - init: from spawning the process to its first `GET /runtime/invocation/next` (median of
//!   `--spawns`, binaries interleaved so background load hits both alike);
//! - first-event latency: from handing out the first event to receiving its `/response`, in a
//!   fresh process (the same spawns);
//! - warm latency over `--events` more events in one process: median and p99 (both functions'
//!   processes alive, taking turns in chunks of 100 events);
//! - peak RSS (`VmHWM` in /proc/PID/status) after the first event, after 1,000 events, halfway
//!   and at the end, to show whether memory grows with the number of events once the bounded
//!   caches are full;
//! - that every event's Slack post and Datadog points reached the sinks.
//!
//! The events are events/task-oom.json (a failure: one Slack post, three distribution points
//! and a count) with a distinct event id, task ARN and `version` each, so the function's dedupe
//! never short-cuts one, and `FLOOD_WINDOW_SECONDS=0`, so flood control holds none back.
//! Enrichment is off. The function's logs go to files under `CARGO_TARGET_TMPDIR`.
//!
//! ```sh
//! scripts/bench          # builds both binaries, runs benches/pipeline.rs, then this
//! cargo bench --bench runtime -- --ecs-notifier target/release/ecs-notifier \
//!     --empty target/release/examples/empty_lambda [--events 10000] [--spawns 20] \
//!     [--criterion target/criterion] [--zip x86_64=/tmp/bootstrap.zip]
//! ```
//!
//! It prints a Markdown table of both binaries side by side with the budgets of the issue and
//! PASS/MISS for each; it exits non-zero only when the harness itself fails (a binary that does
//! not start, crashes or does not answer). Under `cargo test --all-targets` (no `--bench`
//! argument) it only says how to run it.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::source::decode;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::Child;
use tokio::task::JoinHandle;
use tokio::time::timeout;

mod support;
use support::{lambda_command, series_of, Error, Reported, RuntimeApi};

const SLACK_PATH: &str = "/services/T000/B000/BENCHWEBHOOK";
/// Longest the harness waits for a process to poll `/next`, or for one result.
const WAIT: Duration = Duration::from_secs(20);
/// Where memory is read during the warm run, besides halfway and the end. Growth is judged on
/// the second half only: the bounded dedupe log (8,192 keys, two per task event) fills during
/// the first 4,096 events, so memory may rise until then, never after.
const RSS_CHECKPOINT: usize = 1_000;
/// Warm events one function gets before the other's turn.
const WARM_CHUNK: usize = 100;

// Budgets of the issue.
const INIT_RATIO_BUDGET: f64 = 2.0;
const WARM_MEDIAN_BUDGET: Duration = Duration::from_millis(1);
const PURE_BUDGET_NS: f64 = 20_000.0;
const RSS_BUDGET_KB: u64 = 16 * 1024;
/// "No growth": the peak at the end may exceed the peak halfway by at most this.
const RSS_GROWTH_TOLERANCE_KB: u64 = 1024;
const ZIP_BUDGET_BYTES: u64 = 4 * 1024 * 1024;

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

struct Args {
    ecs_notifier: PathBuf,
    empty: PathBuf,
    events: usize,
    spawns: usize,
    criterion: Option<PathBuf>,
    /// `(label, path)` of deployment zips to report.
    zips: Vec<(String, PathBuf)>,
}

const USAGE: &str = "usage: cargo bench --bench runtime -- --ecs-notifier PATH --empty PATH \
[--events N] [--spawns N] [--criterion DIR] [--zip LABEL=PATH]...";

/// `None`: not run as a benchmark (`cargo test`), nothing to do.
fn parse_args() -> Result<Option<Args>, Error> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if !raw.iter().any(|a| a == "--bench") {
        return Ok(None);
    }
    let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let mut ecs_notifier = env_path("ECS_NOTIFIER_BIN");
    let mut empty = env_path("EMPTY_LAMBDA_BIN");
    let mut events = 10_000;
    let mut spawns = 20;
    let mut criterion = None;
    let mut zips = Vec::new();
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--bench" => {}
            "--ecs-notifier" => ecs_notifier = Some(value()?.into()),
            "--empty" => empty = Some(value()?.into()),
            "--events" => events = value()?.parse()?,
            "--spawns" => spawns = value()?.parse()?,
            "--criterion" => criterion = Some(value()?.into()),
            "--zip" => {
                let v = value()?;
                let (label, path) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--zip wants LABEL=PATH, not {v}"))?;
                zips.push((label.to_string(), path.into()));
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let need = |p: Option<PathBuf>, what: &str| -> Result<PathBuf, Error> {
        let p = p.ok_or_else(|| format!("{what} is missing\n{USAGE}"))?;
        if !p.is_file() {
            return Err(format!(
                "{what}: {} is not a file (scripts/bench builds it)",
                p.display()
            )
            .into());
        }
        Ok(p)
    };
    Ok(Some(Args {
        ecs_notifier: need(ecs_notifier, "--ecs-notifier")?,
        empty: need(empty, "--empty")?,
        events: events.max(1),
        spawns: spawns.max(1),
        criterion,
        zips,
    }))
}

// ------------------------------------------------------------------------------------------
// Lambda Runtime API emulator
// ------------------------------------------------------------------------------------------

// ------------------------------------------------------------------------------------------
// Loopback sinks
// ------------------------------------------------------------------------------------------

/// What reached the sinks.
#[derive(Default)]
struct Counters {
    slack_posts: AtomicU64,
    /// Values in `/api/v1/distribution_points` bodies, but for `ecs.task.stops`.
    distribution_values: AtomicU64,
    /// Values of `ecs.task.stops` (one per stopped task) in those bodies.
    stopped_count: AtomicU64,
    datadog_events: AtomicU64,
    /// Requests to any other path, or bodies that are not what Datadog expects.
    unexpected: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Arrived {
    slack_posts: u64,
    distribution_values: u64,
    stopped_count: u64,
    datadog_events: u64,
    unexpected: u64,
}

impl Arrived {
    fn since(self, before: Arrived) -> Arrived {
        Arrived {
            slack_posts: self.slack_posts - before.slack_posts,
            distribution_values: self.distribution_values - before.distribution_values,
            stopped_count: self.stopped_count - before.stopped_count,
            datadog_events: self.datadog_events - before.datadog_events,
            unexpected: self.unexpected - before.unexpected,
        }
    }

    fn times(self, n: u64) -> Arrived {
        Arrived {
            slack_posts: self.slack_posts * n,
            distribution_values: self.distribution_values * n,
            stopped_count: self.stopped_count * n,
            datadog_events: self.datadog_events * n,
            unexpected: self.unexpected * n,
        }
    }
}

impl Counters {
    fn snapshot(&self) -> Arrived {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Arrived {
            slack_posts: get(&self.slack_posts),
            distribution_values: get(&self.distribution_values),
            stopped_count: get(&self.stopped_count),
            datadog_events: get(&self.datadog_events),
            unexpected: get(&self.unexpected),
        }
    }
}

async fn slack(State(c): State<Arc<Counters>>) -> &'static str {
    c.slack_posts.fetch_add(1, Ordering::SeqCst);
    "ok"
}

async fn distributions(State(c): State<Arc<Counters>>, body: Bytes) -> Response {
    match series_of(&body) {
        Some(series) => {
            // {"series": [{"metric": m, "points": [[ts, [v, ...]], ...]}, ...]}
            for one in &series {
                let values: usize = one
                    .get("points")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get(1)?.as_array().map(Vec::len))
                    .sum();
                let counter = if one.get("metric").and_then(Value::as_str) == Some("ecs.task.stops")
                {
                    &c.stopped_count
                } else {
                    &c.distribution_values
                };
                counter.fetch_add(values as u64, Ordering::SeqCst);
            }
        }
        None => {
            c.unexpected.fetch_add(1, Ordering::SeqCst);
        }
    }
    (StatusCode::ACCEPTED, r#"{"status":"ok"}"#).into_response()
}

/// Task events send no series (only the missed-run check sends gauges).
async fn series(State(c): State<Arc<Counters>>) -> Response {
    c.unexpected.fetch_add(1, Ordering::SeqCst);
    (StatusCode::ACCEPTED, r#"{"errors":[]}"#).into_response()
}

async fn dd_event(State(c): State<Arc<Counters>>) -> Response {
    c.datadog_events.fetch_add(1, Ordering::SeqCst);
    (StatusCode::ACCEPTED, r#"{"status":"ok"}"#).into_response()
}

async fn elsewhere(State(c): State<Arc<Counters>>) -> StatusCode {
    c.unexpected.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}

async fn start_sinks(counters: Arc<Counters>) -> Result<(String, JoinHandle<()>), Error> {
    let app = Router::new()
        .route(SLACK_PATH, post(slack))
        .route("/api/v1/distribution_points", post(distributions))
        .route("/api/v2/series", post(series))
        .route("/api/v1/events", post(dd_event))
        .fallback(elsewhere)
        .with_state(counters);
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

/// events/task-oom.json with a distinct event id, task and `version` per `n`.
struct Events {
    template: Value,
    task_id: String,
}

impl Events {
    fn load() -> Result<Self, Error> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("events/task-oom.json");
        let template: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let arn = template["detail"]["taskArn"]
            .as_str()
            .ok_or("events/task-oom.json: no detail.taskArn")?;
        let task_id = arn.rsplit('/').next().unwrap_or_default().to_string();
        Ok(Self { template, task_id })
    }

    fn bytes(&self, spawn: usize, n: usize) -> Result<Vec<u8>, Error> {
        Ok(serde_json::to_vec(&self.nth(spawn, n))?)
    }

    fn nth(&self, spawn: usize, n: usize) -> Value {
        let mut event = self.template.clone();
        let task_id = format!("{:08x}{:024x}", spawn, n);
        event["id"] = format!("00000000-0000-4000-8000-{:04x}{:08x}", spawn, n).into();
        event["detail"]["version"] = (7 + n as u64).into();
        self.retask(&mut event, &task_id);
        event
    }

    /// Every string naming the template's task names the new one instead.
    fn retask(&self, value: &mut Value, task_id: &str) {
        match value {
            Value::String(s) if s.contains(&self.task_id) => *s = s.replace(&self.task_id, task_id),
            Value::Array(items) => items.iter_mut().for_each(|v| self.retask(v, task_id)),
            Value::Object(map) => map.values_mut().for_each(|v| self.retask(v, task_id)),
            _ => {}
        }
    }

    /// What one such event must bring to the sinks (enrichment off, default options).
    fn expected_per_event(&self) -> Result<Arrived, Error> {
        let event = decode(&self.nth(0, 0)).map_err(|e| format!("task-oom.json: {e}"))?;
        let p = judge(
            &event,
            &Enrichment::default(),
            &Options::default(),
            chrono::Utc::now(),
        );
        let stopped = p.datadog.count_of("ecs.task.stops");
        Ok(Arrived {
            slack_posts: u64::from(p.notice.is_some()),
            distribution_values: (p.datadog.values() - stopped) as u64,
            stopped_count: stopped as u64,
            datadog_events: p.datadog.events.len() as u64,
            unexpected: 0,
        })
    }
}

// ------------------------------------------------------------------------------------------
// A function process
// ------------------------------------------------------------------------------------------

struct Function<'a> {
    name: &'static str,
    binary: &'a Path,
    /// Sink settings (empty for the empty Lambda).
    env: Vec<(String, String)>,
    log_dir: &'a Path,
}

struct Process {
    child: Child,
    pid: u32,
    api: RuntimeApi,
    started: Instant,
    name: &'static str,
    log: PathBuf,
    served: usize,
}

impl Function<'_> {
    async fn spawn(&self, label: &str) -> Result<Process, Error> {
        let api = RuntimeApi::start(support::FUNCTION_TIMEOUT, true).await;
        let log = self.log_dir.join(format!("{}-{label}.log", self.name));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let started = Instant::now();
        let child = lambda_command(self.binary, &api)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let pid = child.id().ok_or("the process has no id")?;
        Ok(Process {
            child,
            pid,
            api,
            started,
            name: self.name,
            log,
            served: 0,
        })
    }
}

impl Process {
    fn failure(&self, what: String) -> Error {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{} (pid {}): {what}\nlast lines of {}:\n{}",
            self.name,
            self.pid,
            self.log.display(),
            tail.join("\n")
        )
        .into()
    }

    /// The next report from the Runtime API, unless the process dies or goes quiet.
    async fn report(&mut self) -> Result<Reported, Error> {
        let result = tokio::select! {
            r = self.api.reported.recv() => Ok(r),
            status = self.child.wait() => Err(format!("exited ({status:?})")),
            _ = tokio::time::sleep(WAIT) => Err(format!("nothing reached the Runtime API within {WAIT:?}")),
        };
        match result {
            Ok(Some(reported)) => Ok(reported),
            Ok(None) => Err(self.failure("the Runtime API emulator stopped".into())),
            Err(what) => Err(self.failure(what)),
        }
    }

    /// Time from the spawn to the first `GET /next`.
    async fn init(&mut self) -> Result<Duration, Error> {
        match self.report().await? {
            Reported::Polled { at } => Ok(at.duration_since(self.started)),
            Reported::InitError { body, .. } => Err(self.failure(format!("init error: {body}"))),
            other => Err(self.failure(format!("expected a GET /next first, got {other:?}"))),
        }
    }

    /// Hands out one event and waits for its result: the latency, or `Err` with the error
    /// body when the function reported `/error` for it.
    async fn invoke(&mut self, event: Vec<u8>) -> Result<Result<Duration, String>, Error> {
        self.served += 1;
        let request_id = format!("req-{:08}", self.served);
        if !self.api.queue(&request_id, event) {
            return Err("the Runtime API emulator stopped".into());
        }
        loop {
            match self.report().await? {
                Reported::Polled { .. } => continue,
                Reported::Response {
                    request_id: id,
                    latency,
                    ..
                } if id == request_id => return Ok(Ok(latency)),
                Reported::Error {
                    request_id: id,
                    body,
                    ..
                } if id == request_id => return Ok(Err(body)),
                other => {
                    return Err(self.failure(format!(
                        "expected the result of {request_id}, got {other:?}"
                    )))
                }
            }
        }
    }

    /// Peak and current resident set, in kB.
    fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    async fn stop(mut self) -> Result<(), Error> {
        let _ = self.child.start_kill();
        timeout(Duration::from_secs(5), self.child.wait())
            .await
            .map_err(|_| self.failure("did not exit after SIGKILL".into()))??;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Measurements
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Measured {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    warm_wall: Duration,
    /// Peak RSS (kB) after the first event, after `RSS_CHECKPOINT` events, halfway, at the end.
    hwm_first: u64,
    hwm_checkpoint: u64,
    hwm_half: u64,
    hwm_end: u64,
    rss_end: u64,
    /// Events the function answered with `/error`, with the first error.
    errors: usize,
    first_error: Option<String>,
    /// Events handed out, and what reached the sinks meanwhile.
    events: u64,
    arrived: Arrived,
}

impl Measured {
    fn record(&mut self, result: Result<Duration, String>, into: impl FnOnce(&mut Self, Duration)) {
        self.events += 1;
        match result {
            Ok(latency) => into(self, latency),
            Err(body) => {
                self.errors += 1;
                self.first_error.get_or_insert(body);
            }
        }
    }
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

fn median(samples: &[Duration]) -> Duration {
    quantile(samples, 0.5)
}

/// Interleaved cold starts of both functions: init and first-event latency.
async fn cold_starts(
    functions: &[&Function<'_>],
    measured: &mut [Measured],
    events: &Events,
    spawns: usize,
) -> Result<(), Error> {
    for round in 0..spawns {
        for (f, m) in functions.iter().zip(measured.iter_mut()) {
            let mut process = f.spawn(&format!("cold-{round:02}")).await?;
            let init = process.init().await?;
            let result = process.invoke(events.bytes(round + 1, 0)?).await?;
            process.stop().await?;
            m.init.push(init);
            m.record(result, |m, latency| m.first.push(latency));
        }
    }
    Ok(())
}

/// Both functions side by side, a process each: the first event, then `n` warm ones in chunks
/// of `WARM_CHUNK` taken in turn (so a change of background load hits both alike), reading
/// memory on the way.
async fn warm_runs(
    functions: &[&Function<'_>],
    measured: &mut [Measured],
    events: &Events,
    n: usize,
) -> Result<(), Error> {
    let mut processes = Vec::new();
    for (f, m) in functions.iter().zip(measured.iter_mut()) {
        let mut process = f.spawn("warm").await?;
        m.init.push(process.init().await?);
        let result = process.invoke(events.bytes(0, 0)?).await?;
        m.record(result, |m, latency| m.first.push(latency));
        m.hwm_first = process.memory().0;
        m.warm.reserve(n);
        processes.push(process);
    }
    let mut done = 0;
    while done < n {
        let chunk = (done + 1)..=(done + WARM_CHUNK).min(n);
        for (process, m) in processes.iter_mut().zip(measured.iter_mut()) {
            // Built before they are handed out: not part of any measurement.
            let bodies = chunk
                .clone()
                .map(|i| events.bytes(0, i))
                .collect::<Result<Vec<_>, _>>()?;
            let started = Instant::now();
            for (i, body) in chunk.clone().zip(bodies) {
                let result = process.invoke(body).await?;
                m.record(result, |m, latency| m.warm.push(latency));
                if i == RSS_CHECKPOINT.min(n) {
                    m.hwm_checkpoint = process.memory().0;
                }
                if i == n.div_ceil(2) {
                    m.hwm_half = process.memory().0;
                }
            }
            m.warm_wall += started.elapsed();
        }
        done = *chunk.end();
    }
    for (process, m) in processes.iter().zip(measured.iter_mut()) {
        (m.hwm_end, m.rss_end) = process.memory();
    }
    // Let the last requests to the sinks land before counting (they answered already).
    tokio::time::sleep(Duration::from_millis(100)).await;
    for process in processes {
        process.stop().await?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn size(bytes: u64) -> String {
    format!("{:.2} MiB ({bytes} B)", bytes as f64 / (1024.0 * 1024.0))
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

/// Median time per event of each criterion benchmark `<group>/<function>`, in ns, from
/// `<dir>/<group>/<function>/new/estimates.json`.
fn criterion_medians(dir: &Path) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    let Ok(groups) = std::fs::read_dir(dir) else {
        return out;
    };
    for group in groups.flatten() {
        let Ok(functions) = std::fs::read_dir(group.path()) else {
            continue;
        };
        for function in functions.flatten() {
            let estimates = function.path().join("new/estimates.json");
            let Ok(text) = std::fs::read_to_string(&estimates) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if let Some(ns) = v["median"]["point_estimate"].as_f64() {
                out.push((
                    group.file_name().to_string_lossy().into_owned(),
                    function.file_name().to_string_lossy().into_owned(),
                    ns,
                ));
            }
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn report(args: &Args, m: &[Measured; 2], expected: Arrived, warm_events: usize) -> String {
    let [ecs, empty] = m;
    let mut t = String::new();
    let file_size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let _ = writeln!(
        t,
        "| | ecs-notifier | empty Lambda | ecs-notifier / empty | budget | |\n|---|---|---|---|---|---|"
    );
    let (bin_ecs, bin_empty) = (file_size(&args.ecs_notifier), file_size(&args.empty));
    let _ = writeln!(
        t,
        "| binary (release profile, stripped) | {} | {} | {} | | |",
        size(bin_ecs),
        size(bin_empty),
        ratio(bin_ecs as f64, bin_empty as f64)
    );
    for (label, path) in &args.zips {
        let bytes = file_size(path);
        let _ = writeln!(
            t,
            "| zip, {label} (`{}`) | {} | | | < 4 MiB | {} |",
            path.display(),
            size(bytes),
            verdict(bytes > 0 && bytes < ZIP_BUDGET_BYTES)
        );
    }
    let (ie, i0) = (median(&ecs.init), median(&empty.init));
    let init_ratio = ie.as_secs_f64() / i0.as_secs_f64().max(1e-9);
    let _ = writeln!(
        t,
        "| init: spawn → first `GET /next`, median of {} (min – max) | {} ({} – {}) | {} ({} – {}) | {} | ≤ {INIT_RATIO_BUDGET}× empty | {} |",
        ecs.init.len(),
        ms(ie),
        ms(quantile(&ecs.init, 0.0)),
        ms(quantile(&ecs.init, 1.0)),
        ms(i0),
        ms(quantile(&empty.init, 0.0)),
        ms(quantile(&empty.init, 1.0)),
        ratio(ie.as_secs_f64(), i0.as_secs_f64()),
        verdict(init_ratio <= INIT_RATIO_BUDGET)
    );
    let (fe, f0) = (median(&ecs.first), median(&empty.first));
    let _ = writeln!(
        t,
        "| first event in a new process, median of {} (max) | {} ({}) | {} ({}) | {} | | |",
        ecs.first.len(),
        ms(fe),
        ms(quantile(&ecs.first, 1.0)),
        ms(f0),
        ms(quantile(&empty.first, 1.0)),
        ratio(fe.as_secs_f64(), f0.as_secs_f64())
    );
    let (we, w0) = (median(&ecs.warm), median(&empty.warm));
    let _ = writeln!(
        t,
        "| warm event, median of {warm_events} | {} | {} | {} | < 1 ms | {} |",
        ms(we),
        ms(w0),
        ratio(we.as_secs_f64(), w0.as_secs_f64()),
        verdict(!ecs.warm.is_empty() && we < WARM_MEDIAN_BUDGET)
    );
    let (pe, p0) = (quantile(&ecs.warm, 0.99), quantile(&empty.warm, 0.99));
    let _ = writeln!(
        t,
        "| warm event, p99 | {} | {} | {} | | |",
        ms(pe),
        ms(p0),
        ratio(pe.as_secs_f64(), p0.as_secs_f64())
    );
    let rate = |m: &Measured| m.warm.len() as f64 / m.warm_wall.as_secs_f64().max(1e-9);
    let _ = writeln!(
        t,
        "| warm events per second, one at a time | {:.0} | {:.0} | | | |",
        rate(ecs),
        rate(empty)
    );
    let _ = writeln!(
        t,
        "| peak RSS after the first event | {} | {} | {} | | |",
        mib(ecs.hwm_first),
        mib(empty.hwm_first),
        ratio(ecs.hwm_first as f64, empty.hwm_first as f64)
    );
    let checkpoint = RSS_CHECKPOINT.min(warm_events);
    let _ = writeln!(
        t,
        "| peak RSS after {checkpoint} events | {} | {} | | | |",
        mib(ecs.hwm_checkpoint),
        mib(empty.hwm_checkpoint),
    );
    let half = warm_events.div_ceil(2);
    let _ = writeln!(
        t,
        "| peak RSS after {half} events | {} | {} | | | |",
        mib(ecs.hwm_half),
        mib(empty.hwm_half),
    );
    let _ = writeln!(
        t,
        "| peak RSS after {warm_events} events (RSS now) | {} ({}) | {} ({}) | {} | < 16 MiB | {} |",
        mib(ecs.hwm_end),
        mib(ecs.rss_end),
        mib(empty.hwm_end),
        mib(empty.rss_end),
        ratio(ecs.hwm_end as f64, empty.hwm_end as f64),
        verdict(ecs.hwm_end > 0 && ecs.hwm_end < RSS_BUDGET_KB)
    );
    let growth = ecs.hwm_end.saturating_sub(ecs.hwm_half);
    let _ = writeln!(
        t,
        "| peak RSS growth from {half} to {warm_events} events | {} | {} | | ≤ 1 MiB | {} |",
        mib(growth),
        mib(empty.hwm_end.saturating_sub(empty.hwm_half)),
        verdict(growth <= RSS_GROWTH_TOLERANCE_KB)
    );
    let want = expected.times(ecs.events);
    let got = ecs.arrived;
    let _ = writeln!(
        t,
        "| delivered: Slack posts / Datadog distribution values / count sum / events, of {} events | {} / {} / {} / {} | | | {} / {} / {} / {} | {} |",
        ecs.events,
        got.slack_posts,
        got.distribution_values,
        got.stopped_count,
        got.datadog_events,
        want.slack_posts,
        want.distribution_values,
        want.stopped_count,
        want.datadog_events,
        verdict(got == want && ecs.errors == 0)
    );
    if ecs.errors > 0 || got.unexpected > 0 {
        let _ = writeln!(
            t,
            "| invocations answered with /error; unexpected sink requests | {} ({}); {} | | | 0; 0 | MISS |",
            ecs.errors,
            ecs.first_error.as_deref().unwrap_or(""),
            got.unexpected
        );
    }

    if let Some(dir) = &args.criterion {
        let medians = criterion_medians(dir);
        let _ = writeln!(
            t,
            "\nPure part per event (benches/pipeline.rs, criterion median; decode + classify + render \
             Slack and Datadog + serialize every request body; enrichment off):\n"
        );
        if medians.is_empty() {
            let _ = writeln!(
                t,
                "(no criterion results in {}: run `cargo bench --bench pipeline` first)",
                dir.display()
            );
        } else {
            let _ = writeln!(
                t,
                "| event | from `Value` | from bytes | budget (from `Value`) | |\n|---|---|---|---|---|"
            );
            let mut groups: Vec<&str> = medians.iter().map(|(g, _, _)| g.as_str()).collect();
            groups.dedup();
            // Groups of stages (no `value`/`bytes`) are listed after the table.
            let (cases, stages): (Vec<&str>, Vec<&str>) = groups.into_iter().partition(|g| {
                medians
                    .iter()
                    .any(|(group, f, _)| group == g && (f == "value" || f == "bytes"))
            });
            for group in cases {
                let of = |f: &str| {
                    medians
                        .iter()
                        .find(|(g, name, _)| g == group && name == f)
                        .map(|(_, _, ns)| *ns)
                };
                let show = |ns: Option<f64>| {
                    ns.map(|ns| format!("{:.1} µs", ns / 1e3))
                        .unwrap_or_default()
                };
                // The budget is for the pure part from the parsed event (`lambda_runtime` parses
                // the bytes whatever the function does); from bytes is shown alongside.
                let pure = of("value").or(of("bytes")).unwrap_or(f64::MAX);
                let _ = writeln!(
                    t,
                    "| {group} | {} | {} | < 20 µs | {} |",
                    show(of("value")),
                    show(of("bytes")),
                    verdict(pure < PURE_BUDGET_NS)
                );
            }
            for group in stages {
                let parts: Vec<String> = medians
                    .iter()
                    .filter(|(g, _, _)| g == group)
                    .map(|(_, f, ns)| format!("{f} {:.1} µs", ns / 1e3))
                    .collect();
                let _ = writeln!(t, "\n{group}: {}", parts.join(" · "));
            }
        }
    }
    t
}

// ------------------------------------------------------------------------------------------

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("benches/runtime.rs runs under `scripts/bench` (make bench): it needs the release binaries");
            return;
        }
        Err(err) => {
            eprintln!("runtime bench: {err}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("runtime bench: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(run(args)) {
        eprintln!("runtime bench FAILED: {err}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let counters = Arc::new(Counters::default());
    let (sinks_url, _sinks) = start_sinks(counters.clone()).await?;
    let log_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-runtime");
    std::fs::create_dir_all(&log_dir)?;
    let events = Events::load()?;
    let expected = events.expected_per_event()?;

    let ecs = Function {
        name: "ecs-notifier",
        binary: &args.ecs_notifier,
        env: [
            ("SLACK_WEBHOOK_URL", format!("{sinks_url}{SLACK_PATH}")),
            ("DD_API_KEY", "bench-dd-api-key".to_string()),
            ("DD_API_URL", sinks_url.clone()),
            ("ENRICHMENT", "off".to_string()),
            ("FLOOD_WINDOW_SECONDS", "0".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        log_dir: &log_dir,
    };
    let empty = Function {
        name: "empty-lambda",
        binary: &args.empty,
        env: Vec::new(),
        log_dir: &log_dir,
    };
    let mut measured: [Measured; 2] = Default::default();

    eprintln!(
        "runtime bench: {} cold starts of each binary, then {} warm events each (logs in {})",
        args.spawns,
        args.events,
        log_dir.display()
    );
    let before = counters.snapshot();
    cold_starts(&[&ecs, &empty], &mut measured, &events, args.spawns).await?;
    warm_runs(&[&ecs, &empty], &mut measured, &events, args.events).await?;
    // Only ecs-notifier knows the sinks: all that arrived is its own.
    measured[0].arrived = counters.snapshot().since(before);
    print!("{}", report(&args, &measured, expected, args.events));
    Ok(())
}
