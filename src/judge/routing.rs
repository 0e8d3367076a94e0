//! Per-team routing and noise control from `ecs-notifier:` tags on services and task
//! definitions.

use crate::config::filter::route_name;

/// Prefix of every tag this function reads.
pub const TAG_PREFIX: &str = "ecs-notifier:";

/// When to post to Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// Failures only (the default).
    Failures,
    /// Failures and successful runs.
    All,
    /// Nothing in Slack; Datadog still gets the metrics.
    None,
}

pub use super::notice::Mention;

/// What a service's or task definition's tags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `ecs-notifier:slack`: the name of a configured webhook (`SLACK_WEBHOOK_URL_<NAME>`).
    pub slack: Option<String>,
    /// `ecs-notifier:teams`: the name of a configured Teams Workflow (`TEAMS_WEBHOOK_URL_<NAME>`).
    pub teams: Option<String>,
    /// `ecs-notifier:slack-channel`: the channel (name without `#`, or id), in Slack app mode.
    pub slack_channel: Option<String>,
    /// `ecs-notifier:mention`: who to ping on failures.
    pub mentions: Vec<Mention>,
    /// `ecs-notifier:success-exit-codes`: exit codes that count as success besides 0.
    pub success_exit_codes: Vec<i64>,
    /// `ecs-notifier:notify`: `failures`, `all` or `none`.
    pub notify: Option<Notify>,
    /// `ecs-notifier:runbook`: an https link shown as a button on failures.
    pub runbook: Option<String>,
    /// Tag values that could not be used, for the log.
    pub problems: Vec<String>,
}

impl Route {
    /// Reads the tags; a later tag overrides an earlier one with the same key, so pass the task
    /// definition's tags before the service's.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut route = Route::default();
        for (key, value) in tags {
            let Some(name) = key.strip_prefix(TAG_PREFIX) else {
                continue;
            };
            match name {
                "slack" => match route_name(value) {
                    Some(n) => route.slack = Some(n),
                    None => route
                        .problems
                        .push(format!("{key}: `{value}` is not a route name")),
                },
                "teams" => match route_name(value) {
                    Some(n) => route.teams = Some(n),
                    None => route
                        .problems
                        .push(format!("{key}: `{value}` is not a route name")),
                },
                "slack-channel" => {
                    let channel = value.trim().trim_start_matches('#');
                    let ok = !channel.is_empty()
                        && channel.len() <= 80
                        && channel
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                    if ok {
                        route.slack_channel = Some(channel.to_string());
                    } else {
                        route
                            .problems
                            .push(format!("{key}: `{value}` is not a channel name or id"));
                    }
                }
                "mention" => {
                    route.mentions.clear();
                    for part in value.split([' ', ',', '+']).filter(|p| !p.is_empty()) {
                        match Mention::parse(part) {
                            Some(m) => route.mentions.push(m),
                            None => route.problems.push(format!("{key}: `{part}` is not @here, @channel, a Slack user group or user id, or a Teams user's UPN or object id")),
                        }
                    }
                }
                "success-exit-codes" => {
                    route.success_exit_codes.clear();
                    for part in value
                        .split([' ', ',', '+', ':', '/'])
                        .filter(|p| !p.is_empty())
                    {
                        match part.parse::<i64>() {
                            Ok(code) => route.success_exit_codes.push(code),
                            Err(_) => route
                                .problems
                                .push(format!("{key}: `{part}` is not an exit code")),
                        }
                    }
                }
                "notify" => match value.trim().to_ascii_lowercase().as_str() {
                    "failures" | "failure" => route.notify = Some(Notify::Failures),
                    "all" => route.notify = Some(Notify::All),
                    "none" | "mute" | "off" => route.notify = Some(Notify::None),
                    _ => route
                        .problems
                        .push(format!("{key}: `{value}` is not failures, all or none")),
                },
                "runbook" => route.read_runbook(key, value),
                // Read by the missed-run tracking (`jobs::EXPECT_TAG`, `jobs::GRACE_TAG`), and
                // when an alert's re-run is stored (`interact::alert::RERUN_NETWORK_TAG`).
                "expect-every" | "expect-grace" | "rerun" | "rerun-network" => {}
                _ => route
                    .problems
                    .push(format!("{key}: unknown ecs-notifier tag")),
            }
        }
        route
    }
}

impl Route {
    /// `ecs-notifier:runbook`: an https link, else a problem.
    fn read_runbook(&mut self, key: &str, value: &str) {
        match runbook(value) {
            Some(url) => self.runbook = Some(url),
            None => self
                .problems
                .push(format!("{key}: `{value}` is not an https:// link")),
        }
    }
}

/// A runbook link: `https://` and a host, nothing that would end or open a Slack link, and
/// within a button's 3000 characters.
fn runbook(value: &str) -> Option<String> {
    let url = value.trim();
    let host = url.strip_prefix("https://")?.split('/').next()?;
    let clean = !url
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '|'));
    (!host.is_empty() && clean && url.len() <= 3000).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_routing_tags_with_later_overriding() {
        let route = Route::from_tags([
            ("ecs-notifier:slack", "platform"),
            ("team", "payments"),
            ("ecs-notifier:slack", "Payments"),
            ("ecs-notifier:mention", "@here S0123ABC"),
            ("ecs-notifier:success-exit-codes", "3 4"),
            ("ecs-notifier:notify", "all"),
            ("ecs-notifier:slack-channel", "payments-alerts"),
        ]);
        assert_eq!(route.slack_channel.as_deref(), Some("payments-alerts"));
        assert_eq!(route.slack.as_deref(), Some("payments"));
        let tokens: Vec<String> = route
            .mentions
            .iter()
            .filter_map(Mention::slack_token)
            .collect();
        assert_eq!(tokens, ["<!here>", "<!subteam^S0123ABC>"]);
        assert_eq!(route.success_exit_codes, [3, 4]);
        assert_eq!(route.notify, Some(Notify::All));
        assert!(route.problems.is_empty());
    }

    #[test]
    fn a_runbook_is_an_https_link() {
        let route =
            Route::from_tags([("ecs-notifier:runbook", "https://wiki.example/run/nightly")]);
        assert_eq!(
            route.runbook.as_deref(),
            Some("https://wiki.example/run/nightly")
        );
        for bad in [
            "http://wiki.example/x",
            "javascript:alert(1)",
            "https://",
            "https://a/<b>",
        ] {
            let route = Route::from_tags([("ecs-notifier:runbook", bad)]);
            assert_eq!(route.runbook, None, "{bad}");
            assert_eq!(route.problems.len(), 1);
        }
    }

    #[test]
    fn the_missed_run_tags_are_known() {
        let route = Route::from_tags([
            (crate::judge::jobs::EXPECT_TAG, "1h"),
            (crate::judge::jobs::GRACE_TAG, "20m"),
        ]);
        assert!(route.problems.is_empty(), "{:?}", route.problems);
    }

    #[test]
    fn bad_values_are_reported_not_used() {
        let route = Route::from_tags([
            ("ecs-notifier:mention", "<!everyone> U12AB"),
            ("ecs-notifier:success-exit-codes", "x"),
            ("ecs-notifier:notify", "sometimes"),
            ("ecs-notifier:slack", "a b"),
            ("ecs-notifier:colour", "red"),
        ]);
        assert_eq!(route.mentions.len(), 1);
        assert_eq!(route.mentions[0].slack_token().as_deref(), Some("<@U12AB>"));
        assert!(route.success_exit_codes.is_empty());
        assert_eq!(route.notify, None);
        assert_eq!(route.slack, None);
        assert_eq!(route.problems.len(), 5, "{:?}", route.problems);
    }
}
