//! UK National Insurance numbers: `JM 41 29 87 B`, `JM412987B`, `jm-41-29-87-b`.

use super::tokens::{Token, join_exact, joint};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// Whether a 9-character uppercase candidate is a valid NINO: two allowed
/// prefix letters, six digits, suffix A-D.
pub(super) fn valid(c: &[u8; 9]) -> bool {
    let (a, b) = (c[0], c[1]);
    let first_ok = a.is_ascii_uppercase() && !b"DFIQUV".contains(&a);
    let second_ok = b.is_ascii_uppercase() && !b"DFIOQUV".contains(&b);
    let pair_ok = !matches!(
        &c[..2],
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    );
    first_ok
        && second_ok
        && pair_ok
        && c[2..8].iter().all(u8::is_ascii_digit)
        && matches!(c[8], b'A'..=b'D')
}

/// Appends every valid NINO among `toks`. Groups may be split after the
/// prefix, after each digit pair and before the suffix, by one space, line
/// break or dash.
pub(super) fn find(text: &str, toks: &[Token], starts: &[usize], out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        // Cheap gate: two letters alone and then digits, or two letters then a digit.
        let tb = &b[t.start..t.end];
        let gate = t.len() <= 9
            && t.is_alnum()
            && tb.len() >= 2
            && tb[0].is_ascii_alphabetic()
            && tb[1].is_ascii_alphabetic()
            && match tb.get(2) {
                Some(c) => c.is_ascii_digit(),
                None => toks.get(k + 1).is_some_and(|u| b[u.start].is_ascii_digit()),
            };
        if !gate {
            continue;
        }
        let mut c = [0u8; 9];
        let last = join_exact(
            b,
            toks,
            k,
            &mut c,
            |n: usize| n.is_multiple_of(2),
            |s| joint(s).is_some(),
        );
        if let Some(last) = last.filter(|_| valid(&c)) {
            let value = String::from_utf8_lossy(&c).into_owned();
            let sample = format!("{} {} ** ** {}", &value[..2], &value[2..4], &value[8..]);
            push(
                out,
                DetectorId::UkNino,
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
    fn validator() {
        assert!(valid(b"JM412987B"));
        assert!(valid(b"AB123456C"));
        assert!(valid(b"KC551022D"));
        assert!(!valid(b"QQ123456C"));
        assert!(!valid(b"GB123456A"));
        assert!(!valid(b"AB123456E"));
        assert!(!valid(b"DA123456A"));
        assert!(!valid(b"AO123456A"));
        assert!(!valid(b"AB12345XA"));
        for p in [b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"] {
            let mut c = *b"AA123456A";
            c[..2].copy_from_slice(p);
            assert!(!valid(&c), "{p:?}");
        }
    }

    #[test]
    fn found_in_all_spellings() {
        for s in [
            "NI number JM 41 29 87 B, thanks",
            "NI number JM412987B.",
            "NI number jm412987b",
            "NI: JM-41-29-87-B",
            "NI JM 412987 B",
            "(JM412987 B)",
        ] {
            assert_eq!(values(s, DetectorId::UkNino), ["JM412987B"], "{s}");
        }
        assert_eq!(
            values("KC 55 10 22 D and AB 12 34 56 C", DetectorId::UkNino),
            ["KC551022D", "AB123456C"]
        );
    }

    #[test]
    fn rejects_invalid_and_embedded() {
        for s in [
            "QQ 12 34 56 C",
            "GB 12 34 56 A",
            "JM 41 29 87 E",
            "XJM412987B",
            "JM412987BX",
            "JM4129870B",
            "JM 41 29 87",
            "J M41 29 87 B",
            "JM 41  29 87 B",
            "JM_412987B",
            "éJM412987B",
        ] {
            assert!(values(s, DetectorId::UkNino).is_empty(), "{s}");
        }
    }

    #[test]
    fn span_and_sample() {
        let text = "Ref: JM 41 29 87 B ok";
        let m = find_all(text);
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::UkNino)
            .expect("nino found");
        assert_eq!(&text[m.start..m.end], "JM 41 29 87 B");
        assert_eq!(m.sample, "JM 41 ** ** B");
        assert!(!m.sample.replace(' ', "").contains(&m.value));
    }
}
