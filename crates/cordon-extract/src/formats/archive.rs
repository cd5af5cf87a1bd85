//! Archives: zip (recursively, and the zip containers of office documents),
//! gzip and tar. Other archive formats are reported as not inspected, so that
//! they are held rather than passed unseen.
//!
//! Nothing here trusts a size written in an archive header: every byte is read
//! through [`Expansion::read_all`], which counts the bytes actually produced
//! against the message's expansion budget and against the archive's compression
//! ratio limit, and stops at once when either is passed.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use flate2::read::MultiGzDecoder;
use zip::ZipArchive;
use zip::result::ZipError;

use crate::Attachment;
use crate::collector::{Collector, FileRef};
use crate::sniff::{self, FileType};

/// Decompressed bytes every container may produce whatever its ratio, so that
/// small, highly compressible legitimate files (a short XML part) pass.
pub(crate) const RATIO_FLOOR: u64 = 1 << 20;

/// Reason recorded when a container expands more than the ratio limit allows.
pub(crate) const RATIO_EXCEEDED: &str = "compression ratio limit exceeded (possible zip bomb)";

/// Reason recorded for an entry whose encryption flag is set.
pub(crate) const ENCRYPTED_ENTRY: &str = "encrypted archive entry (cannot be inspected)";

/// Why reading a compressed part stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The part is encrypted.
    Encrypted,
    /// A limit was passed; the text is the reason to report.
    Limit(&'static str),
    /// The compressed data is damaged (or lies about its size or checksum).
    Corrupt,
}

impl ReadError {
    /// The plain-English reason to record, with `what` naming the damaged thing
    /// (e.g. "archive entry").
    pub(crate) fn reason(self, what: &str) -> String {
        match self {
            ReadError::Encrypted => ENCRYPTED_ENTRY.to_owned(),
            ReadError::Limit(reason) => reason.to_owned(),
            ReadError::Corrupt => format!("corrupt {what}"),
        }
    }

    /// True for a limit: the container should stop reading further parts.
    pub(crate) fn is_limit(self) -> bool {
        matches!(self, ReadError::Limit(_))
    }
}

/// The decompression allowance of one container (an archive, a document, a
/// PDF): at most `max_compression_ratio` times its own size, or
/// [`RATIO_FLOOR`], whichever is larger, and never more than the message's
/// remaining expansion budget.
#[derive(Debug)]
pub(crate) struct Expansion {
    allowed: u64,
    used: u64,
}

impl Expansion {
    /// The allowance of a container of `compressed_len` bytes.
    pub(crate) fn new(c: &Collector, compressed_len: usize) -> Self {
        let allowed = (compressed_len as u64)
            .saturating_mul(c.limits.max_compression_ratio)
            .max(RATIO_FLOOR);
        Expansion { allowed, used: 0 }
    }

    /// Reads `reader` to its end into `out`, counting every byte produced.
    ///
    /// Stops with [`ReadError::Limit`] as soon as the ratio allowance or the
    /// message's budget is passed, and with [`ReadError::Corrupt`] when the
    /// reader fails; `out` keeps what was read before the stop.
    pub(crate) fn read_all(
        &mut self,
        c: &mut Collector,
        reader: impl Read,
        out: &mut Vec<u8>,
    ) -> Result<(), ReadError> {
        // Read at most one byte past what may still be produced, so that a
        // bomb stops at the limit; read_to_end grows `out` without zeroing a
        // scratch buffer for every small part.
        let room = self.room(c);
        let before = out.len();
        let read = reader.take(room.saturating_add(1)).read_to_end(out);
        self.charge(c, (out.len() - before) as u64)?;
        read.map(|_| ()).map_err(|_| ReadError::Corrupt)
    }

    /// Counts `n` bytes produced by a decoder that does not read through
    /// [`Expansion::read_all`]; fails when a limit is passed.
    pub(crate) fn charge(&mut self, c: &mut Collector, n: u64) -> Result<(), ReadError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.allowed {
            return Err(ReadError::Limit(RATIO_EXCEEDED));
        }
        c.charge_expanded(n)
            .map_err(|limit| ReadError::Limit(limit.0))
    }

    /// Bytes that may still be produced before a limit is passed: decoders
    /// stop at one more than this and let [`Expansion::charge`] report.
    pub(crate) fn room(&self, c: &Collector) -> u64 {
        self.allowed
            .saturating_sub(self.used)
            .min(c.expanded_budget())
    }
}

/// One entry of a zip archive, as its central directory describes it.
#[derive(Clone, Debug)]
pub(crate) struct ZipEntry {
    /// Index in the archive.
    pub(crate) index: usize,
    /// Path inside the archive, e.g. `word/document.xml`.
    pub(crate) path: String,
    /// A directory, not a file.
    pub(crate) is_dir: bool,
    /// The entry's encryption flag is set.
    pub(crate) encrypted: bool,
    /// The size the header declares (never used to allocate or to bound reading).
    pub(crate) declared_size: u64,
}

/// A zip archive opened for bounded reading: the helper shared by archives and
/// office documents.
pub(crate) struct ZipSource<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    expansion: Expansion,
    /// Entries in index order.
    entries: Vec<ZipEntry>,
    /// Position in `entries` of each path.
    by_path: HashMap<String, usize>,
}

impl<'a> ZipSource<'a> {
    /// Opens `bytes` as a zip archive; `None` when it is not a readable one.
    pub(crate) fn open(c: &Collector, bytes: &'a [u8]) -> Option<Self> {
        let archive = ZipArchive::new(Cursor::new(bytes)).ok()?;
        let entries = (0..archive.len())
            .filter_map(|index| {
                let entry = archive.by_index_data(index).ok()?;
                let path = match entry.name() {
                    Ok(name) => name.into_owned(),
                    Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
                };
                Some(ZipEntry {
                    index,
                    is_dir: entry.is_dir(),
                    encrypted: entry.encrypted(),
                    declared_size: entry.size(),
                    path,
                })
            })
            .collect::<Vec<ZipEntry>>();
        let by_path = entries
            .iter()
            .enumerate()
            .map(|(at, e)| (e.path.clone(), at))
            .collect();
        Some(ZipSource {
            expansion: Expansion::new(c, bytes.len()),
            archive,
            entries,
            by_path,
        })
    }

    /// The entries in central-directory order.
    pub(crate) fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    /// True when two entries share a name: the zip reader keeps only one, so
    /// the other could not be inspected.
    pub(crate) fn has_duplicate_names(&self) -> bool {
        self.archive.has_duplicate_names()
    }

    /// The entry at `path`, if the archive has one.
    pub(crate) fn entry(&self, path: &str) -> Option<&ZipEntry> {
        self.by_path.get(path).and_then(|&at| self.entries.get(at))
    }

    /// Reads and decompresses the entry with `index`, bounded by the limits.
    pub(crate) fn read(&mut self, c: &mut Collector, index: usize) -> Result<Vec<u8>, ReadError> {
        let at = self.entries.partition_point(|e| e.index < index);
        if self
            .entries
            .get(at)
            .is_some_and(|e| e.index == index && e.encrypted)
        {
            return Err(ReadError::Encrypted);
        }
        let entry = match self.archive.by_index(index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(msg)) if msg == ZipError::PASSWORD_REQUIRED => {
                return Err(ReadError::Encrypted);
            }
            Err(_) => return Err(ReadError::Corrupt),
        };
        let mut out = Vec::new();
        self.expansion.read_all(c, entry, &mut out)?;
        Ok(out)
    }

    /// Reads the entry at `path`: `None` when there is none.
    pub(crate) fn read_path(
        &mut self,
        c: &mut Collector,
        path: &str,
    ) -> Option<Result<Vec<u8>, ReadError>> {
        let index = self.entry(path)?.index;
        Some(self.read(c, index))
    }
}

/// The last component of an archive path: the member's file name.
pub(crate) fn base_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
}

/// Records a member that cannot be read (encrypted, over a limit): it is still
/// a file the message carries, so its name is listed and checked, and the
/// reason is recorded as a problem at its location.
pub(crate) fn unreadable_member(
    c: &mut Collector,
    member: &FileRef,
    declared_size: u64,
    reason: &str,
) {
    if c.enter(member.location, member.depth).is_err() {
        return;
    }
    c.attachment(Attachment {
        location: member.location.to_owned(),
        name: member.name.map(str::to_owned),
        file_type: FileType::Other,
        size: declared_size,
        depth: member.depth,
        executable: sniff::executable(&[], member.name, FileType::Other),
        inline: false,
    });
    if let Some(name) = member.name {
        c.text(member.location, crate::PartKind::FileName, name);
    }
    c.problem(member.location, reason);
}

/// Inspects a zip archive (also a `.jar` or `.apk`): every member file is
/// decompressed within the limits and inspected in turn.
pub(crate) fn inspect_zip(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let Some(mut zip) = ZipSource::open(c, bytes) else {
        c.problem(file.location, "corrupt archive");
        return;
    };
    if zip.has_duplicate_names() {
        c.problem(
            file.location,
            "archive has several entries with the same name (not all can be inspected)",
        );
    }
    let entries: Vec<ZipEntry> = zip
        .entries()
        .iter()
        .filter(|e| !e.is_dir)
        .cloned()
        .collect();
    if entries.is_empty() {
        return;
    }
    if file.depth >= c.limits.max_depth {
        c.problem(file.location, "nesting depth limit reached");
        return;
    }
    for entry in entries {
        if c.parts_exhausted() {
            c.problem(file.location, "too many parts");
            return;
        }
        let location = format!("{}/{}", file.location, entry.path.trim_start_matches('/'));
        let member = FileRef {
            location: &location,
            name: Some(base_name(&entry.path)).filter(|n| !n.is_empty()),
            declared: None,
            depth: file.depth + 1,
            inline: false,
        };
        match zip.read(c, entry.index) {
            Ok(data) => c.file(&member, &data),
            Err(err) => {
                unreadable_member(
                    c,
                    &member,
                    entry.declared_size,
                    &err.reason("archive entry"),
                );
                if err.is_limit() {
                    return;
                }
            }
        }
    }
}

/// Inspects a gzip file: its single decompressed member is inspected as a file
/// named like the archive without `.gz` (`notes.tar.gz` holds `notes.tar`).
pub(crate) fn inspect_gzip(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    if file.depth >= c.limits.max_depth {
        c.problem(file.location, "nesting depth limit reached");
        return;
    }
    let inner_name = file.name.map(|name| {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tgz") {
            format!("{}.tar", &name[..name.len() - 4])
        } else if lower.ends_with(".gz") {
            name[..name.len() - 3].to_owned()
        } else {
            name.to_owned()
        }
    });
    let label = inner_name.clone().unwrap_or_else(|| "content".to_owned());
    let location = format!("{}/{}", file.location, label);
    let member = FileRef {
        location: &location,
        name: inner_name.as_deref(),
        declared: None,
        depth: file.depth + 1,
        inline: false,
    };
    let mut expansion = Expansion::new(c, bytes.len());
    let mut data = Vec::new();
    match expansion.read_all(c, MultiGzDecoder::new(bytes), &mut data) {
        Ok(()) => c.file(&member, &data),
        Err(ReadError::Corrupt) => {
            // Keep what was readable, but the rest was not inspected.
            c.problem(file.location, "corrupt compressed file");
            c.file(&member, &data);
        }
        Err(err) => unreadable_member(c, &member, 0, &err.reason("compressed file")),
    }
}

/// Inspects a tar archive. Tar is not compressed: members are slices of the
/// bytes, checked against the input's length, never against declared sizes.
pub(crate) fn inspect_tar(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    if file.depth >= c.limits.max_depth {
        c.problem(file.location, "nesting depth limit reached");
        return;
    }
    let mut at = 0usize;
    let mut long_name: Option<String> = None;
    while let Some(header) = bytes.get(at..at + 512) {
        if header.iter().all(|&b| b == 0) {
            return; // end-of-archive marker
        }
        let Some(size) = tar_size(&header[124..136]) else {
            c.problem(file.location, "corrupt archive");
            return;
        };
        let data_start = at + 512;
        let Some(data) = usize::try_from(size)
            .ok()
            .and_then(|size| bytes.get(data_start..data_start.checked_add(size)?))
        else {
            c.problem(file.location, "corrupt archive (truncated)");
            return;
        };
        let padded = data.len().div_ceil(512) * 512;
        at = data_start + padded;
        let kind = header[156];
        let name = match long_name.take() {
            Some(name) => name,
            None => {
                let prefix = c_string(&header[345..500]);
                let name = c_string(&header[..100]);
                if header[257..262] == *b"ustar" && !prefix.is_empty() {
                    format!("{prefix}/{name}")
                } else {
                    name
                }
            }
        };
        match kind {
            b'L' => long_name = Some(c_string(data)), // GNU long name for the next entry
            b'0' | 0 | b'7' => {
                if c.parts_exhausted() {
                    c.problem(file.location, "too many parts");
                    return;
                }
                let location = format!("{}/{}", file.location, name.trim_start_matches('/'));
                let member = FileRef {
                    location: &location,
                    name: Some(base_name(&name)).filter(|n| !n.is_empty()),
                    declared: None,
                    depth: file.depth + 1,
                    inline: false,
                };
                c.file(&member, data);
            }
            _ => {} // directories, links, devices, pax headers
        }
    }
}

/// A tar header's octal (or GNU base-256) size field.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian binary after the marker bit.
        return field[1..].iter().try_fold(0u64, |acc, &b| {
            acc.checked_mul(256)?.checked_add(u64::from(b))
        });
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|ch: char| ch == '\0' || ch == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// The text of a NUL-terminated header field.
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Records an archive format that is not inspected, naming the format.
pub(crate) fn inspect_other(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let format = sniff::other_archive(bytes).unwrap_or("unknown");
    c.problem(
        file.location,
        format!("archive format not inspected ({format})"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::*;
    use crate::{Limits, PartKind};

    #[test]
    fn members_are_inspected_and_executables_found() {
        let zip = zip_of(&[("readme.txt", b"run me"), ("bin/collect.exe", &fake_exe())]);
        let x = extract_attachment("tools.zip", &zip);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let exe = crate::formats::testutil::file_at(&x, "attachment:tools.zip/bin/collect.exe");
        assert_eq!(exe.depth, 1);
        assert_eq!(exe.name.as_deref(), Some("collect.exe"));
        assert_eq!(exe.file_type, FileType::WindowsExecutable);
        assert_eq!(
            exe.executable.as_deref(),
            Some("Windows program (by content)")
        );
        assert_eq!(
            text_at(&x, "attachment:tools.zip/readme.txt", PartKind::Document),
            "run me"
        );
    }

    #[test]
    fn program_with_a_lying_name_inside_a_zip() {
        let zip = zip_of(&[("report.pdf", &fake_exe())]);
        let x = extract_attachment("files.zip", &zip);
        let member = &x.attachments[1];
        assert_eq!(member.location, "attachment:files.zip/report.pdf");
        assert_eq!(
            member.executable.as_deref(),
            Some("Windows program (by content, named report.pdf)")
        );
    }

    #[test]
    fn encrypted_entries_are_problems_not_read() {
        let zip = encrypt_flag(&zip_of(&[("a.txt", b"hello there"), ("run.exe", b"x")]));
        let x = extract_attachment("files.zip", &zip);
        assert!(has_problem(
            &x,
            "attachment:files.zip/a.txt",
            ENCRYPTED_ENTRY
        ));
        assert!(has_problem(
            &x,
            "attachment:files.zip/run.exe",
            ENCRYPTED_ENTRY
        ));
        assert!(!x.parts.iter().any(|p| p.text.contains("hello")));
        // The name is still seen: an encrypted program is still a program.
        let exe = crate::formats::testutil::file_at(&x, "attachment:files.zip/run.exe");
        assert_eq!(
            exe.executable.as_deref(),
            Some("Windows program (by name, .exe)")
        );
    }

    #[test]
    fn zip_bomb_is_stopped_by_the_ratio_limit() {
        let bomb = zip_bomb(64);
        assert!(bomb.len() < 200_000);
        let x = extract_attachment("bomb.zip", &bomb);
        assert!(
            has_problem(&x, "attachment:bomb.zip/data.txt", RATIO_EXCEEDED),
            "{:?}",
            x.problems
        );
        assert!(!x.parts.iter().any(|p| p.kind == PartKind::Document));
    }

    #[test]
    fn expansion_budget_is_shared_by_the_message() {
        let limits = Limits {
            max_expanded_bytes: 100_000,
            ..Limits::default()
        };
        let big = b"quite repetitive text, ".repeat(10_000);
        let zip = zip_of(&[("a.txt", &big), ("b.txt", b"small")]);
        let x = extract_with(&message_with(&[("big.zip", &zip)]), &limits);
        assert!(
            has_problem(
                &x,
                "attachment:big.zip/a.txt",
                "expanded size limit reached"
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn nested_zips_stop_at_the_depth_limit() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let mut inner = zip_of(&[("secret.txt", b"deep text")]);
        for level in 0..5 {
            inner = zip_of(&[(&format!("level{level}.zip"), &inner)]);
        }
        let x = extract_with(&message_with(&[("outer.zip", &inner)]), &limits);
        assert!(
            x.problems
                .iter()
                .any(|p| p.reason == "nesting depth limit reached"),
            "{:?}",
            x.problems
        );
        assert!(!x.parts.iter().any(|p| p.text.contains("deep text")));
        assert!(x.attachments.iter().all(|a| a.depth <= 3));
        // Within the limit, nesting is followed.
        let x = extract_attachment("outer.zip", &inner);
        assert!(x.parts.iter().any(|p| p.text == "deep text"
            && p.location
                == "attachment:outer.zip/level4.zip/level3.zip/level2.zip/level1.zip/level0.zip/secret.txt"));
    }

    #[test]
    fn parts_limit_stops_the_walk_with_one_problem() {
        let limits = Limits {
            max_parts: 5,
            ..Limits::default()
        };
        let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let x = extract_with(&message_with(&[("many.zip", &zip_bytes(&files))]), &limits);
        assert!(
            has_problem(&x, "attachment:many.zip", "too many parts"),
            "{:?}",
            x.problems
        );
        assert!(x.problems.len() <= 2, "{:?}", x.problems);
        assert!(x.attachments.len() <= 5);
    }

    #[test]
    fn corrupt_archives_are_problems() {
        let mut zip = zip_of(&[("a.txt", &b"some text to compress, ".repeat(100))]);
        let x = extract_attachment("cut.zip", &zip[..zip.len() / 2]);
        assert!(
            has_problem(&x, "attachment:cut.zip", "corrupt archive"),
            "{:?}",
            x.problems
        );
        // Damage the compressed data: the CRC or the inflater notices.
        let data_at = 30 + "a.txt".len() + 4;
        for b in &mut zip[data_at..data_at + 8] {
            *b ^= 0x5A;
        }
        let x = extract_attachment("bad.zip", &zip);
        assert!(
            has_problem(&x, "attachment:bad.zip/a.txt", "corrupt archive entry"),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn other_archive_formats_are_held() {
        let x = extract_attachment("files.rar", b"Rar!\x1a\x07\x01\x00rest of it");
        assert!(has_problem(
            &x,
            "attachment:files.rar",
            "archive format not inspected (rar)"
        ));
    }

    #[test]
    fn gzip_and_tar_are_opened() {
        let mut tar = Vec::new();
        tar.extend(tar_member("case/notes.txt", b"NI JM 41 29 87 B"));
        tar.extend(tar_member("case/run.sh", b"#!/bin/sh\necho hi\n"));
        tar.extend([0u8; 1024]);
        let tgz = gzip(&tar);
        let x = extract_attachment("case.tar.gz", &tgz);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(
                &x,
                "attachment:case.tar.gz/case.tar/case/notes.txt",
                PartKind::Document
            ),
            "NI JM 41 29 87 B"
        );
        let script = x
            .attachments
            .iter()
            .find(|a| a.location.ends_with("run.sh"))
            .unwrap();
        assert_eq!(script.depth, 2);
        assert_eq!(
            script.executable.as_deref(),
            Some("script for /bin/sh (by content)")
        );
    }

    #[test]
    fn gzip_bomb_is_stopped() {
        let zeros = vec![0u8; 32 << 20];
        let x = extract_attachment("zeros.gz", &gzip(&zeros));
        assert!(
            has_problem(&x, "attachment:zeros.gz/zeros", RATIO_EXCEEDED),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn truncated_tar_is_a_problem() {
        let mut tar = tar_member("a.txt", &[b'x'; 2000]);
        tar.truncate(1000);
        let x = extract_attachment("a.tar", &tar);
        assert!(has_problem(
            &x,
            "attachment:a.tar",
            "corrupt archive (truncated)"
        ));
    }
}
