//! The Datadog sink's delivery policy: an invocation's distributions and gauges merged into one
//! request per endpoint (each result mapped back to the events it carried), every event posted
//! on its own.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::Client;
use tokio::time::Instant;

use super::payload::merge;
use super::DatadogApi;
use crate::config::Config;
use crate::judge::measure::Submission;
use crate::sinks::parcel::Parcel;
use crate::sinks::retry::{RetryPolicy, SendError};

/// Part names, as the delivery log remembers them.
pub const DISTRIBUTIONS: &str = "datadog.distributions";
pub const SERIES: &str = "datadog.series";
pub const EVENT: &str = "datadog.event";

/// What became of a Datadog part: the parcels it carried, the part, the result.
pub type Delivered = (Vec<usize>, &'static str, Result<(), SendError>);

/// The Datadog sink.
pub struct DatadogSink {
    api: DatadogApi,
}

impl DatadogSink {
    /// The sink the configuration turns on (secrets already read); none without an API key.
    pub fn new(config: &Config, policy: RetryPolicy) -> Option<Self> {
        let dd = config.datadog.as_ref()?;
        let key = dd.api_key.value()?.clone();
        let api = DatadogApi::new(dd.base_url.clone(), key, policy);
        let api = match dd.app_key.as_ref().and_then(|k| k.value()) {
            Some(app_key) => api.with_change_events(dd.events_url.clone(), app_key.clone()),
            None => api,
        };
        Some(Self { api })
    }

    /// The parts a parcel has for Datadog.
    pub fn parts(&self, parcel: &Parcel<'_>) -> Vec<&'static str> {
        let dd = parcel.datadog;
        [
            (DISTRIBUTIONS, !dd.distributions.is_empty()),
            (SERIES, !dd.series.is_empty()),
            (EVENT, !dd.events.is_empty()),
        ]
        .into_iter()
        .filter_map(|(part, present)| present.then_some(part))
        .collect()
    }

    /// One part of every parcel that has it and has not delivered it yet, merged; the parcels
    /// that already did are in `duplicates`.
    fn merged(
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        part: &'static str,
        duplicates: &mut Vec<(usize, &'static str)>,
    ) -> Option<(Vec<usize>, Submission)> {
        let mut carriers = Vec::new();
        let mut pieces = Vec::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let piece = match part {
                DISTRIBUTIONS => Submission {
                    distributions: parcel.datadog.distributions.clone(),
                    ..Submission::default()
                },
                _ => Submission {
                    series: parcel.datadog.series.clone(),
                    ..Submission::default()
                },
            };
            if piece.is_empty() {
                continue;
            }
            if already[i].contains(part) {
                duplicates.push((i, part));
            } else {
                carriers.push(i);
                pieces.push(piece);
            }
        }
        (!carriers.is_empty()).then(|| (carriers, merge(pieces)))
    }

    /// Delivers the measurements of `parcels`: metrics merged per endpoint, events one by one.
    /// Returns what was delivered (or failed) and the parts an earlier delivery had sent.
    pub async fn deliver(
        &self,
        client: &Client,
        parcels: &[Parcel<'_>],
        already: &[BTreeSet<&'static str>],
        deadline: Instant,
    ) -> (Vec<Delivered>, Vec<(usize, &'static str)>) {
        let mut duplicates = Vec::new();
        let merged: Vec<(&'static str, Vec<usize>, Submission)> = [DISTRIBUTIONS, SERIES]
            .into_iter()
            .filter_map(|part| {
                let (carriers, submission) = Self::merged(parcels, already, part, &mut duplicates)?;
                Some((part, carriers, submission))
            })
            .collect();
        let mut events = Vec::new();
        for (i, parcel) in parcels.iter().enumerate() {
            for event in &parcel.datadog.events {
                if already[i].contains(EVENT) {
                    duplicates.push((i, EVENT));
                } else {
                    events.push((i, event));
                }
            }
        }
        let api = &self.api;
        let metrics = join_all(
            merged
                .into_iter()
                .map(|(part, carriers, submission)| async move {
                    let result = match part {
                        DISTRIBUTIONS => {
                            api.distributions(client, &submission.distributions, deadline)
                                .await
                        }
                        _ => api.series(client, &submission.series, deadline).await,
                    };
                    (carriers, part, result)
                }),
        );
        let posted = join_all(events.into_iter().map(|(i, event)| async move {
            (vec![i], EVENT, api.event(client, event, deadline).await)
        }));
        let (metrics, posted) = tokio::join!(metrics, posted);
        (metrics.into_iter().chain(posted).collect(), duplicates)
    }
}
