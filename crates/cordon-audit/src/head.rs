//! The head file: the last entry known to be on stable storage.
//!
//! The chain shows an entry altered or removed in the middle of the log, but
//! not entries cut from its end. So whenever the log is fsynced, the
//! sequence number and hash of its last entry are written next to it
//! (`audit.jsonl` → `audit.head`) as one line, `"<seq> <hash>\n"`, replaced
//! atomically (temporary file, fsync, rename, fsync of the directory). A log
//! that ends before that entry, or has another entry in its place, has lost
//! its end.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::entry::is_hash;
use crate::error::AuditError;

/// What the head file records: the last entry that was durable when it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// The head file of the log at `log`: the same name with the extension
/// `head` (`audit.jsonl` → `audit.head`). It holds one line, `"<seq>
/// <hash>\n"`, of the last entry made durable, and is replaced atomically
/// by every [`crate::AuditLog::sync`].
pub fn head_path(log: &Path) -> PathBuf {
    if log.extension().is_some_and(|e| e == "head") {
        let mut name = log.as_os_str().to_owned();
        name.push(".head");
        PathBuf::from(name)
    } else {
        log.with_extension("head")
    }
}

/// Reads the head file at `path`: `Ok(None)` if there is none,
/// `Ok(Some(Err(why)))` if it is damaged. Never panics.
pub(crate) fn read_head(path: &Path) -> Result<Option<Result<Head, String>>, AuditError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(256)
        .read_to_end(&mut bytes)
        .map_err(AuditError::io(path))?;
    Ok(Some(parse_head(&bytes)))
}

fn parse_head(bytes: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not text".to_owned())?;
    let line = text
        .strip_suffix('\n')
        .ok_or_else(|| "it is not one complete line".to_owned())?;
    let (seq, hash) = line
        .split_once(' ')
        .ok_or_else(|| "it is not \"<seq> <hash>\"".to_owned())?;
    let seq = seq
        .parse::<u64>()
        .ok()
        .filter(|&s| s > 0 && !seq.starts_with('+'))
        .ok_or_else(|| format!("{seq:?} is not a sequence number"))?;
    if !is_hash(hash) {
        return Err(format!("{hash:?} is not a hash"));
    }
    Ok(Head {
        seq,
        hash: hash.to_owned(),
    })
}

/// Replaces the head file at `path` atomically and durably.
pub(crate) fn write_head(path: &Path, head: &Head) -> Result<(), AuditError> {
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".tmp");
    let temp = PathBuf::from(temp_name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(format!("{} {}\n", head.seq, head.hash).as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(AuditError::io(path)(e));
    }
    sync_dir(path.parent())
}

/// Fsyncs a directory (`None` or empty: the current one), making the
/// creation and renaming of its entries durable. A no-op where directories
/// cannot be opened as files.
pub(crate) fn sync_dir(dir: Option<&Path>) -> Result<(), AuditError> {
    let dir = dir
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(AuditError::io(dir))
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

    const H: &str = "ab00000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn head_path_is_beside_the_log() {
        assert_eq!(
            head_path(Path::new("/d/audit.jsonl")),
            Path::new("/d/audit.head")
        );
        assert_eq!(head_path(Path::new("audit")), Path::new("audit.head"));
        assert_eq!(head_path(Path::new("x.head")), Path::new("x.head.head"));
    }

    #[test]
    fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.head");
        assert_eq!(read_head(&path).unwrap(), None);
        let head = Head {
            seq: 42,
            hash: H.into(),
        };
        write_head(&path, &head).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("42 {H}\n"));
        assert_eq!(read_head(&path).unwrap(), Some(Ok(head)));
        assert!(!dir.path().join("audit.head.tmp").exists());
    }

    #[test]
    fn damaged_heads_are_reported_not_panicked_on() {
        for bad in [
            "".to_owned(),
            format!("42 {H}"),
            format!("0 {H}\n"),
            format!("+4 {H}\n"),
            format!("x {H}\n"),
            "42 abc\n".to_owned(),
            format!("42  {H}\n"),
            format!("42 {}\n", H.to_uppercase()),
        ] {
            assert!(parse_head(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(parse_head(b"\xff\n").is_err());
    }
}
