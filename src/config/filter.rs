//! Which clusters and services or task families this deployment of the function is for
//! (`INCLUDE_CLUSTERS`, `EXCLUDE_NAMES`…), and the names routes may have.

/// Route names: lower-case letters, digits, `-` and `_`.
pub fn route_name(value: &str) -> Option<String> {
    let name = value.trim().to_ascii_lowercase();
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(name)
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
