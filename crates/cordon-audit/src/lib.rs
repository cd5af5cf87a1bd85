//! cordon-audit: the append-only, hash-chained audit log.
//!
//! Every acceptance, verdict, view, release, reject, expiry and sign-in is
//! appended with who, when, what and the hash of the entry before, so that
//! nobody can quietly change or remove an entry: [`verify`] recomputes the
//! chain and names the first entry altered or removed, and [`export`] writes
//! the entries as JSON lines for a SIEM.
//!
//! # Files
//!
//! The log (say `DATA/audit.jsonl`) holds one [`Entry`] per line, in
//! canonical form (below), e.g. (wrapped here):
//!
//! ```text
//! {"action":"release","actor":"officer:j.smith","at":1763900000,
//!  "detail":{"note":"solicitor confirmed"},"hash":"<64 hex>",
//!  "prev":"<64 hex>","seq":57,"subject":"01JD3X..."}
//! ```
//!
//! - `seq` is 1 for the first entry and one more for each next one;
//! - `at` is Unix seconds; `actor` is `officer:<user>`, `gateway` or
//!   `cli:<os user>`; `action` an [`Action`] name; `subject` the queue or
//!   quarantine id (or user name) concerned; `detail` a JSON object;
//! - `prev` is the `hash` of the entry before ([`ZERO_HASH`] for the first);
//! - `hash` is the lowercase hex SHA-256 of the line's canonical form
//!   without the `hash` key.
//!
//! Beside it, the head file (`DATA/audit.head`, see [`head_path`]) records
//! `"<seq> <hash>\n"` of the last entry known durable, so that entries cut
//! from the end are noticed too.
//!
//! ## Rotation
//!
//! The log above is the *live file*. Before an entry would take it past
//! [`AuditOptions::rotate_bytes`] (64 MiB by default), the writer fsyncs it,
//! renames it to the next numbered *segment* beside it and fsyncs the
//! directory, then begins a new live file: `audit.jsonl.000001`,
//! `audit.jsonl.000002`, ... ([`segments()`]: the log's name, a dot and a
//! number of at least six digits, the oldest lowest, so that the names
//! sort in order). The chain runs on across files: the first entry of a
//! file has the next seq and, as `prev`, the hash of the last entry of the
//! file before. Segments are never written again.
//!
//! A rotation moves entries (a rename), it never copies them, so a crash
//! at any point loses or duplicates none: before the rename nothing has
//! changed; after it the live file is missing or empty, and
//! [`AuditLog::open`] creates it if need be and continues from the newest
//! segment. Readers ([`verify`], [`export`], [`entries_for`]) read the
//! segments oldest first and then the live file as one log, from a
//! consistent set of open files.
//!
//! ## Other files beside the log
//!
//! - `DATA/audit.jsonl.lock`: what writers lock (`flock`) to append, rotate
//!   or replace the head file. Empty.
//! - `DATA/audit.jsonl.index` and `DATA/audit.jsonl.000001.index`, ...:
//!   the *trail index* of the live file and of each segment, which says
//!   where each subject's entries are, so that [`AuditLog::entries_for`]
//!   reads a message's trail without scanning the log. One record per
//!   entry, `<subject key> <seq> <offset>\n` in fixed-width hex (the live
//!   file's in the order of the file, appended after each entry without an
//!   fsync; a segment's sorted by subject key, written when it is sealed).
//!   It is a cache: entries read through it must start a line and carry
//!   the record's seq and subject, or the file is scanned instead; it is
//!   mended at open (records past the end cut off, missing ones added) and
//!   written again when found missing or damaged, and may be deleted at
//!   any time. [`verify`] never reads it.
//!
//! # PostgreSQL
//!
//! Gateways that share a PostgreSQL database share one chain in it
//! ([`AuditLog::open_postgres`]): a table with one row per entry, holding
//! the entry's line exactly as above (without its newline) beside its
//! `seq`, `at`, `subject` and `hash` for queries, and a one-row head table
//! in place of the head file, moved in the transaction of every append.
//! An append locks the head row, so appends from every node are
//! serialised and the chain is one gap-free sequence. The lines, hashes and
//! exports are byte for byte those of a file log; [`AuditSource`] verifies
//! and exports either, and reads one message's trail (from an index, in
//! the database).
//!
//! # Canonical form
//!
//! An entry is a JSON object. Its *canonical form* is its JSON text with:
//!
//! - no whitespace between tokens;
//! - the keys of every object (the entry and everything in `detail`) sorted
//!   by their UTF-8 bytes;
//! - strings written with only `"`, `\` and the control characters U+0000 to
//!   U+001F escaped: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00XX`
//!   with lowercase hex digits for the others; everything else as UTF-8;
//! - integers in decimal, other numbers as serde_json writes them (the
//!   shortest text that reads back as the same `f64`).
//!
//! Each line of the log is the canonical form of the entry followed by `\n`,
//! and the entry's `hash` is the lowercase hex SHA-256 of the canonical form
//! of the entry *without* its `hash` key. The hash covers every other key,
//! including keys a later version may add, so a newer log still verifies
//! with an older verifier. Requiring the line to be exactly the canonical
//! form means that what a person or a SIEM reads is what was hashed: a
//! duplicated key or a re-formatted line is reported, not silently accepted.
//!
//! # Threat model
//!
//! The chain has no secret. It shows any change to an entry, and the removal
//! of entries from the middle or (with the head file, or head row) the end.
//! Someone who can write both files (or both tables) can still rewrite the
//! end of the log with recomputed hashes; the defence against that is to
//! [`export`] the log to a SIEM often, so that exported entries are out of
//! reach. In PostgreSQL, the gateways' role can be kept from `UPDATE` and
//! `DELETE` on the entries table by the database's own privileges.

#![warn(missing_docs)]

mod database;
mod entry;
mod error;
mod head;
mod lines;
mod log;
mod read;
mod segments;
mod source;
mod trail_index;
mod verify;

pub use entry::{Action, Entry, Event, MAX_DETAIL_DEPTH, MAX_LINE_BYTES, UnknownAction, ZERO_HASH};
pub use error::AuditError;
pub use head::{Head, head_path};
pub use log::{AuditLog, AuditOptions, DEFAULT_ROTATE_BYTES, OpenReport};
pub use read::{ExportSummary, entries_for, export};
pub use segments::segments;
pub use source::AuditSource;
pub use verify::{Problem, VerifyReport, verify};

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the tests of the modules.

    use std::path::PathBuf;

    use serde_json::json;

    use crate::{Action, AuditLog, AuditOptions, Entry, Event};

    /// A temporary directory and the log path inside it (not created).
    pub(crate) fn temp_log() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        (dir, path)
    }

    /// Event number `i`: subjects cycle through three queue ids.
    pub(crate) fn event(i: u64) -> Event {
        Event::new(
            format!("officer:user{i}"),
            Action::View,
            format!("Q{}", i % 3),
        )
        .with_detail(json!({ "i": i }))
    }

    /// A log at `path` with `n` entries, at times 1000, 1001, ...
    pub(crate) fn write_log(path: &std::path::Path, n: u64) -> AuditLog {
        let log = AuditLog::open(path).unwrap();
        for i in 1..=n {
            log.append_at(event(i), 1000 + i).unwrap();
        }
        log
    }

    /// A log at `path` rotated past `rotate_bytes`, with `n` entries as
    /// [`write_log`] writes them (an entry's line is about 240 bytes).
    pub(crate) fn write_rotated(path: &std::path::Path, n: u64, rotate_bytes: u64) -> AuditLog {
        let log = AuditLog::open_with(path, AuditOptions { rotate_bytes }).unwrap();
        for i in 1..=n {
            log.append_at(event(i), 1000 + i).unwrap();
        }
        log
    }

    /// Every file of the log at `path`: its segments, then the live file.
    pub(crate) fn log_files(path: &std::path::Path) -> Vec<PathBuf> {
        let mut files = crate::segments(path).unwrap();
        if path.exists() {
            files.push(path.to_owned());
        }
        files
    }

    /// The entries about `subject`, from a scan of every file of the log
    /// without the index (as the trail was read before it).
    pub(crate) fn scan_for(path: &std::path::Path, subject: &str) -> Vec<Entry> {
        log_files(path)
            .iter()
            .flat_map(|file| read_lines(file))
            .filter_map(|line| serde_json::from_str::<Entry>(&line).ok())
            .filter(|entry| entry.subject == subject)
            .collect()
    }

    /// The lines of the file at `path`, without their newlines.
    pub(crate) fn read_lines(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Writes `lines` back, each with its newline.
    pub(crate) fn write_lines(path: &std::path::Path, lines: &[String]) {
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text).unwrap();
    }
}
