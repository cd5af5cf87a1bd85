//! Redacted samples: enough of an identifier for a security officer to see
//! what was found, never the whole of it.

/// `value` with every character outside the first `keep_start` and the last
/// `keep_end` replaced by `*`, then cut into groups of the given sizes joined by
/// `sep` (any rest forms a last group). If that would show everything, the
/// kept parts shrink until at least half is masked.
pub(super) fn mask_grouped(
    value: &str,
    keep_start: usize,
    keep_end: usize,
    groups: &[usize],
    sep: char,
) -> String {
    let n = value.chars().count();
    let (mut ks, mut ke) = (keep_start, keep_end);
    let shrink = ks + ke >= n;
    while shrink && ks + ke > n / 2 && (ks > 0 || ke > 0) {
        if ks >= ke && ks > 0 {
            ks -= 1;
        } else {
            ke = ke.saturating_sub(1);
        }
    }
    // One pass: a separator where each group ends, if more follows.
    let mut cuts = groups.iter().scan(0usize, |end, &g| {
        *end += g;
        Some(*end)
    });
    let mut next_cut = cuts.next();
    let mut out = String::with_capacity(value.len() + groups.len() + 1);
    for (i, c) in value.chars().enumerate() {
        let mut cut_here = false;
        while let Some(cut) = next_cut.filter(|&cut| cut <= i) {
            cut_here |= cut == i;
            next_cut = cuts.next();
        }
        if cut_here && i > 0 {
            out.push(sep);
        }
        out.push(if i < ks || i + ke >= n { c } else { '*' });
    }
    out
}

/// `count` asterisks.
pub(super) fn stars(count: usize) -> String {
    "*".repeat(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_middle_and_groups() {
        assert_eq!(
            mask_grouped("5105105105105100", 4, 4, &[4, 4, 4, 4], ' '),
            "5105 **** **** 5100"
        );
        assert_eq!(
            mask_grouped("4010232137", 3, 0, &[3, 3, 4], ' '),
            "401 *** ****"
        );
        assert_eq!(
            mask_grouped("GB82WEST12345698765432", 4, 2, &[4; 6], ' '),
            "GB82 **** **** **** **** 32"
        );
    }

    #[test]
    fn groups_of_any_sizes_and_multibyte_characters() {
        assert_eq!(mask_grouped("abcdefg", 1, 1, &[2, 2], '-'), "a*-**-**g");
        assert_eq!(mask_grouped("abcd", 1, 1, &[2, 5], ' '), "a* *d");
        assert_eq!(mask_grouped("ÄBCDÉ", 1, 1, &[3], ' '), "Ä** *É");
        assert_eq!(mask_grouped("abcdef", 2, 2, &[], ' '), "ab**ef");
    }

    #[test]
    fn never_shows_everything() {
        assert_eq!(mask_grouped("12345678", 4, 4, &[], ' '), "12****78");
        assert_eq!(mask_grouped("123456789", 4, 4, &[], ' '), "1234*6789");
        for v in ["", "1", "12", "123", "1234", "12345678"] {
            let s = mask_grouped(v, 4, 4, &[], ' ');
            if !v.is_empty() {
                assert_ne!(s, v);
                assert!(s.contains('*'), "{v} -> {s}");
            }
        }
    }
}
