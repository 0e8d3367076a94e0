//! The glue of one invocation, I/O: a single EventBridge event or an SQS batch is split into
//! events ([`crate::source::payload`]), each prepared ([`prepare`]: filtered, its stop claimed,
//! enriched, judged, flood-gated), then all delivered together ([`deliver`]: deduplicated and
//! claimed, sent, remembered). Tracked jobs are recorded ([`jobs`]), an archive replay's events
//! are told in a digest ([`replay`]), the periodic check runs ([`check`]), and every event gets
//! one log line ([`log`]).

mod check;
mod deliver;
mod groups;
mod jobs;
mod log;
mod prepare;
mod replay;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_lambda_events::sqs::SqsBatchResponse;
use futures::stream::{self, StreamExt};
use reqwest::Client;
use serde::Serialize;
use serde_json::{json, Value};
use thiserror::Error;
use tokio::time::Instant;

use crate::config::filter::Filter;
use crate::config::{Config, Replay};
use crate::enrich::Enricher;
use crate::judge::flood::FloodState;
use crate::judge::group::{Clock, GroupState, Grouping};
use crate::judge::post::Posted;
use crate::judge::replay::Digest;
use crate::judge::stops::{StopKey, StopRecord};
use crate::judge::{Options, Outgoing};
use crate::sinks::retry::{RetryPolicy, SendError};
use crate::sinks::Sinks;
use crate::source::payload::{self, Payload};
use crate::source::Event;
use crate::state::{Cache, DeliveryLog, Table};

/// Time kept back from the Lambda deadline to report the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// Events remembered for deduplication (each event uses one or two keys).
const DELIVERY_LOG_KEYS: usize = 8192;
/// Task stops remembered per process (one key per stopped task).
const STOP_KEYS: usize = 4096;
/// Flood keys remembered (services and jobs with recent failures).
const FLOOD_KEYS: usize = 4096;
/// Incident groups remembered (account, cluster, cause and destination).
const GROUP_KEYS: usize = 1024;
/// Archive replays whose digests are remembered.
const REPLAYS: usize = 64;
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

/// The failed parts of an event, for the error and the log line.
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
    /// `opened` or `joined` when the alert became part of an incident's grouped message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'static str>,
    /// `digest` or `quiet` for an event of an archive replay (`REPLAY`): it posted nothing of
    /// its own, and counted nothing again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<&'static str>,
    /// For a stopped task: the catalogue entry that explains it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// What decoding had to drop or coerce (`detail.containers[0].exitCode: "1" read as 1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decode_warnings: Vec<String>,
}

/// An event made ready for delivery.
struct Prepared {
    event_id: String,
    /// `None`: skipped (bad input, filtered); `report` says why.
    plan: Option<Outgoing>,
    report: Report,
    enrich_ms: u64,
    not_enriched: Vec<String>,
    /// The stop this event owns (a STOPPED task event that was not superseded), or completes.
    stop: Option<StopKey>,
    /// The incident group the event's alert became part of.
    group_key: Option<String>,
    /// The archive replay that sent the event again (`replay-name`).
    replay: Option<String>,
}

impl Prepared {
    /// A planned event, its report taken from the plan.
    fn planned(
        event_id: String,
        plan: Outgoing,
        enrich_ms: u64,
        not_enriched: Vec<String>,
    ) -> Self {
        Prepared {
            report: Report {
                event_id: event_id.clone(),
                kind: plan.summary.kind.into(),
                verdict: plan.summary.verdict.clone(),
                cause: plan.summary.cause.clone(),
                reason: plan.summary.reason.as_ref().map(|r| r.id),
                ..Report::default()
            },
            event_id,
            plan: Some(plan),
            enrich_ms,
            not_enriched,
            stop: None,
            group_key: None,
            replay: None,
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
    /// Incident grouping (`None`: off).
    grouping: Option<Grouping>,
    /// Events arriving longer than this after they happened are a backlog's
    /// (`BACKLOG_AFTER_SECONDS`).
    backlog_after: chrono::Duration,
    /// What an archive replay's events post (`REPLAY`).
    replay: Replay,
    /// The digests of archive replays this process has seen (the state table's are shared).
    replays: Mutex<Cache<Digest>>,
    log: Mutex<DeliveryLog>,
    floods: Mutex<Cache<FloodState>>,
    /// Incident groups this process has seen (the state table's are shared).
    groups: Mutex<Cache<GroupState>>,
    /// Where each recent deployment's Slack message is (app mode).
    threads: Mutex<Cache<Posted>>,
    /// The stop of each recently stopped task: which event counted, where its alert is.
    stops: Mutex<Cache<StopRecord>>,
    /// Shared across instances when a state table is configured.
    table: Option<Table>,
    /// Grace period of jobs whose tags set none.
    expect_grace: chrono::Duration,
}

impl Notifier {
    /// Builds the sinks the configuration turns on.
    pub fn new(config: &Config) -> Result<Self, StartError> {
        let enricher = config
            .enrichment
            .then(|| Enricher::new(config.enrich_role.clone(), config.enrich.clone()));
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
                accounts: std::sync::Arc::new(config.accounts.clone()),
                region: config.region.clone(),
            },
            flood_window: (!window.is_zero()).then(|| {
                chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(10))
            }),
            grouping: (!config.group_window.is_zero()).then(|| Grouping {
                window: chrono::Duration::from_std(config.group_window)
                    .unwrap_or(chrono::Duration::minutes(5)),
                threshold: config.group_threshold,
            }),
            backlog_after: chrono::Duration::from_std(config.backlog_after)
                .unwrap_or(chrono::Duration::minutes(5)),
            replay: config.replay,
            replays: Mutex::new(Cache::new(REPLAYS, Some(Duration::from_secs(3 * 86_400)))),
            log: Mutex::new(DeliveryLog::new(DELIVERY_LOG_KEYS)),
            floods: Mutex::new(Cache::new(FLOOD_KEYS, Some(window * 2))),
            groups: Mutex::new(Cache::new(GROUP_KEYS, Some(Duration::from_secs(86_400)))),
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
        match Payload::of(payload) {
            Payload::Batch(records) => Ok(self.handle_batch(records, deadline, own_account).await),
            Payload::Single(event) => self
                .handle(event, deadline, own_account)
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
        let (event_id, event) = payload::single(payload);
        if let Ok(Event::Check(envelope)) = &event {
            return self.check(envelope, deadline).await;
        }
        let at = event.as_ref().ok().and_then(reached);
        let prepared = self.prepare(event_id, event, own_account).await;
        let mut done = self.deliver(vec![prepared], deadline, Duration::ZERO).await;
        Box::pin(self.post_owed(self.clock(at, chrono::Utc::now()), deadline)).await;
        Box::pin(self.post_replays(deadline)).await;
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
        let decoded: Vec<payload::Decoded> = records.iter().map(payload::message).collect();
        let at = decoded
            .iter()
            .filter_map(|(_, e)| e.as_ref().ok().and_then(reached))
            .max();
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
        let mut prepared: Vec<Prepared> = prepared.into_iter().flatten().collect();
        self.refresh_grouped(&mut prepared);
        let done = self.deliver(prepared, deadline, SLACK_PACE).await;
        Box::pin(self.post_owed(self.clock(at, chrono::Utc::now()), deadline)).await;
        Box::pin(self.post_replays(deadline)).await;
        let mut response = SqsBatchResponse::default();
        for ((_, failures), record) in done.iter().zip(records) {
            if !failures.is_empty() {
                response.add_failure(payload::message_id(record));
            }
        }
        json!(response)
    }
}

/// The time an event brings the event stream to (its envelope's), unless it is an archive
/// replay's (which goes over times past again).
fn reached(event: &Event) -> Option<chrono::DateTime<chrono::Utc>> {
    let envelope = event.envelope();
    envelope.time.filter(|_| envelope.replay_name.is_none())
}

impl Notifier {
    /// The clocks windows end on: the time the events of an invocation reached (`None` for the
    /// periodic check), the time it is (the wall clock, or the check's own time).
    fn clock(
        &self,
        reached: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Clock {
        Clock {
            reached,
            now,
            wall: chrono::Utc::now(),
            settle: self.backlog_after,
        }
    }
}
