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
/// separators.
///
/// Eight bytes at a time in one integer: with `v` a byte's low seven bits,
/// `v + 0x50` has its top bit set when `v >= 0x30` and `v + 0x46` when
/// `v >= 0x3a` (neither carries into the next byte), so a digit has the
/// first and not the second, and the two XORed; letters likewise on
/// `v | 0x20`. The top bits are then gathered into eight bits by one
/// multiply.
#[inline]
fn block_bits(block: &[u8; BLOCK]) -> (u64, u64) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TOP: u64 = 0x8080_8080_8080_8080;
    const fn each(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }
    let mut word = 0u64;
    let mut any_high = 0u64;
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let x = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        let v = x & LOW7;
        let digit = (v + each(0x50)) ^ (v + each(0x46));
        let lower = v | each(0x20);
        let letter = (lower + each(0x1f)) ^ (lower + each(0x05));
        word |= gather_top_bits((digit | letter | x) & TOP) << (8 * k);
        any_high |= x & TOP;
    }
    if any_high == 0 {
        return (word, 0);
    }
    let mut high = 0u64;
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let x = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        high |= gather_top_bits(x & TOP) << (8 * k);
    }
    (word, high)
}

/// Bit `k` of the result is the top bit of byte `k` of `tops` (which has no
/// other bits set). Multiplying by 0x0002040810204081 moves bit `8k + 7` to
/// bit `56 + k`; every other product lands on a bit of its own below 56 or
/// past 63, so nothing carries into the result.
#[inline(always)]
fn gather_top_bits(tops: u64) -> u64 {
    tops.wrapping_mul(0x0002_0408_1020_4081) >> 56
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

/// Calls `f` with each word of `text`, once: the same words as [`Tokens`],
/// found a block of 64 bytes at a time. The starts and ends of the runs of
/// word bytes come from the block's bits by shifts and masks; a run with no
/// byte >= 0x80 is an ASCII word as it stands and goes to `f` at once. A run
/// holding such a byte (a non-ASCII character may be a word character or a
/// separator) is set aside and split by [`Tokens`] after the block's ASCII
/// words, so that nothing in the loop that runs for every word of a message
/// is out of line: `f` is inlined into it, its state kept in registers. Run
/// boundaries are ASCII, hence char boundaries.
#[inline(always)]
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(Token)) {
    let bytes = text.as_bytes();
    // Runs holding a byte >= 0x80, for after the loop.
    let mut mixed: Vec<(usize, usize)> = Vec::new();
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
            emit_run(start, base + stop as usize, ascii, &mut f, &mut mixed);
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
                base + first as usize,
                base + stop as usize,
                ascii,
                &mut f,
                &mut mixed,
            );
        }
        // At most a block's runs wait, whatever the text.
        if !mixed.is_empty() {
            split_mixed(text, &mut mixed, &mut f);
        }
    }
    if let Some((start, seen_high)) = open {
        emit_run(start, bytes.len(), !seen_high, &mut f, &mut mixed);
    }
    split_mixed(text, &mut mixed, &mut f);
}

/// Gives `f` the words of the runs set aside in `mixed`, and empties it.
#[inline(always)]
fn split_mixed(text: &str, mixed: &mut Vec<(usize, usize)>, f: &mut impl FnMut(Token)) {
    for (start, end) in mixed.drain(..) {
        // Never taken: a run starts at the text's start or after an ASCII
        // separator, and ends at its end or at one, so both are char
        // boundaries (bytes >= 0x80 are word bytes).
        let Some(run) = text.get(start..end) else {
            continue;
        };
        for t in Tokens::new(run) {
            f(Token {
                start: t.start + start,
                end: t.end + start,
                ascii: t.ascii,
            });
        }
    }
}

/// Gives `f` the run `start..end` when it is `ascii`, or sets it aside in
/// `mixed`.
#[inline(always)]
fn emit_run(
    start: usize,
    end: usize,
    ascii: bool,
    f: &mut impl FnMut(Token),
    mixed: &mut Vec<(usize, usize)>,
) {
    if ascii {
        f(Token {
            start,
            end,
            ascii: true,
        });
    } else {
        mixed.push((start, end));
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

/// Seeded fast hash of a word's normal form, for the first-word prefilter
/// only: of its first eight bytes and its length, which is all a filter in
/// front of the exact check needs (it is not a keyed PRF: the exact sets use
/// SipHash of the whole value). With `ascii_fold`, `bytes` is an ASCII word
/// still in its original case and is lowercased on the fly.
#[inline]
pub(crate) fn fast_hash(seed: u64, bytes: &[u8], ascii_fold: bool) -> u64 {
    fast_hash_range(seed, bytes, 0, bytes.len(), ascii_fold)
}

/// For a word of `n` bytes (the index, up to 8), which bytes of its first
/// eight to keep: a table, as the shifts and selects that work it out cost
/// more than the load on every word of a message.
static KEEP: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut n: usize = 0;
    while n < 8 {
        t[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    t[8] = u64::MAX;
    t
};

/// [`fast_hash`] of `bytes[start..end]`, its first eight bytes read in place
/// from the text where they exist (those past `end` masked off), so a word
/// in a long text costs one load, no copy and no loop.
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
    let first = match bytes.get(start..start.wrapping_add(8)) {
        Some(w) => <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes),
        None => first_eight_copied(bytes, start, end),
    };
    let keep = KEEP.get(len).copied().unwrap_or(u64::MAX);
    mix(seed ^ ((first | fold) & keep), K1 ^ len as u64)
}

/// The bytes of `bytes[start..end]`, up to eight, as a little-endian
/// integer: for a word within eight bytes of the end of its text.
#[cold]
fn first_eight_copied(bytes: &[u8], start: usize, end: usize) -> u64 {
    let mut buf = [0u8; 8];
    let word = bytes.get(start..end).unwrap_or_default();
    let take = word.len().min(8);
    buf[..take].copy_from_slice(&word[..take]);
    u64::from_le_bytes(buf)
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
            fast.sort_by_key(|t| t.start);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn block_tokens_of_any_string_are_the_tokens(text in any::<String>()) {
            let slow: Vec<Token> = Tokens::new(&text).collect();
            let mut fast = Vec::new();
            for_each_word(&text, |t| fast.push(t));
            fast.sort_by_key(|t| t.start);
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
