//! Named Slack webhooks, the routes the tag `ecs-notifier:slack=<name>` picks: one variable per
//! route (`SLACK_WEBHOOK_URL_<NAME>`, or `…_<NAME>_SECRET_ARN`), or two lists in the same order
//! (`SLACK_WEBHOOK_ROUTE_NAMES`, `SLACK_WEBHOOK_ROUTE_SECRET_ARNS`), as the template sets them.

use std::collections::{BTreeMap, HashMap};

use super::filter::route_name;
use super::secret::SecretRef;
use super::value::{invalid, ConfigError, SecretSetting, ROUTE_PREFIX, SECRET_SUFFIX};

/// The names of routes listed in the template's form.
pub const ROUTE_NAMES: &str = "SLACK_WEBHOOK_ROUTE_NAMES";
/// Where each listed route's webhook URL is stored, in the order of `ROUTE_NAMES`.
pub const ROUTE_SECRET_ARNS: &str = "SLACK_WEBHOOK_ROUTE_SECRET_ARNS";

/// The settings that name one sink's webhooks: the per-route prefix and the template's two lists.
pub(super) struct RouteVars {
    pub prefix: &'static str,
    pub names: &'static str,
    pub secret_arns: &'static str,
}

/// Slack's named webhooks.
pub(super) const SLACK_ROUTES: RouteVars = RouteVars {
    prefix: ROUTE_PREFIX,
    names: ROUTE_NAMES,
    secret_arns: ROUTE_SECRET_ARNS,
};

/// Every named Slack webhook in `vars`; `webhook` reads one `SLACK_WEBHOOK_URL_<NAME>` setting.
pub(super) fn routes(
    vars: &HashMap<String, String>,
    webhook: &dyn Fn(&str) -> Result<Option<SecretSetting>, ConfigError>,
) -> Result<BTreeMap<String, SecretSetting>, ConfigError> {
    named(&SLACK_ROUTES, vars, webhook)
}

/// Every named webhook of `of` in `vars` (Slack's, Teams'); `webhook` reads one
/// `<prefix><NAME>` setting.
pub(super) fn named(
    of: &RouteVars,
    vars: &HashMap<String, String>,
    webhook: &dyn Fn(&str) -> Result<Option<SecretSetting>, ConfigError>,
) -> Result<BTreeMap<String, SecretSetting>, ConfigError> {
    let (prefix, names_var, arns_var) = (of.prefix, of.names, of.secret_arns);
    let mut routes = BTreeMap::new();
    for name in vars.keys() {
        let Some(route) = name.strip_prefix(prefix) else {
            continue;
        };
        let route = route.strip_suffix(SECRET_SUFFIX).unwrap_or(route);
        if route == "SECRET_ARN" || route.is_empty() {
            continue; // SLACK_WEBHOOK_URL_SECRET_ARN is the default webhook's secret
        }
        let key = route_name(&route.replace('_', "-")).ok_or_else(|| {
            invalid(
                "<prefix><NAME> (SLACK_WEBHOOK_URL_<NAME>, TEAMS_WEBHOOK_URL_<NAME>)",
                "a name of letters, digits and underscores",
                name,
            )
        })?;
        if let Some(setting) = webhook(&format!("{prefix}{route}"))? {
            routes.insert(key, setting);
        }
    }
    let list = |name: &str| -> Vec<String> {
        vars.get(name)
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (names, arns) = (list(names_var), list(arns_var));
    if names.len() != arns.len() {
        return Err(invalid(
            arns_var,
            "one secret ARN per route name, in the same order",
            &format!("{} names in {names_var}, {} ARNs", names.len(), arns.len()),
        ));
    }
    for (name, arn) in names.iter().zip(&arns) {
        let key = route_name(name)
            .ok_or_else(|| invalid(names_var, "names of letters, digits, - and _", name))?;
        let reference = SecretRef::parse(arn).ok_or_else(|| {
            invalid(
                arns_var,
                "Secrets Manager secret ARNs or SSM parameter ARNs",
                arn,
            )
        })?;
        // Named as the per-route variable would be, so that errors (and the check that the
        // secret holds a URL) read the same.
        let setting = format!(
            "{prefix}{}{SECRET_SUFFIX}",
            key.to_ascii_uppercase().replace('-', "_")
        );
        routes.insert(key, SecretSetting::Stored { setting, reference });
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn config(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn routes_from_the_templates_lists() {
        let c = config(&[
            ("SLACK_WEBHOOK_ROUTE_NAMES", "payments, data-eng"),
            (
                "SLACK_WEBHOOK_ROUTE_SECRET_ARNS",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pay-AbCdEf,arn:aws:ssm:eu-west-1:123456789012:parameter/hooks/data",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.slack_routes.keys().collect::<Vec<_>>(),
            ["data-eng", "payments"]
        );
        assert_eq!(
            c.stored_secrets(),
            [
                "SLACK_WEBHOOK_URL_DATA_ENG_SECRET_ARN",
                "SLACK_WEBHOOK_URL_PAYMENTS_SECRET_ARN"
            ]
        );
        // Lists that do not pair up, or hold something else, are refused at start.
        assert!(config(&[
            ("SLACK_WEBHOOK_ROUTE_NAMES", "a,b"),
            ("SLACK_WEBHOOK_ROUTE_SECRET_ARNS", "ssm:/x")
        ])
        .is_err());
        assert!(config(&[
            ("SLACK_WEBHOOK_ROUTE_NAMES", "a b"),
            ("SLACK_WEBHOOK_ROUTE_SECRET_ARNS", "ssm:/x")
        ])
        .is_err());
        assert!(config(&[
            ("SLACK_WEBHOOK_ROUTE_NAMES", "a"),
            (
                "SLACK_WEBHOOK_ROUTE_SECRET_ARNS",
                "https://hooks.slack.com/x"
            )
        ])
        .is_err());
    }
}
