//! Account names from AWS Organizations (`organizations:DescribeAccount`), cached for a day; an
//! account Organizations does not know (or may not tell) is asked again after an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use tokio::time::Instant;

use super::budget::{within, LookupError};
use super::Enricher;
use crate::state::memory::lock;

const OPERATION: &str = "organizations:DescribeAccount";
/// How long a name is kept (accounts are renamed rarely).
const KEEP: Duration = Duration::from_secs(86_400);
/// How long an account without a name is left alone.
const KEEP_NONE: Duration = Duration::from_secs(3_600);
/// Accounts remembered at most (an organization's, with room to spare).
const MAX: usize = 10_000;

/// The names found so far: `None` for an account Organizations gave none for.
#[derive(Debug, Default)]
pub struct Names {
    known: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl Names {
    fn get(&self, account: &str) -> Option<Option<String>> {
        let known = lock(&self.known);
        let (name, at) = known.get(account)?;
        let keep = if name.is_some() { KEEP } else { KEEP_NONE };
        (at.elapsed() < keep).then(|| name.clone())
    }

    fn put(&self, account: &str, name: Option<String>) {
        let mut known = lock(&self.known);
        if known.len() >= MAX {
            known.clear();
        }
        known.insert(account.to_string(), (name, Instant::now()));
    }
}

impl Enricher {
    /// The name of `account` in AWS Organizations, when the settings ask for it (and
    /// `ACCOUNT_NAMES` does not already name it); `Ok(None)` otherwise.
    pub async fn account_name(
        &self,
        account: &str,
        deadline: Instant,
    ) -> Result<Option<String>, LookupError> {
        let lookup = &self.settings.names;
        if !lookup.wants(account) {
            return Ok(None);
        }
        if let Some(known) = self.names.get(account) {
            return Ok(known);
        }
        let found = within(deadline, OPERATION, async {
            let client = self
                .aws
                .organizations(lookup.role.as_deref())
                .await
                .map_err(|err| LookupError::Failed {
                    operation: "sts:AssumeRole",
                    reason: err.to_string(),
                })?;
            match client.describe_account().account_id(account).send().await {
                Ok(out) => Ok(out.account().and_then(|a| a.name()).map(String::from)),
                // Not in the organization: no name, and no point asking again soon.
                Err(err) if err.code() == Some("AccountNotFoundException") => Ok(None),
                Err(err) => Err(LookupError::failed(OPERATION, &err)),
            }
        })
        .await;
        match &found {
            Ok(name) => self.names.put(account, name.clone()),
            // Denied (the function's account is neither the management account nor a
            // delegated administrator): the alerts go by id, and the log says why, hourly.
            Err(LookupError::Failed { .. }) => self.names.put(account, None),
            Err(_) => {}
        }
        found
    }
}
