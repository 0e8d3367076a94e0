//! Archive replays (events with `replay-name`): they post nothing one by one, take no part in
//! flood control or incident groups, and count nothing in Datadog again (it counted them when
//! they happened, and would stamp them with the time of the replay). With `REPLAY=digest` each
//! replay is told in one message to the default Slack destination once it has stopped arriving:
//! by the next invocation of the process, or the periodic check (with the state table).

use chrono::Utc;
use tokio::time::Instant;

use super::{Notifier, Prepared, Report, SLACK_PACE};
use crate::config::Replay;
use crate::judge::measure::Submission;
use crate::judge::replay::{self, Alert, Digest, Replayed};
use crate::sinks::retry::SendError;
use crate::state::memory::lock;
use crate::state::Table;

/// One delivered plan: its report, and the parts that failed.
type Delivered = (Report, Vec<(&'static str, SendError)>);

impl Notifier {
    /// A replayed event: nothing of its own to Slack or Datadog; with `REPLAY=digest`, counted
    /// in its replay's digest (shared through the state table, else per process).
    pub(super) async fn replay_gate(&self, item: &mut Prepared) {
        let (Some(name), Some(plan)) = (item.replay.clone(), item.plan.as_mut()) else {
            return;
        };
        let notice = plan.notice.take();
        plan.placement.thread_notice = None;
        plan.datadog = Submission::default();
        let group = plan.group.take();
        let flood_key = plan.flood_key.take();
        item.report.replay = Some(match self.replay {
            Replay::Digest => "digest",
            Replay::Quiet => "quiet",
        });
        if self.replay == Replay::Quiet {
            return;
        }
        let arrived = Utc::now();
        let cluster = match (&group, &flood_key) {
            (Some(g), _) => g.cluster.clone(),
            (None, Some(key)) => key.split('/').next().unwrap_or_default().to_string(),
            (None, None) => String::new(),
        };
        let identity = plan.dedupe_keys.last().cloned().unwrap_or_default();
        let event = Replayed {
            identity: &identity,
            at: plan.at.unwrap_or(arrived),
            arrived,
            alert: notice.as_ref().map(|_| Alert {
                cluster: &cluster,
                cause: &plan.summary.cause,
                subject: &plan.summary.subject,
            }),
        };
        let shared = match &self.table {
            Some(table) => match Box::pin(table.replayed(&name, &event)).await {
                Ok(digest) => Some(digest),
                Err(err) => {
                    tracing::warn!(error = %err, "state table unavailable; the replay's digest is kept per process");
                    None
                }
            },
            None => None,
        };
        let mut replays = lock(&self.replays);
        let next = match shared {
            Some(digest) => digest,
            None => replay::admit(replays.get(&name).as_ref(), &name, &event),
        };
        if let Some(next) = next {
            replays.insert(name, next);
        }
    }

    /// Tells the digests of this process's replays that are due (as the state table holds
    /// them, when there is one).
    pub(super) async fn post_replays(&self, deadline: Instant) {
        let wall = Utc::now();
        let known: Vec<(String, Digest)> = lock(&self.replays).entries();
        let mut due = Vec::new();
        for (name, digest) in known {
            if !digest.due(wall, self.backlog_after) {
                continue;
            }
            let digest = match &self.table {
                Some(table) => match table.digest(&name).await {
                    Ok(Some(stored)) => stored.digest,
                    Ok(None) => continue,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not read a replay's digest; it waits");
                        continue;
                    }
                },
                None => digest,
            };
            if digest.due(wall, self.backlog_after) {
                due.push(digest);
            }
        }
        self.tell_replays(due, self.table.as_ref(), deadline).await;
    }

    /// The digests of the table that are due, for the periodic check.
    pub(super) async fn replays_in_table(&self, table: &Table) -> Vec<Digest> {
        let wall = Utc::now();
        match table.digests().await {
            Ok(digests) => digests
                .into_iter()
                .map(|d| d.digest)
                .filter(|d| d.due(wall, self.backlog_after))
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read replays' digests; they wait for the next check");
                Vec::new()
            }
        }
    }

    /// Delivers digests and marks those told (in this process, and in the table).
    pub(super) async fn tell_replays(
        &self,
        due: Vec<Digest>,
        table: Option<&Table>,
        deadline: Instant,
    ) -> Vec<Delivered> {
        if due.is_empty() {
            return Vec::new();
        }
        let now = Utc::now();
        let items = due
            .iter()
            .map(|d| {
                let plan = replay::plan(d, now);
                Prepared::planned(format!("replay:{}", d.name), plan, 0, Vec::new())
            })
            .collect();
        // Boxed: this delivery nests inside an invocation's own, and the future would be deep.
        let done = Box::pin(self.deliver(items, deadline, SLACK_PACE)).await;
        for (digest, (_, failures)) in due.iter().zip(&done) {
            if !failures.is_empty() {
                tracing::warn!(replay = %digest.name, "a replay's digest could not be posted; it stays due");
                continue;
            }
            let known = lock(&self.replays).get(&digest.name);
            if let Some(mut known) = known {
                known.told = known.told.max(digest.events);
                lock(&self.replays).insert(digest.name.clone(), known);
            }
            if let Some(table) = table {
                if let Err(err) = table.told_digest(&digest.name, digest.events).await {
                    tracing::warn!(error = %err, replay = %digest.name, "could not mark a replay's digest as told");
                }
            }
        }
        done
    }
}
