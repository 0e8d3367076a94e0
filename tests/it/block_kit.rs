//! Every Slack message the function renders from the samples, with and without their recorded
//! enrichment, checked by Slack's own Block Kit models (`slack_sdk`, through
//! `scripts/check-block-kit`) and by the independent reading of `support::block_kit`; and the
//! check shown to fail on what Slack refuses.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use ecs_notifier::cli::load_enrichment;
use ecs_notifier::judge::jobs::missed_run;
use ecs_notifier::judge::{judge, Enrichment, Options};
use ecs_notifier::source::{events, Event};
use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/check-block-kit` over `bodies`; its success and what it printed.
fn slack_sdk_check(name: &str, bodies: &[Value]) -> (bool, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("block-kit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let path = dir.join(format!("{i:03}.json"));
            std::fs::write(&path, body.to_string()).unwrap();
            path
        })
        .collect();
    let python = root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} not found: `make tools` installs slack_sdk into .venv",
        python.display()
    );
    let out = Command::new(python)
        .arg(root().join("scripts/check-block-kit"))
        .args(&files)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The mentions a recorded enrichment's `ecs-notifier:mention` tags ask for, as Slack writes them
/// (read from the file here, not by the function's parser).
fn mentions_in(dir: &str, name: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(a) if a.len() == 2 && a[0] == "ecs-notifier:mention" => {
                out.extend(a[1].as_str().map(String::from))
            }
            Value::Object(m) => {
                for (k, v) in m {
                    match v.as_str() {
                        Some(s) if k == "ecs-notifier:mention" => out.push(s.to_string()),
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let Ok(text) = std::fs::read_to_string(Path::new(dir).join(name)) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    walk(&serde_json::from_str(&text).unwrap(), &mut values);
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| match v.trim() {
            "@here" | "here" => "<!here>".to_string(),
            "@channel" | "channel" => "<!channel>".to_string(),
            v if v.starts_with('U') || v.starts_with('W') => format!("<@{v}>"),
            v => format!("<!subteam^{}>", v.trim_start_matches("subteam:")),
        })
        .collect()
}

/// Every message the samples render: (sample, body, the mentions its enrichment allows).
fn rendered() -> Vec<(String, Value, Vec<String>)> {
    let dir = root().join("events/enrichment");
    let dir = dir.to_str().unwrap();
    let options = Options {
        notify_on_success: true,
        notify_on_stop_timeout: true,
        ..Options::default()
    };
    let mut out = Vec::new();
    for (name, input) in support::samples() {
        let recorded = load_enrichment(Some(dir), &name).unwrap();
        let mentions = mentions_in(dir, &name);
        for (_, event) in events(&input) {
            let Ok(event) = event else { continue };
            for enrichment in [&Enrichment::default(), &recorded] {
                if let Event::Check(envelope) = &event {
                    let at = envelope.time.unwrap_or_else(Utc::now);
                    let (missed, _, _) = missed_run::plan(enrichment.jobs.clone(), at);
                    for alert in missed {
                        if let Some(m) = support::slack(&alert) {
                            let body = serde_json::to_value(m).unwrap();
                            out.push((name.clone(), body, mentions.clone()));
                        }
                    }
                    continue;
                }
                let planned = judge(&event, enrichment, &options, Utc::now());
                if let Some(m) = support::slack(&planned) {
                    let body = serde_json::to_value(m).unwrap();
                    out.push((name.clone(), body, mentions.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_rendered_message_is_valid_block_kit() {
    let messages = rendered();
    assert!(messages.len() >= 60, "{} messages", messages.len());
    let kinds: std::collections::BTreeSet<&str> = messages
        .iter()
        .flat_map(|(_, m, _)| m["blocks"].as_array().unwrap())
        .filter_map(|b| b["type"].as_str())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["context", "header", "section"],
        "the block types the samples reach (the renderer emits no other)"
    );
    for (name, body, mentions) in &messages {
        // The mentions the recorded enrichment's tags ask for are the only ones allowed.
        let mentions: Vec<&str> = mentions.iter().map(String::as_str).collect();
        let problems = support::block_kit::problems(body, &mentions);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
    let bodies: Vec<Value> = messages.into_iter().map(|(_, b, _)| b).collect();
    let (ok, said) = slack_sdk_check("samples", &bodies);
    assert!(ok, "{said}");
    assert!(said.contains(&format!("valid: {}", bodies.len())), "{said}");
}

#[test]
fn the_check_fails_on_what_slack_refuses() {
    let header =
        |text: String| json!({"type": "header", "text": {"type": "plain_text", "text": text}});
    let section = |text: &str| json!({"type": "section", "text": {"type": "mrkdwn", "text": text}});
    let body = |blocks: Vec<Value>| json!({"text": "fallback", "blocks": blocks});
    let (ok, said) = slack_sdk_check("header-150", &[body(vec![header("h".repeat(150))])]);
    assert!(ok, "150 characters are allowed: {said}");
    for (case, bad) in [
        ("header-151", body(vec![header("h".repeat(151))])),
        ("section-3001", body(vec![section(&"s".repeat(3001))])),
        (
            "fields-11",
            body(vec![
                json!({"type": "section", "fields": (0..11).map(|i| json!({"type": "mrkdwn", "text": format!("{i}")})).collect::<Vec<_>>()}),
            ]),
        ),
        (
            "field-2001",
            body(vec![
                json!({"type": "section", "fields": [{"type": "mrkdwn", "text": "f".repeat(2001)}]}),
            ]),
        ),
        (
            "blocks-51",
            body((0..51).map(|_| json!({"type": "divider"})).collect()),
        ),
        ("no-fallback", json!({"blocks": [section("x")]})),
    ] {
        let (ok, said) = slack_sdk_check(case, std::slice::from_ref(&bad));
        assert!(!ok, "{case} passed: {said}");
        assert!(
            !support::block_kit::problems(&bad, &[]).is_empty(),
            "{case}: the independent check missed it"
        );
    }
}
