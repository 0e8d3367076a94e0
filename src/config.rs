//! Settings read once from the environment at start.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use thiserror::Error;

use crate::enricher::EnrichSettings;
use crate::routing::{route_name, Filter};
use crate::secret::Secret;

/// Prefix of the variables that name extra Slack webhooks: `SLACK_WEBHOOK_URL_PAYMENTS` is the
/// route `payments`, chosen with the tag `ecs-notifier:slack=payments`.
pub const ROUTE_PREFIX: &str = "SLACK_WEBHOOK_URL_";

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
    /// `SLACK_WEBHOOK_URL_<NAME>`: webhooks that tags can route to, by lower-case name.
    pub slack_routes: BTreeMap<String, Secret>,
    /// `ENRICHMENT`: read the ECS and CloudWatch Logs APIs (default on).
    pub enrichment: bool,
    /// `ENRICH_BUDGET_MS`, `LOG_LINES`.
    pub enrich: EnrichSettings,
    /// `ENRICH_ROLE_ARN`: role pattern with `{account}`, assumed for events of other accounts.
    pub enrich_role: Option<String>,
    /// `INCLUDE_CLUSTERS`, `EXCLUDE_CLUSTERS`, `INCLUDE_NAMES`, `EXCLUDE_NAMES`.
    pub filter: Filter,
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
        "" | "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
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
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from name/value pairs (the environment, or a list in tests). Empty values
    /// count as unset.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let get = |name: &str| vars.get(name).cloned();
        let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                Some(v) => match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                    _ => Err(ConfigError::Invalid {
                        name,
                        expected: "a positive number of milliseconds",
                        value: v,
                    }),
                },
                None => Ok(Duration::from_millis(default)),
            }
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

        let http_timeout = millis("HTTP_TIMEOUT_MS", 5000)?;

        let mut slack_routes = BTreeMap::new();
        for (name, value) in &vars {
            let Some(route) = name.strip_prefix(ROUTE_PREFIX) else {
                continue;
            };
            let route = route_name(&route.replace('_', "-")).ok_or(ConfigError::Invalid {
                name: "SLACK_WEBHOOK_URL_<NAME>",
                expected: "a name of letters, digits and underscores",
                value: name.clone(),
            })?;
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                return Err(ConfigError::InvalidSecret {
                    name: "SLACK_WEBHOOK_URL_<NAME>",
                    expected: "an https:// URL",
                });
            }
            slack_routes.insert(route, Secret::new(value.clone()));
        }

        let enrichment = match get("ENRICHMENT") {
            Some(v) => parse_bool("ENRICHMENT", &v)?,
            None => true,
        };
        let log_lines = match get("LOG_LINES") {
            Some(v) => v.parse::<u32>().map_err(|_| ConfigError::Invalid {
                name: "LOG_LINES",
                expected: "a number of lines (0 turns log lines off)",
                value: v.clone(),
            })?,
            None => 10,
        };
        let enrich = EnrichSettings {
            budget: millis("ENRICH_BUDGET_MS", 2000)?,
            log_lines,
        };
        let enrich_role = match get("ENRICH_ROLE_ARN") {
            Some(v) if v.starts_with("arn:") && v.contains("{account}") => Some(v),
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "ENRICH_ROLE_ARN",
                    expected: "a role ARN pattern with {account}, e.g. arn:aws:iam::{account}:role/ecs-notifier-read",
                    value: v,
                })
            }
            None => None,
        };
        let filter = Filter::new(
            get("INCLUDE_CLUSTERS").as_deref(),
            get("EXCLUDE_CLUSTERS").as_deref(),
            get("INCLUDE_NAMES").as_deref(),
            get("EXCLUDE_NAMES").as_deref(),
        );

        Ok(Self {
            slack_webhook,
            datadog,
            notify_on_success,
            http_timeout,
            slack_routes,
            enrichment,
            enrich,
            enrich_role,
            filter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
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
    fn routes_enrichment_and_filter() {
        let c = config(&[
            ("SLACK_WEBHOOK_URL_PAYMENTS_TEAM", "https://hooks.example/a"),
            ("ENRICH_ROLE_ARN", "arn:aws:iam::{account}:role/read"),
            ("LOG_LINES", "0"),
            ("INCLUDE_CLUSTERS", "prod-*"),
        ])
        .unwrap();
        assert_eq!(c.slack_routes.keys().collect::<Vec<_>>(), ["payments-team"]);
        assert!(c.enrichment);
        assert_eq!(c.enrich.log_lines, 0);
        assert_eq!(c.enrich.budget, Duration::from_secs(2));
        assert!(!c.filter.admits("staging", "x"));
        assert!(config(&[("ENRICH_ROLE_ARN", "arn:aws:iam::1:role/read")]).is_err());
        assert!(!config(&[("ENRICHMENT", "off")]).unwrap().enrichment);
        let err = config(&[("SLACK_WEBHOOK_URL_X", "route-secret")]).unwrap_err();
        assert!(!err.to_string().contains("route-secret"));
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
