//! The messages this run accepted (or submitted) and has not recorded in
//! the store, with a copy of each small one's bytes. The store cannot know
//! them, so processing them does not ask it, and clean mail flows while a
//! shared database is down. The copy is what was just written and fsynced
//! to the spool: processing takes it instead of reading the file back. The
//! spool file stays the record; a copy is only a shortcut, kept while the
//! copies together stay under a limit.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cordon_store::{Envelope, QueueId};

/// The most bytes the copies hold together: beyond it, a message is read
/// back from its spool file as before.
pub(crate) const COPIES_LIMIT: usize = 32 << 20;

/// A message as it was spooled.
#[derive(Debug)]
pub(crate) struct SpooledCopy {
    /// Its envelope.
    pub(crate) envelope: Envelope,
    /// Its bytes.
    pub(crate) message: Vec<u8>,
}

/// The unrecorded messages and their copies.
#[derive(Debug, Default)]
pub(crate) struct Unrecorded {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    messages: HashMap<QueueId, Option<SpooledCopy>>,
    /// Bytes held in copies.
    copied: usize,
}

impl Unrecorded {
    /// Notes `id` as accepted and unrecorded, with its copy if the copies
    /// have room for it.
    pub(crate) fn insert(&self, id: QueueId, copy: Option<SpooledCopy>) {
        let mut state = self.lock();
        let copy = copy.filter(|c| state.copied + c.message.len() <= COPIES_LIMIT);
        state.copied += copy.as_ref().map_or(0, |c| c.message.len());
        if let Some(Some(old)) = state.messages.insert(id, copy) {
            state.copied -= old.message.len();
        }
    }

    /// Forgets `id`: recorded in the store now, or finished.
    pub(crate) fn remove(&self, id: &QueueId) {
        let mut state = self.lock();
        if let Some(Some(copy)) = state.messages.remove(id) {
            state.copied -= copy.message.len();
        }
    }

    /// Whether `id` is accepted by this run and not yet recorded.
    pub(crate) fn contains(&self, id: &QueueId) -> bool {
        self.lock().messages.contains_key(id)
    }

    /// The copy of `id`, if one is kept; `id` stays unrecorded.
    pub(crate) fn take_copy(&self, id: &QueueId) -> Option<SpooledCopy> {
        let mut state = self.lock();
        let copy = state.messages.get_mut(id)?.take()?;
        state.copied -= copy.message.len();
        Some(copy)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(size: usize) -> Option<SpooledCopy> {
        Some(SpooledCopy {
            envelope: Envelope {
                mail_from: "a@b".into(),
                rcpt_to: vec!["c@d".into()],
                client_ip: None,
                helo: None,
                received_at: 1,
            },
            message: vec![b'x'; size],
        })
    }

    #[test]
    fn copies_are_taken_once_and_kept_under_the_limit() {
        let unrecorded = Unrecorded::default();
        let (a, b, c) = (QueueId::new(), QueueId::new(), QueueId::new());
        unrecorded.insert(a, copy(COPIES_LIMIT - 10));
        unrecorded.insert(b, copy(11));
        unrecorded.insert(c, None);
        assert!(unrecorded.contains(&a) && unrecorded.contains(&b) && unrecorded.contains(&c));
        // b did not fit: it is unrecorded, without a copy
        assert!(unrecorded.take_copy(&b).is_none());
        assert_eq!(
            unrecorded.take_copy(&a).map(|c| c.message.len()),
            Some(COPIES_LIMIT - 10)
        );
        assert!(unrecorded.take_copy(&a).is_none(), "taken once");
        assert!(unrecorded.contains(&a), "still unrecorded");
        // the room is back
        unrecorded.insert(b, copy(11));
        assert!(unrecorded.take_copy(&b).is_some());
        unrecorded.remove(&a);
        assert!(!unrecorded.contains(&a));
        assert_eq!(unrecorded.lock().copied, 0);
    }
}
