//! A press of a button on an alert, I/O: Slack's request verified (signature, age, not seen
//! before), the alert it names read from the state table (never from the request), the action
//! done (Slack, the state table, ECS RunTask), logged with the Slack user, told in the thread,
//! and answered with a function URL response.

use std::sync::Arc;

use chrono::{Duration as Span, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::{rerun, Notifier};
use crate::aws::Aws;
use crate::config::{Config, Secret};
use crate::interact::reply;
use crate::interact::request::{self, response};
use crate::interact::verify::verify;
use crate::interact::{press, Action, AlertRecord, Press, Refusal};
use crate::sinks::slack::{Message, SlackApi};
use crate::state::buttons::Silence;
use crate::state::Table;

/// Slack wants an answer within 3 s: the work is done inline, within this.
const BUDGET: std::time::Duration = std::time::Duration::from_millis(2500);

/// What the buttons need: the signing secret, the Web API, who may re-run, ECS.
pub struct ButtonWork {
    secret: Secret,
    api: SlackApi,
    pub(super) allowed: Vec<String>,
    pub(super) silences: Vec<u64>,
    aws: Arc<Aws>,
    ecs: OnceCell<aws_sdk_ecs::Client>,
}

impl ButtonWork {
    /// The buttons the configuration turns on (secrets read): app mode and a signing secret.
    pub fn new(config: &Config, aws: Arc<Aws>) -> Option<Self> {
        let settings = config.buttons.as_ref()?;
        let bot = config.slack_bot.as_ref()?;
        Some(Self {
            secret: settings.signing_secret.value()?.clone(),
            api: SlackApi::new(
                bot.api_url.clone(),
                bot.token.value()?.clone(),
                crate::sinks::retry::RetryPolicy::default(),
            ),
            allowed: settings.rerun_allowed.clone(),
            silences: settings.silences.iter().map(|d| d.as_secs()).collect(),
            aws,
            ecs: OnceCell::new(),
        })
    }
}

impl Notifier {
    /// Answers one interactivity request: 200 once done, 401 or 403 (nothing done) when
    /// refused.
    pub(super) async fn press(&self, payload: &Value, own_account: Option<&str>) -> Value {
        let (Some(work), Some(table)) = (&self.buttons, &self.table) else {
            return response(404, "buttons are off");
        };
        let deadline = Instant::now() + BUDGET;
        match self
            .pressed(work, table, payload, own_account, deadline)
            .await
        {
            Ok((press, done)) => {
                tracing::info!(user = %press.user, action = ?press.action, alert = %press.alert, outcome = %done, "button pressed");
                response(200, "")
            }
            Err(refusal) => {
                tracing::warn!(refused = %refusal, status = refusal.status(), "button request refused");
                response(refusal.status(), &refusal.to_string())
            }
        }
    }

    async fn pressed(
        &self,
        work: &ButtonWork,
        table: &Table,
        payload: &Value,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<(Press, String), Refusal> {
        let signed = request::read(payload)?;
        verify(&work.secret, &signed, Utc::now().timestamp())?;
        let key = hex::encode(Sha256::digest(signed.signature.as_bytes()));
        match table.first_request(&key, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => return Err(Refusal::Replayed),
            Err(err) => return Err(unavailable(err)),
        }
        let press = press::read(&signed.body)?;
        if press.action == Action::Link {
            return Ok((press, "a link".into()));
        }
        let stored = table
            .alert(&press.alert)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Refusal::UnknownAlert(press.alert.clone()))?;
        let record: AlertRecord = serde_json::from_str(&stored)
            .map_err(|_| Refusal::UnknownAlert(press.alert.clone()))?;
        let done = self
            .act(work, table, &press, record, own_account, deadline)
            .await?;
        Ok((press, done))
    }

    /// Does what the button asks of the stored alert; says what was done.
    async fn act(
        &self,
        work: &ButtonWork,
        table: &Table,
        press: &Press,
        record: AlertRecord,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<String, Refusal> {
        let user = press.user.as_str();
        match press.action {
            Action::Acknowledge => self.acknowledge(work, table, user, record, deadline).await,
            Action::Silence(seconds) => {
                self.silence(work, table, user, &record, seconds, deadline)
                    .await
            }
            Action::Unsilence => {
                table
                    .lift_silence(&record.silence_key, user, Utc::now())
                    .await
                    .map_err(unavailable)?;
                self.reply_in_thread(work, &record, &reply::unsilence(&record, user), deadline)
                    .await;
                Ok(format!("lifted the silence of {}", record.silence_key))
            }
            Action::Rerun => {
                self.rerun(work, table, user, &record, own_account, deadline)
                    .await
            }
            Action::Link => Ok("a link".into()),
        }
    }

    /// Edits the alert to say who took it, remembers that, and says so in the thread.
    async fn acknowledge(
        &self,
        work: &ButtonWork,
        table: &Table,
        user: &str,
        mut record: AlertRecord,
        deadline: Instant,
    ) -> Result<String, Refusal> {
        let edited = reply::acknowledged(&record, user);
        let edit = work
            .api
            .update(&self.sinks.client, &record.posted(), &edited, deadline)
            .await;
        if let Err(err) = &edit {
            tracing::warn!(error = %err, "could not edit the acknowledged alert");
        }
        record.message = edited;
        record.acknowledged_by = Some(user.to_string());
        let json = serde_json::to_string(&record).unwrap_or_default();
        table
            .put_alert(&record.id, &json, Utc::now())
            .await
            .map_err(unavailable)?;
        self.reply_in_thread(work, &record, &reply::acknowledge(user), deadline)
            .await;
        Ok("acknowledged".into())
    }

    /// Silences the alert's service or job and cause for one of the offered durations.
    async fn silence(
        &self,
        work: &ButtonWork,
        table: &Table,
        user: &str,
        record: &AlertRecord,
        seconds: u64,
        deadline: Instant,
    ) -> Result<String, Refusal> {
        let offered = work.silences.contains(&seconds);
        let span = i64::try_from(seconds).ok().and_then(Span::try_seconds);
        let (true, Some(span)) = (offered, span) else {
            return Err(Refusal::Unusable(format!(
                "{seconds} s is not a silence offered"
            )));
        };
        let until = Utc::now() + span;
        let silence = Silence {
            until,
            by: user.to_string(),
        };
        table
            .set_silence(&record.silence_key, &silence)
            .await
            .map_err(unavailable)?;
        let told = reply::silence(record, user, seconds, until);
        self.reply_in_thread(work, record, &told, deadline).await;
        Ok(format!(
            "silenced {} until {}",
            record.silence_key,
            until.to_rfc3339()
        ))
    }

    /// Re-runs the alert's job, for a user allowed to.
    async fn rerun(
        &self,
        work: &ButtonWork,
        table: &Table,
        user: &str,
        record: &AlertRecord,
        own_account: Option<&str>,
        deadline: Instant,
    ) -> Result<String, Refusal> {
        if !self.may_rerun(work, user, deadline).await {
            return Err(Refusal::NotAllowed(user.to_string()));
        }
        let spec = record.rerun.as_ref().ok_or_else(|| {
            Refusal::Unusable("the alert is not a job's: nothing to re-run".into())
        })?;
        let account = crate::source::arn::account(&spec.cluster);
        if own_account.is_some() && account != own_account {
            return Err(Refusal::Unusable(
                "a re-run starts tasks in this function's account only".into(),
            ));
        }
        let ecs = work
            .ecs
            .get_or_init(|| async { aws_sdk_ecs::Client::new(work.aws.base().await) })
            .await;
        let started = rerun::run(ecs, spec).await;
        if let Ok(arn) = &started {
            let key = format!("rerun:{arn}");
            if let Err(err) = table.set_thread(&key, &record.posted(), Utc::now()).await {
                tracing::warn!(error = %err, "could not record the re-run's thread");
            }
        }
        let told = reply::rerun(user, started.as_deref().map_err(String::as_str));
        self.reply_in_thread(work, record, &told, deadline).await;
        Ok(match started {
            Ok(arn) => format!("re-ran {}: {arn}", spec.task_definition),
            Err(why) => format!("re-run of {} failed: {why}", spec.task_definition),
        })
    }

    /// Whether `user` is one of the allowed users, or in one of the allowed user groups.
    async fn may_rerun(&self, work: &ButtonWork, user: &str, deadline: Instant) -> bool {
        if work.allowed.iter().any(|id| id == user) {
            return true;
        }
        for group in work.allowed.iter().filter(|id| id.starts_with('S')) {
            match work
                .api
                .group_members(&self.sinks.client, group, deadline)
                .await
            {
                Ok(members) if members.iter().any(|m| m == user) => return true,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(group = %group, error = %err, "could not list the user group")
                }
            }
        }
        false
    }

    /// Replies in the alert's thread.
    async fn reply_in_thread(
        &self,
        work: &ButtonWork,
        record: &AlertRecord,
        message: &Message,
        deadline: Instant,
    ) {
        if let Err(err) = work
            .api
            .reply(
                &self.sinks.client,
                &record.posted(),
                message,
                false,
                deadline,
            )
            .await
        {
            tracing::warn!(error = %err, alert = %record.id, "could not reply in the alert's thread");
        }
    }
}

/// A state table that did not answer: nothing was done.
fn unavailable(err: crate::state::StateError) -> Refusal {
    Refusal::Unavailable(err.to_string())
}
