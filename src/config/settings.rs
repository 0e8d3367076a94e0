//! The settings, read once from the environment at start: sinks, enrichment, filters, flood
//! control, backlogs and replays, the state table; secrets by value or by where they are stored.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::accounts::{accounts, Accounts, NameLookup, NAMES_FROM_ORGANIZATIONS};
use super::buttons::{buttons, ButtonSettings};
use super::datadog::{datadog, DatadogSettings};
use super::duration;
use super::filter::Filter;
use super::grouping::grouping;
use super::routes::routes;
use super::secret::{Secret, SecretRef};
use super::teams::{teams, TeamsSettings};
use super::value::{invalid, is_url, ConfigError, SecretSetting, SECRET_SUFFIX};

/// Slack app mode: `chat.postMessage` with a bot token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackBotSettings {
    pub token: SecretSetting,
    /// `SLACK_CHANNEL`: the default channel (name without `#`, or id).
    pub channel: String,
    /// `SLACK_API_URL`, default `https://slack.com/api`.
    pub api_url: String,
}

/// How much enrichment may cost, and what it looks up besides the event's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichSettings {
    /// All calls for one event together.
    pub budget: Duration,
    /// Last log lines per failed container; 0 turns log reading off.
    pub log_lines: u32,
    /// Account names read from AWS Organizations.
    pub names: NameLookup,
}

impl Default for EnrichSettings {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(2),
            log_lines: 10,
            names: NameLookup::default(),
        }
    }
}

/// What the events of an archive replay (`replay-name`) post (`REPLAY`). Either way they count
/// nothing in Datadog again, and take no part in flood control or incident groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Replay {
    /// One message per replay, to the default Slack destination, once it has stopped arriving.
    #[default]
    Digest,
    /// Nothing.
    Quiet,
}

/// Everything the function is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `SLACK_WEBHOOK_URL` (or `…_SECRET_ARN`); Slack is off without it or a bot token.
    pub slack_webhook: Option<SecretSetting>,
    /// `SLACK_WEBHOOK_URL_<NAME>` (or `…_<NAME>_SECRET_ARN`): webhooks tags can route to.
    pub slack_routes: BTreeMap<String, SecretSetting>,
    /// `SLACK_BOT_TOKEN` (or `…_SECRET_ARN`) with `SLACK_CHANNEL`; takes precedence over webhooks.
    pub slack_bot: Option<SlackBotSettings>,
    /// `TEAMS_WEBHOOK_URL` and `TEAMS_WEBHOOK_URL_<NAME>` (or `…_SECRET_ARN`): Teams Workflows.
    pub teams: TeamsSettings,
    /// `DD_API_KEY` (or `…_SECRET_ARN`) with `DD_SITE`, `DD_API_URL`; Datadog is off without it.
    pub datadog: Option<DatadogSettings>,
    /// `NOTIFY_ON_SUCCESS`: post successful job runs to Slack too.
    pub notify_on_success: bool,
    /// `NOTIFY_ON_STOP_TIMEOUT`: post a notice when a service task had to be killed after its
    /// stop timeout on a deployment or scale-in.
    pub notify_on_stop_timeout: bool,
    /// `HTTP_TIMEOUT_MS`: the longest one HTTP attempt may take.
    pub http_timeout: Duration,
    /// `ENRICHMENT`: read the ECS and CloudWatch Logs APIs (default on).
    pub enrichment: bool,
    /// `ENRICH_BUDGET_MS`, `LOG_LINES`.
    pub enrich: EnrichSettings,
    /// `ENRICH_ROLE_ARN`: role pattern with `{account}`, assumed for events of other accounts.
    pub enrich_role: Option<String>,
    /// `INCLUDE_CLUSTERS`, `EXCLUDE_CLUSTERS`, `INCLUDE_NAMES`, `EXCLUDE_NAMES`.
    pub filter: Filter,
    /// `FLOOD_WINDOW_SECONDS` (default 600; 0 turns flood control off).
    pub flood_window: Duration,
    /// `GROUP_WINDOW_SECONDS` (default 300; 0 turns grouping off): how long an incident's
    /// group stays open from its first failure.
    pub group_window: Duration,
    /// `GROUP_THRESHOLD` (default 2): services of one account, cluster and cause that alert on
    /// their own in a window before the others are grouped into one message.
    pub group_threshold: usize,
    /// `BACKLOG_AFTER_SECONDS` (default 300): events that arrive longer than this after they
    /// happened are a backlog's; a backlog's incident window is told once none of its failures
    /// has arrived for as long.
    pub backlog_after: Duration,
    /// `REPLAY` (default `digest`): what an archive replay's events post.
    pub replay: Replay,
    /// `STATE_TABLE`: the DynamoDB table shared by all instances (optional).
    pub state_table: Option<String>,
    /// `EXPECT_GRACE` (default `15m`): how late a job tagged `ecs-notifier:expect-every` may
    /// finish before its run counts as missed.
    pub expect_grace: Duration,
    /// `ACCOUNT_NAMES`, `ACCOUNT_ROUTES`, `ACCOUNT_CHANNELS`: what alerts call each account,
    /// and where an account's alerts go.
    pub accounts: Accounts,
    /// `AWS_REGION`: the function's region (alerts name an event's region when it differs).
    pub region: Option<String>,
    /// `SLACK_SIGNING_SECRET` (or `…_ARN`), `RERUN_ALLOWED`, `SILENCE_DURATIONS`: buttons on
    /// failure alerts (app mode, with the state table).
    pub buttons: Option<ButtonSettings>,
}

/// A true/false setting: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off` (any case).
pub fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(invalid(name, "true or false", value)),
    }
}

/// The settings as name/value pairs, trimmed, without the empty ones (unset).
struct Vars(HashMap<String, String>);

impl Vars {
    fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            vars.into_iter()
                .map(|(k, v)| (k, v.trim().to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A true/false setting, `default` when unset.
    fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            Some(v) => parse_bool(name, &v),
            None => Ok(default),
        }
    }

    /// A positive number of milliseconds, `default` when unset.
    fn millis(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        match self.get(name) {
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                _ => Err(invalid(name, "a positive number of milliseconds", &v)),
            },
            None => Ok(Duration::from_millis(default)),
        }
    }

    /// `NAME` holds the secret; `NAME_SECRET_ARN` says where it is stored (and wins).
    fn secret(&self, name: &str) -> Result<Option<SecretSetting>, ConfigError> {
        let stored = format!("{name}{SECRET_SUFFIX}");
        if let Some(reference) = self.get(&stored) {
            let parsed = SecretRef::parse(&reference).ok_or_else(|| {
                invalid(
                    &stored,
                    "a Secrets Manager secret ARN, an SSM parameter ARN, or ssm:/parameter/name",
                    &reference,
                )
            })?;
            return Ok(Some(SecretSetting::Stored {
                setting: stored,
                reference: parsed,
            }));
        }
        Ok(self.get(name).map(|v| SecretSetting::Value(Secret::new(v))))
    }

    /// A webhook: a secret that, given by value, must be a URL.
    fn webhook(&self, name: &str) -> Result<Option<SecretSetting>, ConfigError> {
        let setting = self.secret(name)?;
        if let Some(SecretSetting::Value(url)) = &setting {
            if !is_url(url.expose()) {
                return Err(ConfigError::InvalidSecret {
                    name: name.to_string(),
                    expected: "an https:// URL (http:// only to a loopback host)",
                });
            }
        }
        Ok(setting)
    }
}

/// Slack app mode, when `SLACK_BOT_TOKEN` (or `…_SECRET_ARN`) is set: it needs `SLACK_CHANNEL`.
fn slack_bot(vars: &Vars) -> Result<Option<SlackBotSettings>, ConfigError> {
    let Some(token) = vars.secret("SLACK_BOT_TOKEN")? else {
        return Ok(None);
    };
    let channel = vars
        .get("SLACK_CHANNEL")
        .map(|c| c.trim_start_matches('#').to_string())
        .ok_or_else(|| {
            invalid(
                "SLACK_CHANNEL",
                "a channel name or id (required with SLACK_BOT_TOKEN)",
                "",
            )
        })?;
    let api_url = match vars.get("SLACK_API_URL") {
        Some(url) if is_url(&url) => url.trim_end_matches('/').to_string(),
        Some(url) => {
            return Err(invalid(
                "SLACK_API_URL",
                "an https:// URL (http:// only to a loopback host)",
                &url,
            ))
        }
        None => "https://slack.com/api".to_string(),
    };
    Ok(Some(SlackBotSettings {
        token,
        channel,
        api_url,
    }))
}

/// `ENRICHMENT` (default on), `LOG_LINES` and `ENRICH_BUDGET_MS`, and `ENRICH_ROLE_ARN`; the
/// accounts' names, routes and channels.
fn enrichment(
    vars: &Vars,
) -> Result<(bool, EnrichSettings, Option<String>, Accounts), ConfigError> {
    let enrichment = vars.flag("ENRICHMENT", true)?;
    let log_lines = match vars.get("LOG_LINES") {
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| invalid("LOG_LINES", "a number of lines (0 turns log lines off)", &v))?,
        None => 10,
    };
    let budget = vars.millis("ENRICH_BUDGET_MS", 2000)?;
    let role = match vars.get("ENRICH_ROLE_ARN") {
        Some(v) if v.starts_with("arn:") && v.contains("{account}") => Some(v),
        Some(v) => return Err(invalid(
            "ENRICH_ROLE_ARN",
            "a role ARN pattern with {account}, e.g. arn:aws:iam::{account}:role/ecs-notifier-read",
            &v,
        )),
        None => None,
    };
    let organizations = vars.flag(NAMES_FROM_ORGANIZATIONS, false)?;
    let (accounts, names) = accounts(&|name| vars.get(name), organizations, role.is_some())?;
    let enrich = EnrichSettings {
        budget,
        log_lines,
        names,
    };
    Ok((enrichment, enrich, role, accounts))
}

/// `INCLUDE_CLUSTERS`, `EXCLUDE_CLUSTERS`, `INCLUDE_NAMES`, `EXCLUDE_NAMES`.
fn filter(vars: &Vars) -> Filter {
    Filter::new(
        vars.get("INCLUDE_CLUSTERS").as_deref(),
        vars.get("EXCLUDE_CLUSTERS").as_deref(),
        vars.get("INCLUDE_NAMES").as_deref(),
        vars.get("EXCLUDE_NAMES").as_deref(),
    )
}

/// `FLOOD_WINDOW_SECONDS` (default 600; 0 turns flood control off).
fn flood_window(vars: &Vars) -> Result<Duration, ConfigError> {
    match vars.get("FLOOD_WINDOW_SECONDS") {
        Some(v) => Ok(Duration::from_secs(v.parse::<u64>().map_err(|_| {
            invalid(
                "FLOOD_WINDOW_SECONDS",
                "a number of seconds (0 turns flood control off)",
                &v,
            )
        })?)),
        None => Ok(Duration::from_secs(600)),
    }
}

/// `BACKLOG_AFTER_SECONDS` (default 300) and `REPLAY` (`digest`, the default, or `quiet`).
fn delivery(vars: &Vars) -> Result<(Duration, Replay), ConfigError> {
    let backlog_after = match vars.get("BACKLOG_AFTER_SECONDS") {
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(invalid(
                    "BACKLOG_AFTER_SECONDS",
                    "a positive number of seconds",
                    &v,
                ))
            }
        },
        None => Duration::from_secs(300),
    };
    let replay = match vars.get("REPLAY") {
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "digest" => Replay::Digest,
            "quiet" => Replay::Quiet,
            _ => return Err(invalid("REPLAY", "digest or quiet", &v)),
        },
        None => Replay::Digest,
    };
    Ok((backlog_after, replay))
}

/// `EXPECT_GRACE` (default `15m`).
fn expect_grace(vars: &Vars) -> Result<Duration, ConfigError> {
    match vars.get("EXPECT_GRACE") {
        Some(v) => duration::parse(&v)
            .and_then(|d| d.to_std().ok())
            .ok_or_else(|| invalid("EXPECT_GRACE", "a duration such as `15m` or `1h30m`", &v)),
        None => Ok(Duration::from_secs(900)),
    }
}

impl Config {
    /// Reads the process environment (secrets stored elsewhere are read by
    /// [`Config::resolve_secrets`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from name/value pairs (the environment, or a list in tests). Empty values
    /// count as unset. The first setting that cannot be used, in the order read, is the error.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars = Vars::new(vars);
        let slack_webhook = vars.webhook("SLACK_WEBHOOK_URL")?;
        let slack_routes: BTreeMap<String, SecretSetting> =
            routes(&vars.0, &|name| vars.webhook(name))?;
        let slack_bot = slack_bot(&vars)?;
        let teams = teams(&vars.0, &|name| vars.webhook(name))?;
        let datadog = datadog(&|name| vars.get(name), &|name| vars.secret(name))?;
        let notify_on_success = vars.flag("NOTIFY_ON_SUCCESS", false)?;
        let notify_on_stop_timeout = vars.flag("NOTIFY_ON_STOP_TIMEOUT", false)?;
        let http_timeout = vars.millis("HTTP_TIMEOUT_MS", 5000)?;
        let (enrichment, enrich, enrich_role, accounts) = enrichment(&vars)?;
        let filter = filter(&vars);
        let flood_window = flood_window(&vars)?;
        let (group_window, group_threshold) = grouping(|name| vars.get(name))?;
        let (backlog_after, replay) = delivery(&vars)?;
        let expect_grace = expect_grace(&vars)?;
        let buttons = buttons(&|name| vars.get(name), &|name| vars.secret(name))?;
        if buttons.is_some() && (slack_bot.is_none() || vars.get("STATE_TABLE").is_none()) {
            return Err(invalid(
                "SLACK_SIGNING_SECRET",
                "set only with SLACK_BOT_TOKEN and STATE_TABLE (buttons need the app and the table)",
                "set",
            ));
        }
        Ok(Self {
            buttons,
            backlog_after,
            replay,
            expect_grace,
            state_table: vars.get("STATE_TABLE"),
            flood_window,
            group_window,
            group_threshold,
            slack_webhook,
            slack_routes,
            slack_bot,
            teams,
            datadog,
            notify_on_success,
            notify_on_stop_timeout,
            http_timeout,
            enrichment,
            enrich,
            enrich_role,
            filter,
            accounts,
            region: vars.get("AWS_REGION"),
        })
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
