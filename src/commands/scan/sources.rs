//! Where the messages of a scan come from: mbox files, Maildir folders
//! (with their subfolders) and single message files, found under the paths
//! given. Reading is sequential; every message is one [`Item`], with the
//! file it is in and its byte offset there, so a finding can be traced back.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One message read (or not) from a mailbox.
#[derive(Debug)]
pub struct Item {
    /// The file: the mbox, the Maildir message file, the single message.
    pub file: PathBuf,
    /// Where the message starts in the file: its `From ` line in an mbox, 0
    /// otherwise.
    pub offset: u64,
    /// Its bytes, or why they could not be read.
    pub bytes: Result<Vec<u8>, String>,
}

/// The total size of the regular files under `paths`, for the progress bar.
pub fn total_bytes(paths: &[PathBuf]) -> u64 {
    fn size(path: &Path) -> u64 {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => m.len(),
            Ok(m) if m.is_dir() => std::fs::read_dir(path)
                .map(|entries| entries.flatten().map(|e| size(&e.path())).sum())
                .unwrap_or(0),
            _ => 0,
        }
    }
    paths.iter().map(|p| size(p)).sum()
}

/// Reads every message under `path` and hands each to `each`, in order:
/// a Maildir (a directory with `cur` and `new`) with its subfolders; any
/// other directory entry by entry, by name; a file starting with `From ` as
/// an mbox; any other file as one message when it was named on the command
/// line or its name ends in `.eml` (other files in directories, such as
/// scripts or indexes, are not mail and are passed over). Problems with
/// single messages are items with an error; an error here means `path`
/// itself could not be read.
pub fn read(path: &Path, each: &mut dyn FnMut(Item)) -> Result<(), String> {
    read_path(path, true, each)
}

fn read_path(path: &Path, named: bool, each: &mut dyn FnMut(Item)) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if metadata.is_dir() {
        if path.join("cur").is_dir() && path.join("new").is_dir() {
            return read_maildir(path, each);
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| !is_hidden(p))
            .collect();
        entries.sort();
        for entry in entries {
            if let Err(reason) = read_path(&entry, false, each) {
                each(Item {
                    file: entry,
                    offset: 0,
                    bytes: Err(reason),
                });
            }
        }
        return Ok(());
    }
    if !metadata.is_file() {
        // A device or a pipe: opening it could block for ever.
        return Err(format!("{}: not a regular file", path.display()));
    }
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut start = [0u8; 5];
    let read = read_up_to(&mut file, &mut start).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let is_eml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    if &start[..read] == b"From " {
        read_mbox(path, file, each);
    } else if named || is_eml {
        let mut bytes = Vec::new();
        let bytes = BufReader::new(file)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
            .map_err(|e| e.to_string());
        each(Item {
            file: path.to_owned(),
            offset: 0,
            bytes,
        });
    }
    Ok(())
}

/// Names starting with a dot: editors' and tools' files, not mail.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Every folder of a Maildir, the inbox first.
fn read_maildir(path: &Path, each: &mut dyn FnMut(Item)) -> Result<(), String> {
    use mail_parser::mailbox::maildir::FolderIterator;
    let folders =
        FolderIterator::new(path, None).map_err(|e| format!("{}: {e}", path.display()))?;
    for folder in folders {
        let folder = match folder {
            Ok(folder) => folder,
            Err(e) => {
                each(Item {
                    file: path.to_owned(),
                    offset: 0,
                    bytes: Err(format!("a folder cannot be read: {e}")),
                });
                continue;
            }
        };
        let name = folder.name().unwrap_or_default().to_owned();
        for message in folder {
            match message {
                Ok(message) => each(Item {
                    file: message.path().to_owned(),
                    offset: 0,
                    bytes: Ok(message.unwrap_contents()),
                }),
                Err(e) => each(Item {
                    file: path.join(&name),
                    offset: 0,
                    bytes: Err(format!("a message file cannot be read: {e}")),
                }),
            }
        }
    }
    Ok(())
}

/// Every message of an mbox (mboxo or mboxrd: `>From ` lines unquoted),
/// with the offset of its `From ` line.
fn read_mbox(path: &Path, file: File, each: &mut dyn FnMut(Item)) {
    use mail_parser::mailbox::mbox::MessageIterator;
    let starts = Rc::new(RefCell::new(std::collections::VecDeque::new()));
    let reader = LineOffsets {
        inner: BufReader::with_capacity(256 << 10, file),
        position: 0,
        starts: Rc::clone(&starts),
    };
    for message in MessageIterator::new(reader) {
        let offset = starts.borrow_mut().pop_front().unwrap_or_default();
        let bytes = message
            .map(|m| m.unwrap_contents())
            .map_err(|e| format!("cannot read on: {e}"));
        let failed = bytes.is_err();
        each(Item {
            file: path.to_owned(),
            offset,
            bytes,
        });
        if failed {
            // The reader's error repeats; the rest of the file is lost.
            break;
        }
    }
}

/// A reader that notes where each line starting with `From ` begins: the
/// mbox reader reads line by line with `read_until`, and the n-th message
/// it returns began at the n-th such line.
struct LineOffsets<R> {
    inner: R,
    position: u64,
    starts: Rc<RefCell<std::collections::VecDeque<u64>>>,
}

impl<R: BufRead> Read for LineOffsets<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineOffsets<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.position += amount as u64;
        self.inner.consume(amount);
    }

    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        let start = self.position;
        let before = buf.len();
        let n = self.inner.read_until(byte, buf)?;
        self.position += n as u64;
        if buf[before..].starts_with(b"From ") {
            self.starts.borrow_mut().push_back(start);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(path: &Path) -> Vec<(PathBuf, u64, Vec<u8>)> {
        let mut all = Vec::new();
        read(path, &mut |item| {
            all.push((item.file, item.offset, item.bytes.expect("readable")))
        })
        .expect("read");
        all
    }

    #[test]
    fn an_mbox_gives_each_message_with_its_offset_and_unquoted_from_lines() {
        let dir = tempfile::tempdir().expect("temp");
        let mbox = dir.path().join("sent.mbox");
        let text = "From a@x Sat Jan  3 01:05:34 1996\nSubject: one\n\n>From the start\n\nFrom b@x Tue Jul 23 19:39:23 2002\nSubject: two\n\nbody\n";
        std::fs::write(&mbox, text).expect("write");
        let found = items(&mbox);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].1, 0);
        assert_eq!(found[0].2, b"Subject: one\n\nFrom the start\n\n");
        assert_eq!(found[1].1, text.find("From b@x").unwrap() as u64);
        assert_eq!(found[1].2, b"Subject: two\n\nbody\n");
    }

    #[test]
    fn directories_are_walked_by_name_and_maildirs_read_with_their_folders() {
        let dir = tempfile::tempdir().expect("temp");
        let maildir = dir.path().join("b-maildir");
        for sub in ["cur", "new", "tmp", ".Sent/cur", ".Sent/new"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("mkdir");
        }
        std::fs::write(maildir.join("new/1.host"), "Subject: new\n\nx\n").expect("write");
        std::fs::write(maildir.join(".Sent/cur/2.host:2,S"), "Subject: sent\n\nx\n")
            .expect("write");
        std::fs::write(dir.path().join("a.eml"), "Subject: single\n\nx\n").expect("write");
        std::fs::write(dir.path().join(".hidden"), "not mail").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not mail either").expect("write");
        let found = items(dir.path());
        let names: Vec<String> = found
            .iter()
            .map(|(f, _, _)| f.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "a.eml",
                "b-maildir/new/1.host",
                "b-maildir/.Sent/cur/2.host:2,S"
            ]
        );
    }

    #[test]
    fn a_missing_path_is_an_error() {
        assert!(read(Path::new("/nonexistent/mail"), &mut |_| {}).is_err());
    }
}
