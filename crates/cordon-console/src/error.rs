//! The crate's internal error: what can fail behind a page or an API call.
//! Its text goes to the log only; users see a generic message.

use cordon_accounts::AccountsError;
use cordon_audit::AuditError;
use cordon_store::StoreError;

/// A failure of something the console relies on (store, audit log, users
/// file, templates, a background task).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    /// The quarantine store or the spool failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The audit log could not be written or read.
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    /// The users file could not be read.
    #[error("accounts: {0}")]
    Accounts(#[from] AccountsError),
    /// A template failed to render (a bug: the templates are built in).
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    /// A blocking task panicked or was cancelled.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
}
