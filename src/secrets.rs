//! Secrets read from AWS Secrets Manager or SSM Parameter Store, once, when the function starts.

use aws_config::{Region, SdkConfig};
use thiserror::Error;

use crate::arn;
use crate::secret::Secret;

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A Secrets Manager secret ARN; its `SecretString` is the value.
    SecretsManager(String),
    /// An SSM parameter (SecureString or String), by ARN or by name (`ssm:/path`).
    Ssm(String),
}

impl SecretRef {
    /// Reads a `*_SECRET_ARN` setting: a Secrets Manager ARN, an SSM parameter ARN, or
    /// `ssm:/parameter/name`.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Some(name) = value.strip_prefix("ssm:") {
            return (!name.is_empty()).then(|| SecretRef::Ssm(name.to_string()));
        }
        let service = value.strip_prefix("arn:")?.split(':').nth(1)?;
        match service {
            "secretsmanager" if value.contains(":secret:") => {
                Some(SecretRef::SecretsManager(value.to_string()))
            }
            "ssm" if value.contains(":parameter/") => Some(SecretRef::Ssm(value.to_string())),
            _ => None,
        }
    }

    /// The ARN or parameter name (not secret), for error messages.
    pub fn reference(&self) -> &str {
        match self {
            SecretRef::SecretsManager(r) | SecretRef::Ssm(r) => r,
        }
    }

    fn region(&self) -> Option<&str> {
        arn::region(self.reference())
    }
}

/// A secret that could not be read: names the setting and the AWS error code, never a value.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{setting}: could not read {reference}: {code}")]
pub struct SecretError {
    pub setting: String,
    pub reference: String,
    pub code: String,
}

fn code<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    match err.code() {
        Some(code) => code.to_string(),
        None => {
            // No service error code: a transport problem. Its text carries no secret value.
            let text = aws_sdk_ssm::error::DisplayErrorContext(err).to_string();
            text.chars().take(200).collect()
        }
    }
}

/// Reads one secret with the AWS configuration `base` (region from the ARN when it has one).
pub async fn read(base: &SdkConfig, secret: &SecretRef) -> Result<Secret, String> {
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
                .ok_or_else(|| "SecretString is empty (binary secrets are not supported)".into())
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
                .ok_or_else(|| "parameter has no value".into())
        }
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
}
