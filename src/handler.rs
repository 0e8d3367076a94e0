//! Handles one event: decode, plan, deliver to the sinks concurrently, remember what delivered.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use futures::future::join_all;
use reqwest::Client;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;
use tokio::time::Instant;

use std::collections::BTreeMap;

use crate::config::Config;
use crate::datadog::DatadogApi;
use crate::delivery_log::DeliveryLog;
use crate::enricher::Enricher;
use crate::enrichment::Enrichment;
use crate::event::decode;
use crate::plan::{plan, Options, Plan};
use crate::retry::{RetryPolicy, SendError};
use crate::routing::Filter;
use crate::slack::api::is_channel_error;
use crate::slack::{SlackApi, SlackWebhook};

/// Time kept back from the Lambda deadline to report the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// Events remembered for deduplication (each event uses one or two keys).
const DELIVERY_LOG_KEYS: usize = 8192;

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

/// Where Slack messages go.
enum Slack {
    /// Incoming webhooks: a default and named routes.
    Webhooks {
        default: Option<SlackWebhook>,
        routes: BTreeMap<String, SlackWebhook>,
    },
    /// A Slack app's bot token: any channel, the default one first.
    App { api: SlackApi, channel: String },
}

/// Where one message goes.
enum SlackTarget<'a> {
    Webhook(&'a SlackWebhook),
    Channel {
        api: &'a SlackApi,
        channel: &'a str,
        default: &'a str,
    },
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
}

/// One piece of what an event sends.
enum Part<'a> {
    Slack(&'a crate::slack::Message, SlackTarget<'a>),
    Distributions(&'a [crate::datadog::Distribution]),
    Series(&'a [crate::datadog::Series]),
    DatadogEvent(&'a crate::datadog::Event),
}

impl Part<'_> {
    fn key(&self) -> &'static str {
        match self {
            Part::Slack(..) => "slack",
            Part::Distributions(_) => "datadog.distributions",
            Part::Series(_) => "datadog.series",
            Part::DatadogEvent(_) => "datadog.event",
        }
    }
}

/// The Slack sink the configuration asks for (secrets already read).
fn slack_sink(config: &Config, policy: RetryPolicy) -> Option<Slack> {
    if let Some(bot) = &config.slack_bot {
        let token = bot.token.value()?.clone();
        return Some(Slack::App {
            api: SlackApi::new(bot.api_url.clone(), token, policy),
            channel: bot.channel.clone(),
        });
    }
    let webhook = |setting: &crate::config::SecretSetting| {
        setting
            .value()
            .map(|url| SlackWebhook::new(url.clone(), policy))
    };
    let default = config.slack_webhook.as_ref().and_then(webhook);
    let routes: BTreeMap<String, SlackWebhook> = config
        .slack_routes
        .iter()
        .filter_map(|(name, setting)| Some((name.clone(), webhook(setting)?)))
        .collect();
    (default.is_some() || !routes.is_empty()).then_some(Slack::Webhooks { default, routes })
}

/// The function: HTTP client and sinks built once per process, and the delivery log.
pub struct Notifier {
    client: Client,
    slack: Option<Slack>,
    datadog: Option<DatadogApi>,
    enricher: Option<Enricher>,
    filter: Filter,
    options: Options,
    log: Mutex<DeliveryLog>,
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
        Ok(Self {
            client,
            slack: slack_sink(config, policy),
            datadog: config.datadog.as_ref().and_then(|dd| {
                let key = dd.api_key.value()?.clone();
                Some(DatadogApi::new(dd.base_url.clone(), key, policy))
            }),
            enricher,
            filter: config.filter.clone(),
            options: Options {
                notify_on_success: config.notify_on_success,
            },
            log: Mutex::new(DeliveryLog::new(DELIVERY_LOG_KEYS)),
        })
    }

    /// Handles a Lambda invocation that must finish by `deadline` (wall clock), for the function
    /// `function_arn` (its account is the one whose events need no assumed role).
    pub async fn handle_invocation(
        &self,
        payload: &Value,
        deadline: SystemTime,
        function_arn: &str,
    ) -> Result<Report, DeliveryError> {
        let remaining = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(DEADLINE_MARGIN);
        let own_account = function_arn.split(':').nth(4).filter(|a| !a.is_empty());
        self.handle(payload, Instant::now() + remaining, own_account)
            .await
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
        let event = match decode(payload) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(event_id = %event_id, error = %err, "event skipped: not an ECS event this function handles");
                return Ok(Report {
                    event_id,
                    kind: "invalid".into(),
                    verdict: "skipped".into(),
                    cause: err.to_string(),
                    ..Report::default()
                });
            }
        };
        let (cluster, name) = event.scope();
        if !self.filter.admits(&cluster, &name) {
            tracing::info!(event_id = %event_id, cluster = %cluster, subject = %name, "event filtered out by INCLUDE_/EXCLUDE_ settings");
            return Ok(Report {
                event_id,
                kind: "filtered".into(),
                verdict: "skipped".into(),
                cause: format!("{cluster}/{name}"),
                ..Report::default()
            });
        }
        let started = Instant::now();
        let enrichment = match &self.enricher {
            // Boxed: the enrichment future is deep, and its size would bloat every invocation.
            Some(enricher) => Box::pin(enricher.enrich(&event, own_account)).await,
            None => Enrichment::default(),
        };
        let enrich_ms = started.elapsed().as_millis() as u64;
        let plan = plan(&event, &enrichment, &self.options, Utc::now());
        let mut report = Report {
            event_id: event_id.clone(),
            kind: plan.summary.kind.into(),
            verdict: plan.summary.verdict.clone(),
            cause: plan.summary.cause.clone(),
            ..Report::default()
        };

        let already = self.lock_log().delivered(&plan.dedupe_keys);
        let mut sends = Vec::new();
        for part in self.parts(&plan) {
            if already.contains(part.key()) {
                report.duplicate.push(part.key());
            } else {
                sends.push(async move { (part.key(), self.send(&part, deadline).await) });
            }
        }
        let results = join_all(sends).await;

        let mut failures = Vec::new();
        {
            let mut log = self.lock_log();
            for (key, result) in results {
                match result {
                    Ok(()) => {
                        log.record(&plan.dedupe_keys, key);
                        report.delivered.push(key);
                    }
                    Err(err) => failures.push((key, err)),
                }
            }
        }
        let failed: Vec<String> = failures
            .iter()
            .map(|(key, err)| format!("{key}: {err}"))
            .collect();
        if failures.is_empty() {
            tracing::info!(
                event_id = %event_id,
                kind = %report.kind,
                verdict = %report.verdict,
                cause = %report.cause,
                subject = %plan.summary.subject,
                delivered = ?report.delivered,
                duplicate = ?report.duplicate,
                enrich_ms,
                not_enriched = ?enrichment.skipped,
                route_problems = ?plan.route_problems,
                "event handled"
            );
            Ok(report)
        } else {
            tracing::error!(
                event_id = %event_id,
                kind = %report.kind,
                verdict = %report.verdict,
                cause = %report.cause,
                subject = %plan.summary.subject,
                delivered = ?report.delivered,
                duplicate = ?report.duplicate,
                failed = ?failed,
                enrich_ms,
                not_enriched = ?enrichment.skipped,
                route_problems = ?plan.route_problems,
                "event not fully delivered; failing the invocation so Lambda retries it"
            );
            Err(DeliveryError { event_id, failures })
        }
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, DeliveryLog> {
        // A poisoned lock only means another thread panicked mid-update; the log stays usable.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where a plan's Slack message goes: the webhook its route names (else the default), or
    /// in app mode the channel its tags name (else the default channel).
    fn slack_target<'a>(&'a self, plan: &'a Plan) -> Option<SlackTarget<'a>> {
        match self.slack.as_ref()? {
            Slack::Webhooks { default, routes } => {
                if let Some(route) = &plan.slack_route {
                    match routes.get(route) {
                        Some(webhook) => return Some(SlackTarget::Webhook(webhook)),
                        None => {
                            tracing::warn!(route = %route, "tag ecs-notifier:slack names a route with no SLACK_WEBHOOK_URL_<NAME>; using the default webhook")
                        }
                    }
                }
                default.as_ref().map(SlackTarget::Webhook)
            }
            Slack::App { api, channel } => Some(SlackTarget::Channel {
                api,
                channel: plan.slack_channel.as_deref().unwrap_or(channel),
                default: channel,
            }),
        }
    }

    /// The parts of a plan that go to configured sinks.
    fn parts<'a>(&'a self, plan: &'a Plan) -> Vec<Part<'a>> {
        let mut parts = Vec::new();
        if let (Some(message), Some(target)) = (&plan.slack, self.slack_target(plan)) {
            parts.push(Part::Slack(message, target));
        }
        if self.datadog.is_some() {
            let dd = &plan.datadog;
            if !dd.distributions.is_empty() {
                parts.push(Part::Distributions(&dd.distributions));
            }
            if !dd.series.is_empty() {
                parts.push(Part::Series(&dd.series));
            }
            parts.extend(dd.events.iter().map(Part::DatadogEvent));
        }
        parts
    }

    async fn send(&self, part: &Part<'_>, deadline: Instant) -> Result<(), SendError> {
        let client = &self.client;
        match (part, &self.datadog) {
            (Part::Slack(message, SlackTarget::Webhook(webhook)), _) => {
                webhook.post(client, message, deadline).await
            }
            (
                Part::Slack(
                    message,
                    SlackTarget::Channel {
                        api,
                        channel,
                        default,
                    },
                ),
                _,
            ) => match api.post(client, channel, message, deadline).await {
                Err(err) if is_channel_error(&err) && channel != default => {
                    tracing::warn!(channel = %channel, error = %err, "cannot post to the channel the tags name; posting to the default channel");
                    api.post(client, default, message, deadline)
                        .await
                        .map(|_| ())
                }
                other => other.map(|_| ()),
            },
            (Part::Distributions(d), Some(dd)) => dd.distributions(client, d, deadline).await,
            (Part::Series(s), Some(dd)) => dd.series(client, s, deadline).await,
            (Part::DatadogEvent(e), Some(dd)) => dd.event(client, e, deadline).await,
            // `parts` only lists Datadog parts when Datadog is configured.
            (_, None) => Ok(()),
        }
    }
}
