//! The spool's journal: small messages accepted and not finished yet,
//! appended to segment files instead of a file each.
//!
//! Most messages are delivered within a second of their acceptance. For
//! those, a file of their own costs more than the rest of their processing:
//! the file system allocates an inode, takes the directory's lock to name
//! and rename the file, and fsyncs the file and the directory. The journal
//! appends the message to the current segment file and fsyncs it once for
//! every session that finished DATA at about the same moment
//! ([`GroupCommit`]); a finished message gets a small "done" record in the
//! same file. A message that has to stay (held, deferred, or recorded for
//! any other reason) is moved to a spool file of its own first
//! ([`crate::Spool::settle`]), so the journal only ever holds messages in
//! flight, and a segment is deleted as soon as it and every segment before
//! it hold none.
//!
//! # Segment format
//!
//! A segment is `DATA/spool/.journal-<16 hex digits>` (the leading dot
//! keeps it apart from spool files, which are named by queue id):
//!
//! ```text
//! cordon-journal 1\n                         magic and format version
//! M <id: 26 bytes> <envelope length: u32> <message length: u64> <crc32: u32>
//!   <envelope: compact JSON> <message bytes>  a message (lengths little-endian)
//! D <id: 26 bytes> <crc32: u32>               the message is finished
//! ...
//! ```
//!
//! The CRC-32 covers the record's bytes before it and, for a message, its
//! envelope and message.
//!
//! # Recovery
//!
//! On open ([`recover`]) every segment is read in order; each message
//! without a later "done" record was accepted and never finished, and is
//! written to a spool file of its own, after which the segments are
//! deleted. A record cut short at the end of a segment is a write that a
//! crash interrupted: it was never acknowledged (the `250` comes after the
//! fsync) and is ignored with a warning. A record whose checksum fails with
//! more data after it is damage: the segment is kept as
//! `.journal-<n>.damaged` for inspection and the error logged; the records
//! before it are recovered.
//!
//! # Durability
//!
//! A message is durable when [`Journal::append`] returns. A "done" record
//! is not fsynced by [`Journal::remove`]: the next fsync of the segment
//! makes it durable. After a power cut (not a crash of the process: the
//! kernel still has the data) a message finished in the last moments before
//! it may be delivered again, as when a crash comes between delivery and
//! removal; none is lost.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::StoreError;
use crate::group_commit::GroupCommit;
use crate::id::{QUEUE_ID_LEN, QueueId};
use crate::spool::{Envelope, sync_dir};

/// Segment files start with this.
pub(crate) const SEGMENT_PREFIX: &str = ".journal-";

/// The first line of every segment: magic and format version.
const SEGMENT_MAGIC: &[u8] = b"cordon-journal 1\n";

/// A segment is sealed and a new one started once it is this large. Big
/// enough that starting one (a file created and its directory fsynced) is
/// rare; small enough that a finished segment's space comes back soon.
const SEGMENT_TARGET: u64 = 64 << 20;

/// The first byte of a message record.
const MESSAGE: u8 = b'M';
/// The first byte of a "done" record.
const DONE: u8 = b'D';
/// Kind, id, envelope length, message length, CRC.
const MESSAGE_HEADER: usize = 1 + QUEUE_ID_LEN + 4 + 8 + 4;
/// Kind, id, CRC.
const DONE_RECORD: usize = 1 + QUEUE_ID_LEN + 4;

/// The messages in flight, in segment files in one directory.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    /// [`SEGMENT_TARGET`], smaller in tests.
    segment_target: u64,
    state: Mutex<State>,
    commit: GroupCommit,
}

#[derive(Debug)]
struct State {
    /// Every segment not deleted yet, by number.
    segments: BTreeMap<u64, Segment>,
    /// The segment records are appended to; none before the first message.
    current: Option<u64>,
    /// The number the next segment gets.
    next: u64,
    /// Where each message in flight is.
    entries: HashMap<QueueId, Entry>,
}

#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    path: PathBuf,
    /// Bytes written, records whole.
    len: u64,
    /// Messages in it not finished yet.
    live: usize,
    /// A write failed and could not be undone: nothing more goes in.
    broken: bool,
}

/// A message record's place.
#[derive(Debug, Clone, Copy)]
struct Entry {
    segment: u64,
    offset: u64,
    envelope_len: u32,
    message_len: u64,
}

impl Entry {
    fn record_len(&self) -> usize {
        MESSAGE_HEADER + self.envelope_len as usize + self.message_len as usize
    }
}

impl Journal {
    /// A journal in `dir` whose first segment will be number `next`
    /// (after every segment [`recover`] found).
    pub(crate) fn new(dir: PathBuf, next: u64) -> Journal {
        Journal {
            dir,
            segment_target: SEGMENT_TARGET,
            state: Mutex::new(State {
                segments: BTreeMap::new(),
                current: None,
                next,
                entries: HashMap::new(),
            }),
            commit: GroupCommit::default(),
        }
    }

    /// Appends message `id` and makes it durable: when this returns `Ok`
    /// the message survives a crash or power loss. A new id, or one whose
    /// journal copy this replaces. On error the journal holds nothing of it.
    pub(crate) fn append(
        &self,
        id: &QueueId,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), StoreError> {
        let envelope = serde_json::to_vec(envelope).map_err(StoreError::backend)?;
        let envelope_len = u32::try_from(envelope.len()).map_err(|_| {
            StoreError::backend(std::io::Error::other("the envelope is over 4 GiB"))
        })?;
        let mut record = Vec::with_capacity(MESSAGE_HEADER + envelope.len() + message.len());
        record.push(MESSAGE);
        record.extend_from_slice(id.to_string().as_bytes());
        record.extend_from_slice(&envelope_len.to_le_bytes());
        record.extend_from_slice(&(message.len() as u64).to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&record);
        crc.update(&envelope);
        crc.update(message);
        record.extend_from_slice(&crc.finalize().to_le_bytes());
        record.extend_from_slice(&envelope);
        record.extend_from_slice(message);
        {
            let mut state = self.lock();
            let number = self.writable_segment(&mut state)?;
            let offset = write_record(&mut state, number, &record)?;
            let entry = Entry {
                segment: number,
                offset,
                envelope_len,
                message_len: message.len() as u64,
            };
            if let Some(segment) = state.segments.get_mut(&number) {
                segment.live += 1;
            }
            if let Some(old) = state.entries.insert(*id, entry) {
                self.release(&mut state, old.segment);
            }
        }
        let synced = self.commit.sync(|| self.flush());
        if synced.is_err() {
            // Never acknowledged: it must not be delivered either.
            let _ = self.remove(id);
        }
        synced
    }

    /// Reads message `id`: `None` when the journal does not have it.
    pub(crate) fn read(&self, id: &QueueId) -> Option<Result<(Envelope, Vec<u8>), StoreError>> {
        let (file, path, entry) = {
            let state = self.lock();
            let entry = *state.entries.get(id)?;
            let segment = state.segments.get(&entry.segment)?;
            (Arc::clone(&segment.file), segment.path.clone(), entry)
        };
        let mut record = vec![0; entry.record_len()];
        if let Err(e) = file.read_exact_at(&mut record, entry.offset) {
            return Some(Err(StoreError::io(path)(e)));
        }
        Some(match parse_record(&record) {
            Ok(Record::Message {
                id: found,
                envelope_len,
                ..
            }) if found == *id => decode_message(id, record, envelope_len),
            Ok(_) => Err(StoreError::DamagedSpool {
                id: *id,
                problem: "its journal record holds something else".to_owned(),
            }),
            Err(problem) => Err(StoreError::DamagedSpool {
                id: *id,
                problem: format!("its journal record is damaged: {}", problem.reason),
            }),
        })
    }

    /// Whether the journal has message `id`.
    pub(crate) fn contains(&self, id: &QueueId) -> bool {
        self.lock().entries.contains_key(id)
    }

    /// The size of message `id` in bytes, if the journal has it.
    pub(crate) fn size_of(&self, id: &QueueId) -> Option<u64> {
        self.lock().entries.get(id).map(|e| e.message_len)
    }

    /// The ids of the messages in the journal, in no particular order.
    pub(crate) fn ids(&self) -> Vec<QueueId> {
        self.lock().entries.keys().copied().collect()
    }

    /// Marks message `id` finished; returns whether the journal had it. The
    /// "done" record becomes durable with the next fsync of the segment
    /// (see the module's notes); [`Journal::remove_durably`] waits for it.
    pub(crate) fn remove(&self, id: &QueueId) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(entry) = state.entries.get(id).copied() else {
            return Ok(false);
        };
        let mut record = Vec::with_capacity(DONE_RECORD);
        record.push(DONE);
        record.extend_from_slice(id.to_string().as_bytes());
        record.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
        // The message's own segment when there is no current one (its
        // writes failed): the record must be in it or a later one.
        let number = state.current.unwrap_or(entry.segment).max(entry.segment);
        write_record(&mut state, number, &record)?;
        state.entries.remove(id);
        self.release(&mut state, entry.segment);
        Ok(true)
    }

    /// [`Journal::remove`], and returns once the "done" record is durable.
    pub(crate) fn remove_durably(&self, id: &QueueId) -> Result<bool, StoreError> {
        let removed = self.remove(id)?;
        if removed {
            self.commit.sync(|| self.flush())?;
        }
        Ok(removed)
    }

    /// The segment to append a message to: the current one, or a new one
    /// when it is full or broken. The old one is fsynced before it is left,
    /// so what a waiting caller appended to it is durable by then.
    fn writable_segment(&self, state: &mut State) -> Result<u64, StoreError> {
        if let Some(number) = state.current
            && let Some(segment) = state.segments.get(&number)
        {
            if segment.len < self.segment_target && !segment.broken {
                return Ok(number);
            }
            segment
                .file
                .sync_data()
                .map_err(StoreError::io(&segment.path))?;
        }
        let number = state.next;
        let path = self.dir.join(format!("{SEGMENT_PREFIX}{number:016x}"));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(StoreError::io(&path))?;
        let started = file
            .write_all_at(SEGMENT_MAGIC, 0)
            .and_then(|()| file.sync_all())
            .map_err(StoreError::io(&path))
            .and_then(|()| sync_dir(&self.dir));
        if let Err(e) = started {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        state.next += 1;
        state.segments.insert(
            number,
            Segment {
                file: Arc::new(file),
                path,
                len: SEGMENT_MAGIC.len() as u64,
                live: 0,
                broken: false,
            },
        );
        state.current = Some(number);
        self.delete_finished(state);
        Ok(number)
    }

    /// One message of segment `number` is finished.
    fn release(&self, state: &mut State, number: u64) {
        if let Some(segment) = state.segments.get_mut(&number) {
            segment.live = segment.live.saturating_sub(1);
        }
        self.delete_finished(state);
    }

    /// Deletes the oldest segments while they hold no message in flight
    /// and are not the current one. Only from the oldest: a segment's
    /// "done" records may be the ones for messages in an older segment.
    fn delete_finished(&self, state: &mut State) {
        while let Some((&number, segment)) = state.segments.first_key_value() {
            if segment.live > 0 || Some(number) == state.current {
                return;
            }
            // A segment left behind is read and deleted by the next start.
            if let Err(e) = fs::remove_file(&segment.path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %segment.path.display(), error = %e, "cannot delete a finished journal segment");
            }
            state.segments.remove(&number);
        }
    }

    /// Fsyncs the current segment.
    fn flush(&self) -> Result<(), StoreError> {
        let current = {
            let state = self.lock();
            state
                .current
                .and_then(|n| state.segments.get(&n))
                .map(|s| (Arc::clone(&s.file), s.path.clone()))
        };
        match current {
            Some((file, path)) => file.sync_data().map_err(StoreError::io(path)),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes `record` at the end of segment `number`; returns its offset. A
/// failed write is undone (the segment cut back), so the segment never
/// holds a partial record before whole ones; if even that fails, the
/// segment takes no more records.
fn write_record(state: &mut State, number: u64, record: &[u8]) -> Result<u64, StoreError> {
    let Some(segment) = state.segments.get_mut(&number) else {
        return Err(StoreError::backend(std::io::Error::other(
            "the journal segment is gone",
        )));
    };
    let offset = segment.len;
    match segment.file.write_all_at(record, offset) {
        Ok(()) => {
            segment.len += record.len() as u64;
            Ok(offset)
        }
        Err(e) => {
            if segment.file.set_len(offset).is_err() {
                segment.broken = true;
            }
            Err(StoreError::io(&segment.path)(e))
        }
    }
}

/// One record, parsed.
#[derive(Debug, PartialEq, Eq)]
enum Record {
    Message {
        id: QueueId,
        envelope_len: u32,
        len: usize,
    },
    Done {
        id: QueueId,
    },
}

/// Why a record cannot be read.
#[derive(Debug)]
struct BadRecord {
    /// The bytes end before the record does: a write cut short.
    cut_short: bool,
    reason: String,
}

impl BadRecord {
    fn cut_short(reason: &str) -> BadRecord {
        BadRecord {
            cut_short: true,
            reason: reason.to_owned(),
        }
    }

    fn damaged(reason: &str) -> BadRecord {
        BadRecord {
            cut_short: false,
            reason: reason.to_owned(),
        }
    }
}

/// Parses and checks the record at the start of `bytes`. Never panics.
fn parse_record(bytes: &[u8]) -> Result<Record, BadRecord> {
    let id_at = |bytes: &[u8]| {
        std::str::from_utf8(&bytes[1..1 + QUEUE_ID_LEN])
            .ok()
            .and_then(QueueId::from_canonical)
            .ok_or_else(|| BadRecord::damaged("not a queue id"))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    match bytes.first() {
        None => Err(BadRecord::cut_short("no record")),
        Some(&MESSAGE) => {
            if bytes.len() < MESSAGE_HEADER {
                return Err(BadRecord::cut_short(
                    "a message record's header is cut short",
                ));
            }
            let envelope_len = u32_at(1 + QUEUE_ID_LEN).unwrap_or_default();
            let message_len = bytes
                .get(1 + QUEUE_ID_LEN + 4..MESSAGE_HEADER - 4)
                .and_then(|b| b.try_into().ok())
                .map_or(u64::MAX, u64::from_le_bytes);
            let len = usize::try_from(message_len)
                .ok()
                .and_then(|m| m.checked_add(MESSAGE_HEADER + envelope_len as usize))
                .ok_or_else(|| BadRecord::damaged("an impossible message length"))?;
            if bytes.len() < len {
                return Err(BadRecord::cut_short("a message record is cut short"));
            }
            let mut crc = crc32fast::Hasher::new();
            crc.update(&bytes[..MESSAGE_HEADER - 4]);
            crc.update(&bytes[MESSAGE_HEADER..len]);
            if u32_at(MESSAGE_HEADER - 4) != Some(crc.finalize()) {
                return Err(BadRecord::damaged("a message record's checksum fails"));
            }
            Ok(Record::Message {
                id: id_at(bytes)?,
                envelope_len,
                len,
            })
        }
        Some(&DONE) => {
            if bytes.len() < DONE_RECORD {
                return Err(BadRecord::cut_short("a done record is cut short"));
            }
            if u32_at(DONE_RECORD - 4) != Some(crc32fast::hash(&bytes[..DONE_RECORD - 4])) {
                return Err(BadRecord::damaged("a done record's checksum fails"));
            }
            Ok(Record::Done { id: id_at(bytes)? })
        }
        // Space the file system allocated and nothing was written to.
        Some(0) if bytes.iter().all(|&b| b == 0) => Err(BadRecord::cut_short("zeros")),
        Some(_) => Err(BadRecord::damaged("an unknown record kind")),
    }
}

/// Splits a checked message record into its envelope and message.
fn decode_message(
    id: &QueueId,
    mut record: Vec<u8>,
    envelope_len: u32,
) -> Result<(Envelope, Vec<u8>), StoreError> {
    let end = MESSAGE_HEADER + envelope_len as usize;
    let envelope: Envelope = serde_json::from_slice(&record[MESSAGE_HEADER..end]).map_err(|e| {
        StoreError::DamagedSpool {
            id: *id,
            problem: format!("its journal envelope is not valid: {e}"),
        }
    })?;
    record.drain(..end);
    Ok((envelope, record))
}

/// What [`recover`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Messages accepted and not finished, now in spool files of their own.
    pub(crate) recovered: usize,
    /// The number the next segment should get.
    pub(crate) next_segment: u64,
}

/// Reads every segment in `dir`, hands each message accepted and not
/// finished to `keep` (which must make it durable), and then deletes the
/// segments (a damaged one is renamed, not deleted). Run before the
/// journal takes new messages.
pub(crate) fn recover(
    dir: &Path,
    mut keep: impl FnMut(QueueId, Envelope, Vec<u8>) -> Result<(), StoreError>,
) -> Result<Recovery, StoreError> {
    let mut segments: Vec<(u64, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEGMENT_PREFIX))
            .filter(|n| n.len() == 16)
            .and_then(|n| u64::from_str_radix(n, 16).ok())
        else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            segments.push((number, entry.path()));
        }
    }
    segments.sort();
    let mut live: BTreeMap<QueueId, (PathBuf, usize, u32)> = BTreeMap::new();
    let mut damaged = Vec::new();
    for (_, path) in &segments {
        let bytes = fs::read(path).map_err(StoreError::io(path))?;
        let mut at = if bytes.starts_with(SEGMENT_MAGIC) {
            SEGMENT_MAGIC.len()
        } else if SEGMENT_MAGIC.starts_with(&bytes) {
            // Created, and the crash came before its first line.
            continue;
        } else {
            tracing::error!(path = %path.display(), "not a journal segment (wrong magic); kept for inspection");
            damaged.push(path.clone());
            continue;
        };
        while at < bytes.len() {
            match parse_record(&bytes[at..]) {
                Ok(Record::Message {
                    id,
                    envelope_len,
                    len,
                }) => {
                    live.insert(id, (path.clone(), at, envelope_len));
                    at += len;
                }
                Ok(Record::Done { id }) => {
                    live.remove(&id);
                    at += DONE_RECORD;
                }
                Err(bad) if bad.cut_short => {
                    tracing::warn!(path = %path.display(), offset = at, bytes = bytes.len() - at, reason = %bad.reason, "ignoring the end of a journal segment: a write cut short by a crash, never acknowledged");
                    break;
                }
                Err(bad) => {
                    tracing::error!(path = %path.display(), offset = at, reason = %bad.reason, "a journal segment is damaged; the messages before the damage are recovered and the segment is kept for inspection");
                    damaged.push(path.clone());
                    break;
                }
            }
        }
    }
    let mut recovered = 0;
    for (id, (path, at, envelope_len)) in live {
        // Read again, one message at a time, rather than keep them all.
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        let mut header = [0u8; MESSAGE_HEADER];
        file.read_exact_at(&mut header, at as u64)
            .map_err(StoreError::io(&path))?;
        let message_len = header
            .get(1 + QUEUE_ID_LEN + 4..MESSAGE_HEADER - 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        let mut record = vec![0; MESSAGE_HEADER + envelope_len as usize + message_len as usize];
        file.read_exact_at(&mut record, at as u64)
            .map_err(StoreError::io(&path))?;
        if parse_record(&record).is_err() {
            return Err(StoreError::DamagedSpool {
                id,
                problem: format!(
                    "its journal record in {} changed while it was recovered",
                    path.display()
                ),
            });
        }
        let (envelope, message) = decode_message(&id, record, envelope_len)?;
        keep(id, envelope, message)?;
        recovered += 1;
    }
    for (_, path) in &segments {
        if damaged.contains(path) {
            let mut kept = path.clone().into_os_string();
            kept.push(".damaged");
            fs::rename(path, &kept).map_err(StoreError::io(path))?;
        } else {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(path)(e)),
            }
        }
    }
    if !segments.is_empty() {
        // Gone for good before new messages come: a segment that came back
        // after a crash would bring back the messages finished since.
        sync_dir(dir)?;
    }
    if recovered > 0 {
        tracing::info!(
            messages = recovered,
            "recovered messages in flight from the journal"
        );
    }
    Ok(Recovery {
        recovered,
        next_segment: segments.last().map_or(0, |(n, _)| n + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spool;
    use proptest::prelude::*;

    fn envelope() -> Envelope {
        Envelope {
            mail_from: "pc.jones@northshire.police.uk".into(),
            rcpt_to: vec!["a@gmail.com".into()],
            client_ip: Some("10.0.0.7".into()),
            helo: Some("exch01".into()),
            received_at: 1_760_000_000,
        }
    }

    fn segments(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(SEGMENT_PREFIX))
            .collect();
        names.sort();
        names
    }

    fn small_journal(dir: &Path) -> Journal {
        let mut journal = Journal::new(dir.to_owned(), 0);
        journal.segment_target = 1024;
        journal
    }

    #[test]
    fn messages_in_flight_are_read_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(
            segments(dir.path()).is_empty(),
            "no segment before a message"
        );
        let (a, b) = (QueueId::new(), QueueId::new());
        let all_bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        spool.append(&a, &envelope(), &all_bytes).unwrap();
        spool.append(&b, &envelope(), b"").unwrap();
        assert_eq!(spool.read(&a).unwrap(), (envelope(), all_bytes));
        assert_eq!(spool.read(&b).unwrap(), (envelope(), Vec::new()));
        assert_eq!(spool.list().unwrap(), [a, b]);
        assert_eq!(spool.size_of(&a), Some(5000));
        assert!(spool.contains(&b) && !spool.path_of(&b).exists());
        assert!(spool.remove(&a).unwrap());
        assert!(!spool.remove(&a).unwrap());
        assert!(spool.read(&a).unwrap_err().is_not_found());
        assert_eq!(spool.list().unwrap(), [b]);
        assert_eq!(segments(dir.path()).len(), 1);
    }

    #[test]
    fn a_restart_gives_unfinished_messages_files_of_their_own_and_forgets_finished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<QueueId> = (0..4).map(|_| QueueId::new()).collect();
        {
            let spool = Spool::open(dir.path()).unwrap();
            for (i, id) in ids.iter().enumerate() {
                spool
                    .append(id, &envelope(), format!("message {i}").as_bytes())
                    .unwrap();
            }
            spool.remove(&ids[1]).unwrap();
            spool.remove(&ids[3]).unwrap();
        }
        let spool = Spool::open(dir.path()).unwrap();
        assert!(segments(dir.path()).is_empty(), "the journal is emptied");
        assert_eq!(spool.list().unwrap(), [ids[0], ids[2]]);
        for i in [0, 2] {
            assert!(spool.path_of(&ids[i]).is_file());
            assert_eq!(
                spool.read(&ids[i]).unwrap().1,
                format!("message {i}").as_bytes()
            );
        }
        // and a second restart changes nothing
        drop(spool);
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.list().unwrap(), [ids[0], ids[2]]);
    }

    #[test]
    fn a_settled_message_has_its_own_file_and_never_comes_back_once_removed() {
        let dir = tempfile::tempdir().unwrap();
        let id = QueueId::new();
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool.append(&id, &envelope(), b"held").unwrap();
            assert!(spool.settle(&id).unwrap());
            assert!(!spool.settle(&id).unwrap(), "only once");
            assert!(spool.path_of(&id).is_file());
            assert_eq!(spool.read(&id).unwrap().1, b"held");
            assert_eq!(spool.list().unwrap(), [id]);
            assert!(spool.remove(&id).unwrap());
        }
        let spool = Spool::open(dir.path()).unwrap();
        assert!(spool.list().unwrap().is_empty());
    }

    #[test]
    fn a_write_cut_short_is_ignored_and_the_messages_before_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = QueueId::new();
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool.append(&id, &envelope(), b"whole").unwrap();
        }
        let segment = dir.path().join(&segments(dir.path())[0]);
        let whole = fs::read(&segment).unwrap();
        // the start of a second record, as a crash in the middle leaves it
        let cut = &whole[SEGMENT_MAGIC.len()..whole.len() - 3];
        let mut bytes = whole.clone();
        bytes.extend_from_slice(cut);
        fs::write(&segment, &bytes).unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.list().unwrap(), [id]);
        assert_eq!(spool.read(&id).unwrap().1, b"whole");
        assert!(segments(dir.path()).is_empty());
    }

    #[test]
    fn a_damaged_segment_is_kept_for_inspection() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (QueueId::new(), QueueId::new(), QueueId::new());
        {
            let spool = Spool::open(dir.path()).unwrap();
            spool.append(&a, &envelope(), b"first").unwrap();
            spool.append(&b, &envelope(), b"second").unwrap();
            spool.append(&c, &envelope(), b"third").unwrap();
        }
        let segment = dir.path().join(&segments(dir.path())[0]);
        let mut bytes = fs::read(&segment).unwrap();
        let at = bytes.windows(6).position(|w| w == b"second").unwrap();
        bytes[at] = b'S';
        fs::write(&segment, &bytes).unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.list().unwrap(), [a], "the one before the damage");
        let kept: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".damaged"))
            .collect();
        assert_eq!(kept.len(), 1);
        // a new journal does not reuse its number
        let d = QueueId::new();
        spool.append(&d, &envelope(), b"fourth").unwrap();
        assert_ne!(format!("{}.damaged", segments(dir.path())[0]), kept[0]);
    }

    #[test]
    fn segments_are_deleted_oldest_first_once_nothing_in_them_is_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let journal = small_journal(dir.path());
        let message = vec![b'x'; 600];
        let ids: Vec<QueueId> = (0..6).map(|_| QueueId::new()).collect();
        for id in &ids {
            journal.append(id, &envelope(), &message).unwrap();
        }
        // two messages per segment of 1 KiB
        assert_eq!(segments(dir.path()).len(), 3);
        // the first segment's messages pin the ones after it: "done"
        // records of its messages may be in them
        for id in &ids[2..4] {
            journal.remove(id).unwrap();
        }
        assert_eq!(segments(dir.path()).len(), 3);
        for id in &ids[..2] {
            journal.remove(id).unwrap();
        }
        assert_eq!(
            segments(dir.path()).len(),
            1,
            "only the current one is left"
        );
        for id in &ids[4..] {
            assert_eq!(journal.read(id).unwrap().unwrap().1, message);
        }
        let other = QueueId::new();
        journal.append(&other, &envelope(), b"m").unwrap();
        journal.append(&ids[4], &envelope(), b"replaced").unwrap();
        assert_eq!(journal.read(&ids[4]).unwrap().unwrap().1, b"replaced");
        drop(journal);
        let mut kept = Vec::new();
        recover(dir.path(), |id, _, message| {
            kept.push((id, message));
            Ok(())
        })
        .unwrap();
        kept.sort();
        let mut expected = vec![
            (ids[4], b"replaced".to_vec()),
            (ids[5], message),
            (other, b"m".to_vec()),
        ];
        expected.sort();
        assert_eq!(kept, expected);
    }

    #[test]
    fn concurrent_appends_are_all_durable_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let journal = small_journal(dir.path());
        let written: Vec<(QueueId, Vec<u8>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let journal = &journal;
                    s.spawn(move || {
                        (0..25usize)
                            .map(|i| {
                                let id = QueueId::new();
                                let body = format!("thread {t} message {i}").into_bytes();
                                journal.append(&id, &envelope(), &body).unwrap();
                                if i.is_multiple_of(3) {
                                    journal.remove(&id).unwrap();
                                }
                                (id, body)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        drop(journal);
        let mut kept = BTreeMap::new();
        recover(dir.path(), |id, _, message| {
            kept.insert(id, message);
            Ok(())
        })
        .unwrap();
        let expected: BTreeMap<QueueId, Vec<u8>> = written
            .into_iter()
            .filter(|(_, body)| {
                let i: usize = String::from_utf8_lossy(body)
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap();
                !i.is_multiple_of(3)
            })
            .collect();
        assert_eq!(kept, expected);
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), kind in prop_oneof![Just(MESSAGE), Just(DONE), any::<u8>()]) {
            let mut bytes = bytes;
            bytes.insert(0, kind);
            let _ = parse_record(&bytes);
        }

        #[test]
        fn recovering_arbitrary_segments_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..400) {
            let dir = tempfile::tempdir().unwrap();
            {
                let journal = Journal::new(dir.path().to_owned(), 0);
                journal.append(&QueueId::new(), &envelope(), b"message").unwrap();
            }
            let segment = dir.path().join(&segments(dir.path())[0]);
            let mut bytes = fs::read(&segment).unwrap();
            bytes.extend_from_slice(&tail);
            bytes.truncate(cut.max(1));
            fs::write(&segment, &bytes).unwrap();
            let _ = recover(dir.path(), |_, _, _| Ok(()));
        }
    }
}
