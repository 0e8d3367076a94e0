//! One event rendered for a terminal or as JSON: verdict line, warnings, messages, Datadog payloads.

use std::fmt::Write as _;

use chrono::Utc;
use serde_json::{json, Value};

use crate::judge::jobs::missed_run;
use crate::judge::stops::{superseded, Standing, StopKey};
use crate::judge::{judge, Enrichment, Options, Outgoing};
use crate::sinks::slack::preview::preview;
use crate::sinks::slack::render;
use crate::source::{events, DecodeError, Event, Warning};

use super::{Format, Ledger};

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
                            Format::Text => format!(
                                "━━ {name}\n{}{why}: no message, no metrics\n",
                                warning_lines(&envelope.warnings)
                            ),
                            Format::Json | Format::Teams => {
                                let warnings = warning_texts(&envelope.warnings);
                                json!({"file": name, "superseded": why, "warnings": warnings})
                                    .to_string()
                                    + "\n"
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

/// What decoding noted, one `warning: PATH: WHY` line each.
fn warning_lines(warnings: &[Warning]) -> String {
    warnings.iter().map(|w| format!("warning: {w}\n")).collect()
}

/// What decoding noted, `PATH: WHY` each.
pub(super) fn warning_texts(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(Warning::to_string).collect()
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
            ledger.unreadable += 1;
            return match format {
                Format::Text => format!("━━ {name}\nskipped: {err}\n"),
                Format::Json | Format::Teams => {
                    json!({"file": name, "skipped": err.to_string()}).to_string() + "\n"
                }
            };
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
    let warnings = event.warnings();
    plans
        .iter()
        .map(|plan| render_plan(name, plan, warnings, enrichment, format))
        .collect()
}

/// The verdict in one line: kind, verdict, cause (with the catalogue entry that explains a
/// stopped task, when it says more) and subject, the empty ones left out.
fn verdict_line(plan: &Outgoing) -> String {
    let s = &plan.summary;
    let cause = match &s.reason {
        Some(reason) if !reason.id.is_empty() && reason.id != s.cause => {
            format!("{} ({})", s.cause, reason.id)
        }
        _ => s.cause.clone(),
    };
    let fields = [
        s.kind,
        s.verdict.as_str(),
        cause.as_str(),
        s.subject.as_str(),
    ];
    let shown: Vec<&str> = fields.into_iter().filter(|f| !f.is_empty()).collect();
    format!("verdict: {}", shown.join(" · "))
}

fn render_plan(
    name: &str,
    plan: &Outgoing,
    warnings: &[Warning],
    enrichment: &Enrichment,
    format: Format,
) -> String {
    match format {
        Format::Teams => {
            json!({
                "file": name,
                "kind": plan.summary.kind,
                "verdict": plan.summary.verdict,
                "teams": plan.notice.as_ref().map(crate::sinks::teams::render),
            })
            .to_string()
                + "\n"
        }
        Format::Json => {
            json!({
                "file": name,
                "kind": plan.summary.kind,
                "verdict": plan.summary.verdict,
                "cause": plan.summary.cause,
                "subject": plan.summary.subject,
                "slack": plan.notice.as_ref().map(render),
                "datadog": crate::sinks::datadog::payload::submission_json(&plan.datadog),
                "warnings": warning_texts(warnings),
            })
            .to_string()
                + "\n"
        }
        Format::Text => {
            let mut out = format!("━━ {name}\n");
            if *enrichment != Enrichment::default() {
                out.push_str("(with recorded enrichment)\n");
            }
            let _ = writeln!(out, "{}", verdict_line(plan));
            out.push_str(&warning_lines(warnings));
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
