//! Settings read once from the environment at start.

use std::time::Duration;

use thiserror::Error;

use crate::secret::Secret;

/// A setting with a value this function cannot use.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} must be {expected}, got `{value}`")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    /// For secrets: the value is never echoed.
    #[error("{name} must be {expected} (value not shown)")]
    InvalidSecret {
        name: &'static str,
        expected: &'static str,
    },
}

/// Where Datadog requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatadogSettings {
    pub api_key: Secret,
    /// `https://api.<DD_SITE>`, or `DD_API_URL`; no trailing slash.
    pub base_url: String,
}

/// Everything the function is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `SLACK_WEBHOOK_URL`; Slack is off without it.
    pub slack_webhook: Option<Secret>,
    /// `DD_API_KEY` (+ `DD_SITE`, `DD_API_URL`); Datadog is off without a key.
    pub datadog: Option<DatadogSettings>,
    /// `NOTIFY_ON_SUCCESS`: post successful job runs to Slack too.
    pub notify_on_success: bool,
    /// `HTTP_TIMEOUT_MS`: the longest one HTTP attempt may take.
    pub http_timeout: Duration,
}

/// The Datadog sites, for validation of `DD_SITE`.
pub const DATADOG_SITES: [&str; 7] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "datadoghq.eu",
    "ddog-gov.com",
];

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" => Ok(true),
        _ => Err(ConfigError::Invalid {
            name,
            expected: "true or false",
            value: value.to_string(),
        }),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let slack_webhook = match get("SLACK_WEBHOOK_URL") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(Secret::new(url))
            }
            Some(_) => {
                return Err(ConfigError::InvalidSecret {
                    name: "SLACK_WEBHOOK_URL",
                    expected: "an https:// URL",
                })
            }
            None => None,
        };

        let datadog = match get("DD_API_KEY") {
            None => None,
            Some(key) => {
                let base_url = match get("DD_API_URL") {
                    Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                        url.trim_end_matches('/').to_string()
                    }
                    Some(url) => {
                        return Err(ConfigError::Invalid {
                            name: "DD_API_URL",
                            expected: "an http(s):// URL",
                            value: url,
                        })
                    }
                    None => {
                        let site = get("DD_SITE").unwrap_or_else(|| "datadoghq.com".into());
                        if !DATADOG_SITES.contains(&site.as_str()) {
                            return Err(ConfigError::Invalid {
                                name: "DD_SITE",
                                expected: "a Datadog site such as datadoghq.com or datadoghq.eu",
                                value: site,
                            });
                        }
                        format!("https://api.{site}")
                    }
                };
                Some(DatadogSettings {
                    api_key: Secret::new(key),
                    base_url,
                })
            }
        };

        let notify_on_success = match get("NOTIFY_ON_SUCCESS") {
            Some(v) => parse_bool("NOTIFY_ON_SUCCESS", &v)?,
            None => false,
        };

        let http_timeout = match get("HTTP_TIMEOUT_MS") {
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "HTTP_TIMEOUT_MS",
                        expected: "a positive number of milliseconds",
                        value: v,
                    })
                }
            },
            None => Duration::from_secs(5),
        };

        Ok(Self {
            slack_webhook,
            datadog,
            notify_on_success,
            http_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_leave_sinks_off() {
        let c = config(&[]).unwrap();
        assert_eq!(c.slack_webhook, None);
        assert_eq!(c.datadog, None);
        assert!(!c.notify_on_success);
        assert_eq!(c.http_timeout, Duration::from_secs(5));
        assert_eq!(
            config(&[("SLACK_WEBHOOK_URL", "  ")])
                .unwrap()
                .slack_webhook,
            None
        );
    }

    #[test]
    fn datadog_site_and_override() {
        let c = config(&[("DD_API_KEY", "k"), ("DD_SITE", "datadoghq.eu")]).unwrap();
        assert_eq!(c.datadog.unwrap().base_url, "https://api.datadoghq.eu");
        let c = config(&[("DD_API_KEY", "k")]).unwrap();
        assert_eq!(c.datadog.unwrap().base_url, "https://api.datadoghq.com");
        let c = config(&[("DD_API_KEY", "k"), ("DD_API_URL", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(c.datadog.unwrap().base_url, "http://127.0.0.1:9");
        assert!(config(&[("DD_API_KEY", "k"), ("DD_SITE", "evil.example")]).is_err());
    }

    #[test]
    fn bad_secret_is_not_echoed() {
        let err = config(&[("SLACK_WEBHOOK_URL", "hooks-secret-token")]).unwrap_err();
        assert!(!err.to_string().contains("hooks-secret-token"), "{err}");
    }

    #[test]
    fn flags_and_timeouts() {
        assert!(
            config(&[("NOTIFY_ON_SUCCESS", "TRUE")])
                .unwrap()
                .notify_on_success
        );
        assert!(config(&[("NOTIFY_ON_SUCCESS", "maybe")]).is_err());
        assert!(config(&[("HTTP_TIMEOUT_MS", "0")]).is_err());
        assert_eq!(
            config(&[("HTTP_TIMEOUT_MS", "250")]).unwrap().http_timeout,
            Duration::from_millis(250)
        );
    }
}
