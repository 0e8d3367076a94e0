//! The judge's message for people, independent of where it is posted: all text in it is plain
//! and unescaped; each sink renders it in its own markup (Slack escapes every string of it for
//! mrkdwn).

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
    /// Who to ping, as Slack tokens built from validated tags (`<!here>`, `<!subteam^S…>`).
    pub mentions: Vec<String>,
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
