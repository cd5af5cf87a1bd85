//! The decision table: each rule is a condition on the message and an action
//! for each domain class, with the policy it enforces and the explanation the
//! sender reads.

use cordon_detect::{Category, DetectorId, Finding, Level, Strength};
use serde::{Deserialize, Serialize};

use crate::behaviour::BehaviourCondition;
use crate::{DomainClass, Facts};

/// What happens to a message for one recipient. Ordered by strictness, so the
/// strictest applicable rule is the `max`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Relay the message to this recipient.
    #[default]
    Deliver,
    /// Keep it in quarantine until Information Security releases or rejects it.
    Hold,
    /// Refuse it and tell the sender why.
    Reject,
}

impl Action {
    /// The action as written in JSON and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deliver => "deliver",
            Action::Hold => "hold",
            Action::Reject => "reject",
        }
    }
}

/// Something a rule can look for: a detector's findings, any finding of a
/// category, or only the strong or weak findings of a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// Findings of one detector, e.g. `uk_nino` or a custom `crime_reference`.
    Detector(DetectorId),
    /// Findings of any detector of a category, e.g. `personal_data`.
    Category(Category),
    /// Findings of a category of one strength, e.g. `personal_data:strong`.
    Strength(Category, Strength),
}

impl FindingKind {
    /// Reads a name as written in the rules: a built-in detector, one of
    /// `custom` (the force's own detectors), a category, or a category with
    /// `:strong` or `:weak`. The error lists what would have been accepted.
    pub fn parse(name: &str, custom: &[DetectorId]) -> Result<FindingKind, String> {
        let name = name.trim();
        if let Some(d) = DetectorId::builtin(name) {
            return Ok(FindingKind::Detector(d));
        }
        if let Some(&d) = custom.iter().find(|d| d.as_str() == name) {
            return Ok(FindingKind::Detector(d));
        }
        if let Some((category, strength)) = name.split_once(':') {
            let strength = match strength {
                "strong" => Some(Strength::Strong),
                "weak" => Some(Strength::Weak),
                _ => None,
            };
            if let (Some(c), Some(s)) = (Category::named(category), strength) {
                return Ok(FindingKind::Strength(c, s));
            }
        } else if let Some(c) = Category::named(name) {
            return Ok(FindingKind::Category(c));
        }
        let detectors: Vec<&str> = DetectorId::ALL
            .iter()
            .chain(custom)
            .map(|d| d.as_str())
            .collect();
        let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        Err(format!(
            "unknown detector or category `{name}`; detectors: {}; categories: {} (a category may take `:strong` or `:weak`)",
            detectors.join(", "),
            categories.join(", ")
        ))
    }

    /// True when `finding` is of this kind.
    pub fn matches(&self, finding: &Finding) -> bool {
        match *self {
            FindingKind::Detector(d) => finding.detector == d,
            FindingKind::Category(c) => finding.category == c,
            FindingKind::Strength(c, s) => {
                finding.category == c && finding.detector.strength() == s
            }
        }
    }
}

/// Properties of the message as a whole that a rule can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Carries {
    /// At least one attached file (inline signature images do not count).
    Attachment,
    /// At least one classification marking.
    Marking,
}

/// The condition of a rule. Every field given must hold; within a field, any
/// listed value is enough.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct When {
    /// The message's level is one of these.
    pub level: Vec<Level>,
    /// Some finding matches one of these detectors or categories.
    pub found: Vec<FindingKind>,
    /// And also some finding matches one of these.
    pub and_found: Vec<FindingKind>,
    /// The sender's domain is of one of these classes.
    pub sender: Vec<DomainClass>,
    /// The message carries one of these.
    pub carries: Vec<Carries>,
    /// The sender's behaviour over a window passes a threshold.
    pub behaviour: Option<BehaviourCondition>,
}

impl When {
    /// True when the rule states no condition at all (a mistake in the rules).
    pub(crate) fn is_empty(&self) -> bool {
        self.level.is_empty()
            && self.found.is_empty()
            && self.and_found.is_empty()
            && self.sender.is_empty()
            && self.carries.is_empty()
            && self.behaviour.is_none()
    }

    /// True when the condition holds for the message.
    pub(crate) fn holds(&self, facts: &Facts) -> bool {
        let level = facts.detection.classification.level;
        let found = |kind: &FindingKind| facts.detection.findings.iter().any(|f| kind.matches(f));
        let carries = |c: &Carries| match c {
            Carries::Attachment => !facts.attachments.is_empty(),
            Carries::Marking => !facts.detection.classification.markings.is_empty(),
        };
        (self.level.is_empty() || self.level.contains(&level))
            && (self.found.is_empty() || self.found.iter().any(found))
            && (self.and_found.is_empty() || self.and_found.iter().any(found))
            && (self.sender.is_empty()
                || facts.sender_class.is_some_and(|c| self.sender.contains(&c)))
            && (self.carries.is_empty() || self.carries.iter().any(carries))
            && self
                .behaviour
                .is_none_or(|b| facts.behaviour.is_some_and(|totals| b.holds(totals)))
    }
}

/// The action of a rule for each domain class; a class not listed is delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// For the force's own addresses.
    #[serde(default)]
    pub internal: Action,
    /// For secure government and criminal justice addresses.
    #[serde(default)]
    pub secure: Action,
    /// For other organisations.
    #[serde(default)]
    pub external: Action,
    /// For personal webmail addresses.
    #[serde(default)]
    pub personal: Action,
}

impl Actions {
    /// The action for a recipient of `class`.
    pub fn for_class(&self, class: DomainClass) -> Action {
        match class {
            DomainClass::Internal => self.internal,
            DomainClass::Secure => self.secure,
            DomainClass::External => self.external,
            DomainClass::Personal => self.personal,
        }
    }
}

/// One row of the decision table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `personal-data-to-insecure`: quoted in notices, logs and the console.
    pub id: String,
    /// The policy it enforces, in one line.
    pub policy: String,
    /// What the sender reads: what was wrong and what to do instead.
    pub explanation: String,
    /// When it applies.
    pub when: When,
    /// What it does for each domain class.
    pub action: Actions,
    /// A release of a message held by this rule needs a second security
    /// officer to confirm it (four eyes).
    pub release_needs_second_officer: bool,
}

/// Most evidence items one reason cites: enough to explain, short enough to read.
const MAX_EVIDENCE: usize = 10;

/// One thing found that made a rule apply, redacted and located, so that a
/// notice or the console can say exactly what was wrong and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The detector id (e.g. `uk_nino`, `marking`), or `attachment` for a
    /// rule about carrying files at all.
    pub detector: &'static str,
    /// Where, e.g. `subject` or `attachment:suspects.docx`.
    #[serde(rename = "where")]
    pub location: String,
    /// A redacted example (the marking itself for a marking, the file's
    /// location for an attachment): never the full identifier.
    pub sample: String,
    /// How many distinct items there, at least 1.
    pub count: usize,
}

/// Why a recipient is held or rejected: one applicable rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule's id.
    pub rule: String,
    /// What this rule alone asks for this recipient.
    pub action: Action,
    /// The policy it enforces.
    pub policy: String,
    /// The plain-English explanation for the sender, with what to do instead.
    pub explanation: String,
    /// What was found that made the rule apply (at most ten items).
    pub evidence: Vec<Evidence>,
}

impl Rule {
    /// The reason this rule gives when it applies.
    pub(crate) fn reason(&self, action: Action, evidence: &[Evidence]) -> Reason {
        Reason {
            rule: self.id.clone(),
            action,
            policy: self.policy.clone(),
            explanation: self.explanation.clone(),
            evidence: evidence.to_vec(),
        }
    }

    /// What in the message made this rule apply: the findings it looks for,
    /// the markings that state the level it names, the files it is about.
    pub(crate) fn evidence(&self, facts: &Facts) -> Vec<Evidence> {
        let when = &self.when;
        let mut out: Vec<Evidence> = Vec::new();
        let classification = &facts.detection.classification;
        let markings = classification.markings.iter().filter(|m| {
            when.carries.contains(&Carries::Marking)
                || (when.level.contains(&classification.level) && m.level == classification.level)
        });
        out.extend(markings.map(|m| Evidence {
            detector: DetectorId::Marking.as_str(),
            location: m.location.clone(),
            sample: m.text.clone(),
            count: 1,
        }));
        // Markings already cited from the classification are not cited again.
        let markings_cited = !out.is_empty();
        let sought: Vec<&FindingKind> = when.found.iter().chain(&when.and_found).collect();
        out.extend(
            facts
                .detection
                .findings
                .iter()
                .filter(|f| !(markings_cited && f.detector == DetectorId::Marking))
                .filter(|f| sought.iter().any(|k| k.matches(f)))
                .map(|f| Evidence {
                    detector: f.detector.as_str(),
                    location: f.location.clone(),
                    sample: f.sample.clone(),
                    count: f.count.max(1),
                }),
        );
        if when.carries.contains(&Carries::Attachment) {
            out.extend(facts.attachments.iter().map(|location| {
                Evidence {
                    detector: "attachment",
                    location: location.clone(),
                    sample: location
                        .rsplit(['/', ':'])
                        .next()
                        .unwrap_or(location)
                        .to_owned(),
                    count: 1,
                }
            }));
        }
        if let (Some(condition), Some(totals)) = (&when.behaviour, facts.behaviour) {
            // First, so that truncation never drops it.
            out.insert(
                0,
                Evidence {
                    detector: "sender_behaviour",
                    location: "sender".to_owned(),
                    sample: condition.describe(totals),
                    count: 1,
                },
            );
        }
        out.truncate(MAX_EVIDENCE);
        out
    }
}
