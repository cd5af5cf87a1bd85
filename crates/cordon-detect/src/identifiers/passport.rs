//! UK passport numbers: nine digits, reported only when the word "passport"
//! stands within 40 characters before them (nine digits alone mean nothing).

use super::context::{Context, Topic};
use super::redact::mask_grouped;
use super::tokens::{Token, bytes_of};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// How far before the number the word "passport" may stand, in bytes.
const WITHIN: usize = 40;

/// Appends every passport number among `toks`.
pub(super) fn find(
    text: &str,
    toks: &[Token],
    starts: &[usize],
    ctx: &Context,
    out: &mut Vec<IdentifierMatch>,
) {
    let b = text.as_bytes();
    for &k in starts {
        let t = &toks[k];
        if t.len() == 9
            && t.is_digits()
            && !t.glued_left()
            && !t.glued_right()
            && ctx.before(b, t.start, WITHIN, Topic::Passport)
        {
            let value = String::from_utf8_lossy(bytes_of(b, t)).into_owned();
            let sample = mask_grouped(&value, 0, 3, &[], ' ');
            push(out, DetectorId::UkPassport, t.start, t.end, value, sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn needs_context() {
        assert_eq!(
            values("Passport number: 123456789.", DetectorId::UkPassport),
            ["123456789"]
        );
        assert_eq!(
            values("UK PASSPORT 987654321", DetectorId::UkPassport),
            ["987654321"]
        );
        assert!(values("Order 123456789 shipped", DetectorId::UkPassport).is_empty());
        let far = format!("passport {} 123456789", "x".repeat(40));
        assert!(values(&far, DetectorId::UkPassport).is_empty());
    }

    #[test]
    fn exactly_nine_digits() {
        for s in [
            "passport 12345678",
            "passport 1234567890",
            "passport 123456789X",
            "passport A123456789",
        ] {
            assert!(values(s, DetectorId::UkPassport).is_empty(), "{s}");
        }
    }

    #[test]
    fn sample_hides_all_but_last_three() {
        let m = find_all("passport 123456789");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::UkPassport)
            .expect("found");
        assert_eq!(m.sample, "******789");
    }
}
