//! Shows Slack messages as a web page laid out as Slack lays out Block Kit (header, sections,
//! fields, context, dividers; mrkdwn bold, italics, code, quotes, links, emoji and mentions),
//! for `render --html`. Pure.

use super::blocks::{Block, Message, Text};
use super::preview::EMOJI;

const STYLE: &str = r#"
body { font: 15px/1.46 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d1c1d; background: #f8f8f8; margin: 24px; }
.message { background: #fff; width: 640px; padding: 12px 20px; margin: 0 0 24px; border: 1px solid #ddd; border-radius: 8px; }
.message > .name { font: 12px monospace; color: #868686; margin-bottom: 8px; }
.bot { font-weight: 900; margin-bottom: 4px; }
.block { margin: 4px 0; overflow-wrap: anywhere; }
.header { font-size: 18px; font-weight: 900; margin: 8px 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
.context { font-size: 12px; color: #616061; display: flex; flex-wrap: wrap; gap: 4px 12px; }
hr { border: 0; border-top: 1px solid #ddd; }
pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; font: 12px/1.5 monospace; margin: 4px 0; }
code { color: #c01343; background: #f8f8f8; border: 1px solid #ddd; border-radius: 3px; padding: 0 2px; font: 12px monospace; }
blockquote { border-left: 4px solid #ddd; margin: 0; padding-left: 12px; }
a { color: #1264a3; text-decoration: none; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
"#;

/// One page showing `messages`, each under its name.
pub fn page(messages: &[(String, Message)]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecs-notifier alerts</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n");
    for (name, message) in messages {
        out.push_str(&format!(
            "<section class=\"message\" data-name=\"{}\">\n<div class=\"name\">{}</div>\n<div class=\"bot\">ecs-notifier</div>\n",
            attribute(name),
            attribute(name)
        ));
        for block in &message.blocks {
            out.push_str(&block_html(block));
            out.push('\n');
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn block_html(block: &Block) -> String {
    match block {
        Block::Header { text } => format!("<div class=\"block header\">{}</div>", text_html(text)),
        Block::Section { text, fields } => {
            let mut out = String::new();
            if let Some(text) = text {
                out.push_str(&format!(
                    "<div class=\"block section\">{}</div>",
                    text_html(text)
                ));
            }
            if !fields.is_empty() {
                out.push_str("<div class=\"block fields\">");
                for f in fields {
                    out.push_str(&format!("<div class=\"field\">{}</div>", text_html(f)));
                }
                out.push_str("</div>");
            }
            out
        }
        Block::Context { elements } => {
            let inner: String = elements
                .iter()
                .map(|e| format!("<span>{}</span>", text_html(e)))
                .collect();
            format!("<div class=\"block context\">{inner}</div>")
        }
        Block::Divider {} => "<hr class=\"block divider\">".into(),
        Block::Actions { elements, .. } => {
            let inner: String = elements
                .iter()
                .map(|b| format!("<span class=\"button\">{}</span>", text_html(&b.text)))
                .collect();
            format!("<div class=\"block actions\">{inner}</div>")
        }
    }
}

fn text_html(text: &Text) -> String {
    match text {
        Text::Plain { text, .. } => emoji(&html_escape(text)),
        Text::Mrkdwn { text } => mrkdwn(text),
    }
}

/// Text as HTML: `&`, `<`, `>` and `"` escaped.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn attribute(text: &str) -> String {
    html_escape(text)
}

fn emoji(text: &str) -> String {
    EMOJI.iter().fold(text.to_string(), |acc, (code, glyph)| {
        acc.replace(code, glyph)
    })
}

/// Slack mrkdwn as HTML. Its text arrives escaped as Slack wants it (`&amp;`, `&lt;`, `&gt;`,
/// which HTML reads the same); `<…>` are links and mentions; code spans and blocks keep their
/// content as it is.
pub fn mrkdwn(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("```").enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<pre>{}</pre>", tokens(part)));
        } else {
            out.push_str(&lines(part));
        }
    }
    out
}

/// Lines, with `>` quotes, `` `code` `` spans and inline formatting.
fn lines(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let (quoted, line) = match line.strip_prefix("&gt; ").or(line.strip_prefix("> ")) {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let mut html = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 {
                html.push_str(&format!("<code>{}</code>", tokens(part)));
            } else {
                html.push_str(&formatting(&emoji(&tokens(part))));
            }
        }
        out.push(if quoted {
            format!("<blockquote>{html}</blockquote>")
        } else {
            html
        });
    }
    out.join("<br>")
}

/// `<url|label>` as a link, `<!here>`, `<!subteam^ID>` and `<@U…>` as mentions; any other `<`
/// (there is none in escaped text) shown as text.
fn tokens(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&html_escape(&rest[start..]));
            rest = "";
            break;
        };
        let inner = &after[..end];
        let shown = if let Some(id) = inner.strip_prefix("!subteam^") {
            format!("<span class=\"mention\">@{}</span>", html_escape(id))
        } else if let Some(special) = inner.strip_prefix('!') {
            format!("<span class=\"mention\">@{}</span>", html_escape(special))
        } else if let Some(user) = inner.strip_prefix('@') {
            format!("<span class=\"mention\">@{}</span>", html_escape(user))
        } else {
            let (url, label) = inner.split_once('|').unwrap_or((inner, inner));
            format!("<a href=\"{}\">{label}</a>", url.replace('"', "%22"))
        };
        out.push_str(&shown);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `*bold*`, `_italic_` and `~strike~` within a line, as Slack reads them: the markers next to
/// a word, the text between them not empty.
fn formatting(text: &str) -> String {
    let mut out = text.to_string();
    for (marker, tag) in [('*', "b"), ('_', "i"), ('~', "s")] {
        out = pairs(&out, marker, tag);
    }
    out
}

fn pairs(text: &str, marker: char, tag: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find(marker) {
        let before_ok = rest[..open]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let body = &rest[open + 1..];
        let close = body.find(marker);
        match close {
            Some(close)
                if before_ok
                    && close > 0
                    && !body[..close].starts_with(' ')
                    && !body[..close].ends_with(' ')
                    && !body[..close].contains('<') =>
            {
                out.push_str(&rest[..open]);
                out.push_str(&format!("<{tag}>{}</{tag}>", &body[..close]));
                rest = &body[close + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 1]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_as_slack_shows_it() {
        assert_eq!(mrkdwn("*Cluster*\nprod"), "<b>Cluster</b><br>prod");
        assert_eq!(
            mrkdwn("• `app` exited 137"),
            "• <code>app</code> exited 137"
        );
        assert_eq!(
            mrkdwn("```a &lt;!channel&gt; *b*```"),
            "<pre>a &lt;!channel&gt; *b*</pre>"
        );
        assert_eq!(
            mrkdwn(":mag: <https://x.console.aws.amazon.com/a?b=c|Task in the console>"),
            "🔎 <a href=\"https://x.console.aws.amazon.com/a?b=c\">Task in the console</a>"
        );
        assert_eq!(
            mrkdwn("<!subteam^S0123ABC> <!here> hi"),
            "<span class=\"mention\">@S0123ABC</span> <span class=\"mention\">@here</span> hi"
        );
        assert_eq!(
            mrkdwn("&gt; quoted _it_"),
            "<blockquote>quoted <i>it</i></blockquote>"
        );
        assert_eq!(
            mrkdwn("snake_case_name and 2*3*4"),
            "snake_case_name and 2*3*4"
        );
    }

    #[test]
    fn text_from_an_event_cannot_become_markup() {
        // Escaped by the renderer, then shown as text, never as tags.
        let shown = mrkdwn("&lt;script&gt;alert(1)&lt;/script&gt;");
        assert!(!shown.contains("<script>"), "{shown}");
        let plain = text_html(&Text::Plain {
            text: "<img src=x onerror=alert(1)>".into(),
            emoji: true,
        });
        assert!(!plain.contains("<img"), "{plain}");
    }
}
