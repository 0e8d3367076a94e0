//! `ecs-notifier render FILE…`: shows what the function would post for event files, offline.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use serde_json::{json, Value};

use crate::judge::jobs::missed_run;
use crate::judge::stops::{superseded, Standing, StopKey, StopRecord};
use crate::judge::{judge, Enrichment, Options, Outgoing};
use crate::sinks::slack::preview::preview;
use crate::source::{events, DecodeError, Event};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: verdict, the Slack message as read in Slack, Datadog points and events.
    Text,
    /// The exact request bodies, one JSON document per file.
    Json,
}

/// The Datadog part of a plan, in a few readable lines.
fn datadog_lines(plan: &Outgoing) -> String {
    let mut out = String::new();
    for d in &plan.datadog.distributions {
        for (ts, values) in &d.points {
            let _ = writeln!(
                out,
                "  distribution {} = {:?} @{ts} [{}]",
                d.metric,
                values,
                d.tags.join(",")
            );
        }
    }
    for s in &plan.datadog.series {
        for p in &s.points {
            let _ = writeln!(
                out,
                "  gauge {} = {} @{} [{}]",
                s.metric,
                p.value,
                p.timestamp,
                s.tags.join(",")
            );
        }
    }
    for e in &plan.datadog.events {
        let _ = writeln!(
            out,
            "  event ({}) \"{}\" aggregation_key={} [{}]",
            e.alert_type,
            e.title,
            e.aggregation_key.as_deref().unwrap_or("-"),
            e.tags.join(",")
        );
    }
    if out.is_empty() {
        out.push_str("  (nothing)\n");
    }
    out
}

/// The task stops a run of `render` has seen, across its files, as a warm function keeps them:
/// a later STOPPED update of a task shows as superseded.
pub type Stops = HashMap<String, StopRecord>;

/// Renders one event (already parsed JSON) in the chosen format, with recorded enrichment.
pub fn render_value(
    name: &str,
    value: &Value,
    enrichment: &Enrichment,
    options: &Options,
    format: Format,
    stops: &mut Stops,
) -> String {
    let events = events(value);
    let several = events.len() > 1;
    let mut out = String::new();
    for (i, (_, event)) in events.into_iter().enumerate() {
        let name = if several {
            format!("{name} [record {}]", i + 1)
        } else {
            name.to_string()
        };
        if let Ok(Event::Task(envelope, task)) = &event {
            if let Some(key) = StopKey::of(envelope, task) {
                match Standing::of(stops.get(&key.task_arn), &key) {
                    Standing::Superseded(record) => {
                        let why = superseded(&record, &key);
                        out.push_str(&match format {
                            Format::Text => format!("━━ {name}\n{why}: no message, no metrics\n"),
                            Format::Json => {
                                json!({"file": name, "superseded": why}).to_string() + "\n"
                            }
                        });
                        continue;
                    }
                    Standing::First => {
                        stops.insert(key.task_arn.clone(), key.record());
                    }
                    Standing::Again => {}
                }
            }
        }
        out.push_str(&render_event(&name, event, enrichment, options, format));
    }
    out
}

fn render_event(
    name: &str,
    event: Result<Event, DecodeError>,
    enrichment: &Enrichment,
    options: &Options,
    format: Format,
) -> String {
    let event = match event {
        Ok(event) => event,
        Err(err) => {
            return match format {
                Format::Text => format!("━━ {name}\nskipped: {err}\n"),
                Format::Json => {
                    json!({"file": name, "skipped": err.to_string()}).to_string() + "\n"
                }
            }
        }
    };
    let plans = match &event {
        // A check, with the jobs recorded for it: an alert per missed run, then the gauges.
        Event::Check(envelope) if !enrichment.jobs.is_empty() => {
            let now = envelope.time.unwrap_or_else(Utc::now);
            let (mut plans, _, ages) = missed_run::plan(enrichment.jobs.clone(), now);
            plans.push(Outgoing::metrics_only("check", ages));
            plans
        }
        _ => vec![judge(&event, enrichment, options, Utc::now())],
    };
    plans
        .iter()
        .map(|plan| render_plan(name, plan, enrichment, format))
        .collect()
}

fn render_plan(name: &str, plan: &Outgoing, enrichment: &Enrichment, format: Format) -> String {
    match format {
        Format::Json => {
            json!({
                "file": name,
                "kind": plan.summary.kind,
                "verdict": plan.summary.verdict,
                "cause": plan.summary.cause,
                "subject": plan.summary.subject,
                "slack": plan.slack,
                "datadog": plan.datadog,
            })
            .to_string()
                + "\n"
        }
        Format::Text => {
            let mut out = format!("━━ {name}\n");
            if *enrichment != Enrichment::default() {
                out.push_str("(with recorded enrichment)\n");
            }
            let s = &plan.summary;
            let _ = writeln!(
                out,
                "verdict: {} · {} · {} · {}",
                s.kind, s.verdict, s.cause, s.subject
            );
            match &plan.slack {
                Some(message) => {
                    let _ = writeln!(out, "slack:\n{}", preview(message));
                }
                None => out.push_str("slack: (no message)\n"),
            }
            let _ = write!(out, "datadog:\n{}", datadog_lines(plan));
            out
        }
    }
}

/// Recorded enrichment for the event file `name`: `DIR/name` when it exists.
pub fn load_enrichment(dir: Option<&str>, name: &str) -> Result<Enrichment, String> {
    let Some(dir) = dir else {
        return Ok(Enrichment::default());
    };
    let path = Path::new(dir).join(name);
    if !path.exists() {
        return Ok(Enrichment::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the `render` command; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let mut format = Format::Text;
    let mut files = Vec::new();
    let mut enrichment_dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => format = Format::Json,
            "--enrichment" => match args.next() {
                Some(dir) => enrichment_dir = Some(dir.clone()),
                None => {
                    eprintln!("--enrichment needs a folder");
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!("usage: ecs-notifier render [--json] [--enrichment DIR] EVENT.json…\nPrints the verdict, the Slack message and the Datadog payloads for each EventBridge event file.\nWith --enrichment, DIR/<event file name> (if present) is recorded enrichment to apply.\nNOTIFY_ON_SUCCESS and NOTIFY_ON_STOP_TIMEOUT apply as in the function; no AWS call and no network.");
                return 0;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: ecs-notifier render [--json] [--enrichment DIR] EVENT.json…");
        return 2;
    }
    // The same settings, read by the same parser, as the function reads them.
    let flag = |name: &str| match std::env::var(name) {
        Ok(value) => crate::config::parse_bool(name, &value),
        Err(_) => Ok(false),
    };
    let options = match (flag("NOTIFY_ON_SUCCESS"), flag("NOTIFY_ON_STOP_TIMEOUT")) {
        (Ok(notify_on_success), Ok(notify_on_stop_timeout)) => Options {
            notify_on_success,
            notify_on_stop_timeout,
        },
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("{err}");
            return 2;
        }
    };
    let mut status = 0;
    let mut stops = Stops::new();
    for file in files {
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        let enrichment = match load_enrichment(enrichment_dir.as_deref(), &name) {
            Ok(e) => e,
            Err(err) => {
                eprintln!("{err}");
                status = 1;
                continue;
            }
        };
        match parsed {
            Ok(value) => {
                print!(
                    "{}",
                    render_value(&name, &value, &enrichment, &options, format, &mut stops)
                );
                if format == Format::Text {
                    println!();
                }
            }
            Err(err) => {
                eprintln!("{file}: {err}");
                status = 1;
            }
        }
    }
    status
}
