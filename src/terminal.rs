//! Mail-derived text made safe to print to a terminal.
//!
//! A held message's subject, addresses, file names and text come from
//! whoever sent it. Printed raw, escape sequences in them can move the
//! cursor, rewrite what was printed before or retitle the window, and
//! bidirectional overrides can make `invoice\u{202E}fdp.exe` read as
//! `invoiceexe.pdf`. So the commands strip them before printing.

/// Whether `c` must not reach a terminal: a control character (C0, DEL,
/// C1, which start escape sequences) or a character a renderer shows as
/// nothing (bidi controls, directional marks, zero-width characters: the
/// inspection's own [`cordon_inspect::is_unseen`]).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || cordon_inspect::is_unseen(c)
}

/// `text` on one line without what [`is_unsafe`] names: for a field
/// printed within a line.
pub fn field(text: &str) -> String {
    text.chars().filter(|&c| !is_unsafe(c)).collect()
}

/// `text` without what [`is_unsafe`] names, except line feeds and tabs:
/// for a block of text.
pub fn block(text: &str) -> String {
    text.chars()
        .filter(|&c| c == '\n' || c == '\t' || !is_unsafe(c))
        .collect()
}

/// JSON text with every character [`is_unsafe`] names written as a
/// `\uXXXX` escape instead (serde_json escapes only C0 controls): the same
/// JSON value, safe to print. Such characters can only be inside strings,
/// where the escape stands for the same character.
pub fn json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) && c != '\n' {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_controls_are_stripped() {
        assert_eq!(
            field("invoice\u{202E}fdp.exe \u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\r\nend"),
            "invoicefdp.exe [2J]0;pwned31mend"
        );
        assert_eq!(block("a\n\tb\u{1b}[1m\u{2067}c"), "a\n\tb[1mc");
        assert_eq!(field("Grüße 👮‍♀️"), "Grüße 👮‍♀️");
    }

    #[test]
    fn json_keeps_its_value() {
        let value = serde_json::json!({ "subject": "a\u{202E}b\u{9b}c\u{1b}" });
        let text = json(&serde_json::to_string_pretty(&value).unwrap());
        assert!(text.is_ascii(), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
