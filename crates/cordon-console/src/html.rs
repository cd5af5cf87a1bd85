//! Escaping for the little HTML and SVG the console builds outside the
//! templates (highlighted text, charts), and for query strings in links.

/// `text` with `& < > " ' /` replaced by entities: safe as element content
/// and inside a quoted attribute value.
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
    fn encodes_query_values() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_component("rule-1_x.y~"), "rule-1_x.y~");
    }
}
