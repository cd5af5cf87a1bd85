//! The memory budget for processing: how many message bytes the workers
//! may hold at once.
//!
//! A worker reads the whole message, and inspection keeps the message,
//! its extracted text and a working copy of that text at once; delivery
//! adds a copy with the trace header. Four workers given four 30 MB
//! messages would hold over 400 MB. Each message therefore takes its size
//! from the budget before it is read and gives it back when processing
//! ends; small messages run side by side, large ones wait their turn (in
//! order of arrival: the semaphore is fair, so a large message is never
//! starved by a stream of small ones).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB, so that any budget fits the semaphore's `u32` requests.
const UNIT: u64 = 1024;

/// The shared budget (see the module documentation).
#[derive(Debug)]
pub(crate) struct Budget {
    permits: Arc<Semaphore>,
    /// The whole budget in KiB: at least one, and what a message larger than
    /// the whole budget takes.
    total: u32,
}

/// A message's share of the budget, given back when dropped.
#[derive(Debug)]
pub(crate) struct Share {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Budget {
    /// A budget of `bytes` (at least 1 KiB).
    pub(crate) fn new(bytes: usize) -> Budget {
        let total = u32::try_from((bytes as u64).div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        Budget {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Waits until a message of `size` bytes fits beside the ones being
    /// processed, or until nothing else is processed when it is larger
    /// than the whole budget.
    pub(crate) async fn take(&self, size: u64) -> Share {
        let wanted = u32::try_from(size.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        // Acquiring fails only on a closed semaphore, and this one is never
        // closed.
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(wanted)
            .await
            .ok();
        Share { _permit: permit }
    }

    /// KiB of the budget not taken now.
    #[cfg(test)]
    pub(crate) fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn small_messages_share_the_budget_and_a_large_one_waits_its_turn() {
        let budget = Arc::new(Budget::new(100 * 1024));
        let a = budget.take(40 * 1024).await;
        let b = budget.take(40 * 1024).await;
        assert_eq!(budget.available_kib(), 20);
        let waiting = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move { budget.take(30 * 1024).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "30 KiB does not fit in the 20 left");
        drop(a);
        let c = waiting.await.expect("task");
        assert_eq!(budget.available_kib(), 30);
        drop((b, c));
        assert_eq!(budget.available_kib(), 100);
    }

    #[tokio::test]
    async fn a_message_larger_than_the_budget_runs_alone() {
        let budget = Budget::new(1024);
        let share = budget.take(50 << 20).await;
        assert_eq!(budget.available_kib(), 0);
        drop(share);
        assert_eq!(budget.available_kib(), 1);
        // An empty message still takes its smallest share.
        let _empty = budget.take(0).await;
        assert_eq!(budget.available_kib(), 0);
    }
}
