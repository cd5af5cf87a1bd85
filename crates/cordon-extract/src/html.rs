//! HTML to text: the words a reader sees, in reading order, with block elements
//! on their own lines. Inline tags join without a space, so `Opera<b>tion</b>`
//! stays one word; script and style contents are dropped; entities are decoded.

use html5gum::{DefaultEmitter, Token, Tokenizer};

/// Returns the visible text of an HTML document or fragment.
pub(crate) fn to_text(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut out = String::with_capacity(html.len() / 2);
    let mut skip_depth = 0u32;
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = tag.name.as_slice();
                if is_hidden_content(name) {
                    if !tag.self_closing {
                        skip_depth += 1;
                    }
                } else if is_block(name) {
                    out.push('\n');
                } else if is_cell(name) {
                    out.push(' ');
                }
                // alt and title text is visible to the reader too
                for attr in [b"alt".as_slice(), b"title".as_slice()] {
                    if let Some(value) = tag.attributes.get(attr) {
                        out.push(' ');
                        out.push_str(&String::from_utf8_lossy(value));
                        out.push(' ');
                    }
                }
            }
            Token::EndTag(tag) => {
                let name = tag.name.as_slice();
                if is_hidden_content(name) {
                    skip_depth = skip_depth.saturating_sub(1);
                } else if is_block(name) {
                    out.push('\n');
                } else if is_cell(name) {
                    out.push(' ');
                }
            }
            Token::String(text) if skip_depth == 0 => out.push_str(&String::from_utf8_lossy(&text)),
            _ => {}
        }
    }
    out
}

/// Elements whose content is never shown as text.
fn is_hidden_content(name: &[u8]) -> bool {
    [b"script".as_slice(), b"style", b"template", b"noscript"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// Elements that start a new line.
fn is_block(name: &[u8]) -> bool {
    const BLOCKS: &[&[u8]] = &[
        b"p",
        b"div",
        b"br",
        b"hr",
        b"li",
        b"ul",
        b"ol",
        b"dl",
        b"dt",
        b"dd",
        b"tr",
        b"table",
        b"thead",
        b"tbody",
        b"tfoot",
        b"caption",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"pre",
        b"blockquote",
        b"section",
        b"article",
        b"header",
        b"footer",
        b"nav",
        b"aside",
        b"main",
        b"address",
        b"figure",
        b"figcaption",
        b"form",
        b"fieldset",
        b"legend",
        b"title",
        b"body",
        b"center",
    ];
    BLOCKS.iter().any(|n| name.eq_ignore_ascii_case(n))
}

/// Table cells: separated by a space so neighbouring cells do not run together.
fn is_cell(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"td") || name.eq_ignore_ascii_case(b"th")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    fn text(html: &str) -> String {
        normalize(&to_text(html))
    }

    #[test]
    fn inline_tags_do_not_split_words() {
        assert_eq!(
            text("<p>Opera<b>tion</b> Night<span>jar</span></p>"),
            "Operation Nightjar"
        );
    }

    #[test]
    fn blocks_become_lines() {
        assert_eq!(
            text("<div>OFFICIAL-SENSITIVE</div><p>Dear all</p>"),
            "OFFICIAL-SENSITIVE\nDear all"
        );
        assert_eq!(text("line one<br>line two"), "line one\nline two");
    }

    #[test]
    fn table_cells_are_separated() {
        assert_eq!(
            text("<table><tr><td>NINO</td><td>JM412987B</td></tr></table>"),
            "NINO JM412987B"
        );
    }

    #[test]
    fn script_style_and_comments_are_dropped_entities_decoded() {
        assert_eq!(
            text(
                "<style>p{color:red}</style><script>var x='<p>';</script><!-- hidden -->Fish &amp; chips&nbsp;&pound;5"
            ),
            "Fish & chips £5"
        );
    }

    #[test]
    fn broken_markup_does_not_lose_text() {
        assert_eq!(text("<p>unclosed <b>bold <i>text"), "unclosed bold text");
        assert_eq!(text("a < b > c"), "a < b > c");
    }
}
