//! Findings: what one detector found in one location, counted and sampled.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::{Category, DetectorId};

/// Most distinct values kept per finding; past it the finding only counts.
const MAX_VALUES: usize = 10_000;

/// What one detector found in one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The detector, e.g. `uk_nino`.
    pub detector: DetectorId,
    /// Its category, e.g. `personal_data`.
    pub category: Category,
    /// Where, e.g. `attachment:list.xlsx`.
    #[serde(rename = "where")]
    pub location: String,
    /// Number of distinct items found there.
    pub count: usize,
    /// A redacted example, safe to show to the sender and officers.
    pub sample: String,
    /// The distinct canonical values (not serialised: they are the very data
    /// that must not travel), used to recognise a sender's own identifiers.
    #[serde(skip)]
    pub values: BTreeSet<String>,
    /// False when there were more distinct values than are kept.
    #[serde(skip)]
    pub values_complete: bool,
}

/// Accumulates findings, merging those of one detector in one location.
#[derive(Default)]
pub(crate) struct FindingSet {
    findings: Vec<Finding>,
    /// Per location, the index of each detector's finding.
    index: HashMap<String, Vec<(DetectorId, usize)>>,
}

impl FindingSet {
    /// Adds one item found by `detector` at `location`.
    pub(crate) fn add(&mut self, detector: DetectorId, location: &str, value: &str, sample: &str) {
        let known = self
            .index
            .get(location)
            .and_then(|list| list.iter().find(|(d, _)| *d == detector))
            .map(|&(_, i)| i);
        let index = match known {
            Some(index) => index,
            None => {
                self.findings.push(Finding {
                    detector,
                    category: detector.category(),
                    location: location.to_owned(),
                    count: 0,
                    sample: sample.to_owned(),
                    values: BTreeSet::new(),
                    values_complete: true,
                });
                let index = self.findings.len() - 1;
                self.index
                    .entry(location.to_owned())
                    .or_default()
                    .push((detector, index));
                index
            }
        };
        let finding = &mut self.findings[index];
        if finding.values.contains(value) {
            return;
        }
        finding.count += 1;
        if finding.values.len() < MAX_VALUES {
            finding.values.insert(value.to_owned());
        } else {
            finding.values_complete = false;
        }
    }

    /// Removes every finding of `detectors` when, over the whole message,
    /// they found fewer than `min_count` distinct values.
    pub(crate) fn drop_below(&mut self, detectors: &[Option<DetectorId>], min_count: usize) {
        let ours = |f: &Finding| detectors.contains(&Some(f.detector));
        let mut distinct: BTreeSet<&str> = BTreeSet::new();
        let mut incomplete = false;
        for f in self.findings.iter().filter(|f| ours(f)) {
            distinct.extend(f.values.iter().map(String::as_str));
            incomplete |= !f.values_complete;
        }
        if incomplete || distinct.len() >= min_count {
            return;
        }
        self.findings.retain(|f| !ours(f));
        self.index.clear();
        for (i, f) in self.findings.iter().enumerate() {
            self.index
                .entry(f.location.clone())
                .or_default()
                .push((f.detector, i));
        }
    }

    /// The findings in the order they were first seen.
    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_detector_and_location_counting_distinct_values() {
        let mut set = FindingSet::default();
        set.add(DetectorId::UkNino, "body", "JM412987B", "JM 41 ** ** B");
        set.add(DetectorId::UkNino, "body", "JM412987B", "JM 41 ** ** B");
        set.add(DetectorId::UkNino, "body", "KC551022D", "KC 55 ** ** D");
        set.add(
            DetectorId::UkNino,
            "attachment:a.docx",
            "KC551022D",
            "KC 55 ** ** D",
        );
        let findings = set.into_findings();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].count, 2);
        assert_eq!(findings[0].sample, "JM 41 ** ** B");
        assert_eq!(findings[1].location, "attachment:a.docx");
    }
}
