//! cordon-store: the durable record of every message the gateway accepts.
//!
//! The rule: nothing accepted is ever lost; a crash at any point may at worst
//! cause a message to be delivered twice.
//!
//! - [`Spool`]: the message bytes and envelope, one fsynced file per message,
//!   written before the SMTP server answers `250` (the store of record).
//! - [`Store`]: the queue state and quarantine index, an async handle whose
//!   calls never block the runtime, over an [`Engine`]: the durable
//!   [`SledStore`] (one gateway), the shared [`PostgresStore`] (several
//!   gateways, one quarantine) or the in-memory [`MemoryStore`] for tests.
//! - [`SenderActivity`]: durable counters of what each sender sends over
//!   time windows (attachments, bytes, distinct recipients), recorded and
//!   read back through the same [`Engine`], for the policy's volume rules.
//! - [`reconcile`]: on start, what to process again and what to clean up.

#![warn(missing_docs)]

mod error;
mod group_commit;
mod handle;
mod id;
mod journal;
mod listing;
mod memory_store;
mod postgres_store;
mod prefilter;
mod record;
mod sender_activity;
mod sled_store;
mod spool;
mod store;
mod tally;

pub use error::StoreError;
pub use handle::{Store, on_blocking_pool};
pub use id::{InvalidQueueId, QUEUE_ID_LEN, QueueId};
pub use listing::{
    InvalidCursor, ListedEntry, MAX_PAGE, QuarantineCount, QuarantineCursor, QuarantinePage,
    QuarantineQuery, QuarantineSearch, QuarantineSummary,
};
pub use memory_store::MemoryStore;
pub use postgres_store::PostgresStore;
pub use record::{
    Decision, InvalidQuarantineState, MessageRecord, PlannedAction, QuarantineRecord,
    QuarantineState, RecipientRecord, RecipientStatus, ReleaseProposal,
};
pub use sender_activity::{
    ACTIVITY_BUCKET_SECS, MAX_WINDOW_SECS, SenderActivity, WindowMeasure, WindowQuery,
};
pub use sled_store::SledStore;
pub use spool::{Envelope, SPOOL_MAGIC, Spool, SpoolWriter};
pub use store::{
    EXPIRED_REASON, Engine, Reconciliation, StoreCounts, apply_decision, notices_owed, reconcile,
    restore_spooled, verify_spooled,
};
pub use tally::{QuarantineTally, TALLY_BUCKET_SECS, TallyKey, tally_delta};
