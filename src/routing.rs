//! Per-team routing and noise control from `ecs-notifier:` tags, and the function-wide filter.

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

/// A Slack mention that pings people. Built only from validated tag values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention(String);

impl Mention {
    /// Parses `@here`, `@channel`, a user group id (`S0123ABC`, or `subteam:S0123ABC`) or a user
    /// id (`U0123ABC`, `W0123ABC`).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let id_ok = |id: &str| {
            id.len() >= 3
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        let token = match value.trim_start_matches('@') {
            "here" => "<!here>".to_string(),
            "channel" => "<!channel>".to_string(),
            other => {
                let id = other.strip_prefix("subteam:").unwrap_or(other);
                match id.chars().next() {
                    Some('S') if id_ok(id) => format!("<!subteam^{id}>"),
                    Some('U' | 'W') if id_ok(id) => format!("<@{id}>"),
                    _ => return None,
                }
            }
        };
        Some(Self(token))
    }

    /// The mrkdwn token (`<!here>`, `<!subteam^S…>`, `<@U…>`).
    pub fn token(&self) -> &str {
        &self.0
    }
}

/// What a service's or task definition's tags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `ecs-notifier:slack`: the name of a configured webhook (`SLACK_WEBHOOK_URL_<NAME>`).
    pub slack: Option<String>,
    /// `ecs-notifier:slack-channel`: the channel (name without `#`, or id), in Slack app mode.
    pub slack_channel: Option<String>,
    /// `ecs-notifier:mention`: who to ping on failures.
    pub mentions: Vec<Mention>,
    /// `ecs-notifier:success-exit-codes`: exit codes that count as success besides 0.
    pub success_exit_codes: Vec<i64>,
    /// `ecs-notifier:notify`: `failures`, `all` or `none`.
    pub notify: Option<Notify>,
    /// Tag values that could not be used, for the log.
    pub problems: Vec<String>,
}

/// Route names: lower-case letters, digits, `-` and `_`.
pub fn route_name(value: &str) -> Option<String> {
    let name = value.trim().to_ascii_lowercase();
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(name)
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
                            None => route.problems.push(format!("{key}: `{part}` is not @here, @channel, a user group id or a user id")),
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
                _ => route
                    .problems
                    .push(format!("{key}: unknown ecs-notifier tag")),
            }
        }
        route
    }
}

/// A `*`/`?` glob, matched against the whole name.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn patterns(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Which clusters and services or task families this deployment of the function is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub include_clusters: Vec<String>,
    pub exclude_clusters: Vec<String>,
    pub include_names: Vec<String>,
    pub exclude_names: Vec<String>,
}

impl Filter {
    /// From comma-separated glob lists (`INCLUDE_CLUSTERS`, `EXCLUDE_CLUSTERS`, `INCLUDE_NAMES`,
    /// `EXCLUDE_NAMES`).
    pub fn new(
        include_clusters: Option<&str>,
        exclude_clusters: Option<&str>,
        include_names: Option<&str>,
        exclude_names: Option<&str>,
    ) -> Self {
        Self {
            include_clusters: patterns(include_clusters),
            exclude_clusters: patterns(exclude_clusters),
            include_names: patterns(include_names),
            exclude_names: patterns(exclude_names),
        }
    }

    /// Whether events of `cluster` about `name` (a service or task family) are handled.
    pub fn admits(&self, cluster: &str, name: &str) -> bool {
        let any = |list: &[String], text: &str| list.iter().any(|p| glob(p, text));
        (self.include_clusters.is_empty() || any(&self.include_clusters, cluster))
            && !any(&self.exclude_clusters, cluster)
            && (self.include_names.is_empty() || any(&self.include_names, name))
            && !any(&self.exclude_names, name)
    }
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
        let tokens: Vec<&str> = route.mentions.iter().map(Mention::token).collect();
        assert_eq!(tokens, ["<!here>", "<!subteam^S0123ABC>"]);
        assert_eq!(route.success_exit_codes, [3, 4]);
        assert_eq!(route.notify, Some(Notify::All));
        assert!(route.problems.is_empty());
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
        assert_eq!(route.mentions[0].token(), "<@U12AB>");
        assert!(route.success_exit_codes.is_empty());
        assert_eq!(route.notify, None);
        assert_eq!(route.slack, None);
        assert_eq!(route.problems.len(), 5, "{:?}", route.problems);
    }

    #[test]
    fn globs() {
        assert!(glob("prod-*", "prod-eu"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("prod-*", "staging"));
        assert!(glob("*-worker", "orders-worker"));
        assert!(!glob("*-worker", "orders-worker-2"));
    }

    #[test]
    fn filter_includes_and_excludes() {
        let f = Filter::new(Some("prod,prod-*"), None, None, Some("*-canary"));
        assert!(f.admits("prod", "checkout-api"));
        assert!(f.admits("prod-eu", "checkout-api"));
        assert!(!f.admits("staging", "checkout-api"));
        assert!(!f.admits("prod", "checkout-canary"));
        assert!(Filter::default().admits("anything", "at-all"));
    }
}
