//! Escaping for Slack mrkdwn and cutting text to Slack's length limits without breaking it.

/// Marker appended where text was cut.
pub const CUT_MARKER: &str = "… (cut)";

/// Escapes `&`, `<` and `>` so text from an event can neither ping (`<!channel>`) nor link.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut start = 0;
    // The three characters are ASCII, so their byte positions are character boundaries.
    for (idx, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(&text[start..idx]);
        out.push_str(entity);
        start = idx + 1;
    }
    out.push_str(&text[start..]);
    out
}

/// Undoes [`escape`], for showing a message in a terminal.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Length as Slack counts it, conservatively: UTF-16 code units (never fewer than characters).
pub fn slack_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Cuts escaped text to at most `limit` (as [`slack_len`] counts) and marks the cut. Never
/// splits a character or an `&amp;`-style entity.
pub fn fit(text: &str, limit: usize) -> String {
    // UTF-16 never needs more units than UTF-8 needs bytes: short texts need no counting.
    if text.len() <= limit || slack_len(text) <= limit {
        return text.to_string();
    }
    let budget = limit.saturating_sub(slack_len(CUT_MARKER));
    let mut end = 0;
    let mut used = 0;
    for (idx, ch) in text.char_indices() {
        let width = ch.len_utf16();
        if used + width > budget {
            break;
        }
        used += width;
        end = idx + ch.len_utf8();
    }
    let mut cut = &text[..end];
    // Back off an entity cut in half (`&am`).
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut = &cut[..amp];
        }
    }
    let mut out = cut.to_string();
    if limit >= slack_len(CUT_MARKER) {
        out.push_str(CUT_MARKER);
    }
    out
}

/// A code block of escaped text, cut so the whole block (fences included) fits `limit`.
pub fn code_block(escaped: &str, limit: usize) -> String {
    // Backtick fences cannot be escaped in mrkdwn; neutralise them inside the block.
    let inner = escaped.replace("```", "'''");
    format!("```{}```", fit(&inner, limit.saturating_sub(6)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            escape("<!channel> & <https://evil|x>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"
        );
        assert_eq!(unescape(&escape("a<b>&c")), "a<b>&c");
    }

    #[test]
    fn fit_cuts_with_marker_and_respects_limit() {
        let long = "x".repeat(5000);
        let cut = fit(&long, 3000);
        assert_eq!(slack_len(&cut), 3000);
        assert!(cut.ends_with(CUT_MARKER));
        assert_eq!(fit("short", 3000), "short");
    }

    #[test]
    fn fit_never_splits_entities_or_characters() {
        let text = escape(&"<".repeat(100));
        for limit in 8..60 {
            let cut = fit(&text, limit);
            assert!(slack_len(&cut) <= limit, "{limit}: {cut}");
            let body = cut.trim_end_matches(CUT_MARKER);
            assert_eq!(body.len() % 4, 0, "entity split at {limit}: {cut}");
        }
        let emoji = "🙂".repeat(50);
        let cut = fit(&emoji, 21);
        assert!(slack_len(&cut) <= 21);
    }

    #[test]
    fn code_blocks_stay_closed() {
        let block = code_block(&"a```b".repeat(1000), 3000);
        assert!(slack_len(&block) <= 3000);
        assert!(block.starts_with("```") && block.ends_with("```"));
        assert_eq!(block.matches("```").count(), 2);
    }
}
