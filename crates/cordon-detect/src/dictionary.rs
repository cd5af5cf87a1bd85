//! Dictionary detectors: live operation names and special category terms, matched
//! as whole words, case-insensitively and across line breaks and runs of
//! spaces, by one Aho-Corasick automaton compiled at load.
//!
//! The automaton finds a live code word on its own; a hit counts as an
//! operation name only when an introducing word (`Operation`, `Op`, `Op.`
//! from the rules) stands right before it, with at most a few characters of
//! punctuation or quotes between them, as people write it: `Operation:
//! Nightjar`, `Op.Nightjar`, `Operation - Nightjar`, `Operation "Kestrel
//! Gate"`, `Operation «Nightjar»`. That look back is bounded, so the scan
//! stays one pass. The code word alone ("a nightjar sang") does not count.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Deserialize;

use crate::DetectorId;

/// Most characters of punctuation, quotes and spaces between an introducing
/// word and the operation's name (`Operation: “Nightjar`).
const MAX_SEPARATORS: usize = 6;

/// A live operation, as the rules name it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Operation {
    /// The operation's code word, e.g. `Kestrel Gate`.
    pub name: String,
}

/// A special category term and the category it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SpecialTerm {
    /// The word or phrase, e.g. `mental health`.
    pub term: String,
    /// The category, e.g. `health`.
    pub category: String,
}

/// The word lists the dictionary detectors look for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DictionaryConfig {
    /// Words that introduce an operation name: `Operation`, `Op`, `Op.`.
    pub operation_prefixes: Vec<String>,
    /// Live operations.
    pub operations: Vec<Operation>,
    /// Special category terms.
    pub special_terms: Vec<SpecialTerm>,
}

/// One dictionary hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictionaryMatch {
    /// `OperationName` or `SpecialCategory`.
    pub detector: DetectorId,
    /// Byte range in the text (for an operation, from its introducing word).
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// Canonical value: the operation name, or `category: term`.
    pub value: String,
}

/// What a pattern of the automaton stands for.
#[derive(Clone, Debug)]
struct Entry {
    detector: DetectorId,
    value: String,
}

/// A word that introduces an operation name.
#[derive(Clone, Debug)]
struct Prefix {
    /// Lowercase, inner whitespace squashed, without a trailing dot: `op`.
    word: String,
    /// The rules write it with a dot (`Op.`), so a dot may follow it.
    dotted: bool,
}

/// The compiled dictionary.
#[derive(Clone, Debug)]
pub struct Dictionary {
    automaton: Option<AhoCorasick>,
    entries: Vec<Entry>,
    prefixes: Vec<Prefix>,
}

/// A dictionary could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("cannot compile the word lists: {0}")]
pub struct DictionaryError(#[from] aho_corasick::BuildError);

impl Dictionary {
    /// Compiles the word lists into one automaton.
    pub fn new(config: &DictionaryConfig) -> Result<Self, DictionaryError> {
        let mut prefixes: Vec<Prefix> = config
            .operation_prefixes
            .iter()
            .filter_map(|p| {
                let p = squash(p).to_ascii_lowercase();
                let word = p.trim_end_matches('.');
                (!word.is_empty()).then(|| Prefix {
                    word: word.to_owned(),
                    dotted: word.len() < p.len(),
                })
            })
            .collect();
        // "Op" and "Op." together: the dotted entry says a dot may follow.
        prefixes.sort_by(|a, b| a.word.cmp(&b.word).then(b.dotted.cmp(&a.dotted)));
        prefixes.dedup_by(|a, b| a.word == b.word);
        let mut patterns: Vec<(String, Entry)> = Vec::new();
        if !prefixes.is_empty() {
            for op in &config.operations {
                let name = squash(&op.name);
                if name.is_empty() {
                    continue;
                }
                patterns.push((
                    name.to_ascii_lowercase(),
                    Entry {
                        detector: DetectorId::OperationName,
                        value: format!("Operation {name}"),
                    },
                ));
            }
        }
        for t in &config.special_terms {
            let term = squash(&t.term);
            if term.is_empty() {
                continue;
            }
            let value = format!("{}: {}", t.category, term);
            patterns.push((
                term.to_ascii_lowercase(),
                Entry {
                    detector: DetectorId::SpecialCategory,
                    value,
                },
            ));
        }
        // Longest first, so leftmost-first matching prefers "mental health act" over "mental health".
        patterns.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        patterns.dedup_by(|a, b| a.0 == b.0);
        if patterns.is_empty() {
            return Ok(Dictionary {
                automaton: None,
                entries: Vec::new(),
                prefixes,
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns.iter().map(|(p, _)| p))?;
        Ok(Dictionary {
            automaton: Some(automaton),
            entries: patterns.into_iter().map(|(_, e)| e).collect(),
            prefixes,
        })
    }

    /// Appends every whole-word dictionary match in `text` to `out`.
    pub fn scan(&self, text: &str, out: &mut Vec<DictionaryMatch>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let folded = Folded::new(text);
        let hay = folded.text.as_str();
        for m in automaton.find_iter(hay) {
            if !is_word_boundary(hay, m.start(), m.end()) {
                continue;
            }
            let Some(entry) = self.entries.get(m.pattern().as_usize()) else {
                continue;
            };
            let start = if entry.detector == DetectorId::OperationName {
                match self.introduced_at(hay, m.start()) {
                    Some(start) => start,
                    None => continue,
                }
            } else {
                m.start()
            };
            out.push(DictionaryMatch {
                detector: entry.detector,
                start: folded.origin(start),
                end: folded.origin_end(m.end()),
                value: entry.value.clone(),
            });
        }
    }

    /// Where the introducing word of an operation name starting at `name`
    /// begins, if one stands right before it in the folded text.
    fn introduced_at(&self, hay: &str, name: usize) -> Option<usize> {
        let head = hay.get(..name)?;
        // Step back over spaces, punctuation and quotes, a few at most.
        let mut cut = head.len();
        for (n, (i, c)) in head.char_indices().rev().enumerate() {
            if !is_separator(c) {
                break;
            }
            if n >= MAX_SEPARATORS {
                return None;
            }
            cut = i;
        }
        let head = &head[..cut];
        // A dot may end an abbreviated introducing word: `Op.Nightjar`.
        let (head, dot) = match head.strip_suffix('.') {
            Some(h) => (h, true),
            None => (head, false),
        };
        self.prefixes.iter().find_map(|p| {
            let start = head.len().checked_sub(p.word.len())?;
            let bounded = head.get(start..)? == p.word
                && !head[..start]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric);
            (bounded && (p.dotted || !dot)).then_some(start)
        })
    }
}

/// Whether `c` may stand between an introducing word and the name: a space,
/// a colon, a dash, an equals sign or a quotation mark of any style.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | ':'
            | '-'
            | '='
            | '"'
            | '\''
            | '`'
            | '\u{2010}'..='\u{2015}'
            | '\u{2018}'..='\u{201F}'
            | '\u{00AB}'
            | '\u{00BB}'
            | '\u{2039}'
            | '\u{203A}'
    )
}

/// The text as the automaton reads it: ASCII lowercased, every run of
/// whitespace one space, with the way back to the original offsets.
struct Folded {
    text: String,
    /// Original offset of each folded byte; `None` while they are equal
    /// (normalised text has no runs to fold, so it needs no table).
    origins: Option<Vec<usize>>,
}

impl Folded {
    fn new(original: &str) -> Self {
        let b = original.as_bytes();
        let space = |c: u8| c.is_ascii_whitespace();
        // Normalised text (all the pipeline gives) has no whitespace runs:
        // a same-length map, with no offset table, in a few cheap passes.
        if !b.windows(2).any(|w| space(w[0]) && space(w[1])) {
            let bytes: Vec<u8> = b
                .iter()
                .map(|&c| {
                    if space(c) {
                        b' '
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            return Folded {
                text,
                origins: None,
            };
        }
        // Byte by byte: only ASCII bytes change or go, so the result stays UTF-8.
        let mut bytes = Vec::with_capacity(original.len());
        let mut origins: Option<Vec<usize>> = None;
        let mut in_space = false;
        for (i, &b) in original.as_bytes().iter().enumerate() {
            let space = b.is_ascii_whitespace();
            if space && in_space {
                // A second whitespace character: from here offsets shift.
                origins.get_or_insert_with(|| (0..bytes.len()).collect());
                continue;
            }
            in_space = space;
            bytes.push(if space { b' ' } else { b.to_ascii_lowercase() });
            if let Some(o) = origins.as_mut() {
                o.push(i);
            }
        }
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Folded { text, origins }
    }

    /// The original offset of folded byte `i`.
    fn origin(&self, i: usize) -> usize {
        match &self.origins {
            Some(o) => o.get(i).copied().unwrap_or(i),
            None => i,
        }
    }

    /// The original offset just past folded byte `end - 1`.
    fn origin_end(&self, end: usize) -> usize {
        match end.checked_sub(1) {
            Some(last) => self.origin(last) + 1,
            None => self.origin(0),
        }
    }
}

/// Collapses internal whitespace to single spaces and trims.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when the match is not part of a longer word. Patterns are ASCII, so
/// `start` and `end` are character boundaries of `text`.
fn is_word_boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|t| t.chars().next_back());
    let after = text.get(end..).and_then(|t| t.chars().next());
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary() -> Dictionary {
        Dictionary::new(&DictionaryConfig {
            operation_prefixes: vec!["Operation".into(), "Op".into(), "Op.".into()],
            operations: vec![
                Operation {
                    name: "Nightjar".into(),
                },
                Operation {
                    name: "Kestrel  Gate".into(),
                },
            ],
            special_terms: vec![
                SpecialTerm {
                    term: "mental health".into(),
                    category: "health".into(),
                },
                SpecialTerm {
                    term: "HIV".into(),
                    category: "health".into(),
                },
                SpecialTerm {
                    term: "sexual orientation".into(),
                    category: "sexual orientation".into(),
                },
            ],
        })
        .expect("compiles")
    }

    fn values(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        dictionary().scan(text, &mut out);
        out.into_iter().map(|m| m.value).collect()
    }

    #[test]
    fn operation_names_any_case_and_prefix() {
        assert_eq!(
            values("Operation Nightjar goes ahead"),
            ["Operation Nightjar"]
        );
        assert_eq!(values("re OP NIGHTJAR tomorrow"), ["Operation Nightjar"]);
        assert_eq!(values("see op. nightjar."), ["Operation Nightjar"]);
    }

    #[test]
    fn operation_names_as_people_write_them() {
        for s in [
            "Operation: Nightjar",
            "Op.Nightjar",
            "Op. Nightjar",
            "OP.NIGHTJAR",
            "Operation - Nightjar",
            "Operation -- Nightjar",
            "Operation = Nightjar",
            "Operation \"Nightjar\"",
            "Operation 'Nightjar'",
            "Operation \u{201C}Nightjar\u{201D}",
            "Operation \u{2018}Nightjar\u{2019}",
            "Operation \u{00AB}Nightjar\u{00BB}",
            "Operation \u{2013} Nightjar",
            "Operation: \u{201C}Nightjar\u{201D}",
            "OPERATION NIGHTJAR",
            "Operation\nNightjar",
            "Operation   Nightjar",
            "(Operation Nightjar)",
        ] {
            assert_eq!(values(s), ["Operation Nightjar"], "{s:?}");
        }
        for s in [
            "Operation \"Kestrel Gate\"",
            "Operation: \u{201C}Kestrel Gate\u{201D}",
            "Operation Kestrel\nGate",
            "Operation Kestrel     Gate",
            "Operation  \t Kestrel \r\n Gate",
            "OP 'KESTREL GATE'",
        ] {
            assert_eq!(values(s), ["Operation Kestrel Gate"], "{s:?}");
        }
    }

    #[test]
    fn match_spans_the_introducing_word_in_the_original_text() {
        let text = "Re:  Operation   \u{201C}Kestrel \n  Gate\u{201D} today";
        let mut out = Vec::new();
        dictionary().scan(text, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            &text[out[0].start..out[0].end],
            "Operation   \u{201C}Kestrel \n  Gate"
        );
    }

    #[test]
    fn prose_without_an_introducing_word_is_not_an_operation() {
        for s in [
            "the nightjar was seen",
            "Nightjar",
            "the operation, nightjar aside",
            "cooperation: nightjar",
            "operation.nightjar",
            "operation: : : : : : : nightjar",
            "top Nightjar",
            "operation x nightjar",
            "the kestrel gate was open",
        ] {
            assert!(values(s).is_empty(), "{s:?}: {:?}", values(s));
        }
    }

    #[test]
    fn operation_names_across_line_breaks() {
        assert_eq!(
            values("briefing for Operation\nKestrel\nGate at 0500"),
            ["Operation Kestrel Gate"]
        );
    }

    #[test]
    fn whole_words_only() {
        assert!(values("Operation Nightjars are birds").is_empty());
        assert!(values("archive of shiv").is_empty());
        assert_eq!(values("status: HIV positive"), ["health: HIV"]);
    }

    #[test]
    fn bare_code_word_is_not_an_operation() {
        assert!(values("a nightjar sang").is_empty());
    }

    #[test]
    fn special_terms_report_their_category() {
        assert_eq!(
            values("concerns about his Mental\nHealth"),
            ["health: mental health"]
        );
    }

    #[test]
    fn empty_lists_match_nothing() {
        let empty = Dictionary::new(&DictionaryConfig::default()).expect("compiles");
        let mut out = Vec::new();
        empty.scan("Operation Nightjar", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn degenerate_inputs_stay_linear() {
        let d = dictionary();
        for text in [
            "nightjar ".repeat(50_000),
            "\" ".repeat(100_000) + "nightjar",
            "op.".repeat(100_000),
            " \n\t".repeat(100_000),
        ] {
            let mut out = Vec::new();
            d.scan(&text, &mut out);
            assert!(out.len() <= 1);
        }
    }

    proptest::proptest! {
        #[test]
        fn spans_are_valid_in_any_text(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "Operation", "op.", "Nightjar", "Kestrel", "Gate", " ", "  ", "\n", "\r\n",
                    "\t", ":", "\"", "\u{201C}", "\u{00E9}", "x", "HIV", "mental", "health",
                ]),
                0..40,
            )
        ) {
            let text = parts.concat();
            let mut out = Vec::new();
            dictionary().scan(&text, &mut out);
            for m in &out {
                proptest::prop_assert!(m.start < m.end && m.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
            }
        }
    }
}
