//! Group commit for fsyncs. Under load many sessions need the same file
//! or directory fsynced at about the same moment (a message appended to the
//! journal, a spool file renamed into place); one fsync that starts after
//! all of their changes makes every one of them durable, as a database's
//! log writer commits the transactions that queued behind the one in
//! progress.
//!
//! The rule that keeps it exact: a caller takes a ticket after its change
//! is made, and returns only once an fsync that started after it took its
//! ticket has succeeded. A caller whose covering fsync fails runs its own,
//! so an error is never hidden from the one it concerns.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::StoreError;
use crate::spool::sync_dir;

/// The fsyncs of one directory: renames and deletions in it are durable
/// when [`DirSync::sync`] returns.
#[derive(Debug)]
pub(crate) struct DirSync {
    dir: PathBuf,
    commit: GroupCommit,
}

impl DirSync {
    /// The fsyncs of `dir`.
    pub(crate) fn new(dir: PathBuf) -> DirSync {
        DirSync {
            dir,
            commit: GroupCommit::default(),
        }
    }

    /// Makes every change to the directory made before this call durable.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        self.commit.sync(|| sync_dir(&self.dir))
    }
}

/// The fsyncs of one file or directory, shared by every thread that
/// changes it.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<SyncState>,
    finished: Condvar,
}

/// Tickets are numbered from 1 in the order they are taken.
#[derive(Debug, Default)]
struct SyncState {
    /// The last ticket taken.
    taken: u64,
    /// Every ticket up to this one is covered by a successful fsync.
    synced: u64,
    /// An fsync is running.
    running: bool,
}

impl GroupCommit {
    /// Makes every change made before this call durable: returns after a
    /// `flush` that started after the call did, run by this thread or by
    /// another one that needed it too. Every caller of one `GroupCommit`
    /// must pass a `flush` that makes the same changes durable.
    pub(crate) fn sync(
        &self,
        flush: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.taken += 1;
        let ticket = state.taken;
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if !state.running {
                break;
            }
            state = self
                .finished
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // Lead one fsync for every ticket taken so far.
        state.running = true;
        let covers = state.taken;
        drop(state);
        let result = flush();
        let mut state = self.lock();
        state.running = false;
        if result.is_ok() {
            state.synced = state.synced.max(covers);
        }
        // On failure the others waiting run their own fsync in turn, and
        // each gets its own answer.
        self.finished.notify_all();
        result
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn concurrent_callers_share_fsyncs_and_all_return() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sync = Arc::new(GroupCommit::default());
        std::thread::scope(|scope| {
            for t in 0..8 {
                let sync = Arc::clone(&sync);
                let dir = dir.path().to_owned();
                scope.spawn(move || {
                    for i in 0..50 {
                        std::fs::write(dir.join(format!("{t}-{i}")), b"x").expect("write");
                        sync.sync(|| sync_dir(&dir)).expect("synced");
                    }
                });
            }
        });
        let state = sync.lock();
        assert_eq!(state.taken, 400);
        assert_eq!(state.synced, 400);
        assert!(!state.running);
    }

    #[test]
    fn a_failed_fsync_is_an_error_for_the_caller_and_not_counted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sync = GroupCommit::default();
        let gone = dir.path().join("gone");
        assert!(sync.sync(|| sync_dir(&gone)).is_err());
        assert_eq!(sync.lock().synced, 0);
        std::fs::create_dir(dir.path().join("gone")).expect("mkdir");
        sync.sync(|| sync_dir(&gone))
            .expect("synced once the directory is there");
        assert_eq!(sync.lock().synced, 2);
    }
}
