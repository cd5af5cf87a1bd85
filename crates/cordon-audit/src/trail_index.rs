//! The trail index: where each subject's entries are, so that one
//! message's trail ([`crate::AuditLog::entries_for`], which the console
//! calls on every message view) is read from a few offsets rather than by
//! a scan of the whole log.
//!
//! # Files
//!
//! - The *live index*, `<log>.index` (`audit.jsonl.index`): one record for
//!   every entry of the live file, in the order of the file. The writer
//!   appends an entry's record just after the entry, under the same lock,
//!   without an fsync of its own.
//! - A *sealed index* per rotated segment, `<segment>.index`
//!   (`audit.jsonl.000003.index`): a header, then the segment's records
//!   sorted by subject key and offset, found by binary search. It is
//!   written once (to a temporary file, fsynced and renamed into place)
//!   when the segment is sealed, from the live index; or, when it is found
//!   missing or damaged, from a scan of the segment.
//!
//! A record is a line of [`RECORD_LEN`] bytes, `<key> <seq> <offset>\n`,
//! each field 16 lowercase hex digits: the subject's key (the first eight
//! bytes of the SHA-256 of the subject, so that any subject, whatever
//! characters it has, makes a fixed-width record), the entry's seq and the
//! offset of its line in its file. Fixed width makes a torn record plain
//! and lets a sealed index be searched by record number. The header of a
//! sealed index has the same width: `#cordon-index-v1 <segment length>
//! <record count>\n`.
//!
//! # A cache, never trusted
//!
//! The index says where to look, never what is there. Every entry read
//! through it is parsed from the log and must be at the start of a line and
//! have the seq (and subject) its record says; any disagreement and the
//! file is scanned instead, and its index rebuilt. So a damaged, stale or
//! missing index costs time, not correctness of the entries returned.
//! Specifically:
//!
//! - the live index must start with the live file's first entry (else it
//!   is a leftover of the file before a rotation and is ignored), its
//!   records must go forwards, and where their seqs skip a number (a
//!   record missing) the lines between are scanned; the lines after its
//!   last record are scanned too;
//! - [`crate::AuditLog::open`] cuts the live index after its last record
//!   that is sound and names an entry the live file has (records past the
//!   end of the log, a torn record), and adds the records of the entries
//!   after it;
//! - a sealed index is used only if its header gives the segment's length
//!   and its own length agrees with its record count.
//!
//! What the index cannot show: a record deleted from a sealed index (with
//! the header's count mended) hides that entry from the trail. Only
//! [`crate::verify`] vouches for the log, and it reads the log itself.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::entry::{Entry, parse_line};
use crate::error::AuditError;
use crate::lines::{Line, Lines, complete_end, line_at};
use crate::segments::Part;

/// The length of a record (and of a sealed index's header), newline
/// included.
pub(crate) const RECORD_LEN: u64 = 51;

/// [`RECORD_LEN`], for patterns and arrays.
const RECORD_LEN_USIZE: usize = RECORD_LEN as usize;

/// The first field of a sealed index's header.
const HEADER_TAG: &[u8; 16] = b"#cordon-index-v1";

/// The most records sorted in memory at once (24 bytes each) when a sealed
/// index is written; more are sorted in several passes over key ranges.
const SORT_BATCH: u64 = 1 << 21;

/// The index of the file at `file` (the live file or a segment): the same
/// name with `.index` added.
pub(crate) fn index_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".index");
    PathBuf::from(name)
}

/// The key of `subject` in the index: the first eight bytes of its SHA-256.
pub(crate) fn subject_key(subject: &str) -> u64 {
    let digest = Sha256::digest(subject.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// One record: an entry with this subject key and seq has its line at
/// this offset. Ordered as a sealed index is: by key, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Record {
    key: u64,
    offset: u64,
    seq: u64,
}

impl Record {
    /// The record of `entry`, whose line starts at `offset`.
    pub(crate) fn of(entry: &Entry, offset: u64) -> Record {
        Record {
            key: subject_key(&entry.subject),
            offset,
            seq: entry.seq,
        }
    }

    /// The record's line.
    pub(crate) fn encode(&self) -> [u8; RECORD_LEN as usize] {
        let mut out = [b' '; RECORD_LEN as usize];
        write_hex(&mut out[0..16], self.key);
        write_hex(&mut out[17..33], self.seq);
        write_hex(&mut out[34..50], self.offset);
        out[50] = b'\n';
        out
    }

    /// Reads a record's line; `None` if it is not one.
    fn decode(bytes: &[u8]) -> Option<Record> {
        if bytes.len() != RECORD_LEN as usize
            || bytes[16] != b' '
            || bytes[33] != b' '
            || bytes[50] != b'\n'
        {
            return None;
        }
        Some(Record {
            key: read_hex(&bytes[0..16])?,
            seq: read_hex(&bytes[17..33])?,
            offset: read_hex(&bytes[34..50])?,
        })
    }
}

fn write_hex(out: &mut [u8], value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in out.iter_mut().enumerate() {
        let shift = 4 * (15 - i);
        *byte = HEX[((value >> shift) & 0xf) as usize];
    }
}

fn read_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u64::from(nibble))
    })
}

/// The header of a sealed index of a segment of `segment_len` bytes with
/// `count` records.
fn header(segment_len: u64, count: u64) -> [u8; RECORD_LEN as usize] {
    let mut out = [b' '; RECORD_LEN as usize];
    out[..16].copy_from_slice(HEADER_TAG);
    write_hex(&mut out[17..33], segment_len);
    write_hex(&mut out[34..50], count);
    out[50] = b'\n';
    out
}

/// What [`next_record`] read.
enum Next {
    /// The end of the records.
    End,
    /// A record.
    Record(Record),
    /// A partial record at the end: being written, or torn by a crash.
    Torn,
    /// A whole record's length that is not a record: damage.
    Bad,
}

/// The next record of `reader`.
fn next_record(reader: &mut impl Read) -> io::Result<Next> {
    let mut buf = [0u8; RECORD_LEN_USIZE];
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(match filled {
        0 => Next::End,
        RECORD_LEN_USIZE => Record::decode(&buf).map_or(Next::Bad, Next::Record),
        _ => Next::Torn,
    })
}

/// Reads `file`'s records from its start.
fn records(mut file: &File) -> io::Result<BufReader<&File>> {
    file.seek(SeekFrom::Start(0))?;
    Ok(BufReader::with_capacity(64 * 1024, file))
}

/// Calls `each` with the offset and entry of every complete line of `file`
/// between `from` (the start of a line) and `end` that is an entry.
fn scan_entries(
    mut file: &File,
    from: u64,
    end: u64,
    mut each: impl FnMut(u64, Entry) -> io::Result<()>,
) -> io::Result<()> {
    if from >= end {
        return Ok(());
    }
    file.seek(SeekFrom::Start(from))?;
    let mut lines = Lines::new(file.take(end - from));
    while let Some((_, line)) = lines.next_line()? {
        let entry = match line {
            Line::Complete(bytes) => parse_line(bytes),
            Line::Unterminated(_) | Line::TooLong { .. } => None,
        };
        if let Some(entry) = entry {
            each(from + lines.line_start(), entry)?;
        }
    }
    Ok(())
}

/// The entries about `subject` in the complete lines of `file` between
/// `from` and `end`, by offset.
fn scan_subject(
    file: &File,
    from: u64,
    end: u64,
    subject: &str,
    found: &mut BTreeMap<u64, Entry>,
) -> io::Result<()> {
    scan_entries(file, from, end, |offset, entry| {
        if entry.subject == subject {
            found.insert(offset, entry);
        }
        Ok(())
    })
}

/// The entry at `record.offset` if it is the one `record` names (the line
/// starts there, is an entry and has the record's seq and subject key).
fn entry_at(file: &File, record: &Record, end: u64) -> io::Result<Option<(Entry, u64)>> {
    let Some(line) = line_at(file, record.offset, end)? else {
        return Ok(None);
    };
    let Some(entry) = parse_line(&line) else {
        return Ok(None);
    };
    let matches = entry.seq == record.seq && subject_key(&entry.subject) == record.key;
    Ok(matches.then(|| (entry, line.len() as u64 + 1)))
}

/// What [`repair_live`] did to the live index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Repair {
    /// Records cut off: past the end of the live file, torn, damaged or
    /// left from the file before a rotation.
    pub(crate) discarded: u64,
    /// Records added for entries the index lacked.
    pub(crate) added: u64,
}

/// Makes the live index `index` describe the complete lines of the live
/// file `live` up to `end` (the end of its last complete line): keeps its
/// records up to the last that is sound and names an entry the file has
/// (everything, with `rebuild`, is discarded instead), and appends records
/// for the entries after that. Run under the log's lock.
///
/// Checks the first and last records kept against the file, not every one
/// (that would be a scan of the file): a record in the middle that is wrong
/// is caught when a trail reads it.
pub(crate) fn repair_live(
    index: &File,
    index_path: &Path,
    live: &File,
    end: u64,
    rebuild: bool,
) -> Result<Repair, AuditError> {
    let io_err = AuditError::io(index_path);
    let result = (|| -> io::Result<Repair> {
        let index_len = index.metadata()?.len();
        let (kept, resume) = if rebuild {
            (0, 0)
        } else {
            sound_prefix(index, live, end)?
        };
        let kept_len = kept * RECORD_LEN;
        if index_len != kept_len {
            index.set_len(kept_len)?;
        }
        let mut out = BufWriter::new(index);
        let mut added = 0;
        scan_entries(live, resume, end, |offset, entry| {
            added += 1;
            out.write_all(&Record::of(&entry, offset).encode())
        })?;
        out.flush()?;
        Ok(Repair {
            discarded: index_len.div_ceil(RECORD_LEN) - kept,
            added,
        })
    })();
    result.map_err(io_err)
}

/// How many records at the start of the live index are sound, and where
/// the line after the last of them ends (0, 0 if none are).
fn sound_prefix(index: &File, live: &File, end: u64) -> io::Result<(u64, u64)> {
    let mut reader = records(index)?;
    let mut first = None;
    let mut last: Option<Record> = None;
    let mut count = 0;
    while let Next::Record(record) = next_record(&mut reader)? {
        let in_order = match last {
            None => record.offset == 0,
            Some(prev) => record.offset > prev.offset && record.seq > prev.seq,
        };
        if !in_order || record.offset >= end {
            break;
        }
        first.get_or_insert(record);
        last = Some(record);
        count += 1;
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Ok((0, 0));
    };
    if entry_at(live, &first, end)?.is_none() {
        return Ok((0, 0));
    }
    Ok(match entry_at(live, &last, end)? {
        Some((_, line_len)) => (count, last.offset + line_len),
        None => (0, 0),
    })
}

/// The entries about `subject` in the live file `part`, using the live
/// index at `index_path` where it is sound, by offset. The second value
/// says the index is damaged (a record disagreed with the file, and the
/// whole file was scanned instead, or records are out of order or
/// unreadable, and what follows them was scanned): the writer should
/// rebuild it.
fn live_trail(
    part: &Part,
    index_path: &Path,
    key: u64,
    subject: &str,
) -> Result<(BTreeMap<u64, Entry>, bool), AuditError> {
    let io_err = || AuditError::io(&part.path);
    let len = part.len()?;
    let end = complete_end(&part.file, len).map_err(io_err())?;
    let mut found = BTreeMap::new();
    let lookup = match File::open(index_path) {
        Ok(index) => {
            live_lookup(&index, &part.file, end, key, subject, &mut found).map_err(io_err())?
        }
        // A missing or unreadable index is a cache miss.
        Err(_) => Lookup::Wrong,
    };
    match lookup {
        Lookup::Found { damaged } => Ok((found, damaged)),
        Lookup::Wrong => {
            found.clear();
            scan_subject(&part.file, 0, end, subject, &mut found).map_err(io_err())?;
            Ok((found, true))
        }
    }
}

/// What the live index gave.
enum Lookup {
    /// The entries were found; `damaged`: records out of order or
    /// unreadable cut the index short (what follows was scanned).
    Found {
        /// The index is damaged.
        damaged: bool,
    },
    /// A record disagreed with the file (or the index is another file's):
    /// nothing found through it is to be believed.
    Wrong,
}

/// Reads the trail from the live index: the lines its records for `key`
/// point to, and the lines it does not cover (where seqs skip, after its
/// last sound record).
fn live_lookup(
    index: &File,
    live: &File,
    end: u64,
    key: u64,
    subject: &str,
    found: &mut BTreeMap<u64, Entry>,
) -> io::Result<Lookup> {
    let mut reader = records(index)?;
    let mut hits = Vec::new();
    let mut gaps = Vec::new();
    let mut last: Option<Record> = None;
    let mut damaged = false;
    loop {
        let record = match next_record(&mut reader)? {
            Next::Record(record) => record,
            // A record being written is not damage.
            Next::End | Next::Torn => break,
            Next::Bad => {
                damaged = true;
                break;
            }
        };
        if record.offset >= end {
            break;
        }
        match last {
            // The index of another file (the one before a rotation)?
            None if record.offset != 0 || entry_at(live, &record, end)?.is_none() => {
                return Ok(Lookup::Wrong);
            }
            None => {}
            Some(prev) if record.offset <= prev.offset || record.seq <= prev.seq => {
                damaged = true;
                break;
            }
            Some(prev) if record.seq != prev.seq + 1 => gaps.push((prev.offset, record.offset)),
            Some(_) => {}
        }
        if record.key == key {
            hits.push(record);
        }
        last = Some(record);
    }
    gaps.push((last.map_or(0, |r| r.offset), end));
    for record in hits {
        match entry_at(live, &record, end)? {
            Some((entry, _)) if entry.subject == subject => {
                found.insert(record.offset, entry);
            }
            // Another subject with the same key.
            Some(_) => {}
            None => return Ok(Lookup::Wrong),
        }
    }
    for (from, to) in gaps {
        scan_subject(live, from, to, subject, found)?;
    }
    Ok(Lookup::Found { damaged })
}

/// The entries about `subject` in the segment `part`, from its sealed
/// index, by offset. Without a sound index the segment is scanned, and,
/// with `repair`, its index written for next time (a failure to write a
/// cache is not an error).
fn sealed_trail(
    part: &Part,
    key: u64,
    subject: &str,
    repair: bool,
) -> Result<BTreeMap<u64, Entry>, AuditError> {
    let io_err = || AuditError::io(&part.path);
    let len = part.len()?;
    let index_path = index_path(&part.path);
    if let Ok(Some(found)) = sealed_lookup(&index_path, &part.file, len, key, subject) {
        return Ok(found);
    }
    // If the index just written was replaced meanwhile by something else,
    // scan.
    if repair
        && build_by_scan(&part.file, len, &index_path).is_ok()
        && let Ok(Some(found)) = sealed_lookup(&index_path, &part.file, len, key, subject)
    {
        return Ok(found);
    }
    let mut found = BTreeMap::new();
    scan_subject(&part.file, 0, len, subject, &mut found).map_err(io_err())?;
    Ok(found)
}

/// Looks `key` up in the sealed index at `index_path` of a segment of
/// `len` bytes open as `segment`. `None` if the index is missing,
/// damaged, or disagrees with the segment.
fn sealed_lookup(
    index_path: &Path,
    segment: &File,
    len: u64,
    key: u64,
    subject: &str,
) -> io::Result<Option<BTreeMap<u64, Entry>>> {
    let index = match File::open(index_path) {
        Ok(index) => index,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(count) = sealed_count(&index, len)? else {
        return Ok(None);
    };
    // The first record whose key is not below `key`.
    let (mut low, mut high) = (0, count);
    while low < high {
        let mid = low + (high - low) / 2;
        let Some(record) = record_at(&index, mid)? else {
            return Ok(None);
        };
        if record.key < key {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    let mut reader = &index;
    reader.seek(SeekFrom::Start((low + 1) * RECORD_LEN))?;
    let mut reader = BufReader::with_capacity(8 * 1024, reader).take((count - low) * RECORD_LEN);
    let mut found = BTreeMap::new();
    let mut last_offset = None;
    loop {
        let record = match next_record(&mut reader)? {
            Next::End => break,
            Next::Torn | Next::Bad => return Ok(None),
            Next::Record(record) if record.key != key => break,
            Next::Record(record) => record,
        };
        if last_offset.is_some_and(|last| record.offset <= last) {
            return Ok(None);
        }
        last_offset = Some(record.offset);
        match entry_at(segment, &record, len)? {
            Some((entry, _)) if entry.subject == subject => {
                found.insert(record.offset, entry);
            }
            Some(_) => {}
            None => return Ok(None),
        }
    }
    Ok(Some(found))
}

/// The record count of the sealed index `index` if its header is sound,
/// names a segment of `segment_len` bytes, and the file's length agrees.
fn sealed_count(mut index: &File, segment_len: u64) -> io::Result<Option<u64>> {
    let index_len = index.metadata()?.len();
    let mut buf = [0u8; RECORD_LEN as usize];
    if index_len < RECORD_LEN {
        return Ok(None);
    }
    index.seek(SeekFrom::Start(0))?;
    index.read_exact(&mut buf)?;
    if &buf[..16] != HEADER_TAG || buf[16] != b' ' || buf[33] != b' ' || buf[50] != b'\n' {
        return Ok(None);
    }
    let (Some(indexed_len), Some(count)) = (read_hex(&buf[17..33]), read_hex(&buf[34..50])) else {
        return Ok(None);
    };
    let expected_len = count
        .checked_add(1)
        .and_then(|records| records.checked_mul(RECORD_LEN));
    Ok((indexed_len == segment_len && expected_len == Some(index_len)).then_some(count))
}

/// Record number `i` (from 0, after the header) of a sealed index.
fn record_at(mut index: &File, i: u64) -> io::Result<Option<Record>> {
    let mut buf = [0u8; RECORD_LEN as usize];
    index.seek(SeekFrom::Start((i + 1) * RECORD_LEN))?;
    index.read_exact(&mut buf)?;
    Ok(Record::decode(&buf))
}

/// Writes the sealed index of the segment just made from the live file
/// `segment` (`len` bytes) at `segment_path`: from the live index `live`,
/// which [`repair_live`] has just brought up to date, or, without it or if
/// it misses records (its seqs skip), from a scan of the segment. A
/// failure is not an error: the index is a cache, written again when a
/// trail finds it missing.
pub(crate) fn seal(live: Option<&File>, segment: &File, len: u64, segment_path: &Path) {
    let index_path = index_path(segment_path);
    let from_live = live.is_some_and(|live| {
        matches!(consecutive_count(live), Ok(Some(count))
            if write_sealed(live, count, len, &index_path).is_ok())
    });
    if !from_live {
        let _ = build_by_scan(segment, len, &index_path);
    }
}

/// How many records `live` holds if they are sound and their seqs one
/// after the other (no record missing between two).
fn consecutive_count(live: &File) -> io::Result<Option<u64>> {
    let mut reader = records(live)?;
    let mut last: Option<Record> = None;
    let mut count = 0;
    loop {
        match next_record(&mut reader)? {
            Next::End => return Ok(Some(count)),
            Next::Torn | Next::Bad => return Ok(None),
            Next::Record(record) => {
                if last.is_some_and(|l| l.seq.checked_add(1) != Some(record.seq)) {
                    return Ok(None);
                }
                last = Some(record);
                count += 1;
            }
        }
    }
}

/// Writes the sealed index at `index_path` of a segment of `len` bytes by
/// scanning the segment.
fn build_by_scan(segment: &File, len: u64, index_path: &Path) -> io::Result<()> {
    let unsorted_path = temp_path(index_path);
    let result = (|| -> io::Result<()> {
        let unsorted = create_private(&unsorted_path, true)?;
        let mut out = BufWriter::new(&unsorted);
        let mut count = 0;
        scan_entries(segment, 0, len, |offset, entry| {
            count += 1;
            out.write_all(&Record::of(&entry, offset).encode())
        })?;
        out.flush()?;
        drop(out);
        write_sealed(&unsorted, count, len, index_path)
    })();
    let _ = fs::remove_file(&unsorted_path);
    result
}

/// Writes a sealed index at `index_path` from the `count` records of
/// `unsorted` (in any order), sorting at most [`SORT_BATCH`] records at a
/// time: the keys are split in as many ranges as that takes, and
/// `unsorted` read once per range. Atomic: a temporary file, fsynced,
/// renamed into place.
fn write_sealed(unsorted: &File, count: u64, len: u64, index_path: &Path) -> io::Result<()> {
    write_sealed_in_batches(unsorted, count, len, index_path, SORT_BATCH)
}

/// [`write_sealed`], sorting at most `batch` records at a time.
fn write_sealed_in_batches(
    unsorted: &File,
    count: u64,
    len: u64,
    index_path: &Path,
    batch_records: u64,
) -> io::Result<()> {
    let temp = temp_path(index_path);
    let result = (|| -> io::Result<()> {
        let file = create_private(&temp, false)?;
        let mut out = BufWriter::new(&file);
        out.write_all(&header(len, count))?;
        let passes = u128::from(count.div_ceil(batch_records.max(1)).max(1));
        let mut written = 0;
        let mut batch = Vec::new();
        for pass in 0..passes {
            let low = (pass << 64) / passes;
            let high = ((pass + 1) << 64) / passes;
            let mut reader = records(unsorted)?;
            batch.clear();
            loop {
                let record = match next_record(&mut reader)? {
                    Next::End => break,
                    Next::Record(record) => record,
                    Next::Torn | Next::Bad => return Err(bad_data("a damaged record")),
                };
                if (low..high).contains(&u128::from(record.key)) {
                    batch.push(record);
                }
            }
            batch.sort_unstable();
            for record in &batch {
                out.write_all(&record.encode())?;
            }
            written += batch.len() as u64;
        }
        if written != count {
            return Err(bad_data("the records changed while being sorted"));
        }
        out.flush()?;
        drop(out);
        file.sync_all()?;
        fs::rename(&temp, index_path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn bad_data(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// The marker in the name of a temporary file of the index.
const TEMP_MARK: &str = ".index.tmp-";

/// A fresh temporary path beside `index_path`, unique to this process and
/// call (several builders may write the same index at once).
fn temp_path(index_path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = index_path.as_os_str().to_owned();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    PathBuf::from(name)
}

/// Removes the temporary files of the indexes of the log at `log` left by
/// a crash. Run by the writer at open, under the log's lock; errors are
/// ignored (they are only litter).
pub(crate) fn remove_temporaries(log: &Path) {
    let (Some(name), Ok(entries)) = (
        log.file_name().and_then(|n| n.to_str()),
        fs::read_dir(crate::segments::log_dir(log)),
    ) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name.starts_with(name) && file_name.contains(TEMP_MARK) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates (replacing) an owner-only file, for reading too if `read`.
fn create_private(path: &Path, read: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(read).write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Opens (creating, owner-only) the live index at `path` for reading and
/// appending.
pub(crate) fn open_live(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(AuditError::io(path))
}

/// Every entry about `subject` in the files `parts` (a snapshot of a log:
/// its segments, then its live file), oldest first, read through their
/// indexes (see the module documentation). With `repair`, the sealed index
/// of a segment found missing or damaged is written again. The second
/// value says the live index disagreed with the live file.
pub(crate) fn trail(
    parts: &[Part],
    subject: &str,
    repair: bool,
) -> Result<(Vec<Entry>, bool), AuditError> {
    let key = subject_key(subject);
    let mut entries = Vec::new();
    let mut live_damaged = false;
    for part in parts {
        let found = if part.live {
            let (found, damaged) = live_trail(part, &index_path(&part.path), key, subject)?;
            live_damaged = damaged;
            found
        } else {
            sealed_trail(part, key, subject, repair)?
        };
        entries.extend(found.into_values());
    }
    Ok((entries, live_damaged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::segment_path;
    use crate::test_util::{event, scan_for, temp_log, write_rotated};
    use crate::{AuditLog, AuditOptions, OpenReport};

    #[test]
    fn records_round_trip_and_damage_is_refused() {
        let record = Record {
            key: 0x0123_4567_89ab_cdef,
            offset: 42,
            seq: u64::MAX,
        };
        let line = record.encode();
        assert_eq!(
            &line[..],
            b"0123456789abcdef ffffffffffffffff 000000000000002a\n"
        );
        assert_eq!(Record::decode(&line), Some(record));
        for bad in [
            &line[..50],
            b"0123456789ABCDEF ffffffffffffffff 000000000000002a\n",
            b"0123456789abcdef-ffffffffffffffff 000000000000002a\n",
            b"0123456789abcdef ffffffffffffffff 000000000000002a ",
            &[0u8; 51][..],
        ] {
            assert_eq!(Record::decode(bad), None);
        }
        assert_eq!(header(7, 3).len() as u64, RECORD_LEN);
        assert!(header(7, 3).starts_with(HEADER_TAG));
    }

    #[test]
    fn keys_differ_by_subject() {
        assert_eq!(subject_key("Q1"), subject_key("Q1"));
        assert_ne!(subject_key("Q1"), subject_key("Q2"));
        assert_ne!(subject_key(""), subject_key("\n"));
    }

    #[test]
    fn sealed_index_sorts_in_several_passes_like_in_one() {
        let dir = tempfile::tempdir().unwrap();
        let unsorted_path = dir.path().join("unsorted");
        let mut records: Vec<Record> = (0..500u64)
            .map(|i| Record {
                key: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                offset: i * 100,
                seq: i + 1,
            })
            .collect();
        let mut bytes = Vec::new();
        for record in &records {
            bytes.extend_from_slice(&record.encode());
        }
        fs::write(&unsorted_path, bytes).unwrap();
        let unsorted = File::open(&unsorted_path).unwrap();
        let index = dir.path().join("seg.index");
        write_sealed_in_batches(&unsorted, 500, 50_000, &index, 7).unwrap();
        let many_passes = fs::read(&index).unwrap();
        write_sealed(&unsorted, 500, 50_000, &index).unwrap();
        let one_pass = fs::read(&index).unwrap();
        assert_eq!(many_passes, one_pass);
        records.sort_unstable();
        assert_eq!(one_pass.len() as u64, 501 * RECORD_LEN);
        for (i, record) in records.iter().enumerate() {
            let at = (i + 1) * RECORD_LEN as usize;
            assert_eq!(Record::decode(&one_pass[at..at + 51]), Some(*record));
        }
        assert_eq!(
            sealed_count(&File::open(&index).unwrap(), 50_000).unwrap(),
            Some(500)
        );
        assert_eq!(
            sealed_count(&File::open(&index).unwrap(), 50_001).unwrap(),
            None
        );
        // A count that does not match the records is refused.
        assert!(write_sealed(&unsorted, 499, 50_000, &index).is_err());
        assert_eq!(fs::read(&index).unwrap(), one_pass);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary file left");
    }

    const SUBJECTS: [&str; 4] = ["Q0", "Q1", "Q2", "Q9"];

    /// Checks that the trail of every subject, read through the index by
    /// `log` and by the reader without it, is what a scan finds.
    fn assert_trails(log: &AuditLog) {
        for subject in SUBJECTS {
            let expected = scan_for(log.path(), subject);
            assert_eq!(log.entries_for(subject).unwrap(), expected, "{subject}");
            assert_eq!(
                crate::entries_for(log.path(), subject).unwrap(),
                expected,
                "{subject}"
            );
        }
    }

    fn reopen(path: &Path) -> AuditLog {
        AuditLog::open_with(path, AuditOptions { rotate_bytes: 1000 }).unwrap()
    }

    fn live_index(path: &Path) -> PathBuf {
        index_path(path)
    }

    /// The sealed index of a segment, rebuilt from a scan of it.
    fn fresh_sealed(segment: &Path) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("fresh.index");
        let file = File::open(segment).unwrap();
        let len = file.metadata().unwrap().len();
        build_by_scan(&file, len, &index).unwrap();
        fs::read(index).unwrap()
    }

    #[test]
    fn trails_across_segments_are_those_of_a_full_scan() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 30, 1000);
        let segments = crate::segments(&path).unwrap();
        assert!(segments.len() >= 3);
        assert_trails(&log);
        assert_eq!(log.entries_for("Q1").unwrap().len(), 10);
        // Every file has its index; each sealed one is what a scan makes.
        for segment in &segments {
            assert_eq!(
                fs::read(index_path(segment)).unwrap(),
                fresh_sealed(segment)
            );
        }
        let live_records = fs::metadata(live_index(&path)).unwrap().len() / RECORD_LEN;
        assert_eq!(
            live_records,
            crate::test_util::read_lines(&path).len() as u64
        );
        // Subjects with characters a line-based index would trip on.
        for subject in ["", "a b", "two\nlines", "é\"\\"] {
            log.append(crate::Event::new("gateway", crate::Action::Login, subject))
                .unwrap();
        }
        for subject in ["", "a b", "two\nlines", "é\"\\"] {
            let trail = log.entries_for(subject).unwrap();
            assert_eq!(trail.len(), 1, "{subject:?}");
            assert_eq!(trail[0].subject, subject);
        }
    }

    #[test]
    fn a_deleted_index_is_rebuilt() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 30, 1000);
        drop(log);
        let segments = crate::segments(&path).unwrap();
        let sealed = fs::read(index_path(&segments[0])).unwrap();
        fs::remove_file(live_index(&path)).unwrap();
        fs::remove_file(index_path(&segments[0])).unwrap();
        // Readers scan what has no index.
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
        assert!(
            !index_path(&segments[0]).exists(),
            "a reader writes nothing"
        );

        let log = reopen(&path);
        let live_lines = crate::test_util::read_lines(&path).len() as u64;
        assert_eq!(
            log.open_report(),
            &OpenReport {
                index_added: live_lines,
                ..OpenReport::default()
            }
        );
        assert_trails(&log);
        assert_eq!(fs::read(index_path(&segments[0])).unwrap(), sealed);

        // Removed while the log is open: the next append notices.
        fs::remove_file(live_index(&path)).unwrap();
        log.append_at(event(31), 3000).unwrap();
        let records = fs::metadata(live_index(&path)).unwrap().len() / RECORD_LEN;
        assert_eq!(records, crate::test_util::read_lines(&path).len() as u64);
        assert_trails(&log);
    }

    #[test]
    fn an_index_cut_mid_record_is_mended() {
        let (_dir, path) = temp_log();
        drop(write_rotated(&path, 30, 1000));
        let index = live_index(&path);
        let complete = fs::read(&index).unwrap();
        let len = complete.len() as u64;
        assert!(len >= 2 * RECORD_LEN);
        fs::OpenOptions::new()
            .write(true)
            .open(&index)
            .unwrap()
            .set_len(len - 20)
            .unwrap();
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
        let log = reopen(&path);
        assert_eq!(
            (
                log.open_report().index_discarded,
                log.open_report().index_added
            ),
            (1, 1)
        );
        assert_eq!(fs::read(&index).unwrap(), complete);
        assert_trails(&log);
    }

    #[test]
    fn records_past_the_end_of_the_log_are_discarded() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 31, 1000);
        log.sync().unwrap();
        drop(log);
        // The last two entries cut off the live file, their records left.
        let lines = crate::test_util::read_lines(&path);
        assert!(lines.len() >= 3);
        crate::test_util::write_lines(&path, &lines[..lines.len() - 2]);
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
        let log = reopen(&path);
        assert_eq!(log.open_report().index_discarded, 2);
        assert_eq!(log.open_report().index_added, 0);
        assert_eq!(log.open_report().missing_at_end, Some((30, 31)));
        let records = fs::metadata(live_index(&path)).unwrap().len() / RECORD_LEN;
        assert_eq!(records, lines.len() as u64 - 2);
        assert_trails(&log);
        // And a record pointing far past the end, then junk.
        drop(log);
        let mut bytes = fs::read(live_index(&path)).unwrap();
        let far = Record {
            key: subject_key("Q1"),
            offset: 1 << 40,
            seq: 1000,
        };
        bytes.extend_from_slice(&far.encode());
        bytes.extend_from_slice(&[0u8; 60]);
        fs::write(live_index(&path), bytes).unwrap();
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
        let log = reopen(&path);
        assert_eq!(log.open_report().index_discarded, 3);
        assert_trails(&log);
    }

    #[test]
    fn a_record_that_lies_is_caught_and_the_index_rebuilt() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 30, 1000);
        let index = live_index(&path);
        let good = fs::read(&index).unwrap();
        // The second record of the live file points at the first entry's
        // line: sound on its face, wrong against the file.
        let mut bytes = good.clone();
        let second = Record::decode(&bytes[51..102]).unwrap();
        let lie = Record {
            offset: 0,
            ..second
        }
        .encode();
        bytes[51..102].copy_from_slice(&lie);
        fs::write(&index, &bytes).unwrap();
        // Same inode: the open log keeps appending to it.
        assert_trails(&log);
        log.append_at(event(31), 3000).unwrap();
        let mut expected = good;
        expected.extend_from_slice(&fs::read(&index).unwrap()[expected.len()..]);
        assert_eq!(fs::read(&index).unwrap(), expected, "rebuilt at the append");
        assert_trails(&log);

        // A missing record (seqs skip) is covered by a scan of its gap.
        drop(log);
        let mut bytes = fs::read(&index).unwrap();
        bytes.drain(51..102);
        fs::write(&index, &bytes).unwrap();
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
    }

    #[test]
    fn a_damaged_sealed_index_is_not_believed_and_is_rewritten() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 30, 1000);
        let segment = segment_path(&path, 2);
        let sealed = index_path(&segment);
        let good = fs::read(&sealed).unwrap();
        let damages: [fn(&mut Vec<u8>); 4] = [
            // A record's offset moved off its line.
            |b| b[51 + 49] ^= 1,
            // Cut short.
            |b| b.truncate(b.len() - 51),
            // Another segment's length in the header.
            |b| b[20] ^= 1,
            // Not an index.
            |b| b.iter_mut().for_each(|x| *x = b'x'),
        ];
        for damage in damages {
            let mut bytes = good.clone();
            damage(&mut bytes);
            fs::write(&sealed, &bytes).unwrap();
            for subject in SUBJECTS {
                assert_eq!(
                    crate::entries_for(&path, subject).unwrap(),
                    scan_for(&path, subject)
                );
            }
            assert_eq!(fs::read(&sealed).unwrap(), bytes, "a reader writes nothing");
            assert_trails(&log);
            assert_eq!(fs::read(&sealed).unwrap(), good, "rewritten by the log");
        }
    }

    #[test]
    fn a_live_index_left_from_before_a_rotation_is_ignored() {
        let (_dir, path) = temp_log();
        drop(write_rotated(&path, 30, 1000));
        // The rename done, the new live file created, the index not reset.
        let next = crate::segments(&path).unwrap().len() as u64 + 1;
        fs::rename(&path, segment_path(&path, next)).unwrap();
        fs::write(&path, "").unwrap();
        // Another writer started the new file (with an empty index of its
        // own, then appended the stale one back: the worst case).
        let stale = fs::read(live_index(&path)).unwrap();
        let log = reopen(&path);
        assert_eq!(
            log.open_report().index_discarded,
            stale.len() as u64 / RECORD_LEN
        );
        log.append_at(event(31), 3000).unwrap();
        drop(log);
        let mut bytes = fs::read(live_index(&path)).unwrap();
        assert_eq!(bytes.len() as u64, RECORD_LEN);
        bytes.splice(0..0, stale);
        fs::write(live_index(&path), bytes).unwrap();
        for subject in SUBJECTS {
            assert_eq!(
                crate::entries_for(&path, subject).unwrap(),
                scan_for(&path, subject)
            );
        }
    }
}
