//! The fan-out: every parcel of one invocation handed to each sink at once, and what each sink
//! did with it gathered back per event.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Client;
use tokio::time::Instant;

use super::datadog::sink::DatadogSink;
use super::parcel::Parcel;
use super::retry::{RetryPolicy, SendError};
use super::slack::sink::{Sent, SlackSink, SLACK};
use super::slack::Posted;
use super::teams::sink::{Delivery, TeamsSink, TEAMS};
use crate::config::Config;

/// What became of one event's parts.
#[derive(Debug, Default)]
pub struct Outcome {
    pub delivered: Vec<&'static str>,
    pub duplicate: Vec<&'static str>,
    pub failures: Vec<(&'static str, SendError)>,
    /// Where its Slack message now is (app mode).
    pub posted: Option<Posted>,
}

impl Outcome {
    fn settle(&mut self, part: &'static str, result: Result<(), SendError>) {
        match result {
            Ok(()) => self.delivered.push(part),
            Err(err) => self.failures.push((part, err)),
        }
    }
}

/// The sinks, built once per process.
pub struct Sinks {
    pub client: Client,
    pub slack: Option<SlackSink>,
    pub teams: Option<TeamsSink>,
    pub datadog: Option<DatadogSink>,
}

impl Sinks {
    /// The sinks the configuration turns on (secrets already read).
    pub fn new(config: &Config, client: Client, policy: RetryPolicy) -> Self {
        Self {
            client,
            slack: SlackSink::new(config, policy),
            teams: TeamsSink::new(config, policy),
            datadog: DatadogSink::new(config, policy),
        }
    }

    /// Whether Slack is in app mode (a bot token), where posted messages can be edited.
    pub fn is_app(&self) -> bool {
        self.slack.as_ref().is_some_and(SlackSink::is_app)
    }

    /// The parts of `parcel` that would be sent (to configured sinks).
    pub fn parts(&self, parcel: &Parcel<'_>) -> Vec<&'static str> {
        let mut parts = Vec::new();
        if self.slack.as_ref().is_some_and(|s| s.posts(parcel)) {
            parts.push(SLACK);
        }
        if self.teams.as_ref().is_some_and(|t| t.posts(parcel)) {
            parts.push(TEAMS);
        }
        if let Some(dd) = &self.datadog {
            parts.extend(dd.parts(parcel));
        }
        parts
    }

    /// Delivers `parcels` (with, per parcel, the parts an earlier delivery already posted, and
    /// the shared message it belongs to). Slack messages (and Teams cards) to the same
    /// destination leave at least `pace` apart.
    pub async fn deliver(
        &self,
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        threads: &[Option<Posted>],
        deadline: Instant,
        pace: Duration,
    ) -> Vec<Outcome> {
        let client = &self.client;
        let slack = async {
            match &self.slack {
                Some(sink) => {
                    sink.deliver(client, parcels, already, threads, deadline, pace)
                        .await
                }
                None => Vec::new(),
            }
        };
        let datadog = async {
            match &self.datadog {
                Some(sink) => sink.deliver(client, parcels, already, deadline).await,
                None => (Vec::new(), Vec::new()),
            }
        };
        let teams = async {
            match &self.teams {
                Some(sink) => sink.deliver(client, parcels, already, deadline, pace).await,
                None => Vec::new(),
            }
        };
        let (slack, teams, (datadog, duplicates)) = tokio::join!(slack, teams, datadog);
        let mut outcomes: Vec<Outcome> = parcels.iter().map(|_| Outcome::default()).collect();
        let mut sent = Vec::new();
        for (i, result) in slack {
            match result {
                Sent::Duplicate => outcomes[i].duplicate.push(SLACK),
                Sent::Done(result) => sent.push((i, result)),
            }
        }
        for (i, delivery) in teams {
            match delivery {
                Delivery::Duplicate => outcomes[i].duplicate.push(TEAMS),
                Delivery::Done(result) => outcomes[i].settle(TEAMS, result),
            }
        }
        for (i, part) in duplicates {
            outcomes[i].duplicate.push(part);
        }
        for (i, result) in sent {
            let result = result.map(|posted| outcomes[i].posted = posted);
            outcomes[i].settle(SLACK, result);
        }
        for (carriers, part, result) in datadog {
            for &i in &carriers {
                outcomes[i].settle(part, result.clone());
            }
        }
        outcomes
    }
}
