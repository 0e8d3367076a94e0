//! The Datadog query checker: dashboard and monitor queries against what the library emits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ecs_notifier::cli::load_enrichment;
use ecs_notifier::judge::jobs::missed_run;
use ecs_notifier::judge::measure::Submission;
use ecs_notifier::judge::{judge, Enrichment, Options};
use ecs_notifier::source::{events, Event};
use serde_json::Value;

use crate::support::{json_files, load, root};

/// The tag every monitor carries and every event search selects.
pub const SOURCE_TAG: &str = "source:ecs-notifier";

// ---- what the function emits ---------------------------------------------------------------

/// Tag key → the values seen.
type TagValues = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Default)]
pub struct Metric {
    /// Sent to `/api/v1/distribution_points`.
    distribution: bool,
    /// Sent to `/api/v2/series` (the job gauges).
    gauge: bool,
    pub tags: TagValues,
}

/// Every metric with its tags, and every event's tags and statuses, that the library produced.
#[derive(Debug, Default)]
pub struct Vocabulary {
    pub metrics: BTreeMap<String, Metric>,
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
                "distributions" | "series" => self.add_metrics(field == "series", parts),
                _ => self.add_events(parts),
            }
        }
    }

    /// The metrics of a `distributions` or `series` (gauges) part.
    fn add_metrics(&mut self, gauge: bool, parts: &Value) {
        for part in parts.as_array().expect("an array") {
            let name = part["metric"].as_str().expect("metric name");
            let metric = self.metrics.entry(name.to_string()).or_default();
            if gauge {
                metric.gauge = true;
            } else {
                metric.distribution = true;
            }
            add_tags(&mut metric.tags, &part["tags"]);
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

    /// What one event sends with `enrichment` at `now`: the missed-run check's plan over the
    /// recorded jobs (true when it ran), or the verdict's submission.
    fn add_event(&mut self, event: &Event, enrichment: &Enrichment, now: DateTime<Utc>) -> bool {
        match event {
            Event::Check(envelope) if !enrichment.jobs.is_empty() => {
                let at = envelope.time.unwrap_or(now);
                let (missed, _, gauges) = missed_run::plan(enrichment.jobs.clone(), at);
                for outgoing in &missed {
                    self.add(&outgoing.datadog);
                }
                self.add(&gauges);
                true
            }
            _ => {
                self.add(&judge(event, enrichment, &Options::default(), now).datadog);
                false
            }
        }
    }
}

/// The library over every sample (`events/*.json`, `events/incident/*.json`), without and with
/// the recorded enrichment of the same name (deployment durations need it), and the missed-run
/// check over the recorded jobs (`events/enrichment/scheduled-check.json`).
pub fn vocabulary() -> Vocabulary {
    let enrichment_dir = root().join("events/enrichment");
    let enrichment_dir = enrichment_dir.to_str().expect("utf-8 path");
    let files: Vec<PathBuf> = json_files(&root().join("events"))
        .into_iter()
        .chain(json_files(&root().join("events/incident")))
        .collect();
    assert!(files.len() >= 40, "the samples are there: {}", files.len());
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
                checks += usize::from(vocabulary.add_event(&event, enrichment, now));
            }
        }
    }
    assert!(checks > 0, "the missed-run check ran over recorded jobs");
    assert_metric_kinds(&vocabulary);
    vocabulary
}

/// The samples produce each metric the assets read, as a distribution or a gauge, and events.
fn assert_metric_kinds(vocabulary: &Vocabulary) {
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
}

// ---- parsing ---------------------------------------------------------------------------------

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
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(open) = text[i..].find('{').map(|p| p + i) {
        let (query, end) = metric_query_at(text, open)?;
        out.push(query);
        i = end;
    }
    Ok(out)
}

/// The metric query whose filter opens at `open`, and where it ends.
fn metric_query_at(text: &str, open: usize) -> Result<(MetricQuery, usize), String> {
    let start = text[..open]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':')))
        .map_or(0, |p| p + 1);
    let Some((aggregator, metric)) = text[start..open].split_once(':') else {
        return Err(format!(
            "`{text}`: a brace at {open} that follows no `aggregator:metric`"
        ));
    };
    let close = text[open..]
        .find('}')
        .map(|p| p + open)
        .ok_or_else(|| format!("`{text}`: unclosed filter"))?;
    let (by, after_by) = group_keys(text, close + 1)?;
    let (modifiers, end) = modifiers(text, after_by)?;
    let query = MetricQuery {
        aggregator: aggregator.to_string(),
        metric: metric.to_string(),
        filter: text[open + 1..close].to_string(),
        by,
        modifiers,
    };
    Ok((query, end))
}

/// The keys of a ` by {a,b}` at `at` (none when there is none), and where it ends.
fn group_keys(text: &str, at: usize) -> Result<(Vec<String>, usize), String> {
    let Some(keys) = text[at..]
        .trim_start()
        .strip_prefix("by")
        .and_then(|after| after.trim_start().strip_prefix('{'))
    else {
        return Ok((Vec::new(), at));
    };
    let end = keys
        .find('}')
        .ok_or_else(|| format!("`{text}`: unclosed by"))?;
    let by = keys[..end]
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    Ok((by, text.len() - keys.len() + end + 1))
}

/// The names of the `.modifier(…)` calls from `at` on, and where they end.
fn modifiers(text: &str, mut at: usize) -> Result<(Vec<String>, usize), String> {
    let mut names = Vec::new();
    while text[at..].starts_with('.') {
        let name_end = text[at + 1..]
            .find('(')
            .map(|p| p + at + 1)
            .ok_or_else(|| format!("`{text}`: modifier without ()"))?;
        let args_end = text[name_end..]
            .find(')')
            .map(|p| p + name_end)
            .ok_or_else(|| format!("`{text}`: unclosed modifier"))?;
        names.push(text[at + 1..name_end].to_string());
        at = args_end + 1;
    }
    Ok((names, at))
}

fn is_percentile(aggregator: &str) -> bool {
    aggregator
        .strip_prefix('p')
        .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok_and(|p| p > 0.0 && p < 100.0))
}

/// The values of an event search term after its `key:`: `(a OR b)`, `"a b"` or `a`, and the
/// text after them.
fn event_term_values(after: &str) -> (Vec<String>, &str) {
    if let Some(inner) = after.strip_prefix('(') {
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
    }
}

// ---- the checker ---------------------------------------------------------------------------

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

    /// The metric queries in `text`: each metric is emitted, its aggregator fits its type, and
    /// every tag key and value of its filter and grouping is one the metric carries. Returns
    /// their group keys.
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
            match self.vocabulary.metrics.get(&q.metric) {
                Some(metric) => groups.extend(self.one_metric_query(at, &q, metric)),
                None => self.error(
                    at,
                    format!("`{}` is not a metric the function sends", q.metric),
                ),
            }
        }
        groups
    }

    /// One query of an emitted `metric`: its aggregator, modifiers, filter and grouping.
    /// Returns its group keys.
    fn one_metric_query(&mut self, at: &str, q: &MetricQuery, metric: &Metric) -> Vec<String> {
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
        self.metric_filter(at, &what, &q.filter, &metric.tags);
        for key in &q.by {
            self.tag_term(at, &format!("{what} by"), &metric.tags, key, None);
        }
        q.by.clone()
    }

    /// Every term of a metric query's `{filter}`: `key:value`, `$variable`, `*`, boolean words.
    fn metric_filter(&mut self, at: &str, what: &str, filter: &str, tags: &TagValues) {
        for term in filter
            .replace(['(', ')'], " ")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty() && !matches!(*t, "*" | "AND" | "OR" | "NOT"))
        {
            let term = term.trim_start_matches(['!', '-']);
            if term.starts_with('$') {
                if let Some(key) = self.variable(at, term) {
                    self.tag_term(at, what, tags, &key, None);
                }
            } else if let Some((key, value)) = term.split_once(':') {
                self.tag_term(at, what, tags, key, Some(value));
            } else {
                self.error(at, format!("{what}: `{term}` is not a key:value filter"));
            }
        }
    }

    /// An event search (Events explorer syntax): every tag it names is one the function's events
    /// carry, with such a value; `status:` reads the events' severity; other reserved attributes
    /// (`source`, `service`, …) are refused, since they do not read the tags of that name.
    fn event_query(&mut self, at: &str, text: &str) {
        self.event_queries += 1;
        let Some(terms) = self.event_terms(at, text) else {
            return;
        };
        let mut named_source = false;
        for (key, values) in terms {
            named_source |= self.event_term(at, &key, values);
        }
        if !named_source {
            self.error(
                at,
                format!("`{text}`: does not select tags:(\"{SOURCE_TAG}\")"),
            );
        }
    }

    /// The `key:values` terms of an event search (a `$variable` as its tag key with no values);
    /// `None` after an error for what is not such a term.
    fn event_terms(&mut self, at: &str, text: &str) -> Option<Vec<(String, Vec<String>)>> {
        let mut terms = Vec::new();
        let mut rest = text.trim();
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
                return None;
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
                return None;
            }
            let (values, next) = event_term_values(&rest[end + 1..]);
            terms.push((word.to_string(), values));
            rest = next;
        }
        Some(terms)
    }

    /// One `key:values` term of an event search; true when it selects the function's source tag.
    fn event_term(&mut self, at: &str, key: &str, values: Vec<String>) -> bool {
        let tags = &self.vocabulary.event_tags;
        let mut named_source = false;
        match key {
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
        named_source
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

    /// Every query under `value` (at JSON path `path` of dashboard `name`).
    fn walk(&mut self, name: &str, value: &Value, path: &str) {
        match value {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(name, v, &format!("{path}[{i}]"));
                }
            }
            Value::Object(map) => self.walk_object(name, map, path),
            _ => {}
        }
    }

    /// A widget, request or query object: its query by data source, its formulas, its event
    /// overlays and `q` queries, then what it holds.
    fn walk_object(&mut self, name: &str, map: &serde_json::Map<String, Value>, path: &str) {
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
        self.formulas(&at, map);
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

    /// A request's formulas name its queries.
    fn formulas(&mut self, at: &str, map: &serde_json::Map<String, Value>) {
        let (Some(queries), Some(formulas)) = (
            map.get("queries").and_then(Value::as_array),
            map.get("formulas").and_then(Value::as_array),
        ) else {
            return;
        };
        let names: BTreeSet<String> = queries
            .iter()
            .filter_map(|q| q["name"].as_str().map(String::from))
            .collect();
        for f in formulas {
            self.formula(at, f["formula"].as_str().unwrap_or_default(), &names);
        }
    }

    fn monitor(&mut self, name: &str, monitor: &Value) {
        let query = monitor["query"].as_str().unwrap_or_default();
        let kind = monitor["type"].as_str().unwrap_or_default();
        let groups = self.monitor_query(&format!("{name} query"), kind, query);
        if !monitor["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == SOURCE_TAG))
        {
            self.error(name, format!("monitor tags lack {SOURCE_TAG}"));
        }
        let message = monitor["message"].as_str().unwrap_or_default();
        self.message_variables(name, kind, message, &groups);
    }

    /// A monitor's query of type `kind`; returns its group keys.
    fn monitor_query(&mut self, at: &str, kind: &str, query: &str) -> Vec<String> {
        match kind {
            "query alert" => {
                let window = query.split_once(':').map(|(w, _)| w).unwrap_or_default();
                let ok_window = ["avg(", "sum(", "min(", "max(", "change(", "pct_change("]
                    .iter()
                    .any(|a| window.starts_with(a))
                    && window.contains("(last_");
                if !ok_window {
                    self.error(
                        at,
                        format!("`{query}` does not start with time_aggr(last_#):"),
                    );
                }
                let body = query.split_once(':').map(|(_, b)| b).unwrap_or(query);
                self.metric_query(at, body)
            }
            "event-v2 alert" => self.event_monitor(at, query),
            other => {
                self.error(at, format!("monitor type `{other}` is not checked"));
                Vec::new()
            }
        }
    }

    /// The `{{variables}}` of a monitor's message: `{{key.name}}` only for a key it groups by,
    /// `{{event.…}}` only in an event monitor.
    fn message_variables(&mut self, name: &str, kind: &str, message: &str, groups: &[String]) {
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
pub fn check(name: &str, asset: &Value, vocabulary: &Vocabulary) -> (Vec<String>, usize, usize) {
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{check, vocabulary, Vocabulary, SOURCE_TAG};

    const OK_OVERLAY: &str = "tags:(\"source:ecs-notifier\") $v";
    const OK_QUERY: &str =
        "sum:ecs.task.stops{result:failure,$v} by {ecs_service,cause}.as_count()";

    /// A dashboard of one timeseries widget: metric `query` (named `a`, formula `a`), event
    /// overlay `overlay`, and template variable `v` on tag `prefix`.
    fn dashboard(query: &str, overlay: &str, prefix: &str) -> Value {
        json!({
            "title": "t", "layout_type": "ordered",
            "template_variables": [{"name": "v", "prefix": prefix}],
            "widgets": [{"definition": {"type": "timeseries", "requests": [{
                "response_format": "timeseries",
                "queries": [{"data_source": "metrics", "name": "a", "query": query}],
                "formulas": [{"formula": "a"}]}],
                "events": [{"q": overlay}]}}]
        })
    }

    /// `dashboard` with `query`, the good overlay and the variable on `ecs_cluster_name`.
    fn with_query(query: &str) -> Value {
        dashboard(query, OK_OVERLAY, "ecs_cluster_name")
    }

    fn monitor(kind: &str, query: &str, message: &str) -> Value {
        json!({"name": "m", "type": kind, "query": query, "message": message,
               "tags": [SOURCE_TAG], "options": {}})
    }

    /// Each asset's errors include its own.
    fn assert_rejected(name: &str, cases: Vec<(Value, &str)>, vocabulary: &Vocabulary) {
        for (asset, want) in cases {
            let (errors, _, _) = check(name, &asset, vocabulary);
            assert!(
                errors.iter().any(|e| e.contains(want)),
                "expected an error containing {want:?}, got {errors:?}"
            );
        }
    }

    /// The checker on made-up dashboards: each mistake is reported.
    #[test]
    fn the_checker_rejects_unknown_metrics_tags_and_values() {
        let vocabulary = vocabulary();
        let (errors, m, e) = check("good", &with_query(OK_QUERY), &vocabulary);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((m, e), (1, 1));

        let overlay = |overlay: &str| dashboard(OK_QUERY, overlay, "ecs_cluster_name");
        let bad = vec![
            (
                with_query("sum:ecs.task.stoped{*}.as_count()"),
                "`ecs.task.stoped` is not a metric",
            ),
            (
                with_query("sum:ecs.task.stops{cluster:prod}.as_count()"),
                "has no tag `cluster`",
            ),
            (
                with_query("sum:ecs.task.stops{*} by {service_name}.as_count()"),
                "has no tag `service_name`",
            ),
            (
                with_query("sum:ecs.task.stops{cause:oom}.as_count()"),
                "value like `oom`",
            ),
            (with_query("p95:ecs.job.overdue{*}"), "needs a distribution"),
            (
                dashboard(OK_QUERY, OK_OVERLAY, "cluster"),
                "prefix `cluster` is a tag of no metric",
            ),
            (
                overlay("tags:(\"source:ecs-notifier\") cluster:prod"),
                "the events has no tag `cluster`",
            ),
            (overlay("source:ecs-notifier"), "reserved attribute"),
            (
                with_query("sum:ecs.task.stops{$cluster}.as_count()"),
                "template variable $cluster is not defined",
            ),
        ];
        assert_rejected("made-up", bad, &vocabulary);
        let mut formula = with_query(OK_QUERY);
        formula["widgets"][0]["definition"]["requests"][0]["formulas"][0]["formula"] =
            json!("b / 60");
        let (errors, _, _) = check("made-up", &formula, &vocabulary);
        assert!(
            errors.iter().any(|e| e.contains("names no query `b`")),
            "{errors:?}"
        );
        check_made_up_monitors(&vocabulary);
    }

    /// The checker on made-up monitors: each mistake is reported.
    fn check_made_up_monitors(vocabulary: &Vocabulary) {
        let metric =
            "sum(last_5m):sum:ecs.task.stops{result:failure} by {task_family}.as_count() > 0";
        let message = "{{#is_alert}}{{task_family.name}}{{/is_alert}}";
        let good = monitor("query alert", metric, message);
        let (errors, _, _) = check("good monitor", &good, vocabulary);
        assert!(errors.is_empty(), "{errors:?}");
        let events = r#"events("tags:(\"source:ecs-notifier\") ecs_event:service_deployment_failed").rollup("count").by("ecs_service").last("5m") > 0"#;
        let bad = vec![
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
        assert_rejected("made-up monitor", bad, vocabulary);
    }
}
