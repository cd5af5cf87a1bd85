//! Detectors a force defines in its rules (`rules/detectors.toml`): its own
//! reference numbers (crime references, custody records, intelligence logs,
//! collar numbers) as a regular expression, with an optional check-character
//! validator, context words, a minimum count, a category, a strength and a
//! redaction.
//!
//! Patterns use the `regex` crate, which matches in time linear in the text
//! whatever the pattern, so no pattern can backtrack catastrophically. What
//! is still refused at load: a pattern that can match the empty string or
//! fewer than [`MIN_MATCH_LEN`] bytes (it would match all over ordinary
//! text), one whose compiled program is over [`COMPILED_SIZE_LIMIT`] (huge
//! counted repetitions, which make each byte expensive), and one that scans
//! a sample of mixed text slower than [`MIN_SAMPLE_SPEED`] (a margin of
//! hundreds against the shipped patterns, so a noisy machine never refuses
//! a good one).

use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexBuilder};

use crate::identifiers::{self, MOD23_CHECK_LETTERS};
use crate::{Category, CustomId, DetectorId, Strength};

/// Shortest match a pattern may allow, in bytes.
pub const MIN_MATCH_LEN: usize = 4;
/// Largest compiled program a pattern may need, in bytes.
pub const COMPILED_SIZE_LIMIT: usize = 1 << 20;
/// Slowest a pattern may scan the load-time sample, in bytes per second.
pub const MIN_SAMPLE_SPEED: f64 = 4_000_000.0;
/// Longest an id may be, in bytes.
const MAX_ID_LEN: usize = 40;

/// How a match's check character is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validator {
    /// Luhn over every digit of the match (payment cards, IMEIs).
    Luhn,
    /// The NHS number scheme: weights n..2 over all digits but the last, the
    /// last digit is 11 minus the sum mod 11 (11 is 0, 10 is invalid).
    Mod11,
    /// The PNC and CRO scheme: the match's digits as one number, mod 23,
    /// index `ZABCDEFGHJKLMNPQRTUVWXY`; the check letter is the last letter.
    Mod23,
    /// A scheme described in the rules file.
    Check(CheckScheme),
}

/// A check-character scheme: the check character is the last alphanumeric
/// character of the match (or the capture group named `check`); the digits
/// before it (or those of the group named `body`) give a sum, either
/// weighted (`weights`, left to right, one per digit) or the digits read as
/// one number; the sum mod `modulus`, subtracted from the modulus when
/// `subtract` is set (then mod the modulus again), indexes `alphabet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckScheme {
    /// The modulus, 2 to 97.
    pub modulus: u32,
    /// Weights for the digits, left to right; empty reads them as one number.
    pub weights: Vec<u32>,
    /// The check character for each remainder; a character that is not a
    /// letter or digit (such as `-`) marks a remainder no valid value has.
    pub alphabet: Vec<char>,
    /// Whether the remainder is subtracted from the modulus.
    pub subtract: bool,
}

/// Words that must or may stand near a match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextSpec {
    /// Words or phrases, matched whole and case-insensitively.
    pub words: Vec<String>,
    /// How far before the match's start or after its end a word may stand, in bytes.
    pub within: usize,
    /// True: a match without a context word is no finding. False: it is
    /// reported as the weak `possible_<id>`.
    pub required: bool,
}

/// How much of a match a sample shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redaction {
    /// Letters and digits shown at the start.
    pub keep_start: usize,
    /// Letters and digits shown at the end.
    pub keep_end: usize,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction {
            keep_start: 2,
            keep_end: 1,
        }
    }
}

/// A custom detector as the rules describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomDetectorSpec {
    /// Its id, e.g. `crime_reference`: lowercase letters, digits and `_`.
    pub id: String,
    /// The regular expression a candidate matches.
    pub pattern: String,
    /// An optional check-character validation.
    pub validator: Option<Validator>,
    /// Optional context words.
    pub context: Option<ContextSpec>,
    /// Fewest distinct values in one message for any finding to count.
    pub min_count: usize,
    /// What kind of data it finds.
    pub category: Category,
    /// Whether a finding acts alone.
    pub strength: Strength,
    /// How samples are masked.
    pub redact: Redaction,
}

/// A custom detector could not be built; the rules loader adds file and line.
#[derive(Debug, thiserror::Error)]
pub enum CustomDetectorError {
    /// The id is not usable.
    #[error(
        "detector id `{0}` must be 1 to 40 lowercase letters, digits and `_`, starting with a letter"
    )]
    BadId(String),
    /// The id is a built-in detector's or a category's.
    #[error("detector id `{0}` is already a built-in detector or a category")]
    Reserved(String),
    /// The pattern does not compile.
    #[error("the pattern does not compile: {0}")]
    Pattern(String),
    /// The pattern can match too little.
    #[error(
        "the pattern can match {0} bytes: a custom detector must match at least {MIN_MATCH_LEN}, or it would match all over ordinary text"
    )]
    TooShort(usize),
    /// The pattern scans too slowly.
    #[error("the pattern is too slow: {speed:.1} MB/s over a sample of mail text (at least {:.0} MB/s is needed)", MIN_SAMPLE_SPEED / 1e6)]
    TooSlow {
        /// What it managed, in MB/s.
        speed: f64,
    },
    /// The check scheme is inconsistent.
    #[error("check scheme: {0}")]
    Check(String),
    /// The context words are unusable.
    #[error("context: {0}")]
    Context(String),
    /// The minimum count is zero.
    #[error("min_count must be at least 1")]
    MinCount,
}

/// A compiled custom detector.
#[derive(Clone, Debug)]
pub struct CustomDetector {
    spec: CustomDetectorSpec,
    id: DetectorId,
    /// `possible_<id>`, weak, for matches without their optional context.
    possible: Option<DetectorId>,
    regex: Regex,
    /// The pattern names a `check` or `body` group.
    groups: bool,
    context: Option<AhoCorasick>,
}

/// One validated match of a custom detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomMatch {
    /// The detector (or its `possible_` form).
    pub detector: DetectorId,
    /// Byte range in the text.
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// Canonical value: its letters and digits, uppercase.
    pub value: String,
    /// The redacted sample.
    pub sample: String,
}

impl CustomDetector {
    /// Checks and compiles a detector.
    pub fn new(spec: CustomDetectorSpec) -> Result<Self, CustomDetectorError> {
        check_id(&spec.id)?;
        if spec.min_count == 0 {
            return Err(CustomDetectorError::MinCount);
        }
        let hir = regex_syntax::Parser::new()
            .parse(&spec.pattern)
            .map_err(|e| CustomDetectorError::Pattern(one_line(&e.to_string())))?;
        let min_len = hir.properties().minimum_len().unwrap_or(0);
        if min_len < MIN_MATCH_LEN {
            return Err(CustomDetectorError::TooShort(min_len));
        }
        let regex = RegexBuilder::new(&spec.pattern)
            .size_limit(COMPILED_SIZE_LIMIT)
            .dfa_size_limit(4 * COMPILED_SIZE_LIMIT)
            .build()
            .map_err(|e| CustomDetectorError::Pattern(one_line(&e.to_string())))?;
        let groups = regex
            .capture_names()
            .flatten()
            .any(|n| n == "check" || n == "body");
        if let Some(Validator::Check(scheme)) = &spec.validator {
            check_scheme(scheme)?;
        }
        let context = match &spec.context {
            Some(c) => Some(context_automaton(c)?),
            None => None,
        };
        let id = DetectorId::Custom(CustomId::intern(&spec.id, spec.category, spec.strength));
        let possible = spec
            .context
            .as_ref()
            .filter(|c| !c.required && spec.strength == Strength::Strong)
            .map(|_| {
                DetectorId::Custom(CustomId::intern(
                    &format!("possible_{}", spec.id),
                    spec.category,
                    Strength::Weak,
                ))
            });
        let detector = CustomDetector {
            spec,
            id,
            possible,
            regex,
            groups,
            context,
        };
        detector.check_speed()?;
        Ok(detector)
    }

    /// Its id.
    pub fn id(&self) -> DetectorId {
        self.id
    }

    /// Its weak `possible_<id>`, when context words are optional.
    pub fn possible_id(&self) -> Option<DetectorId> {
        self.possible
    }

    /// How it was described.
    pub fn spec(&self) -> &CustomDetectorSpec {
        &self.spec
    }

    /// Appends every validated match in `text`.
    pub fn scan(&self, text: &str, out: &mut Vec<CustomMatch>) {
        if self.groups {
            for caps in self.regex.captures_iter(text) {
                let Some(whole) = caps.get(0) else { continue };
                let check = caps.name("check").map(|m| m.as_str());
                let body = caps.name("body").map(|m| m.as_str());
                self.consider(text, whole.start(), whole.end(), body, check, out);
            }
        } else {
            for m in self.regex.find_iter(text) {
                self.consider(text, m.start(), m.end(), None, None, out);
            }
        }
    }

    /// Validates one candidate and records it.
    fn consider(
        &self,
        text: &str,
        start: usize,
        end: usize,
        body: Option<&str>,
        check: Option<&str>,
        out: &mut Vec<CustomMatch>,
    ) {
        let matched = &text[start..end];
        let value: String = matched
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect();
        if value.is_empty() {
            return;
        }
        if let Some(validator) = &self.spec.validator
            && !validate(validator, matched, body, check)
        {
            return;
        }
        let detector = match (&self.spec.context, &self.context) {
            (Some(spec), Some(words)) => {
                if near(text, start, end, spec.within, words) {
                    self.id
                } else if let Some(possible) = self.possible {
                    possible
                } else if spec.required {
                    return;
                } else {
                    self.id
                }
            }
            _ => self.id,
        };
        let sample = redact(matched, self.spec.redact);
        out.push(CustomMatch {
            detector,
            start,
            end,
            value,
            sample,
        });
    }

    /// Refuses a pattern that scans a sample of mail text pathologically
    /// slowly (the best of three runs, so one descheduling does not count).
    /// Only the regular expression is timed, which is compiled optimised in
    /// every build, so a debug build judges a pattern as a release one does.
    fn check_speed(&self) -> Result<(), CustomDetectorError> {
        let sample = speed_sample();
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            std::hint::black_box(self.regex.find_iter(sample).count());
            best = best.min(started.elapsed());
        }
        let speed = sample.len() as f64 / best.as_secs_f64().max(1e-9);
        if speed < MIN_SAMPLE_SPEED {
            return Err(CustomDetectorError::TooSlow { speed: speed / 1e6 });
        }
        Ok(())
    }
}

/// About 256 KiB of mail-like text: prose, numbers, references, capitals,
/// punctuation and some non-ASCII letters.
fn speed_sample() -> &'static str {
    static SAMPLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(|| {
        let chunk = "Dear Sam, further to the call on 14/03/2026 at 10:30 about ref NS/12345/26 \
            and CU26 012345K, PC 4521 SMITH attended 12 High Street, Northby NS1 4AB (tel 01632 960123). \
            The vehicle AB12 CDE was seen; 3 items, £1,250.00, version 2.3.1. Zoë Ó Briain — café \
            ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 aaaaaaaaaaaaaaaaaaaa 1111111111111111 //// ----\n";
        chunk.repeat((256 << 10) / chunk.len() + 1)
    })
}

/// Checks an id's form and that it is not taken.
fn check_id(id: &str) -> Result<(), CustomDetectorError> {
    let well_formed = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(CustomDetectorError::BadId(id.to_owned()));
    }
    let reserved = DetectorId::builtin(id).is_some()
        || Category::named(id).is_some()
        || id == "attachment"
        || id.starts_with("possible_nhs");
    if reserved {
        return Err(CustomDetectorError::Reserved(id.to_owned()));
    }
    Ok(())
}

/// Checks that a described scheme can work.
fn check_scheme(scheme: &CheckScheme) -> Result<(), CustomDetectorError> {
    if !(2..=97).contains(&scheme.modulus) {
        return Err(CustomDetectorError::Check(format!(
            "modulus {} must be from 2 to 97",
            scheme.modulus
        )));
    }
    if scheme.alphabet.len() < scheme.modulus as usize {
        return Err(CustomDetectorError::Check(format!(
            "the alphabet has {} characters; modulus {} needs one for each remainder",
            scheme.alphabet.len(),
            scheme.modulus
        )));
    }
    if scheme.weights.len() > 64 || scheme.weights.iter().any(|&w| w > 1000) {
        return Err(CustomDetectorError::Check(
            "at most 64 weights, each at most 1000".into(),
        ));
    }
    Ok(())
}

/// The automaton of a detector's context words.
fn context_automaton(spec: &ContextSpec) -> Result<AhoCorasick, CustomDetectorError> {
    let words: Vec<String> = spec
        .words
        .iter()
        .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if words.is_empty() || words.iter().any(|w| w.chars().count() < 2) {
        return Err(CustomDetectorError::Context(
            "give at least one word, each of two or more characters".into(),
        ));
    }
    if spec.within == 0 || spec.within > 1000 {
        return Err(CustomDetectorError::Context(
            "`within` must be from 1 to 1000 characters".into(),
        ));
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&words)
        .map_err(|e| CustomDetectorError::Context(e.to_string()))
}

/// Whether a context word stands, as a whole word, so that at most `within`
/// bytes lie between it and the match (`start..end`).
fn near(text: &str, start: usize, end: usize, within: usize, words: &AhoCorasick) -> bool {
    let reach = within + words.max_pattern_len();
    let mut from = start.saturating_sub(reach);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (end + reach).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let b = text.as_bytes();
    let word_byte = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric());
    words.find_iter(&text[from..to]).any(|m| {
        let (s, e) = (from + m.start(), from + m.end());
        let close = (e <= start && start - e <= within) || (s >= end && s - end <= within);
        let whole = (s == 0 || !word_byte(s - 1)) && !word_byte(e);
        close && whole
    })
}

/// Whether a match passes its validator.
fn validate(validator: &Validator, matched: &str, body: Option<&str>, check: Option<&str>) -> bool {
    match validator {
        Validator::Luhn => luhn(matched),
        Validator::Mod11 => mod11(matched),
        Validator::Mod23 => scheme_holds(mod23(), matched, body, check),
        Validator::Check(scheme) => scheme_holds(scheme, matched, body, check),
    }
}

/// The PNC and CRO scheme as a described one, built once.
fn mod23() -> &'static CheckScheme {
    static SCHEME: std::sync::OnceLock<CheckScheme> = std::sync::OnceLock::new();
    SCHEME.get_or_init(|| CheckScheme {
        modulus: 23,
        weights: Vec::new(),
        alphabet: MOD23_CHECK_LETTERS.iter().map(|&b| char::from(b)).collect(),
        subtract: false,
    })
}

/// Luhn over the digits of `text` (at least two), as payment cards are checked.
fn luhn(text: &str) -> bool {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    digits.len() >= 2 && identifiers::luhn(&digits)
}

/// The NHS scheme over the digits of `text` (at least two).
fn mod11(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some((&check, body)) = digits.split_last() else {
        return false;
    };
    if body.is_empty() {
        return false;
    }
    let n = digits.len() as u32;
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &d)| d * (n - i as u32))
        .sum();
    match 11 - sum % 11 {
        11 => check == 0,
        10 => false,
        expected => check == expected,
    }
}

/// Whether a described scheme holds for a match.
fn scheme_holds(
    scheme: &CheckScheme,
    matched: &str,
    body: Option<&str>,
    check: Option<&str>,
) -> bool {
    let (body, check_char) = match check {
        Some(check) => {
            let mut chars = check.chars().filter(|c| c.is_alphanumeric());
            match (chars.next(), chars.next()) {
                (Some(c), None) => (body.unwrap_or(matched), c),
                _ => return false,
            }
        }
        None => {
            // The last letter or digit is the check character.
            let Some((at, c)) = matched
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_alphanumeric())
            else {
                return false;
            };
            (body.unwrap_or(&matched[..at]), c)
        }
    };
    let digits = body.chars().filter_map(|c| c.to_digit(10));
    let modulus = scheme.modulus;
    let remainder = if scheme.weights.is_empty() {
        let mut any = false;
        let r = digits.fold(0u32, |r, d| {
            any = true;
            (r * 10 + d) % modulus
        });
        if !any {
            return false;
        }
        r
    } else {
        let digits: Vec<u32> = digits.collect();
        if digits.len() != scheme.weights.len() {
            return false;
        }
        let sum: u64 = digits
            .iter()
            .zip(&scheme.weights)
            .map(|(&d, &w)| u64::from(d) * u64::from(w))
            .sum();
        (sum % u64::from(modulus)) as u32
    };
    let index = if scheme.subtract {
        (modulus - remainder) % modulus
    } else {
        remainder
    };
    scheme
        .alphabet
        .get(index as usize)
        .is_some_and(|&expected| {
            expected.is_alphanumeric() && expected.to_uppercase().eq(check_char.to_uppercase())
        })
}

/// `matched` with its letters and digits masked, apart from the first
/// `keep_start` and the last `keep_end`; at least half of them are always
/// masked, so a sample never shows most of a value.
fn redact(matched: &str, redaction: Redaction) -> String {
    let n = matched.chars().filter(|c| c.is_alphanumeric()).count();
    let (mut ks, mut ke) = (redaction.keep_start, redaction.keep_end);
    while ks + ke > n / 2 {
        if ke > 0 {
            ke -= 1;
        } else {
            ks -= 1;
        }
    }
    let mut seen = 0;
    matched
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return if c.is_whitespace() { ' ' } else { c };
            }
            seen += 1;
            if seen <= ks || seen > n - ke { c } else { '*' }
        })
        .collect()
}

/// An error message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn spec(id: &str, pattern: &str) -> CustomDetectorSpec {
        CustomDetectorSpec {
            id: id.into(),
            pattern: pattern.into(),
            validator: None,
            context: None,
            min_count: 1,
            category: Category::PersonalData,
            strength: Strength::Strong,
            redact: Redaction::default(),
        }
    }

    fn found(detector: &CustomDetector, text: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        detector.scan(text, &mut out);
        out.into_iter()
            .map(|m| (m.detector.as_str().to_owned(), m.value, m.sample))
            .collect()
    }

    fn crime_reference() -> CustomDetector {
        CustomDetector::new(spec("crime_reference", r"\bNS/\d{5}/\d{2}\b")).unwrap()
    }

    #[test]
    fn finds_and_redacts_a_crime_reference() {
        let d = crime_reference();
        assert_eq!(
            found(
                &d,
                "Please quote NS/12345/26 and NS/54321/25; not NS/1234/26."
            ),
            [
                (
                    "crime_reference".to_owned(),
                    "NS1234526".to_owned(),
                    "NS/*****/*6".to_owned()
                ),
                (
                    "crime_reference".to_owned(),
                    "NS5432125".to_owned(),
                    "NS/*****/*5".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn refuses_patterns_that_match_too_little() {
        for pattern in ["", "a*", "x?", r"\d{0,5}", "(?:)", "ab|", r"\d"] {
            let err = CustomDetector::new(spec("ref", pattern)).unwrap_err();
            assert!(
                matches!(err, CustomDetectorError::TooShort(_)),
                "{pattern}: {err}"
            );
        }
        let err = CustomDetector::new(spec("ref", "NS/(")).unwrap_err();
        assert!(matches!(err, CustomDetectorError::Pattern(_)), "{err}");
    }

    #[test]
    fn refuses_patterns_that_compile_too_big() {
        let err = CustomDetector::new(spec("ref", r"\w{500}\w{500}")).unwrap_err();
        assert!(matches!(err, CustomDetectorError::Pattern(_)), "{err}");
        assert!(err.to_string().contains("size limit"), "{err}");
    }

    #[test]
    fn refuses_bad_and_reserved_ids() {
        for id in [
            "",
            "Crime",
            "1ref",
            "crime-ref",
            "crime ref",
            &"x".repeat(41),
        ] {
            assert!(matches!(
                CustomDetector::new(spec(id, "NS/\\d{5}")).unwrap_err(),
                CustomDetectorError::BadId(_)
            ));
        }
        for id in ["uk_nino", "personal_data", "exact_match", "attachment"] {
            assert!(matches!(
                CustomDetector::new(spec(id, "NS/\\d{5}")).unwrap_err(),
                CustomDetectorError::Reserved(_)
            ));
        }
    }

    #[test]
    fn mod23_check_letters() {
        // The custody record scheme Northshire ships: CU, year, serial, a letter.
        let mut s = spec("custody_record", r"\bCU\s?\d{2}\s?\d{6}\s?[A-Z]\b");
        s.validator = Some(Validator::Mod23);
        let d = CustomDetector::new(s).unwrap();
        // 26012345 mod 23 = 12 -> M.
        assert_eq!(26012345 % 23, 12);
        assert_eq!(found(&d, "CU26 012345M").len(), 1);
        assert!(found(&d, "CU26 012345L").is_empty());
        assert_eq!(found(&d, "custody CU26012345M")[0].1, "CU26012345M");
    }

    #[test]
    fn luhn_and_mod11() {
        let mut s = spec("card_ref", r"\b\d{4} ?\d{4} ?\d{4} ?\d{4}\b");
        s.validator = Some(Validator::Luhn);
        let d = CustomDetector::new(s).unwrap();
        assert_eq!(found(&d, "5105 1051 0510 5100").len(), 1);
        assert!(found(&d, "5105 1051 0510 5101").is_empty());
        let mut s = spec("nhs_like", r"\b\d{3} ?\d{3} ?\d{4}\b");
        s.validator = Some(Validator::Mod11);
        let d = CustomDetector::new(s).unwrap();
        assert_eq!(found(&d, "401 023 2137").len(), 1);
        assert!(found(&d, "401 023 2138").is_empty());
    }

    #[test]
    fn described_schemes_with_weights_and_groups() {
        // Weighted mod 11 with the NHS weights, written out in the file.
        let mut s = spec("weighted", r"\b\d{10}\b");
        s.validator = Some(Validator::Check(CheckScheme {
            modulus: 11,
            weights: vec![10, 9, 8, 7, 6, 5, 4, 3, 2],
            alphabet: "0123456789-".chars().collect(),
            subtract: true,
        }));
        let d = CustomDetector::new(s).unwrap();
        assert_eq!(found(&d, "4010232137").len(), 1);
        assert!(found(&d, "4010232138").is_empty());
        // Named groups: the check letter stands before the digits.
        let mut s = spec("intel_log", r"\bIL(?P<check>[A-Z])-(?P<body>\d{6})\b");
        s.validator = Some(Validator::Check(CheckScheme {
            modulus: 23,
            weights: Vec::new(),
            alphabet: mod23().alphabet.clone(),
            subtract: false,
        }));
        let d = CustomDetector::new(s).unwrap();
        // 123456 mod 23 = 15 -> index 15 of ZABCDEFGHJKLMNPQRTUVWXY is Q.
        assert_eq!(123456 % 23, 15);
        assert_eq!(found(&d, "log ILQ-123456").len(), 1);
        assert!(found(&d, "log ILA-123456").is_empty());
    }

    #[test]
    fn inconsistent_schemes_are_refused() {
        let mut s = spec("x_ref", r"\bX\d{6}[A-Z]\b");
        s.validator = Some(Validator::Check(CheckScheme {
            modulus: 23,
            weights: Vec::new(),
            alphabet: "ABC".chars().collect(),
            subtract: false,
        }));
        let err = CustomDetector::new(s).unwrap_err();
        assert!(err.to_string().contains("alphabet has 3"), "{err}");
    }

    #[test]
    fn required_and_optional_context() {
        let mut s = spec("collar_number", r"\b\d{4}\b");
        s.context = Some(ContextSpec {
            words: vec!["PC".into(), "collar number".into()],
            within: 12,
            required: true,
        });
        let d = CustomDetector::new(s.clone()).unwrap();
        let values =
            |text: &str| -> Vec<String> { found(&d, text).into_iter().map(|f| f.1).collect() };
        assert_eq!(values("PC 4521 attended"), ["4521"]);
        assert_eq!(values("collar number: 4521"), ["4521"]);
        assert!(values("in 2026 we had 4521 calls").is_empty());
        // Whole words only: "PCs" and "EPC" are not "PC".
        assert!(values("EPC 4521").is_empty());
        assert!(values("PCs 4521").is_empty());
        s.context.as_mut().unwrap().required = false;
        let d = CustomDetector::new(s).unwrap();
        let ids: Vec<String> = found(&d, "PC 4521 attended; and in 2026 it happened")
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(ids, ["collar_number", "possible_collar_number"]);
        assert_eq!(d.possible_id().unwrap().strength(), Strength::Weak);
    }

    /// Prints each pattern's speed over the load-time sample; run with
    /// `cargo test -p cordon-detect --release -- --ignored --nocapture pattern_speeds`.
    #[test]
    #[ignore]
    fn pattern_speeds() {
        for pattern in [
            r"\bNS/\d{5}/\d{2}\b",
            r"\b[A-HJ-PR-Y]{2}\d{2} ?[A-HJ-PR-Z]{3}\b",
            r"(?-u:\b)[A-HJ-PR-Y]{2}\d{2} ?[A-HJ-PR-Z]{3}(?-u:\b)",
            r"\bCU ?\d{2} ?\d{6} ?[A-Z]\b",
            r"(?i)\b[a-z]{2}\W?\d{2,}\W?[a-z]?\b",
        ] {
            let d = CustomDetector::new(spec("speed", pattern));
            let sample = speed_sample();
            let d = match d {
                Ok(d) => d,
                Err(e) => {
                    println!("{pattern}: {e}");
                    continue;
                }
            };
            let started = Instant::now();
            let mut out = Vec::new();
            for _ in 0..10 {
                d.scan(sample, &mut out);
            }
            let speed = 10.0 * sample.len() as f64 / started.elapsed().as_secs_f64() / 1e6;
            println!("{pattern}: {speed:.0} MB/s");
        }
    }

    #[test]
    fn samples_mask_at_least_half() {
        let generous = Redaction {
            keep_start: 10,
            keep_end: 10,
        };
        assert_eq!(redact("NS/12345/26", generous), "NS/12***/**");
        assert_eq!(redact("AB12 CDE", Redaction::default()), "AB** **E");
        assert_eq!(
            redact(
                "abcd",
                Redaction {
                    keep_start: 0,
                    keep_end: 0
                }
            ),
            "****"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_and_samples_never_reveal(text in any::<String>(), ks in 0usize..12, ke in 0usize..12) {
            let mut s = spec("any_ref", r"(?i-u:\b)[a-z]{2}\W?\d{2,}\W?[a-z]?(?-u:\b)");
            s.redact = Redaction { keep_start: ks, keep_end: ke };
            s.context = Some(ContextSpec { words: vec!["ref".into()], within: 7, required: false });
            s.validator = Some(Validator::Mod23);
            let d = CustomDetector::new(s).unwrap();
            let mut out = Vec::new();
            d.scan(&text, &mut out);
            let d = crime_reference();
            d.scan(&text, &mut out);
            for m in out {
                prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
                prop_assert_ne!(&m.sample, &text[m.start..m.end]);
            }
        }
    }
}
