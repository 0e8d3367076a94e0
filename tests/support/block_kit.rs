//! An independent check of a Slack message body, read as JSON the way Slack reads it: Block Kit's
//! documented limits for every block type, and event text that never pings or links.
//!
//! It knows nothing of the renderer's own checks (`Message::limit_violation`, `Message::texts`):
//! a block type it does not know is a problem, so a new kind of block cannot go unchecked.

use serde_json::Value;

/// Block Kit's limits (api.slack.com/reference/block-kit/blocks): blocks per message, a
/// header's plain text, a section's text, its fields and each field, a context's elements.
pub const BLOCKS: usize = 50;
pub const HEADER_TEXT: usize = 150;
pub const SECTION_TEXT: usize = 3000;
pub const FIELDS: usize = 10;
pub const FIELD_TEXT: usize = 2000;
pub const CONTEXT_ELEMENTS: usize = 10;
/// An actions block's elements; a button's plain text, `action_id`, `value` and `url`.
pub const ACTIONS_ELEMENTS: usize = 25;
pub const BUTTON_TEXT: usize = 75;
pub const ACTION_ID: usize = 255;
pub const BUTTON_VALUE: usize = 2000;
pub const BUTTON_URL: usize = 3000;
/// `chat.postMessage`'s `text` is truncated past 40,000 characters.
pub const TEXT: usize = 40_000;

/// Everything wrong with `body` (a message as posted: `text` and `blocks`). `mentions` are the
/// only `<!…>` / `<@…>` / `<#…>` sequences allowed, because the test itself configured them
/// (routing tags); any other `<` in mrkdwn must open a link to the AWS console or AWS's docs.
pub fn problems(body: &Value, mentions: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    match body.get("text").and_then(Value::as_str) {
        Some(text) if text.trim().is_empty() => out.push("`text` is empty".into()),
        Some(text) => {
            length(&mut out, "`text`", text, TEXT);
            unescaped(&mut out, "`text`", text, mentions);
        }
        None => out.push("no `text` fallback".into()),
    }
    let blocks = body
        .get("blocks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if blocks.len() > BLOCKS {
        out.push(format!("{} blocks, over {BLOCKS}", blocks.len()));
    }
    for (i, block) in blocks.iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let at = format!("block {i} ({kind})");
        match kind {
            "header" => match block.get("text") {
                Some(t) => {
                    if t.get("type").and_then(Value::as_str) != Some("plain_text") {
                        out.push(format!("{at}: a header's text must be plain_text"));
                    }
                    text_object(&mut out, &at, t, HEADER_TEXT, mentions);
                }
                None => out.push(format!("{at}: no text")),
            },
            "section" => {
                let text = block.get("text");
                let fields = block
                    .get("fields")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if text.is_none() && fields.is_empty() {
                    out.push(format!("{at}: neither text nor fields"));
                }
                if let Some(t) = text {
                    text_object(&mut out, &at, t, SECTION_TEXT, mentions);
                }
                if fields.len() > FIELDS {
                    out.push(format!("{at}: {} fields, over {FIELDS}", fields.len()));
                }
                for (j, f) in fields.iter().enumerate() {
                    text_object(
                        &mut out,
                        &format!("{at} field {j}"),
                        f,
                        FIELD_TEXT,
                        mentions,
                    );
                }
            }
            "context" => {
                let elements = block
                    .get("elements")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if elements.is_empty() || elements.len() > CONTEXT_ELEMENTS {
                    out.push(format!("{at}: {} elements", elements.len()));
                }
                for (j, e) in elements.iter().enumerate() {
                    text_object(
                        &mut out,
                        &format!("{at} element {j}"),
                        e,
                        SECTION_TEXT,
                        mentions,
                    );
                }
            }
            "divider" => {}
            "actions" => actions(&mut out, &at, block),
            other => out.push(format!(
                "{at}: a block type this check does not know: {other:?}"
            )),
        }
    }
    out
}

/// An actions block: one to 25 buttons, each with plain text, an `action_id`, and a `value`
/// or an https `url`, within their limits.
fn actions(out: &mut Vec<String>, at: &str, block: &Value) {
    let elements = block
        .get("elements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if elements.is_empty() || elements.len() > ACTIONS_ELEMENTS {
        out.push(format!("{at}: {} elements", elements.len()));
    }
    for (j, e) in elements.iter().enumerate() {
        let at = format!("{at} element {j}");
        if e.get("type").and_then(Value::as_str) != Some("button") {
            out.push(format!("{at}: not a button"));
        }
        match e.get("text") {
            Some(t) if t.get("type").and_then(Value::as_str) == Some("plain_text") => {
                text_object(out, &at, t, BUTTON_TEXT, &[])
            }
            _ => out.push(format!("{at}: a button's text must be plain_text")),
        }
        let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
        let id = field("action_id");
        if id.is_empty() || id.len() > ACTION_ID {
            out.push(format!("{at}: action_id of {} characters", id.len()));
        }
        if field("value").len() > BUTTON_VALUE {
            out.push(format!("{at}: value over {BUTTON_VALUE}"));
        }
        let url = field("url");
        if !url.is_empty() && (!url.starts_with("https://") || url.len() > BUTTON_URL) {
            out.push(format!("{at}: url {url:?}"));
        }
        if url.is_empty() && field("value").is_empty() {
            out.push(format!("{at}: neither value nor url"));
        }
    }
}

fn text_object(out: &mut Vec<String>, at: &str, t: &Value, max: usize, mentions: &[&str]) {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(text) = t.get("text").and_then(Value::as_str) else {
        out.push(format!("{at}: a text object without text"));
        return;
    };
    if text.is_empty() {
        out.push(format!("{at}: empty text"));
    }
    length(out, at, text, max);
    match kind {
        "mrkdwn" => unescaped(out, at, text, mentions),
        "plain_text" => {} // shown as typed: no mentions, no links
        other => out.push(format!("{at}: text type {other:?}")),
    }
}

fn length(out: &mut Vec<String>, at: &str, text: &str, max: usize) {
    let n = text.chars().count();
    if n > max {
        out.push(format!("{at}: {n} characters, over {max}"));
    }
}

/// Every `<` opens a console link, a link to AWS's documentation (the page of a stop cause:
/// docs.aws.amazon.com and the Knowledge Center on repost.aws, fixed text of the catalogue) or
/// an allowed mention.
fn unescaped(out: &mut Vec<String>, at: &str, text: &str, mentions: &[&str]) {
    for (i, _) in text.match_indices('<') {
        let rest = &text[i..];
        let console = rest
            .strip_prefix("<https://")
            .and_then(|r| r.split('/').next())
            .is_some_and(|host| {
                host.ends_with(".console.aws.amazon.com")
                    || host.ends_with(".console.amazonaws.cn")
                    || host == "console.amazonaws-us-gov.com"
                    || host == "docs.aws.amazon.com"
                    || host == "repost.aws"
            });
        if !console && !mentions.iter().any(|m| rest.starts_with(m)) {
            let end = rest.char_indices().nth(40).map_or(rest.len(), |(e, _)| e);
            out.push(format!("{at}: unescaped `<` at {:?}", &rest[..end]));
        }
    }
}
