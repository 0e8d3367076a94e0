//! Reading what a message says: the first capture of a pattern, the executable a start failure
//! names, the account of an ECR image.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_lite::Regex;

/// The first capture of `pattern` in `text`.
pub fn capture(pattern: &'static str, text: &str) -> Option<String> {
    let re = compiled(pattern)?;
    let found = re.captures(text)?.get(1)?.as_str().trim();
    (!found.is_empty()).then(|| found.to_string())
}

/// `pattern` compiled once per process: the patterns are the catalogue's own literals.
pub fn compiled(pattern: &'static str) -> Option<Arc<Regex>> {
    static COMPILED: OnceLock<Mutex<HashMap<&'static str, Arc<Regex>>>> = OnceLock::new();
    let mut known = COMPILED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(re) = known.get(pattern) {
        return Some(re.clone());
    }
    let re = Arc::new(Regex::new(pattern).ok()?);
    known.insert(pattern, re.clone());
    Some(re)
}

/// The executable a start failure names: `exec: "node index.js"` (runc before 1.1, quotes
/// sometimes escaped) or `exec /app/run.sh: …` (runc 1.1 and later).
pub fn executable(message: &str) -> Option<String> {
    capture(r#"exec: \\?"([^"\\]+)\\?""#, message)
        .or_else(|| capture(r"exec (/[^\s:]+): ", message))
}

/// The account of an ECR image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1`.
pub fn ecr_account(image: &str) -> Option<&str> {
    let (account, rest) = image.split_once('.')?;
    (account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && rest.starts_with("dkr.ecr."))
    .then_some(account)
}
