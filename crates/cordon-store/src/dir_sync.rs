//! Group commit for a directory's fsync. Every accepted message renames its
//! spool file into place and every finished one unlinks it, and each must
//! fsync the directory before it counts as durable. Under load many sessions
//! need that at about the same moment; one fsync that starts after all of
//! their changes makes every one of them durable, as a database's log
//! writer commits the transactions that queued behind the one in progress.
//!
//! The rule that keeps it exact: a caller takes a ticket after its change
//! is made, and returns only once an fsync that started after it took its
//! ticket has succeeded. A caller whose covering fsync fails runs its own,
//! so an error is never hidden from the one it concerns.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::StoreError;
use crate::spool::sync_dir;

/// The fsyncs of one directory, shared by every thread that changes it.
#[derive(Debug)]
pub(crate) struct DirSync {
    dir: PathBuf,
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

impl DirSync {
    /// The fsyncs of `dir`.
    pub(crate) fn new(dir: PathBuf) -> DirSync {
        DirSync {
            dir,
            state: Mutex::new(SyncState::default()),
            finished: Condvar::new(),
        }
    }

    /// Makes every change to the directory made before this call durable:
    /// returns after an fsync of the directory that started after the call
    /// did, run by this thread or by another one that needed it too.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.taken += 1;
        let ticket = state.taken;
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Lead one fsync for every ticket taken so far.
            state.running = true;
            let covers = state.taken;
            drop(state);
            let result = sync_dir(&self.dir);
            state = self.lock();
            state.running = false;
            if result.is_ok() {
                state.synced = state.synced.max(covers);
            }
            self.finished.notify_all();
            // On failure the others waiting run their own fsync in turn,
            // and each gets its own answer.
            result?;
        }
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
        let sync = Arc::new(DirSync::new(dir.path().to_owned()));
        std::thread::scope(|scope| {
            for t in 0..8 {
                let sync = Arc::clone(&sync);
                let dir = dir.path().to_owned();
                scope.spawn(move || {
                    for i in 0..50 {
                        std::fs::write(dir.join(format!("{t}-{i}")), b"x").expect("write");
                        sync.sync().expect("synced");
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
        let sync = DirSync::new(dir.path().join("gone"));
        assert!(sync.sync().is_err());
        assert_eq!(sync.lock().synced, 0);
        std::fs::create_dir(dir.path().join("gone")).expect("mkdir");
        sync.sync().expect("synced once the directory is there");
        assert_eq!(sync.lock().synced, 2);
    }
}
