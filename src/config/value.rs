//! What every settings reader shares: the setting error, secret settings and their names, URLs.

use thiserror::Error;

use super::secret::{Secret, SecretError, SecretRef};

/// Prefix of the variables that name extra Slack webhooks: `SLACK_WEBHOOK_URL_PAYMENTS` is the
/// route `payments`, chosen with the tag `ecs-notifier:slack=payments`.
pub const ROUTE_PREFIX: &str = "SLACK_WEBHOOK_URL_";
/// Suffix of settings that name where a secret is stored instead of holding it.
pub const SECRET_SUFFIX: &str = "_SECRET_ARN";

/// A setting with a value this function cannot use.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} must be {expected}, got `{value}`")]
    Invalid {
        name: String,
        expected: &'static str,
        value: String,
    },
    /// For secrets: the value is never echoed.
    #[error("{name} must be {expected} (value not shown)")]
    InvalidSecret {
        name: String,
        expected: &'static str,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
}

pub(super) fn invalid(name: &str, expected: &'static str, value: &str) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_string(),
        expected,
        value: value.to_string(),
    }
}

/// A secret: its value (from the environment, or read at start), or where to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSetting {
    Value(Secret),
    Stored {
        /// The `*_SECRET_ARN` variable, for errors.
        setting: String,
        reference: SecretRef,
    },
}

impl SecretSetting {
    /// The value, once known.
    pub fn value(&self) -> Option<&Secret> {
        match self {
            SecretSetting::Value(secret) => Some(secret),
            SecretSetting::Stored { .. } => None,
        }
    }
}

/// An `https://` URL, or an `http://` one to a loopback host (a test server, a local proxy):
/// anything else in clear would send a webhook's secret path, or a key, over the network.
pub(super) fn is_url(value: &str) -> bool {
    if value.starts_with("https://") && value.len() > "https://".len() {
        return true;
    }
    let Some(rest) = value.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_clear_only_to_this_machine() {
        for url in [
            "https://hooks.slack.com/services/x",
            "http://localhost:8080/services/x",
            "http://[::1]:9/x",
            "http://127.0.0.2/x",
        ] {
            assert!(is_url(url), "{url}");
        }
        for url in [
            "https://",
            "http://api.datadoghq.com",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example/x",
            "ftp://x",
        ] {
            assert!(!is_url(url), "{url}");
        }
    }
}
