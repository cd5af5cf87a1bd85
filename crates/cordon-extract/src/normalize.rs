//! Text normalisation against evasion: what a person reads is what detectors see.
//!
//! Unicode NFKC (full-width digits, ligatures, non-breaking spaces), every
//! default-ignorable code point removed (zero-width characters, soft hyphens,
//! bidi controls, tag characters, variation selectors), combining marks that
//! NFKC could not compose (underlines and strike-throughs drawn over letters)
//! removed, decimal digits of every
//! script folded to ASCII, look-alike Cyrillic and Greek letters folded to
//! Latin, every dash variant folded to `-`, and each run of whitespace folded to
//! one space, or to one line break when the run held one. Line structure
//! survives, so a marking standing alone on a line is still a banner.
//!
//! Bidirectional text is shown in another order than it is stored:
//! [`visual_order`] gives the order a reader sees, a second reading to inspect.

use unicode_bidi::{BidiClass, BidiInfo, bidi_class};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

/// The text in the order a reader sees it, line by line (Unicode Bidirectional
/// Algorithm, paragraph direction from each line's first strong character), or
/// `None` when nothing in it can be reordered: `JM 41 \u{202E}B 78 92\u{202C}`
/// is shown as `JM 41 29 87 B`. Costs one `is_ascii` pass on ASCII text.
pub(crate) fn visual_order(text: &str) -> Option<String> {
    if text.is_ascii() || !text.chars().any(reorders) {
        return None;
    }
    let bidi = BidiInfo::new(text, None);
    let mut out = String::with_capacity(text.len());
    for paragraph in &bidi.paragraphs {
        let range = paragraph.range.clone();
        let line = text.get(range.clone()).unwrap_or("");
        // The paragraph separator stays at the end of the line: reordered with
        // a right-to-left line it would join this line to the next.
        let body = line.trim_end_matches(|c| bidi_class(c) == BidiClass::B);
        if !body.is_empty() {
            let body_range = range.start..range.start + body.len();
            out.push_str(&bidi.reorder_line(paragraph, body_range));
        }
        out.push_str(&line[body.len()..]);
    }
    Some(out)
}

/// Characters that can make the shown order differ from the stored one:
/// right-to-left letters and marks, and the right-to-left embeddings,
/// overrides and isolates. Left-to-right and first-strong controls alone
/// cannot reorder text without one of these (HTML mail is full of
/// `dir="ltr"`, which must not cost a bidi pass).
fn reorders(c: char) -> bool {
    c >= '\u{0590}'
        && matches!(
            bidi_class(c),
            BidiClass::R | BidiClass::AL | BidiClass::RLE | BidiClass::RLO | BidiClass::RLI
        )
}

/// Maps one character after NFKC: `None` drops it.
fn fold_char(c: char) -> Option<char> {
    // Combining marks left after NFKC (no precomposed form) only decorate the
    // letter before them: `J\u{332}M\u{332}` is an underlined `JM` to a reader.
    if is_default_ignorable(c) || is_combining_mark(c) {
        return None;
    }
    match c {
        // dashes and minus signs
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => Some('-'),
        // line and paragraph separators
        '\u{2028}' | '\u{2029}' | '\u{0085}' => Some('\n'),
        _ => Some(ascii_digit(c).unwrap_or_else(|| confusable(c))),
    }
}

/// Default_Ignorable_Code_Point (Unicode DerivedCoreProperties, unchanged
/// from 14.0 to 18.0): characters a renderer shows as nothing, so they can be
/// slipped into an identifier unseen. Includes the bidi controls (their effect
/// on order is read by [`visual_order`]), tag characters and variation selectors.
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether a reader cannot see `c` although it is there: a default-ignorable
/// character (bidi controls, directional marks, zero-width spaces, tag
/// characters ...) other than the joiners and variation selectors that shape
/// the visible text (emoji sequences, Indic and Arabic joining). The console
/// shows these as `[U+XXXX]` and the CLI strips them, so mail-derived text
/// cannot hide or reorder what an officer reads.
pub fn is_unseen(c: char) -> bool {
    is_default_ignorable(c)
        && !matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// The zero of every run of non-ASCII decimal digits (general category Nd,
/// Unicode 18.0); each run holds 0 to 9 in order. Generated with Python's
/// `unicodedata2`: every code point above U+007F with category `Nd` and
/// decimal value 0.
const DIGIT_ZEROS: [u32; 76] = [
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50, 0x11D50,
    0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The ASCII digit a decimal digit of another script stands for (Arabic-Indic
/// `٤` is `4`): NFKC folds full-width digits but leaves these alone, and a
/// reader reads them as digits all the same.
fn ascii_digit(c: char) -> Option<char> {
    let cp = u32::from(c);
    if cp < DIGIT_ZEROS[0] {
        return None;
    }
    let run = DIGIT_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = DIGIT_ZEROS.get(run.checked_sub(1)?)?;
    let value = cp - zero;
    // value < 10, so the digit is ASCII
    (value < 10).then(|| char::from(b'0' + value as u8))
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
    fn tag_characters_and_other_ignorables_are_removed() {
        // "Night" + TAG LATIN SMALL LETTER X + "jar", a variation selector
        // supplement and a musical-symbol format character
        assert_eq!(
            normalize("Operation Night\u{E0078}\u{E0001}jar"),
            "Operation Nightjar"
        );
        assert_eq!(
            normalize("JM\u{E0100}41\u{1D173}29\u{180F}87\u{FFF0}B"),
            "JM412987B"
        );
        assert_eq!(
            normalize("OFFICIAL\u{1BCA0}-SENSITIVE"),
            "OFFICIAL-SENSITIVE"
        );
    }

    #[test]
    fn decimal_digits_of_every_script_fold_to_ascii() {
        // Arabic-Indic, extended Arabic-Indic (Persian), Devanagari, Bengali
        assert_eq!(
            normalize("JM \u{0664}\u{0661} \u{0662}\u{0669} 87 B"),
            "JM 41 29 87 B"
        );
        assert_eq!(normalize("\u{06F4}\u{06F0}\u{06F1}"), "401");
        assert_eq!(normalize("\u{0966}\u{0967}\u{096F}"), "019");
        assert_eq!(normalize("\u{09EA}\u{09E6}"), "40");
        // mathematical monospace digits (NFKC folds these already), segmented digits
        assert_eq!(normalize("\u{1D7F6}\u{1D7FF}\u{1FBF7}"), "097");
    }

    #[test]
    fn digit_zero_table_holds_runs_of_ten_digits() {
        for window in DIGIT_ZEROS.windows(2) {
            assert!(window[0] + 10 <= window[1], "{:#x}", window[0]);
        }
        for zero in DIGIT_ZEROS {
            for value in 0..10 {
                let c = char::from_u32(zero + value).unwrap();
                assert!(c.is_numeric(), "{c:?}");
                assert_eq!(ascii_digit(c), char::from_digit(value, 10));
            }
        }
        assert_eq!(ascii_digit('\u{00B2}'), None); // superscript two is not Nd
        assert_eq!(ascii_digit('\u{0669}'), Some('9'));
        assert_eq!(ascii_digit('\u{066A}'), None);
    }

    #[test]
    fn visual_order_reads_an_override_as_shown() {
        let raw = "NI: JM 41 \u{202E}B 78 92\u{202C}";
        assert_eq!(normalize(raw), "NI: JM 41 B 78 92");
        let visual = visual_order(raw).unwrap();
        assert_eq!(normalize(&visual), "NI: JM 41 29 87 B");
    }

    #[test]
    fn visual_order_keeps_lines_apart() {
        // an Arabic line followed by a reversed identifier on the next line
        let raw =
            "\u{0645}\u{0631}\u{062D}\u{0628}\u{0627}\nref \u{202E}B 78 92 14 MJ\u{202C}\nend";
        let visual = normalize(&visual_order(raw).unwrap());
        let lines: Vec<&str> = visual.lines().collect();
        assert_eq!(lines.len(), 3, "{visual:?}");
        assert_eq!(lines[1], "ref JM 41 29 87 B");
        assert_eq!(lines[2], "end");
    }

    #[test]
    fn visual_order_is_none_without_right_to_left_content() {
        assert_eq!(visual_order("JM 41 29 87 B"), None);
        assert_eq!(visual_order("caf\u{e9} \u{2013} na\u{ef}ve"), None);
        assert!(visual_order("\u{05E9}\u{05DC}\u{05D5}\u{05DD}").is_some());
        assert_eq!(
            visual_order("\u{2066}Dear all\u{2069} \u{202D}x\u{202C}"),
            None
        );
        // a right-to-left embedding reorders even left-to-right words
        assert!(visual_order("a \u{202B}b c\u{202C} d").is_some());
    }

    #[test]
    fn control_characters_separate_words() {
        assert_eq!(normalize("a\u{0007}b"), "a b");
    }

    proptest::proptest! {
        /// The visual reading only reorders: same characters, same lines.
        #[test]
        fn visual_order_is_a_reordering(
            text in "[a-z0-9 \\n\u{05D0}-\u{05D3}\u{0627}\u{0661}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}().]{0,60}"
        ) {
            if let Some(visual) = visual_order(&text) {
                let mut a: Vec<char> = text.chars().collect();
                let mut b: Vec<char> = visual.chars().collect();
                a.sort_unstable();
                b.sort_unstable();
                proptest::prop_assert_eq!(a, b);
                proptest::prop_assert_eq!(text.lines().count(), visual.lines().count());
            }
        }
    }

    #[test]
    fn combining_marks_that_decorate_letters_are_removed() {
        // underlined and overstruck letters read as the letters
        assert_eq!(
            normalize("NI J\u{332}M\u{332} 4\u{332}1\u{336} 29 87 B"),
            "NI JM 41 29 87 B"
        );
        // marks with a precomposed form compose first and stay letters
        assert_eq!(normalize("cafe\u{301}"), "café");
    }
}
