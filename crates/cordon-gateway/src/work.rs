//! The work queue: the messages waiting for a worker. A message is in it at
//! most once, queued or being processed, however often the delivery loop, a
//! decision, a notice sweep or a restart asks for it; asked for while being
//! processed, it is processed once more afterwards (a decision may have
//! arrived meanwhile). The channel to the workers is bounded; what does not
//! fit waits here in order (one entry per message, so never more than the
//! spool holds) and moves in as the workers take messages.

use std::collections::hash_map::Entry as Slot;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use cordon_store::QueueId;
use tokio::sync::mpsc;

/// Messages in the channel to the workers at most.
pub(crate) const CHANNEL_CAPACITY: usize = 1024;

/// Where a message stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the channel, not yet taken by a worker.
    Queued,
    /// Waiting for room in the channel.
    Waiting,
    /// Taken by a worker; `again` if asked for meanwhile.
    Processing { again: bool },
}

#[derive(Debug, Default)]
struct State {
    places: HashMap<QueueId, Place>,
    waiting: VecDeque<QueueId>,
}

/// The queue in front of the workers (see the module documentation).
#[derive(Debug)]
pub(crate) struct WorkQueue {
    channel: mpsc::Sender<QueueId>,
    state: Mutex<State>,
}

impl WorkQueue {
    /// A queue whose channel holds `capacity` messages; the workers read
    /// the receiver.
    pub(crate) fn new(capacity: usize) -> (WorkQueue, mpsc::Receiver<QueueId>) {
        let (channel, receiver) = mpsc::channel(capacity.max(1));
        let queue = WorkQueue {
            channel,
            state: Mutex::new(State::default()),
        };
        (queue, receiver)
    }

    /// Asks for message `id` to be processed: queued unless it already is,
    /// or processed once more if a worker has it now. Never blocks.
    pub(crate) fn push(&self, id: QueueId) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let state = &mut *state;
        match state.places.entry(id) {
            Slot::Occupied(mut slot) => {
                if let Place::Processing { again } = slot.get_mut() {
                    *again = true;
                }
            }
            Slot::Vacant(slot) => {
                slot.insert(Place::Waiting);
                state.waiting.push_back(id);
            }
        }
        self.fill(state);
    }

    /// Moves waiting messages into the channel while it has room (called
    /// by the delivery loop on each tick, and whenever a worker finishes).
    pub(crate) fn refill(&self) {
        if let Ok(mut state) = self.state.lock() {
            self.fill(&mut state);
        }
    }

    fn fill(&self, state: &mut State) {
        while let Some(&id) = state.waiting.front() {
            if state.places.get(&id) != Some(&Place::Waiting) {
                // Processed meanwhile without passing through the channel.
                state.waiting.pop_front();
                continue;
            }
            match self.channel.try_send(id) {
                Ok(()) => {
                    state.places.insert(id, Place::Queued);
                    state.waiting.pop_front();
                }
                // Full: the rest waits; closed: the gateway is stopping and
                // the next start resumes from the spool.
                Err(_) => break,
            }
        }
    }

    /// Marks `id` as taken by a worker; false if another worker has it (which
    /// then processes it once more when done).
    pub(crate) fn claim(&self, id: QueueId) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        match state.places.get_mut(&id) {
            Some(Place::Processing { again }) => {
                *again = true;
                false
            }
            Some(place) => {
                *place = Place::Processing { again: false };
                true
            }
            None => {
                state.places.insert(id, Place::Processing { again: false });
                true
            }
        }
    }

    /// Ends the processing of `id`, queueing it again if it was asked for
    /// meanwhile.
    pub(crate) fn finish(&self, id: QueueId) {
        let again = match self.state.lock() {
            Ok(mut state) => {
                let again = matches!(
                    state.places.remove(&id),
                    Some(Place::Processing { again: true })
                );
                self.fill(&mut state);
                again
            }
            Err(_) => false,
        };
        if again {
            self.push(id);
        }
    }

    /// Messages queued, waiting or being processed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.places.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(receiver: &mut mpsc::Receiver<QueueId>) -> Vec<QueueId> {
        let mut out = Vec::new();
        while let Ok(id) = receiver.try_recv() {
            out.push(id);
        }
        out
    }

    #[test]
    fn a_message_is_queued_once_however_often_it_is_asked_for() {
        let (queue, mut receiver) = WorkQueue::new(8);
        let id = QueueId::new();
        for _ in 0..100 {
            queue.push(id);
        }
        assert_eq!(drain(&mut receiver), vec![id]);
        assert!(queue.claim(id));
        // Asked for while being processed: once more afterwards, not 100 times.
        for _ in 0..100 {
            queue.push(id);
        }
        assert!(drain(&mut receiver).is_empty());
        queue.finish(id);
        assert_eq!(drain(&mut receiver), vec![id]);
        assert!(queue.claim(id));
        queue.finish(id);
        assert!(drain(&mut receiver).is_empty());
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn what_does_not_fit_waits_in_order_and_is_never_lost() {
        let (queue, mut receiver) = WorkQueue::new(2);
        let ids: Vec<QueueId> = (0..5).map(|_| QueueId::new()).collect();
        for &id in &ids {
            queue.push(id);
            queue.push(id);
        }
        assert_eq!(queue.len(), 5);
        let mut seen = Vec::new();
        while seen.len() < ids.len() {
            let taken = drain(&mut receiver);
            assert!(!taken.is_empty() && taken.len() <= 2, "{taken:?}");
            for id in taken {
                assert!(queue.claim(id));
                queue.finish(id);
                seen.push(id);
            }
            queue.refill();
        }
        assert_eq!(seen, ids);
        assert_eq!(queue.len(), 0);
    }
}
