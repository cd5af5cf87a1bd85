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
//! Two tokenisers give the same words: [`Tokens`], a character at a time,
//! for the cells of the export and for the words after a possible first
//! word; and [`for_each_word`], which the scanner runs over every word of a
//! message, and which finds ASCII words from 64-byte blocks of bits and hands
//! only runs holding non-ASCII bytes to [`Tokens`].
//!
//! ASCII words take a fast path: for an ASCII letter or digit, lowercasing is
//! `b | 0x20` (digits already have that bit), so the fast hash folds sixteen
//! bytes at a time in place, without copying. A word with a byte >= 0x80 is
//! folded into a scratch buffer first; [`fast_hash`] of that buffer equals
//! the fast path's hash of an ASCII word with the same normal form.

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

    /// The words of `text` from byte `pos` on, which must be the end of a
    /// word (or 0): the words that follow it.
    pub fn after(text: &'a str, pos: usize) -> Self {
        Tokens { text, pos }
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

/// Bits of one 64-byte block of a text: bit `i` of `word` is set when byte `i`
/// may belong to a word (an ASCII letter or digit, or any byte >= 0x80), bit
/// `i` of `high` when byte `i` is >= 0x80. Bytes past the text count as
/// separators. The classes are computed a byte per lane (the compiler makes
/// vector compares of that loop), then packed eight bytes to eight bits by
/// one multiply each.
#[inline]
fn block_bits(block: &[u8; BLOCK]) -> (u64, u64) {
    let mut word = [0u8; BLOCK];
    let mut high = [0u8; BLOCK];
    for ((w, h), &b) in word.iter_mut().zip(high.iter_mut()).zip(block) {
        let is_high = b >= 0x80;
        let is_ascii_word = b.wrapping_sub(b'0') < 10 || (b | 0x20).wrapping_sub(b'a') < 26;
        *w = u8::from(is_ascii_word | is_high);
        *h = u8::from(is_high);
    }
    (pack_bits(&word), pack_bits(&high))
}

/// Bit `i` of the result is byte `i` of `flags` (each 0 or 1). Multiplying
/// eight 0/1 bytes by 0x0102040810204080 moves byte `k`'s bit to bit `56 + k`
/// with no carries between them.
#[inline]
fn pack_bits(flags: &[u8; BLOCK]) -> u64 {
    let mut bits = 0u64;
    for (k, chunk) in flags.chunks_exact(8).enumerate() {
        let eight = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        bits |= (eight.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    bits
}

const BLOCK: usize = 64;

/// The word and high bits of block `k` of `bytes` (past the end: none).
#[inline]
fn bits_of(bytes: &[u8], k: usize) -> (u64, u64) {
    let from = k.saturating_mul(BLOCK);
    match bytes.get(from..from.saturating_add(BLOCK)) {
        Some(block) => <&[u8; BLOCK]>::try_from(block).map_or((0, 0), block_bits),
        None => {
            let mut block = [0u8; BLOCK];
            let tail = bytes.get(from..).unwrap_or_default();
            block[..tail.len()].copy_from_slice(tail);
            block_bits(&block)
        }
    }
}

/// Calls `f` with each word of `text` in order: the same words as
/// [`Tokens`], found a block of 64 bytes at a time. The starts and ends of
/// the runs of word bytes come from the block's bits by shifts and masks; a
/// run with no byte >= 0x80 is an ASCII word as it stands, and only a run
/// holding one goes through [`Tokens`] (a non-ASCII character may be a word
/// character or a separator). Run boundaries are ASCII, hence char
/// boundaries. This is the scanner's loop over every word of a message: `f`
/// is inlined into it.
#[inline(always)]
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(Token)) {
    let bytes = text.as_bytes();
    // The run still open at the end of the previous block: where it starts,
    // and whether it has a byte >= 0x80 so far.
    let mut open: Option<(usize, bool)> = None;
    // Bit 63 of the previous block's word bits.
    let mut carry = 0u64;
    for k in 0..bytes.len().div_ceil(BLOCK) {
        let (word, high) = bits_of(bytes, k);
        let base = k * BLOCK;
        let before = (word << 1) | carry;
        carry = word >> 63;
        let mut starts = word & !before;
        let mut ends = !word & before;
        if let Some((start, seen_high)) = open {
            if ends == 0 {
                // The whole block is inside the run.
                open = Some((start, seen_high || high != 0));
                continue;
            }
            let stop = ends.trailing_zeros();
            ends &= ends - 1;
            let ascii = !seen_high && high & ((1u64 << stop) - 1) == 0;
            emit_run(text, start, base + stop as usize, ascii, &mut f);
            open = None;
        }
        // The runs starting in this block: the k-th start pairs with the
        // k-th end, and a start with no end goes on into the next block.
        while starts != 0 {
            let first = starts.trailing_zeros();
            starts &= starts - 1;
            if ends == 0 {
                open = Some((base + first as usize, high >> first != 0));
                break;
            }
            let stop = ends.trailing_zeros();
            ends &= ends - 1;
            let ascii = high == 0 || (high >> first) & ((1u64 << (stop - first)) - 1) == 0;
            emit_run(
                text,
                base + first as usize,
                base + stop as usize,
                ascii,
                &mut f,
            );
        }
    }
    if let Some((start, seen_high)) = open {
        emit_run(text, start, bytes.len(), !seen_high, &mut f);
    }
}

/// Gives `f` the words of the run `start..end`: itself when it is `ascii`.
#[inline(always)]
fn emit_run(text: &str, start: usize, end: usize, ascii: bool, f: &mut impl FnMut(Token)) {
    if ascii {
        f(Token {
            start,
            end,
            ascii: true,
        });
    } else {
        emit_mixed_run(text, start, end, f);
    }
}

/// The words of a run holding non-ASCII bytes, by [`Tokens`].
#[cold]
#[inline(never)]
fn emit_mixed_run(text: &str, start: usize, end: usize, f: &mut impl FnMut(Token)) {
    let Some(run) = text.get(start..end) else {
        return;
    };
    for t in Tokens::new(run) {
        f(Token {
            start: t.start + start,
            end: t.end + start,
            ascii: t.ascii,
        });
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

/// The low `n` bytes (at most 8) of a word set.
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// For a word of `n` bytes (the index, up to 16), which bytes of its two
/// eight-byte halves to keep: a table, as the shifts and selects that work
/// it out cost more than the load on every word of a message.
static KEEP: [(u64, u64); 17] = {
    let mut t = [(0u64, 0u64); 17];
    let mut n: usize = 0;
    while n <= 16 {
        let a = if n >= 8 { 8 } else { n };
        let b = n.saturating_sub(8);
        t[n] = (
            if a == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * a)) - 1
            },
            if b == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * b)) - 1
            },
        );
        n += 1;
    }
    t
};

/// The sixteen bytes of `bytes` from `i`, as two words, with those at or
/// past `end` zeroed: read in place where sixteen bytes exist (a word in a
/// long text), copied otherwise.
#[inline(always)]
fn sixteen(bytes: &[u8], i: usize, end: usize, fold: u64) -> (u64, u64) {
    let n = end.saturating_sub(i);
    let (a, b) = match bytes.get(i..i.saturating_add(16)) {
        Some(w) => (
            w.get(..8)
                .and_then(|x| <[u8; 8]>::try_from(x).ok())
                .map_or(0, u64::from_le_bytes),
            w.get(8..)
                .and_then(|x| <[u8; 8]>::try_from(x).ok())
                .map_or(0, u64::from_le_bytes),
        ),
        None => {
            let mut buf = [0u8; 16];
            let tail = bytes.get(i..end).unwrap_or_default();
            let take = tail.len().min(16);
            buf[..take].copy_from_slice(&tail[..take]);
            (
                u64::from_le_bytes(buf[..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(buf[8..].try_into().unwrap_or_default()),
            )
        }
    };
    (
        (a | fold) & low_bytes(n.min(8)),
        (b | fold) & low_bytes(n.saturating_sub(8)),
    )
}

/// [`fast_hash`] of `bytes[start..end]`: sixteen bytes per multiply, read in
/// place from the text where they exist (bytes past `end` are masked off),
/// so a word of up to sixteen bytes in a long text costs two loads, no copy
/// and no loop.
#[inline(always)]
pub(crate) fn fast_hash_range(
    seed: u64,
    bytes: &[u8],
    start: usize,
    end: usize,
    ascii_fold: bool,
) -> u64 {
    let fold = if ascii_fold { 0x2020_2020_2020_2020 } else { 0 };
    let len = end.saturating_sub(start);
    if len <= 16
        && let Some(w) = bytes.get(start..start.saturating_add(16))
    {
        let a = w.get(..8).and_then(|x| <[u8; 8]>::try_from(x).ok());
        let b = w.get(8..).and_then(|x| <[u8; 8]>::try_from(x).ok());
        let (keep_a, keep_b) = KEEP.get(len).copied().unwrap_or_default();
        let a = (a.map_or(0, u64::from_le_bytes) | fold) & keep_a;
        let b = (b.map_or(0, u64::from_le_bytes) | fold) & keep_b;
        return mix(seed ^ a, b ^ K1);
    }
    fast_hash_chunks(seed, bytes, start, end, fold)
}

/// [`fast_hash_range`] sixteen bytes at a time, for long words and words at
/// the end of a text.
#[inline(never)]
fn fast_hash_chunks(seed: u64, bytes: &[u8], start: usize, end: usize, fold: u64) -> u64 {
    let end = end.min(bytes.len());
    let mut h = seed;
    let mut i = start;
    loop {
        let (a, b) = sixteen(bytes, i, end, fold);
        h = mix(h ^ a, b ^ K1);
        i += 16;
        if i >= end {
            return h;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        for w in [
            "Smith",
            "WHITLOCK",
            "a",
            "Abcdefgh",
            "Abcdefghi",
            "X12y",
            "Abcdefghijklmnop",
            "Abcdefghijklmnopq",
            "Abcdefghijklmnopqrstuvwxyz0123456789",
        ] {
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

    /// Texts dense in what the tokenisers must agree on: ASCII words and
    /// separators, non-ASCII letters, marks and separators, runs that cross
    /// the 64-byte blocks.
    fn tricky_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("Smith".to_string()),
            Just("a".to_string()),
            Just(" ".to_string()),
            Just(", ".to_string()),
            Just("’".to_string()),
            Just("—".to_string()),
            Just("é".to_string()),
            Just("\u{308}".to_string()),
            Just("Łukasz".to_string()),
            Just("\u{a0}".to_string()),
            Just("12".to_string()),
            "[a-zA-Z0-9]{0,70}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn block_tokens_are_the_tokens(text in tricky_text()) {
            let slow: Vec<Token> = Tokens::new(&text).collect();
            let mut fast = Vec::new();
            for_each_word(&text, |t| fast.push(t));
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn block_tokens_of_any_string_are_the_tokens(text in any::<String>()) {
            let slow: Vec<Token> = Tokens::new(&text).collect();
            let mut fast = Vec::new();
            for_each_word(&text, |t| fast.push(t));
            prop_assert_eq!(fast, slow);
        }
    }

    proptest! {
        #[test]
        fn a_word_hashes_alike_in_place_and_folded(
            word in "[a-zA-Z0-9]{1,40}",
            before in "[ ,.]{0,20}",
            after in "[ ,.a-z]{0,20}",
        ) {
            let text = format!("{before}{word}{after}");
            let lower = word.to_ascii_lowercase();
            let start = before.len();
            prop_assert_eq!(
                fast_hash_range(9, text.as_bytes(), start, start + word.len(), true),
                fast_hash(9, lower.as_bytes(), false)
            );
        }
    }

    #[test]
    fn tokens_after_a_word_are_the_words_that_follow_it() {
        let text = "Whitlock, Darren — né 1984";
        let all: Vec<Token> = Tokens::new(text).collect();
        for (i, t) in all.iter().enumerate() {
            let after: Vec<Token> = Tokens::after(text, t.end).collect();
            assert_eq!(after, all[i + 1..]);
        }
    }

    #[test]
    fn tokens_are_maximal_words() {
        let text = "Smithson, Smith’s — né 1984";
        let words: Vec<&str> = Tokens::new(text).map(|t| &text[t.start..t.end]).collect();
        assert_eq!(words, ["Smithson", "Smith", "s", "né", "1984"]);
    }
}
