//! The buttons' side of delivering an alert: a failure alert given its buttons (and, once
//! posted, its record stored for them), a silenced service's or job's alert held back (its
//! stop still counted), and a re-run's stop told in the thread of the alert it re-ran.

use chrono::Utc;

use super::{Notifier, Prepared};
use crate::interact::alert::{alert_id, run_spec, silence_key, AlertRecord, RERUN_STARTED_BY};
use crate::judge::notice::{Notice, Severity};
use crate::judge::{Enrichment, Outgoing};
use crate::sinks::slack::buttons::with_actions;
use crate::sinks::slack::render;
use crate::sinks::{Outcome, SLACK};
use crate::source::Event;

impl Notifier {
    /// Gives a failure alert of a stopped task its buttons (app mode, buttons on); returns the
    /// record to store once it is posted.
    pub(super) fn add_buttons(
        &self,
        event: &Event,
        enrichment: &Enrichment,
        plan: &mut Outgoing,
    ) -> Option<AlertRecord> {
        let work = self.buttons.as_ref()?;
        let Event::Task(envelope, task) = event else {
            return None;
        };
        let failure = plan.notice.as_ref()?.severity == Severity::Failure;
        let (Some(task_arn), Some(key), true) = (&task.task_arn, &plan.flood_key, failure) else {
            return None;
        };
        let id = alert_id(task_arn);
        let rerun = run_spec(task, enrichment.tags());
        let buttons = &mut plan.placement.buttons;
        buttons.alert = Some(id.clone());
        buttons.silences = work.silences.clone();
        buttons.rerun = rerun.is_some() && !work.allowed.is_empty();
        Some(AlertRecord {
            id,
            channel: String::new(),
            ts: String::new(),
            message: crate::sinks::slack::Message {
                text: String::new(),
                blocks: Vec::new(),
            },
            silence_key: silence_key(&envelope.account, key),
            subject: plan.summary.subject.clone(),
            task_arn: task_arn.clone(),
            rerun,
            acknowledged_by: None,
        })
    }

    /// A fuller update completing an alert in place keeps who acknowledged it.
    pub(super) async fn keep_acknowledgement(
        &self,
        plan: &mut Outgoing,
        record: Option<&mut AlertRecord>,
    ) {
        let (Some(record), Some(table)) = (record, &self.table) else {
            return;
        };
        let stored = match table.alert(&record.id).await {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "state table unavailable; an acknowledgement may be lost");
                None
            }
        };
        let by = stored
            .and_then(|json| serde_json::from_str::<AlertRecord>(&json).ok())
            .and_then(|stored| stored.acknowledged_by);
        if let Some(user) = by {
            plan.placement.buttons.acknowledged_by = Some(user.clone());
            record.acknowledged_by = Some(user);
        }
    }

    /// Holds back the alert of a silenced service or job (Datadog still counts the stop);
    /// returns who silenced it until when.
    pub(super) async fn silenced(&self, event: &Event, plan: &mut Outgoing) -> Option<String> {
        let (Some(_), Some(table)) = (&self.buttons, &self.table) else {
            return None;
        };
        let failure = plan.notice.as_ref()?.severity == Severity::Failure;
        let key = plan.flood_key.as_ref().filter(|_| failure)?;
        let key = silence_key(&event.envelope().account, key);
        let silence = match table.silence(&key, Utc::now()).await {
            Ok(silence) => silence?,
            Err(err) => {
                tracing::warn!(error = %err, "state table unavailable; a silenced alert may post");
                return None;
            }
        };
        plan.notice = None;
        plan.flood_key = None;
        plan.group = None;
        Some(format!(
            "silenced by {} until {}",
            silence.by,
            silence.until.to_rfc3339()
        ))
    }

    /// A re-run's stop: told in the thread of the alert it re-ran, a success too.
    pub(super) fn tell_rerun(&self, event: &Event, plan: &mut Outgoing) {
        let Event::Task(_, task) = event else { return };
        let (Some(arn), true) = (&task.task_arn, task.is_stopped()) else {
            return;
        };
        if self.buttons.is_none() || task.started_by.as_deref() != Some(RERUN_STARTED_BY) {
            return;
        }
        plan.placement.reply_to = Some(format!("rerun:{arn}"));
        if plan.notice.is_none() {
            plan.placement.reply_only = true;
            plan.notice = Some(Notice {
                severity: Severity::Success,
                title: format!("Re-run of {} finished", plan.summary.subject),
                summary: format!(
                    "The re-run task {} stopped: {} ({}).",
                    task.task_id(),
                    plan.summary.verdict,
                    plan.summary.cause
                ),
                fields: Vec::new(),
                sections: Vec::new(),
                links: Vec::new(),
                context: Vec::new(),
                mentions: Vec::new(),
            });
        }
    }

    /// Stores the record of each alert posted with buttons, with where it landed and its
    /// message as posted.
    pub(super) async fn remember_alerts(&self, items: &[(&Prepared, &Outcome)]) {
        let Some(table) = &self.table else { return };
        for (item, outcome) in items {
            let (Some(record), Some(plan)) = (&item.alert, &item.plan) else {
                continue;
            };
            let (Some(posted), Some(notice)) = (&outcome.posted, &plan.notice) else {
                continue;
            };
            if !outcome.delivered.contains(&SLACK) {
                continue;
            }
            let posted = plan.placement.edit.as_ref().unwrap_or(posted);
            let mut record = record.clone();
            record.channel = posted.channel.clone();
            record.ts = posted.ts.clone();
            record.message = with_actions(render(notice), &plan.placement.buttons, true);
            let json = serde_json::to_string(&record).unwrap_or_default();
            match table.put_alert(&record.id, &json, Utc::now()).await {
                Ok(()) => {
                    tracing::info!(alert = %record.id, task = %record.task_arn, "alert posted with buttons")
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not store the alert's record; its buttons will not work")
                }
            }
        }
    }
}
