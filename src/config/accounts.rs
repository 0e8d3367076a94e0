//! The AWS accounts one function serves and what it calls them: names (`ACCOUNT_NAMES`, or AWS
//! Organizations), a Slack route or channel per account (`ACCOUNT_ROUTES`, `ACCOUNT_CHANNELS`).

use std::collections::BTreeMap;

use super::filter::route_name;
use super::value::{invalid, ConfigError};

/// `ACCOUNT_NAMES`: `123456789012=prod-payments,210987654321=staging`.
pub const ACCOUNT_NAMES: &str = "ACCOUNT_NAMES";
/// `ACCOUNT_ROUTES`: an account's alerts go to a named webhook, `123456789012=payments`.
pub const ACCOUNT_ROUTES: &str = "ACCOUNT_ROUTES";
/// `ACCOUNT_CHANNELS`: an account's alerts go to a channel (Slack app mode).
pub const ACCOUNT_CHANNELS: &str = "ACCOUNT_CHANNELS";
/// `ACCOUNT_NAMES_FROM_ORGANIZATIONS`: read names with `organizations:DescribeAccount`.
pub const NAMES_FROM_ORGANIZATIONS: &str = "ACCOUNT_NAMES_FROM_ORGANIZATIONS";
/// `ORGANIZATIONS_ROLE_ARN`: a role to assume for `organizations:DescribeAccount`.
pub const ORGANIZATIONS_ROLE_ARN: &str = "ORGANIZATIONS_ROLE_ARN";

/// Longest account name AWS Organizations allows.
const NAME_MAX: usize = 50;

/// The accounts the function serves, as the judge names and routes their events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// Account id → the name people know it by (wins over the name in AWS Organizations).
    pub names: BTreeMap<String, String>,
    /// Account id → the route name of a webhook (`SLACK_WEBHOOK_URL_<NAME>`).
    pub routes: BTreeMap<String, String>,
    /// Account id → a channel (name without `#`, or id), in Slack app mode.
    pub channels: BTreeMap<String, String>,
    /// Events of several accounts reach the function (`ENRICH_ROLE_ARN` is set): every alert
    /// names its account, by its id when no name is known.
    pub several: bool,
}

impl Accounts {
    /// The name set for `account`.
    pub fn name(&self, account: &str) -> Option<&str> {
        self.names.get(account).map(String::as_str)
    }
}

/// How account names are read from AWS Organizations, for the enricher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameLookup {
    /// `ACCOUNT_NAMES_FROM_ORGANIZATIONS`.
    pub organizations: bool,
    /// `ORGANIZATIONS_ROLE_ARN`: assumed for the call; else the function's own role makes it.
    pub role: Option<String>,
    /// The accounts `ACCOUNT_NAMES` already names: never looked up.
    pub named: Vec<String>,
}

impl NameLookup {
    /// Whether `account`'s name is read from AWS Organizations.
    pub fn wants(&self, account: &str) -> bool {
        self.organizations && is_account(account) && !self.named.iter().any(|a| a == account)
    }
}

/// A 12-digit AWS account id.
pub fn is_account(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// `id=value,id=value`, each value checked by `value` (its canonical form, or `None`).
fn pairs(
    name: &str,
    text: Option<String>,
    expected: &'static str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    let Some(text) = text else {
        return Ok(out);
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = part
            .split_once('=')
            .map(|(id, v)| (id.trim(), v.trim()))
            .filter(|(id, _)| is_account(id))
            .and_then(|(id, v)| Some((id.to_string(), value(v)?)));
        match parsed {
            Some((id, v)) => {
                out.insert(id, v);
            }
            None => return Err(invalid(name, expected, part)),
        }
    }
    Ok(out)
}

fn account_name(value: &str) -> Option<String> {
    (!value.is_empty() && value.chars().count() <= NAME_MAX && !value.contains('='))
        .then(|| value.to_string())
}

fn channel(value: &str) -> Option<String> {
    let channel = value.trim_start_matches('#');
    (!channel.is_empty()
        && channel.len() <= 80
        && channel
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| channel.to_string())
}

/// `ACCOUNT_NAMES`, `ACCOUNT_ROUTES`, `ACCOUNT_CHANNELS`, `ACCOUNT_NAMES_FROM_ORGANIZATIONS` and
/// `ORGANIZATIONS_ROLE_ARN`, read with `get`; `several` when events come from other accounts.
pub fn accounts(
    get: &dyn Fn(&str) -> Option<String>,
    organizations: bool,
    several: bool,
) -> Result<(Accounts, NameLookup), ConfigError> {
    let names = pairs(
        ACCOUNT_NAMES,
        get(ACCOUNT_NAMES),
        "12-digit-account=name pairs, comma-separated (names of at most 50 characters)",
        account_name,
    )?;
    let routes = pairs(
        ACCOUNT_ROUTES,
        get(ACCOUNT_ROUTES),
        "12-digit-account=route pairs, comma-separated (routes of letters, digits, - and _)",
        route_name,
    )?;
    let channels = pairs(
        ACCOUNT_CHANNELS,
        get(ACCOUNT_CHANNELS),
        "12-digit-account=channel pairs, comma-separated (a channel name without # or an id)",
        channel,
    )?;
    let role = match get(ORGANIZATIONS_ROLE_ARN) {
        Some(v) if v.starts_with("arn:") && v.contains(":role/") => Some(v),
        Some(v) => return Err(invalid(ORGANIZATIONS_ROLE_ARN, "a role ARN", &v)),
        None => None,
    };
    let lookup = NameLookup {
        organizations,
        role,
        named: names.keys().cloned().collect(),
    };
    let accounts = Accounts {
        names,
        routes,
        channels,
        several,
    };
    Ok((accounts, lookup))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<(Accounts, NameLookup), ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        accounts(&get, true, false)
    }

    #[test]
    fn names_routes_and_channels_by_account() {
        let (accounts, lookup) = read(&[
            (
                ACCOUNT_NAMES,
                "123456789012=prod-payments, 210987654321 = Data Platform",
            ),
            (ACCOUNT_ROUTES, "123456789012=Payments"),
            (ACCOUNT_CHANNELS, "210987654321=#data-alerts"),
        ])
        .unwrap();
        assert_eq!(accounts.name("123456789012"), Some("prod-payments"));
        assert_eq!(accounts.name("210987654321"), Some("Data Platform"));
        assert_eq!(accounts.routes["123456789012"], "payments");
        assert_eq!(accounts.channels["210987654321"], "data-alerts");
        assert!(!lookup.wants("123456789012"), "named by the mapping");
        assert!(lookup.wants("111122223333"));
        assert!(!lookup.wants("not-an-account"));
        assert_eq!(read(&[]).unwrap().0, Accounts::default());
    }

    #[test]
    fn bad_pairs_name_the_setting() {
        for (name, value) in [
            (ACCOUNT_NAMES, "12345=short"),
            (ACCOUNT_NAMES, "123456789012"),
            (ACCOUNT_NAMES, "123456789012="),
            (ACCOUNT_ROUTES, "123456789012=a b"),
            (ACCOUNT_CHANNELS, "123456789012=#"),
            (ORGANIZATIONS_ROLE_ARN, "not-a-role"),
        ] {
            let err = read(&[(name, value)]).unwrap_err().to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }
}
