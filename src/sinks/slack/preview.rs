//! Shows a Slack message in a terminal roughly as Slack would display it.

use super::blocks::{Block, Message, Text};
use super::mrkdwn::unescape;

/// `<url|label>` → `label (url)`, then entities back to characters.
fn display(mrkdwn: &str) -> String {
    let mut out = String::new();
    let mut rest = mrkdwn;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('>') {
            Some(end) => {
                let inner = &after[..end];
                if let Some(id) = inner.strip_prefix("!subteam^") {
                    out.push_str(&format!("@{id} (user group)"));
                } else if let Some(special) = inner.strip_prefix('!') {
                    out.push_str(&format!("@{special}"));
                } else if inner.starts_with('@') {
                    out.push_str(inner);
                } else {
                    match inner.split_once('|') {
                        Some((url, label)) => out.push_str(&format!("{label} ({url})")),
                        None => out.push_str(inner),
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    unescape(&out)
}

/// Emoji shortcodes this function uses, as the characters Slack shows.
pub(super) const EMOJI: [(&str, &str); 5] = [
    (":red_circle:", "🔴"),
    (":warning:", "⚠️"),
    (":white_check_mark:", "✅"),
    (":information_source:", "ℹ️"),
    (":mag:", "🔎"),
];

fn emoji(text: &str) -> String {
    EMOJI.iter().fold(text.to_string(), |acc, (code, glyph)| {
        acc.replace(code, glyph)
    })
}

/// `*Label*` at the start of a line shows as bold in Slack; plain here.
fn unbold(text: &str) -> String {
    text.lines()
        .map(
            |line| match line.strip_prefix('*').and_then(|rest| rest.split_once('*')) {
                Some((label, rest)) => format!("{label}{rest}"),
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(t: &Text) -> String {
    match t {
        Text::Plain { text, .. } => emoji(text),
        Text::Mrkdwn { text } => emoji(&unbold(&display(text))),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("│ {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message as lines of text, framed.
pub fn preview(message: &Message) -> String {
    let mut parts = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Header { text: t } => parts.push(text(t)),
            Block::Section { text: t, fields } => {
                if let Some(t) = t {
                    parts.push(text(t));
                }
                if !fields.is_empty() {
                    let rows: Vec<String> = fields
                        .iter()
                        .map(|f| text(f).replacen('\n', ": ", 1))
                        .collect();
                    parts.push(rows.join("\n"));
                }
            }
            Block::Context { elements } => {
                parts.push(elements.iter().map(text).collect::<Vec<_>>().join("  ·  "))
            }
            Block::Divider {} => parts.push("─".repeat(40)),
            Block::Actions { elements, .. } => parts.push(
                elements
                    .iter()
                    .map(|b| format!("[ {} ]", text(&b.text)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }
    indent(&parts.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_entities_read_naturally() {
        assert_eq!(
            display("see <https://a/b|the task> &amp; &lt;!channel&gt;"),
            "see the task (https://a/b) & <!channel>"
        );
        assert_eq!(display("a < b"), "a < b");
        assert_eq!(
            display("<!subteam^S0123ABC> <!here> <@U024BE7LH> hi"),
            "@S0123ABC (user group) @here @U024BE7LH hi"
        );
        assert_eq!(
            text(&Text::Mrkdwn {
                text: "*Cluster*\nprod".into()
            }),
            "Cluster\nprod"
        );
        assert_eq!(
            text(&Text::Plain {
                text: ":red_circle: x".into(),
                emoji: true
            }),
            "🔴 x"
        );
    }
}
