//! Tests of reading the configuration from the environment: defaults, every setting, and the
//! first bad setting named.

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
    assert_eq!(
        c.clone().datadog.unwrap().api_key.value().unwrap().expose(),
        "k"
    );
    assert_eq!(c.datadog.unwrap().base_url, "https://api.datadoghq.eu");
    let c = config(&[("DD_API_KEY", "k")]).unwrap();
    assert_eq!(c.datadog.unwrap().base_url, "https://api.datadoghq.com");
    let c = config(&[("DD_API_KEY", "k"), ("DD_API_URL", "http://127.0.0.1:9/")]).unwrap();
    assert_eq!(c.datadog.unwrap().base_url, "http://127.0.0.1:9");
    // In clear only to this machine: a key or a webhook's secret path never crosses a
    // network unencrypted.
    for url in [
        "http://api.datadoghq.com",
        "http://10.0.0.5:8080",
        "http://127.0.0.1.evil.example/x",
        "ftp://x",
        "https://",
    ] {
        assert!(
            config(&[("DD_API_KEY", "k"), ("DD_API_URL", url)]).is_err(),
            "{url}"
        );
        assert!(config(&[("SLACK_WEBHOOK_URL", url)]).is_err(), "{url}");
    }
    for url in [
        "http://localhost:8080/services/x",
        "http://[::1]:9/x",
        "http://127.0.0.2/x",
        "https://hooks.slack.com/services/x",
    ] {
        assert!(config(&[("SLACK_WEBHOOK_URL", url)]).is_ok(), "{url}");
    }
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
fn secrets_by_reference_win_over_values() {
    let c = config(&[
        ("SLACK_WEBHOOK_URL", "https://hooks.example/plain"),
        (
            "SLACK_WEBHOOK_URL_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCd",
        ),
        (
            "SLACK_WEBHOOK_URL_PAYMENTS_SECRET_ARN",
            "ssm:/ecs-notifier/payments",
        ),
        (
            "DD_API_KEY_SECRET_ARN",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/ecs-notifier/dd",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.stored_secrets(),
        [
            "SLACK_WEBHOOK_URL_SECRET_ARN",
            "SLACK_WEBHOOK_URL_PAYMENTS_SECRET_ARN",
            "DD_API_KEY_SECRET_ARN"
        ]
    );
    assert_eq!(c.slack_routes.keys().collect::<Vec<_>>(), ["payments"]);
    assert!(c.slack_webhook.unwrap().value().is_none());
    assert!(config(&[("DD_API_KEY_SECRET_ARN", "not-an-arn")]).is_err());
}

#[test]
fn slack_app_mode_needs_a_channel() {
    assert!(config(&[("SLACK_BOT_TOKEN", "xoxb-1")]).is_err());
    let c = config(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_CHANNEL", "#alerts")]).unwrap();
    let bot = c.slack_bot.unwrap();
    assert_eq!(bot.channel, "alerts");
    assert_eq!(bot.api_url, "https://slack.com/api");
    let err = config(&[
        ("SLACK_BOT_TOKEN", "xoxb-secret"),
        ("SLACK_CHANNEL", "a"),
        ("SLACK_API_URL", "ftp://x"),
    ])
    .unwrap_err();
    assert!(!err.to_string().contains("xoxb-secret"));
}

#[test]
fn the_first_unusable_setting_is_the_error_and_defaults_hold() {
    let name = |pairs: &[(&str, &str)]| match config(pairs).unwrap_err() {
        ConfigError::Invalid { name, .. } | ConfigError::InvalidSecret { name, .. } => name,
        ConfigError::Secret(err) => err.setting,
    };
    let all = [
        ("SLACK_WEBHOOK_URL", "x"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("DD_API_KEY", "k"),
        ("DD_SITE", "evil.example"),
        ("NOTIFY_ON_SUCCESS", "maybe"),
        ("NOTIFY_ON_STOP_TIMEOUT", "maybe"),
        ("HTTP_TIMEOUT_MS", "0"),
        ("ENRICHMENT", "maybe"),
        ("LOG_LINES", "x"),
        ("ENRICH_BUDGET_MS", "0"),
        ("ENRICH_ROLE_ARN", "x"),
        ("ACCOUNT_NAMES", "x"),
        ("FLOOD_WINDOW_SECONDS", "x"),
        ("GROUP_WINDOW_SECONDS", "x"),
        ("GROUP_THRESHOLD", "0"),
        ("BACKLOG_AFTER_SECONDS", "0"),
        ("REPLAY", "loud"),
        ("EXPECT_GRACE", "x"),
    ];
    // Each tail of the list fails on its first setting (a key without its site, on the next).
    let first = [
        "SLACK_WEBHOOK_URL",
        "SLACK_CHANNEL",
        "DD_SITE",
        "NOTIFY_ON_SUCCESS",
        "NOTIFY_ON_SUCCESS",
        "NOTIFY_ON_STOP_TIMEOUT",
        "HTTP_TIMEOUT_MS",
        "ENRICHMENT",
        "LOG_LINES",
        "ENRICH_BUDGET_MS",
        "ENRICH_ROLE_ARN",
        "ACCOUNT_NAMES",
        "FLOOD_WINDOW_SECONDS",
        "GROUP_WINDOW_SECONDS",
        "GROUP_THRESHOLD",
        "BACKLOG_AFTER_SECONDS",
        "REPLAY",
        "EXPECT_GRACE",
    ];
    for (at, expected) in first.iter().enumerate() {
        assert_eq!(name(&all[at..]), *expected, "from {}", all[at].0);
    }
    let c = config(&[]).unwrap();
    assert!(c.enrichment && !c.notify_on_stop_timeout);
    assert_eq!(c.enrich, EnrichSettings::default());
    assert_eq!(c.enrich_role, None);
    assert_eq!(c.flood_window, Duration::from_secs(600));
    assert_eq!(c.group_window, Duration::from_secs(300));
    assert_eq!(c.group_threshold, 2);
    assert_eq!(c.expect_grace, Duration::from_secs(900));
    assert_eq!(c.state_table, None);
    assert_eq!(c.backlog_after, Duration::from_secs(300));
    assert_eq!(c.replay, Replay::Digest);
    assert_eq!(c.accounts, crate::config::Accounts::default());
}

#[test]
fn backlogs_and_replays() {
    let c = config(&[("BACKLOG_AFTER_SECONDS", "120"), ("REPLAY", "Quiet")]).unwrap();
    assert_eq!(
        (c.backlog_after, c.replay),
        (Duration::from_secs(120), Replay::Quiet)
    );
    assert!(config(&[("BACKLOG_AFTER_SECONDS", "5m")]).is_err());
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
