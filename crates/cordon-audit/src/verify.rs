//! Verification: recomputing the chain and naming the first entry that was
//! altered or removed.

use std::fmt;
use std::path::Path;

use crate::entry::{CheckedLine, ZERO_HASH, check_line};
use crate::error::AuditError;
use crate::head::{Head, head_path, read_head};
use crate::lines::Line;
use crate::segments;

/// What is wrong at one place in the log.
///
/// `line` is the line number in the file, from 1; for a log in PostgreSQL,
/// the row's position in the order of `seq`, from 1, which is its line in
/// an export ([`crate::AuditSource::export`]). A problem in a rotated
/// segment of a file log is wrapped in [`Problem::InSegment`], which names
/// the segment; one in the live file (or a log never rotated) is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The line is not an audit entry at all (not JSON, a field missing or
    /// of the wrong type, too long).
    Malformed {
        /// The line number, from 1.
        line: u64,
        /// Why it is not an entry.
        reason: String,
    },
    /// The entry's hash does not match its contents: a field was changed.
    Altered {
        /// The line number, from 1.
        line: u64,
        /// The entry's seq.
        seq: u64,
    },
    /// The entry's contents match its hash but its text is not the form the
    /// gateway writes: it was re-written (possibly with a duplicated key
    /// that other readers would take instead).
    NotCanonical {
        /// The line number, from 1.
        line: u64,
        /// The entry's seq.
        seq: u64,
    },
    /// Entries before this one are missing: its seq skips numbers, or its
    /// `prev` is not the hash of the entry before it (which was then
    /// removed or replaced).
    Removed {
        /// The line number, from 1.
        line: u64,
        /// The entry's seq.
        seq: u64,
        /// The seq the entry should have had.
        expected_seq: u64,
    },
    /// The entry's seq is not above the one before it: a duplicated, moved
    /// or inserted entry.
    OutOfOrder {
        /// The line number, from 1.
        line: u64,
        /// The entry's seq.
        seq: u64,
        /// The seq the entry should have had.
        expected_seq: u64,
    },
    /// The head (file or row) records an entry the log does not have:
    /// entries were cut from the end of the log (and possibly others
    /// appended since).
    Truncated {
        /// The seq the head records.
        head_seq: u64,
        /// The highest seq in the log (0 if none).
        last_seq: u64,
    },
    /// The entry has the seq the head (file or row) records but another
    /// hash: the end of the log was removed and written anew.
    HeadMismatch {
        /// The line number, from 1.
        line: u64,
        /// The entry's seq.
        seq: u64,
    },
    /// The head file is not readable, so removal from the end cannot be
    /// checked. (In PostgreSQL: the head row is missing or not a seq and a
    /// hash.)
    DamagedHead {
        /// Why.
        reason: String,
    },
    /// PostgreSQL only: the chain goes on past the entry its head records.
    /// Every append moves the head in the same transaction, so the entries
    /// after it were inserted (or the head moved back) by something else.
    PastHead {
        /// The seq the head records (0 for none).
        head_seq: u64,
        /// The highest seq in the chain.
        last_seq: u64,
    },
    /// PostgreSQL only: a column of the entry's row does not say what its
    /// line (the entry itself, which the hash covers) says. The row was
    /// altered outside the gateway; queries on that column (one message's
    /// trail, an export from a seq) may miss or misplace the entry.
    RowMismatch {
        /// The row's position in the order of `seq`, from 1.
        line: u64,
        /// The entry's seq (as its line says).
        seq: u64,
        /// The column that disagrees: `seq`, `at`, `subject` or `hash`.
        column: &'static str,
    },
    /// `problem` is in this rotated segment of the log (its `line` is a
    /// line of the segment).
    InSegment {
        /// The segment's file name, e.g. `audit.jsonl.000003`.
        segment: String,
        /// What is wrong there.
        problem: Box<Problem>,
    },
    /// The first entry of a file of the log (a segment, or the live file)
    /// does not follow the last entry of the file before it: entries
    /// between them are missing (a segment was removed, or the one before
    /// cut short) or, if its seq is the expected one, the file before was
    /// replaced.
    SegmentGap {
        /// The file name of the file whose first entry does not follow.
        segment: String,
        /// The entry's line in it (1 unless lines before it are damaged).
        line: u64,
        /// The entry's seq.
        seq: u64,
        /// The seq the entry should have had.
        expected_seq: u64,
    },
    /// A rotated segment does not end with a complete line: it was cut
    /// short (a segment is whole and fsynced before it is renamed).
    TruncatedSegment {
        /// The segment's file name.
        segment: String,
        /// The number of its partial last line.
        line: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed { line, reason } => {
                write!(f, "line {line} is not a valid audit entry: {reason}")
            }
            Problem::Altered { line, seq } => write!(
                f,
                "entry {seq} (line {line}) was altered: its hash does not match its contents"
            ),
            Problem::NotCanonical { line, seq } => write!(
                f,
                "entry {seq} (line {line}) was rewritten: its text is not the form the gateway writes"
            ),
            Problem::Removed {
                line,
                seq,
                expected_seq,
            } => {
                if seq == expected_seq {
                    write!(
                        f,
                        "entry {seq} (line {line}) does not follow the entry before it: an entry before it was removed or replaced"
                    )
                } else if seq.saturating_sub(*expected_seq) <= 1 {
                    write!(
                        f,
                        "entry {expected_seq}, before entry {seq} (line {line}), was removed"
                    )
                } else {
                    write!(
                        f,
                        "entries {expected_seq} to {}, before entry {seq} (line {line}), were removed",
                        seq.saturating_sub(1)
                    )
                }
            }
            Problem::OutOfOrder {
                line,
                seq,
                expected_seq,
            } => write!(
                f,
                "entry {seq} (line {line}) is out of order: entry {expected_seq} was expected there (an entry was duplicated, moved or inserted)"
            ),
            Problem::Truncated { head_seq, last_seq } => {
                if last_seq < head_seq {
                    write!(
                        f,
                        "the log ends at entry {last_seq} but its head records entry {head_seq}: entries were removed from its end"
                    )
                } else {
                    write!(
                        f,
                        "entry {head_seq}, recorded as the head, is not in the log: it was removed"
                    )
                }
            }
            Problem::HeadMismatch { line, seq } => write!(
                f,
                "entry {seq} (line {line}) is not the entry {seq} recorded as the head: the end of the log was removed and rewritten"
            ),
            Problem::DamagedHead { reason } => write!(
                f,
                "the head is damaged ({reason}): removal of entries from the end cannot be checked"
            ),
            Problem::PastHead { head_seq, last_seq } => write!(
                f,
                "the chain goes on to entry {last_seq} past its head, entry {head_seq}: entries were added or the head was moved back outside the gateway"
            ),
            Problem::RowMismatch { line, seq, column } => write!(
                f,
                "entry {seq} (line {line}) was altered: its row's {column} column does not match the entry"
            ),
            Problem::InSegment { segment, problem } => write!(f, "in {segment}: {problem}"),
            Problem::SegmentGap {
                segment,
                line,
                seq,
                expected_seq,
            } => {
                if seq == expected_seq {
                    write!(
                        f,
                        "entry {seq}, the first of {segment} (line {line}), does not follow the last entry before it: the file before it was replaced"
                    )
                } else if seq.saturating_sub(*expected_seq) <= 1 {
                    write!(
                        f,
                        "entry {expected_seq}, before entry {seq}, the first of {segment} (line {line}), is missing: a segment was removed or cut short"
                    )
                } else {
                    write!(
                        f,
                        "entries {expected_seq} to {}, before entry {seq}, the first of {segment} (line {line}), are missing: a segment was removed or cut short",
                        seq.saturating_sub(1)
                    )
                }
            }
            Problem::TruncatedSegment { segment, line } => write!(
                f,
                "{segment} ends in the middle of line {line}: the segment was cut short"
            ),
        }
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines read as entries (whether or not they verify).
    pub entries: u64,
    /// The highest seq read (0 if none).
    pub last_seq: u64,
    /// What the head (file or row) records, if there is one (a file log has
    /// none before its first sync, and without it entries cut from the end
    /// go unnoticed; in PostgreSQL, none while the chain is empty).
    pub head: Option<Head>,
    /// The first problem, in the order of the file.
    pub first_problem: Option<Problem>,
    /// How many problems were found in all (one damage may cause several).
    pub problems: u64,
    /// The log ends with a partial line: one being written, or torn by a
    /// crash (cut off when the log is next opened). Not a problem.
    pub incomplete_tail: bool,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.first_problem.is_none()
    }

    fn record(&mut self, problem: Problem) {
        self.problems += 1;
        if self.first_problem.is_none() {
            self.first_problem = Some(problem);
        }
    }
}

/// Where the head's entry stands during the scan.
#[derive(PartialEq, Eq)]
enum HeadSeen {
    No,
    Matched,
    Mismatched,
}

/// The checks of the chain, fed one entry (or unreadable line) at a time in
/// the order of the log, whatever holds it: the file ([`verify`]) or the
/// database ([`crate::AuditSource::verify`]).
pub(crate) struct ChainCheck {
    report: VerifyReport,
    expected_seq: u64,
    expected_prev: String,
    /// After an unreadable line the next entry cannot be linked.
    resync: bool,
    head_seen: HeadSeen,
    /// The head could not be read (already reported).
    head_damaged: bool,
    /// The file being read, to name it in problems: its file name, and
    /// whether it is a rotated segment (problems in the live file, or in
    /// the database, are not wrapped in [`Problem::InSegment`]).
    file: Option<(String, bool)>,
    /// The next entry is the first of a file that follows another: a
    /// broken link there is a [`Problem::SegmentGap`].
    at_boundary: bool,
}

impl ChainCheck {
    /// A check of a chain whose head is `head`: `None` if none is recorded
    /// (yet), `Some(Err(why))` if it is damaged.
    pub(crate) fn new(head: Option<Result<Head, String>>) -> ChainCheck {
        let mut report = VerifyReport::default();
        let head_damaged = matches!(head, Some(Err(_)));
        match head {
            None => {}
            Some(Ok(head)) => report.head = Some(head),
            Some(Err(reason)) => report.record(Problem::DamagedHead { reason }),
        }
        ChainCheck {
            report,
            expected_seq: 1,
            expected_prev: ZERO_HASH.to_owned(),
            resync: false,
            head_seen: HeadSeen::No,
            head_damaged,
            file: None,
            at_boundary: false,
        }
    }

    /// The lines fed from now on are those of the file named `name`, a
    /// rotated segment if `segment` (else the live file), which follows
    /// the file fed before, if any.
    pub(crate) fn start_file(&mut self, name: String, segment: bool) {
        self.at_boundary = self.file.is_some();
        self.file = Some((name, segment));
    }

    /// `problem`, found in the file being read: wrapped to name it if it is
    /// a segment.
    fn located(&self, problem: Problem) -> Problem {
        match &self.file {
            Some((segment, true)) => Problem::InSegment {
                segment: segment.clone(),
                problem: Box::new(problem),
            },
            _ => problem,
        }
    }

    /// The segment being read ends with a partial line, number `line`.
    pub(crate) fn truncated_segment(&mut self, line: u64) {
        let segment = self.file.as_ref().map_or_else(String::new, |f| f.0.clone());
        self.report
            .record(Problem::TruncatedSegment { segment, line });
    }

    /// Records a problem the caller found (one the chain cannot show).
    pub(crate) fn record(&mut self, problem: Problem) {
        self.report.record(problem);
    }

    /// The log ends with a partial line (not a problem).
    pub(crate) fn incomplete_tail(&mut self) {
        self.report.incomplete_tail = true;
    }

    /// Line `line` is not an entry at all: reports it, and picks the chain up
    /// again from the next entry.
    pub(crate) fn malformed(&mut self, line: u64, reason: String) {
        let problem = self.located(Problem::Malformed { line, reason });
        self.report.record(problem);
        self.resync = true;
        self.at_boundary = false;
    }

    /// Line `line` holds the entry `checked`: checks its hash, its form, its
    /// link to the entry before it and whether it is the head's entry.
    pub(crate) fn entry(&mut self, line: u64, checked: CheckedLine) {
        let entry = checked.entry;
        let seq = entry.seq;
        let mut problems = Vec::new();
        self.report.entries += 1;
        if !checked.hash_matches {
            problems.push(Problem::Altered { line, seq });
        } else if !checked.canonical {
            problems.push(Problem::NotCanonical { line, seq });
        }
        let expected_seq = self.expected_seq;
        if !self.resync {
            if seq < expected_seq {
                problems.push(Problem::OutOfOrder {
                    line,
                    seq,
                    expected_seq,
                });
            } else if seq > expected_seq || entry.prev != self.expected_prev {
                if self.at_boundary {
                    problems.push(Problem::SegmentGap {
                        segment: self.file.as_ref().map_or_else(String::new, |f| f.0.clone()),
                        line,
                        seq,
                        expected_seq,
                    });
                } else {
                    problems.push(Problem::Removed {
                        line,
                        seq,
                        expected_seq,
                    });
                }
            }
        }
        if let Some(head) = &self.report.head
            && head.seq == seq
            && self.head_seen != HeadSeen::Matched
        {
            if head.hash == entry.hash {
                self.head_seen = HeadSeen::Matched;
            } else if self.head_seen == HeadSeen::No {
                self.head_seen = HeadSeen::Mismatched;
                problems.push(Problem::HeadMismatch { line, seq });
            }
        }
        // In the order a reader of the line would name them: its own
        // contents, its link, the head.
        for problem in problems {
            let problem = match problem {
                Problem::SegmentGap { .. } => problem,
                _ => self.located(problem),
            };
            self.report.record(problem);
        }
        self.resync = false;
        self.at_boundary = false;
        self.expected_seq = seq.saturating_add(1);
        self.expected_prev = entry.hash;
        self.report.last_seq = self.report.last_seq.max(seq);
    }

    /// The report, once every line has been fed: adds the head's entry if
    /// it was not found. With `head_is_last` (the database, whose head moves
    /// with every append), entries past a readable head are a problem too;
    /// a head file may lag behind the log.
    pub(crate) fn finish(mut self, head_is_last: bool) -> VerifyReport {
        let head_seq = self.report.head.as_ref().map(|head| head.seq);
        if let Some(head_seq) = head_seq
            && self.head_seen == HeadSeen::No
        {
            let problem = Problem::Truncated {
                head_seq,
                last_seq: self.report.last_seq,
            };
            self.report.record(problem);
        }
        let head_seq = head_seq.unwrap_or(0);
        if head_is_last && !self.head_damaged && self.report.last_seq > head_seq {
            let problem = Problem::PastHead {
                head_seq,
                last_seq: self.report.last_seq,
            };
            self.report.record(problem);
        }
        self.report
    }
}

/// Verifies the log at `path` and its head file.
///
/// Reads the log once, line by line, in bounded memory (one line of at most
/// [`crate::MAX_LINE_BYTES`]); safe to run while the gateway appends. For
/// each line: is it an entry, does its hash match its contents, is its text
/// canonical, is its seq one more than the entry before it and its `prev`
/// that entry's hash; and finally, does the log still hold the entry the head
/// file records. After a problem the chain is picked up again from the next
/// readable entry, so that later damage is counted too.
///
/// A rotated log is read as one: its segments oldest first, then the live
/// file (see [`crate::segments()`]), the chain running on from each file
/// into the next. Problems in a segment name it ([`Problem::InSegment`]);
/// a break between two files is a [`Problem::SegmentGap`] (a segment
/// removed, or cut short at a line's end), and a segment cut in the middle
/// of a line a [`Problem::TruncatedSegment`]. The trail index is not read:
/// it vouches for nothing.
///
/// What this cannot detect: someone able to write the log and its head file
/// can rewrite the end of the chain with recomputed hashes, because the
/// chain has no secret. The defence is [`crate::export`]ing the log to a
/// SIEM regularly: entries exported cannot then be changed unnoticed.
///
/// For a log in PostgreSQL, see [`crate::AuditSource::verify`].
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    // The head first: it is only written after the log is fsynced, so a log
    // read after it holds at least the entry it records.
    let mut check = ChainCheck::new(read_head(&head_path(path))?);
    for part in segments::snapshot(path)? {
        check.start_file(part.name(), !part.live);
        let mut lines = part.lines()?;
        while let Some((line_no, line)) = lines.next_line().map_err(AuditError::io(&part.path))? {
            let (bytes, terminated) = match line {
                Line::Complete(bytes) => (bytes, true),
                Line::Unterminated(bytes) => (bytes, false),
                Line::TooLong { terminated: false } if part.live => {
                    check.incomplete_tail();
                    continue;
                }
                Line::TooLong { terminated: false } => {
                    check.truncated_segment(line_no);
                    continue;
                }
                Line::TooLong { terminated: true } => {
                    let reason = format!("it is longer than {} bytes", crate::MAX_LINE_BYTES);
                    check.malformed(line_no, reason);
                    continue;
                }
            };
            // A partial last line is being written in the live file (or
            // was torn by a crash, and is cut off at the next open); a
            // segment is whole when it is renamed.
            if !terminated && !part.live {
                check.truncated_segment(line_no);
            }
            match check_line(bytes) {
                Ok(checked) => check.entry(line_no, checked),
                Err(_) if !terminated => {
                    if part.live {
                        check.incomplete_tail();
                    }
                }
                Err(reason) => check.malformed(line_no, reason),
            }
        }
    }
    Ok(check.finish(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{read_lines, temp_log, write_lines, write_log};
    use std::fs;

    #[test]
    fn good_log_verifies() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 10);
        log.sync().unwrap();
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 10);
        assert_eq!(report.last_seq, 10);
        assert_eq!(report.problems, 0);
        assert_eq!(report.head.as_ref().map(|h| h.seq), Some(10));
        assert!(!report.incomplete_tail);
    }

    #[test]
    fn empty_log_verifies_and_missing_log_is_an_error() {
        let (_dir, path) = temp_log();
        assert!(matches!(verify(&path), Err(AuditError::Io { .. })));
        drop(write_log(&path, 0));
        let report = verify(&path).unwrap();
        assert!(report.is_ok());
        assert_eq!(report.entries, 0);
    }

    #[test]
    fn altered_middle_entry_is_named() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 10));
        let mut lines = read_lines(&path);
        assert!(lines[5].contains("\"actor\":\"officer:user6\""));
        lines[5] = lines[5].replace("officer:user6", "officer:someone");
        write_lines(&path, &lines);
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(problem, Problem::Altered { line: 6, seq: 6 });
        assert_eq!(
            problem.to_string(),
            "entry 6 (line 6) was altered: its hash does not match its contents"
        );
        // Only that entry: the next one still links to its recorded hash.
        assert_eq!(report.problems, 1);
        assert_eq!(report.entries, 10);
    }

    #[test]
    fn altered_entry_with_recomputed_hash_breaks_the_next_link() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 4));
        let mut lines = read_lines(&path);
        // Replace entry 2 by a self-consistent entry with other contents.
        let other = tempfile::tempdir().unwrap();
        let other_path = other.path().join("other.jsonl");
        let forged = crate::AuditLog::open(&other_path).unwrap();
        forged.append_at(crate::test_util::event(1), 1001).unwrap();
        forged
            .append_at(
                crate::Event::new("officer:mallory", crate::Action::Release, "Q2"),
                1002,
            )
            .unwrap();
        lines[1] = read_lines(&other_path)[1].clone();
        write_lines(&path, &lines);
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(Problem::Removed {
                line: 3,
                seq: 3,
                expected_seq: 3
            })
        );
        assert!(
            report
                .first_problem
                .unwrap()
                .to_string()
                .contains("an entry before it was removed or replaced")
        );
    }

    #[test]
    fn deleted_middle_line_is_reported_at_the_next_entry() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 10));
        let mut lines = read_lines(&path);
        lines.remove(4); // entry 5
        write_lines(&path, &lines);
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(
            problem,
            Problem::Removed {
                line: 5,
                seq: 6,
                expected_seq: 5
            }
        );
        assert_eq!(
            problem.to_string(),
            "entry 5, before entry 6 (line 5), was removed"
        );
        assert_eq!(report.problems, 1);

        lines.remove(4); // entry 6 too
        lines.remove(4); // and 7
        write_lines(&path, &lines);
        let problem = verify(&path).unwrap().first_problem.unwrap();
        assert_eq!(
            problem.to_string(),
            "entries 5 to 7, before entry 8 (line 5), were removed"
        );
    }

    #[test]
    fn deleted_last_lines_are_reported_through_the_head() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 10);
        log.sync().unwrap();
        drop(log);
        let lines = read_lines(&path);
        write_lines(&path, &lines[..8]);
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(
            problem,
            Problem::Truncated {
                head_seq: 10,
                last_seq: 8
            }
        );
        assert_eq!(
            problem.to_string(),
            "the log ends at entry 8 but its head records entry 10: entries were removed from its end"
        );

        // All of it.
        write_lines(&path, &[]);
        assert_eq!(
            verify(&path).unwrap().first_problem,
            Some(Problem::Truncated {
                head_seq: 10,
                last_seq: 0
            })
        );
    }

    #[test]
    fn rewritten_end_is_reported_through_the_head() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 3);
        log.sync().unwrap();
        drop(log);
        // Cut entry 3 off (and the head, which the writer would refuse to
        // overwrite with a lower entry), write another entry 3.
        let head = fs::read(crate::head_path(&path)).unwrap();
        let lines = read_lines(&path);
        write_lines(&path, &lines[..2]);
        fs::remove_file(crate::head_path(&path)).unwrap();
        let log = crate::AuditLog::open(&path).unwrap();
        log.append_at(crate::test_util::event(30), 5000).unwrap();
        drop(log);
        fs::write(crate::head_path(&path), head).unwrap();
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(Problem::HeadMismatch { line: 3, seq: 3 })
        );
        assert_eq!(report.problems, 1);
    }

    #[test]
    fn malformed_and_non_canonical_lines_are_named() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 5));
        let mut lines = read_lines(&path);
        lines[1] = lines[1].replacen("{\"action\"", "{ \"action\"", 1);
        lines[3] = "not json".into();
        write_lines(&path, &lines);
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(Problem::NotCanonical { line: 2, seq: 2 })
        );
        // The malformed line 4 hides entry 4; entry 5 is picked up again.
        assert_eq!(report.problems, 2);
        assert_eq!(report.entries, 4);

        lines[1] = read_lines(&path)[0]
            .clone()
            .replace("\"seq\":1", "\"seq\":\"x\"");
        write_lines(&path, &lines);
        let problem = verify(&path).unwrap().first_problem.unwrap();
        assert!(
            matches!(problem, Problem::Malformed { line: 2, .. }),
            "{problem:?}"
        );
        assert!(
            problem
                .to_string()
                .starts_with("line 2 is not a valid audit entry: ")
        );
    }

    #[test]
    fn duplicated_line_is_out_of_order() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 4));
        let mut lines = read_lines(&path);
        lines.insert(2, lines[1].clone());
        write_lines(&path, &lines);
        assert_eq!(
            verify(&path).unwrap().first_problem,
            Some(Problem::OutOfOrder {
                line: 3,
                seq: 2,
                expected_seq: 3
            })
        );
    }

    #[test]
    fn damaged_head_is_reported() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 2));
        fs::write(crate::head_path(&path), "rubbish").unwrap();
        let report = verify(&path).unwrap();
        assert!(matches!(
            report.first_problem,
            Some(Problem::DamagedHead { .. })
        ));
        assert_eq!(report.entries, 2);
    }

    #[test]
    fn over_long_line_is_malformed_without_stopping() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 3));
        let mut lines = read_lines(&path);
        lines.insert(1, "x".repeat(crate::MAX_LINE_BYTES + 10));
        write_lines(&path, &lines);
        let report = verify(&path).unwrap();
        assert!(matches!(
            report.first_problem,
            Some(Problem::Malformed { line: 2, .. })
        ));
        assert_eq!(report.entries, 3);
        assert_eq!(report.problems, 1);
    }

    #[test]
    fn random_damage_never_panics() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 6));
        let original = fs::read(&path).unwrap();
        // A cheap deterministic generator: flip, drop and insert bytes.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x % bytes.len() as u64) as usize;
                match x % 3 {
                    0 => bytes[at] ^= (x >> 8) as u8 | 1,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, (x >> 16) as u8),
                }
            }
            fs::write(&path, &bytes).unwrap();
            let report = verify(&path).unwrap();
            if bytes != original {
                assert!(
                    !report.is_ok() || report.incomplete_tail,
                    "undetected damage: {:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    /// A log of 20 entries in segments of 4 (1000 bytes) and a live file,
    /// synced; the paths of its segments.
    fn rotated_log() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        Vec<std::path::PathBuf>,
    ) {
        let (dir, path) = temp_log();
        let log = crate::test_util::write_rotated(&path, 20, 1000);
        log.sync().unwrap();
        drop(log);
        let segments = crate::segments(&path).unwrap();
        assert_eq!(
            segments.len(),
            4,
            "entries 1-4, 5-8, 9-12, 13-16; 17-20 live"
        );
        assert!(verify(&path).unwrap().is_ok());
        (dir, path, segments)
    }

    fn in_segment(segment: &str, problem: Problem) -> Problem {
        Problem::InSegment {
            segment: segment.to_owned(),
            problem: Box::new(problem),
        }
    }

    #[test]
    fn tampered_entry_in_an_old_segment_names_the_segment() {
        let (_dir, path, segments) = rotated_log();
        let mut lines = read_lines(&segments[1]);
        lines[2] = lines[2].replace("officer:user7", "officer:someone");
        write_lines(&segments[1], &lines);
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(
            problem,
            in_segment("audit.jsonl.000002", Problem::Altered { line: 3, seq: 7 })
        );
        assert_eq!(
            problem.to_string(),
            "in audit.jsonl.000002: entry 7 (line 3) was altered: its hash does not match its contents"
        );
        assert_eq!(report.problems, 1);
        assert_eq!(report.entries, 20);
    }

    #[test]
    fn a_removed_segment_is_a_gap_between_files() {
        let (_dir, path, segments) = rotated_log();
        fs::remove_file(&segments[1]).unwrap();
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(
            problem,
            Problem::SegmentGap {
                segment: "audit.jsonl.000003".into(),
                line: 1,
                seq: 9,
                expected_seq: 5
            }
        );
        assert_eq!(
            problem.to_string(),
            "entries 5 to 8, before entry 9, the first of audit.jsonl.000003 (line 1), are missing: a segment was removed or cut short"
        );
        assert_eq!(report.problems, 1);

        // The newest segment: the gap is before the live file.
        fs::remove_file(&segments[3]).unwrap();
        let report = verify(&path).unwrap();
        assert_eq!(report.problems, 2);
        assert!(
            matches!(
                report.first_problem,
                Some(Problem::SegmentGap { seq: 9, .. })
            ),
            "{report:?}"
        );
        // The oldest: entries missing from the start.
        fs::remove_file(&segments[0]).unwrap();
        let problem = verify(&path).unwrap().first_problem.unwrap();
        assert_eq!(
            problem,
            in_segment(
                "audit.jsonl.000003",
                Problem::Removed {
                    line: 1,
                    seq: 9,
                    expected_seq: 1
                }
            )
        );
    }

    #[test]
    fn a_segment_cut_short_is_reported() {
        let (_dir, path, segments) = rotated_log();
        // At the end of a line: the entries after it are missing.
        let lines = read_lines(&segments[2]);
        write_lines(&segments[2], &lines[..3]);
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(Problem::SegmentGap {
                segment: "audit.jsonl.000004".into(),
                line: 1,
                seq: 13,
                expected_seq: 12
            })
        );
        assert!(report.first_problem.unwrap().to_string().contains(
            "entry 12, before entry 13, the first of audit.jsonl.000004 (line 1), is missing"
        ));
        // In the middle of a line.
        let mut bytes = lines[..3].join("\n").into_bytes();
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(&lines[3].as_bytes()[..50]);
        fs::write(&segments[2], bytes).unwrap();
        let report = verify(&path).unwrap();
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(
            problem,
            Problem::TruncatedSegment {
                segment: "audit.jsonl.000003".into(),
                line: 4
            }
        );
        assert_eq!(
            problem.to_string(),
            "audit.jsonl.000003 ends in the middle of line 4: the segment was cut short"
        );
        assert_eq!(report.problems, 2, "and the gap it leaves: {report:?}");
        assert!(!report.incomplete_tail);
    }

    #[test]
    fn a_replaced_segment_breaks_the_link_into_the_next_file() {
        let (_dir, path, segments) = rotated_log();
        // Segment 4 written anew, self-consistent, from another chain.
        let other = tempfile::tempdir().unwrap();
        let other_path = other.path().join("audit.jsonl");
        let other_log = crate::AuditLog::open(&other_path).unwrap();
        for i in 1..=16 {
            other_log
                .append_at(crate::test_util::event(i), 5000 + i)
                .unwrap();
        }
        let forged = read_lines(&other_path)[12..16].to_vec();
        write_lines(&segments[3], &forged);
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(Problem::SegmentGap {
                segment: "audit.jsonl.000004".into(),
                line: 1,
                seq: 13,
                expected_seq: 13
            })
        );
        assert!(
            report
                .first_problem
                .as_ref()
                .unwrap()
                .to_string()
                .ends_with(
                    "does not follow the last entry before it: the file before it was replaced"
                )
        );
        // The live file's first entry does not follow the forged one.
        assert_eq!(report.problems, 2, "{report:?}");
    }
}
