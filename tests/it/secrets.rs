//! Secrets read from Secrets Manager and SSM Parameter Store on a real `moto_server`.

use crate::support;

use ecs_notifier::config::{Config, ConfigError, SecretSetting};
use support::Moto;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn value(setting: &Option<SecretSetting>) -> &str {
    setting.as_ref().unwrap().value().expect("read").expose()
}

#[tokio::test]
async fn reads_every_secret_form_from_secrets_manager_and_ssm() {
    let moto = Moto::start().await;
    let base = support::sdk_config(&moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&base);
    let ssm = aws_sdk_ssm::Client::new(&base);
    let webhook = sm
        .create_secret()
        .name("ecs-notifier/slack-webhook")
        .secret_string("https://hooks.slack.com/services/T0/B0/sm-secret-part\n")
        .send()
        .await
        .unwrap();
    let webhook_arn = webhook.arn().unwrap().to_string();
    let route = sm
        .create_secret()
        .name("ecs-notifier/slack-payments")
        .secret_string("https://hooks.slack.com/services/T0/B1/route-secret")
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/ecs-notifier/dd-api-key")
        .value("0123456789abcdef0123456789abcdef")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/ecs-notifier/bot-token")
        .value("xoxb-from-ssm")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();

    let mut config = Config::from_vars(vars(&[
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/plain-value-loses",
        ),
        ("SLACK_WEBHOOK_URL_SECRET_ARN", &webhook_arn),
        (
            "SLACK_WEBHOOK_URL_PAYMENTS_SECRET_ARN",
            route.arn().unwrap(),
        ),
        ("DD_API_KEY_SECRET_ARN", "ssm:/ecs-notifier/dd-api-key"),
        (
            "SLACK_BOT_TOKEN_SECRET_ARN",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/ecs-notifier/bot-token",
        ),
        ("SLACK_CHANNEL", "alerts"),
    ]))
    .unwrap();
    assert_eq!(config.stored_secrets().len(), 4);
    config.resolve_secrets(&base).await.unwrap();
    assert!(config.stored_secrets().is_empty());
    assert_eq!(
        value(&config.slack_webhook),
        "https://hooks.slack.com/services/T0/B0/sm-secret-part"
    );
    assert_eq!(
        config.slack_routes["payments"].value().unwrap().expose(),
        "https://hooks.slack.com/services/T0/B1/route-secret"
    );
    assert_eq!(
        config
            .datadog
            .as_ref()
            .unwrap()
            .api_key
            .value()
            .unwrap()
            .expose(),
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        config
            .slack_bot
            .as_ref()
            .unwrap()
            .token
            .value()
            .unwrap()
            .expose(),
        "xoxb-from-ssm"
    );
    // Nothing of it shows when the configuration is printed.
    let printed = format!("{config:?}");
    for secret in [
        "sm-secret-part",
        "route-secret",
        "0123456789abcdef",
        "xoxb-from-ssm",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_names_the_setting_and_the_error_code() {
    let moto = Moto::start().await;
    let base = support::sdk_config(&moto.endpoint).await;
    let mut config = Config::from_vars(vars(&[(
        "DD_API_KEY_SECRET_ARN",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf",
    )]))
    .unwrap();
    let err = config.resolve_secrets(&base).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::Secret(_)), "{err:?}");
    assert!(
        text.starts_with("DD_API_KEY_SECRET_ARN: could not read arn:aws:secretsmanager:"),
        "{text}"
    );
    assert!(text.ends_with("ResourceNotFoundException"), "{text}");

    let mut config = Config::from_vars(vars(&[
        ("SLACK_BOT_TOKEN_SECRET_ARN", "ssm:/nope"),
        ("SLACK_CHANNEL", "a"),
    ]))
    .unwrap();
    let text = config.resolve_secrets(&base).await.unwrap_err().to_string();
    assert_eq!(
        text,
        "SLACK_BOT_TOKEN_SECRET_ARN: could not read /nope: ParameterNotFound"
    );
}

#[tokio::test]
async fn a_webhook_secret_that_is_not_a_url_is_refused_without_echoing_it() {
    let moto = Moto::start().await;
    let base = support::sdk_config(&moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&base);
    let out = sm
        .create_secret()
        .name("wrong")
        .secret_string("T0/B0/not-a-url-secret")
        .send()
        .await
        .unwrap();
    let mut config = Config::from_vars(vars(&[(
        "SLACK_WEBHOOK_URL_SECRET_ARN",
        out.arn().unwrap(),
    )]))
    .unwrap();
    let text = config.resolve_secrets(&base).await.unwrap_err().to_string();
    assert!(text.contains("SLACK_WEBHOOK_URL_SECRET_ARN"), "{text}");
    assert!(!text.contains("not-a-url-secret"), "{text}");
}
