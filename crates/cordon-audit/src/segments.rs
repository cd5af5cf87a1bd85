//! Rotation: the log as numbered segments and the live file after them.
//!
//! When the live file (`DATA/audit.jsonl`) would grow past the size given
//! in [`crate::AuditOptions`], the writer renames it, under the log's lock,
//! to the next numbered segment beside it, `audit.jsonl.000001`,
//! `audit.jsonl.000002`, ... (the log's file name, a dot and the number in
//! at least six decimal digits: the oldest is the lowest, and the names
//! sort in that order), and starts a new live file. The chain does not
//! notice: the first entry of the new file has the next seq and the `prev`
//! of the last entry of the segment before it. Segments are never written
//! again.
//!
//! # Crash safety
//!
//! The rotation is: fsync the live file; rename it to the segment; fsync
//! the directory; create the new live file; fsync the directory. Entries
//! are only ever in one file (the rename moves them, it does not copy
//! them), so a crash at any point loses or duplicates none:
//!
//! - before the rename, nothing has changed;
//! - after it, the live file is missing or empty: [`crate::AuditLog::open`]
//!   creates it if need be and continues the chain from the last entry of
//!   the newest segment.
//!
//! Readers take a consistent view ([`snapshot`]): they list the segments,
//! open them and the live file, and list again; if a rotation happened in
//! between they start over. What they have open stays readable whatever
//! is renamed afterwards.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::head::sync_dir;
use crate::lines::Lines;

/// The least number of digits in a segment's number.
const DIGITS: usize = 6;

/// How many times a reader lists the segments again when a rotation runs
/// while it opens them, before taking what it has.
const SNAPSHOT_ATTEMPTS: u32 = 8;

/// The path of segment `number` of the log at `log`: `audit.jsonl` →
/// `audit.jsonl.000042`.
pub(crate) fn segment_path(log: &Path, number: u64) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(format!(".{number:0DIGITS$}"));
    PathBuf::from(name)
}

/// The number of the segment called `name` of the log called `log_name`,
/// if it is one: exactly the log's name, a dot and the number as
/// [`segment_path`] writes it (no other spelling, so that one number has
/// one file).
fn segment_number(log_name: &OsStr, name: &OsStr) -> Option<u64> {
    let name = name.to_str()?;
    let digits = name.strip_prefix(log_name.to_str()?)?.strip_prefix('.')?;
    if digits.len() < DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = digits.parse::<u64>().ok()?;
    (format!("{number:0DIGITS$}") == digits).then_some(number)
}

/// One rotated segment of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Its number, from 1.
    pub(crate) number: u64,
    /// Its file.
    pub(crate) path: PathBuf,
}

/// The directory of the log at `log` (`.` for a bare file name).
pub(crate) fn log_dir(log: &Path) -> &Path {
    log.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The rotated segments of the log at `log`, oldest first (none if its
/// directory does not exist).
pub(crate) fn list(log: &Path) -> Result<Vec<Segment>, AuditError> {
    let Some(log_name) = log.file_name() else {
        return Ok(Vec::new());
    };
    let dir = log_dir(log);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(dir)(e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(AuditError::io(dir))?;
        if let Some(number) = segment_number(log_name, &entry.file_name()) {
            segments.push(Segment {
                number,
                path: entry.path(),
            });
        }
    }
    segments.sort_unstable_by_key(|s| s.number);
    Ok(segments)
}

/// The rotated segments of the log at `log`, oldest first: the files that,
/// followed by the log itself, hold its chain (`audit.jsonl.000001`,
/// `audit.jsonl.000002`, ...: the log's name, a dot, and a number of at
/// least six digits). For archiving: a segment is never written again once
/// it exists. [`crate::verify`], [`crate::export`] and
/// [`crate::entries_for`] read them all.
pub fn segments(log: impl AsRef<Path>) -> Result<Vec<PathBuf>, AuditError> {
    Ok(list(log.as_ref())?.into_iter().map(|s| s.path).collect())
}

/// One file of a log, open for reading: a segment or the live file.
#[derive(Debug)]
pub(crate) struct Part {
    /// Its path.
    pub(crate) path: PathBuf,
    /// The file, open.
    pub(crate) file: File,
    /// Whether it is the live file (the log's own path), which grows and
    /// may end with a line being written, rather than a sealed segment.
    pub(crate) live: bool,
}

impl Part {
    /// Its file name, which names it in problems.
    pub(crate) fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Its lines, from its start (whatever was read before).
    pub(crate) fn lines(&self) -> Result<Lines<&File>, AuditError> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))
            .map_err(AuditError::io(&self.path))?;
        Ok(Lines::new(file))
    }

    /// Its length now.
    pub(crate) fn len(&self) -> Result<u64, AuditError> {
        Ok(self
            .file
            .metadata()
            .map_err(AuditError::io(&self.path))?
            .len())
    }
}

/// Every file of the log at `log`, open, oldest first: the segments, then
/// the live file (missing only if a rotation was cut short after its
/// rename). A rotation while this runs makes it start over (see the module
/// documentation). The log not existing at all is an error.
pub(crate) fn snapshot(log: &Path) -> Result<Vec<Part>, AuditError> {
    let mut attempt = 1;
    loop {
        let last_attempt = attempt >= SNAPSHOT_ATTEMPTS;
        attempt += 1;
        let before = list(log)?;
        let mut parts = Vec::with_capacity(before.len() + 1);
        let mut vanished = false;
        for segment in &before {
            match File::open(&segment.path) {
                Ok(file) => parts.push(Part {
                    path: segment.path.clone(),
                    file,
                    live: false,
                }),
                // Removed (archived?) since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound && !last_attempt => {
                    vanished = true;
                    break;
                }
                Err(e) => return Err(AuditError::io(&segment.path)(e)),
            }
        }
        if vanished {
            continue;
        }
        match File::open(log) {
            Ok(file) => parts.push(Part {
                path: log.to_owned(),
                file,
                live: true,
            }),
            // Renamed away by a rotation (under way, or cut short).
            Err(e) if e.kind() == io::ErrorKind::NotFound && !before.is_empty() => {}
            Err(e) => return Err(AuditError::io(log)(e)),
        }
        if last_attempt || list(log)? == before {
            return Ok(parts);
        }
    }
}

/// Makes the live file at `log` (open as `live`) the next segment: fsyncs
/// it, renames it to the number after the newest segment and fsyncs the
/// directory. Returns the segment's path. The caller holds the log's lock
/// and then creates the new live file.
pub(crate) fn seal_live(live: &File, log: &Path) -> Result<PathBuf, AuditError> {
    live.sync_all().map_err(AuditError::io(log))?;
    let number = list(log)?
        .last()
        .map_or(Some(1), |newest| newest.number.checked_add(1))
        .ok_or_else(|| AuditError::io(log)(io::Error::other("segment numbers are exhausted")))?;
    let segment = segment_path(log, number);
    // Never replace a file: only this code, under the lock, creates
    // segments, so this name is free unless something else put it there.
    match fs::symlink_metadata(&segment) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::io(&segment)(e)),
        Ok(_) => {
            return Err(AuditError::io(&segment)(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file already has the next segment's name",
            )));
        }
    }
    fs::rename(log, &segment).map_err(AuditError::io(&segment))?;
    sync_dir(Some(log_dir(log)))?;
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_and_parse_back() {
        let log = Path::new("/d/audit.jsonl");
        assert_eq!(segment_path(log, 1), Path::new("/d/audit.jsonl.000001"));
        assert_eq!(
            segment_path(log, 1_234_567),
            Path::new("/d/audit.jsonl.1234567")
        );
        let name = OsStr::new("audit.jsonl");
        for number in [1, 42, 999_999, 1_000_000, u64::MAX] {
            let path = segment_path(log, number);
            assert_eq!(
                segment_number(name, path.file_name().unwrap()),
                Some(number)
            );
        }
        for other in [
            "audit.jsonl",
            "audit.jsonl.",
            "audit.jsonl.1",
            "audit.jsonl.00001",
            "audit.jsonl.0000001",
            "audit.jsonl.000001.index",
            "audit.jsonl.index",
            "audit.jsonl.+00001",
            "audit.head",
            "xaudit.jsonl.000001",
        ] {
            assert_eq!(segment_number(name, OsStr::new(other)), None, "{other}");
        }
    }

    #[test]
    fn list_orders_by_number_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        assert!(list(&log).unwrap().is_empty());
        for name in [
            "audit.jsonl.000010",
            "audit.jsonl.000002",
            "audit.jsonl.1000000",
            "audit.jsonl.000002.index",
            "audit.jsonl",
            "other.jsonl.000001",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        let numbers: Vec<u64> = list(&log).unwrap().iter().map(|s| s.number).collect();
        assert_eq!(numbers, vec![2, 10, 1_000_000]);
        let missing = dir.path().join("missing").join("audit.jsonl");
        assert!(list(&missing).unwrap().is_empty());
    }

    #[test]
    fn snapshot_takes_segments_then_the_live_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        assert!(matches!(snapshot(&log), Err(AuditError::Io { .. })));
        fs::write(&log, "live\n").unwrap();
        let live = File::open(&log).unwrap();
        let first = seal_live(&live, &log).unwrap();
        assert_eq!(first, segment_path(&log, 1));
        // The rename done, the new live file not yet created.
        let parts = snapshot(&log).unwrap();
        assert_eq!(parts.len(), 1);
        assert!(!parts[0].live);
        fs::write(&log, "new\n").unwrap();
        let parts = snapshot(&log).unwrap();
        let names: Vec<String> = parts.iter().map(Part::name).collect();
        assert_eq!(names, vec!["audit.jsonl.000001", "audit.jsonl"]);
        assert!(parts[1].live);
        assert_eq!(parts[1].len().unwrap(), 4);
        // The next number is after the newest segment, whatever is missing.
        fs::rename(segment_path(&log, 1), segment_path(&log, 7)).unwrap();
        let live = File::open(&log).unwrap();
        assert_eq!(seal_live(&live, &log).unwrap(), segment_path(&log, 8));
        assert!(!log.exists());
    }
}
