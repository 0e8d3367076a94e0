//! How notices write times.

use chrono::{DateTime, Utc};

/// `2026-11-22 03:00 UTC`.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `2026-11-22 03:00:00 UTC`: when an event happened, to the second.
pub fn stamp_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
