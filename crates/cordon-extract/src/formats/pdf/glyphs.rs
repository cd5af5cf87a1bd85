//! Glyph names to characters.

/// The character of a glyph name: `A`, `zero`, `uni0041`, `u1F600`, common
/// punctuation; `None` for names that carry no meaning (`g42`, `cid17`).
pub(super) fn glyph_char(name: &[u8]) -> Option<char> {
    let name = std::str::from_utf8(name).ok()?;
    let name = name.split('.').next().unwrap_or(name);
    if name.len() == 1 && name.as_bytes()[0].is_ascii_alphabetic() {
        return name.chars().next();
    }
    let hex = |h: &str| u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
    if let Some(ch) = name
        .strip_prefix("uni")
        .and_then(|h| h.get(..4))
        .and_then(hex)
    {
        return Some(ch);
    }
    if let Some(ch) = name
        .strip_prefix('u')
        .filter(|h| (4..=6).contains(&h.len()))
        .and_then(hex)
    {
        return Some(ch);
    }
    const NAMES: &[(&str, char)] = &[
        ("space", ' '),
        ("exclam", '!'),
        ("quotedbl", '"'),
        ("numbersign", '#'),
        ("dollar", '$'),
        ("percent", '%'),
        ("ampersand", '&'),
        ("quotesingle", '\''),
        ("parenleft", '('),
        ("parenright", ')'),
        ("asterisk", '*'),
        ("plus", '+'),
        ("comma", ','),
        ("hyphen", '-'),
        ("minus", '-'),
        ("period", '.'),
        ("slash", '/'),
        ("zero", '0'),
        ("one", '1'),
        ("two", '2'),
        ("three", '3'),
        ("four", '4'),
        ("five", '5'),
        ("six", '6'),
        ("seven", '7'),
        ("eight", '8'),
        ("nine", '9'),
        ("colon", ':'),
        ("semicolon", ';'),
        ("less", '<'),
        ("equal", '='),
        ("greater", '>'),
        ("question", '?'),
        ("at", '@'),
        ("bracketleft", '['),
        ("backslash", '\\'),
        ("bracketright", ']'),
        ("asciicircum", '^'),
        ("underscore", '_'),
        ("grave", '`'),
        ("braceleft", '{'),
        ("bar", '|'),
        ("braceright", '}'),
        ("asciitilde", '~'),
        ("quoteleft", '\u{2018}'),
        ("quoteright", '\u{2019}'),
        ("quotedblleft", '\u{201C}'),
        ("quotedblright", '\u{201D}'),
        ("endash", '\u{2013}'),
        ("emdash", '\u{2014}'),
        ("bullet", '\u{2022}'),
        ("sterling", '£'),
        ("Euro", '€'),
        ("section", '§'),
        ("degree", '°'),
        ("copyright", '©'),
        ("registered", '®'),
        ("nbspace", '\u{A0}'),
        ("fi", '\u{FB01}'),
        ("fl", '\u{FB02}'),
        ("ff", '\u{FB00}'),
        ("ffi", '\u{FB03}'),
        ("ffl", '\u{FB04}'),
        ("eacute", 'é'),
        ("egrave", 'è'),
        ("ecircumflex", 'ê'),
        ("aacute", 'á'),
        ("agrave", 'à'),
        ("acircumflex", 'â'),
        ("adieresis", 'ä'),
        ("ccedilla", 'ç'),
        ("iacute", 'í'),
        ("oacute", 'ó'),
        ("odieresis", 'ö'),
        ("uacute", 'ú'),
        ("udieresis", 'ü'),
        ("ntilde", 'ñ'),
        ("germandbls", 'ß'),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, ch)| *ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_char(b"uni00E9"), Some('é'));
        assert_eq!(glyph_char(b"g42"), None);
    }
}
