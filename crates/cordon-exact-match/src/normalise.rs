//! Words: the one tokeniser that both loading and scanning use, so that a value
//! read from the export and the same value written in a message normalise to
//! the same bytes.
//!
//! A word is a maximal run of word characters: alphanumeric characters
//! (`char::is_alphanumeric`) and combining marks, which stay inside the word
//! they follow. A word's normal form is its characters decomposed canonically
//! (NFD), combining marks dropped, lowercased (Unicode). So "O'Brien",
//! "O’Brien" and "o brien" are the words `o`, `brien`; "Zoë" (precomposed or
//! decomposed) and "ZOE" are `zoe`. A value of several words is its words'
//! normal forms joined by one space.
//!
//! ASCII words take a fast path: for an ASCII letter or digit, lowercasing is
//! `b | 0x20` (digits already have that bit), so the fast hash folds eight
//! bytes at a time without copying. A word with a byte >= 0x80 is folded into a
//! scratch buffer first; [`fast_hash`] of that buffer equals the fast path's
//! hash of an ASCII word with the same normal form.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Byte classes for the tokeniser: separator, ASCII word byte, non-ASCII.
const SEP: u8 = 0;
const ASCII_WORD: u8 = 1;
const HIGH: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [SEP; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            HIGH
        } else if c.is_ascii_alphanumeric() {
            ASCII_WORD
        } else {
            SEP
        };
        b += 1;
    }
    t
};

/// True for a character that belongs to a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The character starting at byte `i` of `s` (a char boundary) and its length.
fn char_at(s: &str, i: usize) -> Option<(char, usize)> {
    s.get(i..)?.chars().next().map(|c| (c, c.len_utf8()))
}

/// One word of a text: its byte span, and whether it is all ASCII.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub ascii: bool,
}

/// The words of a text, in order. Cloning it is cheap: it is a position.
#[derive(Clone)]
pub(crate) struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(text: &'a str) -> Self {
        Tokens { text, pos: 0 }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    #[inline]
    fn next(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        // Skip separators: ASCII ones in a tight loop, others one char at a time.
        let start = loop {
            let rest = bytes.get(i..)?;
            i += rest.iter().position(|&b| CLASS[b as usize] != SEP)?;
            if bytes
                .get(i)
                .is_some_and(|&b| CLASS[b as usize] == ASCII_WORD)
            {
                break i;
            }
            let (c, len) = char_at(self.text, i)?;
            if is_word_char(c) {
                break i;
            }
            i += len;
        };
        let mut ascii = true;
        loop {
            let rest = bytes.get(i..).unwrap_or_default();
            match rest.iter().position(|&b| CLASS[b as usize] != ASCII_WORD) {
                None => {
                    i = bytes.len();
                    break;
                }
                Some(k) => i += k,
            }
            if bytes.get(i).is_some_and(|&b| CLASS[b as usize] == SEP) {
                break;
            }
            match char_at(self.text, i) {
                Some((c, len)) if is_word_char(c) => {
                    ascii = false;
                    i += len;
                }
                _ => break,
            }
        }
        self.pos = i;
        Some(Token {
            start,
            end: i,
            ascii,
        })
    }
}

/// Appends the normal form of one word (`word` is a token's text) to `out`.
pub(crate) fn fold_word(word: &str, out: &mut String) {
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.extend(d.to_lowercase());
                }
            });
        }
    }
}

/// Appends the normal form of `text` (words joined by one space) to `out`,
/// and returns how many words it has. Words that fold to nothing (only
/// combining marks) are left out, as the scanner leaves them out.
pub(crate) fn normalise_into(text: &str, out: &mut String) -> usize {
    let mut words = 0;
    for t in Tokens::new(text) {
        let before = out.len();
        if words > 0 {
            out.push(' ');
        }
        let mark = out.len();
        fold_word(&text[t.start..t.end], out);
        if out.len() == mark {
            out.truncate(before);
        } else {
            words += 1;
        }
    }
    words
}

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xbf58_476d_1ce4_e5b9;

/// Folded 64x64->128 multiply: a fast, well-mixing step (as in wyhash).
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a).wrapping_mul(u128::from(b));
    (m as u64) ^ ((m >> 64) as u64)
}

/// Seeded fast hash of a word's normal form, for the prefilters only (it is
/// not a keyed PRF: the exact sets use SipHash). With `ascii_fold`, `bytes`
/// is an ASCII word still in its original case and is lowercased on the fly.
#[inline]
pub(crate) fn fast_hash(seed: u64, bytes: &[u8], ascii_fold: bool) -> u64 {
    fast_hash_range(seed, bytes, 0, bytes.len(), ascii_fold)
}

/// [`fast_hash`] of `bytes[start..end]`, reading whole eight-byte words of
/// `bytes` where they exist (bytes past `end` are masked off), so that a
/// word in a long text costs one load per eight bytes and no copy.
#[inline]
pub(crate) fn fast_hash_range(
    seed: u64,
    bytes: &[u8],
    start: usize,
    end: usize,
    ascii_fold: bool,
) -> u64 {
    let end = end.min(bytes.len());
    let mut h = seed ^ (end.saturating_sub(start) as u64).wrapping_mul(K0);
    let mut i = start;
    while i < end {
        let take = (end - i).min(8);
        let mask = if take == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * take)) - 1
        };
        let mut x = match bytes.get(i..i + 8) {
            Some(w) => <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes),
            None => bytes[i..end]
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        } & mask;
        if ascii_fold {
            x |= 0x2020_2020_2020_2020 & mask;
        }
        h = mix(h ^ x, K1);
        i += 8;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut out = String::new();
        normalise_into(s, &mut out);
        out
    }

    #[test]
    fn punctuation_case_and_diacritics_fold_to_the_same_words() {
        assert_eq!(norm("O'Brien"), "o brien");
        assert_eq!(norm("O’Brien"), "o brien");
        assert_eq!(norm("  o   BRIEN "), "o brien");
        assert_eq!(norm("Smith-Jones"), "smith jones");
        assert_eq!(norm("Zoë"), "zoe");
        assert_eq!(norm("Zoe\u{308}"), "zoe");
        assert_eq!(norm("ZOË"), "zoe");
        assert_eq!(norm("van der Berg"), "van der berg");
        assert_eq!(norm("Ørsted Łukasz"), "ørsted łukasz");
        assert_eq!(norm("--"), "");
        assert_eq!(norm("\u{308}"), "");
    }

    #[test]
    fn fast_hash_of_an_ascii_word_equals_that_of_its_normal_form() {
        for w in ["Smith", "WHITLOCK", "a", "Abcdefgh", "Abcdefghi", "X12y"] {
            let lower = w.to_ascii_lowercase();
            assert_eq!(
                fast_hash(7, w.as_bytes(), true),
                fast_hash(7, lower.as_bytes(), false)
            );
            let text = format!("{w}, and more text after it");
            assert_eq!(
                fast_hash_range(7, text.as_bytes(), 0, w.len(), true),
                fast_hash(7, lower.as_bytes(), false)
            );
        }
    }

    #[test]
    fn tokens_are_maximal_words() {
        let text = "Smithson, Smith’s — né 1984";
        let words: Vec<&str> = Tokens::new(text).map(|t| &text[t.start..t.end]).collect();
        assert_eq!(words, ["Smithson", "Smith", "s", "né", "1984"]);
    }
}
