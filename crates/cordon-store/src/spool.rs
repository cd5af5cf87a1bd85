//! The spool: every accepted message, the store of record. A message in
//! flight is in the journal ([`Spool::append`], see [`crate::journal`]); one
//! that stays (held, deferred, large, or taken over from another gateway)
//! has a spool file of its own.
//!
//! # File format
//!
//! A spool file is named by its queue id (`DATA/spool/<id>`) and holds:
//!
//! ```text
//! cordon-spool 1\n                      magic and format version
//! {"mail_from":"a@b",...}\n             the envelope, compact JSON, one line
//! <raw message bytes, exactly as received after DATA, any bytes at all>
//! ```
//!
//! Compact JSON never contains a raw newline (newlines inside strings are
//! escaped), so the envelope is exactly the second line. The message is the
//! rest of the file; an empty message is an empty rest.
//!
//! # Durability
//!
//! [`Spool::write`] (or a [`SpoolWriter`] from [`Spool::create`], which takes
//! the message in pieces as it arrives) writes to a temporary name in the same
//! directory, fsyncs the file, renames it to its id and fsyncs the directory
//! before it returns (the directory's fsync is shared by the sessions that
//! need one at the same moment, see [`crate::dir_sync`]):
//! after that the message survives a crash or power loss, and a crash before
//! it leaves at most a temporary file, which [`Spool::open`] removes and
//! [`Spool::list`] never returns. A reader never sees a half-written file.
//!
//! A finished message's file is renamed to a temporary name and emptied
//! ([`Spool::remove`]), and the next message is written into it: the file
//! system allocates no inode per message.
//!
//! On open, the journal's messages in flight (accepted before a stop or a
//! crash, never finished) are written to spool files of their own and the
//! journal emptied, so that everything after the start sees spool files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::group_commit::DirSync;
use crate::id::QueueId;
use crate::journal::{self, Journal};

/// The first line of every spool file: magic and format version.
pub const SPOOL_MAGIC: &[u8] = b"cordon-spool 1\n";

/// Temporary files start with this; no queue id can (ids are alphanumeric).
const TEMP_PREFIX: &str = ".tmp-";

/// Makes temporary names unique among the writes of this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The SMTP envelope of a message: what the client said, not what the
/// headers say. Stored with the message bytes in the same file, because
/// delivery goes to the envelope recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The reverse path of `MAIL FROM`; empty for the null sender (`<>`).
    pub mail_from: String,
    /// The accepted `RCPT TO` addresses, in the order given.
    pub rcpt_to: Vec<String>,
    /// The client's IP address, if known.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// The name the client gave in `HELO`/`EHLO`, if any.
    #[serde(default)]
    pub helo: Option<String>,
    /// When the message was accepted, in Unix seconds.
    pub received_at: u64,
}

/// The message spool: a directory of spool files, one per message that
/// stays, and the journal of messages in flight.
///
/// Cheap to share: all methods take `&self` and may be called from many
/// threads at once. One process per directory (the gateway also holds the
/// sled lock on the same data directory).
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    /// The directory's fsyncs, shared by every clone.
    sync: Arc<DirSync>,
    /// Emptied files of finished messages, for new messages to reuse.
    free: Arc<Mutex<Vec<PathBuf>>>,
    /// The messages in flight.
    journal: Arc<Journal>,
}

/// The most emptied files kept for reuse: the spool's backlog after a burst
/// of mail, so that the next burst allocates no inodes either. An empty
/// file costs an inode and a directory entry, no data blocks. Beyond it, a
/// finished message's file is deleted.
const MAX_FREE_FILES: usize = 4096;

impl Spool {
    /// Opens (creating if needed, mode 0700) the spool directory, removes
    /// temporary files left by a crash in the middle of a write (such a
    /// message was never acknowledged, so it is not ours to keep), and
    /// moves the journal's unfinished messages to spool files of their own.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Spool, StoreError> {
        let dir = dir.into();
        if !dir.is_dir() {
            create_private_dir(&dir)?;
            // Make the new directory's own entry durable.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        let mut spool = Spool {
            sync: Arc::new(DirSync::new(dir.clone())),
            free: Arc::new(Mutex::new(Vec::new())),
            journal: Arc::new(Journal::new(dir.clone(), 0)),
            dir,
        };
        let mut removed = false;
        for entry in fs::read_dir(&spool.dir).map_err(StoreError::io(&spool.dir))? {
            let entry = entry.map_err(StoreError::io(&spool.dir))?;
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(TEMP_PREFIX));
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_temp && is_file {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(path)(e)),
                }
            }
        }
        if removed {
            sync_dir(&spool.dir)?;
        }
        let recovery = journal::recover(&spool.dir, |id, envelope, message| {
            spool.write(&id, &envelope, &message)
        })?;
        spool.journal = Arc::new(Journal::new(spool.dir.clone(), recovery.next_segment));
        Ok(spool)
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the spool file of `id`, which may not exist (a message
    /// in the journal has none).
    pub fn path_of(&self, id: &QueueId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Stores a message in flight durably in the journal: when this returns
    /// `Ok`, it survives a crash or power loss, and only then may the SMTP
    /// server answer `250`. Cheaper than [`Spool::write`] (no file of its
    /// own, one fsync shared by the sessions that finish at about the same
    /// moment); for a new id. A message that is to stay is moved to a file
    /// of its own with [`Spool::settle`].
    pub fn append(
        &self,
        id: &QueueId,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), StoreError> {
        self.journal.append(id, envelope, message)
    }

    /// Moves message `id` from the journal to a spool file of its own, for
    /// a message that stays (held or deferred): the journal keeps only
    /// messages in flight. Returns whether it was in the journal; when this
    /// returns, the file is durable and the journal no longer has it.
    pub fn settle(&self, id: &QueueId) -> Result<bool, StoreError> {
        let Some(read) = self.journal.read(id) else {
            return Ok(false);
        };
        let (envelope, message) = read?;
        self.write(id, &envelope, &message)?;
        self.journal.remove_durably(id)
    }

    /// Whether the spool has message `id`, in the journal or in a file.
    pub fn contains(&self, id: &QueueId) -> bool {
        self.journal.contains(id) || self.path_of(id).is_file()
    }

    /// The size of message `id` as spooled, if the spool has it: the
    /// message's bytes in the journal, the file's (envelope included).
    pub fn size_of(&self, id: &QueueId) -> Option<u64> {
        self.journal
            .size_of(id)
            .or_else(|| fs::metadata(self.path_of(id)).ok().map(|m| m.len()))
    }

    /// Stores the message and its envelope durably as the file of `id`
    /// (replacing any file of that id). When this returns `Ok`, the file,
    /// its content and its name are on stable storage: only then may the
    /// SMTP server answer `250`.
    pub fn write(
        &self,
        id: &QueueId,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), StoreError> {
        let mut writer = self.create(id, envelope)?;
        writer.write(message)?;
        writer.commit()
    }

    /// Starts the spool file of `id`, to be given the message in pieces with
    /// [`SpoolWriter::write`] and made durable with [`SpoolWriter::commit`].
    /// Until then it is a temporary file that no reader sees, and dropping the
    /// writer removes it.
    pub fn create(&self, id: &QueueId, envelope: &Envelope) -> Result<SpoolWriter, StoreError> {
        let mut header = Vec::with_capacity(SPOOL_MAGIC.len() + 256);
        header.extend_from_slice(SPOOL_MAGIC);
        serde_json::to_writer(&mut header, envelope).map_err(StoreError::backend)?;
        header.push(b'\n');

        // An emptied file when there is one: no inode to allocate.
        let (temp, file) = match self.take_free() {
            Some(temp) => {
                let file = OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&temp)
                    .map_err(StoreError::io(&temp))?;
                (temp, file)
            }
            None => {
                let temp = self.temp_path(&id.to_string());
                let file = create_private_file(&temp)?;
                (temp, file)
            }
        };
        let mut writer = SpoolWriter {
            file,
            temp,
            target: self.path_of(id),
            sync: Arc::clone(&self.sync),
            size: 0,
            committed: false,
        };
        writer
            .file
            .write_all(&header)
            .map_err(StoreError::io(&writer.temp))?;
        Ok(writer)
    }

    /// Reads and validates the spool file of `id`: its envelope and message
    /// bytes. A missing file is [`StoreError::NotFound`]; a file that is not
    /// in the spool format is [`StoreError::DamagedSpool`].
    pub fn read(&self, id: &QueueId) -> Result<(Envelope, Vec<u8>), StoreError> {
        if let Some(read) = self.journal.read(id) {
            return read;
        }
        let path = self.path_of(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    what: "spool file",
                    key: id.to_string(),
                });
            }
            Err(e) => return Err(StoreError::io(path)(e)),
        };
        parse(id, bytes)
    }

    /// Deletes the spool file of `id` and fsyncs the directory, so the
    /// deletion is durable when this returns. Returns whether a file was
    /// there; deleting a missing file is not an error (a crash may have
    /// interrupted an earlier cleanup). A message in the journal is marked
    /// finished there instead (durable with the journal's next fsync).
    ///
    /// The file is renamed to a temporary name and emptied, for a new
    /// message to reuse (creating and deleting a file per message is most
    /// of the file system's work under load); its content is gone when
    /// this returns. A crash in between leaves a temporary file, which
    /// [`Spool::open`] removes.
    pub fn remove(&self, id: &QueueId) -> Result<bool, StoreError> {
        if self.journal.remove(id)? {
            return Ok(true);
        }
        let path = self.path_of(id);
        let reusable = self.lock_free().len() < MAX_FREE_FILES;
        let existed = if reusable {
            let free = self.temp_path("free");
            match fs::rename(&path, &free) {
                Ok(()) => {
                    OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&free)
                        .map_err(StoreError::io(&free))?;
                    self.lock_free().push(free);
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(StoreError::io(path)(e)),
            }
        } else {
            match fs::remove_file(&path) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(StoreError::io(path)(e)),
            }
        };
        self.sync.sync()?;
        Ok(existed)
    }

    /// A new temporary name in the spool directory, `.tmp-WHAT-PID-N`.
    fn temp_path(&self, what: &str) -> PathBuf {
        self.dir.join(format!(
            "{TEMP_PREFIX}{what}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// An emptied file to reuse, if there is one.
    fn take_free(&self) -> Option<PathBuf> {
        self.lock_free().pop()
    }

    fn lock_free(&self) -> MutexGuard<'_, Vec<PathBuf>> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ids of all spooled messages, oldest first: the journal's, and
    /// those with a file. Only regular files named by a canonical queue id
    /// count: temporary files, journal segments, foreign files, directories
    /// and symbolic links are ignored.
    pub fn list(&self) -> Result<Vec<QueueId>, StoreError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io(&self.dir))? {
            let entry = entry.map_err(StoreError::io(&self.dir))?;
            let Some(id) = entry.file_name().to_str().and_then(QueueId::from_canonical) else {
                continue;
            };
            // DirEntry::file_type does not follow symbolic links.
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                ids.push(id);
            }
        }
        ids.extend(self.journal.ids());
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// Splits and validates the bytes of a spool file. Never panics, whatever
/// the bytes.
fn parse(id: &QueueId, mut bytes: Vec<u8>) -> Result<(Envelope, Vec<u8>), StoreError> {
    let damaged = |problem: String| StoreError::DamagedSpool { id: *id, problem };
    if !bytes.starts_with(SPOOL_MAGIC) {
        let problem = if bytes.is_empty() {
            "empty file".to_owned()
        } else if SPOOL_MAGIC.starts_with(&bytes) {
            "truncated in the first line".to_owned()
        } else if bytes.starts_with(b"cordon-spool ") {
            let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            format!(
                "unsupported format {:?}",
                String::from_utf8_lossy(&line[..line.len().min(40)])
            )
        } else {
            "not a spool file (wrong magic)".to_owned()
        };
        return Err(damaged(problem));
    }
    let rest = &bytes[SPOOL_MAGIC.len()..];
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        return Err(damaged(
            "truncated in the envelope line (no end of line)".to_owned(),
        ));
    };
    let envelope: Envelope = serde_json::from_slice(&rest[..newline])
        .map_err(|e| damaged(format!("envelope is not valid: {e}")))?;
    // In place: the message is the file less its two header lines, and a
    // second allocation of its size would double what reading it costs.
    bytes.drain(..SPOOL_MAGIC.len() + newline + 1);
    Ok((envelope, bytes))
}

/// A spool file being written: a temporary file until [`SpoolWriter::commit`];
/// dropping the writer before that removes it, so a message that was never
/// acknowledged leaves nothing behind.
#[derive(Debug)]
pub struct SpoolWriter {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    sync: Arc<DirSync>,
    size: u64,
    committed: bool,
}

impl SpoolWriter {
    /// Appends message bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all(bytes)
            .map_err(StoreError::io(&self.temp))?;
        self.size = self.size.saturating_add(bytes.len() as u64);
        Ok(())
    }

    /// Message bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the file durable under its id: fsyncs it, renames it and fsyncs
    /// the directory. When this returns `Ok` the message survives a crash;
    /// only then may the SMTP server answer `250`.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.file.sync_all().map_err(StoreError::io(&self.temp))?;
        fs::rename(&self.temp, &self.target).map_err(StoreError::io(&self.target))?;
        self.committed = true;
        self.sync.sync()
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: Spool::open removes it later if this fails too.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates `path`, which must not exist yet, for writing. Readable by the
/// owner only: it is police mail.
fn create_private_file(path: &Path) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(StoreError::io(path))
}

/// Creates a data directory (and parents), owner-only where supported.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(StoreError::io(dir))
}

/// Fsyncs a directory, making the creation, renaming and deletion of its
/// entries durable. (A no-op where directories cannot be opened as files.)
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn envelope() -> Envelope {
        Envelope {
            mail_from: "pc.jones@northshire.police.uk".into(),
            rcpt_to: vec!["a@gmail.com".into(), "b@cps.gov.uk".into()],
            client_ip: Some("10.0.0.7".into()),
            helo: Some("exch01.northshire.police.uk".into()),
            received_at: 1_760_000_000,
        }
    }

    fn spool() -> (tempfile::TempDir, Spool) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        (dir, spool)
    }

    fn assert_damaged(result: Result<(Envelope, Vec<u8>), StoreError>, needle: &str) {
        match result {
            Err(StoreError::DamagedSpool { problem, .. }) => {
                assert!(problem.contains(needle), "{problem:?} lacks {needle:?}")
            }
            other => panic!("expected a damaged spool error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_binary_empty_and_8bit() {
        let (_dir, spool) = spool();
        let all_bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let eight_bit = "Subject: Café\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÆøå – naïve ☃\r\n\
                         line with bare \n LF and \r CR and \0 NUL\r\n"
            .as_bytes()
            .to_vec();
        let newline_first = b"\n\ncordon-spool 1\n{}\n".to_vec();
        for message in [all_bytes, Vec::new(), eight_bit, newline_first] {
            let id = QueueId::new();
            let mut env = envelope();
            env.mail_from = String::new(); // null sender
            env.helo = Some("evil\nhelo \"quoted\" ünïcode".into());
            spool.write(&id, &env, &message).unwrap();
            let (read_env, read_message) = spool.read(&id).unwrap();
            assert_eq!(read_env, env);
            assert_eq!(read_message, message);
        }
    }

    #[test]
    fn a_message_written_in_pieces_reads_back_whole() {
        let (_dir, spool) = spool();
        let id = QueueId::new();
        let mut writer = spool.create(&id, &envelope()).unwrap();
        assert!(
            spool.list().unwrap().is_empty(),
            "not visible before commit"
        );
        for piece in [&b"Subject: x\r\n"[..], b"\r\n", b"", b"body\r\n"] {
            writer.write(piece).unwrap();
        }
        assert_eq!(writer.size(), 20);
        writer.commit().unwrap();
        assert_eq!(spool.list().unwrap(), vec![id]);
        let (env, message) = spool.read(&id).unwrap();
        assert_eq!(env, envelope());
        assert_eq!(message, b"Subject: x\r\n\r\nbody\r\n");
    }

    #[test]
    fn a_writer_dropped_before_commit_leaves_nothing() {
        let (_dir, spool) = spool();
        let mut writer = spool.create(&QueueId::new(), &envelope()).unwrap();
        writer.write(b"half a message").unwrap();
        drop(writer);
        assert_eq!(fs::read_dir(spool.dir()).unwrap().count(), 0);
    }

    #[test]
    fn file_format_is_as_documented() {
        let (_dir, spool) = spool();
        let id = QueueId::new();
        spool
            .write(&id, &envelope(), b"Subject: x\r\n\r\nbody")
            .unwrap();
        let bytes = fs::read(spool.path_of(&id)).unwrap();
        let json = serde_json::to_string(&envelope()).unwrap();
        let expected = format!("cordon-spool 1\n{json}\nSubject: x\r\n\r\nbody");
        assert_eq!(bytes, expected.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(spool.path_of(&id))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_files_give_errors() {
        let (_dir, spool) = spool();
        let id = QueueId::new();
        let good = {
            spool.write(&id, &envelope(), b"hello").unwrap();
            fs::read(spool.path_of(&id)).unwrap()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "empty"),
            (b"cordon-sp".to_vec(), "truncated in the first line"),
            (b"cordon-spool 1\n".to_vec(), "truncated in the envelope"),
            (good[..30].to_vec(), "truncated in the envelope"),
            (
                b"cordon-spool 1\n{\"mail_from\": 3}\nbody".to_vec(),
                "envelope is not valid",
            ),
            (
                b"cordon-spool 1\nnot json\nbody".to_vec(),
                "envelope is not valid",
            ),
            (b"cordon-spool 2\n{}\nbody".to_vec(), "unsupported format"),
            (b"From: someone\r\n\r\nbody".to_vec(), "wrong magic"),
            ([b"\xEF\xBB\xBF".as_slice(), &good].concat(), "wrong magic"),
        ];
        for (bytes, needle) in cases {
            fs::write(spool.path_of(&id), &bytes).unwrap();
            assert_damaged(spool.read(&id), needle);
        }
    }

    #[test]
    fn missing_file_is_not_found() {
        let (_dir, spool) = spool();
        let err = spool.read(&QueueId::new()).unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }

    #[test]
    fn crash_temp_files_are_cleaned_and_never_listed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let spool = Spool::open(&path).unwrap();
        let kept = QueueId::new();
        spool.write(&kept, &envelope(), b"kept").unwrap();
        // What a crash between create and rename leaves behind.
        let crashed = QueueId::new();
        let temp = path.join(format!("{TEMP_PREFIX}{crashed}-1234-0"));
        fs::write(&temp, b"cordon-spool 1\n{\"mail_").unwrap();
        assert_eq!(spool.list().unwrap(), vec![kept]);

        let reopened = Spool::open(&path).unwrap();
        assert!(!temp.exists());
        assert_eq!(reopened.list().unwrap(), vec![kept]);
        assert_eq!(reopened.read(&kept).unwrap().1, b"kept");
        // No temporary file is left by successful writes either.
        let names: Vec<_> = fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn list_ignores_foreign_names_and_sorts_oldest_first() {
        let (_dir, spool) = spool();
        let ids: Vec<QueueId> = (0..5).map(|_| QueueId::new()).collect();
        for id in ids.iter().rev() {
            spool.write(id, &envelope(), b"m").unwrap();
        }
        let lower = QueueId::new().to_string().to_lowercase();
        for name in [
            "README",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",
            "81ARZ3NDEKTSV4RRFFQ69G5FAV",
            lower.as_str(),
            ".tmp-x",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV.eml",
        ] {
            fs::write(spool.dir().join(name), b"junk").unwrap();
        }
        // A directory named like an id is not a message either.
        fs::create_dir(spool.path_of(&QueueId::new())).unwrap();
        assert_eq!(spool.list().unwrap(), ids);
    }

    #[test]
    fn remove_is_idempotent() {
        let (_dir, spool) = spool();
        let id = QueueId::new();
        spool.write(&id, &envelope(), b"m").unwrap();
        assert!(spool.remove(&id).unwrap());
        assert!(!spool.remove(&id).unwrap());
        assert!(spool.list().unwrap().is_empty());
        assert!(spool.read(&id).unwrap_err().is_not_found());
    }

    #[test]
    fn a_finished_file_is_emptied_and_reused_never_listed_and_gone_after_a_restart() {
        use std::os::unix::fs::MetadataExt;
        let (_dir, spool) = spool();
        let dir = spool.dir().to_owned();
        let first = QueueId::new();
        spool
            .write(&first, &envelope(), b"the first message")
            .unwrap();
        let inode = fs::metadata(spool.path_of(&first)).unwrap().ino();
        assert!(spool.remove(&first).unwrap());
        // emptied at once, under a temporary name
        let left: Vec<u64> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .collect();
        assert_eq!(left, [0]);
        assert!(spool.list().unwrap().is_empty());
        // the next message takes the same file
        let second = QueueId::new();
        spool.write(&second, &envelope(), b"second").unwrap();
        assert_eq!(fs::metadata(spool.path_of(&second)).unwrap().ino(), inode);
        assert_eq!(spool.read(&second).unwrap().1, b"second");
        assert_eq!(spool.list().unwrap(), [second]);
        // an emptied file left by a stop is removed on open
        assert!(spool.remove(&second).unwrap());
        let reopened = Spool::open(&dir).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        assert!(reopened.list().unwrap().is_empty());
    }

    #[test]
    fn concurrent_writes() {
        let (_dir, spool) = spool();
        let written: Vec<Vec<(QueueId, Vec<u8>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let spool = &spool;
                    s.spawn(move || {
                        (0..20)
                            .map(|i| {
                                let id = QueueId::new();
                                let body = format!("thread {t} message {i}").into_bytes();
                                spool.write(&id, &envelope(), &body).unwrap();
                                (id, body)
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<(QueueId, Vec<u8>)> = written.into_iter().flatten().collect();
        all.sort();
        assert_eq!(
            spool.list().unwrap(),
            all.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        );
        for (id, body) in &all {
            assert_eq!(&spool.read(id).unwrap().1, body);
        }
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&QueueId::new(), bytes);
        }

        #[test]
        fn parsing_near_valid_bytes_never_panics(
            json in "\\PC{0,80}",
            tail in proptest::collection::vec(any::<u8>(), 0..64),
            cut in 0usize..200,
        ) {
            let mut bytes = SPOOL_MAGIC.to_vec();
            bytes.extend_from_slice(json.as_bytes());
            bytes.push(b'\n');
            bytes.extend_from_slice(&tail);
            bytes.truncate(cut);
            let _ = parse(&QueueId::new(), bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn reading_arbitrary_files_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            magic in any::<bool>(),
        ) {
            let (_dir, spool) = spool();
            let id = QueueId::new();
            let content = if magic { [SPOOL_MAGIC, &bytes].concat() } else { bytes };
            fs::write(spool.path_of(&id), &content).unwrap();
            match spool.read(&id) {
                Ok(_) => {}
                Err(e) => prop_assert!(matches!(e, StoreError::DamagedSpool { .. }), "{e}"),
            }
        }
    }
}
