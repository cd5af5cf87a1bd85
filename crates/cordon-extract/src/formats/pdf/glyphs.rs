//! Glyph names to text, by the Adobe Glyph List specification: the names of
//! the Adobe Glyph List (`glyphlist.txt`, BSD-licensed data kept beside this
//! file), `uniXXXX` and `uXXXX[XX]` names, variants after a period (`a.sc`)
//! and ligatures joined by underscores (`f_f_i`). Fonts without a `ToUnicode`
//! map (Type 3 fonts, simple fonts re-encoded with `/Differences`) name their
//! glyphs this way, and their text is readable only through these names.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The Adobe Glyph List 2.0: `name;XXXX[ XXXX...]` lines, `#` comments.
const GLYPH_LIST: &str = include_str!("glyphlist.txt");

/// Longest glyph name read (longer names are not produced by real fonts and
/// would only cost work).
const MAX_NAME: usize = 256;

/// The glyph list as name to its code points field (hex, space-separated).
fn glyph_list() -> &'static HashMap<&'static str, &'static str> {
    static LIST: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        GLYPH_LIST
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(';'))
            .collect()
    })
}

/// The text of a glyph name, or `None` for names that carry no meaning
/// (`g42`, `cid17`, `.notdef`).
pub(super) fn glyph_text(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name.get(..MAX_NAME).unwrap_or(name)).ok()?;
    let base = name.split('.').next().unwrap_or_default();
    let mut text = String::new();
    for component in base.split('_') {
        component_text(component, &mut text);
    }
    (!text.is_empty()).then_some(text)
}

/// Appends the text of one component of a glyph name.
fn component_text(component: &str, out: &mut String) {
    if component.is_empty() {
        return;
    }
    if let Some(points) = glyph_list().get(component) {
        out.extend(points.split(' ').filter_map(scalar).map(plain_variant));
        return;
    }
    if let Some(hex) = component.strip_prefix("uni")
        && !hex.is_empty()
        && hex.len() % 4 == 0
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let chars: Option<Vec<char>> = hex
            .as_bytes()
            .chunks(4)
            .map(|group| scalar(std::str::from_utf8(group).ok()?))
            .collect();
        if let Some(chars) = chars {
            out.extend(chars);
        }
        return;
    }
    if let Some(hex) = component.strip_prefix('u')
        && (4..=6).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && let Some(ch) = scalar(hex)
    {
        out.push(ch);
    }
}

/// The ASCII character of an Adobe small-capital or old-style figure code
/// point (`Asmall` is U+F761, `zerooldstyle` U+F730: U+F7xx stands for the
/// ASCII character xx), so that text set in small capitals reads as letters.
fn plain_variant(ch: char) -> char {
    match u32::from(ch) {
        code @ 0xF721..=0xF77E => char::from_u32(code - 0xF700).unwrap_or(ch),
        _ => ch,
    }
}

/// The character of a hex code point, if it is a Unicode scalar value (not
/// a surrogate, not past U+10FFFF).
fn scalar(hex: &str) -> Option<char> {
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> Option<String> {
        glyph_text(name.as_bytes())
    }

    #[test]
    fn glyph_names() {
        assert_eq!(text("uni00E9").as_deref(), Some("é"));
        assert_eq!(text("g42"), None);
    }

    #[test]
    fn adobe_glyph_list_names_variants_and_ligatures() {
        assert_eq!(text("A").as_deref(), Some("A"));
        assert_eq!(text("zero").as_deref(), Some("0"));
        assert_eq!(text("hyphen").as_deref(), Some("-"));
        assert_eq!(text("Scaron").as_deref(), Some("Š"));
        assert_eq!(text("afii10017").as_deref(), Some("А"));
        assert_eq!(text("a.sc").as_deref(), Some("a"));
        assert_eq!(text("one.oldstyle").as_deref(), Some("1"));
        assert_eq!(text("f_i").as_deref(), Some("fi"));
        assert_eq!(text("f_f_i.alt").as_deref(), Some("ffi"));
        assert_eq!(text("uni004A004D").as_deref(), Some("JM"));
        assert_eq!(text("u1F600").as_deref(), Some("😀"));
        assert_eq!(text("uniD800"), None);
        assert_eq!(text("u110000"), None);
        assert_eq!(text(".notdef"), None);
        assert_eq!(text("cid17"), None);
        assert_eq!(text("ffi").as_deref(), Some("\u{FB03}"));
        assert_eq!(text("Asmall").as_deref(), Some("a"));
        assert_eq!(text("zerooldstyle").as_deref(), Some("0"));
    }
}
