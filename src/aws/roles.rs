//! The credentials of roles assumed in other accounts: one `sts:AssumeRole` per role until they
//! near expiry, and a failure remembered a few minutes (told once in the log, not per event).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_ecs::config::Credentials;
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::AssumeError;

/// Credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// A role that could not be assumed is tried again after this long.
pub const RETRY_AFTER: Duration = Duration::from_secs(300);
/// The session name CloudTrail shows for the calls made with the role.
const SESSION: &str = "ecs-notifier";

/// What is held for one role.
#[derive(Debug, Clone)]
enum Held {
    Fresh(Credentials, SystemTime),
    Failed(AssumeError, Instant),
}

/// Every role's credentials, each behind its own lock: two events of one account assume its
/// role once, and one account's slow answer does not hold up another's.
#[derive(Debug, Default)]
pub(super) struct Roles {
    held: Mutex<HashMap<String, Arc<Mutex<Option<Held>>>>>,
}

impl Roles {
    /// Credentials of `role`: held ones while fresh, else assumed now with `sts`.
    pub(super) async fn credentials(
        &self,
        sts: &aws_sdk_sts::Client,
        role: &str,
    ) -> Result<Credentials, AssumeError> {
        let slot = {
            let mut held = self.held.lock().await;
            held.entry(role.to_string()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        match &*slot {
            Some(Held::Fresh(credentials, expiry))
                if *expiry > SystemTime::now() + RENEW_BEFORE =>
            {
                return Ok(credentials.clone())
            }
            Some(Held::Failed(err, at)) if at.elapsed() < RETRY_AFTER => return Err(err.clone()),
            _ => {}
        }
        match assume(sts, role).await {
            Ok((credentials, expiry)) => {
                *slot = Some(Held::Fresh(credentials.clone(), expiry));
                Ok(credentials)
            }
            Err(err) => {
                tracing::warn!(
                    role = %role, error = %err.reason,
                    "cannot assume {role}: events of its account go out without enrichment (tried again in {} minutes)",
                    RETRY_AFTER.as_secs() / 60
                );
                *slot = Some(Held::Failed(err.clone(), Instant::now()));
                Err(err)
            }
        }
    }
}

/// One `sts:AssumeRole` call: the credentials and when they expire.
async fn assume(
    sts: &aws_sdk_sts::Client,
    role: &str,
) -> Result<(Credentials, SystemTime), AssumeError> {
    let failed = |reason: String| AssumeError {
        role: role.to_string(),
        reason,
    };
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(SESSION)
        .send()
        .await
        .map_err(|err| {
            failed(match err.code() {
                Some(code) => match err.message() {
                    Some(message) => format!("{code}: {message}"),
                    None => code.to_string(),
                },
                None => DisplayErrorContext(&err).to_string(),
            })
        })?;
    let given = out
        .credentials()
        .ok_or_else(|| failed("the answer holds no credentials".into()))?;
    let expiry = SystemTime::try_from(*given.expiration())
        .unwrap_or_else(|_| SystemTime::now() + RENEW_BEFORE * 2);
    let credentials = Credentials::new(
        given.access_key_id(),
        given.secret_access_key(),
        Some(given.session_token().to_string()),
        Some(expiry),
        "sts:AssumeRole",
    );
    Ok((credentials, expiry))
}
