//! The `sender_activity` tree: the sender activity counters
//! ([`crate::SenderActivity`]) in sled. Strings in keys are escaped so that
//! they sort as themselves and end unambiguously (each 0 byte written as
//! 0, 0xff; the string ended by a lone 0), so that a sender's, a name's or
//! a member's keys are a range whatever their text; times and bucket
//! starts are 8 bytes big endian, so that key order is time order. Keys by
//! their first byte:
//!
//! - `m`, message id: a recorded message's marker, its `at` as the value;
//! - `s`, sender, counter, bucket start: a bucket's sum, 8 bytes;
//! - `d`, sender, set, member: the member's last time, 8 bytes;
//! - `w`, sender, set, last time, member (no value): the members of a set
//!   by last time, so that a window's distinct count reads only the
//!   members in the window;
//! - `p`, time, then the key of an `m`, `s` or `d` item (no value): every
//!   item by the last second it covers (a marker's `at`, a bucket's last
//!   second, a member's last time), so that a prune reads only what it
//!   deletes.
//!
//! A recording is one sled transaction (marker, buckets and members with
//! their index keys, or nothing). sled's transactions cannot scan a range,
//! so the totals are read by range scans after the transaction commits,
//! while [`SledStore`]'s `activity_lock` is still held: every writer of the
//! tree takes it, so the scans see exactly the state this recording left,
//! and the recordings of one sender are serialized. The lock is held for
//! work in memory only; the flush that makes the recording durable runs
//! after it is released, before the method returns.

use std::sync::{MutexGuard, PoisonError};

use sled::Batch;
use sled::transaction::{ConflictableTransactionResult, TransactionError, TransactionalTree};

use super::{SledStore, abort, damaged};
use crate::error::StoreError;
use crate::sender_activity::{
    SenderActivity, WindowMeasure, WindowQuery, bucket_end, bucket_of, check_queries,
};

/// The tree's name.
pub(super) const TREE: &str = "sender_activity";

const MARKER: u8 = b'm';
const SUM: u8 = b's';
const MEMBER: u8 = b'd';
const BY_TIME: u8 = b'w';
const AGE: u8 = b'p';

/// Items a prune deletes per atomic batch, taking the lock once per batch
/// so that recordings are not held off for a long prune. Small in tests,
/// so that a test crosses batches with a few items (a large transaction
/// in a test process slows sled's shared background threads enough that
/// other tests' reopening finds the old instance's lock still held).
const PRUNE_BATCH: usize = if cfg!(test) { 10 } else { 1000 };

/// Appends `text` escaped (see the module docs).
fn push_str(key: &mut Vec<u8>, text: &str) {
    for &byte in text.as_bytes() {
        key.push(byte);
        if byte == 0 {
            key.push(0xff);
        }
    }
    key.push(0);
}

/// The escaped string at the start of `bytes` (its raw bytes) and what
/// follows it; `None` if it does not end.
fn take_str(bytes: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut text = Vec::new();
    let mut i = 0;
    loop {
        let byte = *bytes.get(i)?;
        if byte != 0 {
            text.push(byte);
            i += 1;
        } else if bytes.get(i + 1) == Some(&0xff) {
            text.push(0);
            i += 2;
        } else {
            return Some((text, &bytes[i + 1..]));
        }
    }
}

/// `tag`, then each of `parts` escaped.
fn key(tag: u8, parts: &[&str]) -> Vec<u8> {
    let mut key = vec![tag];
    for part in parts {
        push_str(&mut key, part);
    }
    key
}

fn with_time(mut key: Vec<u8>, at: u64) -> Vec<u8> {
    key.extend_from_slice(&at.to_be_bytes());
    key
}

fn marker_key(message: &str) -> Vec<u8> {
    key(MARKER, &[message])
}

fn sum_key(sender: &str, counter: &str, bucket: u64) -> Vec<u8> {
    with_time(key(SUM, &[sender, counter]), bucket)
}

fn member_key(sender: &str, set: &str, member: &str) -> Vec<u8> {
    key(MEMBER, &[sender, set, member])
}

/// The `w` key of a member whose last time is `at`, from the escaped
/// sender and set (`w_prefix`) and the escaped member.
fn by_time_key(w_prefix: &[u8], at: u64, escaped_member: &[u8]) -> Vec<u8> {
    let mut key = with_time(w_prefix.to_vec(), at);
    key.extend_from_slice(escaped_member);
    key
}

fn age_key(at: u64, item: &[u8]) -> Vec<u8> {
    let mut key = with_time(vec![AGE], at);
    key.extend_from_slice(item);
    key
}

/// A stored 8-byte number, or damage naming the key.
fn number(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| damaged(TREE, key, format!("value of {} bytes", value.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Splits a `d` key into the `w` prefix of its sender and set and its
/// escaped member.
fn split_member_key(key: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let rest = key.strip_prefix(&[MEMBER])?;
    let (_, after_sender) = take_str(rest)?;
    let (_, member) = take_str(after_sender)?;
    let mut prefix = vec![BY_TIME];
    prefix.extend_from_slice(&rest[..rest.len() - member.len()]);
    take_str(member).filter(|(_, tail)| tail.is_empty())?;
    Some((prefix, member))
}

impl SledStore {
    fn activity_guard(&self) -> MutexGuard<'_, ()> {
        // It guards no data of its own: the tree's changes are atomic, so a
        // panic while it was held left nothing half made.
        self.activity_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// See [`crate::Engine::record_sender_activity`].
    pub(super) fn record_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        check_queries(queries)?;
        let guard = self.activity_guard();
        let changed = !activity.only_reads();
        if changed {
            self.activity
                .transaction(|tx| tx_add(tx, activity))
                .map_err(|e| match e {
                    TransactionError::Abort(e) => e,
                    TransactionError::Storage(e) => StoreError::backend(e),
                })?;
        }
        let totals = queries
            .iter()
            .map(|query| self.activity_total(activity, query))
            .collect::<Result<Vec<_>, _>>()?;
        drop(guard);
        if changed {
            self.flush()?;
        }
        Ok(totals)
    }

    /// One total, by a range scan of the window's keys.
    fn activity_total(
        &self,
        activity: &SenderActivity,
        query: &WindowQuery,
    ) -> Result<u64, StoreError> {
        let (sender, name, at) = (activity.sender.as_str(), query.name.as_str(), activity.at);
        let low = query.low(at);
        match query.measure {
            WindowMeasure::Sum => {
                let prefix = key(SUM, &[sender, name]);
                let range = with_time(prefix.clone(), low)..=with_time(prefix, at);
                let mut total = 0u64;
                for item in self.activity.range(range) {
                    let (key, value) = item.map_err(StoreError::backend)?;
                    total = total.saturating_add(number(&key, &value)?);
                }
                Ok(total)
            }
            WindowMeasure::Distinct => {
                let prefix = key(BY_TIME, &[sender, name]);
                // Past every member whose last time is `at`: no escaped
                // member starts with 0xff, a byte UTF-8 never has.
                let mut high = with_time(prefix.clone(), at);
                high.push(0xff);
                let mut count = 0u64;
                for item in self.activity.range(with_time(prefix, low)..high) {
                    item.map_err(StoreError::backend)?;
                    count += 1;
                }
                Ok(count)
            }
        }
    }

    /// See [`crate::Engine::prune_sender_activity`].
    pub(super) fn prune_activity(&self, before: u64) -> Result<u64, StoreError> {
        let end = with_time(vec![AGE], before);
        let mut pruned = 0u64;
        loop {
            let guard = self.activity_guard();
            let mut batch = Batch::default();
            let (mut items, mut keys) = (0usize, 0usize);
            for entry in self.activity.range(vec![AGE]..end.clone()) {
                if items == PRUNE_BATCH {
                    break;
                }
                let (age, _) = entry.map_err(StoreError::backend)?;
                batch.remove(age.as_ref());
                keys += 1;
                // An age key naming nothing current goes alone, uncounted.
                if self.prune_item(&age, &mut batch)? {
                    items += 1;
                }
            }
            if keys > 0 {
                self.activity
                    .apply_batch(batch)
                    .map_err(StoreError::backend)?;
            }
            drop(guard);
            pruned += items as u64;
            if items < PRUNE_BATCH {
                if keys > 0 {
                    self.flush()?;
                }
                return Ok(pruned);
            }
        }
    }

    /// Adds to `batch` the removal of the item that age key `age` names
    /// and its other keys; false if it names nothing current (so only the
    /// age key goes).
    fn prune_item(&self, age: &[u8], batch: &mut Batch) -> Result<bool, StoreError> {
        let Some(item) = age.get(9..).filter(|item| !item.is_empty()) else {
            return Ok(false);
        };
        let Some(value) = self.activity.get(item).map_err(StoreError::backend)? else {
            return Ok(false);
        };
        let time = number(age, &age[1..9])?;
        match item[0] {
            MARKER => {}
            SUM => {
                let bucket = item
                    .len()
                    .checked_sub(8)
                    .map(|start| number(item, &item[start..]))
                    .transpose()?;
                if bucket.map(bucket_end) != Some(time) {
                    return Ok(false);
                }
            }
            MEMBER => {
                if number(item, &value)? != time {
                    // Added again since: its age key is another.
                    return Ok(false);
                }
                let (prefix, member) = split_member_key(item)
                    .ok_or_else(|| damaged(TREE, item, "not a member key".to_owned()))?;
                batch.remove(by_time_key(&prefix, time, member));
            }
            _ => return Err(damaged(TREE, age, "ages an unknown item".to_owned())),
        }
        batch.remove(item);
        Ok(true)
    }
}

/// Adds `activity` inside a transaction, unless its message is recorded.
fn tx_add(
    tx: &TransactionalTree,
    activity: &SenderActivity,
) -> ConflictableTransactionResult<(), StoreError> {
    let at = activity.at;
    let marker = marker_key(&activity.message);
    if tx.get(&marker)?.is_some() {
        return Ok(());
    }
    tx.insert(marker.as_slice(), at.to_be_bytes().to_vec())?;
    tx.insert(age_key(at, &marker), Vec::new())?;
    let bucket = bucket_of(at);
    for (counter, amount) in activity.amounts_by_name() {
        let key = sum_key(&activity.sender, counter, bucket);
        let old = match tx.get(&key)? {
            Some(value) => Some(number(&key, &value).map_err(abort)?),
            None => None,
        };
        let sum = old.unwrap_or(0).saturating_add(amount);
        tx.insert(key.as_slice(), sum.to_be_bytes().to_vec())?;
        if old.is_none() {
            tx.insert(age_key(bucket_end(bucket), &key), Vec::new())?;
        }
    }
    for (set, member) in activity.set_members() {
        let key = member_key(&activity.sender, set, member);
        // `d` and `w` keys share the escaped sender and set.
        let w_prefix = self::key(BY_TIME, &[&activity.sender, set]);
        let escaped_member = &key[w_prefix.len()..];
        let old = match tx.get(&key)? {
            Some(value) => Some(number(&key, &value).map_err(abort)?),
            None => None,
        };
        if old.is_some_and(|last| last >= at) {
            continue;
        }
        if let Some(last) = old {
            tx.remove(by_time_key(&w_prefix, last, escaped_member))?;
            tx.remove(age_key(last, &key))?;
        }
        tx.insert(key.as_slice(), at.to_be_bytes().to_vec())?;
        tx.insert(by_time_key(&w_prefix, at, escaped_member), Vec::new())?;
        tx.insert(age_key(at, &key), Vec::new())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_strings_keep_their_order_and_end_unambiguously() {
        let texts = ["", "a", "a\0", "a\0b", "ab", "b"];
        let keys: Vec<Vec<u8>> = texts.iter().map(|t| key(b'x', &[t, "z"])).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for (text, key) in texts.iter().zip(&keys) {
            let (first, rest) = take_str(&key[1..]).unwrap();
            assert_eq!(first, text.as_bytes());
            assert_eq!(take_str(rest).unwrap(), (b"z".to_vec(), &[][..]));
        }
        let member = member_key("s\0", "set", "m\0x");
        let (prefix, escaped) = split_member_key(&member).unwrap();
        assert_eq!(prefix, key(BY_TIME, &["s\0", "set"]));
        assert_eq!(take_str(escaped).unwrap().0, b"m\0x");
    }
}
