//! UK sort codes (`12-34-56`, `12 34 56`, `123456`) and account numbers (7 or
//! 8 digits). Either alone is just a number; they are reported as bank account
//! details when a sort code and an account number stand within 60 characters of
//! each other (either order, reported as one match), or when one of them has a
//! context word ("sort code", "account number", "a/c", ...) within 40
//! characters before it.
//!
//! Candidates are collected per window and paired once the whole text has
//! been seen, so a pair split across two windows is still found. Digits that
//! already belong to another validated identifier (a phone number, a card, a
//! date of birth ...) are not candidates.

use super::context::{Context, Topic};
use super::tokens::{Joint, Token, bytes_of, joint, sep};
use super::{IdentifierMatch, push};
use crate::DetectorId;

/// How far apart a sort code and an account number may stand, in bytes.
const PAIR_WITHIN: usize = 60;
/// How far before a lone candidate a context word may stand, in bytes.
const CONTEXT_WITHIN: usize = 40;

/// What a candidate looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Six digits, maybe grouped in pairs.
    SortCode,
    /// Seven or eight digits.
    Account,
}

/// A sort code or account number candidate.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    kind: Kind,
    start: usize,
    end: usize,
    /// Digits; an account number is left-padded with 0 to eight.
    digits: [u8; 8],
}

impl Candidate {
    fn digits(&self) -> &[u8] {
        match self.kind {
            Kind::SortCode => &self.digits[..6],
            Kind::Account => &self.digits,
        }
    }
}

/// Whether the digits token next to a sort code (through `s`) makes it part of
/// a longer sequence of small groups (a phone number, a list), not a sort code.
fn small_group(t: Option<&Token>, s: &[u8], pairs: Joint) -> bool {
    t.is_some_and(|t| t.is_digits() && t.len() <= 4 && joint(s) == Some(pairs))
}

/// Collects sort code and account candidates among `toks` into `cands`.
pub(super) fn collect(text: &str, toks: &[Token], starts: &[usize], cands: &mut Vec<Candidate>) {
    let b = text.as_bytes();
    let mut next = 0;
    for &k in starts {
        if k < next {
            continue;
        }
        let t = &toks[k];
        if !t.is_digits() || t.glued_left() || t.claimed() {
            continue;
        }
        let tb = bytes_of(b, t);
        let mut digits = [b'0'; 8];
        match t.len() {
            6..=8 if !t.glued_right() => {
                let kind = if t.len() == 6 {
                    Kind::SortCode
                } else {
                    Kind::Account
                };
                let off = if kind == Kind::SortCode {
                    0
                } else {
                    8 - t.len()
                };
                digits[off..off + t.len()].copy_from_slice(tb);
                cands.push(Candidate {
                    kind,
                    start: t.start,
                    end: t.end,
                    digits,
                });
            }
            2 => {
                if let (Some(u), Some(v)) = (toks.get(k + 1), toks.get(k + 2)) {
                    let Some(pairs) = joint(sep(b, toks, k + 1)) else {
                        continue;
                    };
                    let shape = joint(sep(b, toks, k + 2)) == Some(pairs)
                        && u.is_digits()
                        && v.is_digits()
                        && u.len() == 2
                        && v.len() == 2
                        && !v.glued_right()
                        && !u.claimed()
                        && !v.claimed();
                    let longer = small_group(
                        k.checked_sub(1).and_then(|p| toks.get(p)),
                        sep(b, toks, k),
                        pairs,
                    ) || small_group(toks.get(k + 3), sep(b, toks, k + 3), pairs);
                    if shape && !longer {
                        digits[..2].copy_from_slice(tb);
                        digits[2..4].copy_from_slice(bytes_of(b, u));
                        digits[4..6].copy_from_slice(bytes_of(b, v));
                        cands.push(Candidate {
                            kind: Kind::SortCode,
                            start: t.start,
                            end: v.end,
                            digits,
                        });
                        next = k + 3;
                        continue;
                    }
                }
            }
            _ => {}
        }
    }
}

fn sort_code_text(d: &[u8]) -> String {
    String::from_utf8_lossy(d).into_owned()
}

/// Pairs candidates and appends the bank account matches.
pub(super) fn pair(text: &str, cands: &[Candidate], ctx: &Context, out: &mut Vec<IdentifierMatch>) {
    let b = text.as_bytes();
    let mut used = vec![false; cands.len()];
    for i in 0..cands.len() {
        if used[i] {
            continue;
        }
        let c = &cands[i];
        let partner = cands
            .iter()
            .enumerate()
            .skip(i + 1)
            .take_while(|(_, d)| d.start.saturating_sub(c.end) <= PAIR_WITHIN)
            .find(|&(j, d)| !used[j] && d.kind != c.kind)
            .map(|(j, _)| j);
        if let Some(j) = partner {
            used[i] = true;
            used[j] = true;
            let d = &cands[j];
            let (sc, acc) = if c.kind == Kind::SortCode {
                (c, d)
            } else {
                (d, c)
            };
            let (scd, accd) = (sc.digits(), acc.digits());
            let value = format!("{}-{}", sort_code_text(scd), sort_code_text(accd));
            let sample = format!(
                "{}-**-** ****{}",
                sort_code_text(&scd[..2]),
                sort_code_text(&accd[4..])
            );
            push(
                out,
                DetectorId::UkBankAccount,
                c.start,
                d.end,
                value,
                sample,
            );
        } else if ctx.before(b, c.start, CONTEXT_WITHIN, Topic::Bank) {
            used[i] = true;
            let d = c.digits();
            let (value, sample) = match c.kind {
                Kind::SortCode => (
                    sort_code_text(d),
                    format!("{}-**-**", sort_code_text(&d[..2])),
                ),
                Kind::Account => (
                    sort_code_text(d),
                    format!("****{}", sort_code_text(&d[4..])),
                ),
            };
            push(
                out,
                DetectorId::UkBankAccount,
                c.start,
                c.end,
                value,
                sample,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find_all, values};
    use crate::DetectorId;

    const D: DetectorId = DetectorId::UkBankAccount;

    #[test]
    fn pairs_either_order() {
        for s in [
            "Sort code 12-34-56, account 12345678.",
            "Please pay 12-34-56 12345678 today",
            "acc 12345678 at branch 12 34 56",
            "123456 / 12345678",
            "sort 12-34-56 and the number you need is 12345678",
        ] {
            assert_eq!(values(s, D), ["123456-12345678"], "{s}");
        }
        assert_eq!(values("12-34-56 1234567", D), ["123456-01234567"]);
    }

    #[test]
    fn pair_span_and_sample() {
        let text = "pay 12-34-56 acct 12345678 now";
        let m = find_all(text);
        let m = m.iter().find(|m| m.detector == D).expect("found");
        assert_eq!(&text[m.start..m.end], "12-34-56 acct 12345678");
        assert_eq!(m.sample, "12-**-** ****5678");
    }

    #[test]
    fn lone_candidate_needs_context() {
        assert_eq!(values("Sort code: 12-34-56", D), ["123456"]);
        assert_eq!(values("Account number 12345678", D), ["12345678"]);
        assert_eq!(values("a/c 1234567", D), ["01234567"]);
        assert!(values("Crime ref 12345678 raised", D).is_empty());
        assert!(values("ticket 123456", D).is_empty());
        let far = format!("12-34-56 {} 12345678", "x".repeat(60));
        assert!(values(&far, D).is_empty());
    }

    #[test]
    fn not_from_other_numbers() {
        for s in [
            "Tel 01632 960123, ref 12345678",
            "12 34 56 78 and 12345678",
            "1234567890 and 123456",
            "12-34-567 12345678",
            "123456789 12-34-56",
        ] {
            assert!(values(s, D).is_empty(), "{s}");
        }
        // A sort code inside a date of birth is a date.
        assert!(values("DOB 12-03-84 ref 12345678", D).is_empty());
    }
}
