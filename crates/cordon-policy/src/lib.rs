//! The force's policy and the per-recipient decision.
//!
//! [`Policy::load`] reads `rules/` (domain classes, staff directory, operation
//! names, special category terms, the decision table and inspection limits),
//! checking everything at load. [`Policy::decide`] maps what was found in a
//! message, its sender and each recipient's domain class to an action and the
//! reasons for it. It is pure: the same inputs always give the same verdict.

mod behaviour;
mod directory;
mod domains;
mod error;
mod load;
mod rules;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cordon_exact_match::ExactMatchIndex;

use cordon_detect::{
    Category, CustomDetector, Detection, DetectorId, DetectorsConfig, DictionaryConfig, Level,
};
use cordon_extract::Limits;
use serde::{Deserialize, Serialize};

pub use behaviour::{Activity, BehaviourCondition, BehaviourTotals, Measure, Per};
pub use directory::{Directory, StaffMember, identifier_key};
pub use domains::{DomainClass, DomainClassifier, domain_of};
pub use error::RulesError;
pub use load::{
    DECISIONS_FILE, DETECTORS_FILE, DIRECTORY_FILE, DOMAINS_FILE, EXACT_MATCH_FILE, LIMITS_FILE,
    OPERATIONS_FILE, SPECIAL_CATEGORY_FILE,
};
pub use rules::{Action, Actions, Carries, Evidence, FindingKind, Reason, Rule, When};

/// Who the force is and whom staff should contact, as the notices name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Force {
    /// The force's name, e.g. `Northshire Constabulary`.
    pub name: String,
    /// How to reach Information Security.
    pub information_security: String,
}

/// The self-send exception: staff may send their own personal data (a pay slip)
/// to their own registered personal address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelfSend {
    /// Whether the exception applies at all.
    pub enabled: bool,
    /// Highest classification level it allows.
    pub max_level: Level,
    /// Detectors whose findings do not stop it (weak identifiers such as postcodes).
    pub allow: Vec<DetectorId>,
}

/// Everything the decision looks at, apart from the recipient.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// What the detectors found.
    pub detection: &'a Detection,
    /// Where each file attached to the message itself is (not inline
    /// images, not files inside archives), e.g. `attachment:report.docx`.
    pub attachments: &'a [String],
    /// The envelope sender, if any (`None` for the null sender).
    pub sender: Option<&'a str>,
    /// The class of the sender's domain.
    pub sender_class: Option<DomainClass>,
    /// The sender's totals over the windows of the behaviour rules, this
    /// message included (`None` when no rule asks).
    pub behaviour: Option<&'a BehaviourTotals>,
}

/// The decision for one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecipientVerdict {
    /// The recipient's address as given.
    pub address: String,
    /// The class of its domain.
    pub domain_class: DomainClass,
    /// What happens to the message for this recipient.
    pub action: Action,
    /// Every rule that asked for more than delivery, strictest first.
    pub reasons: Vec<Reason>,
    /// True when the self-send exception delivered it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub self_send: bool,
}

/// The loaded, checked policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Who the force is.
    pub force: Force,
    /// Domain classes.
    pub domains: DomainClassifier,
    /// Staff with registered personal addresses and own identifiers.
    pub directory: Directory,
    /// Operation names and special category terms for the detectors.
    pub dictionary: DictionaryConfig,
    /// The self-send exception.
    pub self_send: SelfSend,
    /// The decision table, in file order.
    pub rules: Vec<Rule>,
    /// Inspection limits.
    pub limits: Limits,
    /// The force's own detectors (`detectors.toml`), compiled.
    pub custom_detectors: Vec<CustomDetectorInfo>,
    /// The force's own records (`exact-match.toml`) as salted hashes, shared
    /// by every copy of the policy.
    pub exact_match: Option<Arc<ExactMatchIndex>>,
}

/// A custom detector with the words notices use for what it finds.
#[derive(Clone, Debug)]
pub struct CustomDetectorInfo {
    /// The compiled detector.
    pub detector: CustomDetector,
    /// What one finding is, e.g. `a crime reference number`.
    pub noun: String,
    /// What several are, e.g. `crime reference numbers`.
    pub plural: String,
}

impl Policy {
    /// Loads and checks the rules directory; errors name file, line and reason.
    pub fn load(dir: &Path) -> Result<Policy, RulesError> {
        load::load(dir)
    }

    /// What the detectors need from the rules.
    pub fn detectors_config(&self) -> DetectorsConfig {
        DetectorsConfig {
            dictionary: self.dictionary.clone(),
            custom: self
                .custom_detectors
                .iter()
                .map(|c| c.detector.clone())
                .collect(),
            exact_match: self.exact_match.clone(),
        }
    }

    /// How notices and the console name what the force's own detectors
    /// find: id -> (one, several), with the weak `possible_` forms
    /// ("possibly a crime reference number").
    pub fn detector_nouns(&self) -> BTreeMap<String, (String, String)> {
        let mut nouns = BTreeMap::new();
        for c in &self.custom_detectors {
            nouns.insert(
                c.detector.id().as_str().to_owned(),
                (c.noun.clone(), c.plural.clone()),
            );
            if let Some(possible) = c.detector.possible_id() {
                nouns.insert(
                    possible.as_str().to_owned(),
                    (
                        format!("possibly {}", c.noun),
                        format!("possible {}", c.plural),
                    ),
                );
            }
        }
        nouns
    }

    /// The (measure, window in seconds) totals the behaviour rules read,
    /// once each; empty when no rule is about behaviour.
    pub fn behaviour_queries(&self) -> Vec<(Measure, u64)> {
        let mut queries: Vec<(Measure, u64)> = self
            .rules
            .iter()
            .filter_map(|r| r.when.behaviour.map(|b| b.query()))
            .collect();
        queries.sort_unstable();
        queries.dedup();
        queries
    }

    /// What a message adds to its sender's counters, with `queries`, the
    /// totals the rules read ([`Policy::behaviour_queries`], which the
    /// caller computes once); `None` when there are none or there is no
    /// sender (a bounce).
    pub fn activity(
        &self,
        queries: &[(Measure, u64)],
        sender: &str,
        recipients: &[String],
        attachments: usize,
        size: usize,
    ) -> Option<Activity> {
        if queries.is_empty() || sender.is_empty() {
            return None;
        }
        let classes: Vec<(String, DomainClass)> = recipients
            .iter()
            .map(|r| (r.clone(), self.classify(r)))
            .collect();
        Some(behaviour::activity(
            sender,
            &classes,
            attachments,
            size,
            queries,
        ))
    }

    /// The class of an address's domain.
    pub fn classify(&self, address: &str) -> DomainClass {
        self.domains.classify_address(address)
    }

    /// Decides the action for each recipient.
    pub fn decide(&self, facts: &Facts, recipients: &[String]) -> Vec<RecipientVerdict> {
        let applicable: Vec<(&Rule, Vec<Evidence>)> = self
            .rules
            .iter()
            .filter(|r| r.when.holds(facts))
            .map(|r| (r, r.evidence(facts)))
            .collect();
        recipients
            .iter()
            .map(|address| {
                let domain_class = self.classify(address);
                // A behaviour rule (the fourth file of the day to one's own
                // webmail) stops the exception, as it is about the sender.
                let behaviour_stops = applicable.iter().any(|(rule, _)| {
                    rule.when.behaviour.is_some()
                        && rule.action.for_class(domain_class) != Action::Deliver
                });
                if !behaviour_stops && self.self_send_applies(facts, address) {
                    return RecipientVerdict {
                        address: address.clone(),
                        domain_class,
                        action: Action::Deliver,
                        reasons: Vec::new(),
                        self_send: true,
                    };
                }
                let mut reasons: Vec<Reason> = applicable
                    .iter()
                    .filter_map(|(rule, evidence)| {
                        let action = rule.action.for_class(domain_class);
                        (action != Action::Deliver).then(|| rule.reason(action, evidence))
                    })
                    .collect();
                reasons.sort_by_key(|r| std::cmp::Reverse(r.action));
                let action = reasons.first().map_or(Action::Deliver, |r| r.action);
                RecipientVerdict {
                    address: address.clone(),
                    domain_class,
                    action,
                    reasons,
                    self_send: false,
                }
            })
            .collect()
    }

    /// The pay-slip case: a force sender writing to their own registered
    /// personal address, at most `max_level`, with nothing found but their own
    /// identifiers and allowed weak ones, and nothing executable or uninspectable.
    fn self_send_applies(&self, facts: &Facts, recipient: &str) -> bool {
        let rule = &self.self_send;
        if !rule.enabled || facts.sender_class != Some(DomainClass::Internal) {
            return false;
        }
        let Some(member) = facts.sender.and_then(|s| self.directory.get(s)) else {
            return false;
        };
        if !member.owns_personal_address(recipient)
            || facts.detection.classification.level > rule.max_level
        {
            return false;
        }
        facts.detection.findings.iter().all(|f| {
            if rule.allow.contains(&f.detector) {
                return true;
            }
            f.category == Category::PersonalData
                && f.values_complete
                && f.values.iter().all(|v| member.owns_identifier(v))
        })
    }
}
