//! The records kept in the store: queue state per message and the
//! quarantine index. Serialized as JSON values.

use std::fmt;
use std::str::FromStr;

use cordon_records::StatusCode;
use serde::{Deserialize, Serialize};

use crate::id::QueueId;
use crate::spool::Envelope;

/// What the policy decided for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlannedAction {
    /// Relay the message to this recipient.
    Deliver,
    /// Hold it in quarantine for review.
    Hold,
    /// Refuse it and tell the sender why.
    Reject,
}

/// Where the handling of one recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Nothing done yet (not inspected, or inspected and not yet acted on,
    /// or released from quarantine and not yet delivered).
    Pending,
    /// A delivery attempt failed temporarily; retry at `next_attempt_at`.
    Deferred {
        /// Attempts made so far.
        attempts: u32,
        /// When to try again, Unix seconds.
        next_attempt_at: u64,
        /// The last temporary error, for the operator.
        last_error: String,
    },
    /// Handed over to the next hop (or the local outbox).
    Delivered {
        /// When, Unix seconds.
        at: u64,
    },
    /// Failed permanently, or retries were given up.
    Failed {
        /// When, Unix seconds.
        at: u64,
        /// Why, for the sender's notice.
        reason: String,
        /// The RFC 3463 status the sender's notice gives (`5.1.1`, `4.4.7`
        /// when retries were given up); none in records written before
        /// codes were kept, whose notices say `5.0.0`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<StatusCode>,
        /// The sender's delivery status notification has been queued.
        notified: bool,
    },
    /// Held in quarantine under `quarantine_id`, awaiting a decision.
    Held {
        /// The quarantine reference.
        quarantine_id: QueueId,
    },
    /// Refused by policy (or by a security officer).
    Rejected {
        /// When, Unix seconds.
        at: u64,
        /// The sender's notice has been queued.
        notified: bool,
    },
}

impl RecipientStatus {
    /// True when nothing more is to be done for the recipient by the queue:
    /// delivered, held (waiting for an officer, not for us), or failed or
    /// rejected with the sender notified.
    pub fn is_final(&self) -> bool {
        match self {
            RecipientStatus::Delivered { .. } | RecipientStatus::Held { .. } => true,
            RecipientStatus::Failed { notified, .. }
            | RecipientStatus::Rejected { notified, .. } => *notified,
            RecipientStatus::Pending | RecipientStatus::Deferred { .. } => false,
        }
    }

    /// True when the recipient was rejected or failed and the sender has
    /// not been sent the notice saying so.
    pub fn owes_notice(&self) -> bool {
        matches!(
            self,
            RecipientStatus::Failed {
                notified: false,
                ..
            } | RecipientStatus::Rejected {
                notified: false,
                ..
            }
        )
    }
}

/// One envelope recipient of a message and its handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    /// The envelope address.
    pub address: String,
    /// The policy's decision; `None` until the message is inspected.
    pub action: Option<PlannedAction>,
    /// Where its handling stands.
    pub status: RecipientStatus,
}

/// The queue state of one spooled message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// The queue id, which also names the spool file.
    pub id: QueueId,
    /// The SMTP envelope (a copy of the one in the spool file).
    pub envelope: Envelope,
    /// Size of the message in bytes.
    pub size: u64,
    /// The decoded subject, for listings.
    pub subject: Option<String>,
    /// One entry per distinct envelope recipient.
    pub recipients: Vec<RecipientRecord>,
    /// Whether the message has been inspected (the actions are set).
    pub inspected: bool,
    /// The inspection verdict as JSON; opaque to the store.
    pub verdict_json: Option<String>,
}

impl MessageRecord {
    /// The record of a freshly spooled, not yet inspected message: every
    /// distinct envelope recipient pending, with no action.
    pub fn new(id: QueueId, envelope: Envelope, size: u64) -> MessageRecord {
        let mut recipients: Vec<RecipientRecord> = Vec::with_capacity(envelope.rcpt_to.len());
        for address in &envelope.rcpt_to {
            if !recipients.iter().any(|r| &r.address == address) {
                recipients.push(RecipientRecord {
                    address: address.clone(),
                    action: None,
                    status: RecipientStatus::Pending,
                });
            }
        }
        MessageRecord {
            id,
            envelope,
            size,
            subject: None,
            recipients,
            inspected: false,
            verdict_json: None,
        }
    }

    /// True when the message is inspected and every recipient is final
    /// ([`RecipientStatus::is_final`]). A message not yet inspected is never
    /// finished, whatever its recipient list says.
    pub fn is_finished(&self) -> bool {
        self.inspected && self.recipients.iter().all(|r| r.status.is_final())
    }

    /// True when a recipient is held in quarantine: the spool file is still
    /// needed for a release even if the message is finished for the queue.
    pub fn awaits_quarantine(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| matches!(r.status, RecipientStatus::Held { .. }))
    }

    /// True when nothing more will ever be done with the message, so its
    /// spool file and then its record may be deleted.
    pub fn is_complete(&self) -> bool {
        self.is_finished() && !self.awaits_quarantine()
    }

    /// The earliest retry time among the deferred recipients, if any.
    pub fn next_attempt_at(&self) -> Option<u64> {
        self.recipients
            .iter()
            .filter_map(|r| match r.status {
                RecipientStatus::Deferred {
                    next_attempt_at, ..
                } => Some(next_attempt_at),
                _ => None,
            })
            .min()
    }

    /// True when some deferred recipient is due for a retry at `now`.
    pub fn is_due(&self, now: u64) -> bool {
        self.next_attempt_at().is_some_and(|at| at <= now)
    }

    /// The recipient with this address, if any.
    pub fn recipient(&self, address: &str) -> Option<&RecipientRecord> {
        self.recipients.iter().find(|r| r.address == address)
    }
}

/// The state of a quarantine entry: `held` until an officer (or expiry)
/// decides, then one of the other three for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuarantineState {
    /// Waiting for review.
    Held,
    /// Released by an officer: delivered to the held recipients.
    Released,
    /// Rejected by an officer: the sender is told.
    Rejected,
    /// Not decided before it expired: the sender is told.
    Expired,
}

impl QuarantineState {
    /// Every state.
    pub const ALL: [QuarantineState; 4] = [
        QuarantineState::Held,
        QuarantineState::Released,
        QuarantineState::Rejected,
        QuarantineState::Expired,
    ];

    /// The lowercase name, as serialized.
    pub fn as_str(&self) -> &'static str {
        match self {
            QuarantineState::Held => "held",
            QuarantineState::Released => "released",
            QuarantineState::Rejected => "rejected",
            QuarantineState::Expired => "expired",
        }
    }
}

impl fmt::Display for QuarantineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of `held`, `released`, `rejected`, `expired`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a quarantine state (held, released, rejected, expired): {0:?}")]
pub struct InvalidQuarantineState(String);

impl FromStr for QuarantineState {
    type Err = InvalidQuarantineState;

    fn from_str(s: &str) -> Result<QuarantineState, InvalidQuarantineState> {
        match s {
            "held" => Ok(QuarantineState::Held),
            "released" => Ok(QuarantineState::Released),
            "rejected" => Ok(QuarantineState::Rejected),
            "expired" => Ok(QuarantineState::Expired),
            _ => Err(InvalidQuarantineState(s.chars().take(40).collect())),
        }
    }
}

/// A decision on a held quarantine entry: the only ways out of `held`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Deliver to the held recipients.
    Release,
    /// Do not deliver; tell the sender.
    Reject,
    /// Nobody decided in time; tell the sender.
    Expire,
}

impl Decision {
    /// The state the entry ends in.
    pub fn state(&self) -> QuarantineState {
        match self {
            Decision::Release => QuarantineState::Released,
            Decision::Reject => QuarantineState::Rejected,
            Decision::Expire => QuarantineState::Expired,
        }
    }
}

/// One quarantine entry: a message held for some of its recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The quarantine reference (shown to officers and in the sender's notice).
    pub id: QueueId,
    /// The spooled message.
    pub message_id: QueueId,
    /// The held recipients only.
    pub recipients: Vec<String>,
    /// The envelope sender.
    pub sender: String,
    /// The decoded subject.
    pub subject: Option<String>,
    /// When it was held, Unix seconds.
    pub held_at: u64,
    /// When it expires if nobody decides, Unix seconds.
    pub expires_at: u64,
    /// Where it stands.
    pub state: QuarantineState,
    /// The findings as JSON; opaque to the store.
    pub findings_json: String,
    /// The policy's reasons as JSON; opaque to the store.
    pub reasons_json: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When, Unix seconds.
    pub decided_at: Option<u64>,
    /// The officer's note.
    pub note: Option<String>,
    /// The sender has been told of the current state (held, or the decision).
    #[serde(default)]
    pub sender_notified: bool,
    /// A release waiting for a second officer's confirmation (four eyes):
    /// who proposed it, when and with what note.
    #[serde(default)]
    pub release_proposal: Option<ReleaseProposal>,
    /// The ids of the rules that held the message, for filters and counts
    /// (the reasons say the same at length). Empty in entries from before
    /// it was kept: see [`QuarantineRecord::held_by_rules`].
    #[serde(default)]
    pub rules: Vec<String>,
}

impl QuarantineRecord {
    /// The ids of the rules that held the message, each once: `rules`, or
    /// for an entry from before it was kept, the `rule` of each reason in
    /// `reasons_json`.
    pub fn held_by_rules(&self) -> Vec<String> {
        if self.rules.is_empty() {
            cordon_records::rules_in_stored_reasons(&self.reasons_json)
        } else {
            self.rules.clone()
        }
    }
}

/// The first officer's half of a four-eyes release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseProposal {
    /// Who proposed the release.
    pub by: String,
    /// When, Unix seconds.
    pub at: u64,
    /// Their note.
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names() {
        let failed = RecipientStatus::Failed {
            at: 5,
            reason: "550 5.1.1 no".into(),
            code: Some(StatusCode::from_str("5.1.1").unwrap()),
            notified: false,
        };
        let json = serde_json::to_string(&failed).unwrap();
        assert_eq!(
            json,
            r#"{"status":"failed","at":5,"reason":"550 5.1.1 no","code":"5.1.1","notified":false}"#
        );
        assert_eq!(
            serde_json::from_str::<RecipientStatus>(&json).unwrap(),
            failed
        );
        // written before codes were kept
        assert_eq!(
            serde_json::from_str::<RecipientStatus>(
                r#"{"status":"failed","at":5,"reason":"550 no","notified":false}"#
            )
            .unwrap(),
            RecipientStatus::Failed {
                at: 5,
                reason: "550 no".into(),
                code: None,
                notified: false
            }
        );
        assert_eq!(
            serde_json::to_string(&RecipientStatus::Pending).unwrap(),
            r#"{"status":"pending"}"#
        );
        assert_eq!(
            serde_json::to_string(&PlannedAction::Hold).unwrap(),
            r#""hold""#
        );
        for state in [
            QuarantineState::Held,
            QuarantineState::Released,
            QuarantineState::Rejected,
            QuarantineState::Expired,
        ] {
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
            assert_eq!(state.as_str().parse::<QuarantineState>().unwrap(), state);
        }
        assert!("Held".parse::<QuarantineState>().is_err());
    }

    #[test]
    fn rules_come_from_the_reasons_of_an_older_entry() {
        let id = QueueId::new();
        let mut record = QuarantineRecord {
            id,
            message_id: id,
            recipients: vec![],
            sender: String::new(),
            subject: None,
            held_at: 0,
            expires_at: 0,
            state: QuarantineState::Held,
            findings_json: "[]".into(),
            reasons_json: r#"[{"address":"a@b","reasons":[{"rule":"r2"},{"rule":"r1"}]},{"reasons":[{"rule":"r2"},{}]}]"#.into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: vec![],
        };
        assert_eq!(record.held_by_rules(), vec!["r2", "r1"]);
        record.reasons_json = "not json".into();
        assert!(record.held_by_rules().is_empty());
        record.rules = vec!["r9".into()];
        assert_eq!(record.held_by_rules(), vec!["r9"]);
    }

    #[test]
    fn finished_and_complete() {
        let envelope = Envelope {
            mail_from: "a@northshire.police.uk".into(),
            rcpt_to: vec![
                "x@gmail.com".into(),
                "y@nhs.net".into(),
                "x@gmail.com".into(),
            ],
            client_ip: None,
            helo: None,
            received_at: 1,
        };
        let mut record = MessageRecord::new(QueueId::new(), envelope, 10);
        assert_eq!(
            record.recipients.len(),
            2,
            "duplicate recipients are merged"
        );
        assert!(!record.is_finished());
        record.recipients[0].status = RecipientStatus::Delivered { at: 2 };
        record.recipients[1].status = RecipientStatus::Held {
            quarantine_id: QueueId::new(),
        };
        assert!(!record.is_finished(), "not inspected");
        record.inspected = true;
        assert!(record.is_finished());
        assert!(record.awaits_quarantine());
        assert!(!record.is_complete());
        record.recipients[1].status = RecipientStatus::Rejected {
            at: 3,
            notified: false,
        };
        assert!(!record.is_finished());
        record.recipients[1].status = RecipientStatus::Rejected {
            at: 3,
            notified: true,
        };
        assert!(record.is_complete());
        record.recipients[1].status = RecipientStatus::Deferred {
            attempts: 1,
            next_attempt_at: 100,
            last_error: "421".into(),
        };
        assert_eq!(record.next_attempt_at(), Some(100));
        assert!(!record.is_due(99));
        assert!(record.is_due(100));
    }
}
