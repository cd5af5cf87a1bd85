//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong when appending to, reading or verifying the
/// audit log.
///
/// Damage inside the log (an altered, removed or unreadable entry) is not an
/// error: [`crate::verify`] reports it, and [`crate::AuditLog::open`] opens
/// such a log so that the gateway keeps recording.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file system operation on the log, its head file or its directory
    /// failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing an export to its destination failed.
    #[error("cannot write the export: {0}")]
    Output(#[source] std::io::Error),
    /// The event's detail is not a JSON object (or is nested too deeply to
    /// be read back).
    #[error("invalid audit detail: {0}")]
    InvalidDetail(&'static str),
    /// The entry would be longer than [`crate::MAX_LINE_BYTES`]; readers
    /// skip longer lines, so it is refused rather than written.
    #[error("audit entry is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// The length of the line the entry would have been.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// [`crate::AuditOptions`] that make no sense (a rotation size of 0),
    /// refused by [`crate::AuditLog::open_with`].
    #[error("invalid audit log options: {0}")]
    InvalidOptions(&'static str),
    /// The sequence number cannot grow any further (the log, or a forged
    /// entry in it, has reached `u64::MAX`).
    #[error("audit sequence numbers are exhausted")]
    SequenceExhausted,
    /// The PostgreSQL database holding the chain is unreachable, or a
    /// statement on it failed. The message names the database by its URL
    /// without the password (see [`cordon_postgres::Database::url`]).
    #[error("audit log in {url}: {source}")]
    Database {
        /// The database's URL, without its password.
        url: String,
        /// What went wrong.
        #[source]
        source: cordon_postgres::DatabaseError,
    },
}

impl AuditError {
    /// An [`AuditError::Io`] closure for `map_err`, naming the path.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io { path, source }
    }

    /// An [`AuditError::Database`] closure for `map_err`, naming the
    /// database (its URL without the password).
    pub(crate) fn database<E: Into<cordon_postgres::DatabaseError>>(
        database: &cordon_postgres::Database,
    ) -> impl FnOnce(E) -> AuditError {
        let url = database.url().to_owned();
        move |source| AuditError::Database {
            url,
            source: source.into(),
        }
    }
}
