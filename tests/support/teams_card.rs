//! An independent reading of a Teams message (the Workflow envelope with its Adaptive Card) as
//! Teams reads it: which strings are markdown, what in them would link or mention, which
//! mentions and buttons it carries, and its size. The property tests' oracle for Teams.

use serde_json::Value;

/// The largest message Teams takes (about 28 KB).
pub const TEAMS_MAX: usize = 28 * 1024;

/// Whether the character at byte `i` of `text` is escaped (an odd run of backslashes before it).
fn escaped(text: &str, i: usize) -> bool {
    text[..i].bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// What in one markdown string would link or mention: an unescaped `[`, `]`, `<` or `>`, other
/// than the `<at>…</at>` of an allowed mention.
fn markdown_problems(text: &str, mentions: &[&str], out: &mut Vec<String>) {
    let mut rest = text.to_string();
    for m in mentions {
        rest = rest.replace(&format!("<at>{m}</at>"), "");
    }
    for (i, ch) in rest.char_indices() {
        if matches!(ch, '[' | ']' | '<' | '>') && !escaped(&rest, i) {
            out.push(format!("unescaped {ch:?} in markdown: {text:?}"));
            return;
        }
    }
    // A bare link target after an escaped bracket still needs its `[`.
    if rest.contains("](") && !rest.contains("\\](") {
        out.push(format!("a link in markdown: {text:?}"));
    }
}

/// Walks the body's elements, gathering every markdown string (TextBlock text, fact titles and
/// values) and the types seen.
fn walk<'a>(elements: &'a Value, markdown: &mut Vec<&'a str>, types: &mut Vec<String>) {
    for element in elements.as_array().into_iter().flatten() {
        let kind = element["type"].as_str().unwrap_or("").to_string();
        match kind.as_str() {
            "TextBlock" => markdown.extend(element["text"].as_str()),
            "FactSet" => {
                for fact in element["facts"].as_array().into_iter().flatten() {
                    markdown.extend(fact["title"].as_str());
                    markdown.extend(fact["value"].as_str());
                }
            }
            "Container" => walk(&element["items"], markdown, types),
            _ => {}
        }
        types.push(kind);
    }
}

/// Everything wrong with `envelope` (the request body): the envelope's shape, markdown that
/// would link or mention, mentions other than `mentions` (UPNs or object ids the test
/// configured), buttons to anything but AWS, a size over Teams' limit.
pub fn problems(envelope: &Value, mentions: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let size = envelope.to_string().len();
    if size > TEAMS_MAX {
        out.push(format!("{size} bytes"));
    }
    if envelope["type"] != "message" {
        out.push("not a message".into());
    }
    let attachment = &envelope["attachments"][0];
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
        out.push("not an Adaptive Card".into());
    }
    let card = &attachment["content"];
    if card["type"] != "AdaptiveCard" || card["version"] != "1.5" {
        out.push("not an Adaptive Card 1.5".into());
    }
    let (mut markdown, mut types) = (Vec::new(), Vec::new());
    walk(&card["body"], &mut markdown, &mut types);
    for text in markdown {
        markdown_problems(text, mentions, &mut out);
    }
    for t in types {
        if !["TextBlock", "RichTextBlock", "FactSet", "Container"].contains(&t.as_str()) {
            out.push(format!("element {t}"));
        }
    }
    for entity in card["msteams"]["entities"].as_array().into_iter().flatten() {
        let id = entity["mentioned"]["id"].as_str().unwrap_or("");
        if !mentions.contains(&id) || entity["text"] != format!("<at>{id}</at>") {
            out.push(format!("mention of {id:?}"));
        }
    }
    for action in card["actions"].as_array().into_iter().flatten() {
        let url = action["url"].as_str().unwrap_or("");
        let host = url
            .strip_prefix("https://")
            .and_then(|r| r.split(['/', '?', '#']).next())
            .unwrap_or("");
        // The console, AWS's documentation and the Knowledge Center (the catalogue's pages).
        let aws = host.ends_with(".console.aws.amazon.com")
            || host.ends_with(".console.amazonaws.cn")
            || host == "console.amazonaws-us-gov.com"
            || host == "docs.aws.amazon.com"
            || host == "repost.aws";
        if action["type"] != "Action.OpenUrl" || !aws {
            out.push(format!("button to {url:?}"));
        }
    }
    out
}
