//! The Teams settings: a default Workflow URL (`TEAMS_WEBHOOK_URL`, or `…_SECRET_ARN`) and named
//! Workflows for the routing tags (`TEAMS_WEBHOOK_URL_<NAME>`, or the template's two lists
//! `TEAMS_WEBHOOK_ROUTE_NAMES`, `TEAMS_WEBHOOK_ROUTE_SECRET_ARNS`). Each URL is a secret: it
//! carries the Workflow's signature.

use std::collections::{BTreeMap, HashMap};

use super::routes::{named, RouteVars};
use super::value::{ConfigError, SecretSetting};

/// The default Workflow's URL (or, with `_SECRET_ARN`, where it is stored).
pub const TEAMS_WEBHOOK_URL: &str = "TEAMS_WEBHOOK_URL";

/// Teams' named Workflows.
const TEAMS_ROUTES: RouteVars = RouteVars {
    prefix: "TEAMS_WEBHOOK_URL_",
    names: "TEAMS_WEBHOOK_ROUTE_NAMES",
    secret_arns: "TEAMS_WEBHOOK_ROUTE_SECRET_ARNS",
};

/// Where Teams cards go; Teams is off when both are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamsSettings {
    /// `TEAMS_WEBHOOK_URL` (or `…_SECRET_ARN`).
    pub default: Option<SecretSetting>,
    /// `TEAMS_WEBHOOK_URL_<NAME>` (or `…_<NAME>_SECRET_ARN`): Workflows the tags can route to.
    pub routes: BTreeMap<String, SecretSetting>,
}

impl TeamsSettings {
    /// Whether any Workflow is configured.
    pub fn is_on(&self) -> bool {
        self.default.is_some() || !self.routes.is_empty()
    }
}

/// The Teams settings in `vars`; `webhook` reads one URL setting (a secret that, given by
/// value, must be an `https://` URL).
pub(super) fn teams(
    vars: &HashMap<String, String>,
    webhook: &dyn Fn(&str) -> Result<Option<SecretSetting>, ConfigError>,
) -> Result<TeamsSettings, ConfigError> {
    Ok(TeamsSettings {
        default: webhook(TEAMS_WEBHOOK_URL)?,
        routes: named(&TEAMS_ROUTES, vars, webhook)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    const URL: &str = "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1gnatur3";

    #[test]
    fn a_default_workflow_and_named_ones() {
        let c = config(&[
            ("TEAMS_WEBHOOK_URL", URL),
            ("TEAMS_WEBHOOK_URL_PAYMENTS", URL),
            ("TEAMS_WEBHOOK_ROUTE_NAMES", "data-eng"),
            (
                "TEAMS_WEBHOOK_ROUTE_SECRET_ARNS",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/teams/data",
            ),
        ])
        .unwrap();
        assert!(c.teams.is_on());
        assert_eq!(
            c.teams.routes.keys().collect::<Vec<_>>(),
            ["data-eng", "payments"]
        );
        assert_eq!(
            c.stored_secrets(),
            ["TEAMS_WEBHOOK_URL_DATA_ENG_SECRET_ARN"]
        );
        // The Slack settings are untouched by Teams'.
        assert!(c.slack_routes.is_empty() && c.slack_webhook.is_none());
    }

    #[test]
    fn https_only_and_never_echoed() {
        let err =
            config(&[("TEAMS_WEBHOOK_URL", "http://example.com/x?sig=S1gnatur3")]).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidSecret { .. }), "{err}");
        assert!(!err.to_string().contains("S1gnatur3"), "{err}");
        let c = config(&[("TEAMS_WEBHOOK_URL", URL)]).unwrap();
        assert!(!format!("{c:?}").contains("S1gnatur3"));
        let err = config(&[("TEAMS_WEBHOOK_URL_SECRET_ARN", "https://x")]).unwrap_err();
        assert!(
            err.to_string().contains("TEAMS_WEBHOOK_URL_SECRET_ARN"),
            "{err}"
        );
        assert!(config(&[
            ("TEAMS_WEBHOOK_ROUTE_NAMES", "a,b"),
            ("TEAMS_WEBHOOK_ROUTE_SECRET_ARNS", "ssm:/x")
        ])
        .is_err());
    }
}
