//! PNC IDs (`2009/0048213R`, `09/48213R`, `81/34U`, `20090048213R`) and CRO
//! numbers (`65656/91H`, `SF99/12345M`), each with its check letter.
//!
//! The check letter is `ZABCDEFGHJKLMNPQRTUVWXY`[n mod 23], where n is the
//! two-digit year followed by the serial zero-padded to a fixed width (7 for
//! PNC, 6 for CRO, 5 for SF CRO).

use super::redact::stars;
use super::tokens::{Token, bytes_of, num, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// The check letters of PNC IDs and CRO numbers, indexed by n mod 23.
pub(crate) const CHECK: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

/// The check letter for a two-digit year and a serial padded to `width` digits.
pub(super) fn check_letter(yy: u64, serial: u64, width: u32) -> u8 {
    let n = yy * 10u64.pow(width) + serial;
    CHECK[(n % 23) as usize]
}

/// Splits a token of the form digits + one uppercase letter.
fn digits_letter(t: &[u8]) -> Option<(&[u8], u8)> {
    let (&letter, digits) = t.split_last()?;
    (letter.is_ascii_uppercase() && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
        .then_some((digits, letter))
}

/// Whether a 4-digit year looks like one (19xx or 20xx).
fn century_ok(y: &[u8]) -> bool {
    y.starts_with(b"19") || y.starts_with(b"20")
}

/// A digit right before `start` behind an oblique, or right after `end`
/// behind one, means the candidate is a piece of something longer.
fn extended(b: &[u8], start: usize, end: usize) -> bool {
    let before = start >= 2 && b[start - 1] == b'/' && b[start - 2].is_ascii_alphanumeric();
    let after = b.get(end) == Some(&b'/') && b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
    before || after
}

fn push_pnc(
    out: &mut Vec<IdentifierMatch>,
    start: usize,
    end: usize,
    yy: u64,
    serial: u64,
    letter: u8,
) {
    if check_letter(yy, serial, 7) != letter {
        return;
    }
    let s = serial.to_string();
    let l = char::from(letter);
    let value = format!("{yy:02}/{s}{l}");
    let sample = format!("{yy:02}/{}{l}", stars(s.len()));
    push(out, DetectorId::PncId, start, end, value, sample);
}

/// Appends every valid PNC ID and CRO number among `toks`.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    for &k in starts {
        let t = &toks[k];
        if t.glued_left() || !t.is_upper_alnum() {
            continue;
        }
        let tb = bytes_of(b, t);
        // Run-together PNC ID: YY + 7 digits + letter, or YYYY + 7 digits + letter.
        if (t.len() == 10 || t.len() == 12)
            && !t.glued_right()
            && !extended(b, t.start, t.end)
            && let Some((d, letter)) = digits_letter(tb)
        {
            let y = &d[..d.len() - 7];
            if y.len() == 2 || century_ok(y) {
                let yy = num(&y[y.len() - 2..]);
                push_pnc(out, t.start, t.end, yy, num(&d[d.len() - 7..]), letter);
            }
        }
        // Oblique forms: A/B.
        let Some(u) = toks.get(k + 1) else { continue };
        if sep(b, toks, k + 1) != b"/"
            || u.glued_right()
            || !u.is_upper_alnum()
            || extended(b, t.start, u.end)
        {
            continue;
        }
        let Some((ud, letter)) = digits_letter(bytes_of(b, u)) else {
            continue;
        };
        if t.is_digits() {
            // PNC: YY/serial or YYYY/serial, serial 1-7 digits.
            if (t.len() == 2 || (t.len() == 4 && century_ok(tb))) && ud.len() <= 7 {
                push_pnc(
                    out,
                    t.start,
                    u.end,
                    num(&tb[tb.len() - 2..]),
                    num(ud),
                    letter,
                );
            }
            // CRO: serial (1-6 digits) / YY.
            if t.len() <= 6 && ud.len() == 2 {
                let (serial, yy) = (num(tb), num(ud));
                if check_letter(yy, serial, 6) == letter {
                    let l = char::from(letter);
                    let s = serial.to_string();
                    let value = format!("{s}/{yy:02}{l}");
                    let sample = format!("{}/{yy:02}{l}", stars(s.len()));
                    push(out, DetectorId::CroNumber, t.start, u.end, value, sample);
                }
            }
        } else if t.len() == 4
            && tb.starts_with(b"SF")
            && tb[2..].iter().all(u8::is_ascii_digit)
            && ud.len() <= 5
        {
            // SF CRO: SFYY/serial, serial 1-5 digits.
            let (yy, serial) = (num(&tb[2..]), num(ud));
            if check_letter(yy, serial, 5) == letter {
                let l = char::from(letter);
                let s = serial.to_string();
                let value = format!("SF{yy:02}/{s}{l}");
                let sample = format!("SF{yy:02}/{}{l}", stars(s.len()));
                push(out, DetectorId::CroNumber, t.start, u.end, value, sample);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    /// Replaces the last character of `s` by every other letter and asserts
    /// that none of them is found by `det`.
    fn other_letters_rejected(s: &str, det: DetectorId) {
        let last = s.chars().last().expect("non-empty");
        for l in 'A'..='Z' {
            if l == last {
                continue;
            }
            let t = format!("{}{l}", &s[..s.len() - 1]);
            assert!(values(&t, det).is_empty(), "{t}");
        }
    }

    #[test]
    fn design_examples_validate() {
        assert_eq!(check_letter(9, 48213, 7), b'R');
        assert_eq!(check_letter(81, 34, 7), b'U');
        assert_eq!(check_letter(91, 65656, 6), b'H');
        assert_eq!(check_letter(99, 12345, 5), b'M');
    }

    #[test]
    fn pnc_forms() {
        for s in [
            "PNC 2009/0048213R",
            "PNC 09/48213R.",
            "PNC 09/0048213R",
            "PNC 20090048213R",
            "PNC 090048213R",
        ] {
            assert_eq!(values(s, DetectorId::PncId), ["09/48213R"], "{s}");
        }
        assert_eq!(values("PNC ID 81/34U", DetectorId::PncId), ["81/34U"]);
        let m = find_all("PNC 2009/0048213R");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::PncId)
            .expect("found");
        assert_eq!(m.sample, "09/*****R");
        assert_eq!((m.start, m.end), (4, 17));
    }

    #[test]
    fn pnc_wrong_letter_or_shape_rejected() {
        for s in [
            "2009/0048213R",
            "09/48213R",
            "81/34U",
            "20090048213R",
            "090048213R",
        ] {
            other_letters_rejected(s, DetectorId::PncId);
        }
        for s in [
            "09/48213r",
            "0948213R",
            "3009/0048213R",
            "2009/00048213R",
            "12/09/48213R",
            "09/48213R/1",
            "X09/48213R",
            "09/48213RX",
            "1234567890R",
        ] {
            assert!(values(s, DetectorId::PncId).is_empty(), "{s}");
        }
    }

    #[test]
    fn cro_forms() {
        assert_eq!(
            values("CRO 65656/91H", DetectorId::CroNumber),
            ["65656/91H"]
        );
        assert_eq!(
            values("CRO 065656/91H", DetectorId::CroNumber),
            ["65656/91H"]
        );
        assert_eq!(
            values("SF CRO SF99/12345M", DetectorId::CroNumber),
            ["SF99/12345M"]
        );
        other_letters_rejected("65656/91H", DetectorId::CroNumber);
        other_letters_rejected("SF99/12345M", DetectorId::CroNumber);
        for s in [
            "1065656/91H",
            "65656/191H",
            "SF99/123456M",
            "sf99/12345M",
            "XSF99/12345M",
        ] {
            assert!(values(s, DetectorId::CroNumber).is_empty(), "{s}");
        }
        let m = find_all("SF99/12345M");
        assert_eq!(m[0].sample, "SF99/*****M");
        let m = find_all("65656/91H");
        assert_eq!(m[0].sample, "*****/91H");
    }
}
