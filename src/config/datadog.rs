//! The Datadog settings: the keys, the site, and where each API is reached.

use super::value::{invalid, is_url, ConfigError, SecretSetting};

/// The Datadog sites, for validation of `DD_SITE`.
pub const DATADOG_SITES: [&str; 9] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "datadoghq.eu",
    "ddog-gov.com",
    "us2.ddog-gov.com",
];

/// Where Datadog requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatadogSettings {
    pub api_key: SecretSetting,
    /// `DD_APP_KEY` (or `…_SECRET_ARN`): with it, deployments go to Change Tracking as change
    /// events (`/api/v2/events` takes only requests with both keys); without it, as v1 events.
    pub app_key: Option<SecretSetting>,
    /// `https://api.<DD_SITE>`, or `DD_API_URL`; no trailing slash.
    pub base_url: String,
    /// Where change events go: `https://event-management-intake.<DD_SITE>`, or `DD_API_URL`.
    pub events_url: String,
}

/// The Datadog settings, when `DD_API_KEY` (or `DD_API_KEY_SECRET_ARN`) is set; `get` reads a
/// setting, `secret` a secret setting.
pub(super) fn datadog(
    get: &dyn Fn(&str) -> Option<String>,
    secret: &dyn Fn(&str) -> Result<Option<SecretSetting>, ConfigError>,
) -> Result<Option<DatadogSettings>, ConfigError> {
    let Some(api_key) = secret("DD_API_KEY")? else {
        return Ok(None);
    };
    let app_key = secret("DD_APP_KEY")?;
    let (base_url, events_url) = match get("DD_API_URL") {
        Some(url) if is_url(&url) => {
            let url = url.trim_end_matches('/').to_string();
            (url.clone(), url)
        }
        Some(url) => {
            return Err(invalid(
                "DD_API_URL",
                "an https:// URL (http:// only to a loopback host)",
                &url,
            ))
        }
        None => {
            let site = get("DD_SITE").unwrap_or_else(|| "datadoghq.com".into());
            if !DATADOG_SITES.contains(&site.as_str()) {
                return Err(invalid(
                    "DD_SITE",
                    "a Datadog site such as datadoghq.com or datadoghq.eu",
                    &site,
                ));
            }
            (
                format!("https://api.{site}"),
                format!("https://event-management-intake.{site}"),
            )
        }
    };
    Ok(Some(DatadogSettings {
        api_key,
        app_key,
        base_url,
        events_url,
    }))
}
