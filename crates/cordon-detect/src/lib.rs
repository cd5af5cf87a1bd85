//! Detection: runs every detector over an [`Extraction`] and returns the
//! message's classification and its findings, each with a location, a count and
//! a redacted sample. Pure and compiled once: [`Detectors::new`] does all the
//! pattern compilation, [`Detectors::detect`] only scans.

pub mod custom;
mod detector;
mod dictionary;
pub mod exact;
mod finding;
pub mod identifiers;
mod level;
mod markings;

use std::sync::Arc;

use cordon_exact_match::ExactMatchIndex;
use cordon_extract::Extraction;
use serde::Serialize;

pub use custom::{CustomDetector, CustomDetectorError, CustomDetectorSpec, CustomMatch};
pub use detector::{Category, CustomId, DetectorId, Strength};
pub use dictionary::{
    Dictionary, DictionaryConfig, DictionaryError, DictionaryMatch, Operation, SpecialTerm,
};
pub use finding::Finding;
pub use identifiers::{IdentifierMatch, IdentifierScanner};
pub use level::Level;
pub use markings::{Marking, MarkingDetector};

use finding::FindingSet;

/// The highest classification in a message and every marking that states one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// Highest level found anywhere, `NONE` when unmarked.
    pub level: Level,
    /// Every marking, in message order, once per text and location.
    pub markings: Vec<Marking>,
}

/// What the detectors found in one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    /// The message's classification.
    pub classification: Classification,
    /// Findings, one per detector and location.
    pub findings: Vec<Finding>,
}

impl Detection {
    /// True when some finding came from `detector`.
    pub fn has(&self, detector: DetectorId) -> bool {
        self.findings.iter().any(|f| f.detector == detector)
    }

    /// True when some finding is of `category`.
    pub fn has_category(&self, category: Category) -> bool {
        self.findings.iter().any(|f| f.category == category)
    }
}

/// What the rules give the detectors: word lists and the force's own detectors.
#[derive(Clone, Debug, Default)]
pub struct DetectorsConfig {
    /// Operation names and special category terms.
    pub dictionary: DictionaryConfig,
    /// Custom detectors from `detectors.toml`, already checked and compiled.
    pub custom: Vec<CustomDetector>,
    /// The force's own records (`exact-match.toml`), as salted hashes.
    pub exact_match: Option<Arc<ExactMatchIndex>>,
}

/// All detectors, compiled.
#[derive(Debug)]
pub struct Detectors {
    markings: MarkingDetector,
    identifiers: IdentifierScanner,
    dictionary: Dictionary,
    custom: Vec<CustomDetector>,
    exact_match: Option<Arc<ExactMatchIndex>>,
    /// The export has a date column, so dates are looked for.
    exact_dates: bool,
}

impl Detectors {
    /// Compiles every detector; the word lists and custom detectors come from the rules.
    pub fn new(config: &DetectorsConfig) -> Result<Self, DictionaryError> {
        Ok(Detectors {
            markings: MarkingDetector::new(),
            identifiers: IdentifierScanner::new(),
            dictionary: Dictionary::new(&config.dictionary)?,
            custom: config.custom.clone(),
            exact_match: config.exact_match.clone(),
            exact_dates: config.exact_match.as_ref().is_some_and(|index| {
                index.columns().iter().any(|c| {
                    matches!(&c.kind, cordon_exact_match::ColumnKind::Typed(k) if k == exact::DATE_KIND)
                })
            }),
        })
    }

    /// Finds combinations of one record's values in a text, given its
    /// identifiers and dates; false when one of the index's work bounds cut
    /// the search short, so a record may have been missed.
    fn exact_scan(
        index: &ExactMatchIndex,
        text: &str,
        identifiers: &[IdentifierMatch],
        dates: &[identifiers::DateMatch],
        records: &mut Vec<cordon_exact_match::RecordMatch>,
    ) -> bool {
        records.clear();
        let mut typed = Vec::with_capacity(identifiers.len() + dates.len());
        exact::typed_values(identifiers, dates, &mut typed);
        let stats = index.scan_with_stats(text, &typed, records);
        exact::merge_overlapping(index, records);
        !stats.truncated
    }

    /// Runs every detector over the extracted message.
    pub fn detect(&self, extraction: &Extraction) -> Detection {
        let mut markings = Vec::new();
        let mut findings = FindingSet::default();
        let mut identifiers = Vec::new();
        let mut words = Vec::new();
        let mut custom = Vec::new();
        let mut records = Vec::new();
        let mut dates = Vec::new();
        for part in &extraction.parts {
            let before = markings.len();
            self.markings.scan(part, &mut markings);
            for m in &markings[before..] {
                findings.add(DetectorId::Marking, &part.location, &m.text, &m.text);
            }
            identifiers.clear();
            dates.clear();
            self.identifiers.scan_with_dates(
                &part.text,
                &mut identifiers,
                self.exact_dates.then_some(&mut dates),
            );
            for m in &identifiers {
                findings.add(m.detector, &part.location, &m.value, &m.sample);
            }
            words.clear();
            self.dictionary.scan(&part.text, &mut words);
            for m in &words {
                findings.add(m.detector, &part.location, &m.value, &m.value);
            }
            custom.clear();
            for detector in &self.custom {
                detector.scan(&part.text, &mut custom);
            }
            for m in &custom {
                findings.add(m.detector, &part.location, &m.value, &m.sample);
            }
            if let Some(index) = &self.exact_match {
                let complete =
                    Self::exact_scan(index, &part.text, &identifiers, &dates, &mut records);
                if !complete {
                    // Checked only in part: held for review, like any
                    // content past a limit, never passed as checked.
                    findings.add(
                        DetectorId::Uninspectable,
                        &part.location,
                        exact::TOO_MANY_CANDIDATES,
                        exact::TOO_MANY_CANDIDATES,
                    );
                }
                for m in &records {
                    let value = format!("{:016x}", m.key);
                    findings.add(
                        DetectorId::ExactMatch,
                        &part.location,
                        &value,
                        &m.columns.join(" + "),
                    );
                }
            }
        }
        for detector in self.custom.iter().filter(|d| d.spec().min_count > 1) {
            findings.drop_below(
                &[Some(detector.id()), detector.possible_id()],
                detector.spec().min_count,
            );
        }
        for attachment in &extraction.attachments {
            if let Some(reason) = &attachment.executable {
                findings.add(
                    DetectorId::Executable,
                    &attachment.location,
                    &attachment.location,
                    reason,
                );
            }
        }
        for problem in &extraction.problems {
            findings.add(
                DetectorId::Uninspectable,
                &problem.location,
                &problem.reason,
                &problem.reason,
            );
        }
        markings.dedup_by(|a, b| a.text == b.text && a.location == b.location);
        let level = markings.iter().map(|m| m.level).max().unwrap_or_default();
        Detection {
            classification: Classification { level, markings },
            findings: findings.into_findings(),
        }
    }
}
