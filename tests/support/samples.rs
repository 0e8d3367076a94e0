//! The sample events (`events/*.json`), what they must produce (`tests/expected/events.json`),
//! and events and SQS batches built from them.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The crate's root (`CARGO_MANIFEST_DIR`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The JSON file at `path`; panics naming the file when it cannot be read or parsed.
pub fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}

/// The sample `events/NAME`.
pub fn sample(name: &str) -> Value {
    load(&root().join("events").join(name))
}

/// The JSON files in `dir` (not below it), sorted by file name.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The sample files (`events/*.json`), sorted by file name.
pub fn sample_files() -> Vec<PathBuf> {
    json_files(&root().join("events"))
}

/// The sample files' paths (`sample_files`), as text.
pub fn sample_paths() -> Vec<String> {
    sample_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// The sample events as `(file name, event)`, sorted by file name.
pub fn samples() -> Vec<(String, Value)> {
    sample_files()
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let event = load(&p);
            (name, event)
        })
        .collect()
}

/// `tests/expected/events.json`: what each sample, by file name, must produce.
pub fn expectations() -> serde_json::Map<String, Value> {
    match load(&root().join("tests/expected/events.json")) {
        Value::Object(map) => map,
        other => panic!("tests/expected/events.json is not an object: {other}"),
    }
}

/// `event` under event id `id`.
pub fn with_id(event: &Value, id: &str) -> Value {
    let mut event = event.clone();
    event["id"] = json!(id);
    event
}

/// Crash number `n` of the same service: `task-oom.json` with its own event id and task ARN
/// (its `stoppedAt` unchanged).
pub fn crash(n: usize) -> Value {
    let mut e = with_id(
        &sample("task-oom.json"),
        &format!("00000000-0000-4000-8000-{n:012}"),
    );
    e["detail"]["taskArn"] = json!(format!(
        "arn:aws:ecs:eu-west-1:123456789012:task/prod/{n:032x}"
    ));
    e
}

/// `crash(n)` stopped `n * seconds` after 2026-11-20T10:02:00Z: crashes `seconds` apart.
pub fn crash_at(n: usize, seconds: i64) -> Value {
    let mut e = crash(n);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:02:00Z").unwrap()
        + chrono::Duration::seconds(n as i64 * seconds);
    e["detail"]["stoppedAt"] = json!(at.to_rfc3339());
    e
}

/// An SQS batch whose messages carry `events` (as EventBridge puts them on a queue), message
/// ids `msg-0`, `msg-1`, ….
pub fn batch(events: &[Value]) -> Value {
    json!({ "Records": records(events) })
}

/// The records of `batch(events)`, as `handle_batch` takes them.
pub fn records(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "messageId": format!("msg-{i}"),
                "receiptHandle": format!("rh-{i}"),
                "body": e.to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ecs-notifier-events",
                "awsRegion": "eu-west-1"
            })
        })
        .collect()
}
