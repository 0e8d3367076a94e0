//! The incident grouping settings: `GROUP_WINDOW_SECONDS` and `GROUP_THRESHOLD`, read by the
//! function and by `render` alike.

use std::time::Duration;

use super::value::{invalid, ConfigError};

/// The grouping window (default 300 s; zero turns grouping off) and threshold (default 2),
/// from `get`.
pub fn grouping(get: impl Fn(&str) -> Option<String>) -> Result<(Duration, usize), ConfigError> {
    let window = match get("GROUP_WINDOW_SECONDS") {
        Some(v) => Duration::from_secs(v.trim().parse::<u64>().map_err(|_| {
            invalid(
                "GROUP_WINDOW_SECONDS",
                "a number of seconds (0 turns grouping off)",
                &v,
            )
        })?),
        None => Duration::from_secs(300),
    };
    let threshold = match get("GROUP_THRESHOLD") {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| invalid("GROUP_THRESHOLD", "a number from 1 to 100", &v))?,
        None => 2,
    };
    Ok((window, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_values_and_mistakes() {
        assert_eq!(grouping(|_| None).unwrap(), (Duration::from_secs(300), 2));
        let set = |w: &'static str, t: &'static str| {
            move |name: &str| match name {
                "GROUP_WINDOW_SECONDS" => Some(w.to_string()),
                _ => Some(t.to_string()),
            }
        };
        assert_eq!(grouping(set("0", "5")).unwrap(), (Duration::ZERO, 5));
        for (w, t) in [("5m", "2"), ("300", "0"), ("300", "many"), ("-1", "2")] {
            let err = grouping(set(w, t)).unwrap_err().to_string();
            assert!(err.contains("GROUP_"), "{err}");
        }
    }
}
