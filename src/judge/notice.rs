//! The judge's message for people, independent of where it is posted: all text in it is plain
//! and unescaped; each sink renders it in its own markup (Slack escapes every string of it for
//! mrkdwn, Teams keeps it out of markdown).

/// How bad the news is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Failure,
    Warning,
    Success,
    Info,
}

/// A line of a list: a name shown as code, then text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub lead: String,
    pub text: String,
}

/// The body of a labelled section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// Verbatim text from AWS, shown in a code block.
    Code(String),
    Items(Vec<Item>),
}

/// A labelled part of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub label: String,
    pub body: Body,
}

impl Section {
    /// A section of prose.
    pub fn text(label: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            body: Body::Text(text.into()),
        }
    }

    /// A section of verbatim text from AWS.
    pub fn code(label: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            body: Body::Code(text.into()),
        }
    }

    /// A section listing items.
    pub fn items(label: impl Into<String>, items: Vec<Item>) -> Self {
        Self {
            label: label.into(),
            body: Body::Items(items),
        }
    }
}

/// Someone a notice pings, as a routing tag names them (`ecs-notifier:mention`). Built only from
/// validated tag values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    /// Slack's `@here`.
    Here,
    /// Slack's `@channel`.
    Channel,
    /// A Slack user group id (`S0123ABC`).
    SlackGroup(String),
    /// A Slack user id (`U0123ABC`, `W0123ABC`).
    SlackUser(String),
    /// A Microsoft Teams user: a user principal name (`jane@contoso.com`) or a Microsoft Entra
    /// object id (a GUID).
    TeamsUser(String),
}

impl Mention {
    /// Parses `@here`, `@channel`, a Slack user group id (`S0123ABC`, or `subteam:S0123ABC`), a
    /// Slack user id (`U0123ABC`, `W0123ABC`), or a Teams user's UPN or object id.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let id_ok = |id: &str| {
            id.len() >= 3
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        if is_upn(value) || is_object_id(value) {
            return Some(Mention::TeamsUser(value.to_string()));
        }
        Some(match value.trim_start_matches('@') {
            "here" => Mention::Here,
            "channel" => Mention::Channel,
            other => {
                let id = other.strip_prefix("subteam:").unwrap_or(other);
                match id.chars().next() {
                    Some('S') if id_ok(id) => Mention::SlackGroup(id.to_string()),
                    Some('U' | 'W') if id_ok(id) => Mention::SlackUser(id.to_string()),
                    _ => return None,
                }
            }
        })
    }

    /// The Slack mrkdwn token that pings (`<!here>`, `<!subteam^S…>`, `<@U…>`); none for a
    /// Teams user.
    pub fn slack_token(&self) -> Option<String> {
        match self {
            Mention::Here => Some("<!here>".into()),
            Mention::Channel => Some("<!channel>".into()),
            Mention::SlackGroup(id) => Some(format!("<!subteam^{id}>")),
            Mention::SlackUser(id) => Some(format!("<@{id}>")),
            Mention::TeamsUser(_) => None,
        }
    }

    /// The Teams user to ping (UPN or object id); none for Slack's mentions.
    pub fn teams_user(&self) -> Option<&str> {
        match self {
            Mention::TeamsUser(id) => Some(id),
            _ => None,
        }
    }

    /// As the tag wrote it (`@here`, `S0123ABC`, `jane@contoso.com`), for notes.
    pub fn label(&self) -> String {
        match self {
            Mention::Here => "@here".into(),
            Mention::Channel => "@channel".into(),
            Mention::SlackGroup(id) | Mention::SlackUser(id) | Mention::TeamsUser(id) => id.clone(),
        }
    }
}

/// A user principal name, `local@domain.tld`: letters, digits and `.` `_` `-` `'` before the `@`
/// (of those Microsoft Entra allows, the ones no markup reads and no tag list splits), a DNS
/// name after it.
fn is_upn(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '\''))
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 255
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// A Microsoft Entra object id: a GUID, `8-4-4-4-12` hexadecimal digits.
fn is_object_id(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A link to the AWS console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: Severity,
    /// Short title: `Out of memory: checkout-api`.
    pub title: String,
    /// One sentence saying what happened and where.
    pub summary: String,
    /// Label and value pairs: cluster, service, trigger...
    pub fields: Vec<(String, String)>,
    pub sections: Vec<Section>,
    /// Console links: the task, its logs, the service.
    pub links: Vec<Link>,
    /// Small print: durations, ids.
    pub context: Vec<String>,
    /// Who to ping, from validated tags; each sink pings those it can.
    pub mentions: Vec<Mention>,
}

impl Notice {
    /// The notice as plain text (Datadog event text, logs of the local renderer).
    pub fn plain_text(&self) -> String {
        let mut out = format!("{}\n", self.summary);
        for (label, value) in &self.fields {
            out.push_str(&format!("{label}: {value}\n"));
        }
        for section in &self.sections {
            out.push_str(&format!("{}:\n", section.label));
            match &section.body {
                Body::Text(text) | Body::Code(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
                Body::Items(items) => {
                    for item in items {
                        out.push_str(&format!("- {}: {}\n", item.lead, item.text));
                    }
                }
            }
        }
        for line in &self.context {
            out.push_str(line);
            out.push('\n');
        }
        for link in &self.links {
            out.push_str(&format!("{}: {}\n", link.label, link.url));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_of_slack_and_of_teams() {
        let parse = |v: &str| Mention::parse(v);
        assert_eq!(parse("@here"), Some(Mention::Here));
        assert_eq!(
            parse("subteam:S0123ABC"),
            Some(Mention::SlackGroup("S0123ABC".into()))
        );
        assert_eq!(
            parse("W0123ABC"),
            Some(Mention::SlackUser("W0123ABC".into()))
        );
        let jane = parse("jane.o'neil@contoso.onmicrosoft.com").unwrap();
        assert_eq!(
            jane.teams_user(),
            Some("jane.o'neil@contoso.onmicrosoft.com")
        );
        assert_eq!(jane.slack_token(), None);
        let id = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
        assert_eq!(parse(id), Some(Mention::TeamsUser(id.into())));
        assert_eq!(Mention::Here.teams_user(), None);
        assert_eq!(Mention::Here.label(), "@here");
        for bad in [
            "jane@contoso",
            "@contoso.com",
            "[x](https://evil.example)@contoso.com",
            "<at>x</at>@contoso.com",
            "jane@-contoso.com",
            "87d349ed-44d7-43e1-9a83-5f2406dee5b",
            "s0123abc",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
