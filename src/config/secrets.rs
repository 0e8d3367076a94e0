//! Secrets read from AWS Secrets Manager or SSM Parameter Store, once, when the function starts.

use aws_config::{Region, SdkConfig};
use futures::future::join_all;
use thiserror::Error;

use super::secret::{Secret, SecretError, SecretRef};
use super::settings::Config;
use super::value::{is_url, ConfigError, SecretSetting};

/// Why a stored secret gave no value; its text is the `code` of the [`SecretError`] that names
/// the setting (never a value).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ReadError {
    /// The AWS error code, or, without one, the transport error (at most 200 characters).
    #[error("{0}")]
    Aws(String),
    #[error("SecretString is empty (binary secrets are not supported)")]
    NoSecretString,
    #[error("parameter has no value")]
    NoParameterValue,
}

impl ReadError {
    /// The error the function stops on: the setting and where its secret is stored, with this
    /// as the code.
    pub fn of_setting(&self, setting: &str, reference: &SecretRef) -> SecretError {
        SecretError {
            setting: setting.to_string(),
            reference: reference.reference().to_string(),
            code: self.to_string(),
        }
    }
}

fn code<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> ReadError
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    ReadError::Aws(match err.code() {
        Some(code) => code.to_string(),
        None => {
            // No service error code: a transport problem. Its text carries no secret value.
            let text = aws_sdk_ssm::error::DisplayErrorContext(err).to_string();
            text.chars().take(200).collect()
        }
    })
}

/// Reads one secret with the AWS configuration `base` (region from the ARN when it has one).
pub async fn read(base: &SdkConfig, secret: &SecretRef) -> Result<Secret, ReadError> {
    let region = secret.region().map(|r| Region::new(r.to_string()));
    match secret {
        SecretRef::SecretsManager(id) => {
            let mut conf = aws_sdk_secretsmanager::config::Builder::from(base);
            if let Some(region) = region {
                conf = conf.region(region);
            }
            let client = aws_sdk_secretsmanager::Client::from_conf(conf.build());
            let out = client
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| code(&e))?;
            out.secret_string()
                .map(|s| Secret::new(s.trim()))
                .ok_or(ReadError::NoSecretString)
        }
        SecretRef::Ssm(name) => {
            let mut conf = aws_sdk_ssm::config::Builder::from(base);
            if let Some(region) = region {
                conf = conf.region(region);
            }
            let client = aws_sdk_ssm::Client::from_conf(conf.build());
            let out = client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| code(&e))?;
            out.parameter()
                .and_then(|p| p.value())
                .map(|v| Secret::new(v.trim()))
                .ok_or(ReadError::NoParameterValue)
        }
    }
}

impl Config {
    /// Every secret setting, for resolving and checking.
    fn secrets_mut(&mut self) -> Vec<&mut SecretSetting> {
        let mut all: Vec<&mut SecretSetting> = Vec::new();
        all.extend(self.slack_webhook.as_mut());
        all.extend(self.slack_routes.values_mut());
        all.extend(self.slack_bot.as_mut().map(|b| &mut b.token));
        all.extend(self.buttons.as_mut().map(|b| &mut b.signing_secret));
        all.extend(self.teams.default.as_mut());
        all.extend(self.teams.routes.values_mut());
        if let Some(d) = self.datadog.as_mut() {
            all.push(&mut d.api_key);
            all.extend(d.app_key.as_mut());
        }
        all
    }

    /// The settings of secrets still to be read from AWS.
    pub fn stored_secrets(&self) -> Vec<&str> {
        self.slack_webhook
            .iter()
            .chain(self.slack_routes.values())
            .chain(self.slack_bot.as_ref().map(|b| &b.token))
            .chain(self.buttons.as_ref().map(|b| &b.signing_secret))
            .chain(self.teams.default.iter())
            .chain(self.teams.routes.values())
            .chain(
                self.datadog
                    .iter()
                    .flat_map(|d| [Some(&d.api_key), d.app_key.as_ref()])
                    .flatten(),
            )
            .filter_map(|s| match s {
                SecretSetting::Stored { setting, .. } => Some(setting.as_str()),
                SecretSetting::Value(_) => None,
            })
            .collect()
    }

    /// Reads every stored secret (concurrently) with the AWS configuration `base`. Fails on
    /// the first that cannot be read, naming the setting and the AWS error code.
    pub async fn resolve_secrets(&mut self, base: &SdkConfig) -> Result<(), ConfigError> {
        let mut pending = Vec::new();
        for setting in self.secrets_mut() {
            if let SecretSetting::Stored {
                setting: name,
                reference,
            } = setting
            {
                let (name, reference) = (name.clone(), reference.clone());
                pending.push((setting, name, reference));
            }
        }
        let reads = pending
            .iter()
            .map(|(_, _, reference)| read(base, reference));
        let values = join_all(reads).await;
        for ((slot, name, reference), value) in pending.into_iter().zip(values) {
            let value = value.map_err(|err| err.of_setting(&name, &reference))?;
            let webhook = ["SLACK_WEBHOOK_URL", "TEAMS_WEBHOOK_URL"];
            if webhook.iter().any(|w| name.starts_with(w)) && !is_url(value.expose()) {
                return Err(ConfigError::InvalidSecret {
                    name,
                    expected: "a secret holding an https:// URL (http:// only to a loopback host)",
                });
            }
            *slot = SecretSetting::Value(value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        assert_eq!(
            SecretRef::parse("arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf"),
            Some(SecretRef::SecretsManager(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf".into()
            ))
        );
        assert_eq!(
            SecretRef::parse("arn:aws:ssm:eu-west-1:123456789012:parameter/ecs-notifier/dd"),
            Some(SecretRef::Ssm(
                "arn:aws:ssm:eu-west-1:123456789012:parameter/ecs-notifier/dd".into()
            ))
        );
        assert_eq!(
            SecretRef::parse("ssm:/ecs-notifier/dd"),
            Some(SecretRef::Ssm("/ecs-notifier/dd".into()))
        );
        assert_eq!(SecretRef::parse("https://hooks.slack.com/x"), None);
        assert_eq!(SecretRef::parse("arn:aws:s3:::bucket"), None);
        assert_eq!(SecretRef::parse("ssm:"), None);
        let r = SecretRef::parse("arn:aws:secretsmanager:us-east-2:1:secret:x").unwrap();
        assert_eq!(r.region(), Some("us-east-2"));
    }

    #[test]
    fn a_failed_read_names_the_setting_and_the_code() {
        let at = SecretRef::Ssm("/nope".into());
        let err = ReadError::Aws("ParameterNotFound".into()).of_setting("X_SECRET_ARN", &at);
        assert_eq!(
            err.to_string(),
            "X_SECRET_ARN: could not read /nope: ParameterNotFound"
        );
        let err = ReadError::NoParameterValue.of_setting("X_SECRET_ARN", &at);
        assert_eq!(err.code, "parameter has no value");
        assert_eq!(
            ReadError::NoSecretString.to_string(),
            "SecretString is empty (binary secrets are not supported)"
        );
    }
}
