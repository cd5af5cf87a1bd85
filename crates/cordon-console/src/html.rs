//! Escaping for everything the console shows: the templates' values (see
//! [`crate::templates`]), the little HTML and SVG the console builds
//! outside them (highlighted text, charts), and query strings in links.
//!
//! Mail-derived text may hold characters that change what the officer
//! reads without being seen: bidirectional overrides (`invoice\u{202E}fdp.exe`
//! reads as "invoiceexe.pdf"), invisible marks and control characters. They
//! are shown as a visible `[U+XXXX]` instead, so nothing is reordered or
//! hidden.

/// Whether `c` is shown as `[U+XXXX]` rather than as itself: a control
/// character other than line feed, carriage return and tab, or a character
/// a renderer shows as nothing (bidi controls, directional marks, zero-width
/// characters: the inspection's own [`cordon_extract::is_unseen`]).
pub(crate) fn is_hidden_or_reordering(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || cordon_extract::is_unseen(c)
}

/// `text` with `& < > " ' /` replaced by entities (safe as element content
/// and inside a quoted attribute value) and every character
/// [`is_hidden_or_reordering`] names shown as `[U+XXXX]`.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(text, &mut out);
    out
}

/// Appends `text`, escaped as by [`escape`], to `out`.
pub(crate) fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c if is_hidden_or_reordering(c) => {
                out.push_str(&format!("[U+{:04X}]", u32::from(c)));
            }
            c => out.push(c),
        }
    }
}

/// `text` percent-encoded for a URL query value: unreserved ASCII stays,
/// every other byte becomes `%XX`.
pub(crate) fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<img src="x" onerror='a()'>&amp;</b>"#),
            "&lt;img src=&quot;x&quot; onerror=&#x27;a()&#x27;&gt;&amp;amp;&lt;&#x2f;b&gt;"
        );
        assert_eq!(escape("plain text é"), "plain text é");
    }

    #[test]
    fn bidi_and_control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("invoice\u{202E}fdp.exe"), "invoice[U+202E]fdp.exe");
        assert_eq!(
            escape("a\u{1b}[2J\u{2067}b\u{200B}c\u{9b}\u{7f}"),
            "a[U+001B][2J[U+2067]b[U+200B]c[U+009B][U+007F]"
        );
        assert_eq!(escape("line\r\n\tnext 👮‍♀️"), "line\r\n\tnext 👮‍♀️");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_component("rule-1_x.y~"), "rule-1_x.y~");
    }
}
