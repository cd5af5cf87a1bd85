//! The durable [`Engine`] over sled 0.34.
//!
//! Three trees, values JSON, keys the 26-character queue ids (so that key
//! order is time order):
//!
//! - `messages`: [`MessageRecord`] by message id;
//! - `quarantine`: [`QuarantineRecord`] by quarantine id;
//! - `unfinished`: an index with one key per unfinished message, its value
//!   the earliest retry time of its deferred recipients (8 bytes big endian)
//!   or empty. It makes [`Engine::unfinished_messages`],
//!   [`Engine::due_messages`] and [`Engine::counts`] cost the unfinished
//!   messages, not every message held for review. It is kept in the same
//!   transaction as `messages`, and rebuilt from `messages` on open;
//! - `quarantine_index`: every index over `quarantine` (by state and time,
//!   by expiry, by decision time) and the tally of counts, kept in the same
//!   transaction as `quarantine`; see [`quarantine_index`]. Queue pages,
//!   counts, expiry and retention read it, not every entry.
//! - `sender_activity`: the sender activity counters, with their own
//!   indexes by time; see [`sender_activity`].
//!
//! Every change is one sled transaction, then [`SledStore::flush`] before
//! the method returns.
//!
//! # What sled's flush does not do, and what we add
//!
//! On Linux, sled 0.34's `Db::flush` writes its log with `sync_file_range`,
//! which neither writes the file's metadata (its new length) nor flushes the
//! drive's write cache: it survives a killed process, not a power cut. Its
//! real `fsync` runs on a 500 ms timer. Nodes too large for the log (over
//! about 128 KiB) go to files in `blobs/` that sled never fsyncs at all, nor
//! does it fsync its `conf` file or the directory. So after each flush we
//! fsync the log file `db` and every file in `blobs/` (normally none)
//! ourselves, and on open `conf`, `db` and the directories. This knows
//! sled 0.34's file layout (`conf`, `db`, `blobs/`); sled 0.34 is frozen,
//! and the next engine replaces this module, not the trait.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use sled::{Batch, Transactional, Tree};

use crate::error::StoreError;
use crate::id::QueueId;
use crate::listing::{
    QuarantineCount, QuarantineCursor, QuarantinePage, QuarantineQuery, QuarantineSearch, Scan,
};
use crate::prefilter::SummaryPrefilter;
use crate::record::{
    Decision, MessageRecord, QuarantineRecord, QuarantineState, RecipientStatus, ReleaseProposal,
};
use crate::sender_activity::{SenderActivity, WindowQuery};
use crate::spool::{create_private_dir, sync_dir};
use crate::store::{
    Engine, StoreCounts, apply_decision, decide_record, mark_held, propose_record, set_status,
    sort_newest_first,
};
use crate::tally::QuarantineTally;

mod quarantine_index;
mod sender_activity;

use quarantine_index::{DECIDED, EXPIRY, end_of, id_of, listing_prefix, timed_key, tx_reindex};

const MESSAGES: &str = "messages";
const QUARANTINE: &str = "quarantine";
const UNFINISHED: &str = "unfinished";
const INDEX: &str = "quarantine_index";
/// The index tree of earlier versions, replaced by [`INDEX`].
const OLD_BY_STATE: &str = "quarantine_by_state";

/// The durable [`Engine`]: a sled database in a directory (`DATA/db`).
///
/// sled holds an exclusive lock on the directory: one process at a time.
pub struct SledStore {
    db: sled::Db,
    messages: Tree,
    quarantine: Tree,
    unfinished: Tree,
    index: Tree,
    /// The sender activity counters ([`sender_activity`]).
    activity: Tree,
    /// Taken by every writer of `activity` until it has read its totals:
    /// sled's transactions cannot scan ranges, so the totals are read
    /// after the commit, and this keeps any other recording or prune from
    /// changing the tree in between (see [`sender_activity`]). A std
    /// mutex, held for work in memory only, never across the flush.
    activity_lock: Mutex<()>,
    /// The database directory.
    dir: PathBuf,
    /// sled's log file (`dir/db`), opened to fsync it.
    log: File,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// An entry of the unfinished index: the key and the earliest retry time.
type IndexEntry = (Vec<u8>, Option<u64>);

/// The trees inside a transaction: messages, unfinished index, quarantine,
/// quarantine index.
type Trees = (
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
);

/// Opens the sled database in `dir`. sled releases its lock on the
/// directory from background threads a little after the last handle of a
/// previous opening is dropped, so a reopen in the same process (a test, a
/// restart of the store) may find it still held: it is retried for up to
/// two seconds. Another process holding it (a second gateway on one data
/// directory, which `cordon serve` refuses earlier) still fails.
fn open_when_unlocked(dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new().path(dir).open() {
            // sled reports it as ErrorKind::Other with this message.
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result.map_err(StoreError::backend),
        }
    }
}

impl SledStore {
    /// Opens (creating if needed, mode 0700) the database in `path`, checks every
    /// message record and rebuilds the index of unfinished messages from
    /// them. A damaged record makes opening fail, naming its key.
    pub fn open(path: impl AsRef<Path>) -> Result<SledStore, StoreError> {
        let dir = path.as_ref().to_path_buf();
        if !dir.is_dir() {
            create_private_dir(&dir)?;
        }
        let db = open_when_unlocked(&dir)?;
        // What sled created without fsync: its files and their entries.
        let conf = dir.join("conf");
        if conf.exists() {
            sync_file(&conf)?;
        }
        let log_path = dir.join("db");
        let log = File::open(&log_path).map_err(StoreError::io(&log_path))?;
        log.sync_all().map_err(StoreError::io(&log_path))?;
        sync_dir(&dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        let tree = |name: &str| db.open_tree(name).map_err(StoreError::backend);
        let store = SledStore {
            messages: tree(MESSAGES)?,
            quarantine: tree(QUARANTINE)?,
            unfinished: tree(UNFINISHED)?,
            index: tree(INDEX)?,
            activity: tree(sender_activity::TREE)?,
            activity_lock: Mutex::new(()),
            db,
            dir,
            log,
        };
        store.flush()?;
        store.rebuild_index()?;
        let indexed = store.index.scan_prefix(listing_prefix(None)).count();
        if !quarantine_index::is_current(&store.index)? || indexed != store.quarantine.len() {
            quarantine_index::rebuild(&store.index, &store.quarantine)?;
            store.flush()?;
        }
        if store
            .db
            .tree_names()
            .iter()
            .any(|name| name.as_ref() == OLD_BY_STATE.as_bytes())
        {
            store
                .db
                .drop_tree(OLD_BY_STATE)
                .map_err(StoreError::backend)?;
            store.flush()?;
        }
        Ok(store)
    }

    /// Makes the `unfinished` index agree with the `messages` tree.
    fn rebuild_index(&self) -> Result<(), StoreError> {
        let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in self.messages.iter() {
            let (key, value) = item.map_err(StoreError::backend)?;
            let record: MessageRecord = decode(MESSAGES, &key, &value)?;
            if let Some(entry) = index_value(&record) {
                expected.insert(key.to_vec(), entry);
            }
        }
        let mut batch = Batch::default();
        let mut changed = false;
        for item in self.unfinished.iter() {
            let (key, value) = item.map_err(StoreError::backend)?;
            match expected.remove(key.as_ref()) {
                Some(want) if want == value.as_ref() => {}
                Some(want) => {
                    batch.insert(key, want);
                    changed = true;
                }
                None => {
                    batch.remove(key);
                    changed = true;
                }
            }
        }
        for (key, value) in expected {
            batch.insert(key, value);
            changed = true;
        }
        if changed {
            self.unfinished
                .apply_batch(batch)
                .map_err(StoreError::backend)?;
            self.flush()?;
        }
        Ok(())
    }

    /// Makes everything written so far durable: sled's flush, then fsync
    /// of its log file and of any blob files (see the module docs).
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(StoreError::backend)?;
        self.log
            .sync_all()
            .map_err(StoreError::io(self.dir.join("db")))?;
        self.sync_blobs()
    }

    /// Fsyncs every file in `blobs/` and the directory, if there are any.
    /// Every one, not only new ones: one may have been half written when
    /// another thread last looked.
    fn sync_blobs(&self) -> Result<(), StoreError> {
        let blobs = self.dir.join("blobs");
        let entries = match fs::read_dir(&blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(blobs)(e)),
        };
        let mut any = false;
        for entry in entries {
            let path = entry.map_err(StoreError::io(&blobs))?.path();
            match File::open(&path) {
                Ok(file) => file.sync_all().map_err(StoreError::io(&path))?,
                // Collected by sled meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(path)(e)),
            }
            any = true;
        }
        if any {
            sync_dir(&blobs)?;
        }
        Ok(())
    }

    /// Runs `change` as one atomic transaction over the three trees, then
    /// flushes, so that the change is durable when this returns.
    fn transact<T>(
        &self,
        change: impl Fn(&Trees) -> ConflictableTransactionResult<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = (
            &self.messages,
            &self.unfinished,
            &self.quarantine,
            &self.index,
        )
            .transaction(|trees| change(trees))
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::backend(e),
            })?;
        self.flush()?;
        Ok(result)
    }

    /// Reads the message under `key` from the `messages` tree, if any.
    fn load_message(&self, key: &[u8]) -> Result<Option<MessageRecord>, StoreError> {
        match self.messages.get(key).map_err(StoreError::backend)? {
            Some(value) => decode(MESSAGES, key, &value).map(Some),
            None => Ok(None),
        }
    }

    /// The unfinished index: (key, earliest retry time if deferred).
    fn index_entries(&self) -> Result<Vec<IndexEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.unfinished.iter() {
            let (key, value) = item.map_err(StoreError::backend)?;
            let due = match value.len() {
                0 => None,
                8 => {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&value);
                    Some(u64::from_be_bytes(bytes))
                }
                n => {
                    return Err(damaged(
                        UNFINISHED,
                        &key,
                        format!("index value of {n} bytes"),
                    ));
                }
            };
            entries.push((key.to_vec(), due));
        }
        Ok(entries)
    }

    /// Loads the messages of these index keys that are still unfinished
    /// and pass `keep` (a concurrent change may have finished or removed one
    /// between the index read and the load).
    fn load_unfinished(
        &self,
        keys: impl Iterator<Item = Vec<u8>>,
        keep: impl Fn(&MessageRecord) -> bool,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut records = Vec::new();
        for key in keys {
            if let Some(record) = self.load_message(&key)?
                && !record.is_finished()
                && keep(&record)
            {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// The index value of a message: `None` if finished (no entry), else the
/// earliest retry time (8 bytes big endian) or empty.
fn index_value(record: &MessageRecord) -> Option<Vec<u8>> {
    if record.is_finished() {
        return None;
    }
    Some(
        record
            .next_attempt_at()
            .map(|at| at.to_be_bytes().to_vec())
            .unwrap_or_default(),
    )
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(StoreError::io(path))
}

fn key_of(id: &QueueId) -> Vec<u8> {
    id.to_string().into_bytes()
}

fn damaged(table: &'static str, key: &[u8], problem: String) -> StoreError {
    StoreError::DamagedRecord {
        table,
        key: String::from_utf8_lossy(key).into_owned(),
        problem,
    }
}

/// A record stored under its own id.
trait Keyed: Serialize + DeserializeOwned {
    fn own_id(&self) -> QueueId;
}

impl Keyed for MessageRecord {
    fn own_id(&self) -> QueueId {
        self.id
    }
}

impl Keyed for QuarantineRecord {
    fn own_id(&self) -> QueueId {
        self.id
    }
}

/// Decodes a JSON record and checks that it is stored under its own id.
fn decode<T: Keyed>(table: &'static str, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    let record: T = serde_json::from_slice(value)
        .map_err(|e| damaged(table, key, format!("not a valid record: {e}")))?;
    let own = record.own_id();
    if key_of(&own) != key {
        return Err(damaged(table, key, format!("holds the record of {own}")));
    }
    Ok(record)
}

fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(StoreError::backend)
}

/// Aborts a transaction with a store error.
fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// Reads a message inside a transaction.
fn tx_load_message(
    messages: &TransactionalTree,
    key: &[u8],
) -> ConflictableTransactionResult<Option<MessageRecord>, StoreError> {
    match messages.get(key)? {
        Some(value) => decode(MESSAGES, key, &value).map(Some).map_err(abort),
        None => Ok(None),
    }
}

/// Writes a message and its index entry inside a transaction.
fn tx_store_message(
    messages: &TransactionalTree,
    unfinished: &TransactionalTree,
    record: &MessageRecord,
) -> ConflictableTransactionResult<(), StoreError> {
    let key = key_of(&record.id);
    messages.insert(key.clone(), encode(record).map_err(abort)?)?;
    match index_value(record) {
        Some(value) => unfinished.insert(key, value)?,
        None => unfinished.remove(key)?,
    };
    Ok(())
}

impl Engine for SledStore {
    fn put_message(&self, record: &MessageRecord) -> Result<(), StoreError> {
        self.transact(|(messages, unfinished, _, _)| tx_store_message(messages, unfinished, record))
    }

    fn get_message(&self, id: &QueueId) -> Result<Option<MessageRecord>, StoreError> {
        self.load_message(&key_of(id))
    }

    fn message_ids(&self) -> Result<Vec<QueueId>, StoreError> {
        let mut ids = Vec::new();
        for item in self.messages.iter().keys() {
            let key = item.map_err(StoreError::backend)?;
            let id = std::str::from_utf8(&key)
                .ok()
                .and_then(QueueId::from_canonical)
                .ok_or_else(|| damaged(MESSAGES, &key, "key is not a queue id".to_owned()))?;
            ids.push(id);
        }
        Ok(ids)
    }

    fn unfinished_messages(&self) -> Result<Vec<MessageRecord>, StoreError> {
        let keys = self.index_entries()?.into_iter().map(|(key, _)| key);
        self.load_unfinished(keys, |_| true)
    }

    fn due_messages(&self, now: u64) -> Result<Vec<MessageRecord>, StoreError> {
        let keys = self
            .index_entries()?
            .into_iter()
            .filter(|(_, due)| due.is_some_and(|at| at <= now))
            .map(|(key, _)| key);
        self.load_unfinished(keys, |record| record.is_due(now))
    }

    fn set_recipient_status(
        &self,
        id: &QueueId,
        address: &str,
        status: RecipientStatus,
    ) -> Result<MessageRecord, StoreError> {
        let key = key_of(id);
        self.transact(|(messages, unfinished, _, _)| {
            let Some(mut record) = tx_load_message(messages, &key)? else {
                return Err(abort(StoreError::NotFound {
                    what: "message",
                    key: id.to_string(),
                }));
            };
            set_status(&mut record, address, &status).map_err(abort)?;
            tx_store_message(messages, unfinished, &record)?;
            Ok(record)
        })
    }

    fn remove_message(&self, id: &QueueId) -> Result<bool, StoreError> {
        let key = key_of(id);
        self.transact(|(messages, unfinished, _, _)| {
            let existed = messages.remove(key.as_slice())?.is_some();
            unfinished.remove(key.as_slice())?;
            Ok(existed)
        })
    }

    fn put_quarantine(&self, record: &QuarantineRecord) -> Result<(), StoreError> {
        let value = encode(record)?;
        let message_key = key_of(&record.message_id);
        self.transact(|(messages, unfinished, quarantine, index)| {
            let key = key_of(&record.id);
            let old = tx_load_quarantine(quarantine, &key)?;
            quarantine.insert(key.as_slice(), value.clone())?;
            tx_reindex(index, old.as_ref(), Some(record))?;
            if let Some(mut message) = tx_load_message(messages, &message_key)?
                && mark_held(&mut message, record)
            {
                tx_store_message(messages, unfinished, &message)?;
            }
            Ok(())
        })
    }

    fn propose_release(
        &self,
        id: &QueueId,
        proposal: ReleaseProposal,
    ) -> Result<QuarantineRecord, StoreError> {
        let key = key_of(id);
        self.transact(|(_, _, quarantine, _)| {
            let Some(mut record) = tx_load_quarantine(quarantine, &key)? else {
                return Err(abort(StoreError::NotFound {
                    what: "quarantine",
                    key: id.to_string(),
                }));
            };
            // Nothing indexed changes.
            propose_record(&mut record, proposal.clone()).map_err(abort)?;
            quarantine.insert(key.clone(), encode(&record).map_err(abort)?)?;
            Ok(record)
        })
    }

    fn set_quarantine_notified(
        &self,
        id: &QueueId,
        state: QuarantineState,
    ) -> Result<bool, StoreError> {
        let key = key_of(id);
        self.transact(|(_, _, quarantine, _)| {
            let Some(mut record) = tx_load_quarantine(quarantine, &key)? else {
                return Ok(false);
            };
            if record.state != state {
                return Ok(false);
            }
            // Nothing indexed changes.
            record.sender_notified = true;
            quarantine.insert(key.clone(), encode(&record).map_err(abort)?)?;
            Ok(true)
        })
    }

    fn get_quarantine(&self, id: &QueueId) -> Result<Option<QuarantineRecord>, StoreError> {
        self.load_quarantine(&key_of(id))
    }

    fn list_quarantine(
        &self,
        state: Option<QuarantineState>,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut records = Vec::new();
        match state {
            // Every entry, read from the entries themselves.
            None => {
                for item in self.quarantine.iter() {
                    let (key, value) = item.map_err(StoreError::backend)?;
                    records.push(decode(QUARANTINE, &key, &value)?);
                }
                sort_newest_first(&mut records);
            }
            Some(state) => {
                let mut ids = Vec::new();
                self.scan_listing(&QuarantineQuery::in_state(state), None, &mut |summary| {
                    ids.push(summary.id);
                    true
                })?;
                records = self.load_quarantines(&ids)?;
                records.retain(|r| r.state == state);
            }
        }
        Ok(records)
    }

    fn decide_quarantine(
        &self,
        id: &QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
        at: u64,
    ) -> Result<QuarantineRecord, StoreError> {
        let key = key_of(id);
        self.transact(|(messages, unfinished, quarantine, index)| {
            let Some(old) = tx_load_quarantine(quarantine, &key)? else {
                return Err(abort(StoreError::NotFound {
                    what: "quarantine",
                    key: id.to_string(),
                }));
            };
            let mut record = old.clone();
            decide_record(&mut record, decision, by, note, at).map_err(abort)?;
            quarantine.insert(key.clone(), encode(&record).map_err(abort)?)?;
            tx_reindex(index, Some(&old), Some(&record))?;
            if let Some(mut message) = tx_load_message(messages, &key_of(&record.message_id))?
                && apply_decision(&mut message, id, decision, at)
            {
                tx_store_message(messages, unfinished, &message)?;
            }
            Ok(record)
        })
    }

    fn prune_decided(&self, decided_before: u64) -> Result<u64, StoreError> {
        let mut pruned = 0;
        let range = timed_key(DECIDED, 0, &[])..timed_key(DECIDED, decided_before, &[]);
        for item in self.index.range(range) {
            let (index_key, _) = item.map_err(StoreError::backend)?;
            let key = id_of(&index_key).to_vec();
            let removed = self.transact(|(messages, _, quarantine, index)| {
                let Some(record) = tx_load_quarantine(quarantine, &key)? else {
                    index.remove(index_key.as_ref())?;
                    return Ok(false);
                };
                if record.state == QuarantineState::Held
                    || record.decided_at.is_none_or(|at| at >= decided_before)
                    || messages.get(key_of(&record.message_id))?.is_some()
                {
                    return Ok(false);
                }
                quarantine.remove(key.as_slice())?;
                tx_reindex(index, Some(&record), None)?;
                Ok(true)
            })?;
            pruned += u64::from(removed);
        }
        Ok(pruned)
    }

    fn record_sender_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        self.record_activity(activity, queries)
    }

    fn prune_sender_activity(&self, before: u64) -> Result<u64, StoreError> {
        self.prune_activity(before)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut counts = StoreCounts::default();
        for (_, due) in self.index_entries()? {
            counts.unfinished += 1;
            if due.is_some() {
                counts.deferred += 1;
            }
        }
        counts.quarantine_held = self.quarantine_tally()?.in_state(QuarantineState::Held);
        Ok(counts)
    }

    fn page_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantinePage, StoreError> {
        QuarantinePage::by_scan(
            query,
            limit,
            |visit| self.scan_listing(query, before, visit),
            |ids| self.load_quarantines(ids),
        )
    }

    fn count_quarantine(&self, query: &QuarantineQuery) -> Result<QuarantineCount, StoreError> {
        QuarantineCount::by_tally_or_scan(
            query,
            || self.quarantine_tally(),
            |visit| self.scan_listing(query, None, visit),
        )
    }

    fn search_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantineSearch, StoreError> {
        QuarantineSearch::by_tally_or_scan(
            query,
            before,
            limit,
            || self.quarantine_tally(),
            || self.page_quarantine(query, before, limit),
            |visit| self.scan_listing(query, None, visit),
            |ids| self.load_quarantines(ids),
        )
    }

    fn quarantine_tally(&self) -> Result<QuarantineTally, StoreError> {
        quarantine_index::tally(&self.index)
    }

    fn oldest_held(&self) -> Result<Option<QuarantineRecord>, StoreError> {
        let prefix = listing_prefix(Some(QuarantineState::Held));
        for item in self.index.scan_prefix(&prefix) {
            let (index_key, _) = item.map_err(StoreError::backend)?;
            if let Some(record) = self.load_quarantine(id_of(&index_key))?
                && record.state == QuarantineState::Held
            {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    fn expiring(&self, now: u64, limit: usize) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut records = Vec::new();
        let range = timed_key(EXPIRY, 0, &[])..timed_key(EXPIRY, now.saturating_add(1), &[]);
        for item in self.index.range(range) {
            if records.len() >= limit {
                break;
            }
            let (index_key, _) = item.map_err(StoreError::backend)?;
            if let Some(record) = self.load_quarantine(id_of(&index_key))?
                && record.state == QuarantineState::Held
                && record.expires_at <= now
            {
                records.push(record);
            }
        }
        Ok(records)
    }
}

impl SledStore {
    /// Reads the quarantine entry under `key`, if any.
    fn load_quarantine(&self, key: &[u8]) -> Result<Option<QuarantineRecord>, StoreError> {
        match self.quarantine.get(key).map_err(StoreError::backend)? {
            Some(value) => decode(QUARANTINE, key, &value).map(Some),
            None => Ok(None),
        }
    }

    /// Hands `visit` the summaries of the entries in `query`'s state and
    /// time range, newest first, after `before`, until it returns false.
    /// The other parts of the query are the caller's to check.
    fn scan_listing(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        visit: Scan<'_>,
    ) -> Result<(), StoreError> {
        let prefix = listing_prefix(query.state);
        let low = timed_key(&prefix, query.held_from.unwrap_or(0), &[]);
        let mut high = match query.held_until {
            Some(until) => timed_key(&prefix, until, &[]),
            None => end_of(&prefix),
        };
        if let Some(cursor) = before {
            high = high.min(timed_key(&prefix, cursor.held_at, &key_of(&cursor.id)));
        }
        if low >= high {
            return Ok(());
        }
        let prefilter = SummaryPrefilter::of(query);
        for item in self.index.range(low..high).rev() {
            let (index_key, value) = item.map_err(StoreError::backend)?;
            let (search_text, summary) = quarantine_index::listing_parts(&index_key, &value)?;
            if !prefilter.may_match(search_text) {
                continue;
            }
            let summary = quarantine_index::summary_of(&index_key, summary)?;
            if query.state.is_some_and(|state| summary.state != state) {
                continue;
            }
            if !visit(summary) {
                break;
            }
        }
        Ok(())
    }

    /// The entries with these ids that are still there, in that order.
    fn load_quarantines(&self, ids: &[QueueId]) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.load_quarantine(&key_of(id))? {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// Reads a quarantine entry inside a transaction.
fn tx_load_quarantine(
    quarantine: &TransactionalTree,
    key: &[u8],
) -> ConflictableTransactionResult<Option<QuarantineRecord>, StoreError> {
    match quarantine.get(key)? {
        Some(value) => decode(QUARANTINE, key, &value).map(Some).map_err(abort),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender_activity::WindowQuery;
    use crate::store::tests::{activity, deferred, inspected as record, quarantine};

    #[test]
    fn the_quarantine_index_follows_decisions_and_is_rebuilt_for_an_older_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let message = record(&[RecipientStatus::Pending]);
        let entry = |held_at| quarantine(&message, &["claims@insurer-example.co.uk"], held_at);
        let (first, second, third) = (entry(1), entry(2), entry(3));
        let held_ids = |store: &SledStore| -> Vec<QueueId> {
            store
                .list_quarantine(Some(QuarantineState::Held))
                .unwrap()
                .iter()
                .map(|q| q.id)
                .collect()
        };
        {
            let store = SledStore::open(&path).unwrap();
            for e in [&first, &second, &third] {
                store.put_quarantine(e).unwrap();
            }
            store
                .decide_quarantine(&second.id, Decision::Reject, "officer", None, 5)
                .unwrap();
            assert_eq!(held_ids(&store), vec![third.id, first.id]);
            assert_eq!(store.counts().unwrap().quarantine_held, 2);
            let rejected = store
                .list_quarantine(Some(QuarantineState::Rejected))
                .unwrap();
            assert_eq!(rejected.len(), 1);
            assert_eq!(rejected[0].id, second.id);
            // As a database written before the index existed.
            store.index.clear().unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(&path).unwrap();
        assert_eq!(held_ids(&store), vec![third.id, first.id]);
        assert_eq!(store.counts().unwrap().quarantine_held, 2);
        assert_eq!(store.list_quarantine(None).unwrap().len(), 3);
        assert_eq!(
            store.quarantine_tally().unwrap(),
            QuarantineTally::of(store.list_quarantine(None).unwrap().iter())
        );
    }

    #[test]
    fn reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let pending = record(&[RecipientStatus::Pending]);
        let later = record(&[deferred(500)]);
        let done = record(&[RecipientStatus::Delivered { at: 3 }]);
        let quarantine = QuarantineRecord {
            id: QueueId::new(),
            message_id: pending.id,
            recipients: vec!["nobody@example.org".into()],
            sender: "a@northshire.police.uk".into(),
            subject: None,
            held_at: 10,
            expires_at: 20,
            state: QuarantineState::Held,
            findings_json: "[]".into(),
            reasons_json: "[]".into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        };
        {
            let store = SledStore::open(&path).unwrap();
            for r in [&pending, &later, &done] {
                store.put_message(r).unwrap();
            }
            store.put_quarantine(&quarantine).unwrap();
            store
                .set_recipient_status(&pending.id, "r0@example.org", deferred(100))
                .unwrap();
        }
        let store = SledStore::open(&path).unwrap();
        let mut pending_now = pending.clone();
        pending_now.recipients[0].status = deferred(100);
        assert_eq!(
            store.get_message(&pending.id).unwrap(),
            Some(pending_now.clone())
        );
        assert_eq!(store.get_message(&done.id).unwrap(), Some(done.clone()));
        assert_eq!(
            store.message_ids().unwrap(),
            vec![pending.id, later.id, done.id]
        );
        assert_eq!(
            store.unfinished_messages().unwrap(),
            vec![pending_now.clone(), later]
        );
        assert_eq!(store.due_messages(100).unwrap(), vec![pending_now]);
        assert_eq!(
            store.get_quarantine(&quarantine.id).unwrap(),
            Some(quarantine)
        );
        assert_eq!(
            store.counts().unwrap(),
            StoreCounts {
                unfinished: 2,
                deferred: 2,
                quarantine_held: 1
            }
        );
    }

    #[test]
    fn sender_activity_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let sender = "pc.jones@northshire.police.uk";
        let at = 1_700_000_000;
        let queries = [
            WindowQuery::sum("attachments_to_personal", 86_400),
            WindowQuery::distinct("external_recipients", 3_600),
        ];
        let first = activity(
            sender,
            at,
            &[("attachments_to_personal", 2)],
            &[("external_recipients", &["a@x.com", "b@y.org"])],
        );
        let second = activity(
            sender,
            at + 600,
            &[("attachments_to_personal", 1)],
            &[("external_recipients", &["b@y.org", "c@z.net"])],
        );
        {
            let store = SledStore::open(&path).unwrap();
            store.record_sender_activity(&first, &queries).unwrap();
            assert_eq!(
                store.record_sender_activity(&second, &queries).unwrap(),
                vec![3, 3]
            );
        }
        let store = SledStore::open(&path).unwrap();
        let read = activity(sender, at + 600, &[], &[]);
        assert_eq!(
            store.record_sender_activity(&read, &queries).unwrap(),
            vec![3, 3]
        );
        // The markers survived too: a retry adds nothing (and reads at its
        // own time, before b was added again).
        assert_eq!(
            store.record_sender_activity(&first, &queries).unwrap(),
            vec![2, 1]
        );
        assert_eq!(
            store.record_sender_activity(&read, &queries).unwrap(),
            vec![3, 3]
        );
        // Markers 2, buckets 2, members 3.
        assert_eq!(store.prune_sender_activity(u64::MAX).unwrap(), 7);
        assert_eq!(store.activity.len(), 0, "every index key went too");
    }

    #[test]
    fn a_prune_larger_than_a_batch_removes_everything_it_should() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("db")).unwrap();
        let members: Vec<String> = (0..25).map(|i| format!("p{i}@gmail.com")).collect();
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let old = activity("a@x.com", 1_000, &[("n", 1)], &[("rcpt", &members)]);
        let recent = activity(
            "a@x.com",
            9_000,
            &[("n", 1)],
            &[("rcpt", &["p1@gmail.com"])],
        );
        store.record_sender_activity(&old, &[]).unwrap();
        store.record_sender_activity(&recent, &[]).unwrap();
        // All but the recent message's marker, bucket and member.
        assert_eq!(store.prune_sender_activity(5_000).unwrap(), 26);
        let totals = store
            .record_sender_activity(
                &activity("a@x.com", 9_000, &[], &[]),
                &[
                    WindowQuery::sum("n", 86_400),
                    WindowQuery::distinct("rcpt", 86_400),
                ],
            )
            .unwrap();
        assert_eq!(totals, vec![1, 1]);
        // Three items with two index keys each, and the member's `w` key.
        assert_eq!(store.activity.len(), 7);
    }

    #[test]
    fn large_records_survive_reopen() {
        // Large enough to go to a sled blob file, which `flush` fsyncs.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut big = record(&[RecipientStatus::Pending]);
        big.verdict_json = Some(format!("[{}]", "\"finding\",".repeat(40_000) + "1"));
        {
            let store = SledStore::open(&path).unwrap();
            store.put_message(&big).unwrap();
            let blobs = fs::read_dir(path.join("blobs")).unwrap().count();
            assert!(blobs > 0, "expected sled to write a blob file");
        }
        let store = SledStore::open(&path).unwrap();
        assert_eq!(store.get_message(&big.id).unwrap(), Some(big.clone()));
        assert_eq!(store.unfinished_messages().unwrap(), vec![big]);
    }

    #[test]
    fn index_is_rebuilt_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let unfinished = record(&[deferred(5)]);
        let finished = record(&[RecipientStatus::Delivered { at: 1 }]);
        {
            let store = SledStore::open(&path).unwrap();
            store.put_message(&unfinished).unwrap();
            store.put_message(&finished).unwrap();
            // Damage the index: lose one entry, add a bogus one.
            store.unfinished.remove(key_of(&unfinished.id)).unwrap();
            store
                .unfinished
                .insert(key_of(&finished.id), vec![])
                .unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(&path).unwrap();
        assert_eq!(
            store.unfinished_messages().unwrap(),
            vec![unfinished.clone()]
        );
        assert_eq!(store.due_messages(5).unwrap(), vec![unfinished]);
    }

    #[test]
    fn damaged_records_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let good = record(&[RecipientStatus::Pending]);
        let other = record(&[RecipientStatus::Pending]);
        let bad_id = QueueId::new();
        {
            let store = SledStore::open(&path).unwrap();
            store.put_message(&good).unwrap();
            store
                .messages
                .insert(key_of(&bad_id), b"{\"id\": 12".to_vec())
                .unwrap();
            // A valid record under the wrong key.
            store
                .quarantine
                .insert(key_of(&other.id), encode(&good).unwrap())
                .unwrap();
            match store.get_message(&bad_id) {
                Err(StoreError::DamagedRecord { table, key, .. }) => {
                    assert_eq!((table, key), (MESSAGES, bad_id.to_string()));
                }
                other => panic!("expected a damaged record, got {other:?}"),
            }
            assert_eq!(store.get_message(&good.id).unwrap(), Some(good.clone()));
            let err =
                store.set_recipient_status(&bad_id, "r0@example.org", RecipientStatus::Pending);
            assert!(
                matches!(err, Err(StoreError::DamagedRecord { .. })),
                "{err:?}"
            );
            let err = store.get_quarantine(&other.id).unwrap_err();
            assert!(err.to_string().contains(&other.id.to_string()), "{err}");
            let err = store.list_quarantine(None).unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::DamagedRecord {
                        table: QUARANTINE,
                        ..
                    }
                ),
                "{err}"
            );
            store.flush().unwrap();
        }
        match SledStore::open(&path) {
            Err(StoreError::DamagedRecord { key, .. }) => assert_eq!(key, bad_id.to_string()),
            other => panic!("expected a damaged record, got {other:?}"),
        }
    }
}
