//! Renders a notice as a Slack Block Kit message; every string from the notice is escaped here.

use super::blocks::{
    Block, Message, Text, BLOCKS_MAX, CONTEXT_MAX, FALLBACK_MAX, FIELDS_MAX, FIELD_MAX, HEADER_MAX,
    SECTION_MAX,
};
use super::mrkdwn::{code_block, escape, fit, slack_len};
use crate::judge::notice::{Body, Mention, Notice, Severity};

fn mrkdwn(text: String) -> Text {
    Text::Mrkdwn { text }
}

fn section(text: String) -> Block {
    Block::Section {
        text: Some(mrkdwn(fit(&text, SECTION_MAX))),
        fields: Vec::new(),
    }
}

/// The links of a notice on one line, each whole: a link that would not fit in a section is
/// left out rather than cut (a cut link would leave its `<` open).
fn links_line(notice: &Notice) -> Option<String> {
    let mut line = String::from(":mag: ");
    let mut any = false;
    for link in &notice.links {
        let link = format!("<{}|{}>", link_url(&link.url), escape(&link.label));
        let joined = if any { "  ·  " } else { "" };
        if slack_len(&line) + slack_len(joined) + slack_len(&link) > SECTION_MAX {
            continue;
        }
        line.push_str(joined);
        line.push_str(&link);
        any = true;
    }
    any.then_some(line)
}

/// The emoji shortcode shown before a notice's title.
pub fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => ":red_circle:",
        Severity::Warning => ":warning:",
        Severity::Success => ":white_check_mark:",
        Severity::Info => ":information_source:",
    }
}

/// Makes a URL safe inside `<url|label>`: no characters that end the link or open another.
fn link_url(url: &str) -> String {
    url.replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace(' ', "%20")
}

fn render_body(label: &str, body: &Body) -> String {
    let head = format!("*{}*\n", escape(label));
    let room = SECTION_MAX.saturating_sub(super::mrkdwn::slack_len(&head));
    let rendered = match body {
        Body::Text(text) => fit(&escape(text), room),
        Body::Code(text) => code_block(&escape(text), room),
        Body::Items(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|item| {
                    let lead = escape(&item.lead).replace('`', "'");
                    format!("• `{lead}` {}", escape(&item.text))
                        .trim_end()
                        .to_string()
                })
                .collect();
            fit(&lines.join("\n"), room)
        }
    };
    format!("{head}{rendered}")
}

/// Renders a notice for Slack.
pub fn render(notice: &Notice) -> Message {
    let mut blocks = Vec::new();
    let title = format!("{} {}", emoji(notice.severity), notice.title);
    blocks.push(Block::Header {
        // plain_text is not parsed as mrkdwn, so it needs no escaping, only the length cut.
        text: Text::Plain {
            text: fit(&title, HEADER_MAX),
            emoji: true,
        },
    });
    // Mentions are tokens built from validated tags; everything else is escaped.
    let ping: Vec<String> = notice
        .mentions
        .iter()
        .filter_map(Mention::slack_token)
        .collect();
    let ping = ping.join(" ");
    let lead = if ping.is_empty() {
        String::new()
    } else {
        format!("{ping} ")
    };
    blocks.push(section(format!("{lead}{}", escape(&notice.summary))));
    if !notice.fields.is_empty() {
        let fields = notice
            .fields
            .iter()
            .take(FIELDS_MAX)
            .map(|(label, value)| {
                mrkdwn(fit(
                    &format!("*{}*\n{}", escape(label), escape(value)),
                    FIELD_MAX,
                ))
            })
            .collect();
        blocks.push(Block::Section { text: None, fields });
    }
    for part in &notice.sections {
        blocks.push(section(render_body(&part.label, &part.body)));
    }
    if let Some(links) = links_line(notice) {
        blocks.push(section(links));
    }
    if !notice.context.is_empty() {
        let elements = notice
            .context
            .iter()
            .take(CONTEXT_MAX)
            .map(|line| mrkdwn(fit(&escape(line), SECTION_MAX)))
            .collect();
        blocks.push(Block::Context { elements });
    }
    blocks.truncate(BLOCKS_MAX);
    let text = fit(
        &format!(
            "{lead}{}",
            escape(&format!("{}: {}", notice.title, notice.summary))
        ),
        FALLBACK_MAX,
    );
    Message { text, blocks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::notice::{Item, Link, Section, Severity};

    fn notice(text: &str) -> Notice {
        Notice {
            severity: Severity::Failure,
            title: text.to_string(),
            summary: text.to_string(),
            fields: vec![("Cluster".into(), text.to_string())],
            sections: vec![
                Section {
                    label: "Reason".into(),
                    body: Body::Code(text.to_string()),
                },
                Section {
                    label: "Containers".into(),
                    body: Body::Items(vec![Item {
                        lead: text.to_string(),
                        text: text.to_string(),
                    }]),
                },
                Section {
                    label: "Hint".into(),
                    body: Body::Text(text.to_string()),
                },
            ],
            links: vec![Link {
                label: text.to_string(),
                url: "https://x/a|b>c".into(),
            }],
            context: vec![text.to_string()],
            mentions: Vec::new(),
        }
    }

    #[test]
    fn event_text_cannot_ping_or_link() {
        let message = render(&notice("<!channel> <https://evil.example|click> & @here"));
        for (i, text) in message.texts().into_iter().enumerate() {
            if i == 1 {
                continue; // the header is plain_text
            }
            assert!(!text.contains("<!channel>"), "{text}");
            assert!(!text.contains("<https://evil"), "{text}");
        }
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.contains("<https://x/a%7Cb%3Ec|"), "{json}");
    }

    #[test]
    fn long_text_is_cut_within_limits() {
        let message = render(&notice(&"error & <detail> ".repeat(1000)));
        assert_eq!(message.limit_violation(), None);
        assert!(message
            .texts()
            .iter()
            .any(|t| t.contains(super::super::mrkdwn::CUT_MARKER)));
    }

    #[test]
    fn a_link_that_does_not_fit_is_left_out_whole() {
        let mut n = notice("x");
        n.links = vec![
            Link {
                label: "Task".into(),
                url: format!(
                    "https://eu-west-1.console.aws.amazon.com/ecs/{}",
                    "t".repeat(2900)
                ),
            },
            Link {
                label: "What AWS says".into(),
                url: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/x.html".into(),
            },
        ];
        let message = render(&n);
        let line = message
            .texts()
            .into_iter()
            .find(|t| t.starts_with(":mag:"))
            .unwrap();
        assert!(slack_len(line) <= SECTION_MAX);
        assert_eq!(
            line.matches('<').count(),
            line.matches('>').count(),
            "{line}"
        );
        assert!(
            line.ends_with("|Task>"),
            "the first link whole, the second left out"
        );
    }

    #[test]
    fn mentions_ping_but_event_text_does_not() {
        let mut n = notice("<!channel>");
        n.mentions = vec![Mention::SlackGroup("S0123ABC".into())];
        let message = render(&n);
        assert!(
            message
                .text
                .starts_with("<!subteam^S0123ABC> &lt;!channel&gt;"),
            "{}",
            message.text
        );
        let summary = message.texts()[2].to_string();
        assert!(
            summary.starts_with("<!subteam^S0123ABC> &lt;!channel&gt;"),
            "{summary}"
        );
    }

    #[test]
    fn block_kit_shape() {
        let json = serde_json::to_value(render(&notice("x"))).unwrap();
        assert_eq!(json["blocks"][0]["type"], "header");
        assert_eq!(json["blocks"][0]["text"]["type"], "plain_text");
        assert_eq!(json["blocks"][1]["text"]["type"], "mrkdwn");
        assert_eq!(json["blocks"][2]["fields"][0]["text"], "*Cluster*\nx");
        assert!(json["text"].as_str().unwrap().starts_with("x: x"));
    }
}
