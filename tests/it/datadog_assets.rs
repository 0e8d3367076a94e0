//! The Datadog dashboard and monitors of `datadog/` against what the function really sends, and
//! `scripts/datadog` (`make datadog`) against a fake Datadog API on loopback.
//!
//! - Every metric, tag key and tag value in every query of `datadog/*.json` and
//!   `datadog/monitors/*.json` (widget queries and formulas, template variables, event overlays
//!   and event lists, monitor queries, monitor message variables) is one the library emits: the
//!   vocabulary is collected by running the library over every sample event (`events/`), with and
//!   without its recorded enrichment, and the missed-run check over the recorded jobs; nothing
//!   is listed by hand. The same checker rejects made-up queries.
//! - Each file loads with `datadog-api-client`'s models, strictly (`scripts/datadog --validate`).
//! - `scripts/datadog` creates the dashboard and monitors, then updates them when run again
//!   (matched by title and name, no duplicates), with the API and application keys on every
//!   request; `--dry-run` sends nothing; a missing key fails before anything is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use ecs_notifier::cli::load_enrichment;
use ecs_notifier::judge::jobs::missed_run;
use ecs_notifier::judge::measure::Submission;
use ecs_notifier::judge::{judge, Enrichment, Options};
use ecs_notifier::source::{events, Event};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SOURCE_TAG: &str = "source:ecs-notifier";
const API_KEY: &str = "test-api-key-0123";
const APP_KEY: &str = "test-app-key-4567";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

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

// ---- what the function emits ---------------------------------------------------------------

/// Tag key → the values seen.
type TagValues = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Default)]
struct Metric {
    /// Sent to `/api/v1/distribution_points`.
    distribution: bool,
    /// Sent to `/api/v2/series` (the job gauges).
    gauge: bool,
    tags: TagValues,
}

/// Every metric with its tags, and every event's tags and statuses, that the library produced.
#[derive(Debug, Default)]
struct Vocabulary {
    metrics: BTreeMap<String, Metric>,
    event_tags: TagValues,
    /// Event severities (`alert_type`), which the event search reads as `status`.
    event_statuses: BTreeSet<String>,
}

fn add_tags(into: &mut TagValues, tags: &Value) {
    for tag in tags
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let (key, value) = tag.split_once(':').unwrap_or((tag, ""));
        into.entry(key.to_string())
            .or_default()
            .insert(value.to_string());
    }
}

impl Vocabulary {
    /// What one submission sends, read from its serialized form (the request bodies' shapes).
    fn add(&mut self, submission: &Submission) {
        let value = ecs_notifier::sinks::datadog::payload::submission_json(submission);
        for (field, parts) in value.as_object().expect("submission is an object") {
            match field.as_str() {
                "distributions" | "series" => {
                    for part in parts.as_array().expect("an array") {
                        let name = part["metric"].as_str().expect("metric name");
                        let metric = self.metrics.entry(name.to_string()).or_default();
                        if field == "series" {
                            metric.gauge = true;
                        } else {
                            metric.distribution = true;
                        }
                        add_tags(&mut metric.tags, &part["tags"]);
                    }
                }
                _ => self.add_events(parts),
            }
        }
    }

    /// Events, whatever their shape (v1 `/api/v1/events` or a v2 payload): every object with
    /// `tags` is an event's.
    fn add_events(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                if map.get("tags").is_some_and(Value::is_array) {
                    add_tags(&mut self.event_tags, &map["tags"]);
                }
                if let Some(status) = map.get("alert_type").and_then(Value::as_str) {
                    self.event_statuses.insert(status.to_string());
                }
                for (key, v) in map {
                    if key != "tags" {
                        self.add_events(v);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.add_events(v)),
            _ => {}
        }
    }
}

/// The library over every sample (`events/*.json`, `events/incident/*.json`), without and with
/// the recorded enrichment of the same name (deployment durations need it), and the missed-run
/// check over the recorded jobs (`events/enrichment/scheduled-check.json`).
fn vocabulary() -> Vocabulary {
    let enrichment_dir = root().join("events/enrichment");
    let enrichment_dir = enrichment_dir.to_str().expect("utf-8 path");
    let files: Vec<PathBuf> = json_files(&root().join("events"))
        .into_iter()
        .chain(json_files(&root().join("events/incident")))
        .collect();
    assert!(files.len() >= 40, "the samples are there: {}", files.len());
    let options = Options::default();
    let now = Utc::now();
    let mut vocabulary = Vocabulary::default();
    let mut checks = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let recorded = load_enrichment(Some(enrichment_dir), &name)
            .unwrap_or_else(|err| panic!("{name}: enrichment: {err}"));
        for (_, decoded) in events(&load(&path)) {
            let Ok(event) = decoded else { continue };
            for enrichment in [&Enrichment::default(), &recorded] {
                match &event {
                    Event::Check(envelope) if !enrichment.jobs.is_empty() => {
                        checks += 1;
                        let at = envelope.time.unwrap_or(now);
                        let (missed, _, gauges) = missed_run::plan(enrichment.jobs.clone(), at);
                        for outgoing in &missed {
                            vocabulary.add(&outgoing.datadog);
                        }
                        vocabulary.add(&gauges);
                    }
                    _ => vocabulary.add(&judge(&event, enrichment, &options, now).datadog),
                }
            }
        }
    }
    assert!(checks > 0, "the missed-run check ran over recorded jobs");
    for (metric, gauge) in [
        ("ecs.task.stops", false),
        ("ecs.task.duration", false),
        ("ecs.deployment.duration", false),
        ("ecs.job.missed_runs", false),
        ("ecs.job.overdue", true),
    ] {
        let m = vocabulary
            .metrics
            .get(metric)
            .unwrap_or_else(|| panic!("the samples produce {metric}"));
        assert_eq!(m.gauge, gauge, "{metric}: gauge");
        assert_eq!(m.distribution, !gauge, "{metric}: distribution");
    }
    assert!(
        vocabulary.event_tags.contains_key("source"),
        "the samples produce events"
    );
    vocabulary
}

// ---- the checker ---------------------------------------------------------------------------

/// `pattern` (with `*` wildcards) matches `value`.
fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    if !value.ends_with(last) {
        return false;
    }
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// One metric query: `aggregator:metric{filter} by {keys}.modifier()…`.
#[derive(Debug)]
struct MetricQuery {
    aggregator: String,
    metric: String,
    filter: String,
    by: Vec<String>,
    modifiers: Vec<String>,
}

/// Every metric query in `text` (a widget query, or a monitor query around them); an error for
/// a brace that is not part of one.
fn metric_queries(text: &str) -> Result<Vec<MetricQuery>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':')))
            .map_or(0, |p| p + 1);
        let head = &text[start..i];
        let Some((aggregator, metric)) = head.split_once(':') else {
            return Err(format!(
                "`{text}`: a brace at {i} that follows no `aggregator:metric`"
            ));
        };
        let close = text[i..]
            .find('}')
            .map(|p| p + i)
            .ok_or_else(|| format!("`{text}`: unclosed filter"))?;
        let filter = text[i + 1..close].to_string();
        let mut j = close + 1;
        let mut by = Vec::new();
        let rest = text[j..].trim_start();
        if let Some(after) = rest.strip_prefix("by") {
            let after = after.trim_start();
            if let Some(keys) = after.strip_prefix('{') {
                let end = keys
                    .find('}')
                    .ok_or_else(|| format!("`{text}`: unclosed by"))?;
                by = keys[..end]
                    .split(',')
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty())
                    .collect();
                j = text.len() - keys.len() + end + 1;
            }
        }
        let mut modifiers = Vec::new();
        while text[j..].starts_with('.') {
            let name_end = text[j + 1..]
                .find('(')
                .map(|p| p + j + 1)
                .ok_or_else(|| format!("`{text}`: modifier without ()"))?;
            let args_end = text[name_end..]
                .find(')')
                .map(|p| p + name_end)
                .ok_or_else(|| format!("`{text}`: unclosed modifier"))?;
            modifiers.push(text[j + 1..name_end].to_string());
            j = args_end + 1;
        }
        out.push(MetricQuery {
            aggregator: aggregator.to_string(),
            metric: metric.to_string(),
            filter,
            by,
            modifiers,
        });
        i = j;
    }
    Ok(out)
}

fn is_percentile(aggregator: &str) -> bool {
    aggregator
        .strip_prefix('p')
        .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok_and(|p| p > 0.0 && p < 100.0))
}

/// Reserved attributes of the event search: `key:value` there does not read the tag of that
/// key (Datadog docs, Events explorer, "Reserved Attributes": "To search a tag that has the
/// same key as a reserved attribute, use the tags search syntax").
const RESERVED: [&str; 5] = ["host", "source", "status", "service", "message"];

struct Checker<'a> {
    vocabulary: &'a Vocabulary,
    /// Dashboard template variables: name → tag key (prefix).
    variables: BTreeMap<String, String>,
    errors: Vec<String>,
    metric_queries: usize,
    event_queries: usize,
}

impl<'a> Checker<'a> {
    fn new(vocabulary: &'a Vocabulary) -> Self {
        Checker {
            vocabulary,
            variables: BTreeMap::new(),
            errors: Vec::new(),
            metric_queries: 0,
            event_queries: 0,
        }
    }

    fn error(&mut self, at: &str, what: String) {
        self.errors.push(format!("{at}: {what}"));
    }

    /// A `$variable` (or `$variable.value`): its tag key.
    fn variable(&mut self, at: &str, token: &str) -> Option<String> {
        let name = token.trim_start_matches('$');
        let name = name.strip_suffix(".value").unwrap_or(name);
        match self.variables.get(name) {
            Some(prefix) => Some(prefix.clone()),
            None => {
                self.error(at, format!("template variable ${name} is not defined"));
                None
            }
        }
    }

    /// `key`'s `value` (a pattern, or `None` for any) is one `tags` has.
    fn tag_term(&mut self, at: &str, what: &str, tags: &TagValues, key: &str, value: Option<&str>) {
        let Some(values) = tags.get(key) else {
            let known: Vec<&String> = tags.keys().collect();
            self.error(at, format!("{what} has no tag `{key}` (it has {known:?})"));
            return;
        };
        if let Some(value) = value {
            if !values.iter().any(|v| glob(value, v)) {
                self.error(
                    at,
                    format!("{what}: no `{key}` tag has a value like `{value}` (seen: {values:?})"),
                );
            }
        }
    }

    /// A metric query: the metric is emitted, its aggregator fits its type, and every tag key
    /// and value of its filter and grouping is one the metric carries. Returns its group keys.
    fn metric_query(&mut self, at: &str, text: &str) -> Vec<String> {
        let queries = match metric_queries(text) {
            Ok(q) if q.is_empty() => {
                self.error(at, format!("`{text}`: no metric query"));
                return Vec::new();
            }
            Ok(q) => q,
            Err(err) => {
                self.error(at, err);
                return Vec::new();
            }
        };
        let mut groups = Vec::new();
        for q in queries {
            self.metric_queries += 1;
            let Some(metric) = self.vocabulary.metrics.get(&q.metric) else {
                self.error(
                    at,
                    format!("`{}` is not a metric the function sends", q.metric),
                );
                continue;
            };
            let what = format!("`{}`", q.metric);
            let aggregator = q.aggregator.as_str();
            if !matches!(aggregator, "avg" | "sum" | "min" | "max" | "count")
                && !is_percentile(aggregator)
            {
                self.error(at, format!("{what}: unknown aggregator `{aggregator}`"));
            }
            if is_percentile(aggregator) && !metric.distribution {
                self.error(
                    at,
                    format!("{what}: `{aggregator}:` needs a distribution; it is a gauge"),
                );
            }
            for m in &q.modifiers {
                match m.as_str() {
                    "as_count" if metric.gauge => {
                        self.error(at, format!("{what}: .as_count() on a gauge"))
                    }
                    "as_count" | "as_rate" | "rollup" | "fill" => {}
                    other => self.error(at, format!("{what}: unchecked modifier .{other}()")),
                }
            }
            let tags = &metric.tags;
            for term in q
                .filter
                .replace(['(', ')'], " ")
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty() && !matches!(*t, "*" | "AND" | "OR" | "NOT"))
            {
                let term = term.trim_start_matches(['!', '-']);
                if term.starts_with('$') {
                    if let Some(key) = self.variable(at, term) {
                        self.tag_term(at, &what, tags, &key, None);
                    }
                } else if let Some((key, value)) = term.split_once(':') {
                    self.tag_term(at, &what, tags, key, Some(value));
                } else {
                    self.error(at, format!("{what}: `{term}` is not a key:value filter"));
                }
            }
            for key in &q.by {
                self.tag_term(at, &format!("{what} by"), tags, key, None);
                groups.push(key.clone());
            }
        }
        groups
    }

    /// An event search (Events explorer syntax): every tag it names is one the function's events
    /// carry, with such a value; `status:` reads the events' severity; other reserved attributes
    /// (`source`, `service`, …) are refused, since they do not read the tags of that name.
    fn event_query(&mut self, at: &str, text: &str) {
        self.event_queries += 1;
        let tags = &self.vocabulary.event_tags;
        let mut terms: Vec<(String, Vec<String>)> = Vec::new();
        let mut rest = text.trim();
        let mut named_source = false;
        while !rest.is_empty() {
            rest = rest.trim_start_matches(['(', ')', ' ', '-']);
            if rest.is_empty() {
                break;
            }
            if let Some(r) = ["AND ", "OR ", "NOT "]
                .iter()
                .find_map(|op| rest.strip_prefix(op))
            {
                rest = r;
                continue;
            }
            if rest.starts_with('"') {
                self.error(
                    at,
                    format!("`{text}`: free text is not checked; search tags"),
                );
                return;
            }
            let end = rest.find([' ', ':', ')']).unwrap_or(rest.len());
            let word = &rest[..end];
            if word.starts_with('$') {
                if let Some(key) = self.variable(at, word) {
                    terms.push((key, Vec::new()));
                }
                rest = &rest[end..];
                continue;
            }
            if !rest[end..].starts_with(':') {
                self.error(at, format!("`{text}`: `{word}` is not a key:value term"));
                return;
            }
            let key = word.to_string();
            let after = &rest[end + 1..];
            let (values, next) = if let Some(inner) = after.strip_prefix('(') {
                let close = inner.find(')').unwrap_or(inner.len());
                let values = inner[..close]
                    .split_whitespace()
                    .filter(|v| !matches!(*v, "OR" | "AND"))
                    .map(|v| v.trim_matches('"').to_string())
                    .collect();
                (values, &inner[(close + 1).min(inner.len())..])
            } else if let Some(inner) = after.strip_prefix('"') {
                let close = inner.find('"').unwrap_or(inner.len());
                (
                    vec![inner[..close].to_string()],
                    &inner[(close + 1).min(inner.len())..],
                )
            } else {
                let close = after.find([' ', ')']).unwrap_or(after.len());
                (vec![after[..close].to_string()], &after[close..])
            };
            terms.push((key, values));
            rest = next;
        }
        for (key, values) in terms {
            match key.as_str() {
                "tags" => {
                    for tag in values {
                        let (k, v) = tag.split_once(':').unwrap_or((&tag, ""));
                        named_source |= tag == SOURCE_TAG;
                        let v = (!v.is_empty()).then_some(v);
                        self.tag_term(at, "the events", tags, k, v);
                    }
                }
                "status" => {
                    for v in values {
                        if !self.vocabulary.event_statuses.contains(&v) {
                            let seen = &self.vocabulary.event_statuses;
                            self.error(at, format!("no event has status `{v}` (seen: {seen:?})"));
                        }
                    }
                }
                k if RESERVED.contains(&k) => self.error(
                    at,
                    format!("`{k}:` is a reserved attribute, not the tag: write tags:(\"{k}:…\")"),
                ),
                k if k.starts_with('@') => self.error(
                    at,
                    format!("`{k}`: the function's events have no attributes"),
                ),
                k => {
                    if values.is_empty() {
                        self.tag_term(at, "the events", tags, k, None);
                    }
                    for v in values {
                        self.tag_term(at, "the events", tags, k, Some(&v));
                    }
                }
            }
        }
        if !named_source {
            self.error(
                at,
                format!("`{text}`: does not select tags:(\"{SOURCE_TAG}\")"),
            );
        }
    }

    /// Identifiers of a formula name queries of its request (functions excepted).
    fn formula(&mut self, at: &str, formula: &str, names: &BTreeSet<String>) {
        let mut chars = formula.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !c.is_ascii_alphabetic() {
                continue;
            }
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = j + 1;
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &formula[i..end];
            let is_function = formula[end..].trim_start().starts_with('(');
            if !is_function && !names.contains(word) {
                self.error(at, format!("formula `{formula}` names no query `{word}`"));
            }
        }
    }

    fn dashboard(&mut self, name: &str, dashboard: &Value) {
        for var in dashboard["template_variables"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let var_name = var["name"].as_str().unwrap_or_default().to_string();
            let prefix = var["prefix"].as_str().unwrap_or_default().to_string();
            let known = self
                .vocabulary
                .metrics
                .values()
                .any(|m| m.tags.contains_key(&prefix))
                || self.vocabulary.event_tags.contains_key(&prefix);
            if !known {
                self.error(
                    &format!("{name} template variable {var_name}"),
                    format!("prefix `{prefix}` is a tag of no metric or event"),
                );
            }
            self.variables.insert(var_name, prefix);
        }
        self.walk(name, &dashboard["widgets"], "$.widgets");
    }

    fn walk(&mut self, name: &str, value: &Value, path: &str) {
        match value {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(name, v, &format!("{path}[{i}]"));
                }
            }
            Value::Object(map) => {
                let at = format!("{name} {path}");
                match map.get("data_source").and_then(Value::as_str) {
                    Some("metrics") => {
                        let q = map["query"].as_str().unwrap_or_default();
                        self.metric_query(&at, q);
                    }
                    Some("event_stream") => {
                        let q = map["query_string"].as_str().unwrap_or_default();
                        self.event_query(&at, q);
                    }
                    Some(other) => self.error(&at, format!("data source `{other}` is not checked")),
                    None => {}
                }
                if let (Some(queries), Some(formulas)) = (
                    map.get("queries").and_then(Value::as_array),
                    map.get("formulas").and_then(Value::as_array),
                ) {
                    let names: BTreeSet<String> = queries
                        .iter()
                        .filter_map(|q| q["name"].as_str().map(String::from))
                        .collect();
                    for f in formulas {
                        self.formula(&at, f["formula"].as_str().unwrap_or_default(), &names);
                    }
                }
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("events", Value::Array(overlays)) => {
                            for (i, overlay) in overlays.iter().enumerate() {
                                let q = overlay["q"].as_str().unwrap_or_default();
                                self.event_query(&format!("{at}.events[{i}]"), q);
                            }
                        }
                        ("q", Value::String(q)) => {
                            self.metric_query(&at, q);
                        }
                        _ => self.walk(name, v, &format!("{path}.{key}")),
                    }
                }
            }
            _ => {}
        }
    }

    fn monitor(&mut self, name: &str, monitor: &Value) {
        let query = monitor["query"].as_str().unwrap_or_default();
        let at = format!("{name} query");
        let kind = monitor["type"].as_str().unwrap_or_default();
        let groups: Vec<String> = match kind {
            "query alert" => {
                let window = query.split_once(':').map(|(w, _)| w).unwrap_or_default();
                let ok_window = ["avg(", "sum(", "min(", "max(", "change(", "pct_change("]
                    .iter()
                    .any(|a| window.starts_with(a))
                    && window.contains("(last_");
                if !ok_window {
                    self.error(
                        &at,
                        format!("`{query}` does not start with time_aggr(last_#):"),
                    );
                }
                let body = query.split_once(':').map(|(_, b)| b).unwrap_or(query);
                self.metric_query(&at, body)
            }
            "event-v2 alert" => self.event_monitor(&at, query),
            other => {
                self.error(&at, format!("monitor type `{other}` is not checked"));
                Vec::new()
            }
        };
        if !monitor["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == SOURCE_TAG))
        {
            self.error(name, format!("monitor tags lack {SOURCE_TAG}"));
        }
        let message = monitor["message"].as_str().unwrap_or_default();
        let mut rest = message;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                self.error(name, "message: unclosed {{".into());
                break;
            };
            let inner = rest[open + 2..open + close].trim();
            rest = &rest[open + close + 2..];
            if inner.starts_with(['#', '/', '^']) {
                continue;
            }
            if let Some(key) = inner.strip_suffix(".name") {
                if !groups.iter().any(|g| g == key) {
                    self.error(
                        name,
                        format!(
                            "message uses {{{{{inner}}}}} but the monitor groups by {groups:?}"
                        ),
                    );
                }
            } else if inner.starts_with("event.") && kind != "event-v2 alert" {
                self.error(
                    name,
                    format!("message uses {{{{{inner}}}}} in a metric monitor"),
                );
            }
        }
    }

    /// `events("search").rollup("count").by("a,b").last("10m") > N`: the search, and the group
    /// keys, which must be event tags.
    fn event_monitor(&mut self, at: &str, query: &str) -> Vec<String> {
        let Some(arg) = query.strip_prefix("events(") else {
            self.error(at, format!("`{query}` does not start with events("));
            return Vec::new();
        };
        let mut de = serde_json::Deserializer::from_str(arg).into_iter::<String>();
        let Some(Ok(search)) = de.next() else {
            self.error(
                at,
                format!("`{query}`: events() takes a double-quoted string"),
            );
            return Vec::new();
        };
        let tail = &arg[de.byte_offset()..];
        self.event_query(at, &search);
        if !tail.starts_with(").rollup(\"count\")") || !tail.contains(".last(\"") {
            self.error(
                at,
                format!("`{tail}`: expected ).rollup(\"count\")….last(\"#m\")"),
            );
        }
        let mut groups = Vec::new();
        if let Some(by) = tail.split_once(".by(\"").map(|(_, b)| b) {
            let keys = by.split_once('"').map(|(k, _)| k).unwrap_or_default();
            for key in keys.split(',').map(str::trim) {
                let tags = &self.vocabulary.event_tags;
                self.tag_term(at, "the events by", tags, key, None);
                groups.push(key.to_string());
            }
        }
        groups
    }
}

/// The checker's verdict on one asset: its errors, and how many metric and event queries it
/// read.
fn check(name: &str, asset: &Value, vocabulary: &Vocabulary) -> (Vec<String>, usize, usize) {
    let mut checker = Checker::new(vocabulary);
    if asset.get("widgets").is_some() {
        checker.dashboard(name, asset);
    } else if asset.get("query").is_some() {
        checker.monitor(name, asset);
    } else {
        checker.error(name, "neither a dashboard nor a monitor".into());
    }
    (
        checker.errors,
        checker.metric_queries,
        checker.event_queries,
    )
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

/// The same checker on made-up assets: each mistake is reported.
#[test]
fn the_checker_rejects_unknown_metrics_tags_and_values() {
    let vocabulary = vocabulary();
    let dashboard = |query: &str, overlay: &str, prefix: &str| {
        json!({
            "title": "t", "layout_type": "ordered",
            "template_variables": [{"name": "v", "prefix": prefix}],
            "widgets": [{"definition": {"type": "timeseries", "requests": [{
                "response_format": "timeseries",
                "queries": [{"data_source": "metrics", "name": "a", "query": query}],
                "formulas": [{"formula": "a"}]}],
                "events": [{"q": overlay}]}}]
        })
    };
    let ok_overlay = "tags:(\"source:ecs-notifier\") $v";
    let ok_query = "sum:ecs.task.stops{result:failure,$v} by {ecs_service,cause}.as_count()";
    let (errors, m, e) = check(
        "good",
        &dashboard(ok_query, ok_overlay, "ecs_cluster_name"),
        &vocabulary,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((m, e), (1, 1));

    let bad = [
        (
            dashboard(
                "sum:ecs.task.stoped{*}.as_count()",
                ok_overlay,
                "ecs_cluster_name",
            ),
            "`ecs.task.stoped` is not a metric",
        ),
        (
            dashboard(
                "sum:ecs.task.stops{cluster:prod}.as_count()",
                ok_overlay,
                "ecs_cluster_name",
            ),
            "has no tag `cluster`",
        ),
        (
            dashboard(
                "sum:ecs.task.stops{*} by {service_name}.as_count()",
                ok_overlay,
                "ecs_cluster_name",
            ),
            "has no tag `service_name`",
        ),
        (
            dashboard(
                "sum:ecs.task.stops{cause:oom}.as_count()",
                ok_overlay,
                "ecs_cluster_name",
            ),
            "value like `oom`",
        ),
        (
            dashboard("p95:ecs.job.overdue{*}", ok_overlay, "ecs_cluster_name"),
            "needs a distribution",
        ),
        (
            dashboard(ok_query, ok_overlay, "cluster"),
            "prefix `cluster` is a tag of no metric",
        ),
        (
            dashboard(
                ok_query,
                "tags:(\"source:ecs-notifier\") cluster:prod",
                "ecs_cluster_name",
            ),
            "the events has no tag `cluster`",
        ),
        (
            dashboard(ok_query, "source:ecs-notifier", "ecs_cluster_name"),
            "reserved attribute",
        ),
        (
            dashboard(
                "sum:ecs.task.stops{$cluster}.as_count()",
                ok_overlay,
                "ecs_cluster_name",
            ),
            "template variable $cluster is not defined",
        ),
    ];
    for (asset, want) in bad {
        let (errors, _, _) = check("made-up", &asset, &vocabulary);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "expected an error containing {want:?}, got {errors:?}"
        );
    }
    let mut formula = dashboard(ok_query, ok_overlay, "ecs_cluster_name");
    formula["widgets"][0]["definition"]["requests"][0]["formulas"][0]["formula"] = json!("b / 60");
    let (errors, _, _) = check("made-up", &formula, &vocabulary);
    assert!(
        errors.iter().any(|e| e.contains("names no query `b`")),
        "{errors:?}"
    );

    let monitor = |kind: &str, query: &str, message: &str| {
        json!({"name": "m", "type": kind, "query": query, "message": message,
               "tags": [SOURCE_TAG], "options": {}})
    };
    let metric = "sum(last_5m):sum:ecs.task.stops{result:failure} by {task_family}.as_count() > 0";
    let (errors, _, _) = check(
        "good monitor",
        &monitor(
            "query alert",
            metric,
            "{{#is_alert}}{{task_family.name}}{{/is_alert}}",
        ),
        &vocabulary,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let events = r#"events("tags:(\"source:ecs-notifier\") ecs_event:service_deployment_failed").rollup("count").by("ecs_service").last("5m") > 0"#;
    let bad_monitors = [
        (
            monitor("query alert", metric, "{{ecs_service.name}} failed"),
            "but the monitor groups by",
        ),
        (
            monitor(
                "query alert",
                "sum(last_5m):sum:ecs.task.stops{*} by {cluster}.as_count() > 0",
                "",
            ),
            "has no tag `cluster`",
        ),
        (
            monitor(
                "event-v2 alert",
                &events.replace("by(\"ecs_service\")", "by(\"cluster\")"),
                "",
            ),
            "the events by has no tag `cluster`",
        ),
        (
            monitor(
                "event-v2 alert",
                &events.replace("service_deployment_failed", "deploy_failed"),
                "",
            ),
            "value like `deploy_failed`",
        ),
        (
            monitor(
                "query alert",
                "avg(last_1h):anomalies(p95:ecs.task.durations{*}, 'basic', 2) >= 1",
                "",
            ),
            "`ecs.task.durations` is not a metric",
        ),
    ];
    for (asset, want) in bad_monitors {
        let (errors, _, _) = check("made-up monitor", &asset, &vocabulary);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "expected an error containing {want:?}, got {errors:?}"
        );
    }
}

// ---- datadog-api-client models -------------------------------------------------------------

fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} not found: `make tools` installs requirements-dev.txt (datadog-api-client) into .venv",
        venv.display()
    );
    venv
}

fn script(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(python());
    command
        .arg(root().join("scripts/datadog"))
        .args(args)
        .current_dir(root())
        .env_remove("DD_API_KEY")
        .env_remove("DD_APP_KEY")
        .env_remove("DD_SITE")
        .env_remove("DATADOG_API_URL");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run scripts/datadog")
}

fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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

// ---- scripts/datadog against a fake Datadog ------------------------------------------------

/// A Datadog account as far as the script sees it: dashboards and monitors by id, and what was
/// asked.
#[derive(Default)]
struct Fake {
    dashboards: Vec<Value>,
    monitors: Vec<Value>,
    next_id: u64,
    /// (method, path) of every request.
    requests: Vec<(String, String)>,
    /// Requests without both keys.
    unauthenticated: usize,
}

impl Fake {
    /// An account with 150 other dashboards (the list spans two pages) and a monitor whose name
    /// contains one of ours (the `name` filter matches parts of names).
    fn seeded(our_monitor: &str) -> Self {
        let mut fake = Fake {
            next_id: 1000,
            ..Fake::default()
        };
        for n in 0..150 {
            fake.dashboards.push(
                json!({"id": format!("oth-{n:03}"), "title": format!("Other {n}"),
                                        "layout_type": "ordered", "widgets": []}),
            );
        }
        fake.monitors
            .push(json!({"id": 1, "name": format!("{our_monitor} (old copy)"),
                                  "type": "query alert", "query": "x"}));
        fake
    }

    fn respond(&mut self, req: &Request) -> ResponseTemplate {
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        self.requests.push((method.clone(), path.clone()));
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        if header("DD-API-KEY") != API_KEY || header("DD-APPLICATION-KEY") != APP_KEY {
            self.unauthenticated += 1;
            return ResponseTemplate::new(403).set_body_json(json!({"errors": ["Forbidden"]}));
        }
        let query: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        let number =
            |k: &str, default: usize| query.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        let body = || serde_json::from_slice::<Value>(&req.body).ok();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["api", "v1", "dashboard"]) => {
                let (start, count) = (number("start", 0), number("count", 100));
                let page: Vec<Value> = self
                    .dashboards
                    .iter()
                    .skip(start)
                    .take(count)
                    .map(|d| json!({"id": d["id"], "title": d["title"], "url": d["url"]}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "dashboards": page }))
            }
            ("POST", ["api", "v1", "dashboard"]) => match body() {
                Some(mut d) => {
                    self.next_id += 1;
                    let id = format!("abc-{}", self.next_id);
                    d["id"] = json!(id);
                    d["url"] = json!(format!("/dashboard/{id}/ecs"));
                    self.dashboards.push(d.clone());
                    ResponseTemplate::new(200).set_body_json(d)
                }
                None => ResponseTemplate::new(400),
            },
            ("PUT", ["api", "v1", "dashboard", id]) => {
                match (self.dashboards.iter_mut().find(|d| d["id"] == *id), body()) {
                    (Some(slot), Some(mut d)) => {
                        d["id"] = json!(id);
                        d["url"] = json!(format!("/dashboard/{id}/ecs"));
                        *slot = d.clone();
                        ResponseTemplate::new(200).set_body_json(d)
                    }
                    (None, _) => ResponseTemplate::new(404),
                    (_, None) => ResponseTemplate::new(400),
                }
            }
            ("GET", ["api", "v1", "monitor"]) => {
                let name = query
                    .get("name")
                    .cloned()
                    .unwrap_or_default()
                    .to_lowercase();
                let (page, size) = (number("page", 0), number("page_size", 100));
                let found: Vec<Value> = self
                    .monitors
                    .iter()
                    .filter(|m| {
                        m["name"]
                            .as_str()
                            .is_some_and(|n| n.to_lowercase().contains(&name))
                    })
                    .skip(page * size)
                    .take(size)
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(found)
            }
            ("POST", ["api", "v1", "monitor"]) => match body() {
                Some(mut m) => {
                    self.next_id += 1;
                    m["id"] = json!(self.next_id);
                    self.monitors.push(m.clone());
                    ResponseTemplate::new(200).set_body_json(m)
                }
                None => ResponseTemplate::new(400),
            },
            ("PUT", ["api", "v1", "monitor", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                match (self.monitors.iter_mut().find(|m| m["id"] == id), body()) {
                    (Some(slot), Some(mut m)) => {
                        m["id"] = json!(id);
                        *slot = m.clone();
                        ResponseTemplate::new(200).set_body_json(m)
                    }
                    (None, _) => ResponseTemplate::new(404),
                    (_, None) => ResponseTemplate::new(400),
                }
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"errors": ["Not found"]})),
        }
    }
}

async fn fake_datadog(fake: Arc<Mutex<Fake>>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(move |req: &Request| fake.lock().unwrap().respond(req))
        .mount(&server)
        .await;
    server
}

/// `scripts/datadog ARGS` with the keys and the fake's URL, off the async runtime.
async fn run(uri: &str, args: &[&str], keys: bool) -> (bool, String, String) {
    let uri = uri.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::time::timeout(
        SCRIPT_TIMEOUT,
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut envs = vec![("DATADOG_API_URL", uri.as_str())];
            if keys {
                envs.extend([("DD_API_KEY", API_KEY), ("DD_APP_KEY", APP_KEY)]);
            }
            script(&args, &envs)
        }),
    )
    .await
    .expect("scripts/datadog finishes")
    .expect("scripts/datadog runs");
    let (stdout, stderr) = text(&out);
    (out.status.success(), stdout, stderr)
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
