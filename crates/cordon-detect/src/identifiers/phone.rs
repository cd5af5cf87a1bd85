//! UK telephone numbers: `01632 960123`, `020 7946 0000`, `07700 900123`,
//! `0800 123 4567`, `(01632) 960123`, `+44 (0)20 7946 0000`, `+447700900123`.
//! The value is the national form, digits only (`02079460000`).

use super::redact::mask_grouped;
use super::tokens::{Token, bytes_of, is_space, joined, joint, sep, spaced_after};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Whether a national number (starting with 0) has a UK shape: 11 digits, or
/// 10 for some 01 area codes and 08 freephone numbers; 00, 04 and 06 are not
/// UK national numbers.
pub(super) fn valid(d: &[u8]) -> bool {
    if d.first() != Some(&b'0') || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    matches!(
        (d.get(1), d.len()),
        (Some(b'1' | b'2' | b'3' | b'5' | b'7' | b'8' | b'9'), 11) | (Some(b'1' | b'8'), 10)
    )
}

/// Whether the number at `start` follows another country's code (`+1 ...`).
fn after_country_code(b: &[u8], start: usize) -> bool {
    let mut i = start;
    if i > 0 && matches!(b[i - 1], b' ' | b'\n' | b'-') {
        i -= 1;
    }
    let digits_end = i;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    i < digits_end && i > 0 && b[i - 1] == b'+'
}

fn emit(out: &mut Vec<IdentifierMatch>, start: usize, end: usize, d: &[u8]) {
    let value = String::from_utf8_lossy(d).into_owned();
    let sample = mask_grouped(&value, 4, 2, &[], ' ');
    push(out, DetectorId::UkPhone, start, end, value, sample);
}

/// Collects digit groups from token `k` on (each joined to the previous by one
/// space or dash, the first by `first_joint_ok`), appending to `d`, at most four
/// groups of at least `min_group` digits. Returns the index of the last token
/// of the longest prefix that `valid` accepts.
fn groups(
    b: &[u8],
    toks: &[Token],
    k: usize,
    d: &mut [u8; 11],
    mut n: usize,
    min_group: usize,
    first_joint_ok: impl Fn(&[u8]) -> bool,
) -> Option<(usize, usize)> {
    let mut best = None;
    for (j, g) in toks.iter().enumerate().skip(k).take(4) {
        let joint_ok = if j == k {
            first_joint_ok(sep(b, toks, j))
        } else {
            joined(b, toks, j)
        };
        if !joint_ok || !g.is_digits() || g.len() < min_group || n + g.len() > 11 {
            break;
        }
        d[n..n + g.len()].copy_from_slice(bytes_of(b, g));
        n += g.len();
        if valid(&d[..n]) && !g.glued_right() {
            best = Some((j, n));
        }
    }
    best
}

/// Tries an international number whose country code token `k` follows a `+`.
fn international(b: &[u8], toks: &[Token], k: usize) -> Option<(usize, usize, [u8; 11])> {
    let t = toks.get(k)?;
    let tb = bytes_of(b, t);
    if !t.is_digits() || !tb.starts_with(b"44") {
        return None;
    }
    let mut d = [0u8; 11];
    d[0] = b'0';
    let rest = &tb[2..];
    let rest = rest.strip_prefix(b"0").unwrap_or(rest);
    if rest.is_empty() {
        // "+44 20 ...", "+44 (0)20 ...", "+44 (0) 20 ...", "+44 020 ...".
        let mut j = k + 1;
        let s = sep(b, toks, j);
        let zero = toks.get(j).is_some_and(|z| bytes_of(b, z) == b"0");
        let open = s == b"(" || s.strip_suffix(b"(").is_some_and(is_space);
        let close = sep(b, toks, j + 1);
        if open && zero && (close == b")" || spaced_after(close, b")")) {
            j += 1;
            let g = toks.get(j)?;
            let gb = bytes_of(b, g);
            let gb = gb.strip_prefix(b"0").unwrap_or(gb);
            // The first group sits after ")" rather than after a space or dash.
            return groups_after(b, toks, j, gb, d);
        }
        let g = toks.get(j)?;
        // "+44 20 ...": the first national group after a space, line break or dash.
        joint(s)?;
        let gb = bytes_of(b, g);
        let gb = gb.strip_prefix(b"0").unwrap_or(gb);
        return groups_after(b, toks, j, gb, d);
    }
    if rest.len() > 10 {
        return None;
    }
    d[1..1 + rest.len()].copy_from_slice(rest);
    let n = 1 + rest.len();
    let mut best = (valid(&d[..n]) && !t.glued_right()).then_some((k, n));
    if let Some(more) = groups(b, toks, k + 1, &mut d, n, 2, |s| joint(s).is_some()) {
        best = Some(more);
    }
    best.map(|(last, n)| (last, n, d))
}

/// Continues an international number whose first national group is token `j`
/// (with its digits `gb`, a trunk 0 already stripped).
fn groups_after(
    b: &[u8],
    toks: &[Token],
    j: usize,
    gb: &[u8],
    mut d: [u8; 11],
) -> Option<(usize, usize, [u8; 11])> {
    let g = toks.get(j)?;
    if !g.is_digits() || gb.is_empty() || gb.len() > 10 {
        return None;
    }
    d[1..1 + gb.len()].copy_from_slice(gb);
    let n = 1 + gb.len();
    let mut best = (valid(&d[..n]) && !g.glued_right()).then_some((j, n));
    if let Some(more) = groups(b, toks, j + 1, &mut d, n, 2, |s| joint(s).is_some()) {
        best = Some(more);
    }
    best.map(|(last, n)| (last, n, d))
}

/// Appends every UK phone number among `toks`.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if !t.is_digits() || t.glued_left() || t.len() > 12 {
            continue;
        }
        let before = t.start.checked_sub(1).map(|i| b[i]);
        if before == Some(b'+') {
            if let Some((last, n, d)) = international(b, toks, k) {
                emit(out, t.start - 1, toks[last].end, &d[..n]);
                next = last + 1;
            }
            continue;
        }
        if b[t.start] != b'0' || t.len() < 3 || after_country_code(b, t.start) {
            continue;
        }
        let mut d = [0u8; 11];
        let tb = bytes_of(b, t);
        if tb.len() > 11 {
            continue;
        }
        d[..tb.len()].copy_from_slice(tb);
        let n = tb.len();
        let paren = before == Some(b'(') && b.get(t.end) == Some(&b')');
        let mut best = (!paren && valid(&d[..n]) && !t.glued_right()).then_some((k, n));
        let first_ok = |s: &[u8]| {
            if paren {
                s == b")" || spaced_after(s, b")")
            } else {
                joint(s).is_some()
            }
        };
        if let Some(more) = groups(b, toks, k + 1, &mut d, n, 3, first_ok) {
            best = Some(more);
        }
        if let Some((last, n)) = best {
            let start = if paren { t.start - 1 } else { t.start };
            emit(out, start, toks[last].end, &d[..n]);
            next = last + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn validator() {
        assert!(valid(b"01632960123"));
        assert!(valid(b"02079460000"));
        assert!(valid(b"07700900123"));
        assert!(valid(b"08001234567"));
        assert!(valid(b"0800123456"));
        assert!(valid(b"0163296012"));
        assert!(!valid(b"0207946000"));
        assert!(!valid(b"0770090012"));
        assert!(!valid(b"00441632960"));
        assert!(!valid(b"04123456789"));
        assert!(!valid(b"1632960123"));
        assert!(!valid(b"016329601234"));
    }

    #[test]
    fn national_forms() {
        for (s, v) in [
            ("Call 01632 960123 today", "01632960123"),
            ("Call 020 7946 0000.", "02079460000"),
            ("mobile 07700 900123", "07700900123"),
            ("mobile 07700-900-123", "07700900123"),
            ("freephone 0800 123 4567", "08001234567"),
            ("tel: 01632960123", "01632960123"),
            ("tel (01632) 960123", "01632960123"),
            ("tel (020) 7946 0000", "02079460000"),
            ("0161 496 0000 ext 12", "01614960000"),
        ] {
            assert_eq!(values(s, DetectorId::UkPhone), [v], "{s}");
        }
    }

    #[test]
    fn international_forms() {
        for (s, v) in [
            ("+44 (0)20 7946 0000", "02079460000"),
            ("+44 (0) 20 7946 0000", "02079460000"),
            ("+44 20 7946 0000", "02079460000"),
            ("+44 020 7946 0000", "02079460000"),
            ("+447700900123", "07700900123"),
            ("+44 7700 900123", "07700900123"),
            ("+44-7700-900-123", "07700900123"),
        ] {
            assert_eq!(values(s, DetectorId::UkPhone), [v], "{s}");
        }
        let m = find_all("ring +44 (0)20 7946 0000 now");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::UkPhone)
            .expect("found");
        assert_eq!(
            &"ring +44 (0)20 7946 0000 now"[m.start..m.end],
            "+44 (0)20 7946 0000"
        );
        assert_eq!(m.sample, "0207*****00");
    }

    #[test]
    fn rejects_other_numbers() {
        for s in [
            "1234501632960123",
            "016329601234",
            "x01632960123",
            "01632960123x",
            "+33 1 23 45 67 89",
            "0 1 6 3 2 9 6 0 1 2 3",
            "07700 90012",
            "+1 01632 960123",
            "12/01/2024",
        ] {
            assert!(values(s, DetectorId::UkPhone).is_empty(), "{s}");
        }
    }
}
