//! Dictionary detectors: live operation names and special category terms, matched
//! as whole words, case-insensitively and across line breaks, by one
//! Aho-Corasick automaton compiled at load.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Deserialize;

use crate::DetectorId;

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
    /// Byte range in the text.
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

/// The compiled dictionary.
#[derive(Clone, Debug)]
pub struct Dictionary {
    automaton: Option<AhoCorasick>,
    entries: Vec<Entry>,
}

/// A dictionary could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("cannot compile the word lists: {0}")]
pub struct DictionaryError(#[from] aho_corasick::BuildError);

impl Dictionary {
    /// Compiles the word lists into one automaton.
    pub fn new(config: &DictionaryConfig) -> Result<Self, DictionaryError> {
        let mut patterns: Vec<(String, Entry)> = Vec::new();
        for op in &config.operations {
            let name = squash(&op.name);
            if name.is_empty() {
                continue;
            }
            let value = format!("Operation {name}");
            for prefix in &config.operation_prefixes {
                let pattern = format!("{} {name}", squash(prefix)).to_ascii_lowercase();
                patterns.push((
                    pattern,
                    Entry {
                        detector: DetectorId::OperationName,
                        value: value.clone(),
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
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns.iter().map(|(p, _)| p))?;
        Ok(Dictionary {
            automaton: Some(automaton),
            entries: patterns.into_iter().map(|(_, e)| e).collect(),
        })
    }

    /// Appends every whole-word dictionary match in `text` to `out`.
    pub fn scan(&self, text: &str, out: &mut Vec<DictionaryMatch>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        // Normalised text has single whitespace characters, so a phrase broken
        // over lines differs only by '\n' for ' ': same length, same offsets.
        let folded: Vec<u8> = text
            .bytes()
            .map(|b| {
                if b == b'\n' {
                    b' '
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect();
        for m in automaton.find_iter(&folded) {
            if !is_word_boundary(text, m.start(), m.end()) {
                continue;
            }
            let Some(entry) = self.entries.get(m.pattern().as_usize()) else {
                continue;
            };
            out.push(DictionaryMatch {
                detector: entry.detector,
                start: m.start(),
                end: m.end(),
                value: entry.value.clone(),
            });
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
}
