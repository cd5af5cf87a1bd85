//! The verdict as the gateway keeps it: [`cordon_inspect::Verdict`] converted
//! once, right after inspection, into the typed record the store, the
//! quarantine, the notices and the console share ([`StoredVerdict`]). Only
//! the gateway depends on both crates, so the conversion lives here.

use cordon_inspect::{Action, Category, DetectorId, DomainClass, Level, Verdict};
use cordon_records::{self as records, StoredVerdict};

/// The stored form of a verdict: what the readers of a stored verdict use
/// (classification, findings, each recipient's action and reasons).
pub(crate) fn stored_verdict(verdict: &Verdict) -> StoredVerdict {
    StoredVerdict {
        classification: records::Classification {
            level: level(verdict.classification.level),
            markings: verdict
                .classification
                .markings
                .iter()
                .map(|m| records::Marking {
                    text: m.text.clone(),
                    location: m.location.clone(),
                    level: level(m.level),
                    descriptor: m.descriptor.clone(),
                })
                .collect(),
        },
        findings: verdict
            .findings
            .iter()
            .map(|f| records::Finding {
                detector: f.detector.as_str().to_owned(),
                category: f.category.as_str().to_owned(),
                location: f.location.clone(),
                count: u64::try_from(f.count).unwrap_or(u64::MAX),
                sample: f.sample.clone(),
            })
            .collect(),
        recipients: verdict
            .recipients
            .iter()
            .map(|r| records::RecipientReasons {
                address: r.address.clone(),
                domain_class: Some(domain_class(r.domain_class)),
                action: action(r.action),
                reasons: r
                    .reasons
                    .iter()
                    .map(|reason| records::Reason {
                        rule: reason.rule.clone(),
                        action: action(reason.action),
                        policy: reason.policy.clone(),
                        explanation: reason.explanation.clone(),
                        evidence: reason
                            .evidence
                            .iter()
                            .map(|e| records::Evidence {
                                detector: e.detector.to_owned(),
                                location: e.location.clone(),
                                sample: e.sample.clone(),
                                count: u64::try_from(e.count).unwrap_or(u64::MAX),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The verdict of a message whose inspection failed: one finding saying so,
/// no decisions (every recipient is held by the caller).
pub(crate) fn uninspectable_verdict() -> StoredVerdict {
    StoredVerdict {
        classification: records::Classification::default(),
        findings: vec![records::Finding {
            detector: DetectorId::Uninspectable.as_str().to_owned(),
            category: Category::Uninspectable.as_str().to_owned(),
            location: "message".to_owned(),
            count: 1,
            sample: "inspection failed".to_owned(),
        }],
        recipients: Vec::new(),
    }
}

fn level(level: Level) -> records::Level {
    match level {
        Level::None => records::Level::None,
        Level::Official => records::Level::Official,
        Level::OfficialSensitive => records::Level::OfficialSensitive,
        Level::Secret => records::Level::Secret,
        Level::TopSecret => records::Level::TopSecret,
    }
}

pub(crate) fn action(action: Action) -> records::Action {
    match action {
        Action::Deliver => records::Action::Deliver,
        Action::Hold => records::Action::Hold,
        Action::Reject => records::Action::Reject,
    }
}

fn domain_class(class: DomainClass) -> records::DomainClass {
    match class {
        DomainClass::Internal => records::DomainClass::Internal,
        DomainClass::Secure => records::DomainClass::Secure,
        DomainClass::External => records::DomainClass::External,
        DomainClass::Personal => records::DomainClass::Personal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_spelt_as_in_the_check_json() {
        for c in Category::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn levels_are_spelt_as_in_the_check_json() {
        for l in [
            Level::None,
            Level::Official,
            Level::OfficialSensitive,
            Level::Secret,
            Level::TopSecret,
        ] {
            assert_eq!(
                serde_json::to_value(l).unwrap(),
                serde_json::to_value(level(l)).unwrap()
            );
        }
    }
}
