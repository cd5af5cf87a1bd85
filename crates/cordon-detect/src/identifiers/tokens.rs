//! Windows and tokens: the scanner only looks closely at the text around
//! digits, cut into maximal ASCII alphanumeric runs ("tokens").
//!
//! Every identifier contains at least one digit, so a fast byte scan for digits
//! finds the few short windows worth tokenising; plain prose between them is
//! never tokenised. Matchers work on tokens, so an identifier always starts and
//! ends on a token boundary and can never be found inside a longer
//! alphanumeric run.

/// Token holds at least one ASCII digit.
const DIGIT: u8 = 1;
/// Token holds at least one ASCII letter.
const ALPHA: u8 = 2;
/// Token holds at least one lowercase ASCII letter.
const LOWER: u8 = 4;
/// Token holds an underscore (so it is neither a number nor a word).
const OTHER: u8 = 8;
/// A non-ASCII letter or digit touches the token on the left.
const GLUE_L: u8 = 16;
/// A non-ASCII letter or digit touches the token on the right.
const GLUE_R: u8 = 32;
/// The token is part of a validated identifier already reported in this window.
const CLAIMED: u8 = 64;

/// Class of every byte: 0 for bytes that separate tokens.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            DIGIT
        } else if b.is_ascii_uppercase() {
            ALPHA
        } else if b.is_ascii_lowercase() {
            ALPHA | LOWER
        } else if b == b'_' {
            OTHER
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Whether `b` belongs to a token (ASCII letter, digit or underscore).
#[inline]
pub(super) fn is_word(b: u8) -> bool {
    CLASS[b as usize] != 0
}

/// A maximal run of ASCII letters, digits and underscores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
    flags: u8,
}

impl Token {
    /// Length in bytes (= characters: tokens are ASCII).
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// Only ASCII digits.
    #[inline]
    pub fn is_digits(&self) -> bool {
        self.flags & (DIGIT | ALPHA | OTHER) == DIGIT
    }
    /// Only ASCII letters.
    #[inline]
    pub fn is_alpha(&self) -> bool {
        self.flags & (DIGIT | ALPHA | OTHER) == ALPHA
    }
    /// Only ASCII letters and digits (no underscore).
    #[inline]
    pub fn is_alnum(&self) -> bool {
        self.flags & OTHER == 0
    }
    /// Letters and digits, no lowercase letter.
    #[inline]
    pub fn is_upper_alnum(&self) -> bool {
        self.flags & (OTHER | LOWER) == 0
    }
    /// A non-ASCII letter or digit touches it on the left.
    #[inline]
    pub fn glued_left(&self) -> bool {
        self.flags & GLUE_L != 0
    }
    /// A non-ASCII letter or digit touches it on the right.
    #[inline]
    pub fn glued_right(&self) -> bool {
        self.flags & GLUE_R != 0
    }
    /// Already part of a validated identifier in this window.
    #[inline]
    pub fn claimed(&self) -> bool {
        self.flags & CLAIMED != 0
    }
}

/// The byte offset of the first ASCII digit at or after `from`.
///
/// Eight bytes at a time: a byte is a digit when `b ^ 0x30 < 10`. The classic
/// "has a byte less than n" trick may flag bytes above a real hit (borrows run
/// upwards) but never below one, so the lowest flag is exact.
#[inline]
pub(super) fn next_digit(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        let x = u64::from_le_bytes(a) ^ (LO * 0x30);
        let t = x.wrapping_sub(LO * 10) & !x & HI;
        if t != 0 {
            return Some(i + (t.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < b.len() {
        if b[i].is_ascii_digit() {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether the character ending at byte `pos` (exclusive) is a non-ASCII
/// letter or digit. `pos` must be a char boundary.
fn non_ascii_alnum_before(text: &str, pos: usize) -> bool {
    text.get(..pos)
        .and_then(|s| s.chars().next_back())
        .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
}

/// Whether the character starting at byte `pos` is a non-ASCII letter or digit.
fn non_ascii_alnum_at(text: &str, pos: usize) -> bool {
    text.get(pos..)
        .and_then(|s| s.chars().next())
        .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
}

/// Cuts `text[ws..we]` into tokens (replacing the contents of `toks`).
/// `ws` and `we` need not be char boundaries; tokens always are.
pub(super) fn tokenize(text: &str, ws: usize, we: usize, toks: &mut Vec<Token>) {
    toks.clear();
    let b = text.as_bytes();
    let we = we.min(b.len());
    let mut i = ws;
    while i < we {
        let c = CLASS[b[i] as usize];
        if c == 0 {
            i += 1;
            continue;
        }
        let start = i;
        let mut flags = 0u8;
        while i < b.len() {
            let c = CLASS[b[i] as usize];
            if c == 0 {
                break;
            }
            flags |= c;
            i += 1;
        }
        if start > 0 && b[start - 1] >= 0x80 && non_ascii_alnum_before(text, start) {
            flags |= GLUE_L;
        }
        if i < b.len() && b[i] >= 0x80 && non_ascii_alnum_at(text, i) {
            flags |= GLUE_R;
        }
        toks.push(Token {
            start,
            end: i,
            flags,
        });
    }
}

/// The indices of the tokens an identifier can start at: every identifier
/// starts with a token that holds a digit or is followed by one that does
/// (`JM 41 ...`, `MORGA 753116 ...`, `March 12, ...`, `GIR 0AA`).
pub(super) fn starts(toks: &[Token], out: &mut Vec<usize>) {
    out.clear();
    let has_digit = |t: Option<&Token>| t.is_some_and(|t| t.flags & DIGIT != 0);
    for (k, t) in toks.iter().enumerate() {
        if has_digit(Some(t)) || has_digit(toks.get(k + 1)) {
            out.push(k);
        }
    }
}

/// Marks every token lying inside `start..end` as claimed.
pub(super) fn claim(toks: &mut [Token], start: usize, end: usize) {
    let first = toks.partition_point(|t| t.start < start);
    for t in toks.iter_mut().skip(first) {
        if t.end > end {
            break;
        }
        t.flags |= CLAIMED;
    }
}

/// The bytes between token `k - 1` and token `k` (empty for `k == 0`).
#[inline]
pub(super) fn sep<'a>(b: &'a [u8], toks: &[Token], k: usize) -> &'a [u8] {
    match (k.checked_sub(1).and_then(|p| toks.get(p)), toks.get(k)) {
        (Some(p), Some(t)) => b.get(p.end..t.start).unwrap_or(&[]),
        _ => &[],
    }
}

/// How two groups of an identifier are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Joint {
    /// One space, or one line break where the text was wrapped between groups.
    Space,
    /// One dash, maybe with a line break after it.
    Dash,
}

/// Whether a separator is one space or one line break. Normalised text has
/// `\n` where whitespace held a line break, and soft-wrapped text or a
/// wrapped table cell breaks an identifier wherever its writer put a space,
/// so a line break counts wherever a space does.
#[inline]
pub(super) fn is_space(s: &[u8]) -> bool {
    matches!(s, b" " | b"\n" | b"\r\n")
}

/// Whether a separator is `lead` followed by one space or line break
/// (`, ` or `,` then a line break after a month's day).
#[inline]
pub(super) fn spaced_after(s: &[u8], lead: &[u8]) -> bool {
    s.strip_prefix(lead).is_some_and(is_space)
}

/// The joint a separator makes, if it joins groups of an identifier at all.
#[inline]
pub(super) fn joint(s: &[u8]) -> Option<Joint> {
    if is_space(s) {
        Some(Joint::Space)
    } else if s == b"-" || s.strip_prefix(b"-").is_some_and(is_space) {
        // Text wraps after a hyphen as readily as at a space.
        Some(Joint::Dash)
    } else {
        None
    }
}

/// Whether token `k` is joined to token `k - 1` by one space, line break or dash.
#[inline]
pub(super) fn joined(b: &[u8], toks: &[Token], k: usize) -> bool {
    joint(sep(b, toks, k)).is_some()
}

/// The bytes of a token.
#[inline]
pub(super) fn bytes_of<'a>(b: &'a [u8], t: &Token) -> &'a [u8] {
    b.get(t.start..t.end).unwrap_or(&[])
}

/// Joins tokens `k..` into `buf` (uppercased) until it holds exactly
/// `buf.len()` characters, requiring every token to be alphanumeric, each join
/// to satisfy `sep_ok`, and every token to start at an offset allowed by
/// `split_ok` (offset 0 always is). Returns the index of the last token used.
/// The first token must not be glued on the left nor the last on the right.
pub(super) fn join_exact(
    b: &[u8],
    toks: &[Token],
    k: usize,
    buf: &mut [u8],
    split_ok: impl Fn(usize) -> bool,
    sep_ok: impl Fn(&[u8]) -> bool,
) -> Option<usize> {
    let want = buf.len();
    let first = toks.get(k)?;
    if first.glued_left() {
        return None;
    }
    let mut n = 0;
    let mut j = k;
    loop {
        let t = toks.get(j)?;
        if !t.is_alnum() || (n > 0 && !split_ok(n)) {
            return None;
        }
        let len = t.len();
        if n + len > want {
            return None;
        }
        for (dst, src) in buf[n..n + len].iter_mut().zip(bytes_of(b, t)) {
            *dst = src.to_ascii_uppercase();
        }
        n += len;
        if n == want {
            return (!t.glued_right()).then_some(j);
        }
        j += 1;
        if j >= toks.len() || !sep_ok(sep(b, toks, j)) {
            return None;
        }
    }
}

/// Parses ASCII digits into a number (saturating; callers bound the length).
#[inline]
pub(super) fn num(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10)
            .saturating_add(u64::from(d.wrapping_sub(b'0')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Token> {
        let mut v = Vec::new();
        tokenize(text, 0, text.len(), &mut v);
        v
    }

    #[test]
    fn next_digit_finds_first_digit_everywhere() {
        let s = "abcdefghijklmnopqrstuvwxyz/:;@`ABCDEFG".repeat(3);
        assert_eq!(next_digit(s.as_bytes(), 0), None);
        for pos in 0..s.len() {
            let mut v = s.clone().into_bytes();
            v[pos] = b'7';
            if pos + 3 < v.len() {
                v[pos + 3] = b'0';
            }
            assert_eq!(next_digit(&v, 0), Some(pos), "pos {pos}");
            assert_eq!(
                next_digit(&v, pos + 1),
                (pos + 3 < v.len()).then_some(pos + 3)
            );
        }
        // Bytes just outside the digit range are not digits.
        assert_eq!(next_digit(b"////::::////::::", 0), None);
        assert_eq!(next_digit("é€😀é€😀é€😀".as_bytes(), 0), None);
        assert_eq!(next_digit(b"0", 0), Some(0));
        assert_eq!(next_digit(b"0", 1), None);
        assert_eq!(next_digit(b"", 5), None);
    }

    #[test]
    fn tokens_and_kinds() {
        let t = toks("JM 41-29_x é5 naïve9 AB12");
        let kinds: Vec<_> = t
            .iter()
            .map(|t| {
                (
                    t.is_digits(),
                    t.is_alpha(),
                    t.is_alnum(),
                    t.is_upper_alnum(),
                )
            })
            .collect();
        assert_eq!(t.len(), 7);
        assert_eq!(kinds[0], (false, true, true, true)); // JM
        assert_eq!(kinds[1], (true, false, true, true)); // 41
        assert_eq!(kinds[2], (false, false, false, false)); // 29_x
        assert!(t[3].glued_left()); // 5 after é
        assert!(t[4].glued_right()); // "na" before ï
        assert!(t[5].glued_left()); // "ve9"
        assert_eq!(kinds[6], (false, false, true, true)); // AB12
    }

    #[test]
    fn join_exact_respects_splits_and_separators() {
        let text = "xx jm 41 29 87 b yy";
        let t = toks(text);
        let mut buf = [0u8; 9];
        let split = |n: usize| n.is_multiple_of(2);
        let sep_ok = |s: &[u8]| s == b" ";
        assert_eq!(
            join_exact(text.as_bytes(), &t, 1, &mut buf, split, sep_ok),
            Some(5)
        );
        assert_eq!(&buf, b"JM412987B");
        assert_eq!(
            join_exact(text.as_bytes(), &t, 0, &mut buf, split, sep_ok),
            None
        );
    }

    #[test]
    fn starts_are_digit_tokens_and_their_predecessors() {
        let t = toks("the JM 41 x y MORGA753116 z");
        let mut v = Vec::new();
        starts(&t, &mut v);
        assert_eq!(v, [1, 2, 4, 5]);
    }

    #[test]
    fn claim_marks_only_covered_tokens() {
        let text = "a 12 34 b";
        let mut t = toks(text);
        claim(&mut t, 2, 7);
        let c: Vec<_> = t.iter().map(Token::claimed).collect();
        assert_eq!(c, [false, true, true, false]);
    }
}
