//! What can go wrong with the database.

/// An error reaching or using the database. Messages never include the
/// password of the URL.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The `postgres://` URL does not parse.
    #[error("not a PostgreSQL URL (postgres://USER:PASS@HOST:PORT/DB): {0}")]
    InvalidUrl(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("cannot use the database CA file {path}: {problem}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        problem: String,
    },
    /// No connection could be made or taken from the pool in time.
    #[error("the database at {url} is unreachable: {problem}")]
    Unavailable {
        /// The URL without its password.
        url: String,
        /// Why, as the driver says.
        problem: String,
    },
    /// The schema's migrations could not be applied.
    #[error("cannot bring the database schema up to date: {0}")]
    Migration(String),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[from] postgres::Error),
}
