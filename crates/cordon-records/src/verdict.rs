//! The verdict as the gateway stores it, and the parts of it that travel on
//! their own (findings, per-recipient reasons). Field names and spellings are
//! those of the `cordon check` JSON, so that records written before this type
//! existed decode as they are.

use serde::{Deserialize, Serialize};

/// A protective marking level, spelt as in the `cordon check` JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// No marking found.
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// OFFICIAL.
    #[serde(rename = "OFFICIAL")]
    Official,
    /// OFFICIAL-SENSITIVE.
    #[serde(rename = "OFFICIAL-SENSITIVE")]
    OfficialSensitive,
    /// SECRET.
    #[serde(rename = "SECRET")]
    Secret,
    /// TOP SECRET.
    #[serde(rename = "TOP SECRET")]
    TopSecret,
}

impl Level {
    /// The level as written in markings and the trace header.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Official => "OFFICIAL",
            Level::OfficialSensitive => "OFFICIAL-SENSITIVE",
            Level::Secret => "SECRET",
            Level::TopSecret => "TOP SECRET",
        }
    }
}

/// What the policy decided for a recipient, or what one rule asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Send it on.
    Deliver,
    /// Keep it in quarantine for review.
    Hold,
    /// Refuse it.
    Reject,
}

impl Action {
    /// The action as the verdict spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deliver => "deliver",
            Action::Hold => "hold",
            Action::Reject => "reject",
        }
    }
}

/// The class of a recipient's domain, as the policy saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainClass {
    /// The force's own domains.
    Internal,
    /// Secure government and partner domains.
    Secure,
    /// Any other organisation.
    External,
    /// Webmail and other personal addresses.
    Personal,
}

impl DomainClass {
    /// The class as the verdict spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainClass::Internal => "internal",
            DomainClass::Secure => "secure",
            DomainClass::External => "external",
            DomainClass::Personal => "personal",
        }
    }
}

/// A marking found in the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marking {
    /// The marking as written.
    pub text: String,
    /// Where it was found, e.g. `subject`.
    #[serde(rename = "where")]
    pub location: String,
    /// The level it states.
    pub level: Level,
    /// A descriptor after the level, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<String>,
}

/// The highest classification of the message and the markings stating it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The highest level found anywhere in the message.
    pub level: Level,
    /// The markings behind it.
    #[serde(default)]
    pub markings: Vec<Marking>,
}

/// One finding of the detectors: what, where, how many, a redacted sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector id, e.g. `uk_nino` (an open set: new detectors come).
    pub detector: String,
    /// Its category, e.g. `personal_data` (absent in the version 0 record
    /// of a failed inspection, hence the default).
    #[serde(default)]
    pub category: String,
    /// Where, e.g. `body` or `attachment:case.docx`.
    #[serde(rename = "where")]
    pub location: String,
    /// How many distinct items there.
    #[serde(default = "one")]
    pub count: u64,
    /// A redacted example.
    #[serde(default)]
    pub sample: String,
}

/// One item of evidence for a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The detector id.
    pub detector: String,
    /// Where, as in [`Finding::location`].
    #[serde(rename = "where")]
    pub location: String,
    /// A redacted example.
    #[serde(default)]
    pub sample: String,
    /// How many distinct items there.
    #[serde(default = "one")]
    pub count: u64,
}

/// One rule that applied to a recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The rule id, e.g. `personal-data-to-insecure`.
    pub rule: String,
    /// What this rule alone asked for.
    pub action: Action,
    /// The policy it enforces.
    pub policy: String,
    /// What was wrong and what to do instead, for the sender.
    pub explanation: String,
    /// What made it apply.
    pub evidence: Vec<Evidence>,
}

/// The decision for one recipient and the rules behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientReasons {
    /// The recipient's address.
    pub address: String,
    /// The class of its domain (absent only in hand-made records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_class: Option<DomainClass>,
    /// The decision.
    pub action: Action,
    /// Every rule that applied, empty when none did.
    pub reasons: Vec<Reason>,
}

/// The verdict on one message as the gateway stores it: what the trace
/// header, the quarantine and the notices read, nothing more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerdict {
    /// Highest classification and the markings that state it (absent in
    /// the version 0 record of a failed inspection, hence the default).
    #[serde(default)]
    pub classification: Classification,
    /// Everything the detectors found.
    pub findings: Vec<Finding>,
    /// The decision for each recipient.
    pub recipients: Vec<RecipientReasons>,
}

impl StoredVerdict {
    /// The entry of `address` (compared without regard to case), if any.
    pub fn recipient(&self, address: &str) -> Option<&RecipientReasons> {
        self.recipients
            .iter()
            .find(|r| r.address.eq_ignore_ascii_case(address))
    }

    /// The distinct detector ids of the findings, sorted.
    pub fn detectors(&self) -> Vec<&str> {
        let mut detectors: Vec<&str> = self.findings.iter().map(|f| f.detector.as_str()).collect();
        detectors.sort_unstable();
        detectors.dedup();
        detectors
    }
}

fn one() -> u64 {
    1
}
