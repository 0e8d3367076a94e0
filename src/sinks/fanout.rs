//! The fan-out: every parcel of one invocation delivered together, Slack paced per
//! destination, Datadog merged into one request per endpoint, and every result mapped back to
//! the events it carried.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use futures::future::join_all;
use reqwest::Client;
use tokio::time::Instant;

use super::datadog::{DatadogApi, Submission};
use super::parcel::Parcel;
use super::retry::{RetryPolicy, SendError};
use super::slack::client::is_channel_error;
use super::slack::Posted;
use super::slack::{Message, SlackApi, SlackWebhook};
use crate::config::{Config, SecretSetting};

/// Part names, as remembered by the delivery log and reported per event.
pub const SLACK: &str = "slack";
pub const DISTRIBUTIONS: &str = "datadog.distributions";
pub const SERIES: &str = "datadog.series";
pub const EVENT: &str = "datadog.event";

/// Where Slack messages go.
pub enum Slack {
    /// Incoming webhooks: a default and named routes.
    Webhooks {
        default: Option<SlackWebhook>,
        routes: BTreeMap<String, SlackWebhook>,
    },
    /// A Slack app's bot token: any channel, the default one first.
    App { api: SlackApi, channel: String },
}

/// Where one message goes.
enum Target<'a> {
    Webhook(&'a SlackWebhook),
    Channel {
        api: &'a SlackApi,
        channel: &'a str,
        default: &'a str,
    },
}

/// What became of one event's parts.
#[derive(Debug, Default)]
pub struct Outcome {
    pub delivered: Vec<&'static str>,
    pub duplicate: Vec<&'static str>,
    pub failures: Vec<(&'static str, SendError)>,
    /// Where a deployment's shared message now is (app mode).
    pub posted: Option<Posted>,
}

/// The Slack message a parcel sends, if any: in app mode a deployment's state always updates
/// its shared message; otherwise only parcels with a message of their own post.
fn slack_message<'a>(plan: &Parcel<'a>, app: bool) -> Option<&'a Message> {
    match (plan.slack, plan.thread, app) {
        (Some(message), _, _) => Some(message),
        (None, Some(_), true) => plan.thread_message,
        _ => None,
    }
}

/// The sinks, built once per process.
pub struct Sinks {
    pub client: Client,
    pub slack: Option<Slack>,
    pub datadog: Option<DatadogApi>,
    /// When each Slack destination may next be posted to: pacing carries over from one
    /// invocation to the next in a warm process.
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Sinks {
    /// The sinks the configuration turns on (secrets already read).
    pub fn new(config: &Config, client: Client, policy: RetryPolicy) -> Self {
        let slack = if let Some(bot) = &config.slack_bot {
            bot.token.value().map(|token| Slack::App {
                api: SlackApi::new(bot.api_url.clone(), token.clone(), policy),
                channel: bot.channel.clone(),
            })
        } else {
            let webhook = |setting: &SecretSetting| {
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
        };
        let datadog = config.datadog.as_ref().and_then(|dd| {
            let key = dd.api_key.value()?.clone();
            let api = DatadogApi::new(dd.base_url.clone(), key, policy);
            Some(match dd.app_key.as_ref().and_then(|k| k.value()) {
                Some(app_key) => api.with_change_events(dd.events_url.clone(), app_key.clone()),
                None => api,
            })
        });
        Self {
            client,
            slack,
            datadog,
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// Where a plan's Slack message goes, and a name for that destination (for pacing): the
    /// webhook its route names (else the default), or in app mode the channel its tags name.
    fn target<'a>(&'a self, plan: &Parcel<'a>) -> Option<(String, Target<'a>)> {
        match self.slack.as_ref()? {
            Slack::Webhooks { default, routes } => {
                if let Some((route, webhook)) =
                    plan.slack_route.and_then(|r| Some((r, routes.get(r)?)))
                {
                    return Some((format!("route:{route}"), Target::Webhook(webhook)));
                }
                default
                    .as_ref()
                    .map(|w| ("default".to_string(), Target::Webhook(w)))
            }
            Slack::App { api, channel } => {
                let to = plan.slack_channel.unwrap_or(channel);
                Some((
                    format!("channel:{to}"),
                    Target::Channel {
                        api,
                        channel: to,
                        default: channel,
                    },
                ))
            }
        }
    }

    /// Posts `message`; in app mode, returns where it landed.
    async fn post(
        &self,
        target: &Target<'_>,
        message: &Message,
        deadline: Instant,
    ) -> Result<Option<Posted>, SendError> {
        let client = &self.client;
        match target {
            Target::Webhook(webhook) => webhook.post(client, message, deadline).await.map(|_| None),
            Target::Channel {
                api,
                channel,
                default,
            } => match api.post(client, channel, message, deadline).await {
                Err(err) if is_channel_error(&err) && channel != default => {
                    tracing::warn!(channel = %channel, error = %err, "cannot post to the channel the tags name; posting to the default channel");
                    api.post(client, default, message, deadline).await.map(Some)
                }
                other => other.map(Some),
            },
        }
    }

    fn slot(&self, destination: &str) -> Instant {
        let slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        slots.get(destination).copied().unwrap_or_else(Instant::now)
    }

    fn set_slot(&self, destination: String, at: Instant) {
        let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() > 1024 {
            let now = Instant::now();
            slots.retain(|_, t| *t > now);
        }
        slots.insert(destination, at);
    }

    /// Whether Slack is in app mode (a bot token), where posted messages can be edited.
    pub fn is_app(&self) -> bool {
        matches!(self.slack, Some(Slack::App { .. }))
    }

    /// A deployment's state change in app mode: edits the deployment's message when there is
    /// one (and replies in its thread when it went wrong, since an edit notifies nobody), else
    /// posts it. Returns where the message is.
    async fn post_thread(
        &self,
        target: &Target<'_>,
        message: &Message,
        existing: Option<&Posted>,
        loud: bool,
        deadline: Instant,
    ) -> Result<Option<Posted>, SendError> {
        let Target::Channel { api, channel, .. } = target else {
            return self.post(target, message, deadline).await;
        };
        let client = &self.client;
        if let Some(posted) = existing {
            match api.update(client, posted, message, deadline).await {
                Ok(_) => {
                    if loud {
                        api.reply(client, posted, message, true, deadline).await?;
                    }
                    return Ok(Some(posted.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot update the deployment's message; posting a new one")
                }
            }
        }
        api.post(client, channel, message, deadline).await.map(Some)
    }

    /// The parts of `plan` that would be sent (to configured sinks).
    pub fn parts(&self, plan: &Parcel<'_>) -> Vec<&'static str> {
        let mut parts = Vec::new();
        if slack_message(plan, self.is_app()).is_some() && self.target(plan).is_some() {
            parts.push(SLACK);
        }
        if self.datadog.is_some() {
            let dd = plan.datadog;
            for (part, present) in [
                (DISTRIBUTIONS, !dd.distributions.is_empty()),
                (SERIES, !dd.series.is_empty()),
                (EVENT, !dd.events.is_empty()),
            ] {
                if present {
                    parts.push(part);
                }
            }
        }
        parts
    }

    /// Delivers `plans` (with, per plan, the parts an earlier delivery already posted). Slack
    /// messages to the same destination leave at least `pace` apart.
    pub async fn deliver(
        &self,
        plans: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        threads: &[Option<Posted>],
        deadline: Instant,
        pace: Duration,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = plans.iter().map(|_| Outcome::default()).collect();

        // Slack: one queue per destination.
        let app = self.is_app();
        let mut queues: BTreeMap<String, Vec<(usize, &Message, Target<'_>)>> = BTreeMap::new();
        for (i, plan) in plans.iter().enumerate() {
            let Some(message) = slack_message(plan, app) else {
                continue;
            };
            if let (Some(route), Some(Slack::Webhooks { routes, .. })) =
                (plan.slack_route, &self.slack)
            {
                if !routes.contains_key(route) {
                    tracing::warn!(route = %route, "tag ecs-notifier:slack names a route with no SLACK_WEBHOOK_URL_<NAME>; using the default webhook");
                }
            }
            let Some((destination, target)) = self.target(plan) else {
                continue;
            };
            if already[i].contains(SLACK) {
                outcomes[i].duplicate.push(SLACK);
            } else {
                queues
                    .entry(destination)
                    .or_default()
                    .push((i, message, target));
            }
        }
        let slack = join_all(queues.into_iter().map(|(destination, queue)| async move {
            let mut results = Vec::new();
            let mut next = if pace.is_zero() {
                Instant::now()
            } else {
                self.slot(&destination).max(Instant::now())
            };
            for (i, message, target) in queue {
                if next >= deadline {
                    results.push((
                        i,
                        Err(SendError::Deadline {
                            attempts: 0,
                            last: "paced past the deadline".into(),
                        }),
                    ));
                    continue;
                }
                // Only when pacing asks for it: a sleep rounds up to the timer's next tick.
                if next > Instant::now() {
                    tokio::time::sleep_until(next).await;
                }
                let plan = plans[i];
                let sent = if let (true, Some(posted), Target::Channel { api, .. }) =
                    (app, plan.edit, &target)
                {
                    // A fuller update of a stop completes its alert in place.
                    api.update(&self.client, posted, message, deadline)
                        .await
                        .map(Some)
                } else if app && plan.thread.is_some() {
                    self.post_thread(&target, message, threads[i].as_ref(), plan.loud, deadline)
                        .await
                } else if let (true, true, Some(existing), Target::Channel { api, .. }) =
                    (app, plan.reply, threads[i].as_ref(), &target)
                {
                    // A failure or warning is also shown in the channel; a return to normal
                    // stays in the thread.
                    api.reply(&self.client, existing, message, plan.loud, deadline)
                        .await
                        .map(Some)
                } else {
                    self.post(&target, message, deadline).await
                };
                results.push((i, sent));
                next = Instant::now() + pace;
            }
            if !pace.is_zero() {
                self.set_slot(destination, next);
            }
            results
        }));

        // Datadog: one request per endpoint for the whole invocation.
        let mut merged: Vec<(&'static str, Vec<usize>, Submission)> = Vec::new();
        let mut events = Vec::new();
        if let Some(dd) = &self.datadog {
            for part in [DISTRIBUTIONS, SERIES] {
                let mut carriers = Vec::new();
                let mut pieces = Vec::new();
                for (i, plan) in plans.iter().enumerate() {
                    let piece = match part {
                        DISTRIBUTIONS => Submission {
                            distributions: plan.datadog.distributions.clone(),
                            ..Submission::default()
                        },
                        _ => Submission {
                            series: plan.datadog.series.clone(),
                            ..Submission::default()
                        },
                    };
                    if piece.is_empty() {
                        continue;
                    }
                    if already[i].contains(part) {
                        outcomes[i].duplicate.push(part);
                    } else {
                        carriers.push(i);
                        pieces.push(piece);
                    }
                }
                if !carriers.is_empty() {
                    merged.push((part, carriers, super::datadog::payload::merge(pieces)));
                }
            }
            for (i, plan) in plans.iter().enumerate() {
                for event in &plan.datadog.events {
                    if already[i].contains(EVENT) {
                        outcomes[i].duplicate.push(EVENT);
                    } else {
                        events.push((i, event, dd));
                    }
                }
            }
        }
        let client = &self.client;
        let metrics = join_all(
            merged
                .iter()
                .map(|(part, carriers, submission)| async move {
                    let result = match (&self.datadog, *part) {
                        (Some(dd), DISTRIBUTIONS) => {
                            dd.distributions(client, &submission.distributions, deadline)
                                .await
                        }
                        (Some(dd), _) => dd.series(client, &submission.series, deadline).await,
                        (None, _) => Ok(()),
                    };
                    (*part, carriers, result)
                }),
        );
        let dd_events =
            join_all(events.iter().map(|(i, event, dd)| async move {
                (*i, dd.event(client, event, deadline).await)
            }));

        let (slack, metrics, dd_events) = tokio::join!(slack, metrics, dd_events);
        for (i, result) in slack.into_iter().flatten() {
            let result = result.map(|posted| {
                outcomes[i].posted = posted;
            });
            settle(&mut outcomes[i], SLACK, result);
        }
        for (part, carriers, result) in metrics {
            for &i in carriers {
                settle(&mut outcomes[i], part, result.clone());
            }
        }
        for (i, result) in dd_events {
            settle(&mut outcomes[i], EVENT, result);
        }
        outcomes
    }
}

fn settle(outcome: &mut Outcome, part: &'static str, result: Result<(), SendError>) {
    match result {
        Ok(()) => outcome.delivered.push(part),
        Err(err) => outcome.failures.push((part, err)),
    }
}
