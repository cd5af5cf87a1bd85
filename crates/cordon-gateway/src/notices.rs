//! Telling the sender: after each processing step, one notice that says what
//! happened to every recipient since the last one (rejected, held, released,
//! rejected by an officer, expired, undeliverable), sent through the gateway
//! like any other mail. What was told is recorded so that it is told once
//! (a crash may repeat a notice, never lose one).

use std::sync::Arc;

use cordon_audit::{Action as AuditAction, Event};
use cordon_notify::{
    AffectedRecipient, DetectorNouns, ForceFacts, NoticeFacts, NoticeKind, Origin, ReasonFacts,
};
use cordon_records::{Action, StatusCode, StoredVerdict};
use cordon_relay::Transport;
use cordon_store::{
    MessageRecord, PlannedAction, QuarantineRecord, QuarantineState, RecipientStatus, StoreError,
};

use crate::{Gateway, Rules, now};

/// The recipients of one message sorted by what the sender must hear.
#[derive(Default)]
struct Tally {
    policy_rejected: Vec<AffectedRecipient>,
    officer_rejected: Vec<AffectedRecipient>,
    expired: Vec<AffectedRecipient>,
    undeliverable: Vec<AffectedRecipient>,
    held: Vec<AffectedRecipient>,
    delivered: Vec<String>,
    pending: Vec<String>,
    /// Status changes to record once the notice is queued.
    told: Vec<(String, RecipientStatus)>,
}

impl<T: Transport> Gateway<T> {
    /// Sends the sender the notice this message calls for now, if any, and
    /// records what was told. No notice goes about an automatic message
    /// (null sender, auto-submitted, a report) or to a sender outside the
    /// force; what would have been told is recorded all the same.
    pub(crate) async fn notify(
        self: &Arc<Self>,
        record: &MessageRecord,
        verdict: &StoredVerdict,
        message: &[u8],
    ) -> Result<(), StoreError> {
        let quarantine = self.store.get_quarantine(&record.id).await?;
        let tally = tally(record, verdict, quarantine.as_ref());
        let quarantine_news = quarantine.as_ref().filter(|q| {
            !q.sender_notified
                && match q.state {
                    QuarantineState::Held => !tally.held.is_empty(),
                    // Released: once the first delivery attempt has been made.
                    QuarantineState::Released => q.recipients.iter().all(|address| {
                        record
                            .recipient(address)
                            .is_none_or(|r| !matches!(r.status, RecipientStatus::Pending))
                    }),
                    QuarantineState::Rejected | QuarantineState::Expired => true,
                }
        });
        let kind = if !tally.officer_rejected.is_empty() {
            NoticeKind::RejectedByOfficer
        } else if !tally.expired.is_empty() {
            NoticeKind::Expired
        } else if !tally.policy_rejected.is_empty() {
            NoticeKind::Rejected
        } else if !tally.undeliverable.is_empty() {
            NoticeKind::Undeliverable
        } else {
            match quarantine_news.map(|q| q.state) {
                Some(QuarantineState::Released) => NoticeKind::Released,
                Some(QuarantineState::Held) => NoticeKind::Held,
                _ => return Ok(()),
            }
        };
        let sender = record.envelope.mail_from.as_str();
        let rules = self.rules.load_full();
        let internal =
            rules.inspector.policy().classify(sender) == cordon_inspect::DomainClass::Internal;
        if cordon_notify::is_automatic(sender, message) || !internal {
            tracing::info!(queue_id = %record.id, sender, kind = kind.as_str(), "no notice: automatic message or sender outside the force");
        } else {
            let facts = self.facts(&rules, kind, record, quarantine.as_ref(), &tally);
            let origin = Origin {
                reporting_mta: &self.config.hostname,
                postmaster: &self.config.postmaster,
                original: message,
            };
            match rules.notices.compose(&facts, &origin) {
                Ok(bytes) => {
                    let notice_id = self.submit("", vec![sender.to_owned()], bytes).await?;
                    self.metrics.notice(kind.as_str());
                    self.audit(
                        Event::new("gateway", AuditAction::NoticeSent, record.id.to_string())
                            .with_detail(serde_json::json!({
                                "kind": kind.as_str(),
                                "notice": notice_id.to_string(),
                                "to": sender,
                            })),
                    )
                    .await;
                    tracing::info!(queue_id = %record.id, notice_id = %notice_id, sender, kind = kind.as_str(), "notice queued");
                }
                // The templates rendered at load, so this is not expected;
                // the message's own handling goes on regardless.
                Err(e) => {
                    self.metrics.notice_failures.inc();
                    tracing::error!(queue_id = %record.id, error = %e, "cannot render the notice")
                }
            }
        }
        for (address, status) in tally.told {
            self.store
                .set_recipient_status(&record.id, &address, status)
                .await?;
        }
        if let Some(q) = quarantine_news {
            self.store.set_quarantine_notified(&q.id, q.state).await?;
        }
        Ok(())
    }

    /// The template context for a notice.
    fn facts(
        &self,
        rules: &Rules,
        kind: NoticeKind,
        record: &MessageRecord,
        quarantine: Option<&QuarantineRecord>,
        tally: &Tally,
    ) -> NoticeFacts {
        let policy = rules.inspector.policy();
        let force = &policy.force;
        let mut facts = NoticeFacts {
            kind,
            force: ForceFacts {
                name: force.name.clone(),
                information_security: force.information_security.clone(),
            },
            reference: record.id.to_string(),
            sender: record.envelope.mail_from.clone(),
            subject: record
                .subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "(no subject)".to_owned()),
            received_at: record.envelope.received_at,
            expires_at: quarantine
                .filter(|q| q.state == QuarantineState::Held)
                .map(|q| q.expires_at),
            hold_days: self.config.hold_days,
            officer_note: quarantine.and_then(|q| q.note.clone()),
            rejected: [&tally.officer_rejected[..], &tally.policy_rejected[..]].concat(),
            held: tally.held.clone(),
            failed: [&tally.expired[..], &tally.undeliverable[..]].concat(),
            delivered: tally.delivered.clone(),
            pending: tally.pending.clone(),
        };
        facts.name_custom_detectors(&DetectorNouns::new(policy.detector_nouns()));
        facts
    }
}

/// Sorts the recipients of a message by what the sender must hear.
fn tally(
    record: &MessageRecord,
    verdict: &StoredVerdict,
    quarantine: Option<&QuarantineRecord>,
) -> Tally {
    let mut tally = Tally::default();
    let decided = |address: &str, state: QuarantineState| {
        quarantine.is_some_and(|q| {
            q.state == state && q.recipients.iter().any(|a| a.eq_ignore_ascii_case(address))
        })
    };
    for r in &record.recipients {
        let address = r.address.as_str();
        match (&r.action, &r.status) {
            (Some(PlannedAction::Reject), RecipientStatus::Pending)
            | (
                _,
                RecipientStatus::Rejected {
                    notified: false, ..
                },
            ) => {
                let at = match r.status {
                    RecipientStatus::Rejected { at, .. } => at,
                    _ => now(),
                };
                if decided(address, QuarantineState::Rejected) {
                    tally.officer_rejected.push(affected(
                        address,
                        "5.7.1",
                        "rejected by Information Security after review".into(),
                        reasons(verdict, address, Action::Hold),
                    ));
                } else {
                    let reasons = reasons(verdict, address, Action::Reject);
                    let diagnostic = match reasons.first() {
                        Some(reason) => {
                            format!("refused by policy rule {}: {}", reason.rule, reason.policy)
                        }
                        None => "refused by policy".into(),
                    };
                    tally
                        .policy_rejected
                        .push(affected(address, "5.7.1", diagnostic, reasons));
                }
                tally.told.push((
                    r.address.clone(),
                    RecipientStatus::Rejected { at, notified: true },
                ));
            }
            (
                _,
                RecipientStatus::Failed {
                    at,
                    reason,
                    code,
                    notified: false,
                },
            ) => {
                if decided(address, QuarantineState::Expired) {
                    tally.expired.push(affected(
                        address,
                        &code.unwrap_or(StatusCode::POLICY_REFUSED).to_string(),
                        reason.clone(),
                        reasons(verdict, address, Action::Hold),
                    ));
                } else {
                    tally.undeliverable.push(affected(
                        address,
                        &code
                            .unwrap_or(StatusCode::PERMANENT_UNSPECIFIED)
                            .to_string(),
                        reason.clone(),
                        Vec::new(),
                    ));
                }
                tally.told.push((
                    r.address.clone(),
                    RecipientStatus::Failed {
                        at: *at,
                        reason: reason.clone(),
                        code: *code,
                        notified: true,
                    },
                ));
            }
            (_, RecipientStatus::Held { .. }) => tally.held.push(affected(
                address,
                "4.7.0",
                "held for review by Information Security".into(),
                reasons(verdict, address, Action::Hold),
            )),
            (_, RecipientStatus::Delivered { .. }) => tally.delivered.push(r.address.clone()),
            (Some(PlannedAction::Deliver), RecipientStatus::Pending)
            | (_, RecipientStatus::Deferred { .. }) => tally.pending.push(r.address.clone()),
            _ => {}
        }
    }
    tally
}

fn affected(
    address: &str,
    status: &str,
    diagnostic: String,
    reasons: Vec<ReasonFacts>,
) -> AffectedRecipient {
    AffectedRecipient {
        address: address.to_owned(),
        status: status.to_owned(),
        diagnostic,
        reasons,
    }
}

/// The reasons behind `action` for a recipient: the rules that asked for
/// exactly that (a rejected recipient is not told "it will be reviewed").
/// A message whose inspection failed has no reasons in its verdict; it is
/// held because it could not be checked.
fn reasons(verdict: &StoredVerdict, address: &str, action: Action) -> Vec<ReasonFacts> {
    let all = cordon_notify::reasons_from_verdict(verdict, address);
    if all.is_empty() {
        return vec![cordon_notify::uninspected_reason()];
    }
    let matching: Vec<ReasonFacts> = all
        .iter()
        .filter(|r| r.action == action.as_str())
        .cloned()
        .collect();
    if matching.is_empty() { all } else { matching }
}

impl<T: Transport> Gateway<T> {
    /// Counts a failed delivery attempt of `record` in
    /// [`crate::Metrics::notice_failures`] when it is one of the gateway's
    /// own notices: submitted by the gateway (no client) from the null
    /// sender, as [`Gateway::submit`] does.
    pub(crate) fn count_notice_failure(&self, record: &MessageRecord) {
        if record.envelope.client_ip.is_none() && record.envelope.mail_from.is_empty() {
            self.metrics.notice_failures.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use cordon_store::{Envelope, QueueId};

    use super::*;

    /// A failed recipient in a message with no verdict reasons.
    fn failed(code: Option<StatusCode>) -> Tally {
        let envelope = Envelope {
            mail_from: "sam.okafor@northshire.police.uk".into(),
            rcpt_to: vec!["bad@kent.police.uk".into()],
            client_ip: None,
            helo: None,
            received_at: 1,
        };
        let mut record = MessageRecord::new(QueueId::new(), envelope, 10);
        record.recipients[0].action = Some(PlannedAction::Deliver);
        record.recipients[0].status = RecipientStatus::Failed {
            at: 2,
            reason: "550 5.1.1 no such user".into(),
            code,
            notified: false,
        };
        tally(&record, &StoredVerdict::default(), None)
    }

    #[test]
    fn a_failure_notice_states_the_recorded_code_not_one_read_from_text() {
        let tally = failed("5.2.2".parse().ok());
        assert_eq!(tally.undeliverable[0].status, "5.2.2");
        assert_eq!(tally.undeliverable[0].diagnostic, "550 5.1.1 no such user");
        // the recipient is marked told, keeping its code
        assert!(matches!(
            &tally.told[0].1,
            RecipientStatus::Failed { code: Some(c), notified: true, .. } if c.to_string() == "5.2.2"
        ));
        // a record from before codes were kept
        assert_eq!(failed(None).undeliverable[0].status, "5.0.0");
    }
}
