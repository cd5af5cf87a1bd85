//! The `quarantine_index` tree: every index over the `quarantine` tree and
//! the tally, in one tree so that the transaction that changes an entry
//! changes them too. Keys by their first byte (times 8 bytes big endian,
//! ids the 26-character queue ids):
//!
//! - `L`, state tag, `held_at`, id: the entries of one state in time order
//!   (queue pages, the oldest held entry), each with its search text and
//!   [`QuarantineSummary`] as the value (the text's length, 4 bytes big
//!   endian, the text, the summary's JSON), so that a search reads search
//!   texts, decodes the summaries that may match and loads only the
//!   entries it shows;
//! - `T`, `held_at`, id: the entries of every state in time order, each
//!   with the same value;
//! - `X`, `expires_at`, id: held entries by expiry;
//! - `D`, `decided_at`, id: decided entries by decision time (retention);
//! - `C` then a [`TallyKey`] as text: a count of the tally, 8 bytes;
//! - `V`: the layout's version. A tree without the current one (a database
//!   from before this layout, or one whose rebuild was cut short) is
//!   rebuilt from `quarantine` on open.

use sled::Tree;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use super::{QUARANTINE, abort, decode, encode, key_of};
use crate::error::StoreError;
use crate::id::QUEUE_ID_LEN;
use crate::listing::QuarantineSummary;
use crate::prefilter::search_text;
use crate::record::{QuarantineRecord, QuarantineState};
use crate::tally::{QuarantineTally, TallyKey, tally_delta};

/// The layout written by this version (1 had no summaries, 2 no search
/// texts).
const LAYOUT: &[u8] = b"3";
const VERSION_KEY: &[u8] = b"V";
const COUNT_PREFIX: u8 = b'C';

/// The byte that follows `L` in the keys of entries in `state`.
fn state_tag(state: QuarantineState) -> u8 {
    match state {
        QuarantineState::Held => b'h',
        QuarantineState::Released => b'r',
        QuarantineState::Rejected => b'j',
        QuarantineState::Expired => b'e',
    }
}

/// The prefix of the time-ordered listing of `state`, or of every state.
pub(super) fn listing_prefix(state: Option<QuarantineState>) -> Vec<u8> {
    match state {
        Some(state) => vec![b'L', state_tag(state)],
        None => vec![b'T'],
    }
}

/// `prefix`, `at` and `id` (or nothing after `at`) as one key.
pub(super) fn timed_key(prefix: &[u8], at: u64, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 8 + id.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(&at.to_be_bytes());
    key.extend_from_slice(id);
    key
}

/// A key past every key of `prefix` followed by a time and an id.
pub(super) fn end_of(prefix: &[u8]) -> Vec<u8> {
    timed_key(prefix, u64::MAX, &[0xff])
}

/// The prefix of held entries by expiry.
pub(super) const EXPIRY: &[u8] = b"X";
/// The prefix of decided entries by decision time.
pub(super) const DECIDED: &[u8] = b"D";

/// The entry id at the end of a timed key (empty for a short key).
pub(super) fn id_of(key: &[u8]) -> &[u8] {
    key.len()
        .checked_sub(QUEUE_ID_LEN)
        .and_then(|start| key.get(start..))
        .unwrap_or_default()
}

/// An index key and its value.
type IndexEntry = (Vec<u8>, Vec<u8>);

/// The index keys of `record` with their values: its summary under the
/// listing keys, nothing under the others.
fn entry_keys(record: &QuarantineRecord) -> Result<Vec<IndexEntry>, StoreError> {
    let id = key_of(&record.id);
    let summary = listing_value(record)?;
    let mut keys = vec![
        (
            timed_key(&listing_prefix(Some(record.state)), record.held_at, &id),
            summary.clone(),
        ),
        (
            timed_key(&listing_prefix(None), record.held_at, &id),
            summary,
        ),
    ];
    match (record.state, record.decided_at) {
        (QuarantineState::Held, _) => {
            keys.push((timed_key(EXPIRY, record.expires_at, &id), Vec::new()));
        }
        (_, Some(at)) => keys.push((timed_key(DECIDED, at, &id), Vec::new())),
        (_, None) => {}
    }
    Ok(keys)
}

/// The value under `record`'s listing keys: its search text and summary.
fn listing_value(record: &QuarantineRecord) -> Result<Vec<u8>, StoreError> {
    let summary = QuarantineSummary::of(record);
    let text = search_text(&summary);
    let length = u32::try_from(text.len()).map_err(|_| StoreError::DamagedRecord {
        table: INDEX_TABLE,
        key: record.id.to_string(),
        problem: format!("a search text of {} bytes", text.len()),
    })?;
    let mut value = length.to_be_bytes().to_vec();
    value.extend_from_slice(text.as_bytes());
    value.extend_from_slice(&encode(&summary)?);
    Ok(value)
}

/// The search text and summary stored under a listing key, the summary
/// still encoded.
pub(super) fn listing_parts<'v>(
    key: &[u8],
    value: &'v [u8],
) -> Result<(&'v [u8], &'v [u8]), StoreError> {
    let parts = value.split_first_chunk::<4>().and_then(|(length, rest)| {
        let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
        (length <= rest.len()).then(|| rest.split_at(length))
    });
    parts.ok_or_else(|| damaged(key, "shorter than its search text".to_owned()))
}

/// The summary in a listing value's second part.
pub(super) fn summary_of(key: &[u8], summary: &[u8]) -> Result<QuarantineSummary, StoreError> {
    serde_json::from_slice(summary).map_err(|e| damaged(key, format!("not a valid summary: {e}")))
}

/// The error for a damaged value under `key`.
fn damaged(key: &[u8], problem: String) -> StoreError {
    StoreError::DamagedRecord {
        table: INDEX_TABLE,
        key: String::from_utf8_lossy(key).into_owned(),
        problem,
    }
}

/// The tree's name, for errors.
const INDEX_TABLE: &str = "quarantine_index";

/// The key of a count of the tally.
fn count_key(key: &TallyKey) -> Vec<u8> {
    let mut bytes = vec![COUNT_PREFIX];
    bytes.extend_from_slice(key.encode().as_bytes());
    bytes
}

/// A stored count (8 bytes big endian; anything else counts as 0).
fn count_of(value: &[u8]) -> u64 {
    <[u8; 8]>::try_from(value).map_or(0, u64::from_be_bytes)
}

/// Moves the index keys and counts of an entry from `old` to `new` (either
/// absent: inserted or deleted) inside a transaction.
pub(super) fn tx_reindex(
    index: &TransactionalTree,
    old: Option<&QuarantineRecord>,
    new: Option<&QuarantineRecord>,
) -> ConflictableTransactionResult<(), StoreError> {
    let keys_of = |record: Option<&QuarantineRecord>| match record {
        Some(record) => entry_keys(record).map_err(abort),
        None => Ok(Vec::new()),
    };
    let new_keys = keys_of(new)?;
    for (key, _) in keys_of(old)? {
        if !new_keys.iter().any(|(k, _)| *k == key) {
            index.remove(key)?;
        }
    }
    for (key, value) in new_keys {
        index.insert(key, value)?;
    }
    for (key, change) in tally_delta(old, new) {
        let key = count_key(&key);
        let count = index.get(&key)?.map_or(0, |v| count_of(&v));
        let count = count.saturating_add_signed(change);
        if count == 0 {
            index.remove(key)?;
        } else {
            index.insert(key, &count.to_be_bytes())?;
        }
    }
    Ok(())
}

/// The tally as stored.
pub(super) fn tally(index: &Tree) -> Result<QuarantineTally, StoreError> {
    let mut counts = Vec::new();
    for item in index.scan_prefix([COUNT_PREFIX]) {
        let (key, value) = item.map_err(StoreError::backend)?;
        let text = std::str::from_utf8(key.get(1..).unwrap_or_default()).ok();
        if let Some(key) = text.and_then(TallyKey::decode) {
            counts.push((key, count_of(&value)));
        }
    }
    Ok(QuarantineTally::from_counts(counts.into_iter()))
}

/// Whether the tree has the current layout.
pub(super) fn is_current(index: &Tree) -> Result<bool, StoreError> {
    Ok(index
        .get(VERSION_KEY)
        .map_err(StoreError::backend)?
        .is_some_and(|v| v.as_ref() == LAYOUT))
}

/// Rebuilds the whole tree from the entries in `quarantine`: clears it,
/// writes every entry's keys and the tally, and last the version, so that
/// a rebuild cut short is done again on the next open.
pub(super) fn rebuild(index: &Tree, quarantine: &Tree) -> Result<(), StoreError> {
    index.clear().map_err(StoreError::backend)?;
    let mut counts: std::collections::BTreeMap<TallyKey, u64> = Default::default();
    let mut batch = sled::Batch::default();
    for item in quarantine.iter() {
        let (key, value) = item.map_err(StoreError::backend)?;
        let record: QuarantineRecord = decode(QUARANTINE, &key, &value)?;
        for (key, value) in entry_keys(&record)? {
            batch.insert(key, value);
        }
        for key in TallyKey::of(&record) {
            *counts.entry(key).or_default() += 1;
        }
    }
    for (key, count) in counts {
        batch.insert(count_key(&key), &count.to_be_bytes());
    }
    index.apply_batch(batch).map_err(StoreError::backend)?;
    index
        .insert(VERSION_KEY, LAYOUT)
        .map_err(StoreError::backend)?;
    Ok(())
}
