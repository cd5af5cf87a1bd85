//! The one error type of the crate.

use std::path::PathBuf;

use crate::id::QueueId;
use crate::record::QuarantineState;

/// Everything that can go wrong in the spool or the store.
///
/// Damage on disk (a spool file or a stored record that does not parse) is an
/// error naming the id or key, never a panic: the caller decides whether to
/// stop, skip or alert.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A spool file exists but is not a valid spool file.
    #[error("damaged spool file for message {id}: {problem}")]
    DamagedSpool {
        /// The queue id the file is named by.
        id: QueueId,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored record does not decode (or does not match its key).
    #[error("damaged record in {table} at key {key:?}: {problem}")]
    DamagedRecord {
        /// The table (sled tree) holding it.
        table: &'static str,
        /// The key, lossily decoded as UTF-8.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The storage engine failed (sled today; deliberately not part of the
    /// type, so that the engine can be replaced).
    #[error("storage engine error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The shared database cannot be reached now. The caller keeps the
    /// message in its spool and tries again.
    #[error("the shared database is unreachable: {0}")]
    Unavailable(String),
    /// The thing asked for does not exist.
    #[error("{what} not found: {key}")]
    NotFound {
        /// What kind of thing: "message", "spool file", "recipient", "quarantine".
        what: &'static str,
        /// Which one.
        key: String,
    },
    /// A quarantine decision was asked for on a record that is no longer held.
    #[error("quarantine {id} has already been decided: {state}")]
    AlreadyDecided {
        /// The quarantine reference.
        id: QueueId,
        /// Its current state.
        state: QuarantineState,
    },
    /// A sender activity total was asked over a window that makes no
    /// sense: empty, or longer than [`crate::MAX_WINDOW_SECS`] (31 days).
    #[error("the window of {window_secs} s over {name:?} is not between 1 second and 31 days")]
    InvalidWindow {
        /// The counter or set the total was asked of.
        name: String,
        /// The window asked for, in seconds.
        window_secs: u64,
    },
}

impl StoreError {
    /// An [`StoreError::Io`] closure for `map_err`, naming the path.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    /// Wraps a storage engine error.
    pub(crate) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Backend(Box::new(e))
    }

    /// True for [`StoreError::Unavailable`]: worth trying again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}
