//! [`AuditSource`]: where a chain is, to read it whichever backend holds it.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use cordon_postgres::Database;

use crate::entry::Entry;
use crate::error::AuditError;
use crate::read::ExportSummary;
use crate::verify::VerifyReport;

/// Where an audit chain is: a log file or a PostgreSQL database. The
/// readers of the chain (`cordon audit verify` and `export`, the console's
/// trail of one message) work on either without opening it for appending,
/// which for a file would create it and cut off a torn last line.
///
/// [`crate::AuditLog::source`] gives the source of a log open for
/// appending.
#[derive(Debug, Clone)]
pub enum AuditSource {
    /// The log file (`DATA/audit.jsonl`), with its rotated segments, the
    /// head file and the trail index beside it.
    File(PathBuf),
    /// The chain in this database's `cordon_audit_entries` and
    /// `cordon_audit_head` tables.
    Postgres(Database),
}

impl AuditSource {
    /// Verifies the whole chain: which entries were altered, removed,
    /// re-ordered or cut from the end. For a file, see [`crate::verify`].
    ///
    /// For PostgreSQL the same checks run over the rows in the order of
    /// `seq`, inside one read-only snapshot (so appends from the gateways
    /// go on and do not disturb it), fetching a bounded number of rows at
    /// a time: each row's line is checked as a line of the file is, the
    /// head row must name the last entry (a head past the chain's end is
    /// [`crate::Problem::Truncated`], entries past the head
    /// [`crate::Problem::PastHead`]), and the columns kept beside the line
    /// for queries must agree with it ([`crate::Problem::RowMismatch`]).
    /// `line` in a problem is the row's position in that order, from 1.
    ///
    /// Errors are for a log that cannot be read at all (no such file, the
    /// database unreachable); damage in it is in the report.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        match self {
            AuditSource::File(path) => crate::verify::verify(path),
            AuditSource::Postgres(database) => crate::database::verify(database),
        }
    }

    /// Writes the entries whose seq is greater than `after_seq` (all with
    /// `None`) to `out`, oldest first, one line each, exactly as the log
    /// has them: the same bytes whichever backend holds the chain, so a
    /// SIEM can verify them again. Lines (rows) that are not entries are
    /// skipped and counted. For a file, see [`crate::export`]; for
    /// PostgreSQL, `after_seq` is looked up in the `seq` column's index and
    /// the rows are read in bounded batches inside one snapshot.
    pub fn export(
        &self,
        after_seq: Option<u64>,
        out: impl Write,
    ) -> Result<ExportSummary, AuditError> {
        match self {
            AuditSource::File(path) => crate::read::export(path, after_seq, out),
            AuditSource::Postgres(database) => crate::database::export(database, after_seq, out),
        }
    }

    /// Every entry about `subject` (a queue or quarantine id, a user name),
    /// oldest first, as the log has them (not verified): the trail of one
    /// message. For a file, see [`crate::entries_for`] (read through the
    /// trail index beside the log, across its segments); for PostgreSQL,
    /// read from the index on `subject`.
    pub fn entries_for(&self, subject: &str) -> Result<Vec<Entry>, AuditError> {
        match self {
            AuditSource::File(path) => crate::read::entries_for(path, subject),
            AuditSource::Postgres(database) => crate::database::entries_for(database, subject),
        }
    }
}

/// The file's path, or the database's URL without its password: for
/// messages such as `cordon audit verify`'s.
impl fmt::Display for AuditSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditSource::File(path) => write!(f, "{}", path.display()),
            AuditSource::Postgres(database) => f.write_str(database.url()),
        }
    }
}
