//! A string that must never be printed (webhook URLs, API keys, tokens), and where one is stored.

use std::fmt;

use thiserror::Error;

use crate::source::arn;

/// Holds a secret value; `Debug` and `Display` print a mask, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from the environment or a secret store.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must send it (a header, a URL).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

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

    pub(super) fn region(&self) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{:?}", Some(s.clone())).contains("very-secret"));
        assert_eq!(s.expose(), "xoxb-very-secret");
    }
}
