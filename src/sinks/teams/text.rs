//! Text for a card: markdown escaped where Teams reads it (so event text can neither link nor
//! mention), and cutting to a number of characters.

/// Marker appended where text was cut.
pub const CUT_MARKER: &str = "… (cut)";

/// Characters Teams' markdown reads anywhere in a line: links (`[x](y)`, `<url>`), mentions
/// (`<at>`), emphasis, code, strike-through, tables, entities, escapes.
const MARKDOWN: &[char] = &['\\', '[', ']', '<', '>', '*', '_', '`', '~', '|', '&'];
/// Characters that start a block (a heading, a list, a quote) at the start of a line.
const LINE_START: &[char] = &['#', '-', '+', '=', '!'];

/// Escapes markdown with backslashes (CommonMark escapes any ASCII punctuation), so event text
/// in a fact shows as written and can neither link nor mention: every character read anywhere,
/// and a block's marker at the start (a fact is one line).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, ch) in text.chars().enumerate() {
        if MARKDOWN.contains(&ch) || (i == 0 && LINE_START.contains(&ch)) {
            out.push('\\');
        }
        // Line breaks inside a fact would start markdown blocks: one line each.
        out.push(if ch == '\r' || ch == '\n' { ' ' } else { ch });
    }
    // `1. ` at the start is an ordered list.
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && matches!(out[digits..].chars().next(), Some('.' | ')')) {
        out.insert(digits, '\\');
    }
    out
}

/// Cuts plain text to at most `limit` characters, marking the cut.
pub fn fit(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let keep = limit.saturating_sub(CUT_MARKER.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(CUT_MARKER);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_links_mentions_and_emphasis() {
        assert_eq!(escape("[x](https://e)"), r"\[x\](https://e)");
        assert_eq!(escape("- a-b"), r"\- a-b");
        assert_eq!(escape("12. x"), r"12\. x");
        assert_eq!(escape("<at>jane</at>"), r"\<at\>jane\</at\>");
        assert_eq!(escape("a_b*c\\"), r"a\_b\*c\\");
        assert_eq!(escape("two\nlines"), "two lines");
    }

    #[test]
    fn cuts_to_a_number_of_characters() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(
            fit(&"🙂".repeat(20), 10),
            format!("{}{CUT_MARKER}", "🙂".repeat(3))
        );
        assert_eq!(fit(&"x".repeat(20), 10).chars().count(), 10);
    }
}
