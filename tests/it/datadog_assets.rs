//! The Datadog dashboard and monitors of `datadog/` against what the function really sends, and
//! `scripts/datadog` (`make datadog`) against a fake Datadog API on loopback.
//!
//! - Every metric, tag key and tag value in every query of `datadog/*.json` and
//!   `datadog/monitors/*.json` (widget queries and formulas, template variables, event overlays
//!   and event lists, monitor queries, monitor message variables) is one the library emits: the
//!   vocabulary is collected by running the library over every sample event (`events/`), with and
//!   without its recorded enrichment, and the missed-run check over the recorded jobs; nothing
//!   is listed by hand. The checker (`tests/support/datadog_queries.rs`) has its own test on
//!   made-up queries, which it rejects.
//! - Each file loads with `datadog-api-client`'s models, strictly (`scripts/datadog --validate`).
//! - `scripts/datadog` creates the dashboard and monitors, then updates them when run again
//!   (matched by title and name, no duplicates), with the API and application keys on every
//!   request; `--dry-run` sends nothing; a missing key fails before anything is sent. The fake
//!   Datadog API is `tests/support/fake_datadog.rs`.
//!
//! Both support files are declared here rather than in `support/mod.rs`, so that the checker's
//! test runs in this binary only (the fuzz binary includes `support/mod.rs` too).

#[path = "../support/datadog_queries.rs"]
mod datadog_queries;
#[path = "../support/fake_datadog.rs"]
mod fake_datadog;

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::{json_files, load, root};
use datadog_queries::{check, vocabulary};
use fake_datadog::{fake_datadog, run, script, text, Fake};

/// The dashboards (`datadog/*.json`) and monitors (`datadog/monitors/*.json`).
fn assets() -> Vec<(String, Value)> {
    let dir = root().join("datadog");
    json_files(&dir)
        .into_iter()
        .chain(json_files(&dir.join("monitors")))
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap().display().to_string();
            let value = load(&p);
            (name, value)
        })
        .collect()
}

#[test]
fn every_query_names_metrics_and_tags_the_function_emits() {
    let vocabulary = vocabulary();
    let assets = assets();
    let monitors = assets
        .iter()
        .filter(|(n, _)| n.contains("monitors/"))
        .count();
    assert!(monitors >= 5, "five monitors or more: {monitors}");
    let mut errors = Vec::new();
    let (mut metric_queries, mut event_queries) = (0, 0);
    for (name, asset) in &assets {
        let (errs, m, e) = check(name, asset, &vocabulary);
        assert!(m + e > 0, "{name}: no query found");
        errors.extend(errs);
        metric_queries += m;
        event_queries += e;
    }
    assert!(
        errors.is_empty(),
        "queries the function's metrics and events do not answer:\n{}\n\nwhat it emits: {:#?}",
        errors.join("\n"),
        vocabulary
            .metrics
            .iter()
            .map(|(m, v)| (m, v.tags.keys().collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    );
    assert!(
        metric_queries >= 20,
        "metric queries read: {metric_queries}"
    );
    assert!(event_queries >= 4, "event queries read: {event_queries}");
}

#[test]
fn every_file_loads_with_the_api_client_models() {
    let out = script(&["--validate"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("valid: 1 dashboard(s)"), "{stdout}");

    // The same check on broken copies: an unknown field, an unknown widget type, a bad enum.
    let dir = std::env::temp_dir().join(format!("ecs-notifier-datadog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("monitors")).unwrap();
    let mut dashboard = load(&root().join("datadog/dashboard.json"));
    dashboard["widgets"][0]["definition"]["widgets"][1]["definition"]["requests"][0]["q_typo"] =
        json!("x");
    dashboard["layout_type"] = json!("orderd");
    std::fs::write(dir.join("dashboard.json"), dashboard.to_string()).unwrap();
    let monitors = json_files(&root().join("datadog/monitors"));
    let mut monitor = load(&monitors[0]);
    monitor["type"] = json!("query alertz");
    monitor["options"]["notify_nodata"] = json!(true);
    std::fs::write(dir.join("monitors/m.json"), monitor.to_string()).unwrap();
    let out = script(&["--validate", "--dir", dir.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&out);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success(), "broken files pass: {stdout}");
    for want in [
        "q_typo: unknown field",
        "$.layout_type: 'orderd' is not an allowed value",
        "$.type: 'query alertz' is not an allowed value",
        "notify_nodata: unknown field",
    ] {
        assert!(stderr.contains(want), "{want:?} not in:\n{stderr}");
    }
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_datadog_creates_then_updates_without_duplicates() {
    let dashboard = load(&root().join("datadog/dashboard.json"));
    let title = dashboard["title"].as_str().unwrap().to_string();
    let monitors: Vec<Value> = json_files(&root().join("datadog/monitors"))
        .iter()
        .map(|p| load(p))
        .collect();
    let first_name = monitors[0]["name"].as_str().unwrap().to_string();
    let fake = Arc::new(Mutex::new(Fake::seeded(&first_name)));
    let server = fake_datadog(fake.clone()).await;

    let (ok, stdout, stderr) = run(&server.uri(), &[], true).await;
    assert!(ok, "first run failed:\n{stdout}\n{stderr}");
    assert_eq!(count(&stdout, "created dashboard"), 1, "{stdout}");
    assert_eq!(
        count(&stdout, "created monitor"),
        monitors.len(),
        "{stdout}"
    );
    assert_eq!(count(&stdout, "updated"), 0, "{stdout}");
    assert!(
        stdout.contains("https://app.datadoghq.com/dashboard/abc-"),
        "the dashboard's URL: {stdout}"
    );
    assert!(
        stdout.contains("https://app.datadoghq.com/monitors/"),
        "the monitors' URLs: {stdout}"
    );
    let first_requests = {
        let f = fake.lock().unwrap();
        assert_eq!(f.unauthenticated, 0, "every request has both keys");
        assert!(
            f.requests
                .iter()
                .filter(|(m, p)| m == "GET" && p == "/api/v1/dashboard")
                .count()
                >= 2,
            "the dashboard list is read page by page: {:?}",
            f.requests
        );
        f.requests.len()
    };

    let (ok, stdout, stderr) = run(&server.uri(), &[], true).await;
    assert!(ok, "second run failed:\n{stdout}\n{stderr}");
    assert_eq!(count(&stdout, "updated dashboard"), 1, "{stdout}");
    assert_eq!(
        count(&stdout, "updated monitor"),
        monitors.len(),
        "{stdout}"
    );
    assert_eq!(count(&stdout, "created"), 0, "{stdout}");

    let f = fake.lock().unwrap();
    assert_eq!(f.unauthenticated, 0, "every request has both keys");
    let second: Vec<&(String, String)> = f.requests[first_requests..].iter().collect();
    assert_eq!(
        second.iter().filter(|(m, _)| m == "POST").count(),
        0,
        "{second:?}"
    );
    assert_eq!(
        second.iter().filter(|(m, _)| m == "PUT").count(),
        1 + monitors.len(),
        "{second:?}"
    );
    let ours: Vec<&Value> = f
        .dashboards
        .iter()
        .filter(|d| d["title"] == title)
        .collect();
    assert_eq!(ours.len(), 1, "one dashboard titled {title}");
    assert_eq!(f.dashboards.len(), 151);
    assert_eq!(
        ours[0]["widgets"], dashboard["widgets"],
        "the file's widgets"
    );
    assert_eq!(
        f.monitors.len(),
        1 + monitors.len(),
        "no duplicate monitors"
    );
    for want in &monitors {
        let got: Vec<&Value> = f
            .monitors
            .iter()
            .filter(|m| m["name"] == want["name"])
            .collect();
        assert_eq!(got.len(), 1, "{}", want["name"]);
        assert_eq!(got[0]["query"], want["query"]);
        assert_eq!(got[0]["message"], want["message"]);
    }
    assert_eq!(
        f.monitors[0]["query"], "x",
        "the monitor whose name only contains ours is left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing_and_a_missing_key_fails_before_sending() {
    let fake = Arc::new(Mutex::new(Fake::seeded("unused")));
    let server = fake_datadog(fake.clone()).await;

    let (ok, stdout, stderr) = run(&server.uri(), &["--dry-run"], false).await;
    assert!(ok, "dry run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("dry run: nothing is sent"), "{stdout}");
    assert!(stdout.contains("PUT or POST"), "{stdout}");
    assert!(stdout.contains("/api/v1/monitor"), "{stdout}");

    let (ok, stdout, stderr) = run(&server.uri(), &[], false).await;
    assert!(!ok, "ran without keys: {stdout}");
    assert!(
        stderr.contains("DD_API_KEY and DD_APP_KEY not set"),
        "names the missing keys: {stderr}"
    );
    assert!(
        fake.lock().unwrap().requests.is_empty(),
        "nothing was sent: {:?}",
        fake.lock().unwrap().requests
    );
}
