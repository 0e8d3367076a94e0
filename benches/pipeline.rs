//! The pure part of handling one event, per kind of event: decode the EventBridge event, classify
//! it, render the Slack message and the Datadog payloads (`plan`), and serialize every request
//! body the function would send, as the function serializes them. No I/O, enrichment off.
//!
//! Two measurements per sample event in events/:
//! - `value`: from the parsed `serde_json::Value` (what `lambda_runtime` hands the handler);
//! - `bytes`: from the raw bytes of the event (`serde_json::from_slice`) through to the bodies.
//!
//! and, for the task failure, each stage on its own (`task_failure_oom_stages`: parse, decode,
//! plan, serialize), to show where the time goes.
//!
//! `scripts/bench` runs it (`cargo bench --bench pipeline`); kept short (1 s warm-up, 2 s
//! measurement, 30 samples) so the whole of `make bench` stays within a few minutes on 2 cores.
//! Criterion's command-line options override these (`cargo bench --bench pipeline -- --help`).
//! Under `cargo test --all-targets` each benchmark runs once, after the checks below.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options, Outgoing};
use ecs_notifier::sinks::datadog::payload::{self, series_body};
use ecs_notifier::sinks::slack::render;
use ecs_notifier::source::decode;
use serde_json::Value;

/// The sample events measured: one per kind of outcome the function sees most.
const CASES: [Case; 5] = [
    Case {
        name: "task_failure_oom",
        file: "task-oom.json",
        verdict: "failure",
        posts_to_slack: true,
    },
    Case {
        name: "task_success",
        file: "task-job-success.json",
        verdict: "success",
        posts_to_slack: false,
    },
    Case {
        name: "task_expected_stop",
        file: "task-deployment-replaced.json",
        verdict: "expected",
        posts_to_slack: false,
    },
    Case {
        name: "deployment_completed",
        file: "deployment-completed.json",
        verdict: "SERVICE_DEPLOYMENT_COMPLETED",
        posts_to_slack: true,
    },
    Case {
        name: "service_action",
        file: "service-action-placement-failure.json",
        verdict: "SERVICE_TASK_PLACEMENT_FAILURE",
        posts_to_slack: true,
    },
];

struct Case {
    /// Benchmark group name.
    name: &'static str,
    /// File in events/.
    file: &'static str,
    /// The verdict `plan` must reach (checked once, outside the measurement).
    verdict: &'static str,
    /// Whether a Slack message is rendered (enrichment off, default options).
    posts_to_slack: bool,
}

/// Every request body the function sends for a plan, serialized as the sinks serialize them:
/// the Slack message as is (src/slack/webhook.rs), distributions and series wrapped in
/// `{"series": [...]}` (`series_body`, src/sinks/datadog/payload.rs), each Datadog event on its own.
fn bodies(plan: &Outgoing) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(4);
    if let Some(notice) = &plan.notice {
        out.push(serde_json::to_vec(&render(notice)).unwrap_or_default());
    }
    let dd = &plan.datadog;
    if !dd.distributions.is_empty() {
        let wire: Vec<_> = dd.distributions.iter().map(payload::distribution).collect();
        out.push(series_body(&wire));
    }
    if !dd.series.is_empty() {
        let wire: Vec<_> = dd.series.iter().map(payload::series).collect();
        out.push(series_body(&wire));
    }
    for event in &dd.events {
        out.push(serde_json::to_vec(&payload::event(event)).unwrap_or_default());
    }
    out
}

/// Decode, plan, serialize: the pure part for an event already parsed.
fn from_value(event: &Value, now: DateTime<Utc>) -> Vec<Vec<u8>> {
    let decoded = decode(event).expect("a sample ECS event decodes");
    let plan = judge(&decoded, &Enrichment::default(), &Options::default(), now);
    bodies(&plan)
}

/// The same from the event's bytes.
fn from_bytes(raw: &[u8], now: DateTime<Utc>) -> Vec<Vec<u8>> {
    let event: Value = serde_json::from_slice(raw).expect("a sample event is JSON");
    from_value(&event, now)
}

/// Reads a sample and checks that it leads where this benchmark says it does, so a change of
/// the samples or of the rules cannot quietly make it measure something else.
fn load(case: &Case, now: DateTime<Utc>) -> (Vec<u8>, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(case.file);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&raw).expect("a sample event is JSON");
    let decoded = decode(&value).expect("a sample ECS event decodes");
    let planned = judge(&decoded, &Enrichment::default(), &Options::default(), now);
    assert_eq!(planned.summary.verdict, case.verdict, "{}", case.file);
    assert_eq!(
        planned.notice.is_some(),
        case.posts_to_slack,
        "{}",
        case.file
    );
    assert!(!planned.datadog.is_empty() || case.name == "service_action");
    assert!(
        !from_bytes(&raw, now).is_empty(),
        "{}: no request body",
        case.file
    );
    (raw, value)
}

fn pipeline(c: &mut Criterion) {
    // One clock reading: `plan` uses it only for metrics Datadog would refuse at event time.
    let now = Utc::now();
    for case in &CASES {
        let (raw, value) = load(case, now);
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("value", |b| {
            b.iter(|| from_value(black_box(&value), black_box(now)))
        });
        group.bench_function("bytes", |b| {
            b.iter(|| from_bytes(black_box(&raw), black_box(now)))
        });
        group.finish();
    }

    // Where the time of the costliest case goes: parse the bytes, decode, plan, serialize.
    let (raw, value) = load(&CASES[0], now);
    let decoded = decode(&value).expect("a sample ECS event decodes");
    let planned = judge(&decoded, &Enrichment::default(), &Options::default(), now);
    let mut group = c.benchmark_group(format!("{}_stages", CASES[0].name));
    group.throughput(Throughput::Elements(1));
    group.bench_function("1_parse", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&raw)).expect("JSON"))
    });
    group.bench_function("2_decode", |b| {
        b.iter(|| decode(black_box(&value)).expect("decodes"))
    });
    group.bench_function("3_plan", |b| {
        b.iter(|| {
            judge(
                black_box(&decoded),
                &Enrichment::default(),
                &Options::default(),
                black_box(now),
            )
        })
    });
    group.bench_function("4_serialize", |b| b.iter(|| bodies(black_box(&planned))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = pipeline
}
criterion_main!(benches);
