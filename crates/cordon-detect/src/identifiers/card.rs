//! Payment card numbers: Luhn check plus a known issuer prefix with a length
//! that issuer uses. Written run together or grouped (`4-4-4-4`, `4-6-5`, ...)
//! with spaces or dashes.

use super::redact::mask_grouped;
use super::tokens::{Joint, Token, bytes_of, joint, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Whether the digits pass the Luhn (mod 10) check.
pub(crate) fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &c) in d.iter().rev().enumerate() {
        let mut v = u32::from(c.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !d.is_empty() && sum.is_multiple_of(10)
}

/// Whether the number starts with a known issuer prefix and has a length that
/// issuer uses (Visa, Mastercard, Amex, Discover, Maestro, JCB, Diners, UnionPay).
pub(super) fn issuer_ok(d: &[u8]) -> bool {
    let len = d.len();
    let p = |n: usize| -> u32 {
        d.get(..n)
            .map(|s| {
                s.iter()
                    .fold(0u32, |a, &c| a * 10 + u32::from(c.wrapping_sub(b'0')))
            })
            .unwrap_or(0)
    };
    let (p1, p2, p3, p4) = (p(1), p(2), p(3), p(4));
    let visa = p1 == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16;
    let amex = matches!(p2, 34 | 37) && len == 15;
    let discover =
        (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && (16..=19).contains(&len);
    let maestro = (p2 == 50 || (56..=58).contains(&p2) || p1 == 6) && (12..=19).contains(&len);
    let jcb = (3528..=3589).contains(&p4) && (16..=19).contains(&len);
    let diners =
        ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len);
    let unionpay = p2 == 62 && (16..=19).contains(&len);
    visa || mastercard || amex || discover || maestro || jcb || diners || unionpay
}

/// Whether the digits form a valid card number.
pub(super) fn valid(d: &[u8]) -> bool {
    (12..=19).contains(&d.len()) && d.iter().all(u8::is_ascii_digit) && issuer_ok(d) && luhn(d)
}

/// Whether a grouping (digit counts of the groups) is a usual way to write a card.
fn grouping_ok(g: &[usize]) -> bool {
    match g {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] if init.len() >= 2 => {
            init.iter().all(|&n| n == 4) && (1..=4).contains(last)
        }
        _ => false,
    }
}

/// The redacted sample: first four and last four digits, grouped as usual.
fn sample(value: &str) -> String {
    let groups: &[usize] = match value.len() {
        15 => &[4, 6, 5],
        14 => &[4, 6, 4],
        _ => &[4, 4, 4, 4, 4],
    };
    mask_grouped(value, 4, 4, groups, ' ')
}

/// Appends every valid card number among `toks`. At each start the longest
/// valid grouping wins, so a trailing group (an expiry, a CVV) does not hide it.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if !t.is_digits() || t.glued_left() || t.len() > 19 {
            continue;
        }
        // Collect up to five groups joined by the same separator, 19 digits at most.
        let mut groups = [0usize; 5];
        let mut digits = [0u8; 19];
        let mut n_groups = 0;
        let mut n_digits = 0;
        let mut first_joint: Option<Joint> = None;
        for (j, g) in toks.iter().enumerate().skip(k).take(5) {
            if j > k {
                let s = joint(sep(b, toks, j));
                if s.is_none() || (j > k + 1 && s != first_joint) {
                    break;
                }
                first_joint = s;
            }
            if !g.is_digits() || n_digits + g.len() > 19 {
                break;
            }
            digits[n_digits..n_digits + g.len()].copy_from_slice(bytes_of(b, g));
            n_digits += g.len();
            groups[n_groups] = g.len();
            n_groups += 1;
        }
        for ng in (1..=n_groups).rev() {
            let len: usize = groups[..ng].iter().sum();
            let last = &toks[k + ng - 1];
            if grouping_ok(&groups[..ng]) && !last.glued_right() && valid(&digits[..len]) {
                let value = String::from_utf8_lossy(&digits[..len]).into_owned();
                let sample = sample(&value);
                push(
                    out,
                    DetectorId::PaymentCard,
                    t.start,
                    last.end,
                    value,
                    sample,
                );
                next = k + ng;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn luhn_check() {
        assert!(luhn(b"5105105105105100"));
        assert!(!luhn(b"5105105105105101"));
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b""));
        assert!(!luhn(b"41x1"));
    }

    #[test]
    fn issuers_and_lengths() {
        for ok in [
            "4222222222222",       // Visa 13
            "4111111111111111",    // Visa 16
            "4111111111111111110", // Visa 19
            "5105105105105100",    // Mastercard
            "2223003122003222",    // Mastercard 2-series
            "378282246310005",     // Amex
            "6011111111111117",    // Discover
            "3530111333300000",    // JCB
            "30569309025904",      // Diners 14
            "36227206271667",      // Diners 14
            "6759649826438453",    // Maestro
            "6250941006528599",    // UnionPay
        ] {
            assert!(valid(ok.as_bytes()), "{ok}");
        }
        // Luhn-valid but wrong issuer or length.
        for bad in [
            "1234567812345670", // no issuer 1
            "37828224631000",   // Amex prefix, 14 digits
            "510510510510510",  // Mastercard prefix, 15 digits
            "411111111111111",  // Visa 15 → Luhn fails too, but length is wrong anyway
            "9999999999999995", // no issuer 9
            "5105105105105101", // Luhn fails
        ] {
            assert!(!valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn found_grouped_and_run_together() {
        for s in [
            "card 5105 1051 0510 5100 exp 12/27",
            "card 5105-1051-0510-5100.",
            "card 5105105105105100",
            "card: 5105105105105100 12/27",
            "card 5105 1051 0510 5100 123",
        ] {
            assert_eq!(
                values(s, DetectorId::PaymentCard),
                ["5105105105105100"],
                "{s}"
            );
        }
        assert_eq!(
            values("Amex 3782 822463 10005", DetectorId::PaymentCard),
            ["378282246310005"]
        );
        assert_eq!(
            values("Visa 4111 1111 1111 1111 110", DetectorId::PaymentCard),
            ["4111111111111111110"]
        );
    }

    #[test]
    fn rejects_luhn_failures_and_longer_runs() {
        for s in [
            "5105105105105101",
            "5105 1051 0510 5101",
            "12345105105105105100",
            "51051051051051000000",
            "x5105105105105100",
            "5105105105105100x",
            "5105 1051-0510 5100",
            "51 05 10 51 05 10 51 00",
        ] {
            assert!(values(s, DetectorId::PaymentCard).is_empty(), "{s}");
        }
    }

    #[test]
    fn sample_shows_first_and_last_four() {
        let m = find_all("5105 1051 0510 5100");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::PaymentCard)
            .expect("found");
        assert_eq!(m.sample, "5105 **** **** 5100");
        assert_eq!(sample("378282246310005"), "3782 ****** *0005");
    }
}
