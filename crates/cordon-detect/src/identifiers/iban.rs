//! IBANs: country code, two check digits, BBAN; run together or in groups of
//! four separated by single spaces; ISO 13616 mod 97 check and the registered
//! length for the country (15-34 for countries not in the table). A GB IBAN
//! is UK bank account data (`UkBankAccount`); any other is `Iban`.

use super::redact::mask_grouped;
use super::tokens::{Token, bytes_of, is_space, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Registered IBAN lengths (SWIFT IBAN registry).
const LENGTHS: &[(&[u8; 2], u8)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// Registered length per country code, indexed by (first letter * 26 + second); 0 = unknown.
pub(super) struct Lengths([u8; 26 * 26]);

impl Lengths {
    /// Builds the table from [`LENGTHS`].
    pub fn new() -> Self {
        let mut t = [0u8; 26 * 26];
        for (cc, len) in LENGTHS {
            t[usize::from(cc[0] - b'A') * 26 + usize::from(cc[1] - b'A')] = *len;
        }
        Lengths(t)
    }

    /// The registered length for an uppercase country code, if any.
    fn get(&self, a: u8, b: u8) -> Option<usize> {
        let i = usize::from(a.checked_sub(b'A')?) * 26 + usize::from(b.checked_sub(b'A')?);
        self.0.get(i).copied().filter(|&n| n > 0).map(usize::from)
    }
}

impl std::fmt::Debug for Lengths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lengths")
    }
}

/// ISO 7064 mod 97-10 over the rearranged IBAN (first four characters moved to
/// the end, letters as 10..35); a valid IBAN gives 1.
pub(super) fn mod97(iban: &[u8]) -> u32 {
    let (head, tail) = iban.split_at(iban.len().min(4));
    tail.iter().chain(head).fold(0u32, |r, &c| match c {
        b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
        b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
        _ => r,
    })
}

/// Whether an uppercase, space-free candidate is a valid IBAN.
pub(super) fn valid(iban: &[u8], lengths: &Lengths) -> bool {
    let [a, b, c1, c2, ..] = *iban else {
        return false;
    };
    let len_ok = match lengths.get(a, b) {
        Some(n) => iban.len() == n,
        None => (15..=34).contains(&iban.len()),
    };
    if !len_ok {
        return false;
    }
    let gb_ok = &iban[..2] != b"GB"
        || (iban[4..8].iter().all(u8::is_ascii_uppercase)
            && iban[8..].iter().all(u8::is_ascii_digit));
    a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && c1.is_ascii_digit()
        && c2.is_ascii_digit()
        && !matches!(&iban[2..4], b"00" | b"01" | b"99")
        && iban
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && gb_ok
        && mod97(iban) == 1
}

/// Appends every valid IBAN among `toks` (the longest valid one at each start).
pub(super) fn find(
    text: &str,
    toks: &[Token],
    starts: &[usize],
    lengths: &Lengths,
    out: &mut Vec<IdentifierMatch>,
) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        let tb = bytes_of(b, t);
        let head_ok = t.len() >= 4
            && t.len() <= 34
            && t.is_alnum()
            && !t.glued_left()
            && tb[0].is_ascii_alphabetic()
            && tb[1].is_ascii_alphabetic()
            && tb[2].is_ascii_digit()
            && tb[3].is_ascii_digit();
        if !head_ok {
            continue;
        }
        let mut buf = [0u8; 34];
        let mut n = 0;
        let mut best = None;
        for (j, g) in toks.iter().enumerate().skip(k) {
            if j > k && (!is_space(sep(b, toks, j)) || toks[j - 1].len() != 4) {
                break;
            }
            if !g.is_alnum() || n + g.len() > 34 {
                break;
            }
            for (d, s) in buf[n..n + g.len()].iter_mut().zip(bytes_of(b, g)) {
                *d = s.to_ascii_uppercase();
            }
            n += g.len();
            if !g.glued_right() && valid(&buf[..n], lengths) {
                best = Some((j, n));
            }
        }
        if let Some((last, n)) = best {
            let value = String::from_utf8_lossy(&buf[..n]).into_owned();
            let sample = mask_grouped(&value, 4, 2, &[4; 9], ' ');
            let det = if value.starts_with("GB") {
                DetectorId::UkBankAccount
            } else {
                DetectorId::Iban
            };
            push(out, det, t.start, toks[last].end, value, sample);
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
        let l = Lengths::new();
        for ok in [
            "GB82WEST12345698765432",
            "GB33BUKB20201555555555",
            "DE89370400440532013000",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "NO9386011117947",
            "MT84MALT011000012345MTLCAST001S",
        ] {
            assert!(valid(ok.as_bytes(), &l), "{ok}");
        }
        for bad in [
            "GB82WEST12345698765433", // check fails
            "GB82WEST1234569876543",  // too short for GB
            "DE8937040044053201300",  // too short for DE
            "GB15WEST1234569876543X", // GB BBAN must end in digits (check recomputed below anyway)
            "XX00ABCDEFGHIJKLMNOP",   // check digits 00
            "GB82",
        ] {
            assert!(!valid(bad.as_bytes(), &l), "{bad}");
        }
    }

    #[test]
    fn found_grouped_or_compact() {
        for s in [
            "IBAN GB82 WEST 1234 5698 7654 32.",
            "IBAN GB82WEST12345698765432",
            "iban gb82 west 1234 5698 7654 32",
        ] {
            assert_eq!(
                values(s, DetectorId::UkBankAccount),
                ["GB82WEST12345698765432"],
                "{s}"
            );
            assert!(values(s, DetectorId::Iban).is_empty());
        }
        assert_eq!(
            values("Pay DE89 3704 0044 0532 0130 00 now", DetectorId::Iban),
            ["DE89370400440532013000"]
        );
        assert_eq!(
            values("NL91ABNA0417164300", DetectorId::Iban),
            ["NL91ABNA0417164300"]
        );
        let m = find_all("GB82 WEST 1234 5698 7654 32");
        assert_eq!(m[0].sample, "GB82 **** **** **** **** 32");
    }

    #[test]
    fn not_embedded_or_broken() {
        for s in [
            "XGB82WEST12345698765432",
            "GB82WEST12345698765432X",
            "GB82 WEST 1234 5698 7654 33",
            "GB82 WES T1234 5698 7654 32",
            "GB82-WEST-1234-5698-7654-32",
        ] {
            assert!(values(s, DetectorId::UkBankAccount).is_empty(), "{s}");
        }
    }
}
