//! AWS clients (ECS, CloudWatch Logs, EventBridge Scheduler), created lazily on first use and kept per account and region.

use std::collections::HashMap;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use tokio::sync::{Mutex, OnceCell};

/// The clients for one account and region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

/// Builds clients on first use: nothing AWS is loaded at start-up.
#[derive(Debug)]
pub struct Aws {
    base: OnceCell<SdkConfig>,
    /// `arn:aws:iam::{account}:role/…`: assumed for events from other accounts.
    role_pattern: Option<String>,
    clients: Mutex<HashMap<(String, String), Clients>>,
}

impl Aws {
    pub fn new(role_pattern: Option<String>) -> Self {
        Self {
            base: OnceCell::new(),
            role_pattern,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// With a base configuration given instead of loaded from the environment (tests).
    pub fn with_config(config: SdkConfig, role_pattern: Option<String>) -> Self {
        Self {
            base: OnceCell::new_with(Some(config)),
            role_pattern,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The base configuration, loaded from the environment on first use.
    pub async fn base(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await
            })
            .await
    }

    /// The role to assume for `account`, when it is not the function's own.
    pub fn role_for(&self, account: &str, own_account: Option<&str>) -> Option<String> {
        let pattern = self.role_pattern.as_deref()?;
        if account.is_empty() || Some(account) == own_account {
            return None;
        }
        Some(pattern.replace("{account}", account))
    }

    /// Clients for `account` in `region` (the function's own region when empty).
    pub async fn clients(&self, account: &str, region: &str, own_account: Option<&str>) -> Clients {
        let role = self.role_for(account, own_account);
        let key = (role.clone().unwrap_or_default(), region.to_string());
        let mut cache = self.clients.lock().await;
        if let Some(clients) = cache.get(&key) {
            return clients.clone();
        }
        let base = self.base().await;
        let mut ecs = aws_sdk_ecs::config::Builder::from(base);
        let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(base);
        let mut scheduler = aws_sdk_scheduler::config::Builder::from(base);
        if !region.is_empty() {
            ecs = ecs.region(Region::new(region.to_string()));
            logs = logs.region(Region::new(region.to_string()));
            scheduler = scheduler.region(Region::new(region.to_string()));
        }
        if let Some(role) = role {
            // The clients' identity cache keeps the assumed credentials until they expire.
            let provider = AssumeRoleProvider::builder(role)
                .session_name("ecs-notifier")
                .configure(base)
                .build()
                .await;
            let shared = aws_sdk_ecs::config::SharedCredentialsProvider::new(provider);
            ecs = ecs.credentials_provider(shared.clone());
            logs = logs.credentials_provider(shared.clone());
            scheduler = scheduler.credentials_provider(shared);
        }
        let clients = Clients {
            ecs: aws_sdk_ecs::Client::from_conf(ecs.build()),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler.build()),
        };
        cache.insert(key, clients.clone());
        clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumes_roles_only_for_other_accounts() {
        let aws = Aws::new(Some("arn:aws:iam::{account}:role/ecs-notifier-read".into()));
        assert_eq!(
            aws.role_for("210987654321", Some("123456789012"))
                .as_deref(),
            Some("arn:aws:iam::210987654321:role/ecs-notifier-read")
        );
        assert_eq!(aws.role_for("123456789012", Some("123456789012")), None);
        assert_eq!(aws.role_for("", Some("123456789012")), None);
        assert_eq!(Aws::new(None).role_for("210987654321", None), None);
    }
}
