//! The chain in PostgreSQL, shared by every gateway using the database.
//!
//! The tables are created by `crates/cordon-postgres/migrations/V2__audit.sql`:
//!
//! - `cordon_audit_entries (seq bigint PRIMARY KEY, at bigint, subject text,
//!   hash text, line text)`: one row per entry. `line` is the entry's
//!   canonical form, exactly the line the file log would hold (without its
//!   newline), built by the same code; it is what is hashed, verified and
//!   exported. `seq`, `at`, `subject` and `hash` repeat parts of it for
//!   queries (one message's trail from the index on `(subject, seq)`, an
//!   export from a seq); verify reports a row whose columns disagree with
//!   its line. The `subject` column holds [`subject_key`] of the subject
//!   (NULs, which PostgreSQL text cannot hold, replaced, and cut to fit an
//!   index entry); readers match the subject of the line exactly.
//! - `cordon_audit_head (id boolean PRIMARY KEY, seq bigint, hash text)`:
//!   one row, the seq and hash of the chain's last entry (0 and
//!   [`ZERO_HASH`] for none).
//!
//! An append is one transaction: lock the head row (`SELECT ... FOR
//! UPDATE`: an append from another node waits here until the one before it
//! commits, and then sees its head), number the entry after it, insert the
//! entry and move the head. So appends from every node are serialised on
//! the head and the chain is one gap-free sequence, and a head that names
//! an entry the table lacks shows entries cut from the end.

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use cordon_postgres::{Database, Row, Transaction};

use crate::entry::{Entry, Event, MAX_LINE_BYTES, ZERO_HASH, check_line, is_hash, parse_line};
use crate::error::AuditError;
use crate::head::Head;
use crate::log::OpenReport;
use crate::read::ExportSummary;
use crate::verify::{ChainCheck, Problem, VerifyReport};

/// Rows fetched at a time by the readers of the whole chain, so that
/// memory stays bounded (a row is at most [`MAX_LINE_BYTES`]).
const BATCH_ROWS: i32 = 256;

/// The longest `subject` column, in bytes: well inside the limit of a
/// b-tree index entry (about 2.7 kB).
const MAX_SUBJECT_KEY_BYTES: usize = 1000;

/// The audit log in PostgreSQL (see [`crate::AuditLog::open_postgres`]).
#[derive(Debug)]
pub(crate) struct PostgresLog {
    database: Database,
    /// The highest seq this log appended or found at open.
    last_seq: AtomicU64,
    opened: OpenReport,
}

impl PostgresLog {
    /// Reads the end of the chain under the head's lock and reports what
    /// is wrong with it (see [`crate::AuditLog::open_postgres`]).
    pub(crate) fn open(database: Database) -> Result<PostgresLog, AuditError> {
        let mut client = database
            .connection()
            .map_err(AuditError::database(&database))?;
        let mut tx = client
            .transaction()
            .map_err(AuditError::database(&database))?;
        let end = lock_end(&mut tx).map_err(AuditError::database(&database))?;
        tx.commit().map_err(AuditError::database(&database))?;
        let mut opened = OpenReport {
            created: !end.head_put_back
                && end.head.as_ref().is_ok_and(|h| h.seq == 0)
                && end.last.is_none(),
            ..OpenReport::default()
        };
        let last_seq = end.last.as_ref().map_or(0, |last| last.seq);
        match &end.head {
            _ if end.head_put_back => {
                opened.head_problem = Some(
                    "the head row was missing (put back; entries cut from the end cannot be told)"
                        .to_owned(),
                );
            }
            Err(why) => opened.head_problem = Some(format!("the head row is damaged: {why}")),
            Ok(head) if head.seq > last_seq => {
                opened.missing_at_end = Some((last_seq + 1, head.seq));
            }
            Ok(head) if head.seq < last_seq => {
                opened.head_problem = Some(format!(
                    "the head row records entry {} but the chain goes on to entry {last_seq}",
                    head.seq
                ));
            }
            Ok(head) if end.last.as_ref().is_some_and(|last| last.hash != head.hash) => {
                opened.head_problem = Some(format!(
                    "the head row records another entry {} than the chain has",
                    head.seq
                ));
            }
            Ok(_) => {}
        }
        let (seq, _) = end.next_after();
        Ok(PostgresLog {
            database,
            last_seq: AtomicU64::new(seq),
            opened,
        })
    }

    /// The database.
    pub(crate) fn database(&self) -> &Database {
        &self.database
    }

    /// What [`PostgresLog::open`] found.
    pub(crate) fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    /// The highest seq this log appended or found at open.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    /// Appends `event` as at `at` in one transaction serialised on the head
    /// row (see the module documentation).
    pub(crate) fn append_at(&self, event: Event, at: u64) -> Result<Entry, AuditError> {
        let mut client = self
            .database
            .connection()
            .map_err(AuditError::database(&self.database))?;
        let mut tx = client
            .transaction()
            .map_err(AuditError::database(&self.database))?;
        let end = lock_end(&mut tx).map_err(AuditError::database(&self.database))?;
        let (last_seq, prev) = end.next_after();
        let seq = last_seq
            .checked_add(1)
            .filter(|&seq| i64::try_from(seq).is_ok())
            .ok_or(AuditError::SequenceExhausted)?;
        let (entry, line) = Entry::seal(event, seq, at, prev)?;
        // The canonical form is built from strings and ASCII: always UTF-8.
        let line = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line));
        let seq_column = i64::try_from(seq).unwrap_or(i64::MAX);
        tx.execute(
            "WITH entry AS (
                 INSERT INTO cordon_audit_entries (seq, at, subject, hash, line)
                 VALUES ($1, $2, $3, $4, $5)
             )
             UPDATE cordon_audit_head SET seq = $1, hash = $4 WHERE id",
            &[
                &seq_column,
                &at_key(entry.at),
                &subject_key(&entry.subject).as_ref(),
                &entry.hash,
                &line.as_ref(),
            ],
        )
        .map_err(AuditError::database(&self.database))?;
        tx.commit().map_err(AuditError::database(&self.database))?;
        self.last_seq.fetch_max(seq, Ordering::Relaxed);
        Ok(entry)
    }
}

/// The end of the chain as an append sees it, under the head row's lock.
struct ChainEnd {
    /// The head row (`seq` 0 for none), or why it is not a seq and a hash.
    head: Result<Head, String>,
    /// The seq and hash columns of the entry with the highest seq, if any.
    last: Option<Head>,
    /// The head row was missing and was put back at seq 0.
    head_put_back: bool,
}

impl ChainEnd {
    /// The seq and hash the next entry follows: normally the head, which
    /// every append moves to its entry. Past damage must not stop the
    /// gateway recording, and must stay visible: after entries cut from the
    /// end, the chain is numbered on after the head (a gap); past entries
    /// added beyond the head, or a damaged head, it goes on from the last
    /// entry; a hash that is not one is replaced by [`ZERO_HASH`] (a broken
    /// link), so that the new entry is still well-formed.
    fn next_after(&self) -> (u64, String) {
        let (seq, hash) = match (&self.head, &self.last) {
            (Ok(head), Some(last)) if last.seq >= head.seq => (last.seq, last.hash.as_str()),
            (Ok(head), _) => (head.seq, head.hash.as_str()),
            (Err(_), Some(last)) => (last.seq, last.hash.as_str()),
            (Err(_), None) => (0, ZERO_HASH),
        };
        let hash = if is_hash(hash) { hash } else { ZERO_HASH };
        (seq, hash.to_owned())
    }
}

/// Locks the head row until `tx` ends (putting it back, at seq 0, if it was
/// deleted) and reads it with the chain's last entry.
///
/// Under READ COMMITTED, if another append holds the lock this waits for
/// its commit and then reads the head row it wrote; the last entry read in
/// the same statement may then be the one before that append's (an older
/// snapshot), never a later one, and [`ChainEnd::next_after`] takes the
/// head then.
fn lock_end(tx: &mut Transaction<'_>) -> Result<ChainEnd, cordon_postgres::DatabaseError> {
    const QUERY: &str = "SELECT h.seq, h.hash, e.seq AS last_seq, e.hash AS last_hash
         FROM cordon_audit_head h
         LEFT JOIN LATERAL (
             SELECT seq, hash FROM cordon_audit_entries ORDER BY seq DESC LIMIT 1
         ) e ON true
         WHERE h.id
         FOR UPDATE OF h";
    let mut rows = tx.query(QUERY, &[])?;
    let head_put_back = rows.is_empty();
    if head_put_back {
        tx.execute(
            "INSERT INTO cordon_audit_head (id, seq, hash) VALUES (true, 0, $1)
             ON CONFLICT DO NOTHING",
            &[&ZERO_HASH],
        )?;
        rows = tx.query(QUERY, &[])?;
    }
    let Some(row) = rows.first() else {
        // Only if the table's constraints were changed to refuse the row.
        return Ok(ChainEnd {
            head: Err("the head row is missing".to_owned()),
            last: None,
            head_put_back: false,
        });
    };
    let head = read_head_columns(row.try_get("seq")?, row.try_get("hash")?);
    let last = match row.try_get::<_, Option<i64>>("last_seq")? {
        None => None,
        Some(seq) => Some(Head {
            // Seq is the primary key, positive by its CHECK.
            seq: u64::try_from(seq).unwrap_or(0),
            hash: row
                .try_get::<_, Option<String>>("last_hash")?
                .unwrap_or_default(),
        }),
    };
    Ok(ChainEnd {
        head,
        last,
        head_put_back,
    })
}

/// The head row's columns as a [`Head`] (seq 0 and [`ZERO_HASH`] for an
/// empty chain), or why they are not one.
fn read_head_columns(seq: Option<i64>, hash: Option<String>) -> Result<Head, String> {
    let (Some(seq), Some(hash)) = (seq, hash) else {
        return Err("its seq or hash is NULL".to_owned());
    };
    let seq = u64::try_from(seq).map_err(|_| format!("{seq} is not a sequence number"))?;
    if !is_hash(&hash) || (seq == 0 && hash != ZERO_HASH) {
        return Err(format!("{hash:?} is not the hash of entry {seq}"));
    }
    Ok(Head { seq, hash })
}

/// What the `subject` column holds for `subject`: PostgreSQL text cannot
/// hold NUL, so each is replaced by U+FFFD, and a subject longer than an
/// index entry may be is cut (at a character boundary). Readers look rows
/// up by this and then match the line's subject exactly.
pub(crate) fn subject_key(subject: &str) -> Cow<'_, str> {
    let mut key = if subject.contains('\0') {
        Cow::Owned(subject.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(subject)
    };
    if key.len() > MAX_SUBJECT_KEY_BYTES {
        let mut end = MAX_SUBJECT_KEY_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key = Cow::Owned(key[..end].to_owned());
    }
    key
}

/// What the `at` column holds for `at` (a time past what `bigint` holds
/// is recorded in full in the line only).
fn at_key(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

/// Starts a read-only transaction over one snapshot of the chain, so that
/// readers see the head and the entries as of one moment while appends go
/// on.
fn snapshot(
    client: &mut cordon_postgres::Client,
) -> Result<Transaction<'_>, cordon_postgres::DatabaseError> {
    let mut tx = client.transaction()?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    Ok(tx)
}

/// Verifies the chain in `database`: see [`crate::AuditSource::verify`].
pub(crate) fn verify(database: &Database) -> Result<VerifyReport, AuditError> {
    let mut client = database
        .connection()
        .map_err(AuditError::database(database))?;
    let mut tx = snapshot(&mut client).map_err(AuditError::database(database))?;
    let head_rows = tx
        .query("SELECT seq, hash FROM cordon_audit_head WHERE id", &[])
        .map_err(AuditError::database(database))?;
    let head = match head_rows.first() {
        None => Some(Err("the head row is missing".to_owned())),
        Some(row) => {
            let columns = row
                .try_get("seq")
                .and_then(|seq| Ok((seq, row.try_get("hash")?)));
            match columns {
                Err(e) => Some(Err(format!("the head row cannot be read ({e})"))),
                Ok((seq, hash)) => match read_head_columns(seq, hash) {
                    // The head of an empty chain records nothing.
                    Ok(head) if head.seq == 0 => None,
                    Ok(head) => Some(Ok(head)),
                    Err(why) => Some(Err(format!("the head row: {why}"))),
                },
            }
        }
    };
    let mut check = ChainCheck::new(head);
    let portal = tx
        .bind(
            "SELECT seq, at, subject, hash, line FROM cordon_audit_entries ORDER BY seq",
            &[],
        )
        .map_err(AuditError::database(database))?;
    let mut position = 0u64;
    loop {
        let rows = tx
            .query_portal(&portal, BATCH_ROWS)
            .map_err(AuditError::database(database))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            position += 1;
            check_row(&mut check, position, row);
        }
    }
    tx.commit().map_err(AuditError::database(database))?;
    Ok(check.finish(true))
}

/// Feeds the row at `position` (from 1, in the order of `seq`) to `check`:
/// its line as the file's line would be, then its columns against it.
fn check_row(check: &mut ChainCheck, position: u64, row: &Row) {
    let line = match read_line(row) {
        Ok(line) => line,
        Err(reason) => return check.malformed(position, reason),
    };
    let checked = match check_line(line.as_bytes()) {
        Ok(checked) => checked,
        Err(reason) => return check.malformed(position, reason),
    };
    let entry = &checked.entry;
    let seq = entry.seq;
    let mut mismatches = Vec::new();
    let seq_column = row.try_get::<_, Option<i64>>("seq").ok().flatten();
    if seq_column.and_then(|s| u64::try_from(s).ok()) != Some(seq) {
        mismatches.push("seq");
    }
    if row.try_get::<_, Option<i64>>("at").ok().flatten() != Some(at_key(entry.at)) {
        mismatches.push("at");
    }
    let subject = row.try_get::<_, Option<String>>("subject").ok().flatten();
    if subject.as_deref() != Some(subject_key(&entry.subject).as_ref()) {
        mismatches.push("subject");
    }
    let hash = row.try_get::<_, Option<String>>("hash").ok().flatten();
    if hash.as_deref() != Some(entry.hash.as_str()) {
        mismatches.push("hash");
    }
    check.entry(position, checked);
    for column in mismatches {
        check.record(Problem::RowMismatch {
            line: position,
            seq,
            column,
        });
    }
}

/// The row's `line`, or why it is not one the log may hold.
fn read_line(row: &Row) -> Result<String, String> {
    let line = row
        .try_get::<_, Option<String>>("line")
        .map_err(|e| format!("its line cannot be read ({e})"))?
        .ok_or_else(|| "its line is NULL".to_owned())?;
    if line.len() >= MAX_LINE_BYTES {
        return Err(format!("it is longer than {MAX_LINE_BYTES} bytes"));
    }
    Ok(line)
}

/// Exports the chain in `database`: see [`crate::AuditSource::export`].
pub(crate) fn export(
    database: &Database,
    after_seq: Option<u64>,
    mut out: impl Write,
) -> Result<ExportSummary, AuditError> {
    let mut summary = ExportSummary::default();
    let mut client = database
        .connection()
        .map_err(AuditError::database(database))?;
    let mut tx = snapshot(&mut client).map_err(AuditError::database(database))?;
    let after_column = after_seq.map_or(i64::MIN, |after| i64::try_from(after).unwrap_or(i64::MAX));
    let portal = tx
        .bind(
            "SELECT line FROM cordon_audit_entries WHERE seq > $1 ORDER BY seq",
            &[&after_column],
        )
        .map_err(AuditError::database(database))?;
    loop {
        let rows = tx
            .query_portal(&portal, BATCH_ROWS)
            .map_err(AuditError::database(database))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let line = read_line(row).ok();
            // As the file's export: what the log says, if it is an entry.
            match line
                .as_deref()
                .and_then(|l| Some((l, parse_line(l.as_bytes())?)))
            {
                Some((line, entry)) => {
                    if after_seq.is_none_or(|after| entry.seq > after) {
                        out.write_all(line.as_bytes())
                            .and_then(|()| out.write_all(b"\n"))
                            .map_err(AuditError::Output)?;
                        summary.exported += 1;
                    }
                }
                None => summary.skipped_lines += 1,
            }
        }
    }
    tx.commit().map_err(AuditError::database(database))?;
    out.flush().map_err(AuditError::Output)?;
    Ok(summary)
}

/// The entries about `subject` in `database`, oldest first, from the index:
/// see [`crate::AuditSource::entries_for`].
pub(crate) fn entries_for(database: &Database, subject: &str) -> Result<Vec<Entry>, AuditError> {
    let mut client = database
        .connection()
        .map_err(AuditError::database(database))?;
    let rows = client
        .query(
            "SELECT line FROM cordon_audit_entries WHERE subject = $1 ORDER BY seq",
            &[&subject_key(subject).as_ref()],
        )
        .map_err(AuditError::database(database))?;
    Ok(rows
        .iter()
        .filter_map(|row| parse_line(read_line(row).ok()?.as_bytes()))
        .filter(|entry| entry.subject == subject)
        .collect())
}

/// The last `limit` readable entries in `database`, oldest first.
pub(crate) fn recent(database: &Database, limit: usize) -> Result<Vec<Entry>, AuditError> {
    let mut entries = Vec::new();
    if limit == 0 {
        return Ok(entries);
    }
    let mut client = database
        .connection()
        .map_err(AuditError::database(database))?;
    let mut tx = snapshot(&mut client).map_err(AuditError::database(database))?;
    let portal = tx
        .bind(
            "SELECT line FROM cordon_audit_entries ORDER BY seq DESC",
            &[],
        )
        .map_err(AuditError::database(database))?;
    let batch = i32::try_from(limit).unwrap_or(i32::MAX).min(BATCH_ROWS);
    'fetch: loop {
        let rows = tx
            .query_portal(&portal, batch)
            .map_err(AuditError::database(database))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            entries.extend(read_line(row).ok().and_then(|l| parse_line(l.as_bytes())));
            if entries.len() == limit {
                break 'fetch;
            }
        }
    }
    tx.commit().map_err(AuditError::database(database))?;
    entries.reverse();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{event, temp_log, write_log};
    use crate::{Action, AuditLog, AuditSource};
    use cordon_postgres::testing::TestDatabase;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    /// A fresh database and a log on it.
    fn postgres_log() -> (TestDatabase, Database, AuditLog) {
        let test = TestDatabase::create();
        let database = test.connect();
        let log = AuditLog::open_postgres(database.clone()).unwrap();
        (test, database, log)
    }

    /// A log in a fresh database with `n` entries, as
    /// [`crate::test_util::write_log`] writes them to a file.
    fn postgres_log_with(n: u64) -> (TestDatabase, Database, AuditLog) {
        let (test, database, log) = postgres_log();
        for i in 1..=n {
            log.append_at(event(i), 1000 + i).unwrap();
        }
        (test, database, log)
    }

    /// Runs `sql` on `database` (the tampering of the tests).
    fn tamper(database: &Database, sql: &str) {
        database.connection().unwrap().batch_execute(sql).unwrap();
    }

    fn verified(database: &Database) -> VerifyReport {
        AuditSource::Postgres(database.clone()).verify().unwrap()
    }

    fn seqs(entries: Vec<Entry>) -> Vec<u64> {
        entries.into_iter().map(|e| e.seq).collect()
    }

    #[test]
    fn entries_and_export_are_byte_for_byte_those_of_the_file_log() {
        let (_dir, path) = temp_log();
        let file = write_log(&path, 6);
        let (_test, database, log) = postgres_log();
        assert!(log.open_report().created && log.open_report().is_clean());
        assert_eq!(log.last_seq(), 0);
        for i in 1..=6 {
            let entry = log.append_at(event(i), 1000 + i).unwrap();
            assert_eq!(
                entry,
                file.entries_for(&entry.subject).unwrap()[(i as usize - 1) / 3]
            );
        }
        assert_eq!(log.last_seq(), 6);
        let mut from_file = Vec::new();
        file.export(None, &mut from_file).unwrap();
        let mut from_database = Vec::new();
        let summary = log.export(None, &mut from_database).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                exported: 6,
                skipped_lines: 0
            }
        );
        assert_eq!(from_database, std::fs::read(&path).unwrap());
        assert_eq!(from_database, from_file);
        assert_eq!(log.recent(3).unwrap(), file.recent(3).unwrap());

        let report = log.verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.entries, report.last_seq), (6, 6));
        assert_eq!(report.head.map(|h| h.seq), Some(6));

        // The head row is the last entry.
        let row = database
            .connection()
            .unwrap()
            .query_one("SELECT seq, hash FROM cordon_audit_head", &[])
            .unwrap();
        let last = log.recent(1).unwrap().remove(0);
        assert_eq!(row.get::<_, i64>(0), 6);
        assert_eq!(row.get::<_, String>(1), last.hash);
    }

    #[test]
    fn export_after_a_seq_gives_only_newer_entries() {
        let (_test, database, log) = postgres_log_with(6);
        let mut out = Vec::new();
        assert_eq!(log.export(Some(4), &mut out).unwrap().exported, 2);
        let exported: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Entry>(l).unwrap().seq)
            .collect();
        assert_eq!(exported, vec![5, 6]);
        let source = AuditSource::Postgres(database);
        assert_eq!(source.export(Some(6), Vec::new()).unwrap().exported, 0);
        assert_eq!(
            source.export(Some(u64::MAX), Vec::new()).unwrap().exported,
            0
        );
        assert!(source.to_string().starts_with("postgres://"), "{source}");
    }

    #[test]
    fn appends_from_threads_and_two_nodes_form_one_gap_free_chain() {
        let test = TestDatabase::create();
        // Two pools on one database, as two gateways have.
        let nodes = [
            Arc::new(AuditLog::open_postgres(test.connect()).unwrap()),
            Arc::new(AuditLog::open_postgres(test.connect()).unwrap()),
        ];
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let log = Arc::clone(&nodes[(t % 2) as usize]);
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| {
                            let event = event(t * 1000 + i);
                            let entry = if i % 10 == 0 {
                                log.append_durable(event).unwrap()
                            } else {
                                log.append(event).unwrap()
                            };
                            log.sync().unwrap();
                            entry.seq
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            all.extend(thread.join().unwrap());
        }
        assert_eq!(all.len(), 400);
        let distinct: BTreeSet<u64> = all.into_iter().collect();
        assert_eq!(distinct, (1..=400).collect::<BTreeSet<u64>>());
        assert!(nodes.iter().all(|log| log.last_seq() <= 400));

        let report = nodes[0].verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.entries, report.last_seq), (400, 400));
        assert_eq!(report.head.map(|h| h.seq), Some(400));
        // A node opened later continues the one chain.
        let third = AuditLog::open_postgres(test.connect()).unwrap();
        assert!(third.open_report().is_clean() && !third.open_report().created);
        assert_eq!(third.last_seq(), 400);
        assert_eq!(third.append(event(9)).unwrap().seq, 401);
        assert!(nodes[1].verify().unwrap().is_ok());
    }

    #[test]
    fn entries_for_a_subject_come_back_in_order_from_either_node() {
        let test = TestDatabase::create();
        let first = AuditLog::open_postgres(test.connect()).unwrap();
        let second = AuditLog::open_postgres(test.connect()).unwrap();
        for i in 1..=7 {
            let log = if i % 2 == 0 { &first } else { &second };
            log.append_at(event(i), 1000 + i).unwrap(); // Q1 Q2 Q0 Q1 Q2 Q0 Q1
        }
        assert_eq!(seqs(first.entries_for("Q1").unwrap()), vec![1, 4, 7]);
        assert_eq!(seqs(second.entries_for("Q0").unwrap()), vec![3, 6]);
        assert!(first.entries_for("Q9").unwrap().is_empty());
        assert!(first.entries_for("Q").unwrap().is_empty());
        let trail = second.entries_for("Q2").unwrap();
        assert_eq!(seqs(trail.clone()), vec![2, 5]);
        assert_eq!(trail[0].actor, "officer:user2");
        assert_eq!(trail[0].known_action(), Some(Action::View));

        // Subjects PostgreSQL text cannot hold as they are, or too long for
        // an index entry, are kept in full in the line and still found.
        let odd = [
            "a\0b".to_owned(),
            "é".repeat(2000),
            format!("{}x", "é".repeat(2000)),
        ];
        for subject in &odd {
            first
                .append(Event::new("gateway", Action::LoginFailed, subject.clone()))
                .unwrap();
        }
        for subject in &odd {
            let found = second.entries_for(subject).unwrap();
            assert_eq!(found.len(), 1, "{:?}", &subject[..8]);
            assert_eq!(&found[0].subject, subject);
        }
        assert!(first.entries_for("a\u{fffd}b").unwrap().is_empty());
        let report = first.verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 10);
    }

    #[test]
    fn an_altered_line_is_found() {
        let (_test, database, _log) = postgres_log_with(10);
        tamper(
            &database,
            "UPDATE cordon_audit_entries
             SET line = replace(line, 'officer:user6', 'officer:someone') WHERE seq = 6",
        );
        let report = verified(&database);
        let problem = report.first_problem.clone().unwrap();
        assert_eq!(problem, Problem::Altered { line: 6, seq: 6 });
        assert_eq!(
            problem.to_string(),
            "entry 6 (line 6) was altered: its hash does not match its contents"
        );
        assert_eq!((report.problems, report.entries), (1, 10));
    }

    #[test]
    fn an_altered_column_is_found() {
        let (_test, database, log) = postgres_log_with(10);
        // Entry 4 (about Q1) hidden from Q1's trail.
        tamper(
            &database,
            "UPDATE cordon_audit_entries SET subject = 'Q9' WHERE seq = 4",
        );
        assert_eq!(seqs(log.entries_for("Q1").unwrap()), vec![1, 7, 10]);
        let report = verified(&database);
        assert_eq!(
            report.first_problem,
            Some(Problem::RowMismatch {
                line: 4,
                seq: 4,
                column: "subject"
            })
        );
        assert_eq!(report.problems, 1);

        tamper(
            &database,
            "UPDATE cordon_audit_entries SET subject = 'Q1' WHERE seq = 4;
             UPDATE cordon_audit_entries SET at = 1, hash = repeat('a', 64) WHERE seq = 2",
        );
        let report = verified(&database);
        assert_eq!(
            report.first_problem,
            Some(Problem::RowMismatch {
                line: 2,
                seq: 2,
                column: "at"
            })
        );
        assert_eq!(report.problems, 2, "{report:?}");
    }

    #[test]
    fn a_deleted_entry_is_a_gap() {
        let (_test, database, _log) = postgres_log_with(10);
        tamper(&database, "DELETE FROM cordon_audit_entries WHERE seq = 5");
        let report = verified(&database);
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
        assert_eq!((report.problems, report.entries), (1, 9));
    }

    #[test]
    fn a_replaced_entry_breaks_the_prev_link() {
        let (_test, database, log) = postgres_log_with(4);
        let first = log.recent(4).unwrap().remove(0);
        // A self-consistent entry 2 with other contents, hash recomputed.
        let (forged, line) = Entry::seal(
            Event::new("officer:mallory", Action::Release, "Q2"),
            2,
            1002,
            first.hash,
        )
        .unwrap();
        let line = String::from_utf8(line).unwrap();
        let mut connection = database.connection().unwrap();
        connection
            .execute(
                "UPDATE cordon_audit_entries SET line = $1, hash = $2 WHERE seq = 2",
                &[&line.trim_end(), &forged.hash],
            )
            .unwrap();
        let report = verified(&database);
        assert_eq!(
            report.first_problem,
            Some(Problem::Removed {
                line: 3,
                seq: 3,
                expected_seq: 3
            })
        );
        assert_eq!(report.problems, 1);
    }

    #[test]
    fn entries_cut_from_the_end_are_found_through_the_head() {
        let (test, database, _log) = postgres_log_with(10);
        tamper(&database, "DELETE FROM cordon_audit_entries WHERE seq > 8");
        let problem = verified(&database).first_problem.unwrap();
        assert_eq!(
            problem,
            Problem::Truncated {
                head_seq: 10,
                last_seq: 8
            }
        );

        // A gateway opening the chain now says so, and numbers on after the
        // missing entries, so the gap stays in the chain.
        let log = AuditLog::open_postgres(test.connect()).unwrap();
        assert_eq!(log.open_report().missing_at_end, Some((9, 10)));
        assert!(!log.open_report().is_clean());
        assert_eq!(log.append_at(event(11), 2000).unwrap().seq, 11);
        assert_eq!(
            verified(&database).first_problem,
            Some(Problem::Removed {
                line: 9,
                seq: 11,
                expected_seq: 9
            })
        );

        // All of it.
        tamper(&database, "DELETE FROM cordon_audit_entries");
        assert_eq!(
            verified(&database).first_problem,
            Some(Problem::Truncated {
                head_seq: 11,
                last_seq: 0
            })
        );
    }

    #[test]
    fn a_rewritten_end_is_a_head_mismatch() {
        let (_test, database, log) = postgres_log_with(3);
        let second = log.recent(2).unwrap().remove(0);
        let (forged, line) = Entry::seal(event(30), 3, 5000, second.hash).unwrap();
        let line = String::from_utf8(line).unwrap();
        let mut connection = database.connection().unwrap();
        connection
            .execute(
                "UPDATE cordon_audit_entries SET line = $1, hash = $2, at = 5000, subject = $3
                 WHERE seq = 3",
                &[&line.trim_end(), &forged.hash, &forged.subject],
            )
            .unwrap();
        let report = verified(&database);
        assert_eq!(
            report.first_problem,
            Some(Problem::HeadMismatch { line: 3, seq: 3 })
        );
        assert_eq!(report.problems, 1);
        let reopened = AuditLog::open_postgres(database.clone()).unwrap();
        let problem = reopened.open_report().head_problem.clone().unwrap();
        assert!(problem.contains("another entry 3"), "{problem}");
    }

    #[test]
    fn entries_past_the_head_are_found() {
        let (_test, database, log) = postgres_log_with(10);
        let eighth = log.recent(3).unwrap().remove(0);
        assert_eq!(eighth.seq, 8);
        let mut connection = database.connection().unwrap();
        connection
            .execute(
                "UPDATE cordon_audit_head SET seq = 8, hash = $1",
                &[&eighth.hash],
            )
            .unwrap();
        let problem = verified(&database).first_problem.unwrap();
        assert_eq!(
            problem,
            Problem::PastHead {
                head_seq: 8,
                last_seq: 10
            }
        );
        // Appends go on from the last entry, and put the head right.
        let reopened = AuditLog::open_postgres(database.clone()).unwrap();
        assert!(reopened.open_report().head_problem.is_some());
        assert_eq!(reopened.append(event(11)).unwrap().seq, 11);
        assert!(verified(&database).is_ok());
    }

    #[test]
    fn a_missing_or_damaged_head_row_is_reported_and_put_right_by_appends() {
        let (_test, database, log) = postgres_log_with(3);
        tamper(&database, "UPDATE cordon_audit_head SET hash = 'x'");
        assert!(matches!(
            verified(&database).first_problem,
            Some(Problem::DamagedHead { .. })
        ));
        tamper(&database, "DELETE FROM cordon_audit_head");
        let report = verified(&database);
        assert!(
            matches!(&report.first_problem, Some(Problem::DamagedHead { reason }) if reason.contains("missing")),
            "{report:?}"
        );
        assert_eq!(report.entries, 3);

        let reopened = AuditLog::open_postgres(database.clone()).unwrap();
        let problem = reopened.open_report().head_problem.clone().unwrap();
        assert!(problem.contains("missing"), "{problem}");
        assert_eq!(log.append(event(4)).unwrap().seq, 4);
        let report = verified(&database);
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.head.map(|h| h.seq), Some(4));
    }

    #[test]
    fn a_row_that_is_not_an_entry_is_malformed_not_a_panic() {
        let (_test, database, log) = postgres_log_with(5);
        tamper(
            &database,
            "UPDATE cordon_audit_entries SET line = 'not json' WHERE seq = 3;
             UPDATE cordon_audit_entries SET line = replace(line, '\"seq\":4', '\"seq\":\"x\"')
             WHERE seq = 4",
        );
        let report = verified(&database);
        assert!(
            matches!(
                report.first_problem,
                Some(Problem::Malformed { line: 3, .. })
            ),
            "{report:?}"
        );
        // Entry 5 is picked up again after the two unreadable rows.
        assert_eq!((report.entries, report.problems), (3, 2));
        let summary = log.export(None, Vec::new()).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                exported: 3,
                skipped_lines: 2
            }
        );
        assert_eq!(seqs(log.recent(2).unwrap()), vec![2, 5]);
        assert_eq!(seqs(log.entries_for("Q0").unwrap()), Vec::<u64>::new());
    }

    #[test]
    fn a_moved_seq_is_found() {
        let (_test, database, _log) = postgres_log_with(6);
        tamper(
            &database,
            "UPDATE cordon_audit_entries SET seq = 50 WHERE seq = 3",
        );
        let report = verified(&database);
        assert_eq!(
            report.first_problem,
            Some(Problem::Removed {
                line: 3,
                seq: 4,
                expected_seq: 3
            })
        );
        assert!(report.problems >= 3, "{report:?}");
    }

    #[test]
    fn sync_has_nothing_to_do_and_refused_events_use_no_seq() {
        let (_test, _database, log) = postgres_log_with(1);
        log.sync().unwrap();
        assert!(log.file().is_none());
        assert!(log.path().to_string_lossy().starts_with("postgres://"));
        let bad = Event::new("gateway", Action::Verdict, "Q").with_detail(serde_json::json!(3));
        assert!(matches!(log.append(bad), Err(AuditError::InvalidDetail(_))));
        assert_eq!(log.append_durable(event(2)).unwrap().seq, 2);
        assert!(log.verify().unwrap().is_ok());
    }
}
