//! AWS clients (ECS, CloudWatch Logs, EventBridge Scheduler, Organizations), created lazily on
//! first use and kept per account and region; another account's through its role, assumed once
//! per account until the credentials near expiry ([`roles`]).

mod roles;

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use thiserror::Error;
use tokio::sync::{Mutex, OnceCell};

use roles::Roles;

/// The clients for one account and region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

/// A role that could not be assumed: missing, not trusting the function's role, or denied.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{role}: {reason}")]
pub struct AssumeError {
    pub role: String,
    /// The error code and message (`AccessDenied: User: … is not authorized …`).
    pub reason: String,
}

/// Clients kept with the access key they were built with (empty: the function's own).
type Kept<T> = (T, String);

/// Builds clients on first use: nothing AWS is loaded at start-up.
#[derive(Debug)]
pub struct Aws {
    base: OnceCell<SdkConfig>,
    /// `arn:aws:iam::{account}:role/…`: assumed for events from other accounts.
    role_pattern: Option<String>,
    clients: Mutex<HashMap<(String, String), Kept<Clients>>>,
    sts: OnceCell<aws_sdk_sts::Client>,
    roles: Roles,
    organizations: Mutex<Option<Kept<aws_sdk_organizations::Client>>>,
}

impl Aws {
    pub fn new(role_pattern: Option<String>) -> Self {
        Self::with_base(OnceCell::new(), role_pattern)
    }

    /// With a base configuration given instead of loaded from the environment (tests).
    pub fn with_config(config: SdkConfig, role_pattern: Option<String>) -> Self {
        Self::with_base(OnceCell::new_with(Some(config)), role_pattern)
    }

    fn with_base(base: OnceCell<SdkConfig>, role_pattern: Option<String>) -> Self {
        Self {
            base,
            role_pattern,
            clients: Mutex::new(HashMap::new()),
            sts: OnceCell::new(),
            roles: Roles::default(),
            organizations: Mutex::new(None),
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

    /// Credentials of `role` (`None`: the function's own, and none is needed).
    async fn assumed(&self, role: Option<&str>) -> Result<Option<Credentials>, AssumeError> {
        let Some(role) = role else {
            return Ok(None);
        };
        let base = self.base().await;
        let sts = self
            .sts
            .get_or_init(|| async { aws_sdk_sts::Client::new(base) })
            .await;
        self.roles.credentials(sts, role).await.map(Some)
    }

    /// Clients for `account` in `region` (the function's own region when empty); for another
    /// account, with its role's credentials, or why the role could not be assumed.
    pub async fn clients(
        &self,
        account: &str,
        region: &str,
        own_account: Option<&str>,
    ) -> Result<Clients, AssumeError> {
        let role = self.role_for(account, own_account);
        let credentials = self.assumed(role.as_deref()).await?;
        let used = credentials
            .as_ref()
            .map(|c| c.access_key_id().to_string())
            .unwrap_or_default();
        let key = (role.unwrap_or_default(), region.to_string());
        let mut cache = self.clients.lock().await;
        if let Some((clients, built_with)) = cache.get(&key) {
            if *built_with == used {
                return Ok(clients.clone());
            }
        }
        let clients = self.build(region, credentials).await;
        cache.insert(key, (clients.clone(), used));
        Ok(clients)
    }

    async fn build(&self, region: &str, credentials: Option<Credentials>) -> Clients {
        let base = self.base().await;
        let mut ecs = aws_sdk_ecs::config::Builder::from(base);
        let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(base);
        let mut scheduler = aws_sdk_scheduler::config::Builder::from(base);
        if !region.is_empty() {
            ecs = ecs.region(Region::new(region.to_string()));
            logs = logs.region(Region::new(region.to_string()));
            scheduler = scheduler.region(Region::new(region.to_string()));
        }
        if let Some(credentials) = credentials {
            let shared = SharedCredentialsProvider::new(credentials);
            ecs = ecs.credentials_provider(shared.clone());
            logs = logs.credentials_provider(shared.clone());
            scheduler = scheduler.credentials_provider(shared);
        }
        Clients {
            ecs: aws_sdk_ecs::Client::from_conf(ecs.build()),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler.build()),
        }
    }

    /// An AWS Organizations client: with `role`'s credentials (a role in the management
    /// account), else the function's own.
    pub async fn organizations(
        &self,
        role: Option<&str>,
    ) -> Result<aws_sdk_organizations::Client, AssumeError> {
        let credentials = self.assumed(role).await?;
        let used = credentials
            .as_ref()
            .map(|c| c.access_key_id().to_string())
            .unwrap_or_default();
        let mut kept = self.organizations.lock().await;
        if let Some((client, built_with)) = kept.as_ref() {
            if *built_with == used {
                return Ok(client.clone());
            }
        }
        let mut config = aws_sdk_organizations::config::Builder::from(self.base().await);
        if let Some(credentials) = credentials {
            config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
        }
        let client = aws_sdk_organizations::Client::from_conf(config.build());
        *kept = Some((client.clone(), used));
        Ok(client)
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

    /// Organizations is a global service: from any region of a partition, its one endpoint.
    #[tokio::test]
    async fn organizations_answers_at_its_global_endpoint_from_any_region() {
        use aws_sdk_organizations::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        for (region, url) in [
            ("eu-west-1", "https://organizations.us-east-1.amazonaws.com"),
            (
                "ap-southeast-2",
                "https://organizations.us-east-1.amazonaws.com",
            ),
            (
                "us-gov-east-1",
                "https://organizations.us-gov-west-1.amazonaws.com",
            ),
        ] {
            let params = Params::builder()
                .region(region)
                .use_fips(false)
                .use_dual_stack(false)
                .build()
                .unwrap();
            let endpoint = DefaultResolver::new()
                .resolve_endpoint(&params)
                .await
                .unwrap();
            assert_eq!(endpoint.url(), url, "{region}");
        }
    }
}
