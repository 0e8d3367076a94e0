//! The Slack sink's delivery policy: which webhook or channel each message goes to, one paced
//! queue per destination, and in app mode the shared messages of deployments and incidents
//! (edited in place, with a reply when it went wrong), replies in a remembered thread, and
//! fuller updates that complete an alert in place.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Client;
use tokio::time::Instant;

use super::client::is_channel_error;
use super::{render, Message, Posted, SlackApi, SlackWebhook};
use crate::config::{Config, SecretSetting};
use crate::sinks::pacing::Pacer;
use crate::sinks::parcel::Parcel;
use crate::sinks::retry::{RetryPolicy, SendError};

/// The part name of a Slack message, as the delivery log remembers it.
pub const SLACK: &str = "slack";

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

/// What became of one parcel's Slack message.
pub enum Sent {
    /// Posted (in app mode: where it landed), or failed.
    Done(Result<Option<Posted>, SendError>),
    /// An earlier delivery of the same event posted it.
    Duplicate,
}

/// The Slack sink: its destinations, and when each may next be posted to (pacing carries over
/// from one invocation to the next in a warm process).
pub struct SlackSink {
    slack: Slack,
    pacer: Pacer,
}

/// A queued message: the parcel it is of, the message, where it goes.
type Queued<'a> = (usize, (Message, Target<'a>));

impl SlackSink {
    /// The sink the configuration turns on (secrets already read); none without a webhook or
    /// a bot token.
    pub fn new(config: &Config, policy: RetryPolicy) -> Option<Self> {
        let slack = if let Some(bot) = &config.slack_bot {
            bot.token.value().map(|token| Slack::App {
                api: SlackApi::new(bot.api_url.clone(), token.clone(), policy),
                channel: bot.channel.clone(),
            })?
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
            if default.is_none() && routes.is_empty() {
                return None;
            }
            Slack::Webhooks { default, routes }
        };
        Some(Self {
            slack,
            pacer: Pacer::default(),
        })
    }

    /// Whether Slack is in app mode (a bot token), where posted messages can be edited.
    pub fn is_app(&self) -> bool {
        matches!(self.slack, Slack::App { .. })
    }

    /// The message a parcel sends, if any: in app mode a deployment's state always updates its
    /// shared message; otherwise only parcels with a notice of their own post.
    pub fn message(&self, parcel: &Parcel<'_>) -> Option<Message> {
        match (parcel.notice, &parcel.placement.thread, self.is_app()) {
            (Some(notice), _, app) => Some(super::buttons::with_actions(
                render(notice),
                &parcel.placement.buttons,
                app,
            )),
            (None, Some(_), true) => parcel.placement.thread_notice.as_ref().map(render),
            _ => None,
        }
    }

    /// Whether a parcel posts anything here.
    pub fn posts(&self, parcel: &Parcel<'_>) -> bool {
        let shared = parcel.placement.thread.is_some() && self.is_app();
        (parcel.notice.is_some() || shared && parcel.placement.thread_notice.is_some())
            && self.target(parcel).is_some()
    }

    /// Where a parcel's message goes, and a name for that destination (for pacing): the
    /// webhook its route names (else the default), or in app mode the channel its tags name.
    fn target<'a>(&'a self, parcel: &Parcel<'a>) -> Option<(String, Target<'a>)> {
        match &self.slack {
            Slack::Webhooks { default, routes } => {
                if let Some((route, webhook)) = parcel
                    .placement
                    .route
                    .as_deref()
                    .and_then(|r| Some((r, routes.get(r)?)))
                {
                    return Some((format!("route:{route}"), Target::Webhook(webhook)));
                }
                default
                    .as_ref()
                    .map(|w| ("default".to_string(), Target::Webhook(w)))
            }
            Slack::App { api, channel } => {
                let to = parcel.placement.channel.as_deref().unwrap_or(channel);
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
        client: &Client,
        target: &Target<'_>,
        message: &Message,
        deadline: Instant,
    ) -> Result<Option<Posted>, SendError> {
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

    /// A shared message's new state in app mode: edits the message when there is one (and
    /// replies in its thread when it went wrong, since an edit notifies nobody), else posts
    /// it. Returns where the message is.
    async fn post_thread(
        &self,
        client: &Client,
        target: &Target<'_>,
        message: &Message,
        existing: Option<&Posted>,
        loud: bool,
        deadline: Instant,
    ) -> Result<Option<Posted>, SendError> {
        let Target::Channel { api, channel, .. } = target else {
            return self.post(client, target, message, deadline).await;
        };
        if let Some(posted) = existing {
            match api.update(client, posted, message, deadline).await {
                Ok(_) => {
                    if loud {
                        api.reply(client, posted, message, true, deadline).await?;
                    }
                    return Ok(Some(posted.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot update the shared message; posting a new one")
                }
            }
        }
        api.post(client, channel, message, deadline).await.map(Some)
    }

    /// Sends one parcel's message where its placement says: an edit in place, a shared
    /// message, a reply in a remembered thread, or a post of its own.
    async fn send(
        &self,
        client: &Client,
        parcel: &Parcel<'_>,
        message: &Message,
        target: &Target<'_>,
        thread: Option<&Posted>,
        deadline: Instant,
    ) -> Result<Option<Posted>, SendError> {
        let app = self.is_app();
        let placement = parcel.placement;
        if let (true, Some(posted), Target::Channel { api, .. }) = (app, &placement.edit, target) {
            // A fuller update of a stop completes its alert in place.
            return api
                .update(client, posted, message, deadline)
                .await
                .map(Some);
        }
        if app && placement.thread.is_some() {
            return self
                .post_thread(client, target, message, thread, parcel.loud, deadline)
                .await;
        }
        if let (true, true, Some(existing), Target::Channel { api, .. }) =
            (app, placement.reply_to.is_some(), thread, target)
        {
            // A failure or warning is also shown in the channel; a return to normal stays in
            // the thread.
            return api
                .reply(client, existing, message, parcel.loud, deadline)
                .await
                .map(Some);
        }
        self.post(client, target, message, deadline).await
    }

    /// The messages of `parcels` in one queue per destination; those an earlier delivery
    /// posted are duplicates.
    fn queues<'a>(
        &'a self,
        parcels: &[Parcel<'a>],
        already: &[BTreeSet<&'static str>],
        results: &mut Vec<(usize, Sent)>,
    ) -> BTreeMap<String, Vec<Queued<'a>>> {
        let mut queues: BTreeMap<String, Vec<Queued<'a>>> = BTreeMap::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let Some(message) = self.message(parcel) else {
                continue;
            };
            if let (Some(route), Slack::Webhooks { routes, .. }) =
                (&parcel.placement.route, &self.slack)
            {
                if !routes.contains_key(route) {
                    tracing::warn!(route = %route, "tag ecs-notifier:slack names a route with no SLACK_WEBHOOK_URL_<NAME>; using the default webhook");
                }
            }
            let Some((destination, target)) = self.target(parcel) else {
                continue;
            };
            if already[i].contains(SLACK) {
                results.push((i, Sent::Duplicate));
            } else {
                queues
                    .entry(destination)
                    .or_default()
                    .push((i, (message, target)));
            }
        }
        queues
    }

    /// Delivers the messages of `parcels` (`threads`: the shared or remembered message each one
    /// belongs to, where known). Messages to one destination leave at least `pace` apart, in
    /// order; destinations are served at once.
    pub async fn deliver(
        &self,
        client: &Client,
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        threads: &[Option<Posted>],
        deadline: Instant,
        pace: Duration,
    ) -> Vec<(usize, Sent)> {
        let mut results = Vec::new();
        let queues = self.queues(parcels, already, &mut results);
        let sent = self
            .pacer
            .send_all(queues, pace, deadline, |i, (message, target)| async move {
                let thread = threads[i].as_ref();
                self.send(client, &parcels[i], &message, &target, thread, deadline)
                    .await
            })
            .await;
        results.extend(sent.into_iter().map(|(i, r)| (i, Sent::Done(r))));
        results
    }
}
