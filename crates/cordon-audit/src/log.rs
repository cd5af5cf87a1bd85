//! The writer: [`AuditLog`] appends entries to the chain, in a file (here)
//! or in PostgreSQL (the `database` module).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use cordon_postgres::Database;

use crate::database::PostgresLog;
use crate::entry::{Entry, Event, ZERO_HASH, check_line, parse_line};
use crate::error::AuditError;
use crate::head::{Head, head_path, read_head, sync_dir, write_head};
use crate::lines::{BackLines, complete_end};
use crate::read::ExportSummary;
use crate::segments;
use crate::source::AuditSource;
use crate::trail_index::{self, Record};
use crate::verify::VerifyReport;

/// The size past which the live file of a log opened with
/// [`AuditLog::open`] is rotated: 64 MiB.
pub const DEFAULT_ROTATE_BYTES: u64 = 64 * 1024 * 1024;

/// How a file log is kept ([`AuditLog::open_with`]). Build it from
/// [`AuditOptions::default`] and change what is needed
/// (`AuditOptions { rotate_bytes, ..AuditOptions::default() }`), so that
/// options added later take their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// The live file is rotated (renamed to the next numbered segment, and
    /// a new one begun) before an entry would take it past this many
    /// bytes; every segment is at most this long unless a single entry is
    /// longer. Not 0; `u64::MAX` never rotates. Default
    /// [`DEFAULT_ROTATE_BYTES`].
    pub rotate_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            rotate_bytes: DEFAULT_ROTATE_BYTES,
        }
    }
}

/// The audit log, open for appending: a file (`DATA/audit.jsonl`, see
/// [`AuditLog::open`]) or the chain that several gateways share in
/// PostgreSQL ([`AuditLog::open_postgres`]). The entries, their hashes and
/// what [`AuditLog::export`] writes are byte for byte the same either way.
///
/// # Guarantees
///
/// For a file:
///
/// - [`AuditLog::append`] writes the entry's line to the file with one
///   `write` call before it returns (no buffering in this process): the
///   entry survives a crash of the process, but not necessarily a crash of
///   the machine or a power loss until the next [`AuditLog::sync`].
/// - [`AuditLog::append_durable`] also fsyncs before it returns: the entry
///   survives a power loss. Use it for officer decisions and sign-ins; call
///   [`AuditLog::sync`] periodically (say every second) and at shutdown for
///   the rest.
/// - Every fsync also replaces the head file (see [`crate::head_path`]), so
///   that [`crate::verify`] notices entries cut from the end.
///
/// For PostgreSQL, every append is one committed transaction that also
/// moves the chain's head: the entry is as durable as the database makes
/// its commits when [`AuditLog::append`] returns, and [`AuditLog::sync`]
/// has nothing to do.
///
/// Several writers may share a log. A file is shared by the processes of
/// one machine (the running gateway and an offline `cordon users`): every
/// append takes an exclusive lock (`flock`) on the lock file beside the log
/// (`DATA/audit.jsonl.lock`), opens the live file again if another writer
/// has rotated it, reads the chain's last entry again if another writer has
/// appended since, appends, and lets go. The database is shared by every gateway using it: every append
/// locks the head row (`SELECT ... FOR UPDATE`) until it commits. Either
/// way the chain never forks and stays one gap-free sequence. Readers
/// ([`AuditLog::verify`], [`AuditLog::export`], [`AuditLog::entries_for`],
/// and [`AuditSource`] without a log open) need no lock and may run while
/// writers append. Share the log between threads and tasks in an `Arc`:
/// every method takes `&self`. Every method blocks (on file I/O or on the
/// database): call them from `spawn_blocking`.
///
/// A file log is rotated by size ([`AuditOptions::rotate_bytes`]): the live
/// file becomes a numbered segment beside it and the chain continues in a
/// new one (see the crate documentation for the names, and for what a
/// crash during a rotation leaves). Segments are
/// kept: deleting old ones is for whoever archives them, and
/// [`crate::verify`] then reports the entries missing from the start. The
/// entries are also kept in the SIEM through [`AuditLog::export`].
///
/// An index beside the log (`DATA/audit.jsonl.index`, and one per segment)
/// says where each subject's entries are, so that
/// [`AuditLog::entries_for`] reads one message's trail without scanning
/// the log. It is a cache: kept up to date by the appends (without an
/// fsync of its own), mended at open, never trusted for what the entries
/// say.
#[derive(Debug)]
pub struct AuditLog {
    backend: Backend,
}

/// Where the chain is.
#[derive(Debug)]
enum Backend {
    File(FileLog),
    Postgres(PostgresLog),
}

impl AuditLog {
    /// Opens the log file at `path` for appending, creating it (mode 0600,
    /// and its directory, mode 0700) if missing.
    ///
    /// An existing log is not verified (it may be gigabytes): only its end
    /// is read, to continue the chain from its last entry. A torn last line
    /// is cut off (or completed, if it is a whole entry missing only its
    /// newline). A log damaged in the middle still opens and the chain goes
    /// on from its last readable entry, so that the gateway keeps recording;
    /// [`crate::verify`] reports the damage. What was found is in
    /// [`AuditLog::open_report`].
    ///
    /// The live file is rotated at [`DEFAULT_ROTATE_BYTES`]; see
    /// [`AuditLog::open_with`] to choose.
    pub fn open(path: impl Into<PathBuf>) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, AuditOptions::default())
    }

    /// [`AuditLog::open`] with `options`: how large the live file grows
    /// before it is rotated. Also mends the trail index (records past the
    /// end of the log cut off, missing ones added: see
    /// [`OpenReport::index_added`]) and finishes a rotation a crash cut
    /// short. Refuses options that make no sense
    /// ([`AuditError::InvalidOptions`]).
    pub fn open_with(
        path: impl Into<PathBuf>,
        options: AuditOptions,
    ) -> Result<AuditLog, AuditError> {
        let log = FileLog::open(path.into(), options)?;
        Ok(AuditLog {
            backend: Backend::File(log),
        })
    }

    /// Opens the chain kept in `database` (whose migrations, applied by
    /// [`cordon_postgres::Database::connect`], create its tables), to
    /// append to it alongside every other gateway using the database.
    ///
    /// Like [`AuditLog::open`], this reads only the end of the chain: it
    /// compares the head row with the last entry and says in
    /// [`AuditLog::open_report`] if entries were cut from the end or the
    /// head row is damaged (it is then put back from the last entry, so
    /// that appends go on); [`AuditLog::verify`] checks the whole chain.
    pub fn open_postgres(database: Database) -> Result<AuditLog, AuditError> {
        let log = PostgresLog::open(database)?;
        Ok(AuditLog {
            backend: Backend::Postgres(log),
        })
    }

    /// The log file (its live file: the rotated segments are beside it).
    /// For a log in PostgreSQL there is no file: this is then
    /// the database's URL without its password, which names it in messages
    /// (use [`AuditLog::file`] to tell, and [`AuditLog::verify`] rather than
    /// [`crate::verify`] to verify either).
    pub fn path(&self) -> &Path {
        match &self.backend {
            Backend::File(log) => log.path(),
            Backend::Postgres(log) => Path::new(log.database().url()),
        }
    }

    /// The log file, or `None` for a log in PostgreSQL.
    pub fn file(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File(log) => Some(log.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// Where the chain is, to read it without this log: [`AuditSource`]
    /// verifies, exports and finds entries in either backend.
    pub fn source(&self) -> AuditSource {
        match &self.backend {
            Backend::File(log) => AuditSource::File(log.path().to_owned()),
            Backend::Postgres(log) => AuditSource::Postgres(log.database().clone()),
        }
    }

    /// What [`AuditLog::open`] or [`AuditLog::open_postgres`] found and
    /// repaired.
    pub fn open_report(&self) -> &OpenReport {
        match &self.backend {
            Backend::File(log) => log.open_report(),
            Backend::Postgres(log) => log.open_report(),
        }
    }

    /// The seq of the last entry appended (0 if none): the next gets one
    /// more. For PostgreSQL, the last this log appended or found at open:
    /// other gateways may have appended since.
    pub fn last_seq(&self) -> u64 {
        match &self.backend {
            Backend::File(log) => log.last_seq(),
            Backend::Postgres(log) => log.last_seq(),
        }
    }

    /// Appends `event`, timed by the system clock, and returns its entry.
    /// For a file, the line is in the file (the kernel's cache) when this
    /// returns; for PostgreSQL, the entry is committed. See the type's
    /// documentation for durability.
    pub fn append(&self, event: Event) -> Result<Entry, AuditError> {
        self.append_at(event, now())
    }

    /// Appends `event` as at `at` (Unix seconds): [`AuditLog::append`] with
    /// the time given, for tests and imports.
    pub fn append_at(&self, event: Event, at: u64) -> Result<Entry, AuditError> {
        match &self.backend {
            Backend::File(log) => log.append_at(event, at),
            Backend::Postgres(log) => log.append_at(event, at),
        }
    }

    /// Appends `event` and makes it durable before returning: for a file,
    /// fsyncs the log and replaces the head file; for PostgreSQL, the
    /// commit of [`AuditLog::append`] is enough. The entry survives a power
    /// loss.
    pub fn append_durable(&self, event: Event) -> Result<Entry, AuditError> {
        let entry = self.append(event)?;
        self.sync()?;
        Ok(entry)
    }

    /// Makes every entry appended so far durable. For a file: fsyncs the
    /// log, then atomically replaces the head file with its last entry;
    /// does nothing if nothing was appended since the last sync, and
    /// appends may continue while it runs. For PostgreSQL: nothing to do,
    /// every append has committed.
    pub fn sync(&self) -> Result<(), AuditError> {
        match &self.backend {
            Backend::File(log) => log.sync(),
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// The last `limit` readable entries, oldest first (unreadable lines
    /// are skipped).
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>, AuditError> {
        match &self.backend {
            Backend::File(log) => log.recent(limit),
            Backend::Postgres(log) => crate::database::recent(log.database(), limit),
        }
    }

    /// Every entry about `subject`, oldest first: see
    /// [`AuditSource::entries_for`]. For a file, a segment whose index is
    /// missing or damaged is scanned and its index written again, and a
    /// live index found damaged is rebuilt at the next append.
    pub fn entries_for(&self, subject: &str) -> Result<Vec<Entry>, AuditError> {
        match &self.backend {
            Backend::File(log) => log.entries_for(subject),
            Backend::Postgres(log) => crate::database::entries_for(log.database(), subject),
        }
    }

    /// Verifies the whole chain: see [`AuditSource::verify`].
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        match &self.backend {
            Backend::File(log) => crate::verify::verify(log.path()),
            Backend::Postgres(log) => crate::database::verify(log.database()),
        }
    }

    /// Writes the entries after `after_seq` (all with `None`) to `out`, one
    /// line each: see [`AuditSource::export`].
    pub fn export(
        &self,
        after_seq: Option<u64>,
        out: impl Write,
    ) -> Result<ExportSummary, AuditError> {
        match &self.backend {
            Backend::File(log) => crate::read::export(log.path(), after_seq, out),
            Backend::Postgres(log) => crate::database::export(log.database(), after_seq, out),
        }
    }
}

/// The audit log in a file (see [`AuditLog`]).
#[derive(Debug)]
struct FileLog {
    path: PathBuf,
    head_path: PathBuf,
    index_path: PathBuf,
    lock_path: PathBuf,
    /// The file every writer of the log locks (`flock`) to append, rotate
    /// or replace the head file. Not the log itself: a rotation renames
    /// the live file, and a lock on it would not exclude a writer that
    /// opened the new one.
    lock_file: File,
    options: AuditOptions,
    /// The live file, its index and where the chain ends. A std mutex: it
    /// is held only for one append (a `write`, with an `flock` around it)
    /// or, at a rotation, an fsync and a rename, never across an await.
    state: Mutex<State>,
    /// Serialises [`AuditLog::sync`]; the seq the head file last recorded.
    head_written: Mutex<u64>,
    /// A reader found the live index disagreeing with the live file: the
    /// next append rebuilds it.
    rebuild_index: AtomicBool,
    opened: OpenReport,
}

#[derive(Debug)]
struct State {
    /// The live file (shared with [`FileLog::sync`], which fsyncs it
    /// without holding this state).
    file: Arc<File>,
    /// The length of the file as far as this writer knows.
    len: u64,
    /// The live file was opened again (another writer rotated it, or a
    /// rotation was cut short): find the chain's end afresh.
    reopened: bool,
    /// The seq of the last entry (0 for none); the next entry gets one more.
    last_seq: u64,
    /// The hash of the last entry ([`ZERO_HASH`] for none).
    last_hash: String,
    /// A failed write may have left part of a line that could not be cut
    /// off yet: cut it before the next append.
    needs_repair: bool,
    /// The live index (`<log>.index`), open for appending.
    index: File,
    /// The live index may not end where the live file does (it was opened
    /// again, or a write to it failed): mend it before the next record,
    /// and write none until then.
    index_stale: bool,
}

/// What [`AuditLog::open`] found and repaired. Worth logging, and worth an
/// alert when [`OpenReport::is_clean`] is false.
///
/// For a chain in PostgreSQL ([`AuditLog::open_postgres`]) there is no
/// tail to repair: `created` says the chain was empty, `missing_at_end` that
/// the head row names entries the table lacks, and `head_problem` that the
/// head row is damaged, missing or behind the last entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// The log did not exist and was created.
    pub created: bool,
    /// The live file was missing beside rotated segments and was created:
    /// a rotation was cut short between renaming the old live file and
    /// creating the new one. The chain goes on from the newest segment.
    pub resumed_rotation: bool,
    /// Bytes after the last newline (a line torn by a crash, never
    /// acknowledged as durable) that were cut off.
    pub discarded_tail_bytes: u64,
    /// The bytes after the last newline were a whole entry whose newline was
    /// lost; the newline was added instead of cutting the entry off.
    pub completed_tail: bool,
    /// Unreadable lines at the end of the log skipped to find the last
    /// entry (damage for [`crate::verify`] to report).
    pub skipped_lines: u64,
    /// The head file records entries the log no longer has: their seqs,
    /// first and last. New entries are numbered after them, so that the gap
    /// stays visible in the chain.
    pub missing_at_end: Option<(u64, u64)>,
    /// The head file is damaged or disagrees with the log's last entry.
    pub head_problem: Option<String>,
    /// Records of the live file's trail index cut off: past the end of the
    /// log (their entries torn off by a crash), torn, damaged, or left from
    /// the file before a rotation. The index is a cache: not damage.
    pub index_discarded: u64,
    /// Records added to the live file's trail index for entries it lacked
    /// (a crash between an entry and its record, or no index at all).
    pub index_added: u64,
}

impl OpenReport {
    /// True when the log needed no repair and showed no sign of damage at
    /// its end (a torn line cut off after a crash, a rotation finished or
    /// the index mended are normal, not damage).
    pub fn is_clean(&self) -> bool {
        self.skipped_lines == 0 && self.missing_at_end.is_none() && self.head_problem.is_none()
    }
}

impl FileLog {
    /// See [`AuditLog::open_with`].
    fn open(path: PathBuf, options: AuditOptions) -> Result<FileLog, AuditError> {
        if options.rotate_bytes == 0 {
            return Err(AuditError::InvalidOptions(
                "rotate_bytes must be more than 0",
            ));
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent.filter(|d| !d.is_dir()) {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(AuditError::io(dir))?;
            sync_dir(dir.parent())?;
        }
        let lock_path = suffixed(&path, ".lock");
        let (lock_file, _) = open_file(&lock_path)?;
        let lock = FileLock::take(&lock_file, &lock_path)?;
        let rotated = !segments::list(&path)?.is_empty();
        let (file, created) = open_file(&path)?;
        if created {
            sync_dir(parent)?;
        }
        let mut report = OpenReport {
            created: created && !rotated,
            resumed_rotation: created && rotated,
            ..OpenReport::default()
        };
        let len = repair_tail(&file, &path, &mut report)?;
        let (mut last_seq, last_hash) = chain_end(&path, &file, len, &mut report)?;
        match read_head(&head_path(&path))? {
            None => {}
            Some(Err(why)) => {
                report.head_problem = Some(format!("the head file is damaged: {why}"))
            }
            Some(Ok(head)) if head.seq > last_seq => {
                report.missing_at_end = Some((last_seq + 1, head.seq));
                last_seq = head.seq;
            }
            Some(Ok(head)) if head.seq == last_seq && head.hash != last_hash => {
                report.head_problem = Some(format!(
                    "the head file records another entry {} than the log has",
                    head.seq
                ));
            }
            Some(Ok(_)) => {}
        }
        let index_path = trail_index::index_path(&path);
        let index = trail_index::open_live(&index_path)?;
        let repair = trail_index::repair_live(&index, &index_path, &file, len, false)?;
        report.index_discarded = repair.discarded;
        report.index_added = repair.added;
        trail_index::remove_temporaries(&path);
        drop(lock);
        Ok(FileLog {
            head_path: head_path(&path),
            index_path,
            lock_path,
            path,
            lock_file,
            options,
            state: Mutex::new(State {
                file: Arc::new(file),
                len,
                reopened: false,
                last_seq,
                last_hash,
                needs_repair: false,
                index,
                index_stale: false,
            }),
            head_written: Mutex::new(last_seq),
            rebuild_index: AtomicBool::new(false),
            opened: report,
        })
    }

    /// The log file.
    fn path(&self) -> &Path {
        &self.path
    }

    /// What [`FileLog::open`] found and repaired.
    fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    /// The seq of the last entry appended (0 if none).
    fn last_seq(&self) -> u64 {
        self.lock_state().last_seq
    }

    /// See [`AuditLog::append_at`].
    fn append_at(&self, event: Event, at: u64) -> Result<Entry, AuditError> {
        let mut state = self.lock_state();
        let _lock = FileLock::take(&self.lock_file, &self.lock_path)?;
        self.refresh(&mut state)?;
        self.catch_up(&mut state)?;
        if state.needs_repair {
            let len = state.len;
            state
                .file
                .set_len(len)
                .map_err(AuditError::io(&self.path))?;
            state.needs_repair = false;
        }
        self.mend_index(&mut state);
        let seq = state
            .last_seq
            .checked_add(1)
            .ok_or(AuditError::SequenceExhausted)?;
        let (entry, line) = Entry::seal(event, seq, at, state.last_hash.clone())?;
        if state.len > 0 && state.len.saturating_add(line.len() as u64) > self.options.rotate_bytes
        {
            self.rotate(&mut state)?;
        }
        let offset = state.len;
        if let Err(e) = state.file.as_ref().write_all(&line) {
            // Cut off any part written, so the next line starts afresh.
            let len = state.len;
            state.needs_repair = state.file.set_len(len).is_err();
            return Err(AuditError::io(&self.path)(e));
        }
        state.len += line.len() as u64;
        state.last_seq = seq;
        state.last_hash.clone_from(&entry.hash);
        // The entry's record, after the entry: a crash between the two
        // leaves the index behind, which open mends and readers cope with.
        if !state.index_stale {
            let record = Record::of(&entry, offset).encode();
            state.index_stale = (&state.index).write_all(&record).is_err();
        }
        Ok(entry)
    }

    /// Under the file lock: if the live file or its index is no longer at
    /// its path (another writer rotated the log, or a rotation was cut
    /// short, or the index was removed), opens them again.
    fn refresh(&self, state: &mut State) -> Result<(), AuditError> {
        if !is_at(&state.file, &self.path)? {
            let (file, created) = open_file(&self.path)?;
            if created {
                sync_dir(self.path.parent())?;
            }
            state.file = Arc::new(file);
            state.reopened = true;
            state.needs_repair = false;
            state.index_stale = true;
        }
        if !is_at(&state.index, &self.index_path)? {
            state.index = trail_index::open_live(&self.index_path)?;
            state.index_stale = true;
        }
        Ok(())
    }

    /// Under the file lock: if another writer has appended since this one
    /// last did, or the live file was opened again, cuts off a line left
    /// torn (a writer crashed mid-write) and continues the chain from the
    /// log's last entry.
    fn catch_up(&self, state: &mut State) -> Result<(), AuditError> {
        let len = state
            .file
            .metadata()
            .map_err(AuditError::io(&self.path))?
            .len();
        if len == state.len && !state.reopened {
            return Ok(());
        }
        let mut report = OpenReport::default();
        let len = repair_tail(&state.file, &self.path, &mut report)?;
        let (seq, hash) = chain_end(&self.path, &state.file, len, &mut report)?;
        state.len = len;
        state.needs_repair = false;
        state.reopened = false;
        // A gap the head file showed at open stays numbered past.
        if seq >= state.last_seq {
            state.last_seq = seq;
            state.last_hash = hash;
        }
        Ok(())
    }

    /// Under the file lock: brings the live index up to the live file if it
    /// may not be (or rebuilds it, if a reader found it damaged). A failure
    /// leaves it stale (no records are written; readers scan what it does
    /// not cover) and is not an error: it is a cache.
    fn mend_index(&self, state: &mut State) {
        let rebuild = self.rebuild_index.swap(false, Ordering::Relaxed);
        if !state.index_stale && !rebuild {
            return;
        }
        let mended = trail_index::repair_live(
            &state.index,
            &self.index_path,
            &state.file,
            state.len,
            rebuild,
        );
        state.index_stale = mended.is_err();
    }

    /// Under the file lock, before an entry that would take the live file
    /// past [`AuditOptions::rotate_bytes`]: makes the live file the next
    /// segment (fsynced, renamed, the directory fsynced), writes the
    /// segment's index, and begins a new live file and index. The chain's
    /// end is unchanged: the next entry continues it in the new file.
    ///
    /// An error after the rename leaves `state` on the renamed file; the
    /// next append notices ([`FileLog::refresh`]) and carries on.
    fn rotate(&self, state: &mut State) -> Result<(), AuditError> {
        // The live index is the source of the segment's: make sure it
        // covers the whole file (another writer may have crashed between
        // an entry and its record).
        if !state.index_stale {
            state.index_stale = trail_index::repair_live(
                &state.index,
                &self.index_path,
                &state.file,
                state.len,
                false,
            )
            .is_err();
        }
        let segment = segments::seal_live(&state.file, &self.path)?;
        let live_index = (!state.index_stale).then_some(&state.index);
        trail_index::seal(live_index, &state.file, state.len, &segment);
        state.index_stale = state.index.set_len(0).is_err();
        let (file, _) = open_file(&self.path)?;
        sync_dir(self.path.parent())?;
        state.file = Arc::new(file);
        state.len = 0;
        state.needs_repair = false;
        Ok(())
    }

    /// See [`AuditLog::sync`].
    fn sync(&self) -> Result<(), AuditError> {
        let mut head_written = self
            .head_written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (file, head) = {
            let state = self.lock_state();
            let head = Head {
                seq: state.last_seq,
                hash: state.last_hash.clone(),
            };
            (Arc::clone(&state.file), head)
        };
        if head.seq <= *head_written {
            return Ok(());
        }
        // Entries in segments rotated since were fsynced by the rotation.
        file.sync_data().map_err(AuditError::io(&self.path))?;
        // Another writer may have recorded a later entry as the head.
        let _lock = FileLock::take(&self.lock_file, &self.lock_path)?;
        let newer =
            matches!(read_head(&self.head_path)?, Some(Ok(on_disk)) if on_disk.seq >= head.seq);
        if !newer {
            write_head(&self.head_path, &head)?;
        }
        *head_written = head.seq;
        Ok(())
    }

    /// The last `limit` readable entries, oldest first (reading the log
    /// backwards from its end, into older segments as far as needed;
    /// unreadable lines are skipped).
    fn recent(&self, limit: usize) -> Result<Vec<Entry>, AuditError> {
        let mut entries = Vec::new();
        if limit == 0 {
            return Ok(entries);
        }
        for part in segments::snapshot(&self.path)?.iter().rev() {
            let io_err = || AuditError::io(&part.path);
            let end = complete_end(&part.file, part.len()?).map_err(io_err())?;
            let mut back = BackLines::new(&part.file, end);
            while entries.len() < limit {
                match back.prev_line().map_err(io_err())? {
                    None => break,
                    Some(line) => entries.extend(line.as_deref().and_then(parse_line)),
                }
            }
            if entries.len() >= limit {
                break;
            }
        }
        entries.reverse();
        Ok(entries)
    }

    /// See [`AuditLog::entries_for`].
    fn entries_for(&self, subject: &str) -> Result<Vec<Entry>, AuditError> {
        let parts = segments::snapshot(&self.path)?;
        let (entries, live_damaged) = trail_index::trail(&parts, subject, true)?;
        if live_damaged {
            self.rebuild_index.store(true, Ordering::Relaxed);
        }
        Ok(entries)
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock, and the state is updated
        // only after a successful write, so a poisoned lock is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An exclusive lock on the log's lock file (`flock`), held while one
/// writer appends; let go when dropped.
struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    /// Waits for the lock on `file`.
    fn take(file: &'a File, path: &Path) -> Result<FileLock<'a>, AuditError> {
        file.lock().map_err(AuditError::io(path))?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // Closing the file lets go too; an error here leaves nothing to do.
        let _ = self.0.unlock();
    }
}

/// `path` with `suffix` added to its file name (`audit.jsonl` →
/// `audit.jsonl.lock`).
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether `file` is (still) the file at `path`: false if `path` is missing
/// or is another file (renamed or replaced since `file` was opened).
fn is_at(file: &File, path: &Path) -> Result<bool, AuditError> {
    let at_path = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(AuditError::io(path)(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata().map_err(AuditError::io(path))?;
        Ok(open.dev() == at_path.dev() && open.ino() == at_path.ino())
    }
    #[cfg(not(unix))]
    {
        // Elsewhere an open file cannot be renamed: it is still there.
        let _ = (file, at_path);
        Ok(true)
    }
}

/// Opens (creating, owner-only) the file at `path` for reading and
/// appending; says whether it was created.
fn open_file(path: &Path) -> Result<(File, bool), AuditError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.clone().create_new(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => options
            .open(path)
            .map(|file| (file, false))
            .map_err(AuditError::io(path)),
        Err(e) => Err(AuditError::io(path)(e)),
    }
}

/// Cuts off (or completes) the bytes after the last newline; returns the
/// resulting length of the file.
fn repair_tail(file: &File, path: &Path, report: &mut OpenReport) -> Result<u64, AuditError> {
    let io_err = AuditError::io(path);
    let result = (|| -> io::Result<u64> {
        let len = file.metadata()?.len();
        let end = complete_end(file, len)?;
        if end == len {
            return Ok(len);
        }
        let mut back = BackLines::new(file, len + 1);
        // `BackLines` reads the line "ending" at len + 1, i.e. the tail;
        // it is `None` inside if longer than a line may be.
        let whole_entry = match back.prev_line()? {
            Some(Some(tail)) => check_line(&tail).is_ok(),
            _ => false,
        };
        let mut writer = file;
        if whole_entry {
            writer.write_all(b"\n")?;
            report.completed_tail = true;
            file.sync_data()?;
            return Ok(len + 1);
        }
        file.set_len(end)?;
        file.sync_data()?;
        report.discarded_tail_bytes = len - end;
        Ok(end)
    })();
    result.map_err(io_err)
}

/// The seq and hash of the chain's last readable entry: in the live file
/// `live` (at `log`) before `end`, or, if it has none (just rotated), in
/// the newest segment that has one; `(0, ZERO_HASH)` if there is none.
/// Counts the unreadable lines after it.
fn chain_end(
    log: &Path,
    live: &File,
    end: u64,
    report: &mut OpenReport,
) -> Result<(u64, String), AuditError> {
    if let Some(last) = last_entry(live, log, end, report)? {
        return Ok(last);
    }
    for segment in segments::list(log)?.iter().rev() {
        let io_err = || AuditError::io(&segment.path);
        let file = File::open(&segment.path).map_err(io_err())?;
        let len = file.metadata().map_err(io_err())?.len();
        let end = complete_end(&file, len).map_err(io_err())?;
        if let Some(last) = last_entry(&file, &segment.path, end, report)? {
            return Ok(last);
        }
    }
    Ok((0, ZERO_HASH.to_owned()))
}

/// The seq and hash of the last readable entry of `file` before `end`;
/// counts the unreadable lines after it.
fn last_entry(
    file: &File,
    path: &Path,
    end: u64,
    report: &mut OpenReport,
) -> Result<Option<(u64, String)>, AuditError> {
    let mut back = BackLines::new(file, end);
    while let Some(line) = back.prev_line().map_err(AuditError::io(path))? {
        match line.as_deref().map(check_line) {
            Some(Ok(checked)) => return Ok(Some((checked.entry.seq, checked.entry.hash))),
            _ => report.skipped_lines += 1,
        }
    }
    Ok(None)
}

/// The system clock in Unix seconds (0 if it is before 1970).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Action;
    use crate::segments::segment_path;
    use crate::test_util::{
        event, log_files, read_lines, scan_for, temp_log, write_lines, write_log, write_rotated,
    };
    use crate::verify::verify;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    #[test]
    fn creates_directory_and_file_and_numbers_from_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        assert!(log.open_report().created);
        assert!(path.is_file());
        assert_eq!(log.last_seq(), 0);
        let first = log.append_at(event(1), 1000).unwrap();
        assert_eq!((first.seq, first.at), (1, 1000));
        assert_eq!(first.prev, ZERO_HASH);
        assert_eq!(first.known_action(), Some(Action::View));
        let second = log.append(event(2)).unwrap();
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev, first.hash);
        assert!(second.at > 1_700_000_000, "system clock used");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
    }

    #[test]
    fn reopen_continues_the_chain() {
        let (_dir, path) = temp_log();
        let last = {
            let log = write_log(&path, 3);
            assert_eq!(log.last_seq(), 3);
            log.recent(1).unwrap().remove(0)
        };
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.open_report(), &OpenReport::default());
        assert_eq!(log.last_seq(), 3);
        let next = log.append_at(event(4), 2000).unwrap();
        assert_eq!(next.seq, 4);
        assert_eq!(next.prev, last.hash);
        drop(log);
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 4);
    }

    #[test]
    fn two_writers_share_one_chain() {
        let (_dir, path) = temp_log();
        let gateway = Arc::new(write_log(&path, 2));
        // A second writer (as `cordon users` opens it while the gateway
        // runs), appending in turn and at once with the first.
        let offline = Arc::new(AuditLog::open(&path).unwrap());
        assert_eq!(offline.append(event(3)).unwrap().seq, 3);
        assert_eq!(gateway.append(event(4)).unwrap().seq, 4);
        let threads: Vec<_> = [Arc::clone(&gateway), Arc::clone(&offline)]
            .into_iter()
            .map(|log| {
                std::thread::spawn(move || {
                    for i in 0..50 {
                        log.append_durable(event(i)).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        offline.sync().unwrap();
        gateway.sync().unwrap();
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 104);
        assert_eq!(report.head.unwrap().seq, 104);
    }

    #[test]
    fn torn_last_line_is_cut_off_on_open() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 3));
        let good_len = fs::metadata(&path).unwrap().len();
        let torn = b"{\"action\":\"view\",\"actor\":\"officer:us";
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(torn)
            .unwrap();
        assert!(verify(&path).unwrap().incomplete_tail);

        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.open_report().discarded_tail_bytes, torn.len() as u64);
        assert!(!log.open_report().completed_tail);
        assert!(log.open_report().is_clean());
        assert_eq!(fs::metadata(&path).unwrap().len(), good_len);
        assert_eq!(log.append_at(event(4), 2000).unwrap().seq, 4);
        drop(log);
        let report = verify(&path).unwrap();
        assert!(report.is_ok() && !report.incomplete_tail, "{report:?}");
        assert_eq!(report.entries, 4);
    }

    #[test]
    fn whole_entry_missing_its_newline_is_kept() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 3));
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.trim_end_matches('\n')).unwrap();

        let log = AuditLog::open(&path).unwrap();
        assert!(log.open_report().completed_tail);
        assert_eq!(log.open_report().discarded_tail_bytes, 0);
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        assert_eq!(log.append_at(event(4), 2000).unwrap().seq, 4);
        drop(log);
        assert!(verify(&path).unwrap().is_ok());
    }

    #[test]
    fn damaged_last_lines_are_skipped_and_the_chain_goes_on() {
        let (_dir, path) = temp_log();
        drop(write_log(&path, 3));
        let mut lines = read_lines(&path);
        lines.push("garbage".into());
        write_lines(&path, &lines);

        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.open_report().skipped_lines, 1);
        assert!(!log.open_report().is_clean());
        let next = log.append_at(event(4), 2000).unwrap();
        assert_eq!(next.seq, 4);
        drop(log);
        let report = verify(&path).unwrap();
        assert_eq!(report.entries, 4);
        assert_eq!(report.problems, 1, "{report:?}");
        assert!(matches!(
            report.first_problem,
            Some(crate::Problem::Malformed { line: 4, .. })
        ));
    }

    #[test]
    fn sync_and_append_durable_write_the_head() {
        let (_dir, path) = temp_log();
        let head = crate::head_path(&path);
        let log = write_log(&path, 2);
        assert!(!head.exists(), "no head before the first sync");
        log.sync().unwrap();
        let second = log.recent(1).unwrap().remove(0);
        assert_eq!(
            fs::read_to_string(&head).unwrap(),
            format!("2 {}\n", second.hash)
        );
        let third = log.append_durable(event(3)).unwrap();
        assert_eq!(
            fs::read_to_string(&head).unwrap(),
            format!("3 {}\n", third.hash)
        );
        // Nothing new: the head is left alone.
        fs::write(&head, "junk").unwrap();
        log.sync().unwrap();
        assert_eq!(fs::read_to_string(&head).unwrap(), "junk");
    }

    #[test]
    fn entries_cut_from_the_end_stay_visible_after_reopening() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 5);
        log.sync().unwrap();
        drop(log);
        let lines = read_lines(&path);
        write_lines(&path, &lines[..3]);

        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.open_report().missing_at_end, Some((4, 5)));
        let next = log.append_durable(event(6)).unwrap();
        assert_eq!(next.seq, 6, "numbered after the missing entries");
        drop(log);
        // The head now agrees with the log, but the gap is in the chain.
        let report = verify(&path).unwrap();
        assert_eq!(
            report.first_problem,
            Some(crate::Problem::Removed {
                line: 4,
                seq: 6,
                expected_seq: 4
            })
        );
    }

    #[test]
    fn head_disagreeing_with_last_entry_is_reported_on_open() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 2);
        log.sync().unwrap();
        drop(log);
        fs::write(crate::head_path(&path), format!("2 {}\n", "e".repeat(64))).unwrap();
        let log = AuditLog::open(&path).unwrap();
        let problem = log.open_report().head_problem.clone().unwrap();
        assert!(problem.contains("another entry 2"), "{problem}");
        assert_eq!(log.open_report().missing_at_end, None);
        assert_eq!(log.append_at(event(3), 3000).unwrap().seq, 3);

        drop(log);
        fs::write(crate::head_path(&path), "2 x\n").unwrap();
        let log = AuditLog::open(&path).unwrap();
        let problem = log.open_report().head_problem.clone().unwrap();
        assert!(problem.starts_with("the head file is damaged"), "{problem}");
    }

    #[test]
    fn concurrent_appends_form_one_valid_chain() {
        let (_dir, path) = temp_log();
        let log = Arc::new(AuditLog::open(&path).unwrap());
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut seqs = Vec::new();
                    for i in 0..100 {
                        let entry = if i % 25 == 0 {
                            log.append_durable(event(t * 1000 + i)).unwrap()
                        } else {
                            log.append(event(t * 1000 + i)).unwrap()
                        };
                        seqs.push(entry.seq);
                        if i % 40 == 0 {
                            log.sync().unwrap();
                        }
                    }
                    seqs
                })
            })
            .collect();
        let seqs: BTreeSet<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(seqs, (1..=800).collect::<BTreeSet<u64>>());
        log.sync().unwrap();
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.entries, report.last_seq), (800, 800));
        assert_eq!(report.head.map(|h| h.seq), Some(800));
    }

    #[test]
    fn recent_returns_the_last_entries_oldest_first() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 5);
        let seqs = |v: Vec<Entry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(log.recent(3).unwrap()), vec![3, 4, 5]);
        assert_eq!(seqs(log.recent(10).unwrap()), vec![1, 2, 3, 4, 5]);
        assert!(log.recent(0).unwrap().is_empty());
    }

    #[test]
    fn refused_events_do_not_use_a_sequence_number() {
        let (_dir, path) = temp_log();
        let log = write_log(&path, 1);
        let bad = Event::new("gateway", Action::Verdict, "Q").with_detail(serde_json::json!(3));
        assert!(matches!(log.append(bad), Err(AuditError::InvalidDetail(_))));
        assert_eq!(log.append_at(event(2), 5).unwrap().seq, 2);
        drop(log);
        assert!(verify(&path).unwrap().is_ok());
    }

    /// The entries of every file of the log, in order, as `(seq, prev,
    /// hash)`.
    fn chain(path: &Path) -> Vec<(u64, String, String)> {
        log_files(path)
            .iter()
            .flat_map(|file| read_lines(file))
            .map(|line| {
                let entry: Entry = serde_json::from_str(&line).unwrap();
                (entry.seq, entry.prev, entry.hash)
            })
            .collect()
    }

    /// Checks that the chain in the files is 1..=n, each entry linked to
    /// the one before.
    fn assert_one_chain(path: &Path, n: u64) {
        let chain = chain(path);
        let seqs: Vec<u64> = chain.iter().map(|e| e.0).collect();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
        let mut prev = ZERO_HASH.to_owned();
        for (_, entry_prev, hash) in chain {
            assert_eq!(entry_prev, prev);
            prev = hash;
        }
    }

    #[test]
    fn rotation_keeps_one_chain_across_segments() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 20, 1000);
        log.sync().unwrap();
        let segments = crate::segments(&path).unwrap();
        assert!(segments.len() >= 3, "{segments:?}");
        let names: Vec<String> = segments
            .iter()
            .map(|s| s.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names[..3],
            [
                "audit.jsonl.000001",
                "audit.jsonl.000002",
                "audit.jsonl.000003"
            ]
        );
        for file in log_files(&path) {
            let len = fs::metadata(&file).unwrap().len();
            assert!(len <= 1000 && len > 0, "{}: {len}", file.display());
        }
        assert_one_chain(&path, 20);
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.entries, report.last_seq), (20, 20));
        assert_eq!(report.head.map(|h| h.seq), Some(20));

        // recent reaches back into older segments.
        let seqs = |v: Vec<Entry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(log.recent(10).unwrap()), (11..=20).collect::<Vec<_>>());
        assert_eq!(seqs(log.recent(100).unwrap()), (1..=20).collect::<Vec<_>>());

        // Export gives the files one after the other; after a seq, whole
        // older segments are skipped.
        let mut out = Vec::new();
        assert_eq!(log.export(None, &mut out).unwrap().exported, 20);
        let all: Vec<u8> = log_files(&path)
            .iter()
            .flat_map(|f| fs::read(f).unwrap())
            .collect();
        assert_eq!(out, all);
        let mut out = Vec::new();
        assert_eq!(log.export(Some(13), &mut out).unwrap().exported, 7);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("{\"action\":\"view\",\"actor\":\"officer:user14\"")
        );

        // Reopened, the chain goes on from the live file.
        drop(log);
        let log = AuditLog::open_with(&path, AuditOptions { rotate_bytes: 1000 }).unwrap();
        assert_eq!(log.open_report(), &OpenReport::default());
        assert_eq!(log.append_at(event(21), 3000).unwrap().seq, 21);
        drop(log);
        assert_one_chain(&path, 21);
    }

    #[test]
    fn an_entry_longer_than_the_limit_has_a_segment_of_its_own() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 3, 100);
        assert_eq!(crate::segments(&path).unwrap().len(), 2);
        assert_eq!(read_lines(&path).len(), 1);
        drop(log);
        assert!(verify(&path).unwrap().is_ok());
        assert!(matches!(
            AuditLog::open_with(&path, AuditOptions { rotate_bytes: 0 }),
            Err(AuditError::InvalidOptions(_))
        ));
    }

    #[test]
    fn crash_after_the_rename_before_the_new_file() {
        let (_dir, path) = temp_log();
        let log = write_rotated(&path, 10, 1000);
        log.sync().unwrap();
        drop(log);
        // The rename done (and the live index left as it was), nothing else.
        let next = crate::segments(&path).unwrap().len() as u64 + 1;
        fs::rename(&path, segment_path(&path, next)).unwrap();
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 10);
        assert_eq!(
            scan_for(&path, "Q1").len(),
            crate::entries_for(&path, "Q1").unwrap().len()
        );

        let log = AuditLog::open_with(&path, AuditOptions { rotate_bytes: 1000 }).unwrap();
        let opened = log.open_report();
        assert!(opened.resumed_rotation && !opened.created, "{opened:?}");
        assert!(opened.is_clean());
        assert!(opened.index_discarded > 0, "the old file's records");
        assert_eq!(opened.index_added, 0);
        assert_eq!(log.last_seq(), 10);
        assert_eq!(log.recent(1).unwrap()[0].seq, 10);
        let next = log.append_at(event(11), 3000).unwrap();
        assert_eq!(next.seq, 11);
        log.sync().unwrap();
        assert_one_chain(&path, 11);
        for subject in ["Q0", "Q1", "Q2"] {
            assert_eq!(log.entries_for(subject).unwrap(), scan_for(&path, subject));
        }
        drop(log);
        assert!(verify(&path).unwrap().is_ok());
    }

    #[test]
    fn crash_after_the_new_file_was_created_empty() {
        let (_dir, path) = temp_log();
        drop(write_rotated(&path, 10, 1000));
        let next = crate::segments(&path).unwrap().len() as u64 + 1;
        fs::rename(&path, segment_path(&path, next)).unwrap();
        fs::write(&path, "").unwrap();
        // No sealed index for the segment yet either.
        let log = AuditLog::open_with(&path, AuditOptions { rotate_bytes: 1000 }).unwrap();
        assert!(!log.open_report().resumed_rotation);
        assert!(log.open_report().is_clean());
        assert_eq!(log.append_at(event(11), 3000).unwrap().seq, 11);
        assert_one_chain(&path, 11);
        let sealed = crate::trail_index::index_path(&segment_path(&path, next));
        assert!(!sealed.exists());
        assert_eq!(log.entries_for("Q2").unwrap(), scan_for(&path, "Q2"));
        assert!(sealed.exists(), "written by the trail that missed it");
    }

    #[test]
    fn a_writer_follows_a_rotation_by_another() {
        let (_dir, path) = temp_log();
        let options = AuditOptions { rotate_bytes: 1000 };
        let gateway = Arc::new(AuditLog::open_with(&path, options).unwrap());
        let offline = Arc::new(AuditLog::open_with(&path, options).unwrap());
        for i in 1..=12 {
            let log = if i % 3 == 0 { &offline } else { &gateway };
            assert_eq!(log.append_at(event(i), 1000 + i).unwrap().seq, i);
        }
        let threads: Vec<_> = [Arc::clone(&gateway), Arc::clone(&offline)]
            .into_iter()
            .map(|log| {
                std::thread::spawn(move || {
                    for i in 0..60 {
                        log.append(event(i)).unwrap();
                        if i % 20 == 0 {
                            log.sync().unwrap();
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        gateway.sync().unwrap();
        offline.sync().unwrap();
        assert!(crate::segments(&path).unwrap().len() > 10);
        assert_one_chain(&path, 132);
        let report = verify(&path).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.head.map(|h| h.seq), Some(132));
        for subject in ["Q0", "Q1", "Q2"] {
            let expected = scan_for(&path, subject);
            assert_eq!(gateway.entries_for(subject).unwrap(), expected);
            assert_eq!(offline.entries_for(subject).unwrap(), expected);
        }
    }
}
