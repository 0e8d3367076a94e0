//! `ecs-notifier render FILE…`: shows what the function would post for event files, offline.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use chrono::Utc;
use serde_json::{json, Value};

use crate::judge::group::{self, GroupState, Grouping};
use crate::judge::jobs::missed_run;
use crate::judge::outgoing::GroupCandidate;
use crate::judge::stops::{superseded, Standing, StopKey, StopRecord};
use crate::judge::{judge, Enrichment, Options, Outgoing};
use crate::sinks::slack::preview::preview;
use crate::sinks::slack::{render, Message};
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

/// What a run of `render` remembers across its files, as a warm function does: the task stops
/// it has seen (a later STOPPED update of a task shows as superseded) and its incident groups
/// (the failures past the threshold show as grouped).
#[derive(Debug, Default)]
pub struct Ledger {
    stops: HashMap<String, StopRecord>,
    groups: Vec<(String, GroupState)>,
    grouping: Option<Grouping>,
}

impl Ledger {
    /// A ledger that groups incidents with `grouping` (`None`: not at all).
    pub fn new(grouping: Option<Grouping>) -> Self {
        Ledger {
            grouping,
            ..Ledger::default()
        }
    }

    /// Admits `plan`'s failure into its group, as the function does in webhook mode.
    fn group(&mut self, plan: &mut Outgoing) {
        let Some(settings) = self.grouping else {
            return;
        };
        let Some(candidate) = plan.group_candidate() else {
            return;
        };
        let GroupCandidate {
            about,
            key,
            destination,
            event,
            at,
        } = candidate;
        let known = self.groups.iter().position(|(k, _)| *k == key);
        let state = known.map(|i| &self.groups[i].1);
        let (admission, next) = group::admit(state, &about, destination, &event, at, settings);
        let Some(next) = next else {
            return;
        };
        plan.apply_group(&key, &next, settings, admission, false);
        match known {
            Some(i) => self.groups[i].1 = next,
            None => self.groups.push((key, next)),
        }
    }

    /// Each group that grouped failures, with its grouped message as it stands now (what app
    /// mode shows after its edits).
    pub fn grouped(&self) -> Vec<(&str, Message)> {
        let Some(settings) = self.grouping else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter(|(_, g)| g.opened_with > 0)
            .map(|(key, g)| {
                (
                    key.as_str(),
                    render(&group::notice(g, settings.window, false)),
                )
            })
            .collect()
    }
}

/// The incident grouping `render` applies: `GROUP_WINDOW_SECONDS` and `GROUP_THRESHOLD` as the
/// function reads them.
pub fn grouping_from_env() -> Result<Option<Grouping>, String> {
    let vars: Vec<(String, String)> = ["GROUP_WINDOW_SECONDS", "GROUP_THRESHOLD"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let (window, threshold) = crate::config::grouping(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .map_err(|e| e.to_string())?;
    Ok((!window.is_zero()).then(|| Grouping {
        window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(5)),
        threshold,
    }))
}

/// Renders one event (already parsed JSON) in the chosen format, with recorded enrichment.
pub fn render_value(
    name: &str,
    value: &Value,
    enrichment: &Enrichment,
    options: &Options,
    format: Format,
    ledger: &mut Ledger,
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
                match Standing::of(ledger.stops.get(&key.task_arn), &key) {
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
                        ledger.stops.insert(key.task_arn.clone(), key.record());
                    }
                    Standing::Again => {}
                }
            }
        }
        out.push_str(&render_event(
            &name, event, enrichment, options, format, ledger,
        ));
    }
    out
}

fn render_event(
    name: &str,
    event: Result<Event, DecodeError>,
    enrichment: &Enrichment,
    options: &Options,
    format: Format,
    ledger: &mut Ledger,
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
        _ => {
            // Judged as of the event's own time, as the function judges an event delivered on
            // time: the output is the same whenever it is rendered.
            let now = event.envelope().time.unwrap_or_else(Utc::now);
            let mut plan = judge(&event, enrichment, options, now);
            ledger.group(&mut plan);
            vec![plan]
        }
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
                "slack": plan.notice.as_ref().map(render),
                "datadog": crate::sinks::datadog::payload::submission_json(&plan.datadog),
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
            match plan.notice.as_ref().map(render) {
                Some(message) => {
                    let _ = writeln!(out, "slack:\n{}", preview(&message));
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
    let mut html = false;
    let mut files = Vec::new();
    let mut enrichment_dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => format = Format::Json,
            // The Slack messages as a web page: the request bodies, laid out as Slack shows them.
            "--html" => {
                format = Format::Json;
                html = true;
            }
            "--enrichment" => match args.next() {
                Some(dir) => enrichment_dir = Some(dir.clone()),
                None => {
                    eprintln!("--enrichment needs a folder");
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!("usage: ecs-notifier render [--json | --html] [--enrichment DIR] EVENT.json…\nPrints the verdict, the Slack message and the Datadog payloads for each EventBridge event file;\nwith --html, one web page showing each Slack message as Slack lays it out.\nWith --enrichment, DIR/<event file name> (if present) is recorded enrichment to apply.\nNOTIFY_ON_SUCCESS and NOTIFY_ON_STOP_TIMEOUT apply as in the function; no AWS call and no network.");
                return 0;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: ecs-notifier render [--json | --html] [--enrichment DIR] EVENT.json…");
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
            ..Options::default()
        },
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("{err}");
            return 2;
        }
    };
    let grouping = match grouping_from_env() {
        Ok(g) => g,
        Err(err) => {
            eprintln!("{err}");
            return 2;
        }
    };
    let mut out = std::io::stdout().lock();
    let dir = enrichment_dir.as_deref();
    let written = if html {
        let mut json = Vec::new();
        render_files(&files, dir, &options, format, grouping, &mut json).and_then(|status| {
            out.write_all(html_page(&json).as_bytes())?;
            out.flush()?;
            Ok(status)
        })
    } else {
        render_files(&files, dir, &options, format, grouping, &mut out)
    };
    match written {
        Ok(status) => status,
        // The reader went away (`render … | head`): stop quietly, as other Unix tools do.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(err) => {
            eprintln!("ecs-notifier render: cannot write: {err}");
            1
        }
    }
}

/// The page of every Slack message in `json` (the lines of `render --json`), in order.
fn html_page(json: &[u8]) -> String {
    let messages: Vec<(String, Message)> = String::from_utf8_lossy(json)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let name = v.get("file")?.as_str()?.to_string();
            let message = serde_json::from_value(v.get("slack")?.clone()).ok()?;
            Some((name, message))
        })
        .collect();
    crate::sinks::slack::html::page(&messages)
}

/// Renders each file to `out`; the exit status (1 when a file could not be read), or the error
/// of a write to `out`.
fn render_files(
    files: &[&String],
    enrichment_dir: Option<&str>,
    options: &Options,
    format: Format,
    grouping: Option<Grouping>,
    out: &mut impl std::io::Write,
) -> std::io::Result<i32> {
    let mut status = 0;
    let mut ledger = Ledger::new(grouping);
    for file in files {
        let name = Path::new(file.as_str())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        let parsed = std::fs::read_to_string(file.as_str())
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        let enrichment = match load_enrichment(enrichment_dir, &name) {
            Ok(e) => e,
            Err(err) => {
                eprintln!("{err}");
                status = 1;
                continue;
            }
        };
        match parsed {
            Ok(value) => {
                let text = render_value(&name, &value, &enrichment, options, format, &mut ledger);
                write!(out, "{text}")?;
                if format == Format::Text {
                    writeln!(out)?;
                }
            }
            Err(err) => {
                eprintln!("{file}: {err}");
                status = 1;
            }
        }
    }
    // Each incident's grouped message as it stands after the last file.
    if format == Format::Text {
        for (key, message) in ledger.grouped() {
            writeln!(out, "━━ incident {key}\nslack:\n{}\n", preview(&message))?;
        }
    }
    out.flush()?;
    Ok(status)
}
