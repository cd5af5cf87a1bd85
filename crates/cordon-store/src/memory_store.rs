//! An in-memory [`Engine`] for the tests of its callers.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::StoreError;
use crate::id::QueueId;
use crate::record::{
    Decision, MessageRecord, QuarantineRecord, QuarantineState, RecipientStatus, ReleaseProposal,
};
use crate::sender_activity::{ActivityBook, SenderActivity, WindowQuery};
use crate::store::{
    Engine, StoreCounts, apply_decision, decide_record, mark_held, propose_record, set_status,
    sort_newest_first,
};

/// An [`Engine`] kept in memory: same behaviour as the durable one, nothing
/// survives the process. For tests of the SMTP server, the queue and the
/// console.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    messages: BTreeMap<QueueId, MessageRecord>,
    quarantine: BTreeMap<QueueId, QuarantineRecord>,
    activity: ActivityBook,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is made on a copy and stored whole, so a panic in
        // another thread cannot have left a half-made change behind.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Engine for MemoryStore {
    fn put_message(&self, record: &MessageRecord) -> Result<(), StoreError> {
        self.lock().messages.insert(record.id, record.clone());
        Ok(())
    }

    fn get_message(&self, id: &QueueId) -> Result<Option<MessageRecord>, StoreError> {
        Ok(self.lock().messages.get(id).cloned())
    }

    fn message_ids(&self) -> Result<Vec<QueueId>, StoreError> {
        Ok(self.lock().messages.keys().copied().collect())
    }

    fn unfinished_messages(&self) -> Result<Vec<MessageRecord>, StoreError> {
        Ok(self
            .lock()
            .messages
            .values()
            .filter(|m| !m.is_finished())
            .cloned()
            .collect())
    }

    fn due_messages(&self, now: u64) -> Result<Vec<MessageRecord>, StoreError> {
        Ok(self
            .lock()
            .messages
            .values()
            .filter(|m| !m.is_finished() && m.is_due(now))
            .cloned()
            .collect())
    }

    fn set_recipient_status(
        &self,
        id: &QueueId,
        address: &str,
        status: RecipientStatus,
    ) -> Result<MessageRecord, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.messages.get(id) else {
            return Err(StoreError::NotFound {
                what: "message",
                key: id.to_string(),
            });
        };
        let mut record = stored.clone();
        set_status(&mut record, address, &status)?;
        inner.messages.insert(*id, record.clone());
        Ok(record)
    }

    fn remove_message(&self, id: &QueueId) -> Result<bool, StoreError> {
        Ok(self.lock().messages.remove(id).is_some())
    }

    fn put_quarantine(&self, record: &QuarantineRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(message) = inner.messages.get_mut(&record.message_id) {
            mark_held(message, record);
        }
        inner.quarantine.insert(record.id, record.clone());
        Ok(())
    }

    fn propose_release(
        &self,
        id: &QueueId,
        proposal: ReleaseProposal,
    ) -> Result<QuarantineRecord, StoreError> {
        let mut inner = self.lock();
        let Some(record) = inner.quarantine.get_mut(id) else {
            return Err(StoreError::NotFound {
                what: "quarantine",
                key: id.to_string(),
            });
        };
        propose_record(record, proposal)?;
        Ok(record.clone())
    }

    fn set_quarantine_notified(
        &self,
        id: &QueueId,
        state: QuarantineState,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.quarantine.get_mut(id) {
            Some(record) if record.state == state => {
                record.sender_notified = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn get_quarantine(&self, id: &QueueId) -> Result<Option<QuarantineRecord>, StoreError> {
        Ok(self.lock().quarantine.get(id).cloned())
    }

    fn list_quarantine(
        &self,
        state: Option<QuarantineState>,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut records: Vec<QuarantineRecord> = self
            .lock()
            .quarantine
            .values()
            .filter(|q| state.is_none_or(|s| q.state == s))
            .cloned()
            .collect();
        sort_newest_first(&mut records);
        Ok(records)
    }

    fn decide_quarantine(
        &self,
        id: &QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
        at: u64,
    ) -> Result<QuarantineRecord, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.quarantine.get(id) else {
            return Err(StoreError::NotFound {
                what: "quarantine",
                key: id.to_string(),
            });
        };
        let mut record = stored.clone();
        decide_record(&mut record, decision, by, note, at)?;
        if let Some(message) = inner.messages.get_mut(&record.message_id) {
            apply_decision(message, id, decision, at);
        }
        inner.quarantine.insert(*id, record.clone());
        Ok(record)
    }

    fn prune_decided(&self, decided_before: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let Inner {
            messages,
            quarantine,
            ..
        } = &mut *inner;
        let before = quarantine.len();
        quarantine.retain(|_, q| {
            q.state == QuarantineState::Held
                || q.decided_at.is_none_or(|at| at >= decided_before)
                || messages.contains_key(&q.message_id)
        });
        Ok((before - quarantine.len()) as u64)
    }

    fn record_sender_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        self.lock().activity.record(activity, queries)
    }

    fn prune_sender_activity(&self, before: u64) -> Result<u64, StoreError> {
        Ok(self.lock().activity.prune(before))
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let inner = self.lock();
        let mut counts = StoreCounts::default();
        for message in inner.messages.values().filter(|m| !m.is_finished()) {
            counts.unfinished += 1;
            if message.next_attempt_at().is_some() {
                counts.deferred += 1;
            }
        }
        counts.quarantine_held = inner
            .quarantine
            .values()
            .filter(|q| q.state == QuarantineState::Held)
            .count() as u64;
        Ok(counts)
    }
}
