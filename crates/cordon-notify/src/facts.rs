//! What a notice says, as data: the context every template is rendered with.
//! Built by the gateway from the message's record and verdict; documented
//! field by field in `rules/notices/README.md` for those who edit templates.

use cordon_records::{Evidence, Reason, StoredVerdict};
use serde::{Deserialize, Serialize};

use crate::wording::{DetectorNouns, describe_evidence, describe_location};

/// The kinds of notice, each with its own template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// Some recipients were refused by policy (an RFC 3464 report).
    Rejected,
    /// Some recipients are held for review by Information Security.
    Held,
    /// A security officer released the held message: it is delivered now.
    Released,
    /// A security officer rejected the held message (an RFC 3464 report).
    RejectedByOfficer,
    /// Nobody decided before the quarantine expired (an RFC 3464 report).
    Expired,
    /// The receiving mail server refused the message or delivery was given
    /// up (an RFC 3464 report).
    Undeliverable,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 6] = [
        NoticeKind::Rejected,
        NoticeKind::Held,
        NoticeKind::Released,
        NoticeKind::RejectedByOfficer,
        NoticeKind::Expired,
        NoticeKind::Undeliverable,
    ];

    /// The name, which is also the template's file stem (`held.txt`).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Rejected => "rejected",
            NoticeKind::Held => "held",
            NoticeKind::Released => "released",
            NoticeKind::RejectedByOfficer => "rejected-by-officer",
            NoticeKind::Expired => "expired",
            NoticeKind::Undeliverable => "undeliverable",
        }
    }

    /// True for the kinds that report recipients as failed, which are sent as
    /// RFC 3464 delivery status notifications.
    pub fn is_failure_report(self) -> bool {
        !matches!(self, NoticeKind::Held | NoticeKind::Released)
    }
}

/// Who the force is, as the notices name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForceFacts {
    /// E.g. `Northshire Constabulary`.
    pub name: String,
    /// How to reach Information Security.
    pub information_security: String,
}

/// Everything a notice may say about one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoticeFacts {
    /// Which notice this is.
    pub kind: NoticeKind,
    /// The force.
    pub force: ForceFacts,
    /// The reference to quote (the queue id, which is also the quarantine id).
    pub reference: String,
    /// The envelope sender the notice goes to.
    pub sender: String,
    /// The original subject, or `(no subject)`.
    pub subject: String,
    /// When the gateway received the message, Unix seconds.
    pub received_at: u64,
    /// When held recipients expire if nobody decides, Unix seconds.
    pub expires_at: Option<u64>,
    /// Days a held message waits for review.
    pub hold_days: u64,
    /// The security officer's note on a decision.
    pub officer_note: Option<String>,
    /// Recipients refused, by policy or by an officer, with the reasons.
    pub rejected: Vec<AffectedRecipient>,
    /// Recipients held for review, with the reasons.
    pub held: Vec<AffectedRecipient>,
    /// Recipients that could not be delivered (refused by their server,
    /// given up, or expired in quarantine).
    pub failed: Vec<AffectedRecipient>,
    /// Recipients the message was delivered to.
    pub delivered: Vec<String>,
    /// Recipients still being delivered (their server asked to try later).
    pub pending: Vec<String>,
}

/// One recipient the notice explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AffectedRecipient {
    /// The address.
    pub address: String,
    /// RFC 3463 status code, e.g. `5.7.1`.
    pub status: String,
    /// One line for the report's `Diagnostic-Code`.
    pub diagnostic: String,
    /// The policy rules behind it, strictest first (empty for a delivery failure).
    pub reasons: Vec<ReasonFacts>,
}

/// One rule behind a hold or a rejection, as the verdict gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonFacts {
    /// The rule id, e.g. `personal-data-to-insecure`.
    pub rule: String,
    /// What this rule alone asks for the recipient: `hold` or `reject`.
    #[serde(default)]
    pub action: String,
    /// The policy it enforces.
    #[serde(default)]
    pub policy: String,
    /// What was wrong and what to do instead.
    #[serde(default)]
    pub explanation: String,
    /// What was found, redacted and located.
    #[serde(default)]
    pub evidence: Vec<EvidenceFacts>,
}

/// One item of evidence: what, a redacted sample, where, and the sentence
/// that says it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFacts {
    /// The detector id, e.g. `uk_nino`.
    pub detector: String,
    /// Where, as the verdict writes it (`attachment:form.docx`).
    #[serde(rename = "where")]
    pub location: String,
    /// The redacted sample.
    #[serde(default)]
    pub sample: String,
    /// How many distinct items there.
    #[serde(default = "one")]
    pub count: usize,
    /// Where, in words ("in the attachment form.docx").
    #[serde(default)]
    pub place: String,
    /// The whole item in words ("a National Insurance number, JM 41 ** ** B,
    /// in the attachment form.docx").
    #[serde(default)]
    pub text: String,
}

fn one() -> usize {
    1
}

impl EvidenceFacts {
    /// Fills in the phrases from the raw fields.
    fn worded(mut self) -> EvidenceFacts {
        self.place = describe_location(&self.location);
        self.text = describe_evidence(&self.detector, &self.location, &self.sample, self.count);
        self
    }
}

impl NoticeFacts {
    /// Words the evidence of the force's own detectors (`detectors.toml`)
    /// with the names the rules give them.
    pub fn name_custom_detectors(&mut self, nouns: &DetectorNouns) {
        if nouns.is_empty() {
            return;
        }
        let recipients = self
            .rejected
            .iter_mut()
            .chain(&mut self.held)
            .chain(&mut self.failed);
        for recipient in recipients {
            for reason in &mut recipient.reasons {
                for evidence in &mut reason.evidence {
                    evidence.text = nouns.describe_evidence(
                        &evidence.detector,
                        &evidence.location,
                        &evidence.sample,
                        evidence.count,
                    );
                }
            }
        }
    }
}

/// The reasons the stored verdict gives for `address` (compared without
/// regard to case), with their evidence in words; empty if it gives none.
pub fn reasons_from_verdict(verdict: &StoredVerdict, address: &str) -> Vec<ReasonFacts> {
    verdict
        .recipient(address)
        .map(|recipient| recipient.reasons.iter().map(ReasonFacts::from).collect())
        .unwrap_or_default()
}

impl From<&Reason> for ReasonFacts {
    /// The reason as a template sees it, its evidence worded.
    fn from(reason: &Reason) -> ReasonFacts {
        ReasonFacts {
            rule: reason.rule.clone(),
            action: reason.action.as_str().to_owned(),
            policy: reason.policy.clone(),
            explanation: reason.explanation.clone(),
            evidence: reason.evidence.iter().map(EvidenceFacts::from).collect(),
        }
    }
}

impl From<&Evidence> for EvidenceFacts {
    /// The evidence with its phrases filled in.
    fn from(evidence: &Evidence) -> EvidenceFacts {
        EvidenceFacts {
            detector: evidence.detector.clone(),
            location: evidence.location.clone(),
            sample: evidence.sample.clone(),
            count: usize::try_from(evidence.count).unwrap_or(usize::MAX),
            place: String::new(),
            text: String::new(),
        }
        .worded()
    }
}

/// The reasons for the findings of a message inspection that failed as a
/// whole: the message could not be checked.
pub fn uninspected_reason() -> ReasonFacts {
    ReasonFacts {
        rule: "uninspectable".into(),
        action: "hold".into(),
        policy: "Mail that cannot be checked is never sent on unchecked.".into(),
        explanation: "The gateway could not check this message, so Information Security will review it before it goes.".into(),
        evidence: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_from_the_verdict_and_worded() {
        let verdict = cordon_records::decode_verdict(
            r#"{"findings": [], "recipients": [{
                "address": "Claims@Insurer-Example.co.uk",
                "action": "hold",
                "reasons": [{
                    "rule": "personal-data-to-insecure",
                    "action": "hold",
                    "policy": "Data Protection Act 2018",
                    "explanation": "Send it to a secure address.",
                    "evidence": [{"detector": "uk_nino", "where": "attachment:form.docx", "sample": "JM 41 ** ** B", "count": 1}]
                }]
            }]}"#,
        )
        .unwrap();
        let reasons = reasons_from_verdict(&verdict, "claims@insurer-example.co.uk");
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].rule, "personal-data-to-insecure");
        assert_eq!(reasons[0].action, "hold");
        assert_eq!(
            reasons[0].evidence[0].text,
            "a National Insurance number, JM 41 ** ** B, in the attachment form.docx"
        );
        assert_eq!(reasons[0].evidence[0].place, "in the attachment form.docx");
        assert!(reasons_from_verdict(&verdict, "other@example.org").is_empty());
        assert!(reasons_from_verdict(&StoredVerdict::default(), "x@y").is_empty());
    }
}
