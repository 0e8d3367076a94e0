//! The settings of the buttons on alerts (Slack's interactivity): the signing secret, who may
//! re-run a job, the silence choices.

use std::time::Duration;

use super::duration;
use super::secret::{Secret, SecretRef};
use super::value::{invalid, ConfigError, SecretSetting};

/// Buttons on failure alerts, in Slack app mode with a state table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonSettings {
    /// `SLACK_SIGNING_SECRET` (or `SLACK_SIGNING_SECRET_ARN`): what Slack signs its requests with.
    pub signing_secret: SecretSetting,
    /// `RERUN_ALLOWED`: the Slack users (`U…`, `W…`) and user groups (`S…`) who may re-run a
    /// job; nobody when unset (no Re-run button then).
    pub rerun_allowed: Vec<String>,
    /// `SILENCE_DURATIONS` (default `1h,4h,24h`): the Silence buttons, at most five.
    pub silences: Vec<Duration>,
}

/// Reads the button settings; `None` without a signing secret. `get` reads a setting,
/// `secret` one that may be stored (`NAME` or `NAME_SECRET_ARN`).
pub fn buttons(
    get: &dyn Fn(&str) -> Option<String>,
    secret: &dyn Fn(&str) -> Result<Option<SecretSetting>, ConfigError>,
) -> Result<Option<ButtonSettings>, ConfigError> {
    // `SLACK_SIGNING_SECRET_ARN` names where it is stored (the `…_SECRET_ARN` rule applied to
    // `SLACK_SIGNING`), else `SLACK_SIGNING_SECRET` holds it.
    let signing_secret = match secret("SLACK_SIGNING")? {
        Some(stored @ SecretSetting::Stored { .. }) => stored,
        _ => match get("SLACK_SIGNING_SECRET") {
            Some(value) if SecretRef::parse(&value).is_some() => {
                return Err(ConfigError::InvalidSecret {
                    name: "SLACK_SIGNING_SECRET".into(),
                    expected: "the signing secret itself (SLACK_SIGNING_SECRET_ARN names where it is stored)",
                })
            }
            Some(value) => SecretSetting::Value(Secret::new(value)),
            None => return Ok(None),
        },
    };
    let rerun_allowed = match get("RERUN_ALLOWED") {
        Some(list) => allowed(&list)?,
        None => Vec::new(),
    };
    let silences = match get("SILENCE_DURATIONS") {
        Some(list) => silences(&list)?,
        None => [1, 4, 24].map(|h| Duration::from_secs(h * 3600)).to_vec(),
    };
    Ok(Some(ButtonSettings {
        signing_secret,
        rerun_allowed,
        silences,
    }))
}

/// `U123,S456`: Slack user ids (`U`, `W`) and user group ids (`S`).
fn allowed(list: &str) -> Result<Vec<String>, ConfigError> {
    let ids: Vec<String> = list
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let ok = |id: &str| {
        id.len() >= 3
            && matches!(id.as_bytes()[0], b'U' | b'W' | b'S')
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    match ids.iter().find(|id| !ok(id)) {
        Some(bad) => Err(invalid(
            "RERUN_ALLOWED",
            "Slack user ids (U…, W…) and user group ids (S…), separated by commas",
            bad,
        )),
        None => Ok(ids),
    }
}

/// `1h,4h,24h`: one to five positive durations.
fn silences(list: &str) -> Result<Vec<Duration>, ConfigError> {
    let expected = "one to five durations such as `1h,4h,24h`";
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match duration::parse(part).and_then(|d| d.to_std().ok()) {
            Some(d) if !d.is_zero() => out.push(d),
            _ => return Err(invalid("SILENCE_DURATIONS", expected, part)),
        }
    }
    if out.is_empty() || out.len() > 5 {
        return Err(invalid("SILENCE_DURATIONS", expected, list));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<ButtonSettings>, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let secret = |name: &str| {
            Ok(
                get(&format!("{name}_SECRET_ARN")).map(|r| SecretSetting::Stored {
                    setting: format!("{name}_SECRET_ARN"),
                    reference: SecretRef::parse(&r).unwrap(),
                }),
            )
        };
        buttons(&get, &secret)
    }

    #[test]
    fn off_without_a_signing_secret_and_defaults_otherwise() {
        assert_eq!(read(&[("RERUN_ALLOWED", "U1AB")]).unwrap(), None);
        let on = read(&[("SLACK_SIGNING_SECRET", "abc")]).unwrap().unwrap();
        assert_eq!(on.silences.len(), 3);
        assert_eq!(on.silences[2], Duration::from_secs(86_400));
        assert!(on.rerun_allowed.is_empty());
        assert!(!format!("{on:?}").contains("abc"));
        let stored = read(&[(
            "SLACK_SIGNING_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:1:secret:s",
        )])
        .unwrap()
        .unwrap();
        assert!(matches!(
            stored.signing_secret,
            SecretSetting::Stored { .. }
        ));
    }

    #[test]
    fn reads_who_may_rerun_and_the_silences() {
        let on = read(&[
            ("SLACK_SIGNING_SECRET", "abc"),
            ("RERUN_ALLOWED", "U123, S456,W789"),
            ("SILENCE_DURATIONS", "30m,2h"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.rerun_allowed, ["U123", "S456", "W789"]);
        assert_eq!(
            on.silences,
            [Duration::from_secs(1800), Duration::from_secs(7200)]
        );
        for (name, value) in [
            ("RERUN_ALLOWED", "alice"),
            ("SILENCE_DURATIONS", "soon"),
            ("SILENCE_DURATIONS", "1h,1h,1h,1h,1h,1h"),
        ] {
            let err = read(&[("SLACK_SIGNING_SECRET", "abc"), (name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }
}
