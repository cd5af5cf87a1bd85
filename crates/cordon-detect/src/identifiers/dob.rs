//! Dates of birth: a real date (`12/03/1984`, `12-03-1984`, `12.03.1984`,
//! `12/03/84`, `1984-03-12`, `12 March 1984`, `12th of March 1984`,
//! `12-Mar-1984`, `March 12, 1984`) reported only when a context word ("DOB",
//! "D.O.B", "date of birth", "born", "birth date", "b.") stands within 32
//! characters before it. The value is `YYYY-MM-DD` (`YY-MM-DD` when the year
//! was written with two digits); the sample shows only the year.

use super::context::{Context, Topic};
use super::tokens::{Token, bytes_of, is_space, num, sep, spaced_after};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// How far before the date a context word may stand, in bytes.
const WITHIN: usize = 32;

const MONTHS: [&[u8]; 12] = [
    b"january",
    b"february",
    b"march",
    b"april",
    b"may",
    b"june",
    b"july",
    b"august",
    b"september",
    b"october",
    b"november",
    b"december",
];

/// The month (1-12) named by a full or abbreviated (3 letters, or "Sept") English name.
pub(super) fn month_name(w: &[u8]) -> Option<u8> {
    if w.len() < 3 || w.len() > 9 {
        return None;
    }
    let mut lower = [0u8; 9];
    for (d, s) in lower.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &lower[..w.len()];
    MONTHS
        .iter()
        .position(|m| {
            *m == lower
                || (lower.len() == 3 && m.starts_with(lower))
                || (lower == b"sept" && *m == b"september")
        })
        .map(|i| i as u8 + 1)
}

/// Whether `y` is a leap year.
fn leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Whether day `d` exists in month `m` of year `y` (`y` = None: unknown century).
pub(super) fn date_ok(y: Option<u32>, m: u32, d: u32) -> bool {
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match y {
            Some(y) if !leap(y) => 28,
            _ => 29,
        },
        _ => return false,
    };
    (1..=max).contains(&d)
}

/// A day token: one or two digits, optionally with an ordinal suffix (`12th`).
fn day(t: &Token, tb: &[u8]) -> Option<u32> {
    if !t.is_alnum() {
        return None;
    }
    let digits = tb.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let suffix = &tb[digits..];
    let suffix_ok = suffix.is_empty()
        || [b"st", b"nd", b"rd", b"th"]
            .iter()
            .any(|s| suffix.eq_ignore_ascii_case(*s));
    suffix_ok.then(|| num(&tb[..digits]) as u32)
}

/// A parsed date: index of its last token, year, year digits written, month, day.
struct Date {
    last: usize,
    year: u32,
    year_digits: usize,
    month: u32,
    day: u32,
}

/// Whether the numeric date `start..end` continues with the same separator and
/// more digits on either side (a piece of a longer sequence).
fn extended(b: &[u8], start: usize, end: usize, s: u8) -> bool {
    let before = start >= 2 && b[start - 1] == s && b[start - 2].is_ascii_alphanumeric();
    let after = b.get(end) == Some(&s) && b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
    before || after
}

fn year4(t: &Token, tb: &[u8]) -> Option<u32> {
    (t.is_digits() && t.len() == 4)
        .then(|| num(tb) as u32)
        .filter(|y| (1880..=2099).contains(y))
}

/// Parses a date starting at token `k`.
fn parse(b: &[u8], toks: &[Token], k: usize) -> Option<Date> {
    let t0 = toks.get(k)?;
    let b0 = bytes_of(b, t0);
    if t0.glued_left() {
        return None;
    }
    // Numeric: D/M/Y, D/M/YY or Y-M-D with one separator.
    if t0.is_digits()
        && let (Some(t1), Some(t2)) = (toks.get(k + 1), toks.get(k + 2))
    {
        let s = sep(b, toks, k + 1);
        if matches!(s, b"/" | b"-" | b".")
            && sep(b, toks, k + 2) == s
            && t1.is_digits()
            && t2.is_digits()
            && !t2.glued_right()
            && !extended(b, t0.start, t2.end, s[0])
        {
            let (b1, b2) = (bytes_of(b, t1), bytes_of(b, t2));
            let short = |t: &Token| (1..=2).contains(&t.len());
            if short(t0) && short(t1) && (t2.len() == 2 || t2.len() == 4) {
                let year = if t2.len() == 4 {
                    year4(t2, b2)?
                } else {
                    num(b2) as u32
                };
                return Some(Date {
                    last: k + 2,
                    year,
                    year_digits: t2.len(),
                    month: num(b1) as u32,
                    day: num(b0) as u32,
                });
            }
            if t0.len() == 4 && short(t1) && short(t2) {
                let year = year4(t0, b0)?;
                return Some(Date {
                    last: k + 2,
                    year,
                    year_digits: 4,
                    month: num(b1) as u32,
                    day: num(b2) as u32,
                });
            }
        }
        if t0.len() > 2 {
            return None;
        }
    }
    // D Month YYYY, D of Month YYYY, D-Mon-YYYY.
    if let Some(d) = day(t0, b0) {
        let mut j = k + 1;
        let s1 = sep(b, toks, j);
        if is_space(s1)
            && toks
                .get(j)
                .is_some_and(|t| bytes_of(b, t).eq_ignore_ascii_case(b"of"))
        {
            j += 1;
            if !is_space(sep(b, toks, j)) {
                return None;
            }
        } else if !(is_space(s1) || s1 == b"-") {
            return None;
        }
        let tm = toks.get(j)?;
        let m = if tm.is_alpha() {
            month_name(bytes_of(b, tm))?
        } else {
            return None;
        };
        let s2 = sep(b, toks, j + 1);
        let s2_ok = if s1 == b"-" {
            s2 == b"-"
        } else {
            is_space(s2) || spaced_after(s2, b",") || spaced_after(s2, b".")
        };
        let ty = toks.get(j + 1)?;
        if !s2_ok || ty.glued_right() {
            return None;
        }
        let year = year4(ty, bytes_of(b, ty))?;
        return Some(Date {
            last: j + 1,
            year,
            year_digits: 4,
            month: u32::from(m),
            day: d,
        });
    }
    // Month D, YYYY.
    if t0.is_alpha() {
        let m = month_name(b0)?;
        let td = toks.get(k + 1)?;
        if !is_space(sep(b, toks, k + 1)) {
            return None;
        }
        let d = day(td, bytes_of(b, td))?;
        let ty = toks.get(k + 2)?;
        let s2 = sep(b, toks, k + 2);
        if !(is_space(s2) || spaced_after(s2, b",")) || ty.glued_right() {
            return None;
        }
        let year = year4(ty, bytes_of(b, ty))?;
        return Some(Date {
            last: k + 2,
            year,
            year_digits: 4,
            month: u32::from(m),
            day: d,
        });
    }
    None
}

/// A date with a four-digit year found anywhere, birth context or not (for
/// exact matches of the force's records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateMatch {
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// `YYYY-MM-DD`.
    pub value: String,
}

/// Appends every date of birth among `toks` to `out`, and, when `dates` is
/// given, every real date with a four-digit year to it.
pub(super) fn find(
    text: &str,
    toks: &[Token],
    starts: &[usize],
    ctx: &Context,
    out: &mut Vec<IdentifierMatch>,
    mut dates: Option<&mut Vec<DateMatch>>,
) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        // Cheap gate: a date starts with a digit or a month name.
        let starts_ok = (t.is_alnum() && b[t.start].is_ascii_digit() && t.len() <= 4)
            || (t.is_alpha()
                && (3..=9).contains(&t.len())
                && toks.get(k + 1).is_some_and(|u| b[u.start].is_ascii_digit()));
        let date = if starts_ok { parse(b, toks, k) } else { None };
        let Some(dt) = date else {
            continue;
        };
        let y = (dt.year_digits == 4).then_some(dt.year);
        if !date_ok(y, dt.month, dt.day) {
            continue;
        }
        if let (Some(dates), Some(year)) = (dates.as_deref_mut(), y) {
            dates.push(DateMatch {
                start: t.start,
                end: toks[dt.last].end,
                value: format!("{:04}-{:02}-{:02}", year, dt.month, dt.day),
            });
        }
        if !ctx.before(b, t.start, WITHIN, Topic::Birth) {
            next = dt.last + 1;
            continue;
        }
        let (value, sample) = if dt.year_digits == 4 {
            (
                format!("{:04}-{:02}-{:02}", dt.year, dt.month, dt.day),
                format!("**/**/{:04}", dt.year),
            )
        } else {
            (
                format!("{:02}-{:02}-{:02}", dt.year, dt.month, dt.day),
                format!("**/**/{:02}", dt.year),
            )
        };
        push(
            out,
            DetectorId::DateOfBirth,
            t.start,
            toks[dt.last].end,
            value,
            sample,
        );
        next = dt.last + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use super::*;

    #[test]
    fn months_and_days() {
        assert_eq!(month_name(b"March"), Some(3));
        assert_eq!(month_name(b"MAR"), Some(3));
        assert_eq!(month_name(b"sept"), Some(9));
        assert_eq!(month_name(b"Sep"), Some(9));
        assert_eq!(month_name(b"Ma"), None);
        assert_eq!(month_name(b"Marc"), None);
        assert_eq!(month_name(b"Mayday"), None);
        assert!(date_ok(Some(2000), 2, 29));
        assert!(!date_ok(Some(1900), 2, 29));
        assert!(date_ok(Some(1984), 2, 29));
        assert!(!date_ok(Some(1985), 2, 29));
        assert!(date_ok(None, 2, 29));
        assert!(!date_ok(Some(1984), 4, 31));
        assert!(!date_ok(Some(1984), 13, 1));
        assert!(!date_ok(Some(1984), 1, 0));
    }

    #[test]
    fn formats_with_context() {
        for s in [
            "DOB: 12/03/1984",
            "D.O.B. 12-03-1984",
            "date of birth 12.03.1984",
            "Date of Birth: 1984-03-12",
            "born 12 March 1984",
            "born on the 12th of March 1984",
            "DOB 12-Mar-1984",
            "Birth date: March 12, 1984",
            "J Smith (b. 12 Mar. 1984)",
            "dob 12/3/1984",
        ] {
            assert_eq!(values(s, DetectorId::DateOfBirth), ["1984-03-12"], "{s}");
        }
        assert_eq!(
            values("DOB 12/03/84", DetectorId::DateOfBirth),
            ["84-03-12"]
        );
    }

    #[test]
    fn no_context_or_invalid_date() {
        for s in [
            "Meeting on 12/03/1984",
            "DOB: 31/04/1984",
            "DOB: 29/02/1985",
            "DOB: 12/13/1984",
            "DOB: 00/03/1984",
            "DOB: 12/03-1984",
            "DOB: 1/12/03/1984",
            "DOB: 12/03/19845",
            "DOB: 12/03/1700",
            "DOB 32 March 1984",
            "born 12 Marchx 1984",
            "DOB xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 12/03/1984",
        ] {
            assert!(values(s, DetectorId::DateOfBirth).is_empty(), "{s}");
        }
        assert_eq!(
            values("DOB: 29/02/1984", DetectorId::DateOfBirth),
            ["1984-02-29"]
        );
    }

    #[test]
    fn sample_shows_year_only() {
        let m = find_all("DOB 12/03/1984");
        let m = m
            .iter()
            .find(|m| m.detector == DetectorId::DateOfBirth)
            .expect("found");
        assert_eq!(m.sample, "**/**/1984");
        assert_eq!((m.start, m.end), (4, 14));
    }
}
