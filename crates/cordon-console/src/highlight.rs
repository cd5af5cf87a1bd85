//! Findings highlighted in a message's extracted text.
//!
//! Each finding becomes a pattern over the text its location holds:
//!
//! - markings and operation names match their sample exactly (runs of
//!   whitespace in the sample match any run of whitespace);
//! - special category samples read `topic: term`; the term is matched,
//!   ignoring case;
//! - redacted identifiers (`JM 41 ** ** B`) become a pattern in which `*`
//!   matches one letter or digit, a space matches optional whitespace and
//!   everything else matches itself (ignoring case);
//! - executable and uninspectable findings are about files, not text: they
//!   are listed, not highlighted.
//!
//! The output is built segment by segment, each escaped, with `<mark>`
//! around the matches: nothing of the message's text reaches the page
//! unescaped.

use regex::{Regex, RegexBuilder};

use crate::html::escape_into;
use crate::model::Finding;

/// Samples longer than this (in characters) are not turned into patterns.
const MAX_SAMPLE_CHARS: usize = 200;

/// At most this many matches are marked in one text.
const MAX_MARKS: usize = 10_000;

/// Whether findings of `detector` are highlighted in the text (rather than
/// only listed). An exact match's sample names columns, not text.
pub(crate) fn is_highlighted(detector: &str) -> bool {
    !matches!(
        detector,
        "executable" | "uninspectable" | "attachment" | "exact_match" | "sender_behaviour"
    )
}

/// The pattern that finds `finding` in text, if it has one.
pub(crate) fn pattern(finding: &Finding) -> Option<Regex> {
    if !is_highlighted(&finding.detector) {
        return None;
    }
    let sample = finding.sample.trim();
    if sample.is_empty() || sample.chars().count() > MAX_SAMPLE_CHARS {
        return None;
    }
    let (source, ignore_case) = match finding.detector.as_str() {
        "marking" | "operation_name" => (literal(sample), false),
        "special_category" => {
            let term = sample
                .split_once(": ")
                .map_or(sample, |(_, term)| term)
                .trim();
            if term.is_empty() {
                return None;
            }
            (literal(term), true)
        }
        _ => (redacted(sample)?, true),
    };
    RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .size_limit(1 << 20)
        .build()
        .ok()
}

/// A pattern matching `text` itself, whitespace runs matching any
/// whitespace, bounded by word boundaries where it starts or ends with a
/// word character.
fn literal(text: &str) -> String {
    let mut source = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                source.push_str(r"\s+");
            }
            in_space = true;
        } else {
            source.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            in_space = false;
        }
    }
    bounded(text, source)
}

/// The pattern of a redacted sample (see the module documentation); `None`
/// when the sample has no visible letter or digit, since such a pattern
/// would mark any run of characters.
fn redacted(sample: &str) -> Option<String> {
    if !sample.chars().any(char::is_alphanumeric) {
        return None;
    }
    let mut source = String::new();
    for c in sample.chars() {
        if c == '*' {
            source.push_str("[A-Za-z0-9]");
        } else if c.is_whitespace() {
            source.push_str(r"\s*");
        } else {
            source.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    Some(bounded(sample, source))
}

/// `source` with `\b` on each side where `text` starts or ends with a
/// letter, digit or `*`, so that `41` does not match inside `1410`.
fn bounded(text: &str, source: String) -> String {
    let wordy = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '*');
    let start = if wordy(text.chars().next()) {
        r"\b"
    } else {
        ""
    };
    let end = if wordy(text.chars().next_back()) {
        r"\b"
    } else {
        ""
    };
    format!("{start}(?:{source}){end}")
}

/// `text` as HTML: escaped, with every match of `patterns` inside `<mark>`
/// (overlapping matches merged).
pub(crate) fn highlight(text: &str, patterns: &[Regex]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for pattern in patterns {
        let room = MAX_MARKS.saturating_sub(ranges.len());
        ranges.extend(
            pattern
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .take(room)
                .map(|m| (m.start(), m.end())),
        );
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len() + merged.len() * 13);
    let mut pos = 0;
    for (start, end) in merged {
        // Match boundaries are char boundaries; `get` keeps this panic-free.
        if let (Some(before), Some(marked)) = (text.get(pos..start), text.get(start..end)) {
            escape_into(before, &mut out);
            out.push_str("<mark>");
            escape_into(marked, &mut out);
            out.push_str("</mark>");
            pos = end;
        }
    }
    escape_into(text.get(pos..).unwrap_or_default(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(detector: &str, sample: &str) -> Finding {
        Finding {
            detector: detector.into(),
            category: String::new(),
            location: "body".into(),
            count: 1,
            sample: sample.into(),
        }
    }

    fn marked(detector: &str, sample: &str, text: &str) -> String {
        let pattern = pattern(&finding(detector, sample)).expect("a pattern");
        highlight(text, &[pattern])
    }

    #[test]
    fn redacted_identifiers_match_their_shape() {
        assert_eq!(
            marked(
                "uk_nino",
                "JM 41 ** ** B",
                "NINO JM 41 23 45 B, also jm412345b."
            ),
            "NINO <mark>JM 41 23 45 B</mark>, also <mark>jm412345b</mark>."
        );
        // Other letters, or more digits, are not the finding.
        assert_eq!(
            marked(
                "uk_nino",
                "JM 41 ** ** B",
                "JM 41 23 45 C and JM 41 23 456 B"
            ),
            "JM 41 23 45 C and JM 41 23 456 B"
        );
        assert_eq!(
            marked("nhs_number", "943 *** ****", "NHS 943 476 5919."),
            "NHS <mark>943 476 5919</mark>."
        );
        // Punctuation in a sample is literal, not a regex.
        assert_eq!(
            marked("pnc_id", "09/*****R", "PNC 09/48213R and 09x48213R"),
            "PNC <mark>09&#x2f;48213R</mark> and 09x48213R"
        );
        // Nothing visible: no pattern at all.
        assert!(pattern(&finding("uk_phone", "*** ****")).is_none());
    }

    #[test]
    fn markings_and_operations_match_exactly() {
        assert_eq!(
            marked(
                "marking",
                "OFFICIAL-SENSITIVE",
                "OFFICIAL-SENSITIVE: not official-sensitive"
            ),
            "<mark>OFFICIAL-SENSITIVE</mark>: not official-sensitive"
        );
        assert_eq!(
            marked(
                "operation_name",
                "Operation Nightjar",
                "re Operation\nNightjar, Operation Nightjars"
            ),
            "re <mark>Operation\nNightjar</mark>, Operation Nightjars"
        );
    }

    #[test]
    fn special_category_highlights_the_term() {
        assert_eq!(
            marked(
                "special_category",
                "health: diagnosed with",
                "He was Diagnosed with asthma; health is fine"
            ),
            "He was <mark>Diagnosed with</mark> asthma; health is fine"
        );
    }

    #[test]
    fn file_findings_are_not_highlighted() {
        for detector in ["executable", "uninspectable", "exact_match"] {
            assert!(pattern(&finding(detector, "Windows program")).is_none());
            assert!(!is_highlighted(detector));
        }
        assert!(pattern(&finding("uk_nino", "")).is_none());
        assert!(pattern(&finding("marking", &"A".repeat(500))).is_none());
    }

    #[test]
    fn text_is_escaped_around_and_inside_marks() {
        let patterns = [
            pattern(&finding("marking", "SECRET")).unwrap(),
            pattern(&finding("operation_name", "<b>SECRET")).unwrap(),
        ];
        assert_eq!(
            highlight("<script>alert(1)</script> <b>SECRET & more", &patterns),
            "&lt;script&gt;alert(1)&lt;&#x2f;script&gt; <mark>&lt;b&gt;SECRET</mark> &amp; more"
        );
        assert_eq!(highlight("", &patterns), "");
        assert_eq!(highlight("a<b", &[]), "a&lt;b");
    }

    #[test]
    fn overlapping_matches_merge() {
        let patterns = [
            pattern(&finding("operation_name", "Operation Nightjar")).unwrap(),
            pattern(&finding("operation_name", "Nightjar Two")).unwrap(),
        ];
        assert_eq!(
            highlight("x Operation Nightjar Two y", &patterns),
            "x <mark>Operation Nightjar Two</mark> y"
        );
    }
}
