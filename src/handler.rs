//! One invocation: a single EventBridge event or an SQS batch of them. Each event is decoded,
//! filtered, enriched, planned and flood-gated; then all are delivered together.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use futures::stream::{self, StreamExt};
use reqwest::Client;
use serde::Serialize;
use serde_json::{json, Value};
use thiserror::Error;
use tokio::time::Instant;

use crate::cache::Cache;
use crate::config::Config;
use crate::delivery_log::DeliveryLog;
use crate::enricher::Enricher;
use crate::enrichment::Enrichment;
use crate::event::{decode, DecodeError, Envelope, Event, Task};
use crate::expect::{Expect, Spec};
use crate::flood::{admit, Admission, FloodState};
use crate::jobs::{self, Job};
use crate::outbox::Sinks;
use crate::plan::{plan, Options, Plan};
use crate::retry::{RetryPolicy, SendError};
use crate::routing::Filter;
use crate::slack::api::Posted;
use crate::state::JobRun;
use crate::state::{Claim, Table};
use crate::stops::{self, Standing, StopKey, StopRecord};

/// Time kept back from the Lambda deadline to report the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// Events remembered for deduplication (each event uses one or two keys).
const DELIVERY_LOG_KEYS: usize = 8192;
/// Task stops remembered per process (one key per stopped task).
const STOP_KEYS: usize = 8192;
/// Flood keys remembered (services and jobs with recent failures).
const FLOOD_KEYS: usize = 4096;
/// Slack's rate limit: about one message per second per destination.
const SLACK_PACE: Duration = Duration::from_secs(1);
/// How long to wait for another instance that is delivering the same event.
const CLAIM_WAIT: Duration = Duration::from_secs(3);
/// Events of a batch enriched at once.
const ENRICH_CONCURRENCY: usize = 8;

/// Sinks that did not deliver an event; the invocation fails so Lambda retries it.
#[derive(Debug, Error)]
#[error("event {event_id}: {} delivery(ies) failed: {}", failures.len(), describe(failures))]
pub struct DeliveryError {
    pub event_id: String,
    pub failures: Vec<(&'static str, SendError)>,
}

fn describe(failures: &[(&'static str, SendError)]) -> String {
    failures
        .iter()
        .map(|(part, err)| format!("{part}: {err}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<DeliveryError> for lambda_runtime::Diagnostic {
    fn from(err: DeliveryError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "DeliveryFailed".into(),
            error_message: err.to_string(),
        }
    }
}

/// Why the function cannot start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0} has not been read from AWS (Config::resolve_secrets)")]
    UnreadSecret(String),
}

/// What happened to an event, returned as the invocation's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub event_id: String,
    pub kind: String,
    pub verdict: String,
    pub cause: String,
    /// Parts delivered by this invocation.
    pub delivered: Vec<&'static str>,
    /// Parts an earlier delivery of the same event already posted.
    pub duplicate: Vec<&'static str>,
    /// `suppressed` or `summary` when flood control changed the Slack message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flood: Option<&'static str>,
}

/// An event made ready for delivery.
struct Prepared {
    event_id: String,
    /// `None`: skipped (bad input, filtered); `report` says why.
    plan: Option<Plan>,
    report: Report,
    enrich_ms: u64,
    not_enriched: Vec<String>,
    /// The stop this event owns (a STOPPED task event that was not superseded), or completes.
    stop: Option<StopKey>,
}

impl Prepared {
    /// A planned event, its report taken from the plan.
    fn planned(event_id: String, plan: Plan, enrich_ms: u64, not_enriched: Vec<String>) -> Self {
        Prepared {
            report: Report {
                event_id: event_id.clone(),
                kind: plan.summary.kind.into(),
                verdict: plan.summary.verdict.clone(),
                cause: plan.summary.cause.clone(),
                ..Report::default()
            },
            event_id,
            plan: Some(plan),
            enrich_ms,
            not_enriched,
            stop: None,
        }
    }
}

/// The function: sinks and caches built once per process.
pub struct Notifier {
    sinks: Sinks,
    enricher: Option<Enricher>,
    filter: Filter,
    options: Options,
    flood_window: Option<chrono::Duration>,
    log: Mutex<DeliveryLog>,
    floods: Mutex<Cache<FloodState>>,
    /// Where each recent deployment's Slack message is (app mode).
    threads: Mutex<Cache<Posted>>,
    /// The stop of each recently stopped task: which event counted, where its alert is.
    stops: Mutex<Cache<StopRecord>>,
    /// Shared across instances when a state table is configured.
    table: Option<Table>,
    /// Grace period of jobs whose tags set none.
    expect_grace: chrono::Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update; the data stays usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The SQS records of a batch invocation, or `None` for a single event.
fn sqs_records(payload: &Value) -> Option<&Vec<Value>> {
    let records = payload.get("Records")?.as_array()?;
    records
        .iter()
        .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        .then_some(records)
}

impl Notifier {
    /// Builds the sinks the configuration turns on.
    pub fn new(config: &Config) -> Result<Self, StartError> {
        let enricher = config
            .enrichment
            .then(|| Enricher::new(config.enrich_role.clone(), config.enrich));
        Self::with_enricher(config, enricher)
    }

    /// With an enricher built by the caller (tests point one at a local endpoint).
    pub fn with_enricher(config: &Config, enricher: Option<Enricher>) -> Result<Self, StartError> {
        if let Some(unread) = config.stored_secrets().first() {
            return Err(StartError::UnreadSecret(unread.to_string()));
        }
        let client = Client::builder()
            .user_agent(concat!("ecs-notifier/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()?;
        let policy = RetryPolicy {
            attempt_timeout: config.http_timeout,
            ..RetryPolicy::default()
        };
        let window = config.flood_window;
        Ok(Self {
            sinks: Sinks::new(config, client, policy),
            enricher,
            filter: config.filter.clone(),
            options: Options {
                notify_on_success: config.notify_on_success,
                notify_on_stop_timeout: config.notify_on_stop_timeout,
            },
            flood_window: (!window.is_zero()).then(|| {
                chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(10))
            }),
            log: Mutex::new(DeliveryLog::new(DELIVERY_LOG_KEYS)),
            floods: Mutex::new(Cache::new(FLOOD_KEYS, Some(window * 2))),
            threads: Mutex::new(Cache::new(1024, Some(Duration::from_secs(86_400)))),
            stops: Mutex::new(Cache::new(STOP_KEYS, Some(Duration::from_secs(3 * 86_400)))),
            table: None,
            expect_grace: chrono::Duration::from_std(config.expect_grace)
                .unwrap_or(chrono::Duration::minutes(15)),
        })
    }

    /// Shares delivery records and flood state with other instances through `table`.
    pub fn with_state(mut self, table: Table) -> Self {
        self.table = Some(table);
        self
    }

    /// Handles a Lambda invocation that must finish by `deadline` (wall clock), for the function
    /// `function_arn` (its account is the one whose events need no assumed role). A single
    /// event fails the invocation when a sink could not deliver it; an SQS batch reports the
    /// records to retry (`batchItemFailures`).
    pub async fn handle_invocation(
        &self,
        payload: &Value,
        deadline: SystemTime,
        function_arn: &str,
    ) -> Result<Value, DeliveryError> {
        let remaining = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(DEADLINE_MARGIN);
        let deadline = Instant::now() + remaining;
        let own_account = function_arn.split(':').nth(4).filter(|a| !a.is_empty());
        match sqs_records(payload) {
            Some(records) => Ok(self.handle_batch(records, deadline, own_account).await),
            None => self
                .handle(payload, deadline, own_account)
                .await
                .map(|report| json!(report)),
        }
    }

    /// Handles one event payload; fails only when a sink could not deliver.
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Instant,
        own_account: Option<&str>,
    ) -> Result<Report, DeliveryError> {
        let event_id = payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let event = decode(payload);
        if let Ok(Event::Check(envelope)) = &event {
            return self.check(envelope, deadline).await;
        }
        let prepared = self.prepare(event_id, event, own_account).await;
        let mut done = self.deliver(vec![prepared], deadline, Duration::ZERO).await;
        let (report, failures) = done.remove(0);
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(DeliveryError {
                event_id: report.event_id,
                failures,
            })
        }
    }

    /// Handles an SQS batch of EventBridge events; returns `{"batchItemFailures": [...]}` naming
    /// the records whose delivery failed, so only those return to the queue.
    pub async fn handle_batch(
        &self,
        records: &[Value],
        deadline: Instant,
        own_account: Option<&str>,
    ) -> Value {
        let ids: Vec<String> = records
            .iter()
            .map(|r| {
                r.get("messageId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let decoded: Vec<(String, Result<Event, DecodeError>)> =
            records.iter().map(crate::event::decode_record).collect();
        let prepared: Vec<Prepared> = stream::iter(decoded)
            .map(|(id, event)| self.prepare_unflooded(id, event, own_account))
            .buffered(ENRICH_CONCURRENCY)
            .collect()
            .await;
        // Flood decisions in event-time order, so a crash loop's first failure is the alert.
        let mut order: Vec<usize> = (0..prepared.len()).collect();
        order.sort_by_key(|&i| prepared[i].plan.as_ref().and_then(|p| p.at));
        let mut prepared: Vec<Option<Prepared>> = prepared.into_iter().map(Some).collect();
        for &i in &order {
            if let Some(item) = prepared[i].as_mut() {
                self.gate(item).await;
            }
        }
        let prepared: Vec<Prepared> = prepared.into_iter().flatten().collect();
        let done = self.deliver(prepared, deadline, SLACK_PACE).await;
        let failures: Vec<Value> = done
            .iter()
            .zip(ids)
            .filter(|((_, failures), _)| !failures.is_empty())
            .map(|(_, id)| json!({ "itemIdentifier": id }))
            .collect();
        json!({ "batchItemFailures": failures })
    }

    /// Filters, enriches, plans and flood-gates one decoded event.
    async fn prepare(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let mut item = self.prepare_unflooded(event_id, event, own_account).await;
        self.gate(&mut item).await;
        item
    }

    async fn prepare_unflooded(
        &self,
        event_id: String,
        event: Result<Event, DecodeError>,
        own_account: Option<&str>,
    ) -> Prepared {
        let skipped = |kind: &str, cause: String| Prepared {
            event_id: event_id.clone(),
            plan: None,
            report: Report {
                event_id: event_id.clone(),
                kind: kind.into(),
                verdict: "skipped".into(),
                cause,
                ..Report::default()
            },
            enrich_ms: 0,
            not_enriched: Vec::new(),
            stop: None,
        };
        let event = match event {
            Ok(Event::Check(_)) => {
                return skipped(
                    "check",
                    "a missed-run check runs only when invoked directly".into(),
                )
            }
            Ok(event) => event,
            Err(err) => return skipped("invalid", err.to_string()),
        };
        let (cluster, name) = event.scope();
        if !self.filter.admits(&cluster, &name) {
            return skipped("filtered", format!("{cluster}/{name}"));
        }
        // One stop, one alert: a task's later STOPPED updates post and count nothing, before
        // any API call is spent on them.
        let stop = match &event {
            Event::Task(envelope, task) => StopKey::of(envelope, task),
            _ => None,
        };
        let mut completing = None;
        if let Some(key) = &stop {
            if let Standing::Superseded(record) = self.own_stop(key).await {
                let why = stops::superseded(&record, key);
                if !(self.sinks.is_app() && stops::completes(&record, key)) {
                    return Prepared {
                        report: Report {
                            event_id: event_id.clone(),
                            kind: "task".into(),
                            verdict: "superseded".into(),
                            cause: why,
                            ..Report::default()
                        },
                        event_id,
                        plan: None,
                        enrich_ms: 0,
                        not_enriched: Vec::new(),
                        stop: None,
                    };
                }
                completing = Some((record, why));
            }
        }
        let started = Instant::now();
        let enrichment = match &self.enricher {
            // Boxed: the enrichment future is deep, and its size would bloat every invocation.
            Some(enricher) => Box::pin(enricher.enrich(&event, own_account)).await,
            None => Enrichment::default(),
        };
        let enrich_ms = started.elapsed().as_millis() as u64;
        let mut plan = plan(&event, &enrichment, &self.options, Utc::now());
        if let Some((record, why)) = completing {
            // The fuller update edits the alert already posted: nothing new is posted or counted.
            plan.edit = record.posted.clone();
            plan.datadog = Default::default();
            plan.flood_key = None;
            plan.thread = None;
            plan.thread_message = None;
            plan.dedupe_keys = vec![format!("complete:{}", event_id)];
            let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
            prepared.report.verdict = "superseded".into();
            prepared.report.cause = format!("{why}; its alert is completed in place");
            prepared.stop = stop;
            return prepared;
        }
        if let Event::Task(envelope, task) = &event {
            self.track_job(envelope, task, &enrichment, &plan, own_account)
                .await;
        }
        let mut prepared = Prepared::planned(event_id, plan, enrich_ms, enrichment.skipped);
        prepared.stop = stop;
        prepared
    }

    /// Where a STOPPED event stands against the stops already seen: in this process, and
    /// across instances through the state table (the first event to write wins).
    async fn own_stop(&self, key: &StopKey) -> Standing {
        let local = {
            let mut stops = lock(&self.stops);
            let known = stops.get(&key.task_arn);
            if known.is_none() {
                stops.insert(key.task_arn.clone(), key.record());
            }
            known
        };
        let standing = stops::judge(local.as_ref(), key);
        if matches!(standing, Standing::Superseded(_)) {
            return standing;
        }
        if let Some(table) = &self.table {
            match table.own_stop(key, Utc::now()).await {
                Ok(record) => {
                    let standing = stops::judge(Some(&record), key);
                    lock(&self.stops).insert(key.task_arn.clone(), record);
                    if matches!(standing, Standing::Superseded(_)) {
                        return standing;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "state table unavailable; task stops deduplicated per process")
                }
            }
        }
        standing
    }

    /// Remembers where the alert of each owned stop landed (app mode), and what the event that
    /// posted or completed it told, so only a fuller update completes it again.
    async fn remember_stops(&self, items: &[(&Prepared, &crate::outbox::Outcome)]) {
        for (item, outcome) in items {
            let (Some(key), Some(posted)) = (&item.stop, &outcome.posted) else {
                continue;
            };
            if !outcome.delivered.contains(&crate::outbox::SLACK) {
                continue;
            }
            let posted = item
                .plan
                .as_ref()
                .and_then(|p| p.edit.clone())
                .unwrap_or_else(|| posted.clone());
            {
                let mut stops = lock(&self.stops);
                let mut record = stops.get(&key.task_arn).unwrap_or_else(|| key.record());
                record.posted = Some(posted.clone());
                record.score = record.score.max(key.score);
                stops.insert(key.task_arn.clone(), record);
            }
            if let Some(table) = &self.table {
                if let Err(err) = table
                    .set_stop_alert(&key.task_arn, &posted, key.score)
                    .await
                {
                    tracing::warn!(error = %err, "could not record where the stop's alert is in the state table");
                }
            }
        }
    }

    /// Flood control: holds back repeats of an alert within the window (shared through the
    /// state table when there is one; per process otherwise, or when the table fails).
    async fn gate(&self, item: &mut Prepared) {
        let (Some(window), Some(plan)) = (self.flood_window, item.plan.as_mut()) else {
            return;
        };
        let Some(key) = plan.flood_key.clone() else {
            return;
        };
        if plan.slack.is_none() {
            return;
        }
        let identity = plan.dedupe_keys.last().cloned().unwrap_or_default();
        let at = plan.at.unwrap_or_else(Utc::now);
        let shared = match &self.table {
            Some(table) => match table
                .flood(
                    &key,
                    &identity,
                    at,
                    window,
                    (plan.slack_route.as_deref(), plan.slack_channel.as_deref()),
                )
                .await
            {
                Ok(admission) => Some(admission),
                Err(err) => {
                    tracing::warn!(error = %err, "state table unavailable; flood control per process");
                    None
                }
            },
            None => None,
        };
        let admission = shared.unwrap_or_else(|| {
            let mut floods = lock(&self.floods);
            let (admission, next) = admit(floods.get(&key).as_ref(), &identity, at, window);
            if let Some(state) = next {
                floods.insert(key, state);
            }
            admission
        });
        plan.apply_flood(admission);
        item.report.flood = match admission {
            Admission::Alert => None,
            Admission::Suppress => Some("suppressed"),
            Admission::Summary { .. } => Some("summary"),
        };
    }

    /// Delivers prepared events together; returns each one's report and failures, logging one
    /// line per event.
    async fn deliver(
        &self,
        items: Vec<Prepared>,
        deadline: Instant,
        pace: Duration,
    ) -> Vec<(Report, Vec<(&'static str, SendError)>)> {
        let planned: Vec<(usize, &Plan)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((i, item.plan.as_ref()?)))
            .collect();
        let plans: Vec<&Plan> = planned.iter().map(|(_, p)| *p).collect();
        let mut already: Vec<BTreeSet<&'static str>> = {
            let log = lock(&self.log);
            plans
                .iter()
                .map(|p| log.delivered(&p.dedupe_keys))
                .collect()
        };
        // The same event twice in one batch (at-least-once delivery into the queue): the first
        // copy delivers, the others are duplicates of it.
        let mut identities = std::collections::HashSet::new();
        for (k, plan) in plans.iter().enumerate() {
            if let Some(identity) = plan.dedupe_keys.last() {
                if !identities.insert(identity.as_str()) {
                    already[k].extend(self.sinks.parts(plan));
                }
            }
        }
        let (mine, blocked) = self.claim(&plans, &mut already, deadline).await;
        let threads = self.threads_of(&plans).await;
        let mut outcomes = self
            .sinks
            .deliver(&plans, &already, &threads, deadline, pace)
            .await;
        for (outcome, parts) in outcomes.iter_mut().zip(&blocked) {
            for part in parts {
                outcome.duplicate.retain(|p| p != part);
                outcome.failures.push((
                    part,
                    SendError::Exhausted {
                        attempts: 0,
                        last: "another instance has been delivering this event; retry later".into(),
                    },
                ));
            }
        }
        self.remember_threads(&plans, &threads, &outcomes).await;
        self.settle_claims(&plans, &mine, &outcomes).await;
        {
            let mut log = lock(&self.log);
            for (plan, outcome) in plans.iter().zip(&outcomes) {
                for part in &outcome.delivered {
                    log.record(&plan.dedupe_keys, part);
                }
            }
        }
        let mut by_item: Vec<Option<crate::outbox::Outcome>> = items.iter().map(|_| None).collect();
        for ((i, _), outcome) in planned.iter().zip(outcomes) {
            by_item[*i] = Some(outcome);
        }
        let posted_stops: Vec<(&Prepared, &crate::outbox::Outcome)> = items
            .iter()
            .zip(&by_item)
            .filter_map(|(item, outcome)| Some((item, outcome.as_ref()?)))
            .filter(|(item, outcome)| item.stop.is_some() && outcome.posted.is_some())
            .collect();
        self.remember_stops(&posted_stops).await;
        items
            .into_iter()
            .zip(by_item)
            .map(|(item, outcome)| {
                let mut report = item.report;
                let outcome = outcome.unwrap_or_default();
                report.delivered = outcome.delivered;
                report.duplicate = outcome.duplicate;
                log_event(
                    &item.event_id,
                    &report,
                    item.plan.as_ref(),
                    item.enrich_ms,
                    &item.not_enriched,
                    &outcome.failures,
                );
                (report, outcome.failures)
            })
            .collect()
    }
}

/// How long a job that stops running stays in the table: three of its intervals, at least.
const JOB_KEEP_MIN: chrono::Duration = chrono::Duration::days(14);

impl Notifier {
    /// Records a stopped run of a job tagged `ecs-notifier:expect-every` in the state table, for
    /// the missed-run check. Problems are logged; the event is delivered regardless.
    async fn track_job(
        &self,
        envelope: &Envelope,
        task: &Task,
        enrichment: &Enrichment,
        plan: &Plan,
        own_account: Option<&str>,
    ) {
        let Some(table) = &self.table else { return };
        let success = match plan.summary.verdict.as_str() {
            "success" => true,
            "failure" => false,
            _ => return,
        };
        let tags = enrichment.tags();
        let tag = |name: &str| tags.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let Some(value) = tag(jobs::EXPECT_TAG) else {
            return;
        };
        let (family, _) = task.family_revision();
        let spec = match Spec::parse(value) {
            Ok(spec) => spec,
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "tag ecs-notifier:expect-every not understood; the job is not tracked");
                return;
            }
        };
        let (expect, timezone, schedule) = match spec {
            Spec::Fixed(text) => (text, None, None),
            Spec::Schedule { group, name } => {
                let Some(enricher) = &self.enricher else {
                    return;
                };
                let trigger = crate::trigger::Trigger::of(task);
                let (name, exact) = match (name, trigger.schedule()) {
                    (Some(name), _) => (name, true),
                    (None, Some(started)) if trigger.kind() == "scheduler" => {
                        (started.to_string(), false)
                    }
                    _ => {
                        tracing::warn!(family, "tag ecs-notifier:expect-every=schedule, but this run was not launched by EventBridge Scheduler; name the schedule (schedule:group/name)");
                        return;
                    }
                };
                match enricher
                    .schedule(
                        envelope,
                        own_account,
                        group.as_deref(),
                        &name,
                        exact,
                        family,
                    )
                    .await
                {
                    Ok(info) => (
                        info.expression.clone(),
                        info.timezone.clone(),
                        Some(info.name.clone()),
                    ),
                    Err(why) => {
                        tracing::warn!(family, schedule = %name, error = %why, "could not read the job's schedule; its run is not recorded");
                        return;
                    }
                }
            }
        };
        let parsed = match Expect::parse(&expect, timezone.as_deref()) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return, // a one-time schedule expects no further run
            Err(problem) => {
                tracing::warn!(family, problem = %problem, "the job's schedule expression is not understood; the job is not tracked");
                return;
            }
        };
        let grace = tag(jobs::GRACE_TAG)
            .and_then(crate::expect::parse_duration)
            .unwrap_or(self.expect_grace);
        let at = task.stopped_at.or(envelope.time).unwrap_or_else(Utc::now);
        let ran = match task.created_at {
            Some(created) if created <= at => at - created,
            _ => chrono::Duration::zero(),
        };
        let keep = parsed
            .due(at, ran, chrono::Duration::zero())
            .map(|due| (due - at) * 3)
            .unwrap_or(JOB_KEEP_MIN)
            .max(JOB_KEEP_MIN);
        let region = if envelope.region.is_empty() {
            task.task_arn
                .as_deref()
                .and_then(crate::arn::region)
                .unwrap_or("")
                .to_string()
        } else {
            envelope.region.clone()
        };
        let run = JobRun {
            job: Job {
                account: envelope.account.clone(),
                region,
                cluster: task.cluster().to_string(),
                family: family.to_string(),
                expect,
                timezone,
                schedule,
                grace,
                first_seen: at,
                last_success: None,
                last_success_ran: chrono::Duration::zero(),
                last_run: None,
                last_result: None,
                tags: tags
                    .iter()
                    .filter(|(k, _)| k.starts_with("ecs-notifier:"))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            at,
            success,
            result: if success {
                "success".into()
            } else {
                plan.summary.cause.clone()
            },
            ran,
            keep_until: at + keep,
        };
        if let Err(err) = table.record_job(&run).await {
            tracing::warn!(family, error = %err, "could not record the job's run in the state table");
        }
    }

    /// The periodic missed-run check, as of the scheduled event's time: alerts for each job
    /// whose run is overdue (once per missed run), and the age gauges of every job.
    async fn check(&self, envelope: &Envelope, deadline: Instant) -> Result<Report, DeliveryError> {
        let now = envelope.time.unwrap_or_else(Utc::now);
        let mut report = Report {
            event_id: envelope.id.clone(),
            kind: "check".into(),
            verdict: "checked".into(),
            ..Report::default()
        };
        let Some(table) = &self.table else {
            report.verdict = "skipped".into();
            report.cause = "the missed-run check needs the state table (STATE_TABLE)".into();
            tracing::warn!(event_id = %envelope.id, "{}", report.cause);
            return Ok(report);
        };
        let tracked = match table.jobs().await {
            Ok(jobs) => jobs,
            Err(err) => {
                // Fail the invocation: the next check would run anyway, but a failing check
                // must show in the function's error metrics.
                return Err(DeliveryError {
                    event_id: envelope.id.clone(),
                    failures: vec![(
                        "state",
                        SendError::Exhausted {
                            attempts: 1,
                            last: err,
                        },
                    )],
                });
            }
        };
        let tracked: Vec<Job> = tracked
            .into_iter()
            .filter(|job| self.filter.admits(&job.cluster, &job.family))
            .collect();
        let (missed, standings, ages) = crate::silent::plan_check(tracked, now);
        for (job, standing) in &standings {
            if let Some(problem) = &standing.problem {
                tracing::warn!(family = %job.family, problem = %problem, "a tracked job's expectation is not understood");
            }
        }
        let overdue = missed.len();
        // Flood windows that ended holding alerts back, with nothing since: told now.
        let (held, summaries): (Vec<_>, Vec<_>) =
            self.held_back(table, now).await.into_iter().unzip();
        let mut plans = missed;
        let held_from = plans.len();
        plans.extend(summaries);
        if !ages.is_empty() {
            plans.push(Plan::metrics_only("check", ages));
        }
        let items = plans
            .into_iter()
            .map(|plan| Prepared::planned(envelope.id.clone(), plan, 0, Vec::new()))
            .collect();
        let done = self.deliver(items, deadline, SLACK_PACE).await;
        for (held, (outcome, _)) in held.iter().zip(&done[held_from..]) {
            let told = outcome.delivered.contains(&"slack") || outcome.duplicate.contains(&"slack");
            if told {
                if let Err(err) = table.release(held).await {
                    tracing::warn!(error = %err, key = %held.key, "could not mark held-back alerts as told");
                }
            }
        }
        report.cause = format!("{} job(s), {overdue} overdue", standings.len());
        let mut failures = Vec::new();
        for (item, failed) in done {
            report.delivered.extend(item.delivered);
            report.duplicate.extend(item.duplicate);
            failures.extend(failed);
        }
        report.delivered.sort();
        report.delivered.dedup();
        report.duplicate.sort();
        report.duplicate.dedup();
        tracing::info!(event_id = %envelope.id, jobs = standings.len(), overdue, "missed-run check");
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(DeliveryError {
                event_id: envelope.id.clone(),
                failures,
            })
        }
    }

    /// Flood windows of the state table that ended holding alerts back, each with its summary.
    async fn held_back(
        &self,
        table: &Table,
        now: chrono::DateTime<Utc>,
    ) -> Vec<(crate::state::HeldBack, Plan)> {
        let Some(window) = self.flood_window else {
            return Vec::new();
        };
        match table.held_back().await {
            Ok(windows) => windows
                .into_iter()
                .filter(|h| h.since + window <= now)
                .map(|h| {
                    let plan = crate::silent::plan_held_back(&h, window, now);
                    (h, plan)
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read flood windows; held-back alerts wait for the next check");
                Vec::new()
            }
        }
    }

    /// Claims in the state table each event this instance is about to send parts of. Parts
    /// some instance delivered before join `already`. An event another instance is delivering
    /// right now (a concurrent duplicate) is waited for briefly and claimed once it is free; if
    /// it stays busy, its parts are returned as blocked: they fail here, and the retry finds
    /// them delivered, or takes the claim over once the other instance's deadline has passed.
    /// Returns, per plan, whether this instance holds its claim, and the blocked parts.
    async fn claim(
        &self,
        plans: &[&Plan],
        already: &mut [BTreeSet<&'static str>],
        deadline: Instant,
    ) -> (Vec<bool>, Vec<Vec<&'static str>>) {
        let mut mine = vec![false; plans.len()];
        let mut blocked: Vec<Vec<&'static str>> = plans.iter().map(|_| Vec::new()).collect();
        let Some(table) = &self.table else {
            return (mine, blocked);
        };
        let wanted: Vec<(usize, &str, Vec<&'static str>)> = plans
            .iter()
            .enumerate()
            .filter_map(|(k, plan)| {
                let identity = plan.dedupe_keys.last()?;
                let parts: Vec<&'static str> = self
                    .sinks
                    .parts(plan)
                    .into_iter()
                    .filter(|p| !already[k].contains(p))
                    .collect();
                (!parts.is_empty()).then_some((k, identity.as_str(), parts))
            })
            .collect();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let until = Utc::now()
            + chrono::Duration::from_std(remaining).unwrap_or(chrono::Duration::seconds(30));
        let wait_until = (Instant::now() + CLAIM_WAIT).min(deadline);
        let mut pending = wanted;
        loop {
            let now = Utc::now();
            let answers = futures::future::join_all(
                pending
                    .iter()
                    .map(|(_, identity, _)| table.claim(identity, now, until)),
            )
            .await;
            let mut busy = Vec::new();
            for ((k, identity, parts), answer) in pending.into_iter().zip(answers) {
                match answer {
                    Ok(Claim::Mine { sent }) => {
                        mine[k] = true;
                        for part in parts {
                            if sent.contains(part) {
                                already[k].insert(part);
                            }
                        }
                    }
                    Ok(Claim::Elsewhere) => busy.push((k, identity, parts)),
                    Err(err) => {
                        tracing::warn!(error = %err, "state table unavailable; delivering without cross-instance deduplication")
                    }
                }
            }
            if busy.is_empty() || Instant::now() >= wait_until {
                for (k, _, parts) in busy {
                    for part in parts {
                        already[k].insert(part);
                        blocked[k].push(part);
                    }
                }
                return (mine, blocked);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            pending = busy;
        }
    }

    /// Where each deployment plan's shared Slack message is, if it was posted before.
    async fn threads_of(&self, plans: &[&Plan]) -> Vec<Option<Posted>> {
        let mut out = Vec::new();
        for plan in plans {
            let Some(id) = &plan.thread else {
                out.push(None);
                continue;
            };
            let local = lock(&self.threads).get(id);
            let found = match (&self.table, local) {
                (_, Some(posted)) => Some(posted),
                (Some(table), None) => table.thread(id).await.unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "state table unavailable; a deployment may get a second message");
                    None
                }),
                (None, None) => None,
            };
            out.push(found);
        }
        out
    }

    /// Remembers where deployment messages were posted (in memory, and in the table).
    async fn remember_threads(
        &self,
        plans: &[&Plan],
        before: &[Option<Posted>],
        outcomes: &[crate::outbox::Outcome],
    ) {
        for ((plan, before), outcome) in plans.iter().zip(before).zip(outcomes) {
            let (Some(id), Some(posted)) = (&plan.thread, &outcome.posted) else {
                continue;
            };
            if before.as_ref() == Some(posted) {
                continue;
            }
            lock(&self.threads).insert(id.clone(), posted.clone());
            if let Some(table) = &self.table {
                if let Err(err) = table.set_thread(id, posted, Utc::now()).await {
                    tracing::warn!(error = %err, "could not record the deployment's message in the state table");
                }
            }
        }
    }

    /// Ends this instance's claims, recording what it delivered.
    async fn settle_claims(
        &self,
        plans: &[&Plan],
        mine: &[bool],
        outcomes: &[crate::outbox::Outcome],
    ) {
        let Some(table) = &self.table else { return };
        let work = plans.iter().zip(mine).zip(outcomes).filter_map(|((plan, mine), outcome)| {
            let identity = plan.dedupe_keys.last().filter(|_| *mine)?;
            Some(async move {
                if let Err(err) = table.finish(identity, &outcome.delivered).await {
                    tracing::warn!(error = %err, "could not record the delivery in the state table");
                }
            })
        });
        futures::future::join_all(work).await;
    }
}

/// One structured log line per event.
fn log_event(
    event_id: &str,
    report: &Report,
    plan: Option<&Plan>,
    enrich_ms: u64,
    not_enriched: &[String],
    failures: &[(&'static str, SendError)],
) {
    let subject = plan.map(|p| p.summary.subject.as_str()).unwrap_or("");
    let route_problems = plan.map(|p| p.route_problems.as_slice()).unwrap_or(&[]);
    let flood = report.flood.unwrap_or("");
    if report.verdict == "skipped" {
        tracing::warn!(event_id = %event_id, kind = %report.kind, cause = %report.cause, "event skipped: not an ECS event this function handles, or filtered out");
    } else if report.verdict == "superseded" && failures.is_empty() {
        tracing::info!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            delivered = ?report.delivered, "event dropped: {}", report.cause
        );
    } else if failures.is_empty() {
        tracing::info!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            subject = %subject, delivered = ?report.delivered, duplicate = ?report.duplicate, flood = %flood,
            enrich_ms, not_enriched = ?not_enriched, route_problems = ?route_problems,
            "event handled"
        );
    } else {
        tracing::error!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            subject = %subject, delivered = ?report.delivered, duplicate = ?report.duplicate, flood = %flood,
            failed = %describe(failures), enrich_ms, not_enriched = ?not_enriched, route_problems = ?route_problems,
            "event not fully delivered; it will be retried"
        );
    }
}
