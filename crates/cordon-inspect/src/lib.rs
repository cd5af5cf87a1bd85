//! The inspection core: a message's bytes, its envelope and the force's policy
//! in, a verdict for each recipient out, with the findings and reasons behind it.
//!
//! [`Inspector::check`] is a pure function of its inputs: the SMTP relay, the
//! `cordon check` command and the tests all call it, so they cannot disagree.

use std::path::Path;

use cordon_detect::{Classification, Detection, Detectors, Finding};
use cordon_extract::{Attachment, extract};

pub use cordon_extract::{Extraction, PartKind, TextPart, is_unseen};
use cordon_policy::{Facts, Policy, RecipientVerdict, RulesError};
use serde::Serialize;

pub use cordon_detect::{Category, DetectorId, Level};
pub use cordon_policy::{Action, Activity, BehaviourTotals, DomainClass, Measure, Reason};

/// The SMTP envelope: who sends, who receives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM`; `None` takes the `From:` header, `Some("")` is the null sender.
    pub mail_from: Option<String>,
    /// `RCPT TO`; empty takes the `To:`, `Cc:` and `Bcc:` headers.
    pub rcpt_to: Vec<String>,
}

/// The sender as the decision saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sender {
    /// The sender's address; empty for the null sender.
    pub address: String,
    /// The class of its domain, if there is a sender.
    pub domain_class: Option<DomainClass>,
}

/// The verdict on one message: the `cordon check` JSON contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Highest classification and the markings that state it.
    pub classification: Classification,
    /// Everything the detectors found, one entry per detector and location.
    pub findings: Vec<Finding>,
    /// The decision for each recipient.
    pub recipients: Vec<RecipientVerdict>,
    /// The sender.
    pub sender: Sender,
    /// Every file carried, with its sniffed type.
    pub attachments: Vec<Attachment>,
    /// The message's subject, decoded, for logs, the quarantine and notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Verdict {
    /// The ids of the detectors that found something, sorted, once each: for
    /// the verdict header and the audit line.
    pub fn detectors(&self) -> Vec<&'static str> {
        let mut detectors: Vec<&'static str> =
            self.findings.iter().map(|f| f.detector.as_str()).collect();
        detectors.sort_unstable();
        detectors.dedup();
        detectors
    }
}

/// The policy with its detectors compiled, ready to check messages.
#[derive(Debug)]
pub struct Inspector {
    policy: Policy,
    detectors: Detectors,
    /// The totals the behaviour rules read, from the policy once.
    behaviour_queries: Vec<(Measure, u64)>,
}

/// The inspector could not be built from the rules.
#[derive(Debug, thiserror::Error)]
pub enum InspectorError {
    /// A rules file is missing or invalid.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The word lists could not be compiled.
    #[error("cannot compile the word lists of the rules: {0}")]
    Dictionary(#[from] cordon_detect::DictionaryError),
}

impl Inspector {
    /// Loads the rules directory and compiles every detector once.
    pub fn load(rules_dir: &Path) -> Result<Self, InspectorError> {
        Self::new(Policy::load(rules_dir)?)
    }

    /// Compiles the detectors for an already loaded policy.
    pub fn new(policy: Policy) -> Result<Self, InspectorError> {
        let detectors = Detectors::new(&policy.detectors_config())?;
        let behaviour_queries = policy.behaviour_queries();
        Ok(Inspector {
            policy,
            detectors,
            behaviour_queries,
        })
    }

    /// The loaded policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The (measure, window in seconds) totals the behaviour rules read.
    pub fn behaviour_queries(&self) -> &[(Measure, u64)] {
        &self.behaviour_queries
    }

    /// What extraction makes of a message under this policy's limits: the
    /// located, normalised text the detectors read (`cordon check --text`).
    pub fn extract(&self, message: &[u8]) -> Extraction {
        extract(message, &self.policy.limits)
    }

    /// Inspects a message and decides for each recipient. Never panics, never
    /// fails: what cannot be inspected is a finding that holds the message.
    /// Behaviour rules see this message alone (no counters are kept).
    pub fn check(&self, message: &[u8], envelope: &Envelope) -> Verdict {
        self.check_with_history(message, envelope, |activity| activity.alone())
    }

    /// As [`Inspector::check`], with the sender's history: when a rule is
    /// about behaviour, `history` records this message's [`Activity`]
    /// wherever the caller keeps counters and returns the totals the rules
    /// read, this message included.
    pub fn check_with_history(
        &self,
        message: &[u8],
        envelope: &Envelope,
        history: impl FnOnce(&Activity) -> BehaviourTotals,
    ) -> Verdict {
        let extraction = extract(message, &self.policy.limits);
        let detection = self.detectors.detect(&extraction);
        let sender_address = match &envelope.mail_from {
            Some(from) => from
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
            None => extraction.addresses.from.clone().unwrap_or_default(),
        };
        let recipients = if envelope.rcpt_to.is_empty() {
            extraction.addresses.recipients.clone()
        } else {
            dedup(&envelope.rcpt_to)
        };
        let sender_class =
            (!sender_address.is_empty()).then(|| self.policy.classify(&sender_address));
        let attached: Vec<String> = extraction
            .top_level_attachments()
            .map(|a| a.location.clone())
            .collect();
        let totals = self
            .policy
            .activity(
                &self.behaviour_queries,
                &sender_address,
                &recipients,
                attached.len(),
                message.len(),
            )
            .map(|activity| history(&activity));
        let facts = Facts {
            detection: &detection,
            attachments: &attached,
            sender: (!sender_address.is_empty()).then_some(sender_address.as_str()),
            sender_class,
            behaviour: totals.as_ref(),
        };
        let recipients = self.policy.decide(&facts, &recipients);
        let Detection {
            classification,
            findings,
        } = detection;
        Verdict {
            classification,
            findings,
            recipients,
            sender: Sender {
                address: sender_address,
                domain_class: sender_class,
            },
            attachments: extraction.attachments,
            subject: extraction.subject,
        }
    }
}

/// Recipients in order, without case-insensitive duplicates or angle brackets.
fn dedup(addresses: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(addresses.len());
    for a in addresses {
        let a = a.trim().trim_start_matches('<').trim_end_matches('>');
        if !a.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
            out.push(a.to_owned());
        }
    }
    out
}
