//! UK postcodes: `A9 9AA`, `A99 9AA`, `A9A 9AA`, `AA9 9AA`, `AA99 9AA`,
//! `AA9A 9AA` and `GIR 0AA`, uppercase, the space optional, with Royal Mail's
//! letter rules for each position.

use super::tokens::{Token, bytes_of, is_space, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Letters allowed in the third position of `A9A`.
const THIRD: &[u8] = b"ABCDEFGHJKPSTUW";
/// Letters allowed in the fourth position of `AA9A`.
const FOURTH: &[u8] = b"ABEHMNPRVWXY";
/// Letters allowed in the inward code.
const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

fn l(c: u8) -> bool {
    c.is_ascii_uppercase()
}
fn d(c: u8) -> bool {
    c.is_ascii_digit()
}
fn first(c: u8) -> bool {
    l(c) && !b"QVX".contains(&c)
}
fn second(c: u8) -> bool {
    l(c) && !b"IJZ".contains(&c)
}

/// Whether `o` is a valid outward code.
pub(super) fn outward_ok(o: &[u8]) -> bool {
    match *o {
        [a, b] => first(a) && d(b),
        [a, b, c] => {
            first(a) && ((d(b) && d(c)) || (d(b) && THIRD.contains(&c)) || (second(b) && d(c)))
        }
        [a, b, c, e] => first(a) && second(b) && d(c) && (d(e) || FOURTH.contains(&e)),
        _ => false,
    }
}

/// Whether `i` is a valid inward code.
pub(super) fn inward_ok(i: &[u8]) -> bool {
    matches!(*i, [a, b, c] if d(a) && INWARD.contains(&b) && INWARD.contains(&c))
}

/// Whether outward + inward form a postcode (including `GIR 0AA`).
pub(super) fn valid(o: &[u8], i: &[u8]) -> bool {
    (o == b"GIR" && i == b"0AA") || (outward_ok(o) && inward_ok(i))
}

/// Appends every postcode among `toks`; the value is `OUTWARD INWARD`.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if t.glued_left() || !t.is_upper_alnum() || !(2..=7).contains(&t.len()) || !l(b[t.start]) {
            continue;
        }
        let tb = bytes_of(b, t);
        let mut hit: Option<(&[u8], &[u8], usize)> = None;
        if t.len() <= 4
            && let Some(u) = toks.get(k + 1)
            && is_space(sep(b, toks, k + 1))
            && u.len() == 3
            && u.is_upper_alnum()
            && !u.glued_right()
            && valid(tb, bytes_of(b, u))
        {
            hit = Some((tb, bytes_of(b, u), k + 1));
        }
        if hit.is_none() && t.len() >= 5 && !t.glued_right() {
            let (o, i) = tb.split_at(t.len() - 3);
            if valid(o, i) {
                hit = Some((o, i, k));
            }
        }
        if let Some((o, i, last)) = hit {
            let o = String::from_utf8_lossy(o);
            let value = format!("{o} {}", String::from_utf8_lossy(i));
            let sample = format!("{o} ***");
            push(
                out,
                DetectorId::UkPostcode,
                t.start,
                toks[last].end,
                value,
                sample,
            );
            next = last + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn shapes() {
        for (o, i) in [
            ("M1", "1AA"),
            ("M60", "1NW"),
            ("CR2", "6XH"),
            ("DN55", "1PT"),
            ("W1A", "1HQ"),
            ("EC1A", "1BB"),
            ("NS1", "4AB"),
            ("SW1A", "2AA"),
            ("GIR", "0AA"),
        ] {
            assert!(valid(o.as_bytes(), i.as_bytes()), "{o} {i}");
        }
        for (o, i) in [
            ("Q1", "1AA"),   // Q first
            ("V1", "1AA"),   // V first
            ("XA1", "1AA"),  // X first
            ("AI1", "1AA"),  // I second
            ("AZ1", "1AA"),  // Z second
            ("W1I", "1HQ"),  // I third
            ("EC1C", "1BB"), // C fourth
            ("M1", "1CA"),   // C inward
            ("M1", "AAA"),   // inward digit
            ("M123", "1AA"),
            ("GIR", "0AB"),
        ] {
            assert!(!valid(o.as_bytes(), i.as_bytes()), "{o} {i}");
        }
    }

    #[test]
    fn found_spaced_or_not() {
        assert_eq!(
            values(
                "Lives at 1 High St, Northtown NS1 4AB.",
                DetectorId::UkPostcode
            ),
            ["NS1 4AB"]
        );
        assert_eq!(
            values("postcode NS14AB", DetectorId::UkPostcode),
            ["NS1 4AB"]
        );
        assert_eq!(
            values("SW1A 2AA and EC1A1BB", DetectorId::UkPostcode),
            ["SW1A 2AA", "EC1A 1BB"]
        );
        let m = find_all("at NS1 4AB");
        assert_eq!(m[0].sample, "NS1 ***");
        assert_eq!((m[0].start, m[0].end), (3, 10));
    }

    #[test]
    fn not_lowercase_or_embedded() {
        for s in [
            "ns1 4ab", "XNS1 4AB", "NS1 4ABC", "NS1  4AB", "NS1-4AB", "MP3 4YOU", "ABC123",
        ] {
            assert!(values(s, DetectorId::UkPostcode).is_empty(), "{s}");
        }
    }
}
