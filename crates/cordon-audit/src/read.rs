//! Readers: export for a SIEM and the audit trail of one subject.

use std::io::Write;
use std::path::Path;

use crate::entry::{Entry, parse_line};
use crate::error::AuditError;
use crate::lines::{BackLines, Line, complete_end};
use crate::segments::{self, Part};
use crate::trail_index;

/// The result of [`export`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries written.
    pub exported: u64,
    /// Lines skipped because they are not entries (damage that
    /// [`crate::verify`] reports; a partial last line being written is not
    /// counted).
    pub skipped_lines: u64,
}

/// Writes the entries of the log at `path` whose seq is greater than
/// `after_seq` (all with `None`) to `out`, one per line, exactly as they are
/// in the log, so that the SIEM can verify them again. Give the last seq
/// already exported as `after_seq` to export only what is new.
///
/// Reads the rotated segments oldest first, then the live file (see
/// [`crate::segments()`]), as one log. With `after_seq`, a segment whose last
/// entry is not after it is skipped without being read (its damaged lines,
/// if any, are then not counted).
///
/// Reads in bounded memory and writes each line as it is read: wrap `out` in
/// a `BufWriter` if it is unbuffered. Exports what the log says without
/// judging it (altered entries are exported too; run [`crate::verify`] for
/// that); lines that are not entries at all are skipped and counted.
pub fn export(
    path: impl AsRef<Path>,
    after_seq: Option<u64>,
    mut out: impl Write,
) -> Result<ExportSummary, AuditError> {
    let path = path.as_ref();
    let mut summary = ExportSummary::default();
    for part in segments::snapshot(path)? {
        if let Some(after) = after_seq
            && !part.live
            && last_seq(&part)?.is_some_and(|last| last <= after)
        {
            continue;
        }
        let mut lines = part.lines()?;
        while let Some((_, line)) = lines.next_line().map_err(AuditError::io(&part.path))? {
            // A partial last line is being written in the live file, but
            // is damage in a sealed segment.
            let (bytes, counted) = match line {
                Line::Complete(bytes) => (bytes, true),
                Line::Unterminated(bytes) => (bytes, !part.live),
                Line::TooLong { terminated } => {
                    summary.skipped_lines += u64::from(terminated || !part.live);
                    continue;
                }
            };
            match parse_line(bytes) {
                Some(entry) => {
                    if after_seq.is_none_or(|after| entry.seq > after) {
                        out.write_all(bytes)
                            .and_then(|()| out.write_all(b"\n"))
                            .map_err(AuditError::Output)?;
                        summary.exported += 1;
                    }
                }
                None => summary.skipped_lines += u64::from(counted),
            }
        }
    }
    out.flush().map_err(AuditError::Output)?;
    Ok(summary)
}

/// The seq of the last readable entry of a segment, if any.
fn last_seq(part: &Part) -> Result<Option<u64>, AuditError> {
    let io_err = || AuditError::io(&part.path);
    let end = complete_end(&part.file, part.len()?).map_err(io_err())?;
    let mut back = BackLines::new(&part.file, end);
    while let Some(line) = back.prev_line().map_err(io_err())? {
        if let Some(entry) = line.as_deref().and_then(parse_line) {
            return Ok(Some(entry.seq));
        }
    }
    Ok(None)
}

/// Every entry of the log at `path` about `subject` (a queue or quarantine
/// id, a user name), oldest first: the per-message audit trail of the
/// console. Entries are returned as the log has them, not verified (that
/// is [`crate::verify`]'s job); lines that are not entries are skipped.
///
/// Reads the entries' lines from the trail index beside the log (see
/// [`crate::AuditLog`]) rather than the whole log, across every segment;
/// where an index is missing, behind or disagrees with its file, that file
/// is scanned instead, so the result is what a scan would give. Writes
/// nothing (unlike [`crate::AuditLog::entries_for`], which also mends what
/// it finds wrong in the index).
pub fn entries_for(path: impl AsRef<Path>, subject: &str) -> Result<Vec<Entry>, AuditError> {
    let parts = segments::snapshot(path.as_ref())?;
    Ok(trail_index::trail(&parts, subject, false)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{read_lines, temp_log, write_lines, write_log};
    use crate::verify::verify;

    #[test]
    fn export_round_trips_and_verifies_again() {
        let (dir, path) = temp_log();
        drop(write_log(&path, 6));
        let mut out = Vec::new();
        let summary = export(&path, None, &mut out).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                exported: 6,
                skipped_lines: 0
            }
        );
        assert_eq!(out, std::fs::read(&path).unwrap());
        // What the SIEM receives verifies on its own.
        let copy = dir.path().join("siem.jsonl");
        std::fs::write(&copy, &out).unwrap();
        let report = verify(&copy).unwrap();
        assert!(report.is_ok() && report.entries == 6, "{report:?}");
    }

    #[test]
    fn export_after_seq_gives_only_newer_entries() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 6));
        let mut out = Vec::new();
        assert_eq!(export(&path, Some(4), &mut out).unwrap().exported, 2);
        let seqs: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Entry>(l).unwrap().seq)
            .collect();
        assert_eq!(seqs, vec![5, 6]);
        assert_eq!(export(&path, Some(6), Vec::new()).unwrap().exported, 0);
    }

    #[test]
    fn export_skips_and_counts_lines_that_are_not_entries() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 3));
        let mut lines = read_lines(&path);
        lines.insert(1, "{broken".into());
        write_lines(&path, &lines);
        // A partial last line being written is not damage.
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"{\"act");
        std::fs::write(&path, text).unwrap();
        let mut out = Vec::new();
        let summary = export(&path, None, &mut out).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                exported: 3,
                skipped_lines: 1
            }
        );
        assert!(!String::from_utf8(out).unwrap().contains("broken"));
    }

    #[test]
    fn export_reports_a_failing_destination() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (_dir, path) = temp_log();
        drop(write_log(&path, 1));
        assert!(matches!(
            export(&path, None, Full),
            Err(AuditError::Output(_))
        ));
    }

    #[test]
    fn entries_for_filters_by_subject_oldest_first() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 7); // subjects Q1 Q2 Q0 Q1 Q2 Q0 Q1
        let seqs = |v: Vec<Entry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(entries_for(&path, "Q1").unwrap()), vec![1, 4, 7]);
        assert_eq!(seqs(log.entries_for("Q0").unwrap()), vec![3, 6]);
        assert!(entries_for(&path, "Q9").unwrap().is_empty());
        assert!(entries_for(&path, "Q").unwrap().is_empty());
        let trail = entries_for(&path, "Q2").unwrap();
        assert!(trail.iter().all(|e| e.subject == "Q2"));
        assert_eq!(trail[0].actor, "officer:user2");
    }
}
