//! UK personal identifiers with validation: NI numbers, NHS numbers, PNC IDs,
//! CRO numbers, payment cards, sort codes and account numbers, IBANs, passport
//! numbers, driving licence numbers, postcodes, phone numbers and dates of
//! birth. A candidate that fails its check (mod 11, check letter, Luhn, mod 97,
//! a real date, a context word ...) is not a finding.
//!
//! How it stays fast: every identifier contains a digit, so one byte scan
//! (eight bytes at a time) finds clusters of digits, and only a short window
//! around each cluster is cut into tokens (maximal ASCII alphanumeric runs).
//! Each detector family (one module each) matches token sequences by hand and
//! validates on the spot; prose without digits is never looked at twice.
//! Matching on whole tokens is also what keeps identifiers from being found
//! inside longer alphanumeric runs. Detectors run independently over the same
//! tokens, so a candidate that fails one detector never hides another
//! detector's identifier over the same digits.
//!
//! Input is text normalised by `cordon_extract::normalize` (NFKC, dashes
//! mapped to `-`, whitespace runs folded to one space or one newline); groups
//! of digits may be separated by one space or one dash, and a line break
//! counts wherever a space does (soft-wrapped text, a wrapped table cell).
//!
//! A valid ten-digit NHS number is reported as `nhs_number` only with NHS
//! context, otherwise as the weak `possible_nhs_number` (see `nhs`).

mod bank;
mod card;
mod context;
mod dob;
mod driving;
mod iban;
mod nhs;
mod nino;
mod passport;
mod phone;
mod police;
mod postcode;
mod redact;
mod tokens;

use crate::DetectorId;
pub(crate) use card::luhn;
use context::Context;
pub use dob::DateMatch;
pub(crate) use police::CHECK as MOD23_CHECK_LETTERS;
use tokens::{Token, claim, is_word, next_digit, starts, tokenize};

/// Bytes of text looked at before the first and after the last digit of a
/// cluster (month names, NINO and licence letters, `+44 (`, IBAN letters).
const MARGIN: usize = 16;
/// Digits closer than this (in bytes) belong to the same cluster and window;
/// the widest digit-free stretch inside an identifier is the month of
/// `12th of September 1984` (16 bytes).
const GAP: usize = 24;

/// Finds and validates UK personal identifiers in normalised text.
///
/// Compiled once at load; scanning is `&self` and allocation-light (a few
/// scratch buffers per call, reused across its windows, plus the two Strings
/// of each match). Safe to share between threads.
#[derive(Debug)]
pub struct IdentifierScanner {
    context: Context,
    iban_lengths: iban::Lengths,
}

/// One validated identifier found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentifierMatch {
    /// Which detector found it.
    pub detector: DetectorId,
    /// Byte offset of its first character in the scanned text (a char boundary).
    pub start: usize,
    /// Byte offset just past its last character (a char boundary).
    pub end: usize,
    /// Canonical form, for comparing identifiers however they were written:
    /// uppercase, group separators removed (NINO `JM412987B`, card digits,
    /// NHS `4010232137`, phone `02079460000` in national form, IBAN
    /// `GB82WEST12345698765432`), with the separators the format itself has:
    /// sort code and account `123456-12345678` (account zero-padded to 8),
    /// PNC `09/48213R` (two-digit year, serial without leading zeros), CRO
    /// `65656/91H` and `SF99/12345M`, postcode `NS1 4AB`, date of birth
    /// `1984-03-12` (`84-03-12` when written with a two-digit year).
    pub value: String,
    /// A redacted sample that is safe to show a security officer, e.g.
    /// `JM 41 ** ** B`, `5105 **** **** 1234`, `401 *** ****`. Never the whole
    /// identifier.
    pub sample: String,
}

/// Appends a match (all detectors report through here).
fn push(
    out: &mut Vec<IdentifierMatch>,
    detector: DetectorId,
    start: usize,
    end: usize,
    value: String,
    sample: String,
) {
    out.push(IdentifierMatch {
        detector,
        start,
        end,
        value,
        sample,
    });
}

/// End of the run of ASCII digits starting at `i`.
fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

impl Default for IdentifierScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentifierScanner {
    /// Builds the context-word automaton and lookup tables, once.
    pub fn new() -> Self {
        IdentifierScanner {
            // Built from a fixed word list: cannot fail at run time.
            context: Context::new().expect("context word automaton builds from a fixed list"),
            iban_lengths: iban::Lengths::new(),
        }
    }

    /// Appends every validated identifier found in `text` to `found`, ordered
    /// by position (then detector). Never panics, whatever the text.
    pub fn scan(&self, text: &str, found: &mut Vec<IdentifierMatch>) {
        self.scan_with_dates(text, found, None);
    }

    /// As [`IdentifierScanner::scan`], also appending to `dates` every real
    /// date with a four-digit year, with or without birth context, in the
    /// same pass.
    pub fn scan_with_dates(
        &self,
        text: &str,
        found: &mut Vec<IdentifierMatch>,
        mut dates: Option<&mut Vec<DateMatch>>,
    ) {
        let b = text.as_bytes();
        let base = found.len();
        let mut bufs = Buffers {
            dates: dates.as_deref_mut().map(std::mem::take),
            ..Buffers::default()
        };
        let mut bank_cands: Vec<bank::Candidate> = Vec::new();
        let mut prev_end = 0;
        let mut next = next_digit(b, 0);
        while let Some(first) = next {
            // Window start: MARGIN before the first digit, on a token boundary,
            // never inside the previous window.
            let mut ws = first.saturating_sub(MARGIN).max(prev_end);
            while ws > prev_end && is_word(b[ws - 1]) {
                ws -= 1;
            }
            // Grow the cluster while the next digit is close.
            let mut last = skip_digits(b, first);
            next = None;
            while let Some(n) = next_digit(b, last) {
                if n - last > GAP {
                    next = Some(n);
                    break;
                }
                last = skip_digits(b, n);
            }
            // Window end: MARGIN after the last digit, on a token boundary.
            let mut we = (last + MARGIN).min(b.len());
            while we < b.len() && is_word(b[we]) {
                we += 1;
            }
            self.scan_window(text, ws, we, &mut bufs, found, &mut bank_cands);
            prev_end = we;
            if next.is_some_and(|n| n < we) {
                next = next_digit(b, we);
            }
        }
        if let (Some(out), Some(collected)) = (dates, bufs.dates.take()) {
            *out = collected;
        }
        if !bank_cands.is_empty() {
            bank::pair(text, &bank_cands, &self.context, found);
        }
        if let Some(new) = found.get_mut(base..) {
            nhs::grade(text, new, &self.context);
            new.sort_by_key(|m| (m.start, m.end, m.detector));
        }
    }

    /// Runs every detector over the tokens of `text[ws..we]`.
    fn scan_window(
        &self,
        text: &str,
        ws: usize,
        we: usize,
        bufs: &mut Buffers,
        found: &mut Vec<IdentifierMatch>,
        bank_cands: &mut Vec<bank::Candidate>,
    ) {
        tokenize(text, ws, we, &mut bufs.toks);
        starts(&bufs.toks, &mut bufs.starts);
        if bufs.starts.is_empty() {
            return;
        }
        let (toks, st) = (&mut bufs.toks, bufs.starts.as_slice());
        let wbase = found.len();
        iban::find(text, toks, st, &self.iban_lengths, found);
        card::find(text, toks, st, found);
        nhs::find(text, toks, st, found);
        police::find(text, toks, st, found);
        nino::find(text, toks, st, found);
        driving::find(text, toks, st, found);
        phone::find(text, toks, st, found);
        passport::find(text, toks, st, &self.context, found);
        postcode::find(text, toks, st, found);
        dob::find(text, toks, st, &self.context, found, bufs.dates.as_mut());
        // Digits already validated as something else are not sort codes or accounts.
        for m in &found[wbase..] {
            claim(toks, m.start, m.end);
        }
        bank::collect(text, toks, st, bank_cands);
    }
}

/// Scratch space reused across the windows of one scan, and the dates
/// collected when asked for.
#[derive(Default)]
struct Buffers {
    toks: Vec<Token>,
    starts: Vec<usize>,
    dates: Option<Vec<DateMatch>>,
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    fn scanner() -> &'static IdentifierScanner {
        static S: OnceLock<IdentifierScanner> = OnceLock::new();
        S.get_or_init(IdentifierScanner::new)
    }

    /// Every match in `text`.
    pub(crate) fn find_all(text: &str) -> Vec<IdentifierMatch> {
        let mut v = Vec::new();
        scanner().scan(text, &mut v);
        v
    }

    /// The values found by `det` in `text`, in order.
    pub(crate) fn values(text: &str, det: DetectorId) -> Vec<String> {
        find_all(text)
            .into_iter()
            .filter(|m| m.detector == det)
            .map(|m| m.value)
            .collect()
    }

    fn summary(text: &str) -> Vec<(DetectorId, String)> {
        find_all(text)
            .into_iter()
            .map(|m| (m.detector, m.value))
            .collect()
    }

    /// Invariants every match must satisfy.
    fn check_invariants(text: &str, found: &[IdentifierMatch]) {
        for m in found {
            assert!(m.start < m.end && m.end <= text.len(), "{m:?}");
            assert!(
                text.is_char_boundary(m.start) && text.is_char_boundary(m.end),
                "{m:?}"
            );
            assert!(!m.value.is_empty());
            assert_ne!(m.sample, m.value);
            assert!(m.sample.contains('*'), "{m:?}");
            let compact = |s: &str| {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            };
            assert!(!compact(&m.sample).contains(&compact(&m.value)), "{m:?}");
            assert!(!m.sample.contains(&text[m.start..m.end]), "{m:?}");
        }
    }

    #[test]
    fn prose_with_many_identifiers() {
        let text = "Subject: Smith, John (DOB: 12/03/1984)\n\
            NI number JM 41 29 87 B, NHS 401 023 2137, PNC 2009/0048213R, CRO 65656/91H.\n\
            He paid with card 5105 1051 0510 5100 from sort code 12-34-56 account 12345678.\n\
            Passport no. 123456789. Licence MORGA753116SM9IJ. Lives at NS1 4AB, tel 07700 900123.\n\
            Also IBAN DE89 3704 0044 0532 0130 00 at 10:30 on Tuesday, £1,250.00 paid in 2023.";
        let got = summary(text);
        let want = [
            (DetectorId::DateOfBirth, "1984-03-12"),
            (DetectorId::UkNino, "JM412987B"),
            (DetectorId::NhsNumber, "4010232137"),
            (DetectorId::PncId, "09/48213R"),
            (DetectorId::CroNumber, "65656/91H"),
            (DetectorId::PaymentCard, "5105105105105100"),
            (DetectorId::UkBankAccount, "123456-12345678"),
            (DetectorId::UkPassport, "123456789"),
            (DetectorId::UkDrivingLicence, "MORGA753116SM9IJ"),
            (DetectorId::UkPostcode, "NS1 4AB"),
            (DetectorId::UkPhone, "07700900123"),
            (DetectorId::Iban, "DE89370400440532013000"),
        ];
        let want: Vec<_> = want.iter().map(|(d, v)| (*d, v.to_string())).collect();
        assert_eq!(got, want);
        check_invariants(text, &find_all(text));
    }

    #[test]
    fn scanner_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<IdentifierScanner>();
        let _ = IdentifierScanner::default();
    }

    #[test]
    fn plain_prose_finds_nothing() {
        for s in [
            "",
            "The meeting is at 10:30 on 12 March in room 101.",
            "We received 3 complaints in 2023 and 14 in 2024; 45% were resolved.",
            "Version 2.3.1 released; build 20240115 passed 1,234 tests.",
            "Call me later, thanks. Regards, PC 4521 Smith",
            "INTERNATIONALISATION ABCDEFGHIJKLMNOP",
        ] {
            assert!(find_all(s).is_empty(), "{s}: {:?}", find_all(s));
        }
    }

    #[test]
    fn appends_without_touching_existing() {
        let mut v = vec![IdentifierMatch {
            detector: DetectorId::Marking,
            start: 0,
            end: 1,
            value: "x".into(),
            sample: "*".into(),
        }];
        scanner().scan("NHS 4010232137 and JM412987B", &mut v);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].detector, DetectorId::Marking);
        assert_eq!(v[1].detector, DetectorId::NhsNumber);
        assert_eq!(v[2].detector, DetectorId::UkNino);
    }

    #[test]
    fn identifiers_at_edges_and_far_apart() {
        let filler = "word ".repeat(50);
        let text = format!("JM412987B {filler}4010232137 {filler}{filler}NS1 4AB");
        assert_eq!(
            summary(&text),
            [
                (DetectorId::UkNino, "JM412987B".to_string()),
                (DetectorId::PossibleNhsNumber, "4010232137".to_string()),
                (DetectorId::UkPostcode, "NS1 4AB".to_string()),
            ]
        );
        // A long token right before a window start, and one ending a window.
        let long = "x".repeat(300);
        let text = format!("{long} 4010232137 {long}");
        assert_eq!(values(&text, DetectorId::PossibleNhsNumber), ["4010232137"]);
        let text = format!("{long}4010232137 4010232137");
        assert_eq!(values(&text, DetectorId::PossibleNhsNumber), ["4010232137"]);
    }

    #[test]
    fn pairs_across_windows() {
        // Sort code and account more than GAP apart: separate windows, still paired.
        let text = format!("sort code 12-34-56 {} account 12345678", "y".repeat(30));
        assert_eq!(
            values(&text, DetectorId::UkBankAccount),
            ["123456-12345678"]
        );
    }

    #[test]
    fn detectors_do_not_hide_each_other() {
        // Luhn fails: not a card; the same text holds a valid NHS number next to it.
        assert_eq!(
            summary("5105105105105101 4010232137"),
            [(DetectorId::PossibleNhsNumber, "4010232137".to_string())]
        );
        // A ten-digit number that is both a valid NHS number and a UK phone number.
        let both = summary("0123456789 x");
        let dets: Vec<_> = both.iter().map(|(d, _)| *d).collect();
        // 0123456789: NHS check 11 - (sum % 11): sum = 0+9+16+21+24+25+24+21+16 = 156, 156 % 11 = 2, check 9 → valid.
        assert_eq!(dets, [DetectorId::PossibleNhsNumber, DetectorId::UkPhone]);
        // The phone claims its digits, so they are not a sort code.
        assert!(values("Tel 01632 960123, ref 12345678", DetectorId::UkBankAccount).is_empty());
    }

    #[test]
    fn multibyte_text_around_identifiers() {
        let text = "é€ “JM 41 29 87 B” — 😀4010232137😀 ünd ÑS1 4AB";
        let found = find_all(text);
        check_invariants(text, &found);
        let vals: Vec<_> = found.iter().map(|m| m.value.as_str()).collect();
        assert_eq!(vals, ["JM412987B", "4010232137"]);
        // A non-ASCII letter glued to the number makes it part of a word.
        assert!(values("ü4010232137", DetectorId::NhsNumber).is_empty());
        assert!(values("4010232137ß", DetectorId::NhsNumber).is_empty());
    }

    #[test]
    fn samples_never_reveal_the_identifier() {
        let text = "JM412987B 4010232137 2009/0048213R 65656/91H SF99/12345M 5105105105105100 \
            378282246310005 GB82WEST12345698765432 DE89370400440532013000 passport 123456789 \
            MORGA753116SM9IJ NS1 4AB 07700900123 DOB 12/03/1984 sort code 123456 a/c 12345678";
        let found = find_all(text);
        assert!(found.len() >= 15, "{found:?}");
        check_invariants(text, &found);
    }

    #[test]
    fn dense_and_degenerate_inputs_stay_linear() {
        // No timing assertion: these only have to finish (each is linear work).
        let cases = [
            "1 ".repeat(100_000),
            "12345678 ".repeat(20_000),
            "12-34-56 ".repeat(20_000),
            "01632 ".repeat(30_000),
            "JM 41 ".repeat(30_000),
            "+44 ".repeat(40_000),
            "0".repeat(200_000),
            format!("{}1", "a".repeat(200_000)),
            "1a".repeat(100_000),
            "12/".repeat(60_000),
        ];
        for text in &cases {
            let found = find_all(text);
            check_invariants(text, &found);
        }
        // Every account number in a long list has a sort code within reach: all paired.
        let text = "12-34-56 12345678 ".repeat(1000);
        assert_eq!(values(&text, DetectorId::UkBankAccount).len(), 1000);
    }

    /// Identifiers of every kind written with spaces between their groups (and
    /// in their context words), with the detector and value each must give.
    const SPACED: &[(&str, DetectorId, &str)] = &[
        ("NI JM 41 29 87 B", DetectorId::UkNino, "JM412987B"),
        ("NI JM 412987 B", DetectorId::UkNino, "JM412987B"),
        ("NHS no 401 023 2137", DetectorId::NhsNumber, "4010232137"),
        ("PNC 2009/0048213R", DetectorId::PncId, "09/48213R"),
        ("CRO 65656/91H", DetectorId::CroNumber, "65656/91H"),
        (
            "card 5105 1051 0510 5100",
            DetectorId::PaymentCard,
            "5105105105105100",
        ),
        (
            "Amex 3782 822463 10005",
            DetectorId::PaymentCard,
            "378282246310005",
        ),
        (
            "sort code 12 34 56 account 12345678",
            DetectorId::UkBankAccount,
            "123456-12345678",
        ),
        ("sort code 12 34 56", DetectorId::UkBankAccount, "123456"),
        (
            "IBAN GB82 WEST 1234 5698 7654 32",
            DetectorId::UkBankAccount,
            "GB82WEST12345698765432",
        ),
        (
            "IBAN DE89 3704 0044 0532 0130 00",
            DetectorId::Iban,
            "DE89370400440532013000",
        ),
        ("passport no 123456789", DetectorId::UkPassport, "123456789"),
        (
            "licence MORGA 753116 SM9IJ",
            DetectorId::UkDrivingLicence,
            "MORGA753116SM9IJ",
        ),
        ("lives at NS1 4AB", DetectorId::UkPostcode, "NS1 4AB"),
        ("call 020 7946 0000", DetectorId::UkPhone, "02079460000"),
        ("call 07700 900 123", DetectorId::UkPhone, "07700900123"),
        ("call +44 20 7946 0000", DetectorId::UkPhone, "02079460000"),
        (
            "call +44 (0)20 7946 0000",
            DetectorId::UkPhone,
            "02079460000",
        ),
        ("call (020) 7946 0000", DetectorId::UkPhone, "02079460000"),
        (
            "date of birth 12 March 1984",
            DetectorId::DateOfBirth,
            "1984-03-12",
        ),
        (
            "born on the 12th of March 1984",
            DetectorId::DateOfBirth,
            "1984-03-12",
        ),
        (
            "birth date: March 12, 1984",
            DetectorId::DateOfBirth,
            "1984-03-12",
        ),
        (
            "J Smith (b. 12 Mar. 1984)",
            DetectorId::DateOfBirth,
            "1984-03-12",
        ),
    ];

    /// `text` with the spaces whose bit is set in `mask` (the i-th space, bit
    /// i mod 32) replaced by line breaks.
    fn wrap(text: &str, mask: u32) -> String {
        let mut nth = 0;
        text.chars()
            .map(|c| {
                if c != ' ' {
                    return c;
                }
                nth += 1;
                if mask & (1 << ((nth - 1) % 32)) != 0 {
                    '\n'
                } else {
                    ' '
                }
            })
            .collect()
    }

    #[test]
    fn identifiers_wrapped_at_a_space_are_found() {
        for &(text, det, value) in SPACED {
            for mask in [0, u32::MAX] {
                let wrapped = wrap(text, mask);
                assert_eq!(values(&wrapped, det), [value], "{wrapped:?}");
            }
        }
        for (text, det, value) in [
            ("JM 41 29\n87 B", DetectorId::UkNino, "JM412987B"),
            ("NHS 401 023\n2137", DetectorId::NhsNumber, "4010232137"),
            (
                "5105 1051\n0510 5100",
                DetectorId::PaymentCard,
                "5105105105105100",
            ),
            (
                "sort code\n12-34-56\naccount\n12345678",
                DetectorId::UkBankAccount,
                "123456-12345678",
            ),
            (
                "MORGA 753116\nSM9IJ",
                DetectorId::UkDrivingLicence,
                "MORGA753116SM9IJ",
            ),
            ("JM-41-29-\n87-B", DetectorId::UkNino, "JM412987B"),
        ] {
            assert_eq!(values(text, det), [value], "{text:?}");
        }
        // Only where a space is allowed: not inside a PNC ID, not two breaks.
        assert!(values("2009/\n0048213R", DetectorId::PncId).is_empty());
        assert!(values("JM 41 29\n\n87 B", DetectorId::UkNino).is_empty());
    }

    fn alphabet_string() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "0",
            "1",
            "4",
            "5",
            "9",
            "00",
            "12",
            "44",
            "401",
            "023",
            "2137",
            "5105",
            "1051",
            "0510",
            "5100",
            "JM",
            "AB",
            "B",
            "C",
            "GB",
            "82",
            "WEST",
            "NS1",
            "4AB",
            "SF",
            "99",
            "/",
            "-",
            " ",
            "\n",
            ".",
            ",",
            "(",
            ")",
            "+",
            "é",
            "€",
            "😀",
            "ß",
            "DOB",
            "born",
            "passport",
            "sort code",
            "a/c",
            "March",
            "MORGA",
            "753116",
            "SM9IJ",
            "R",
            "H",
            "M",
            "_",
            ":",
            "x",
        ]);
        prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_arbitrary_text(s in any::<String>()) {
            let found = find_all(&s);
            check_invariants(&s, &found);
        }

        #[test]
        fn never_panics_on_identifier_like_text(s in alphabet_string()) {
            let found = find_all(&s);
            check_invariants(&s, &found);
        }

        #[test]
        fn wrapping_at_any_space_never_loses_an_identifier(
            case in 0..SPACED.len(),
            mask in any::<u32>(),
            one in 0usize..8,
        ) {
            let (text, det, value) = SPACED[case];
            // Any set of spaces, and each single space, wrapped onto the next line.
            for m in [mask, 1 << one] {
                let wrapped = wrap(text, m);
                prop_assert_eq!(values(&wrapped, det), vec![value.to_string()], "{:?}", wrapped);
            }
        }

        #[test]
        fn found_regardless_of_surroundings(pre in "[a-z ,.\n]{0,40}", post in "[a-z ,.\n]{0,40}") {
            let text = format!("{pre} JM 41 29 87 B {post}");
            prop_assert_eq!(values(&text, DetectorId::UkNino), vec!["JM412987B".to_string()]);
        }
    }

    /// Throughput smoke test; run with
    /// `cargo test -p cordon-detect --release -- --ignored --nocapture throughput`.
    #[test]
    #[ignore]
    fn throughput() {
        const WORDS: &[&str] = &[
            "the",
            "officer",
            "attended",
            "address",
            "and",
            "spoke",
            "with",
            "victim",
            "who",
            "stated",
            "that",
            "suspect",
            "had",
            "been",
            "seen",
            "near",
            "premises",
            "on",
            "several",
            "occasions",
            "further",
            "enquiries",
            "will",
            "be",
            "made",
            "regarding",
            "incident",
            "please",
            "find",
            "attached",
            "report",
            "for",
            "your",
            "information",
            "kind",
            "regards",
            "team",
            "meeting",
            "tomorrow",
            "morning",
            "update",
        ];
        const EXTRAS: &[&str] = &[
            "10:30",
            "12/03/2024",
            "2023",
            "£1,250.00",
            "room 101",
            "3 times",
            "on 5 May 2024",
            "ref 24/1234",
            "at 14:45",
            "version 2.1",
            "45%",
            "page 7",
            "call 01632 960123",
            "NS1 4AB",
        ];
        for every in [40u64, 10] {
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            let mut rnd = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let mut text = String::with_capacity(33 << 20);
            while text.len() < 32 << 20 {
                let r = rnd();
                if r % every == 0 {
                    text.push_str(EXTRAS[(r >> 8) as usize % EXTRAS.len()]);
                } else {
                    text.push_str(WORDS[(r >> 8) as usize % WORDS.len()]);
                }
                text.push(if r % 17 == 0 { '\n' } else { ' ' });
            }
            let digits = text.bytes().filter(u8::is_ascii_digit).count();
            let s = scanner();
            let mut found = Vec::new();
            s.scan(&text, &mut found); // warm up
            let rounds = 5;
            let t0 = std::time::Instant::now();
            for _ in 0..rounds {
                found.clear();
                s.scan(&text, &mut found);
            }
            let secs = t0.elapsed().as_secs_f64();
            let mb = (text.len() * rounds) as f64 / 1e6;
            println!(
                "identifiers: {:.1} MB/s over {:.1} MB of text (1 in {every} words a number, date or time; {:.2}% digits), {} matches per pass",
                mb / secs,
                text.len() as f64 / 1e6,
                100.0 * digits as f64 / text.len() as f64,
                found.len()
            );
        }
    }
}
