//! Text normalisation against evasion: what a person reads is what detectors see.
//!
//! Unicode NFKC (full-width digits, ligatures, non-breaking spaces), zero-width
//! characters and soft hyphens removed, look-alike Cyrillic and Greek letters
//! folded to Latin, every dash variant folded to `-`, and each run of whitespace
//! folded to one space, or to one line break when the run held one. Line
//! structure survives, so a marking standing alone on a line is still a banner.

use unicode_normalization::UnicodeNormalization;

/// Normalises `text` as described in the module documentation.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii(text.as_bytes());
    }
    let mut out = String::with_capacity(text.len());
    fold_whitespace(text.nfkc().filter_map(fold_char), &mut out);
    out
}

/// The ASCII fast path of [`fold_whitespace`], a byte run at a time: most mail
/// is ASCII, and NFKC and the character maps leave ASCII unchanged.
fn fold_ascii(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut pending = 0u8; // 0: none; otherwise the separator owed before the next word
    for &b in text {
        // printable ASCII is 0x21..=0x7e
        if b.wrapping_sub(0x21) < 0x5e {
            if pending != 0 {
                if !out.is_empty() {
                    out.push(pending);
                }
                pending = 0;
            }
            out.push(b);
        } else if matches!(b, b'\n' | b'\r' | 0x0b | 0x0c) {
            pending = b'\n';
        } else if pending == 0 {
            // a space, a tab or another control character
            pending = b' ';
        }
    }
    // Only ASCII bytes were copied, so this cannot fail; fall back to lossy
    // rather than panic all the same.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Maps one character after NFKC: `None` drops it.
fn fold_char(c: char) -> Option<char> {
    match c {
        // zero-width and invisible formatting characters, soft hyphen
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180B}'..='\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}' => None,
        // dashes and minus signs
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => Some('-'),
        // line and paragraph separators
        '\u{2028}' | '\u{2029}' | '\u{0085}' => Some('\n'),
        _ => Some(confusable(c)),
    }
}

/// Folds Cyrillic and Greek letters that look like Latin ones.
fn confusable(c: char) -> char {
    match c {
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'С' | 'Ϲ' => 'C',
        'Е' | 'Ε' => 'E',
        'Н' | 'Η' => 'H',
        'І' | 'Ι' | 'Ӏ' => 'I',
        'Ј' => 'J',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'О' | 'Ο' => 'O',
        'Р' | 'Ρ' => 'P',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'Х' | 'Χ' => 'X',
        'Υ' | 'Ү' => 'Y',
        'Ζ' => 'Z',
        'а' => 'a',
        'с' | 'ϲ' => 'c',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ѕ' => 's',
        'у' => 'y',
        'х' => 'x',
        _ => c,
    }
}

/// Appends `chars` to `out` with each whitespace run folded, and no leading or
/// trailing whitespace.
fn fold_whitespace(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut pending: Option<char> = None;
    for c in chars {
        if c.is_whitespace() {
            if c == '\n' || c == '\r' || c == '\u{000B}' || c == '\u{000C}' {
                pending = Some('\n');
            } else if pending.is_none() {
                pending = Some(' ');
            }
        } else if c.is_control() {
            // other control characters separate words like a space
            if pending.is_none() {
                pending = Some(' ');
            }
        } else {
            if let Some(space) = pending.take()
                && !out.is_empty()
            {
                out.push(space);
            }
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_fold_and_keep_line_breaks() {
        assert_eq!(normalize("  Operation \t Nightjar  "), "Operation Nightjar");
        assert_eq!(normalize("Operation\r\n   Nightjar"), "Operation\nNightjar");
        assert_eq!(
            normalize("SECRET\r\n\r\nbody text\r\n\r\nSECRET\r\n"),
            "SECRET\nbody text\nSECRET"
        );
    }

    #[test]
    fn zero_width_and_soft_hyphens_are_removed() {
        assert_eq!(
            normalize("Opera\u{200B}tion Night\u{00AD}jar"),
            "Operation Nightjar"
        );
        assert_eq!(normalize("JM\u{2060}412987B\u{FEFF}"), "JM412987B");
    }

    #[test]
    fn nfkc_folds_full_width_and_no_break_space() {
        assert_eq!(normalize("ＪＭ４１２９８７Ｂ"), "JM412987B");
        assert_eq!(normalize("OFFICIAL\u{00A0}SENSITIVE"), "OFFICIAL SENSITIVE");
    }

    #[test]
    fn dashes_fold_to_hyphen_minus() {
        assert_eq!(
            normalize("OFFICIAL \u{2013} SENSITIVE"),
            "OFFICIAL - SENSITIVE"
        );
        assert_eq!(normalize("12\u{2011}34\u{2212}56"), "12-34-56");
    }

    #[test]
    fn lookalike_letters_fold_to_latin() {
        // Cyrillic О, Е and Т in a marking
        assert_eq!(
            normalize("\u{041E}FFICIAL-S\u{0415}NSITIVE"),
            "OFFICIAL-SENSITIVE"
        );
        assert_eq!(normalize("S\u{0415}CR\u{0415}\u{0422}"), "SECRET");
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_general_path() {
        for text in [
            "  a\t\tb \r\n\r\n c\x07d\x0b e  ",
            "",
            " ",
            "\n\n",
            "x",
            "a \n b",
            "\x7fz",
        ] {
            let mut general = String::new();
            fold_whitespace(text.chars(), &mut general);
            assert_eq!(normalize(text), general, "{text:?}");
        }
    }

    #[test]
    fn control_characters_separate_words() {
        assert_eq!(normalize("a\u{0007}b"), "a b");
    }
}
