//! The queue and quarantine index behind a storage trait, and the start-up
//! reconciliation of the index with the spool.

use std::collections::BTreeSet;

use cordon_records::StatusCode;

use crate::error::StoreError;
use crate::id::QueueId;
use crate::listing::{
    QuarantineCount, QuarantineCursor, QuarantinePage, QuarantineQuery, QuarantineSearch,
};
use crate::record::{
    Decision, MessageRecord, PlannedAction, QuarantineRecord, QuarantineState, RecipientStatus,
    ReleaseProposal,
};
use crate::sender_activity::{SenderActivity, WindowQuery};
use crate::spool::{Envelope, Spool};
use crate::tally::QuarantineTally;

/// The queue state and quarantine index of the gateway.
///
/// Synchronous (call it from `spawn_blocking`) and shareable between threads.
/// Every method that changes state returns only once the change is durable,
/// because callers reply to SMTP clients, deliver or notify based on it. The
/// engine (sled today) stays behind this trait so that another one (redb,
/// SQLite, PostgreSQL for several gateways) can replace it.
pub trait Engine: Send + Sync {
    /// Inserts or replaces the record of a message.
    fn put_message(&self, record: &MessageRecord) -> Result<(), StoreError>;

    /// The record of a message, if there is one.
    fn get_message(&self, id: &QueueId) -> Result<Option<MessageRecord>, StoreError>;

    /// The ids of all message records, finished or not, oldest first.
    fn message_ids(&self) -> Result<Vec<QueueId>, StoreError>;

    /// All messages not finished ([`MessageRecord::is_finished`]), oldest
    /// first: what a restart must act on again.
    fn unfinished_messages(&self) -> Result<Vec<MessageRecord>, StoreError>;

    /// The unfinished messages with a deferred recipient due for a retry at
    /// `now` ([`MessageRecord::is_due`]), oldest first: what the delivery
    /// loop polls. Cheaper than [`Engine::unfinished_messages`].
    fn due_messages(&self, now: u64) -> Result<Vec<MessageRecord>, StoreError>;

    /// Sets the status of every recipient of message `id` whose address is
    /// `address`, atomically against concurrent updates of the same message,
    /// and returns the updated record. [`StoreError::NotFound`] if the
    /// message or the recipient does not exist.
    fn set_recipient_status(
        &self,
        id: &QueueId,
        address: &str,
        status: RecipientStatus,
    ) -> Result<MessageRecord, StoreError>;

    /// Deletes the record of a message; returns whether there was one.
    /// Delete the spool file first: a record without a file is reported by
    /// [`reconcile`] as stale, a file without a record would be sent again.
    fn remove_message(&self, id: &QueueId) -> Result<bool, StoreError>;

    /// Inserts or replaces a quarantine entry. If it is `held` and its
    /// message has a record, the message's listed recipients that are not
    /// yet final become [`RecipientStatus::Held`] under its id, in the same
    /// atomic change: a crash never leaves one without the other.
    fn put_quarantine(&self, record: &QuarantineRecord) -> Result<(), StoreError>;

    /// A quarantine entry, if there is one.
    fn get_quarantine(&self, id: &QueueId) -> Result<Option<QuarantineRecord>, StoreError>;

    /// Quarantine entries, all or only those in `state`, newest first (by
    /// `held_at`, then by id).
    fn list_quarantine(
        &self,
        state: Option<QuarantineState>,
    ) -> Result<Vec<QuarantineRecord>, StoreError>;

    /// Decides a held entry and returns it updated; [`StoreError::AlreadyDecided`]
    /// if it is no longer held, [`StoreError::NotFound`] if unknown. In the
    /// same atomic change, the message's recipients held under this entry
    /// move on (see [`apply_decision`]), so that the queue carries the
    /// decision out, also after a crash.
    fn decide_quarantine(
        &self,
        id: &QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
        at: u64,
    ) -> Result<QuarantineRecord, StoreError>;

    /// Records the first officer's half of a four-eyes release on a held
    /// entry (replacing an earlier proposal) and returns the entry;
    /// [`StoreError::AlreadyDecided`] if it is no longer held.
    fn propose_release(
        &self,
        id: &QueueId,
        proposal: ReleaseProposal,
    ) -> Result<QuarantineRecord, StoreError>;

    /// Notes that the sender has been told of entry `id` in `state`; does
    /// nothing and returns false if the entry has moved on meanwhile (so a
    /// decision made while the held notice went out still gets its notice).
    fn set_quarantine_notified(
        &self,
        id: &QueueId,
        state: QuarantineState,
    ) -> Result<bool, StoreError>;

    /// Numbers for metrics.
    fn counts(&self) -> Result<StoreCounts, StoreError>;

    /// Adds `activity` to its sender's counters, once per
    /// [`SenderActivity::message`] (recording a message again adds
    /// nothing), and returns one total per query, in order, over the
    /// window ending at `activity.at`, this activity included. An activity
    /// that [only reads](SenderActivity::only_reads) adds nothing and
    /// leaves no marker. [`StoreError::InvalidWindow`], with nothing
    /// changed, for a window of 0 or over 31 days.
    ///
    /// Sums are kept in 5-minute buckets, so a sum may include up to 5
    /// minutes more than its window (a day's total, up to 24 h 5 min);
    /// distinct counts are exact. See [`SenderActivity`] for the
    /// bounds. Atomic and durable when it returns (one sled
    /// transaction, one PostgreSQL transaction); the recordings of one
    /// sender are serialized, so two at the same moment both count and
    /// the second sees the first.
    fn record_sender_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError>;

    /// Deletes the sender activity that lies entirely before `before`:
    /// sum buckets that end before it, distinct members last added before
    /// it, and the markers of messages recorded before it (a message
    /// recorded again after its marker went counts again). The caller
    /// passes now minus its longest window. Returns how many items (buckets,
    /// members, markers) went.
    fn prune_sender_activity(&self, before: u64) -> Result<u64, StoreError>;

    /// One page of the entries matching `query`, newest first (by
    /// `held_at`, then id), starting after `before` (the `next` of the page
    /// before), of at most `limit` entries (1 to [`crate::MAX_PAGE`]). The indexed
    /// engines read the page's entries and those the query passes over,
    /// not the whole quarantine.
    fn page_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantinePage, StoreError> {
        let records = self.list_quarantine(query.state)?;
        Ok(QuarantinePage::from_newest_first(
            records
                .into_iter()
                .filter(|r| before.is_none_or(|c| c.precedes(r)) && query.matches(r)),
            limit,
        ))
    }

    /// How many entries match `query`, and by rule. A query of no more
    /// than a state is answered from the tally; any other reads the
    /// entries in its state.
    fn count_quarantine(&self, query: &QuarantineQuery) -> Result<QuarantineCount, StoreError> {
        let records = self.list_quarantine(query.state)?;
        Ok(QuarantineCount::by_scan(query, records.iter()))
    }

    /// The page of `query` after `before` and the count of every entry it
    /// matches, as [`Engine::page_quarantine`] and
    /// [`Engine::count_quarantine`] give them. The indexed engines answer a
    /// query the tally cannot count with one reading of the entries.
    fn search_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantineSearch, StoreError> {
        Ok(QuarantineSearch {
            page: self.page_quarantine(query, before, limit)?,
            count: self.count_quarantine(query)?,
        })
    }

    /// The counts over the whole quarantine ([`QuarantineTally`]).
    fn quarantine_tally(&self) -> Result<QuarantineTally, StoreError> {
        let records = self.list_quarantine(None)?;
        Ok(QuarantineTally::of(records.iter()))
    }

    /// The held entry that has waited longest, if any.
    fn oldest_held(&self) -> Result<Option<QuarantineRecord>, StoreError> {
        let records = self.list_quarantine(Some(QuarantineState::Held))?;
        Ok(records.into_iter().last())
    }

    /// Up to `limit` held entries that expire at or before `now`, soonest
    /// first.
    fn expiring(&self, now: u64, limit: usize) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut records = self.list_quarantine(Some(QuarantineState::Held))?;
        records.retain(|r| r.expires_at <= now);
        records.sort_unstable_by_key(|r| (r.expires_at, r.id));
        records.truncate(limit);
        Ok(records)
    }

    /// Deletes the quarantine entries decided (released, rejected or
    /// expired) before `decided_before` whose message is finished with (no
    /// record left, or a finished tombstone), with what the store kept of
    /// them; returns how many. The audit chain keeps the record of each
    /// decision; this keeps the store (and every listing) the size of what
    /// is recent. A shared engine also forgets tombstones finished before
    /// then.
    fn prune_decided(&self, decided_before: u64) -> Result<u64, StoreError>;

    /// Gives up to `limit` quarantine entries written by an older version
    /// what a search reads first (their summary and search text), so that
    /// searches stop reading them whole; returns how many, 0 once none is
    /// left. Only a shared engine has such entries: sled rebuilds its index
    /// on open.
    fn complete_search_texts(&self, limit: usize) -> Result<u64, StoreError> {
        let _ = limit;
        Ok(0)
    }

    /// The messages this node must process for a notice: see
    /// [`notices_owed`], which is what the embedded engines do. A shared
    /// engine answers for the messages this node owns only.
    fn notices_owed(&self) -> Result<BTreeSet<QueueId>, StoreError> {
        notices_owed_by_scan(self)
    }

    /// Keeps a copy of a held message's envelope and bytes in the store, so
    /// that any node can show and release it. The embedded engines need none
    /// (the one node's spool has the message) and keep nothing.
    fn put_held_content(
        &self,
        _message_id: &QueueId,
        _envelope: &Envelope,
        _content: &[u8],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The copy kept by [`Engine::put_held_content`], if any.
    fn held_content(
        &self,
        _message_id: &QueueId,
    ) -> Result<Option<(Envelope, Vec<u8>)>, StoreError> {
        Ok(None)
    }

    /// True when the store knows message `id` as finished or as another
    /// node's (which took it over to carry out a decision): this node's
    /// spool file of it is obsolete and must not be sent again. Always false
    /// for the embedded engines.
    fn disowned(&self, _id: &QueueId) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Notes that this node is alive (shared engines; see
    /// [`Engine::adopt_orphans`]).
    fn heartbeat(&self, _now: u64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Notes that this node is alive at `now` and takes over, for it, the
    /// messages of nodes not heard of since `silent_since` that have work to do and whose bytes the store holds
    /// (held, then decided), so that a decision made while their node is
    /// down is carried out; returns their ids. Claimed so that two nodes
    /// never take the same message. Nothing for the embedded engines.
    fn adopt_orphans(&self, _now: u64, _silent_since: u64) -> Result<Vec<QueueId>, StoreError> {
        Ok(Vec::new())
    }

    /// Whether message `id` is this node's to process: false only for a
    /// shared engine's message owned by another node.
    fn is_mine(&self, _id: &QueueId) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Gauges for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Messages not finished.
    pub unfinished: u64,
    /// Unfinished messages with at least one deferred recipient.
    pub deferred: u64,
    /// Quarantine entries waiting for a decision.
    pub quarantine_held: u64,
}

/// The reason given for recipients whose quarantine entry expired.
pub const EXPIRED_REASON: &str =
    "held for review by Information Security and not decided before the quarantine expired";

/// What a decision does to the recipients of the message that are held
/// under quarantine entry `quarantine_id`; returns whether any changed.
///
/// - release: action `deliver`, status `pending` (the queue delivers them);
/// - reject: action `reject`, status `rejected`, sender not yet notified;
/// - expire: status `failed` with [`EXPIRED_REASON`], sender not yet notified.
pub fn apply_decision(
    message: &mut MessageRecord,
    quarantine_id: &QueueId,
    decision: Decision,
    at: u64,
) -> bool {
    let mut changed = false;
    for recipient in &mut message.recipients {
        if !matches!(&recipient.status, RecipientStatus::Held { quarantine_id: q } if q == quarantine_id)
        {
            continue;
        }
        changed = true;
        match decision {
            Decision::Release => {
                recipient.action = Some(PlannedAction::Deliver);
                recipient.status = RecipientStatus::Pending;
            }
            Decision::Reject => {
                recipient.action = Some(PlannedAction::Reject);
                recipient.status = RecipientStatus::Rejected {
                    at,
                    notified: false,
                };
            }
            Decision::Expire => {
                recipient.status = RecipientStatus::Failed {
                    at,
                    reason: EXPIRED_REASON.to_owned(),
                    code: Some(StatusCode::POLICY_REFUSED),
                    notified: false,
                };
            }
        }
    }
    changed
}

/// Marks the recipients listed in a held quarantine entry as held under it
/// (those not already final); returns whether any changed.
pub(crate) fn mark_held(message: &mut MessageRecord, quarantine: &QuarantineRecord) -> bool {
    if quarantine.state != QuarantineState::Held {
        return false;
    }
    let mut changed = false;
    for recipient in &mut message.recipients {
        if quarantine.recipients.contains(&recipient.address) && !recipient.status.is_final() {
            recipient.status = RecipientStatus::Held {
                quarantine_id: quarantine.id,
            };
            changed = true;
        }
    }
    changed
}

/// Records a release proposal in a quarantine entry, refusing if it is not held.
pub(crate) fn propose_record(
    record: &mut QuarantineRecord,
    proposal: ReleaseProposal,
) -> Result<(), StoreError> {
    if record.state != QuarantineState::Held {
        return Err(StoreError::AlreadyDecided {
            id: record.id,
            state: record.state,
        });
    }
    record.release_proposal = Some(proposal);
    Ok(())
}

/// Records a decision in a quarantine entry, refusing if it is not held.
pub(crate) fn decide_record(
    record: &mut QuarantineRecord,
    decision: Decision,
    by: &str,
    note: Option<&str>,
    at: u64,
) -> Result<(), StoreError> {
    if record.state != QuarantineState::Held {
        return Err(StoreError::AlreadyDecided {
            id: record.id,
            state: record.state,
        });
    }
    record.state = decision.state();
    record.decided_by = Some(by.to_owned());
    record.decided_at = Some(at);
    record.note = note.map(str::to_owned);
    record.sender_notified = false;
    Ok(())
}

/// Sets the status of the recipients with this address, or says there is none.
pub(crate) fn set_status(
    record: &mut MessageRecord,
    address: &str,
    status: &RecipientStatus,
) -> Result<(), StoreError> {
    let mut found = false;
    for recipient in record
        .recipients
        .iter_mut()
        .filter(|r| r.address == address)
    {
        recipient.status = status.clone();
        found = true;
    }
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: "recipient",
            key: format!("{address} in message {}", record.id),
        })
    }
}

/// Sorts quarantine entries newest first.
pub(crate) fn sort_newest_first(records: &mut [QuarantineRecord]) {
    records.sort_unstable_by_key(|q| std::cmp::Reverse((q.held_at, q.id)));
}

/// What the gateway must do on start to bring the spool and the index back
/// into agreement after a crash. Every list is oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Spooled with no record: accepted (250 sent) just before a crash.
    /// Read the spool file, create the record, inspect and act.
    pub unrecorded: Vec<QueueId>,
    /// Spooled with an unfinished record, or with a quarantine entry whose
    /// sender has not been told of its state yet (a crash between the hold
    /// or the decision and the notice): inspect (if not yet), act on the
    /// recipients that are not final and send the notice that is due.
    pub unfinished: Vec<QueueId>,
    /// Complete ([`MessageRecord::is_complete`]), no notice owed, with the
    /// spool file still present: delete the spool file, then the record.
    pub to_delete: Vec<QueueId>,
    /// Complete with no spool file (a crash between the two deletions):
    /// delete the record.
    pub stale_records: Vec<QueueId>,
    /// Not complete (or a notice still owed), yet the spool file is gone
    /// and the store holds no copy: the message bytes are lost. Never
    /// expected; report it to the operator.
    pub missing_spool: Vec<QueueId>,
    /// Spooled here, but finished or taken over by another node meanwhile
    /// ([`Engine::disowned`]): delete the spool file only, never the record,
    /// and never send it again.
    pub disowned: Vec<QueueId>,
}

impl Reconciliation {
    /// The spooled messages to be processed again: `unrecorded` and
    /// `unfinished` together, oldest first.
    pub fn to_process(&self) -> Vec<QueueId> {
        let mut ids: Vec<QueueId> = self
            .unrecorded
            .iter()
            .chain(&self.unfinished)
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Compares the spool with the index (see [`Reconciliation`]). Read-only:
/// the caller acts on the result. A spool file without a record is never
/// garbage: it was accepted and must be processed. A message whose
/// quarantine entry still owes the sender a notice
/// ([`QuarantineRecord::sender_notified`] false) is not done either, even
/// when every recipient is final: the notice goes out on the next run (a
/// crash may repeat a notice, never lose one).
pub fn reconcile(spool: &Spool, store: &dyn Engine) -> Result<Reconciliation, StoreError> {
    let spooled: BTreeSet<QueueId> = spool.list()?.into_iter().collect();
    let owed = notices_owed(store)?;
    let mut result = Reconciliation::default();
    for id in &spooled {
        if store.disowned(id)? {
            result.disowned.push(*id);
            continue;
        }
        match store.get_message(id)? {
            None => result.unrecorded.push(*id),
            Some(record) if !record.is_finished() || owed.contains(id) => {
                result.unfinished.push(*id);
            }
            Some(record) if record.is_complete() => result.to_delete.push(*id),
            // Finished for the queue but held in quarantine: keep the file.
            Some(_) => {}
        }
    }
    for id in store.message_ids()? {
        if spooled.contains(&id) {
            continue;
        }
        // Removed meanwhile (the gateway is not expected to run yet): nothing to do.
        let Some(record) = store.get_message(&id)? else {
            continue;
        };
        if record.is_complete() && !owed.contains(&id) {
            result.stale_records.push(id);
        } else if store.held_content(&id)?.is_some() {
            // Taken over from another node: the store's copy is spooled
            // again when it is processed ([`restore_spooled`]).
            result.unfinished.push(id);
        } else {
            result.missing_spool.push(id);
        }
    }
    Ok(result)
}

/// Checks that the spool file of message `id` is whole, so that it can
/// still be delivered: `Ok(())`, or [`StoreError::DamagedSpool`] saying what
/// is wrong. The spool format has no checksum; a file counts as damaged
/// when it is missing, cannot be read, is not in the spool format or has an
/// envelope that does not parse ([`Spool::read`]), or when it disagrees
/// with the message's record: another envelope sender or recipients, or a
/// message of another size than was accepted (truncated or grown). Other
/// errors are the store's own.
pub fn verify_spooled(spool: &Spool, store: &dyn Engine, id: &QueueId) -> Result<(), StoreError> {
    let record = store.get_message(id)?;
    let damaged = |problem: String| StoreError::DamagedSpool { id: *id, problem };
    let (envelope, message) = match spool.read(id) {
        Ok(read) => read,
        Err(StoreError::NotFound { .. }) => {
            return Err(damaged("the spool file is missing".to_owned()));
        }
        Err(StoreError::Io { source, .. }) => {
            return Err(damaged(format!("the spool file cannot be read: {source}")));
        }
        Err(e) => return Err(e),
    };
    let Some(record) = record else {
        return Ok(());
    };
    if envelope.mail_from != record.envelope.mail_from
        || envelope.rcpt_to != record.envelope.rcpt_to
    {
        return Err(damaged(
            "its envelope is not the one recorded when the message was accepted".to_owned(),
        ));
    }
    let size = u64::try_from(message.len()).unwrap_or(u64::MAX);
    if size != record.size {
        return Err(damaged(format!(
            "the message is {size} bytes, but {} were accepted (truncated or altered)",
            record.size
        )));
    }
    Ok(())
}

/// Writes the store's copy of message `id` ([`Engine::held_content`]) to
/// the spool if the spool has no file of it: how a node that took over
/// another's message gets the bytes to deliver. Returns whether it wrote
/// one; false when the file exists or the store has no copy.
pub fn restore_spooled(
    spool: &Spool,
    store: &dyn Engine,
    id: &QueueId,
) -> Result<bool, StoreError> {
    if spool.contains(id) {
        return Ok(false);
    }
    let Some((envelope, content)) = store.held_content(id)? else {
        return Ok(false);
    };
    spool.write(id, &envelope, &content)?;
    Ok(true)
}

/// The messages whose sender is owed a notice: a quarantine entry not yet
/// told of ([`QuarantineRecord::sender_notified`] false: held and not yet
/// told, or decided and not yet told of the decision), or a recipient
/// rejected or failed and not yet told ([`RecipientStatus::owes_notice`]).
/// The gateway sends these after a crash and sweeps for them while it runs.
pub fn notices_owed(store: &dyn Engine) -> Result<BTreeSet<QueueId>, StoreError> {
    store.notices_owed()
}

/// [`notices_owed`] by reading the quarantine and the unfinished messages.
fn notices_owed_by_scan<E: Engine + ?Sized>(store: &E) -> Result<BTreeSet<QueueId>, StoreError> {
    let mut owed: BTreeSet<QueueId> = store
        .list_quarantine(None)?
        .into_iter()
        .filter(|q| !q.sender_notified)
        .map(|q| q.message_id)
        .collect();
    owed.extend(
        store
            .unfinished_messages()?
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r.status.owes_notice()))
            .map(|m| m.id),
    );
    Ok(owed)
}

#[cfg(test)]
pub(crate) mod tests {
    //! Behaviour every backend must have: each test is one generic function,
    //! run against every backend by the macro at the end.

    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::record::RecipientRecord;
    use crate::sender_activity::MAX_WINDOW_SECS;
    use crate::sled_store::SledStore;
    use crate::spool::Envelope;

    fn envelope(rcpts: &[&str]) -> Envelope {
        Envelope {
            mail_from: "pc.jones@northshire.police.uk".into(),
            rcpt_to: rcpts.iter().map(|r| r.to_string()).collect(),
            client_ip: Some("10.1.2.3".into()),
            helo: Some("exch01".into()),
            received_at: 1_700_000_000,
        }
    }

    fn message(rcpts: &[&str]) -> MessageRecord {
        MessageRecord::new(QueueId::new(), envelope(rcpts), 1234)
    }

    /// An inspected message whose recipients have these statuses.
    pub(crate) fn inspected(statuses: &[RecipientStatus]) -> MessageRecord {
        let mut record = message(&[]);
        record.inspected = true;
        record.verdict_json = Some(r#"{"level":"OFFICIAL"}"#.into());
        record.recipients = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| RecipientRecord {
                address: format!("r{i}@example.org"),
                action: Some(PlannedAction::Deliver),
                status: status.clone(),
            })
            .collect();
        record
    }

    pub(crate) fn deferred(at: u64) -> RecipientStatus {
        RecipientStatus::Deferred {
            attempts: 1,
            next_attempt_at: at,
            last_error: "421 try later".into(),
        }
    }

    pub(crate) fn quarantine(
        message: &MessageRecord,
        recipients: &[&str],
        held_at: u64,
    ) -> QuarantineRecord {
        QuarantineRecord {
            id: QueueId::new(),
            message_id: message.id,
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            sender: message.envelope.mail_from.clone(),
            subject: Some("[OFFICIAL-SENSITIVE] case file".into()),
            held_at,
            expires_at: held_at + 30 * 86_400,
            state: QuarantineState::Held,
            findings_json: r#"[{"detector":"uk_nino"}]"#.into(),
            reasons_json: r#"[{"rule":"personal-data-to-insecure"}]"#.into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        }
    }

    fn ids(records: &[MessageRecord]) -> Vec<QueueId> {
        records.iter().map(|r| r.id).collect()
    }

    fn message_round_trip(store: &dyn Engine) {
        let mut record = message(&["a@gmail.com", "b@nhs.net"]);
        assert_eq!(store.get_message(&record.id).unwrap(), None);
        store.put_message(&record).unwrap();
        assert_eq!(
            store.get_message(&record.id).unwrap().as_ref(),
            Some(&record)
        );
        record.inspected = true;
        record.subject = Some("Café ☃".into());
        record.recipients[0].action = Some(PlannedAction::Hold);
        store.put_message(&record).unwrap();
        assert_eq!(
            store.get_message(&record.id).unwrap().as_ref(),
            Some(&record)
        );
        assert_eq!(store.message_ids().unwrap(), vec![record.id]);
        assert!(store.remove_message(&record.id).unwrap());
        assert!(!store.remove_message(&record.id).unwrap());
        assert_eq!(store.get_message(&record.id).unwrap(), None);
        assert!(store.message_ids().unwrap().is_empty());
    }

    fn unfinished_excludes_finished(store: &dyn Engine) {
        let fresh = message(&["a@gmail.com"]);
        let delivered = inspected(&[RecipientStatus::Delivered { at: 1 }]);
        let held = inspected(&[RecipientStatus::Held {
            quarantine_id: QueueId::new(),
        }]);
        let unnotified = inspected(&[
            RecipientStatus::Delivered { at: 1 },
            RecipientStatus::Rejected {
                at: 1,
                notified: false,
            },
        ]);
        let notified = inspected(&[RecipientStatus::Failed {
            at: 1,
            reason: "550".into(),
            code: None,
            notified: true,
        }]);
        let later = inspected(&[deferred(500)]);
        let no_recipients_uninspected = message(&[]);
        for record in [
            &later,
            &fresh,
            &delivered,
            &held,
            &unnotified,
            &notified,
            &no_recipients_uninspected,
        ] {
            store.put_message(record).unwrap();
        }
        assert_eq!(
            ids(&store.unfinished_messages().unwrap()),
            vec![
                fresh.id,
                unnotified.id,
                later.id,
                no_recipients_uninspected.id
            ]
        );
        // Finishing and un-finishing through a replace is reflected.
        let mut fresh_done = fresh.clone();
        fresh_done.inspected = true;
        fresh_done.recipients[0].status = RecipientStatus::Delivered { at: 2 };
        store.put_message(&fresh_done).unwrap();
        let mut delivered_again = delivered.clone();
        delivered_again.recipients[0].status = RecipientStatus::Pending;
        store.put_message(&delivered_again).unwrap();
        assert_eq!(
            ids(&store.unfinished_messages().unwrap()),
            vec![
                delivered.id,
                unnotified.id,
                later.id,
                no_recipients_uninspected.id
            ]
        );
        store.remove_message(&later.id).unwrap();
        assert_eq!(
            ids(&store.unfinished_messages().unwrap()),
            vec![delivered.id, unnotified.id, no_recipients_uninspected.id]
        );
    }

    fn due_messages_by_time(store: &dyn Engine) {
        let early = inspected(&[RecipientStatus::Delivered { at: 1 }, deferred(100)]);
        let late = inspected(&[deferred(300), deferred(200)]);
        let pending = inspected(&[RecipientStatus::Pending]);
        for record in [&early, &late, &pending] {
            store.put_message(record).unwrap();
        }
        assert!(store.due_messages(99).unwrap().is_empty());
        assert_eq!(ids(&store.due_messages(100).unwrap()), vec![early.id]);
        assert_eq!(
            ids(&store.due_messages(250).unwrap()),
            vec![early.id, late.id]
        );
        store
            .set_recipient_status(&early.id, "r1@example.org", deferred(1000))
            .unwrap();
        assert_eq!(ids(&store.due_messages(250).unwrap()), vec![late.id]);
        store
            .set_recipient_status(
                &late.id,
                "r1@example.org",
                RecipientStatus::Delivered { at: 5 },
            )
            .unwrap();
        assert!(store.due_messages(250).unwrap().is_empty());
        assert_eq!(ids(&store.due_messages(300).unwrap()), vec![late.id]);
        store
            .set_recipient_status(
                &late.id,
                "r0@example.org",
                RecipientStatus::Delivered { at: 6 },
            )
            .unwrap();
        assert_eq!(ids(&store.due_messages(u64::MAX).unwrap()), vec![early.id]);
    }

    fn set_recipient_status_updates(store: &dyn Engine) {
        let record = inspected(&[RecipientStatus::Pending, RecipientStatus::Pending]);
        store.put_message(&record).unwrap();
        let updated = store
            .set_recipient_status(
                &record.id,
                "r0@example.org",
                RecipientStatus::Delivered { at: 9 },
            )
            .unwrap();
        assert_eq!(
            updated.recipients[0].status,
            RecipientStatus::Delivered { at: 9 }
        );
        assert_eq!(updated.recipients[1].status, RecipientStatus::Pending);
        assert_eq!(store.get_message(&record.id).unwrap(), Some(updated));
        let finished = store
            .set_recipient_status(
                &record.id,
                "r1@example.org",
                RecipientStatus::Failed {
                    at: 10,
                    reason: "550 5.1.1 no such user".into(),
                    code: "5.1.1".parse().ok(),
                    notified: true,
                },
            )
            .unwrap();
        assert!(finished.is_finished());
        assert!(store.unfinished_messages().unwrap().is_empty());

        let err = store
            .set_recipient_status(&record.id, "nobody@example.org", RecipientStatus::Pending)
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let err = store
            .set_recipient_status(&QueueId::new(), "r0@example.org", RecipientStatus::Pending)
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        // A failed update changed nothing.
        assert_eq!(store.get_message(&record.id).unwrap(), Some(finished));
    }

    fn concurrent_updates_lose_nothing(store: &dyn Engine) {
        const THREADS: usize = 6;
        const ROUNDS: u32 = 8;
        let statuses = vec![RecipientStatus::Pending; THREADS];
        let record = inspected(&statuses);
        store.put_message(&record).unwrap();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let id = record.id;
                s.spawn(move || {
                    let address = format!("r{t}@example.org");
                    for round in 1..=ROUNDS {
                        let status = if round == ROUNDS {
                            RecipientStatus::Delivered { at: t as u64 }
                        } else {
                            RecipientStatus::Deferred {
                                attempts: round,
                                next_attempt_at: u64::from(round),
                                last_error: format!("thread {t}"),
                            }
                        };
                        store.set_recipient_status(&id, &address, status).unwrap();
                    }
                });
            }
        });
        let stored = store.get_message(&record.id).unwrap().unwrap();
        for (t, recipient) in stored.recipients.iter().enumerate() {
            assert_eq!(
                recipient.status,
                RecipientStatus::Delivered { at: t as u64 }
            );
        }
        assert!(store.unfinished_messages().unwrap().is_empty());
        assert!(store.due_messages(u64::MAX).unwrap().is_empty());
    }

    fn hold_and_release(store: &dyn Engine) {
        let mut record = message(&["x@gmail.com", "y@nhs.net", "z@yahoo.com"]);
        record.inspected = true;
        record.recipients[0].action = Some(PlannedAction::Hold);
        record.recipients[1].action = Some(PlannedAction::Deliver);
        record.recipients[2].action = Some(PlannedAction::Hold);
        record.recipients[1].status = RecipientStatus::Delivered { at: 3 };
        store.put_message(&record).unwrap();
        let q = quarantine(&record, &["x@gmail.com", "z@yahoo.com"], 50);
        store.put_quarantine(&q).unwrap();
        assert_eq!(store.get_quarantine(&q.id).unwrap().as_ref(), Some(&q));
        let held = store.get_message(&record.id).unwrap().unwrap();
        let expected = RecipientStatus::Held {
            quarantine_id: q.id,
        };
        assert_eq!(held.recipients[0].status, expected);
        assert_eq!(
            held.recipients[1].status,
            RecipientStatus::Delivered { at: 3 }
        );
        assert_eq!(held.recipients[2].status, expected);
        assert!(held.is_finished() && !held.is_complete());
        assert!(store.unfinished_messages().unwrap().is_empty());

        let decided = store
            .decide_quarantine(
                &q.id,
                Decision::Release,
                "officer.k",
                Some("work address, fine"),
                60,
            )
            .unwrap();
        assert_eq!(decided.state, QuarantineState::Released);
        assert_eq!(decided.decided_by.as_deref(), Some("officer.k"));
        assert_eq!(decided.decided_at, Some(60));
        assert_eq!(decided.note.as_deref(), Some("work address, fine"));
        assert_eq!(store.get_quarantine(&q.id).unwrap(), Some(decided.clone()));
        let released = store.get_message(&record.id).unwrap().unwrap();
        for i in [0, 2] {
            assert_eq!(released.recipients[i].status, RecipientStatus::Pending);
            assert_eq!(released.recipients[i].action, Some(PlannedAction::Deliver));
        }
        assert_eq!(ids(&store.unfinished_messages().unwrap()), vec![record.id]);

        // Deciding twice is an error and changes nothing.
        for decision in [Decision::Release, Decision::Reject, Decision::Expire] {
            match store.decide_quarantine(&q.id, decision, "officer.m", None, 70) {
                Err(StoreError::AlreadyDecided { id, state }) => {
                    assert_eq!((id, state), (q.id, QuarantineState::Released));
                }
                other => panic!("expected AlreadyDecided, got {other:?}"),
            }
        }
        assert_eq!(store.get_quarantine(&q.id).unwrap(), Some(decided));
        assert_eq!(store.get_message(&record.id).unwrap(), Some(released));
        let err = store
            .decide_quarantine(&QueueId::new(), Decision::Reject, "officer.k", None, 1)
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }

    fn reject_and_expire(store: &dyn Engine) {
        for (decision, expected) in [
            (
                Decision::Reject,
                RecipientStatus::Rejected {
                    at: 80,
                    notified: false,
                },
            ),
            (
                Decision::Expire,
                RecipientStatus::Failed {
                    at: 80,
                    reason: EXPIRED_REASON.into(),
                    code: Some(StatusCode::POLICY_REFUSED),
                    notified: false,
                },
            ),
        ] {
            let mut record = message(&["x@gmail.com"]);
            record.inspected = true;
            store.put_message(&record).unwrap();
            let q = quarantine(&record, &["x@gmail.com"], 50);
            store.put_quarantine(&q).unwrap();
            let decided = store
                .decide_quarantine(&q.id, decision, "system", None, 80)
                .unwrap();
            assert_eq!(decided.state, decision.state());
            record = store.get_message(&record.id).unwrap().unwrap();
            assert_eq!(record.recipients[0].status, expected);
            // The sender's notice is still to be sent.
            assert!(
                store
                    .unfinished_messages()
                    .unwrap()
                    .iter()
                    .any(|m| m.id == record.id)
            );
        }
        // A decision whose message record is already gone still records.
        let gone = message(&["x@gmail.com"]);
        let q = quarantine(&gone, &["x@gmail.com"], 1);
        store.put_quarantine(&q).unwrap();
        assert_eq!(store.get_message(&gone.id).unwrap(), None);
        let decided = store
            .decide_quarantine(&q.id, Decision::Reject, "a", None, 2)
            .unwrap();
        assert_eq!(decided.state, QuarantineState::Rejected);
    }

    /// An inspected message to one recipient, held under a stored entry.
    fn held_one(store: &dyn Engine) -> QuarantineRecord {
        let mut record = message(&["x@gmail.com"]);
        record.inspected = true;
        store.put_message(&record).unwrap();
        let q = quarantine(&record, &["x@gmail.com"], 50);
        store.put_quarantine(&q).unwrap();
        q
    }

    fn four_eyes_proposal(store: &dyn Engine) {
        let q = held_one(store);
        let proposal = ReleaseProposal {
            by: "officer.k".into(),
            at: 55,
            note: "looks fine".into(),
        };
        let proposed = store.propose_release(&q.id, proposal.clone()).unwrap();
        assert_eq!(proposed.state, QuarantineState::Held, "still held");
        assert_eq!(proposed.release_proposal.as_ref(), Some(&proposal));
        assert_eq!(store.get_quarantine(&q.id).unwrap(), Some(proposed));
        store
            .decide_quarantine(&q.id, Decision::Release, "officer.m", Some("agreed"), 60)
            .unwrap();
        let late = store.propose_release(&q.id, proposal);
        assert!(
            matches!(late, Err(StoreError::AlreadyDecided { .. })),
            "{late:?}"
        );
        assert!(
            store
                .propose_release(
                    &QueueId::new(),
                    ReleaseProposal {
                        by: "a".into(),
                        at: 1,
                        note: "n".into()
                    }
                )
                .unwrap_err()
                .is_not_found()
        );
    }

    fn sender_notified_follows_the_state(store: &dyn Engine) {
        let q = held_one(store);
        assert!(
            !store
                .get_quarantine(&q.id)
                .unwrap()
                .unwrap()
                .sender_notified
        );
        // The held notice went out: noted.
        assert!(
            store
                .set_quarantine_notified(&q.id, QuarantineState::Held)
                .unwrap()
        );
        assert!(
            store
                .get_quarantine(&q.id)
                .unwrap()
                .unwrap()
                .sender_notified
        );
        // A decision needs its own notice.
        let decided = store
            .decide_quarantine(&q.id, Decision::Release, "officer.k", None, 60)
            .unwrap();
        assert!(!decided.sender_notified);
        // A notice about the old state does not count for the new one.
        assert!(
            !store
                .set_quarantine_notified(&q.id, QuarantineState::Held)
                .unwrap()
        );
        assert!(
            !store
                .get_quarantine(&q.id)
                .unwrap()
                .unwrap()
                .sender_notified
        );
        assert!(
            store
                .set_quarantine_notified(&q.id, QuarantineState::Released)
                .unwrap()
        );
        assert!(
            store
                .get_quarantine(&q.id)
                .unwrap()
                .unwrap()
                .sender_notified
        );
        assert!(
            !store
                .set_quarantine_notified(&QueueId::new(), QuarantineState::Held)
                .unwrap()
        );
    }

    fn list_quarantine_order_and_filter(store: &dyn Engine) {
        let record = message(&["x@gmail.com"]);
        let a = quarantine(&record, &["x@gmail.com"], 10);
        let b = quarantine(&record, &["x@gmail.com"], 30);
        let c = quarantine(&record, &["x@gmail.com"], 20);
        let d = quarantine(&record, &["x@gmail.com"], 20);
        for q in [&a, &b, &c, &d] {
            store.put_quarantine(q).unwrap();
        }
        let all: Vec<QueueId> = store
            .list_quarantine(None)
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(all, vec![b.id, d.id, c.id, a.id]);
        store
            .decide_quarantine(&c.id, Decision::Reject, "o", None, 40)
            .unwrap();
        let held: Vec<QueueId> = store
            .list_quarantine(Some(QuarantineState::Held))
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(held, vec![b.id, d.id, a.id]);
        let rejected = store
            .list_quarantine(Some(QuarantineState::Rejected))
            .unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].id, c.id);
        assert!(
            store
                .list_quarantine(Some(QuarantineState::Expired))
                .unwrap()
                .is_empty()
        );
    }

    fn counts_for_metrics(store: &dyn Engine) {
        assert_eq!(store.counts().unwrap(), StoreCounts::default());
        store.put_message(&message(&["a@b.c"])).unwrap();
        store
            .put_message(&inspected(&[deferred(5), RecipientStatus::Pending]))
            .unwrap();
        store
            .put_message(&inspected(&[RecipientStatus::Delivered { at: 1 }]))
            .unwrap();
        let mut held = message(&["x@gmail.com"]);
        held.inspected = true;
        store.put_message(&held).unwrap();
        let q1 = quarantine(&held, &["x@gmail.com"], 1);
        let q2 = quarantine(&held, &["x@gmail.com"], 2);
        store.put_quarantine(&q1).unwrap();
        store.put_quarantine(&q2).unwrap();
        store
            .decide_quarantine(&q2.id, Decision::Reject, "o", None, 3)
            .unwrap();
        assert_eq!(
            store.counts().unwrap(),
            StoreCounts {
                unfinished: 2,
                deferred: 1,
                quarantine_held: 1
            }
        );
    }

    fn reconcile_spool_and_index(store: &dyn Engine) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let env = envelope(&["a@gmail.com"]);
        let spooled = |record: &MessageRecord| spool.write(&record.id, &env, b"body").unwrap();

        // Accepted, then a crash before the record was written.
        let unrecorded = QueueId::new();
        spool.write(&unrecorded, &env, b"body").unwrap();
        // Inspected, delivery interrupted.
        let unfinished = inspected(&[RecipientStatus::Pending]);
        // Done, spool file not yet deleted.
        let done = inspected(&[RecipientStatus::Delivered { at: 1 }]);
        // Held for review: finished for the queue, file still needed.
        let held = inspected(&[RecipientStatus::Held {
            quarantine_id: QueueId::new(),
        }]);
        // Done and file deleted, record not yet.
        let stale = inspected(&[RecipientStatus::Delivered { at: 1 }]);
        // Unfinished, and its file is gone: must be reported.
        let lost = inspected(&[RecipientStatus::Pending]);
        for record in [&unfinished, &done, &held] {
            spooled(record);
        }
        for record in [&unfinished, &done, &held, &stale, &lost] {
            store.put_message(record).unwrap();
        }
        let result = reconcile(&spool, store).unwrap();
        assert_eq!(
            result,
            Reconciliation {
                unrecorded: vec![unrecorded],
                unfinished: vec![unfinished.id],
                to_delete: vec![done.id],
                stale_records: vec![stale.id],
                missing_spool: vec![lost.id],
                disowned: vec![],
            }
        );
        assert_eq!(result.to_process(), vec![unrecorded, unfinished.id]);
    }

    fn reconcile_resumes_notices_a_crash_left_owing(store: &dyn Engine) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let env = envelope(&["x@gmail.com"]);
        // Held, then a crash before the held notice: every recipient is
        // final, but the entry says the sender was not told.
        let mut held = message(&["x@gmail.com"]);
        held.inspected = true;
        held.recipients[0].action = Some(PlannedAction::Hold);
        store.put_message(&held).unwrap();
        let mut entry = quarantine(&held, &["x@gmail.com"], 50);
        entry.id = held.id;
        store.put_quarantine(&entry).unwrap();
        spool.write(&held.id, &env, b"body").unwrap();
        // Released and delivered, then a crash before the released notice:
        // complete for the queue, but the spool file is still needed.
        let mut released = message(&["x@gmail.com"]);
        released.inspected = true;
        store.put_message(&released).unwrap();
        let mut entry = quarantine(&released, &["x@gmail.com"], 50);
        entry.id = released.id;
        store.put_quarantine(&entry).unwrap();
        store
            .decide_quarantine(&entry.id, Decision::Release, "officer.k", None, 60)
            .unwrap();
        store
            .set_recipient_status(
                &released.id,
                "x@gmail.com",
                RecipientStatus::Delivered { at: 61 },
            )
            .unwrap();
        spool.write(&released.id, &env, b"body").unwrap();
        // Held and told: nothing to do.
        let mut told = message(&["x@gmail.com"]);
        told.inspected = true;
        store.put_message(&told).unwrap();
        let mut entry = quarantine(&told, &["x@gmail.com"], 50);
        entry.id = told.id;
        store.put_quarantine(&entry).unwrap();
        store
            .set_quarantine_notified(&entry.id, QuarantineState::Held)
            .unwrap();
        spool.write(&told.id, &env, b"body").unwrap();

        let result = reconcile(&spool, store).unwrap();
        let mut owing = vec![held.id, released.id];
        owing.sort_unstable();
        assert_eq!(result.unfinished, owing);
        assert!(result.to_delete.is_empty(), "{result:?}");
        assert_eq!(result.to_process(), owing);
        assert_eq!(
            notices_owed(store).unwrap().into_iter().collect::<Vec<_>>(),
            owing
        );
    }

    fn damaged_spool_files_are_recognised(store: &dyn Engine) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let env = envelope(&["x@gmail.com"]);
        let whole = b"Subject: case\r\n\r\nThe whole message.\r\n";
        let mut record = MessageRecord::new(QueueId::new(), env.clone(), whole.len() as u64);
        record.inspected = true;
        store.put_message(&record).unwrap();
        let problem = |result: Result<(), StoreError>| match result {
            Err(StoreError::DamagedSpool { problem, .. }) => problem,
            other => panic!("expected a damaged spool file, got {other:?}"),
        };
        assert!(problem(verify_spooled(&spool, store, &record.id)).contains("missing"));
        spool.write(&record.id, &env, whole).unwrap();
        verify_spooled(&spool, store, &record.id).unwrap();
        // Cut short after acceptance: only the record knows the size.
        spool.write(&record.id, &env, &whole[..10]).unwrap();
        assert!(
            problem(verify_spooled(&spool, store, &record.id)).contains("truncated"),
            "a short message is damaged"
        );
        let mut other = env.clone();
        other.rcpt_to = vec!["y@gmail.com".into()];
        spool.write(&record.id, &other, whole).unwrap();
        assert!(problem(verify_spooled(&spool, store, &record.id)).contains("envelope"));
        std::fs::write(spool.path_of(&record.id), b"cordon-spool 1\n{not json").unwrap();
        assert!(problem(verify_spooled(&spool, store, &record.id)).contains("envelope"));
        // Without a record, a readable file is all there is to check.
        let unrecorded = QueueId::new();
        spool.write(&unrecorded, &env, b"x").unwrap();
        verify_spooled(&spool, store, &unrecorded).unwrap();
    }

    fn decided_entries_are_pruned_after_the_retention(store: &dyn Engine) {
        let done = inspected(&[RecipientStatus::Delivered { at: 1 }]);
        let old_done = quarantine(&done, &["r0@example.org"], 100);
        let recent_done = quarantine(&done, &["r0@example.org"], 150);
        let waiting = inspected(&[RecipientStatus::Pending]);
        let old_waiting = quarantine(&waiting, &["r0@example.org"], 100);
        let still_held = quarantine(&done, &["r0@example.org"], 10);
        store.put_message(&waiting).unwrap();
        for entry in [&old_done, &recent_done, &old_waiting, &still_held] {
            store.put_quarantine(entry).unwrap();
        }
        store
            .set_recipient_status(&waiting.id, "r0@example.org", RecipientStatus::Pending)
            .unwrap();
        for (entry, at) in [(&old_done, 200), (&recent_done, 900), (&old_waiting, 200)] {
            store
                .decide_quarantine(&entry.id, Decision::Reject, "j.smith", None, at)
                .unwrap();
        }
        // Decided before 500 and finished with: only old_done. The one whose
        // message still has work waits; the held one is never pruned.
        assert_eq!(store.prune_decided(500).unwrap(), 1);
        assert!(store.get_quarantine(&old_done.id).unwrap().is_none());
        for kept in [&recent_done, &old_waiting, &still_held] {
            assert!(store.get_quarantine(&kept.id).unwrap().is_some());
        }
        assert_eq!(store.list_quarantine(None).unwrap().len(), 3);
        assert_eq!(
            store
                .list_quarantine(Some(QuarantineState::Rejected))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(store.counts().unwrap().quarantine_held, 1);
        assert_eq!(store.prune_decided(500).unwrap(), 0);
        // Its message finished: pruned in turn.
        store.remove_message(&waiting.id).unwrap();
        assert_eq!(store.prune_decided(500).unwrap(), 1);
        assert!(store.get_quarantine(&old_waiting.id).unwrap().is_none());
    }

    /// Entries with varied senders, domains, rules, times and states.
    fn varied_quarantine(store: &dyn Engine) -> Vec<QuarantineRecord> {
        let record = message(&["x@gmail.com"]);
        let mut entries = Vec::new();
        for i in 0..40u64 {
            let domain = ["gmail.com", "nhs.net", "outlook.com"][(i % 3) as usize];
            let to = format!("p{i}@{domain}");
            let mut entry = quarantine(&record, &[to.as_str()], 1_000 + (i % 7) * 3_600 + i);
            entry.sender = format!("officer{}@northshire.police.uk", i % 4);
            // some subjects only Unicode case folding matches to ASCII
            entry.subject = Some(match i % 8 {
                3 => format!("\u{212A}ase {i} file"),
                5 => format!("CASE {i} FILE, Müller"),
                _ => format!("Case {i} file"),
            });
            entry.rules = match i % 3 {
                0 => vec!["personal-data".into()],
                1 => vec!["personal-data".into(), "marking".into()],
                _ => Vec::new(),
            };
            if i % 3 == 2 {
                // An entry from before `rules` was kept: read from the reasons.
                entry.reasons_json = r#"[{"address":"a","reasons":[{"rule":"webmail"}]}]"#.into();
            }
            store.put_quarantine(&entry).unwrap();
            entries.push(entry);
        }
        for (n, entry) in entries.iter_mut().enumerate().filter(|(n, _)| n % 5 == 0) {
            let decision = [Decision::Release, Decision::Reject, Decision::Expire][n % 3];
            *entry = store
                .decide_quarantine(&entry.id, decision, "o", None, 50_000 + n as u64 * 1_800)
                .unwrap();
        }
        entries
    }

    fn pages_counts_and_tally_agree_with_reading_everything(store: &dyn Engine) {
        let entries = varied_quarantine(store);
        let queries = [
            QuarantineQuery::default(),
            QuarantineQuery::in_state(QuarantineState::Held),
            QuarantineQuery::in_state(QuarantineState::Rejected),
            QuarantineQuery {
                rule: Some("marking".into()),
                ..QuarantineQuery::in_state(QuarantineState::Held)
            },
            QuarantineQuery {
                rule: Some("webmail".into()),
                ..QuarantineQuery::default()
            },
            QuarantineQuery {
                sender: Some("OFFICER2".into()),
                domain: Some("nhs.net".into()),
                ..QuarantineQuery::default()
            },
            QuarantineQuery {
                text: Some("case 1".into()),
                held_from: Some(1_000 + 3_600),
                held_until: Some(1_000 + 4 * 3_600),
                ..QuarantineQuery::in_state(QuarantineState::Held)
            },
            QuarantineQuery {
                text: Some("KASE ".into()),
                domain: Some("@GMAIL.com".into()),
                ..QuarantineQuery::default()
            },
            QuarantineQuery {
                text: Some("MÜLLER".into()),
                ..QuarantineQuery::default()
            },
        ];
        let mut newest_first = entries.clone();
        sort_newest_first(&mut newest_first);
        for query in &queries {
            let expected: Vec<QueueId> = newest_first
                .iter()
                .filter(|r| query.matches(*r))
                .map(|r| r.id)
                .collect();
            // Page through with a page size that does not divide the total.
            let count = store.count_quarantine(query).unwrap();
            assert_eq!(
                count,
                QuarantineCount::by_scan(query, entries.iter()),
                "{query:?}"
            );
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = store.page_quarantine(query, cursor.as_ref(), 3).unwrap();
                assert!(page.records.len() <= 3);
                // a search gives the same page, with the count of them all
                let search = store.search_quarantine(query, cursor.as_ref(), 3).unwrap();
                assert_eq!(search.page, page, "{query:?}");
                assert_eq!(search.count, count, "{query:?}");
                seen.extend(page.records.iter().map(|r| r.id));
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{query:?}");
            assert!(!expected.is_empty(), "{query:?} finds entries");
        }
        let tally = store.quarantine_tally().unwrap();
        assert_eq!(tally, QuarantineTally::of(entries.iter()));
        assert_eq!(
            tally.in_state(QuarantineState::Held),
            store.counts().unwrap().quarantine_held
        );
        let oldest = entries
            .iter()
            .filter(|r| r.state == QuarantineState::Held)
            .min_by_key(|r| (r.held_at, r.id))
            .map(|r| r.id);
        assert_eq!(store.oldest_held().unwrap().map(|r| r.id), oldest);
        // Expiry: held entries due by a time, soonest first, at most a limit.
        let now = 1_000 + 3 * 3_600 + 30 * 86_400;
        let mut due: Vec<&QuarantineRecord> = entries
            .iter()
            .filter(|r| r.state == QuarantineState::Held && r.expires_at <= now)
            .collect();
        due.sort_by_key(|r| (r.expires_at, r.id));
        let expected: Vec<QueueId> = due.iter().take(4).map(|r| r.id).collect();
        let got: Vec<QueueId> = store
            .expiring(now, 4)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(got, expected);
        // Pruning keeps the tally true.
        let pruned = store.prune_decided(u64::MAX).unwrap();
        assert_eq!(pruned, 8);
        let left: Vec<QuarantineRecord> = entries
            .into_iter()
            .filter(|r| r.state == QuarantineState::Held)
            .collect();
        assert_eq!(
            store.quarantine_tally().unwrap(),
            QuarantineTally::of(left.iter())
        );
    }

    const SENDER: &str = "pc.jones@northshire.police.uk";
    const HOUR: u64 = 3_600;
    const DAY: u64 = 86_400;
    /// 14 November 2023, 22:15 UTC: the start of a 5-minute bucket.
    const T0: u64 = 1_700_000_100;

    /// An activity of a new message.
    pub(crate) fn activity(
        sender: &str,
        at: u64,
        amounts: &[(&str, u64)],
        members: &[(&str, &[&str])],
    ) -> SenderActivity {
        SenderActivity {
            sender: sender.into(),
            message: QueueId::new().to_string(),
            at,
            amounts: amounts.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
            members: members
                .iter()
                .map(|(n, m)| (n.to_string(), m.iter().map(|m| m.to_string()).collect()))
                .collect(),
        }
    }

    /// A message with `n` attachments of 10 KiB to personal addresses.
    fn attachments(sender: &str, at: u64, n: u64) -> SenderActivity {
        activity(
            sender,
            at,
            &[
                ("attachments_to_personal", n),
                ("bytes_to_personal", n * 10_240),
            ],
            &[],
        )
    }

    /// What a policy reads: attachments and bytes a day, attachments an hour.
    fn personal_totals() -> Vec<WindowQuery> {
        vec![
            WindowQuery::sum("attachments_to_personal", DAY),
            WindowQuery::sum("bytes_to_personal", DAY),
            WindowQuery::sum("attachments_to_personal", HOUR),
        ]
    }

    /// The totals of `queries` for `sender` at `at`, adding nothing.
    fn read_totals(store: &dyn Engine, sender: &str, at: u64, queries: &[WindowQuery]) -> Vec<u64> {
        store
            .record_sender_activity(&activity(sender, at, &[], &[]), queries)
            .unwrap()
    }

    fn sender_sums_follow_the_window(store: &dyn Engine) {
        let queries = personal_totals();
        let record = |at: u64| {
            store
                .record_sender_activity(&attachments(SENDER, at, 1), &queries)
                .unwrap()
        };
        assert_eq!(record(T0), vec![1, 10_240, 1]);
        assert_eq!(record(T0 + 3 * HOUR), vec![2, 20_480, 1]);
        assert_eq!(record(T0 + 6 * HOUR + 45), vec![3, 30_720, 1]);
        // The fourth attachment of the day crosses a threshold of 3.
        let fourth = T0 + 9 * HOUR + 17;
        assert_eq!(record(fourth), vec![4, 40_960, 1]);
        // Reading alone adds nothing.
        assert_eq!(
            read_totals(store, SENDER, fourth, &queries),
            vec![4, 40_960, 1]
        );
        assert_eq!(
            read_totals(
                store,
                SENDER,
                fourth,
                &[WindowQuery::sum("never_counted", DAY)]
            ),
            vec![0]
        );
        // 25 hours later: only itself.
        assert_eq!(record(fourth + 25 * HOUR), vec![1, 10_240, 1]);
        // Between them, the day before it sees the last three of the day.
        assert_eq!(
            read_totals(store, SENDER, T0 + DAY + 3 * HOUR + 10, &queries),
            vec![3, 30_720, 0]
        );

        // The documented bound: a sum counts whole 5-minute buckets, so a
        // day's sum reaches back up to 5 minutes more; distinct counts are
        // exact.
        let early = "early@northshire.police.uk";
        store
            .record_sender_activity(
                &activity(early, T0 + 10, &[("n", 1)], &[("set", &["m@x.com"])]),
                &[],
            )
            .unwrap();
        let both = [
            WindowQuery::sum("n", DAY),
            WindowQuery::distinct("set", DAY),
        ];
        assert_eq!(read_totals(store, early, T0 + 10, &both), vec![1, 1]);
        assert_eq!(read_totals(store, early, T0 + DAY + 9, &both), vec![1, 1]);
        assert_eq!(read_totals(store, early, T0 + DAY + 10, &both), vec![1, 0]);
        // The bucket's last second, T0 + 299, is in the window.
        assert_eq!(read_totals(store, early, T0 + DAY + 298, &both), vec![1, 0]);
        assert_eq!(read_totals(store, early, T0 + DAY + 299, &both), vec![0, 0]);
        // Nothing is counted before its bucket.
        assert_eq!(read_totals(store, early, T0 - 1, &both), vec![0, 0]);
    }

    fn distinct_members_are_counted_once_per_window(store: &dyn Engine) {
        let queries = [
            WindowQuery::distinct("external_recipients", HOUR),
            WindowQuery::distinct("external_recipients", DAY),
        ];
        let send = |sender: &str, at: u64, to: &[&str]| {
            store
                .record_sender_activity(
                    &activity(sender, at, &[], &[("external_recipients", to)]),
                    &queries,
                )
                .unwrap()
        };
        assert_eq!(send(SENDER, T0, &["a@x.com", "b@y.org"]), vec![2, 2]);
        // The same recipient again, and twice in one message: once.
        assert_eq!(send(SENDER, T0 + 60, &["a@x.com", "a@x.com"]), vec![2, 2]);
        // Two hours later the hour holds only the one sent again.
        assert_eq!(send(SENDER, T0 + 2 * HOUR, &["a@x.com"]), vec![1, 2]);
        // Exact at the edge: b's last time is T0 (a's is later than both).
        let hour = [WindowQuery::distinct("external_recipients", HOUR)];
        assert_eq!(read_totals(store, SENDER, T0 + HOUR - 1, &hour), vec![1]);
        assert_eq!(read_totals(store, SENDER, T0 + HOUR, &hour), vec![0]);

        // 300 distinct external recipients in an hour, then the 301st.
        let bulk = "bulk@northshire.police.uk";
        let mut last = Vec::new();
        for message in 0..30u64 {
            let to: Vec<String> = (0..10)
                .map(|i| format!("person{}@example{}.com", message * 10 + i, i))
                .collect();
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            last = send(bulk, T0 + message * 100, &to);
        }
        assert_eq!(last, vec![300, 300]);
        assert_eq!(
            send(bulk, T0 + 3_000, &["one.more@example.com"]),
            vec![301, 301]
        );
        // Not the other sender's.
        assert_eq!(
            read_totals(store, SENDER, T0 + 2 * HOUR, &queries),
            vec![1, 2]
        );
    }

    fn a_message_recorded_twice_counts_once(store: &dyn Engine) {
        let mut first = attachments(SENDER, T0, 2);
        first.members = vec![("external_recipients".into(), vec!["a@x.com".into()])];
        let queries = [
            WindowQuery::sum("attachments_to_personal", DAY),
            WindowQuery::distinct("external_recipients", DAY),
        ];
        assert_eq!(
            store.record_sender_activity(&first, &queries).unwrap(),
            vec![2, 1]
        );
        // A retry after a crash, even with another time and content.
        let mut retry = first.clone();
        retry.at = T0 + 30;
        retry.members[0].1.push("b@y.org".into());
        assert_eq!(
            store.record_sender_activity(&first, &queries).unwrap(),
            vec![2, 1]
        );
        assert_eq!(
            store.record_sender_activity(&retry, &queries).unwrap(),
            vec![2, 1]
        );
        // A read under a message's id leaves no marker: the message counts
        // when it is recorded.
        let next = attachments(SENDER, T0 + 60, 1);
        let mut read = next.clone();
        read.amounts.clear();
        assert_eq!(
            store.record_sender_activity(&read, &queries).unwrap(),
            vec![2, 1]
        );
        assert_eq!(
            store.record_sender_activity(&next, &queries).unwrap(),
            vec![3, 1]
        );
        assert_eq!(
            store.record_sender_activity(&next, &queries).unwrap(),
            vec![3, 1]
        );
    }

    fn senders_are_counted_apart(store: &dyn Engine) {
        // Addresses and names that are prefixes of one another.
        let (one, other) = ("a@x.com", "a@x.com.evil.example");
        let queries = [
            WindowQuery::sum("bytes", DAY),
            WindowQuery::sum("bytes_to_personal", DAY),
            WindowQuery::distinct("rcpt", DAY),
        ];
        let record = |sender: &str, bytes: u64, to: &[&str]| {
            store
                .record_sender_activity(
                    &activity(sender, T0, &[("bytes", bytes)], &[("rcpt", to)]),
                    &queries,
                )
                .unwrap()
        };
        assert_eq!(record(one, 100, &["p@gmail.com"]), vec![100, 0, 1]);
        assert_eq!(
            record(other, 7, &["q@gmail.com", "r@gmail.com"]),
            vec![7, 0, 2]
        );
        assert_eq!(record(one, 1, &["q@gmail.com"]), vec![101, 0, 2]);
        assert_eq!(read_totals(store, other, T0, &queries), vec![7, 0, 2]);
        assert_eq!(
            read_totals(store, "nobody@x.com", T0, &queries),
            vec![0, 0, 0]
        );
    }

    fn old_sender_activity_is_pruned_and_recent_kept(store: &dyn Engine) {
        let month = [
            WindowQuery::sum("attachments", MAX_WINDOW_SECS),
            WindowQuery::distinct("rcpt", MAX_WINDOW_SECS),
        ];
        let old = activity(SENDER, T0, &[("attachments", 1)], &[("rcpt", &["a", "b"])]);
        let later = T0 + 2 * DAY;
        let recent = activity(
            SENDER,
            later,
            &[("attachments", 1)],
            &[("rcpt", &["b", "c"])],
        );
        store.record_sender_activity(&old, &[]).unwrap();
        assert_eq!(
            store.record_sender_activity(&recent, &month).unwrap(),
            vec![2, 3]
        );
        assert_eq!(store.prune_sender_activity(T0).unwrap(), 0);
        // Before T0 + 1: the old message's marker and member a (b was added
        // again since); its bucket ends at T0 + 299.
        assert_eq!(store.prune_sender_activity(T0 + 1).unwrap(), 2);
        assert_eq!(read_totals(store, SENDER, later, &month), vec![2, 2]);
        assert_eq!(store.prune_sender_activity(T0 + 299).unwrap(), 0);
        assert_eq!(store.prune_sender_activity(T0 + 300).unwrap(), 1);
        assert_eq!(read_totals(store, SENDER, later, &month), vec![1, 2]);
        assert_eq!(store.prune_sender_activity(T0 + 300).unwrap(), 0);
        // The recent message is still known: recording it again adds nothing.
        assert_eq!(
            store.record_sender_activity(&recent, &month).unwrap(),
            vec![1, 2]
        );
        // Everything: its marker, bucket and members b and c.
        assert_eq!(store.prune_sender_activity(u64::MAX).unwrap(), 4);
        assert_eq!(read_totals(store, SENDER, later, &month), vec![0, 0]);
    }

    fn concurrent_recordings_of_one_sender_lose_nothing(store: &dyn Engine) {
        const THREADS: u64 = 6;
        const ROUNDS: u64 = 8;
        let queries = [
            WindowQuery::sum("attachments_to_personal", DAY),
            WindowQuery::distinct("rcpt", DAY),
        ];
        let mut seen: Vec<u64> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let queries = &queries;
                    s.spawn(move || {
                        (0..ROUNDS)
                            .map(|round| {
                                let own = format!("r{t}-{round}@gmail.com");
                                let to = ["shared@gmail.com", own.as_str()];
                                let message = activity(
                                    SENDER,
                                    T0 + round,
                                    &[("attachments_to_personal", 1)],
                                    &[("rcpt", &to)],
                                );
                                store.record_sender_activity(&message, queries).unwrap()[0]
                            })
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        // Recordings of one sender are serialized: each saw all before it.
        seen.sort_unstable();
        assert_eq!(seen, (1..=THREADS * ROUNDS).collect::<Vec<_>>());
        assert_eq!(
            read_totals(store, SENDER, T0 + ROUNDS, &queries),
            vec![THREADS * ROUNDS, THREADS * ROUNDS + 1]
        );
    }

    fn windows_of_nothing_or_over_a_month_are_refused(store: &dyn Engine) {
        let message = attachments(SENDER, T0, 1);
        for window_secs in [0, MAX_WINDOW_SECS + 1, u64::MAX] {
            let queries = [
                WindowQuery::sum("attachments_to_personal", DAY),
                WindowQuery::distinct("rcpt", window_secs),
            ];
            match store.record_sender_activity(&message, &queries) {
                Err(StoreError::InvalidWindow {
                    name,
                    window_secs: w,
                }) => {
                    assert_eq!((name.as_str(), w), ("rcpt", window_secs));
                }
                other => panic!("expected an invalid window, got {other:?}"),
            }
        }
        // Refused before anything was added.
        let month = [WindowQuery::sum("attachments_to_personal", MAX_WINDOW_SECS)];
        assert_eq!(read_totals(store, SENDER, T0, &month), vec![0]);
        assert_eq!(
            store.record_sender_activity(&message, &month).unwrap(),
            vec![1]
        );
        // Windows reaching back before the epoch's start count from it.
        assert_eq!(read_totals(store, SENDER, 5, &month), vec![0]);
    }

    macro_rules! for_every_backend {
        ($($name:ident),* $(,)?) => {
            mod memory {
                $(#[test] fn $name() { super::$name(&super::MemoryStore::new()); })*
            }
            mod sled {
                $(#[test] fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::SledStore::open(dir.path().join("db")).unwrap();
                    super::$name(&store);
                })*
            }
            mod postgres {
                $(#[test] fn $name() {
                    let test = cordon_postgres::testing::TestDatabase::create();
                    let store = crate::PostgresStore::new(test.connect(), "node-a");
                    super::$name(&store);
                })*
            }
        };
    }

    for_every_backend!(
        message_round_trip,
        unfinished_excludes_finished,
        due_messages_by_time,
        set_recipient_status_updates,
        concurrent_updates_lose_nothing,
        hold_and_release,
        reject_and_expire,
        sender_notified_follows_the_state,
        four_eyes_proposal,
        list_quarantine_order_and_filter,
        counts_for_metrics,
        reconcile_spool_and_index,
        reconcile_resumes_notices_a_crash_left_owing,
        damaged_spool_files_are_recognised,
        decided_entries_are_pruned_after_the_retention,
        pages_counts_and_tally_agree_with_reading_everything,
        sender_sums_follow_the_window,
        distinct_members_are_counted_once_per_window,
        a_message_recorded_twice_counts_once,
        senders_are_counted_apart,
        old_sender_activity_is_pruned_and_recent_kept,
        concurrent_recordings_of_one_sender_lose_nothing,
        windows_of_nothing_or_over_a_month_are_refused,
    );
}
