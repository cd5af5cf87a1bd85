//! NHS numbers: ten digits, `401 023 2137`, `401-023-2137` or `4010232137`,
//! with the mod 11 check digit.
//!
//! One ten-digit reference in eleven passes mod 11, so a valid number is only
//! strong personal data (`nhs_number`) where the text says it is one: a health
//! word near it (NHS, patient, hospital, GP, health, referral, CHI ...), a
//! column header earlier in the text naming it (`NHS No`, `CHI`, `Patient`),
//! or a list of two or more distinct valid numbers in the same text. Alone it
//! is a weak `possible_nhs_number`.

use super::context::{Context, Topic};
use super::redact::mask_grouped;
use super::tokens::{Token, bytes_of, joint, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Whether ten digits form a valid NHS number: weights 10..2 over the first
/// nine digits, check = 11 - (sum mod 11), 11 becomes 0, 10 is invalid; a
/// number of one repeated digit is rejected.
pub(super) fn valid(d: &[u8; 10]) -> bool {
    if !d.iter().all(u8::is_ascii_digit) || d.iter().all(|&c| c == d[0]) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .zip((2..=10u32).rev())
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    u32::from(d[9] - b'0') == check
}

/// Whether the number at `start` follows an international dialling prefix or
/// a `(0)` trunk prefix, as in `+44 161 496 0000`: then it is a phone number.
fn after_phone_prefix(b: &[u8], start: usize) -> bool {
    let mut i = start;
    if i > 0 && matches!(b[i - 1], b' ' | b'\n' | b'-') {
        i -= 1;
    }
    if i > 0 && matches!(b[i - 1], b')' | b'+') {
        return true;
    }
    let digits_end = i;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    i < digits_end && i > 0 && b[i - 1] == b'+'
}

/// How far before a number a health word may stand, in bytes.
const CONTEXT_BEFORE: usize = 48;
/// How far after a number a health word may stand, in bytes.
const CONTEXT_AFTER: usize = 32;
/// The words that make a number near them an NHS number.
const NEAR: &[Topic] = &[Topic::Health, Topic::HealthColumn];

/// Appends every valid NHS number among `toks`, as `nhs_number`; [`grade`]
/// decides afterwards which of them stay strong.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if !t.is_digits() || t.glued_left() || !(t.len() == 10 || t.len() == 3) {
            continue;
        }
        let mut d = [0u8; 10];
        let mut last = None;
        if t.len() == 10 && !t.glued_right() {
            d.copy_from_slice(bytes_of(b, t));
            last = Some(k);
        } else if let (Some(u), Some(v)) = (toks.get(k + 1), toks.get(k + 2)) {
            let s1 = joint(sep(b, toks, k + 1));
            if u.is_digits()
                && v.is_digits()
                && u.len() == 3
                && v.len() == 4
                && !v.glued_right()
                && s1.is_some()
                && joint(sep(b, toks, k + 2)) == s1
            {
                d[..3].copy_from_slice(bytes_of(b, t));
                d[3..6].copy_from_slice(bytes_of(b, u));
                d[6..].copy_from_slice(bytes_of(b, v));
                last = Some(k + 2);
            }
        }
        match last {
            Some(last) if valid(&d) && !after_phone_prefix(b, t.start) => {
                let value = String::from_utf8_lossy(&d).into_owned();
                let sample = mask_grouped(&value, 3, 0, &[3, 3, 4], ' ');
                push(
                    out,
                    DetectorId::NhsNumber,
                    t.start,
                    toks[last].end,
                    value,
                    sample,
                );
                next = last + 1;
            }
            _ => {}
        }
    }
}

/// Demotes to `possible_nhs_number` every NHS number in `found` (the matches
/// of one scan of `text`) that has no NHS context: no health word near it, no
/// column header word earlier in the text, and no other distinct valid number
/// in the text. Linear: one look at each number's surroundings, and at most
/// one pass over the text for a header word.
pub(super) fn grade(text: &str, found: &mut [IdentifierMatch], ctx: &Context) {
    let b = text.as_bytes();
    let mut numbers = found
        .iter()
        .filter(|m| m.detector == DetectorId::NhsNumber)
        .map(|m| m.value.as_str());
    let Some(first) = numbers.next() else {
        return;
    };
    if numbers.any(|v| v != first) {
        return; // a list of several: every one is an NHS number
    }
    let mut header: Option<Option<usize>> = None;
    for m in found
        .iter_mut()
        .filter(|m| m.detector == DetectorId::NhsNumber)
    {
        let near = ctx.before_any(b, m.start, CONTEXT_BEFORE, NEAR)
            || ctx.after(b, m.end, CONTEXT_AFTER, NEAR);
        if near {
            continue;
        }
        let header_at = *header.get_or_insert_with(|| ctx.first(b, Topic::HealthColumn));
        if header_at.is_some_and(|h| h < m.start) {
            continue;
        }
        m.detector = DetectorId::PossibleNhsNumber;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    /// The valid numbers found in `s`, strong or weak.
    fn numbers(s: &str) -> Vec<String> {
        let mut v = values(s, DetectorId::NhsNumber);
        v.extend(values(s, DetectorId::PossibleNhsNumber));
        v
    }

    #[test]
    fn validator() {
        assert!(valid(b"4010232137"));
        assert!(valid(b"9434765919"));
        assert!(!valid(b"4010232138"));
        assert!(!valid(b"0000000000"));
        assert!(!valid(b"1111111111"));
        // Check value 10 is invalid: 1234567890 sums to 210; 11 - 210 % 11 = 10.
        assert!(!valid(b"1234567890"));
        assert!(!valid(b"123456789X"));
    }

    #[test]
    fn check_eleven_becomes_zero() {
        // 000000019 + check: sum = 1*3 + 9*2 = 21, 21 % 11 = 10, 11 - 10 = 1 → check 1.
        // Find a prefix whose sum is a multiple of 11: 100000001 → 10 + 2 = 12 → no;
        // 000000011 → 3 + 2 = 5; 110000000 → 10 + 9 = 19; 500000006 → 50 + 12 = 62 → no.
        // 200000001: 20 + 2 = 22 → sum % 11 = 0 → check 11 → 0.
        assert!(valid(b"2000000010"));
        assert!(!valid(b"2000000011"));
    }

    #[test]
    fn found_with_and_without_separators() {
        for s in [
            "NHS no 401 023 2137.",
            "NHS no 401-023-2137",
            "NHS no 4010232137",
            "NHS: (4010232137)",
            "4010232137 01/02/1984",
            "NHS no 401 023\n2137",
            "NHS no 401\n023\n2137",
            "NHS no 401-023-\n2137",
        ] {
            assert_eq!(numbers(s), ["4010232137"], "{s}");
        }
    }

    #[test]
    fn rejects_invalid_embedded_and_mixed() {
        for s in [
            "401 023 2138",
            "40102321370",
            "14010232137",
            "401 023-2137",
            "401 0232 137",
            "A4010232137",
            "4010232137x",
            "0000000000",
            "+44 401 023 2137",
            "+44 (0)401 023 2137",
            "+4010232137",
            "+44\n401 023 2137",
            "401 023\n\n2137",
            "401 023\n-2137",
        ] {
            assert!(numbers(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn sample_is_redacted() {
        let m = find_all("NHS 401 023 2137");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::NhsNumber)
            .expect("found");
        assert_eq!(m.sample, "401 *** ****");
        assert_eq!((m.start, m.end), (4, 16));
    }

    #[test]
    fn strong_with_health_words_near() {
        for s in [
            "NHS no 401 023 2137",
            "NHS Number: 4010232137",
            "nhs\nnumber 4010232137",
            "Patient 401-023-2137 seen today",
            "GP referral for 4010232137",
            "taken to hospital; ref 4010232137",
            "4010232137 (NHS)",
            "4010232137 is his CHI",
            "j.smith@nhs.net 4010232137",
        ] {
            assert_eq!(values(s, DetectorId::NhsNumber), ["4010232137"], "{s}");
            assert!(values(s, DetectorId::PossibleNhsNumber).is_empty(), "{s}");
        }
    }

    #[test]
    fn weak_alone() {
        for s in [
            "Order ref 4010232137 dispatched",
            "Invoice no. 401 023 2137",
            "Call 401-023-2137",
            "Thenhs 4010232137 GPx",
            "4010232137 and 4010232137 again",
        ] {
            assert!(values(s, DetectorId::NhsNumber).is_empty(), "{s}");
            assert_eq!(
                values(s, DetectorId::PossibleNhsNumber)
                    .first()
                    .map(String::as_str),
                Some("4010232137"),
                "{s}"
            );
        }
        // A health word far away does not count, nor a header word after the number.
        let far = format!(
            "health {} 4010232137 {} NHS",
            "x ".repeat(40),
            "y ".repeat(40)
        );
        assert_eq!(values(&far, DetectorId::PossibleNhsNumber), ["4010232137"]);
    }

    #[test]
    fn strong_under_a_column_header() {
        let mut csv = String::from("Name,NHS No,Date\n");
        for _ in 0..20 {
            csv.push_str("Jane Smith,4010232137,2024-01-01\n");
        }
        assert_eq!(values(&csv, DetectorId::NhsNumber), ["4010232137"; 20]);
        let table = format!(
            "| Patient | Ref |\n{}| J S | 401 023 2137 |",
            "| a | b |\n".repeat(30)
        );
        assert_eq!(values(&table, DetectorId::NhsNumber), ["4010232137"]);
    }

    #[test]
    fn strong_in_a_list_of_several() {
        let s = "Refs: 4010232137, 9434765919";
        assert_eq!(
            values(s, DetectorId::NhsNumber),
            ["4010232137", "9434765919"]
        );
        assert!(values(s, DetectorId::PossibleNhsNumber).is_empty());
    }
}
