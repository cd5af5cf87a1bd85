//! DVLA driving licence numbers: 16 characters, `MORGA753116SM9IJ`, optionally
//! spaced `MORGA 753116 SM9IJ` or `MORGA753116 SM9IJ` (a line break may stand
//! for either space), in any case: people type `morga753116sm9ij` too.
//!
//! Layout: surname (5, letters padded with 9), decade digit, month (01-12, or
//! 51-62 for women), day (01-31), year digit, two initials (letters, the
//! second may be 9), one digit, two check characters. The value is uppercase.

use super::tokens::{Token, is_space, join_exact};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Days in a month of an unknown year (February may have 29).
pub(super) fn max_day(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn two(d: &[u8]) -> u8 {
    (d[0] - b'0') * 10 + (d[1] - b'0')
}

/// Whether 16 characters (uppercased) have the DVLA layout with a real month and day.
pub(super) fn valid(c: &[u8; 16]) -> bool {
    let surname = &c[..5];
    let pad = surname.iter().position(|&x| x == b'9').unwrap_or(5);
    let surname_ok = pad >= 1
        && surname[..pad].iter().all(u8::is_ascii_uppercase)
        && surname[pad..].iter().all(|&x| x == b'9');
    if !surname_ok || !c[5..11].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut month = two(&c[6..8]);
    if month > 50 {
        month -= 50;
    }
    let day = two(&c[8..10]);
    let date_ok = (1..=12).contains(&month) && day >= 1 && day <= max_day(month);
    let initials_ok = c[11].is_ascii_uppercase() && (c[12].is_ascii_uppercase() || c[12] == b'9');
    let check_ok = c[13].is_ascii_digit()
        && c[14..]
            .iter()
            .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit());
    date_ok && initials_ok && check_ok
}

/// Appends every valid licence number among `toks`.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if !(t.is_alnum() && matches!(t.len(), 5 | 11 | 16) && b[t.start].is_ascii_alphabetic()) {
            continue;
        }
        let mut c = [0u8; 16];
        let last = join_exact(b, toks, k, &mut c, |n| n == 5 || n == 11, is_space);
        match last {
            Some(last) if valid(&c) => {
                let value = String::from_utf8_lossy(&c).into_owned();
                let sample = format!("{}*** ****** ***{}", &value[..2], &value[14..]);
                push(
                    out,
                    DetectorId::UkDrivingLicence,
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

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn validator() {
        assert!(valid(b"MORGA753116SM9IJ"));
        assert!(valid(b"LEE99702296J99AB"));
        assert!(valid(b"SMITH801013JA9XX"));
        assert!(!valid(b"MORGA713116SM9IJ")); // month 13
        assert!(!valid(b"MORGA763116SM9IJ")); // month 63
        assert!(!valid(b"MORGA750016SM9IJ")); // day 00
        assert!(!valid(b"MORGA752306SM9IJ")); // 30 February
        assert!(!valid(b"MORGA753326SM9IJ")); // day 32
        assert!(!valid(b"9ORGA753116SM9IJ")); // surname starts with 9
        assert!(!valid(b"MO9GA753116SM9IJ")); // letter after padding
        assert!(valid(b"MORGA753116S99IJ")); // second initial may be 9
        assert!(!valid(b"MORGA7531169M9IJ")); // first initial a digit
        assert!(!valid(b"MORGA753116SMXIJ")); // 14th must be a digit
    }

    #[test]
    fn found_in_variants() {
        for s in [
            "Licence MORGA753116SM9IJ held",
            "Licence MORGA 753116 SM9IJ",
            "Licence MORGA753116 SM9IJ.",
            "licence morga753116sm9ij",
            "licence Morga753116Sm9iJ",
            "licence morga 753116 sm9ij",
            "Licence MORGA\n753116\nSM9IJ",
            "Licence MORGA753116\nSM9IJ",
        ] {
            assert_eq!(
                values(s, DetectorId::UkDrivingLicence),
                ["MORGA753116SM9IJ"],
                "{s}"
            );
        }
        let m = find_all("MORGA 753116 SM9IJ");
        assert_eq!(m[0].sample, "MO*** ****** ***IJ");
    }

    #[test]
    fn not_in_words() {
        for s in [
            "xmorga753116sm9ij",
            "morga753116sm9ijx",
            "MORGA\n\n753116 SM9IJ",
            "XMORGA753116SM9IJ",
            "MORGA753116SM9IJX",
            "MORGA-753116-SM9IJ",
            "MORG A753116SM9IJ",
            "INTERNATIONALISATION of CHARACTERISTICS 2024",
            "ABCDE123456ABCDE",
        ] {
            assert!(values(s, DetectorId::UkDrivingLicence).is_empty(), "{s}");
        }
    }
}
