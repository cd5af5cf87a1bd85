//! Processing one message: inspect once, then bring every recipient to a final
//! state. Each step is recorded durably before the next depends on it, and each
//! is safe to repeat after a crash (at worst a copy or a notice goes twice).

use std::sync::Arc;
use std::time::Instant;

use cordon_audit::{Action as AuditAction, Event};
use cordon_inspect::{Action, Envelope as InspectEnvelope, Verdict};
use cordon_records::{RecipientReasons, RecordError, StatusCode, StoredVerdict};
use cordon_relay::{Outcome, Transport};
use cordon_store::{
    MessageRecord, PlannedAction, QuarantineRecord, QuarantineState, QueueId, RecipientStatus,
    StoreError, on_blocking_pool,
};

use crate::stored_verdict::{stored_verdict, uninspectable_verdict};
use crate::{Gateway, now};

impl<T: Transport> Gateway<T> {
    /// Processes message `id` as far as it can go now. Errors are logged; the
    /// message stays in the queue and is picked up again by the delivery loop
    /// or the next start.
    pub(crate) async fn process(self: &Arc<Self>, id: QueueId) {
        if !self.work.claim(id) {
            return;
        }
        match self.process_claimed(id).await {
            Ok(()) => {}
            Err(StoreError::DamagedSpool { problem, .. }) => self.report_damaged(id, problem),
            Err(e) if e.is_unavailable() => {
                // The message waits in the spool; nothing else would ask
                // for it again before the next start.
                tracing::warn!(queue_id = %id, error = %e, retry_in_secs = self.config.store_retry.as_secs(), "the shared database is unreachable; the message waits in the spool");
                let gateway = Arc::clone(self);
                tokio::spawn(async move {
                    tokio::time::sleep(gateway.config.store_retry).await;
                    gateway.work.push(id);
                });
            }
            Err(e) => {
                tracing::error!(queue_id = %id, error = %e, "processing stopped; the message stays queued");
            }
        }
        self.work.finish(id);
    }

    async fn process_claimed(self: &Arc<Self>, id: QueueId) -> Result<(), StoreError> {
        // The bytes just spooled, when this run accepted the message and
        // kept them: no need to read the file back.
        let copy = self.unrecorded.take_copy(&id);
        // The message's share of the processing budget, held until it is
        // done with. A file that cannot be measured is read (and its
        // problem reported) with the smallest share.
        let size = match &copy {
            Some(copy) => copy.message.len() as u64,
            None => {
                let spool = self.spool.clone();
                on_blocking_pool(move || Ok::<_, StoreError>(spool.size_of(&id)))
                    .await?
                    .unwrap_or(0)
            }
        };
        let _share = self.budget.take(size).await;
        // Accepted by this run and never recorded: the store has nothing
        // to say about it (and need not be reachable to deliver it).
        let stored = if self.is_unrecorded(&id) {
            None
        } else {
            // Another node's (it took the message over to carry out a
            // decision): it does the work, from its own spool.
            if !self.store.is_mine(&id).await? {
                tracing::debug!(queue_id = %id, "another gateway's message");
                return Ok(());
            }
            let stored = self.store.get_message(&id).await?;
            if stored.is_some() {
                // Adopted from another node: its bytes come from the store.
                self.store.restore_spooled(&self.spool, &id).await?;
            }
            stored
        };
        let spool = self.spool.clone();
        let read = match copy {
            Some(copy) if stored.is_none() => Ok((copy.envelope, copy.message)),
            _ => on_blocking_pool(move || spool.read(&id)).await,
        };
        let (envelope, message) = match read {
            Ok(read) => read,
            // Finished and removed since it was asked for: nothing to do.
            Err(StoreError::NotFound { .. }) if stored.is_none() => {
                tracing::debug!(queue_id = %id, "already finished");
                return Ok(());
            }
            Err(StoreError::NotFound { .. }) => {
                return Err(StoreError::DamagedSpool {
                    id,
                    problem: "the spool file is missing".to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        let recorded = stored.is_some();
        // Without a record the spool file is the record: a message not yet
        // processed, or accepted just before a crash.
        let mut record = stored
            .unwrap_or_else(|| MessageRecord::new(id, envelope.clone(), message.len() as u64));
        let message = Arc::new(message);
        let fresh = !record.inspected;
        // The verdict: fresh from inspection, or as recorded when an earlier
        // run inspected the message. The recipients' actions are in the
        // record, so a verdict that cannot be read costs only the trace
        // header's detail and the reasons in notices and the quarantine.
        let verdict = if record.inspected {
            match record
                .verdict_json
                .as_deref()
                .map(cordon_records::decode_verdict)
            {
                Some(Ok(verdict)) => verdict,
                Some(Err(e)) => {
                    tracing::warn!(queue_id = %id, error = %e, "the recorded verdict cannot be read; going on without its findings and reasons");
                    StoredVerdict::default()
                }
                None => StoredVerdict::default(),
            }
        } else {
            let verdict;
            (record, verdict) = self.inspect(record, Arc::clone(&message)).await;
            verdict
        };
        if !recorded {
            // The common case, every recipient delivered at the first try,
            // needs no queue record at all: the spool file is removed once the
            // relay has the message, and a crash before that delivers again.
            if record
                .recipients
                .iter()
                .all(|r| r.action == Some(PlannedAction::Deliver))
            {
                let (results, events) = self.attempt(&record, &verdict, &message).await;
                let delivered = results
                    .iter()
                    .all(|(_, s)| matches!(s, RecipientStatus::Delivered { .. }));
                if delivered {
                    // The audit lines and the spool file's removal in one
                    // trip to the blocking pool.
                    self.audit_all_and_unspool(events, id).await?;
                    self.note_unrecorded(id, false);
                    return Ok(());
                }
                self.audit_all(events).await;
                apply(&mut record, results);
            }
            // It stays: out of the journal, which keeps only messages in
            // flight, into a spool file of its own.
            let spool = self.spool.clone();
            on_blocking_pool(move || spool.settle(&id)).await?;
        }
        if fresh {
            record.verdict_json =
                Some(cordon_records::encode_verdict(&verdict).map_err(encoding_failed)?);
            self.store.put_message(&record).await?;
        }
        self.note_unrecorded(id, false);
        self.hold(&record, &verdict, &message).await?;
        let record = self.store.get_message(&id).await?.unwrap_or(record);
        self.deliver(&record, &verdict, &message).await?;
        let record = self.store.get_message(&id).await?.unwrap_or(record);
        self.notify(&record, &verdict, &message).await?;
        let record = self.store.get_message(&id).await?.unwrap_or(record);
        if record.is_complete() {
            self.unspool(id).await?;
            self.store.remove_message(&id).await?;
        }
        Ok(())
    }

    /// Inspects the message once and notes each recipient's action in the
    /// record (the caller stores it when it has to); returns the verdict in
    /// its stored form.
    async fn inspect(
        &self,
        mut record: MessageRecord,
        message: Arc<Vec<u8>>,
    ) -> (MessageRecord, StoredVerdict) {
        let inspector = Arc::clone(&self.rules.load().inspector);
        let envelope = InspectEnvelope {
            mail_from: Some(record.envelope.mail_from.clone()),
            rcpt_to: record.envelope.rcpt_to.clone(),
        };
        // The verdict's audit line is appended in the same trip to the
        // blocking pool as the inspection.
        let (id, audit) = (record.id, self.config.audit.clone());
        let engine = Arc::clone(self.store.engine());
        let inspected = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let (verdict, history_failure) =
                crate::check_with_history(&inspector, engine.as_ref(), &message, &envelope);
            let elapsed = started.elapsed();
            if let Some(audit) = audit
                && let Err(e) = audit.append(verdict_event(id.to_string(), &verdict))
            {
                tracing::error!(queue_id = %id, error = %e, "cannot append to the audit log");
            }
            (verdict, elapsed, history_failure)
        })
        .await;
        let (verdict, elapsed) = match inspected {
            Ok((verdict, elapsed, history_failure)) => {
                if let Some(e) = history_failure {
                    self.metrics.sender_history_failures.inc();
                    tracing::error!(queue_id = %record.id, error = %e, "the sender's behaviour counters cannot be read; the behaviour rules saw this message alone");
                }
                (verdict, elapsed)
            }
            Err(e) => {
                // Never deliver uninspected content: hold everyone outside the force.
                tracing::error!(queue_id = %record.id, error = %e, "inspection failed; holding the message");
                return failed_inspection(record);
            }
        };
        self.metrics
            .inspection_seconds
            .observe(elapsed.as_secs_f64());
        for r in &mut record.recipients {
            let action = verdict
                .recipients
                .iter()
                .find(|v| v.address.eq_ignore_ascii_case(&r.address))
                .map_or(Action::Hold, |v| v.action);
            r.action = Some(planned(action));
            self.metrics.decided(action.as_str());
        }
        record.subject = verdict.subject.clone();
        record.inspected = true;
        log_decision(&record, &verdict, elapsed);
        (record, stored_verdict(&verdict))
    }

    /// Puts the recipients to hold in quarantine (one entry per message, whose
    /// id is the message's). Only pending ones: once held, a recipient leaves
    /// quarantine by a decision, never by repeating this step.
    async fn hold(
        &self,
        record: &MessageRecord,
        verdict: &StoredVerdict,
        message: &Arc<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let held: Vec<String> = record
            .recipients
            .iter()
            .filter(|r| {
                r.action == Some(PlannedAction::Hold) && r.status == RecipientStatus::Pending
            })
            .map(|r| r.address.clone())
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let reasons: Vec<RecipientReasons> = verdict
            .recipients
            .iter()
            .filter(|r| held.iter().any(|h| h.eq_ignore_ascii_case(&r.address)))
            .cloned()
            .collect();
        let at = now();
        let entry = QuarantineRecord {
            id: record.id,
            message_id: record.id,
            recipients: held.clone(),
            sender: record.envelope.mail_from.clone(),
            subject: record.subject.clone(),
            held_at: at,
            expires_at: at + self.config.hold_days * 86_400,
            state: QuarantineState::Held,
            findings_json: cordon_records::encode_findings(&verdict.findings)
                .map_err(encoding_failed)?,
            reasons_json: cordon_records::encode_reasons(&reasons).map_err(encoding_failed)?,
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: cordon_records::rules_of(&reasons),
        };
        // A shared store keeps the bytes first, so that any node can show
        // and release the entry as soon as it exists.
        self.store
            .put_held_content(&record.id, &record.envelope, Arc::clone(message))
            .await?;
        self.store.put_quarantine(&entry).await?;
        tracing::info!(queue_id = %record.id, quarantine_id = %entry.id, recipients = ?held, "held in quarantine");
        Ok(())
    }

    /// Delivers to every recipient whose action is deliver and who is pending
    /// or due for a retry, and records each outcome.
    async fn deliver(
        &self,
        record: &MessageRecord,
        verdict: &StoredVerdict,
        message: &[u8],
    ) -> Result<(), StoreError> {
        let (results, events) = self.attempt(record, verdict, message).await;
        self.audit_all(events).await;
        for (address, status) in results {
            self.store
                .set_recipient_status(&record.id, &address, status)
                .await?;
        }
        Ok(())
    }

    /// One delivery attempt, in one transaction, for every recipient whose
    /// action is deliver and who is pending or due for a retry, with the
    /// verdict as a trace header: the new status of each, and the audit
    /// lines for the caller to append.
    async fn attempt(
        &self,
        record: &MessageRecord,
        verdict: &StoredVerdict,
        message: &[u8],
    ) -> (Vec<(String, RecipientStatus)>, Vec<Event>) {
        let at = now();
        let due: Vec<(String, u32)> = record
            .recipients
            .iter()
            .filter(|r| r.action == Some(PlannedAction::Deliver))
            .filter_map(|r| match &r.status {
                RecipientStatus::Pending => Some((r.address.clone(), 0)),
                RecipientStatus::Deferred {
                    attempts,
                    next_attempt_at,
                    ..
                } if *next_attempt_at <= at => Some((r.address.clone(), *attempts)),
                _ => None,
            })
            .collect();
        if due.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let addresses: Vec<String> = due.iter().map(|(a, _)| a.clone()).collect();
        let mut copy = trace_header(&self.config.hostname, record, verdict).into_bytes();
        copy.extend_from_slice(message);
        let outcomes = self
            .transport
            .deliver(&record.envelope.mail_from, &addresses, &copy)
            .await;
        let events = due
            .iter()
            .zip(&outcomes)
            .map(|((address, _), outcome)| {
                Event::new("gateway", outcome_action(outcome), record.id.to_string()).with_detail(
                    serde_json::json!({ "rcpt": address, "outcome": outcome_text(outcome) }),
                )
            })
            .collect();
        let results = due
            .into_iter()
            .zip(outcomes)
            .map(|((address, attempts), outcome)| {
                let status = match outcome {
                    Outcome::Delivered => {
                        self.metrics.delivery("delivered");
                        RecipientStatus::Delivered { at: now() }
                    }
                    Outcome::Permanent(failure) => {
                        self.metrics.delivery("failed");
                        self.count_notice_failure(record);
                        tracing::warn!(queue_id = %record.id, rcpt = %address, reason = %failure, "delivery failed permanently");
                        RecipientStatus::Failed { at: now(), reason: failure.to_string(), code: Some(failure.permanent_status()), notified: false }
                    }
                    Outcome::Temporary(failure) if self.config.retry.expired(record.envelope.received_at, now()) => {
                        self.metrics.delivery("failed");
                        self.count_notice_failure(record);
                        tracing::warn!(queue_id = %record.id, rcpt = %address, reason = %failure, "giving up after {} attempts", attempts + 1);
                        RecipientStatus::Failed {
                            at: now(),
                            reason: format!("gave up after {} attempts; last error: {failure}", attempts + 1),
                            code: Some(StatusCode::DELIVERY_TIME_EXPIRED),
                            notified: false,
                        }
                    }
                    Outcome::Temporary(failure) => {
                        self.metrics.delivery("deferred");
                        self.count_notice_failure(record);
                        let attempts = attempts + 1;
                        let next_attempt_at = now() + self.config.retry.delay_after(attempts);
                        tracing::info!(queue_id = %record.id, rcpt = %address, reason = %failure, attempts, next_attempt_at, "delivery deferred");
                        RecipientStatus::Deferred { attempts, next_attempt_at, last_error: failure.to_string() }
                    }
                };
                (address, status)
            })
            .collect();
        (results, events)
    }
}

/// The audit action of a delivery attempt's outcome.
fn outcome_action(outcome: &Outcome) -> AuditAction {
    match outcome {
        Outcome::Delivered => AuditAction::Delivered,
        Outcome::Permanent(_) | Outcome::Temporary(_) => AuditAction::DeliveryFailed,
    }
}

/// A delivery attempt's outcome in words, for the audit log.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered => "delivered".to_owned(),
        Outcome::Permanent(failure) => format!("failed: {failure}"),
        Outcome::Temporary(failure) => format!("deferred: {failure}"),
    }
}

/// A record whose inspection failed: everyone is held, never delivered uninspected.
fn failed_inspection(mut record: MessageRecord) -> (MessageRecord, StoredVerdict) {
    for r in &mut record.recipients {
        r.action = Some(PlannedAction::Hold);
    }
    record.inspected = true;
    (record, uninspectable_verdict())
}

/// A record that cannot be encoded (not expected: its types are plain data)
/// stops processing like a store failure; the message stays queued.
fn encoding_failed(e: RecordError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Notes the outcome of an attempt in a record not yet stored.
fn apply(record: &mut MessageRecord, results: Vec<(String, RecipientStatus)>) {
    for (address, status) in results {
        for r in record
            .recipients
            .iter_mut()
            .filter(|r| r.address == address)
        {
            r.status = status.clone();
        }
    }
}

fn planned(action: Action) -> PlannedAction {
    match action {
        Action::Deliver => PlannedAction::Deliver,
        Action::Hold => PlannedAction::Hold,
        Action::Reject => PlannedAction::Reject,
    }
}

/// `X-Cordon-Verdict`: the decision, added on top of the delivered copy (a new
/// header does not alter the signed body).
fn trace_header(hostname: &str, record: &MessageRecord, verdict: &StoredVerdict) -> String {
    let level = verdict.classification.level.as_str();
    let detectors = verdict.detectors();
    let detectors = if detectors.is_empty() {
        "none".to_owned()
    } else {
        detectors.join(",")
    };
    format!(
        "X-Cordon-Verdict: deliver; queue={}; level={level}; findings={detectors}; by={hostname}\r\n",
        record.id
    )
}

/// The ids of the rules that held or rejected some recipient, sorted, once each.
fn rules_applied(verdict: &Verdict) -> Vec<&str> {
    let mut rules: Vec<&str> = verdict
        .recipients
        .iter()
        .flat_map(|r| r.reasons.iter().map(|x| x.rule.as_str()))
        .collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// The audit entry of a verdict: the level, each recipient's action and
/// the rules and detectors behind it (samples stay out of the log).
pub(crate) fn verdict_event(entity: String, verdict: &Verdict) -> Event {
    let actions: serde_json::Map<String, serde_json::Value> = verdict
        .recipients
        .iter()
        .map(|r| (r.address.clone(), r.action.as_str().into()))
        .collect();
    let rules = rules_applied(verdict);
    let detectors = verdict.detectors();
    Event::new("gateway", AuditAction::Verdict, entity).with_detail(serde_json::json!({
        "level": verdict.classification.level.to_string(),
        "actions": actions,
        "rules": rules,
        "detectors": detectors,
    }))
}

/// One log line per message decision.
fn log_decision(record: &MessageRecord, verdict: &Verdict, elapsed: std::time::Duration) {
    let actions: Vec<String> = verdict
        .recipients
        .iter()
        .map(|r| format!("{}={}", r.address, r.action.as_str()))
        .collect();
    let rules = rules_applied(verdict);
    tracing::info!(
        queue_id = %record.id,
        sender = %record.envelope.mail_from,
        recipients = %actions.join(" "),
        level = %verdict.classification.level,
        rules = %rules.join(","),
        inspect_ms = format!("{:.2}", elapsed.as_secs_f64() * 1000.0),
        "decision"
    );
}
