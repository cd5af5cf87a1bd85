//! Outlook message files (`.msg`, [MS-OXMSG]): a compound file whose streams
//! hold the message's properties. Read as Outlook shows the message: the
//! subject, the plain-text body, the HTML body and the RTF body (handed on as
//! the nested file `body.rtf`, compressed as Outlook stores it), and every
//! attachment as a nested file, an attached message recursively within the
//! depth limit. A file that cannot be parsed is a problem, never passed.
//!
//! Property streams are named `__substg1.0_IIIITTTT` (property id and type,
//! hex): type `001F` is UTF-16LE text, `001E` text in the message's code
//! page, `0102` binary, `000D` an embedded object (storage).

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use cfb::CompoundFile;

use super::super::archive::{Expansion, ReadError};
use crate::collector::{Collector, FileRef};
use crate::sniff::{self, FileType};
use crate::{Attachment, PartKind, charset};

/// `PidTagMessageCodepage`: the code page of the message's 8-bit strings.
const MESSAGE_CODE_PAGE: u32 = 0x3FFD_0003;
/// `PidTagInternetCodepage`: the code page of the HTML body.
const INTERNET_CODE_PAGE: u32 = 0x3FDE_0003;

/// Bytes before the property entries of the properties stream: 32 for the
/// message file itself, 24 for an attached message, 8 for an attachment.
const TOP_HEADER: usize = 32;
const EMBEDDED_HEADER: usize = 24;

/// Inspects the Outlook message file `bytes`.
pub(super) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let Ok(cfb) = CompoundFile::open(Cursor::new(bytes)) else {
        c.problem(file.location, "corrupt Outlook message file");
        return;
    };
    let mut reader = MessageFile {
        cfb,
        expansion: Expansion::new(c, bytes.len()),
        stopped: false,
    };
    reader.message(c, Path::new("/"), file.location, file.depth, TOP_HEADER);
}

/// A message file being read, with the decompression allowance its streams
/// are charged to (streams may share sectors, so their total is not bounded
/// by the file's size).
struct MessageFile<'a> {
    cfb: CompoundFile<Cursor<&'a [u8]>>,
    expansion: Expansion,
    stopped: bool,
}

/// The entries of one storage: names of its streams and sub-storages.
struct Storage {
    path: PathBuf,
    streams: Vec<String>,
    storages: Vec<String>,
}

impl Storage {
    /// The stream called `name` (case-insensitive), if present.
    fn stream(&self, name: &str) -> Option<PathBuf> {
        self.streams
            .iter()
            .find(|s| s.eq_ignore_ascii_case(name))
            .map(|s| self.path.join(s))
    }

    /// The sub-storage called `name` (case-insensitive), if present.
    fn storage(&self, name: &str) -> Option<PathBuf> {
        self.storages
            .iter()
            .find(|s| s.eq_ignore_ascii_case(name))
            .map(|s| self.path.join(s))
    }

    /// True when this storage holds a message's properties.
    fn is_message(&self) -> bool {
        self.stream("__properties_version1.0").is_some()
            || self.streams.iter().any(|s| s.starts_with("__substg1.0_"))
    }
}

impl MessageFile<'_> {
    /// The entries of the storage at `path`; `None` when it cannot be listed.
    fn storage(&self, path: &Path) -> Option<Storage> {
        let entries = self.cfb.read_storage(path).ok()?;
        let mut storage = Storage {
            path: path.to_path_buf(),
            streams: Vec::new(),
            storages: Vec::new(),
        };
        for entry in entries {
            if entry.is_stream() {
                storage.streams.push(entry.name().to_owned());
            } else if entry.is_storage() {
                storage.storages.push(entry.name().to_owned());
            }
        }
        storage.storages.sort();
        Some(storage)
    }

    /// The bytes of the stream at `path`, read within the limits; a stream
    /// that cannot be read is a problem at `location`.
    fn read(&mut self, c: &mut Collector, path: &Path, location: &str) -> Option<Vec<u8>> {
        if self.stopped {
            return None;
        }
        let stream = match self.cfb.open_stream(path) {
            Ok(stream) => stream,
            Err(_) => {
                c.problem(location, "corrupt Outlook message stream");
                return None;
            }
        };
        let room = self.expansion.room(c).saturating_add(1);
        let mut out = Vec::new();
        match self.expansion.read_all(c, stream.take(room), &mut out) {
            Ok(()) => Some(out),
            Err(ReadError::Limit(reason)) => {
                c.problem(location, reason);
                self.stopped = true;
                None
            }
            Err(_) => {
                c.problem(location, "corrupt Outlook message stream");
                None
            }
        }
    }

    /// The fixed-size property entries of `storage` (its properties stream
    /// after the `header` bytes), empty when absent.
    fn properties(
        &mut self,
        c: &mut Collector,
        storage: &Storage,
        header: usize,
        location: &str,
    ) -> Vec<u8> {
        storage
            .stream("__properties_version1.0")
            .and_then(|path| self.read(c, &path, location))
            .and_then(|props| props.get(header..).map(<[u8]>::to_vec))
            .unwrap_or_default()
    }

    /// The string property `id` (four hex digits) of `storage`: the Unicode
    /// stream if present, else the 8-bit one decoded with `code_page`.
    fn string(
        &mut self,
        c: &mut Collector,
        storage: &Storage,
        id: &str,
        code_page: Option<&str>,
        location: &str,
    ) -> Option<String> {
        if let Some(path) = storage.stream(&format!("__substg1.0_{id}001F")) {
            let bytes = self.read(c, &path, location)?;
            let text = encoding_rs::UTF_16LE.decode_without_bom_handling(&bytes).0;
            return Some(text.trim_end_matches('\0').to_owned());
        }
        let path = storage.stream(&format!("__substg1.0_{id}001E"))?;
        let bytes = self.read(c, &path, location)?;
        let text = charset::decode(&bytes, Some(code_page.unwrap_or("windows-1252")));
        Some(text.trim_end_matches('\0').to_owned())
    }

    /// Reads the message in `storage_path` at `location`: subject, bodies and attachments.
    fn message(
        &mut self,
        c: &mut Collector,
        storage_path: &Path,
        location: &str,
        depth: u32,
        header: usize,
    ) {
        let Some(storage) = self.storage(storage_path) else {
            c.problem(location, "corrupt Outlook message file");
            return;
        };
        if !storage.is_message() {
            c.problem(location, "legacy binary document (not inspected)");
            return;
        }
        let properties = self.properties(c, &storage, header, location);
        let code_page = property_u32(&properties, MESSAGE_CODE_PAGE).and_then(code_page_label);
        let html_code_page =
            property_u32(&properties, INTERNET_CODE_PAGE).and_then(code_page_label);
        if let Some(subject) = self.string(c, &storage, "0037", code_page, location) {
            c.text(format!("{location}/subject"), PartKind::Subject, &subject);
        }
        if let Some(body) = self.string(c, &storage, "1000", code_page, location) {
            c.text(format!("{location}/body"), PartKind::Body, &body);
        }
        self.html_body(c, &storage, location, html_code_page.or(code_page));
        if let Some(path) = storage.stream("__substg1.0_10090102")
            && let Some(rtf) = self.read(c, &path, location)
        {
            let rtf_location = format!("{location}/body.rtf");
            let body = FileRef {
                location: &rtf_location,
                name: Some("body.rtf"),
                declared: Some("application/rtf"),
                depth: depth + 1,
                inline: false,
            };
            c.file(&body, &rtf);
        }
        let attachments: Vec<String> = storage
            .storages
            .iter()
            .filter(|s| s.to_ascii_lowercase().starts_with("__attach_version1.0_#"))
            .cloned()
            .collect();
        for (index, name) in attachments.iter().enumerate() {
            if self.stopped || c.parts_exhausted() {
                return;
            }
            self.attachment(
                c,
                &storage.path.join(name),
                index,
                location,
                depth,
                code_page,
            );
        }
    }

    /// The HTML body (binary, in the internet code page, or a Unicode string).
    fn html_body(
        &mut self,
        c: &mut Collector,
        storage: &Storage,
        location: &str,
        code_page: Option<&str>,
    ) {
        let html = if let Some(path) = storage.stream("__substg1.0_10130102") {
            self.read(c, &path, location)
                .map(|bytes| charset::decode(&bytes, code_page).into_owned())
        } else {
            self.string(c, storage, "1013", code_page, location)
        };
        if let Some(html) = html {
            c.html(format!("{location}/body"), PartKind::Body, &html);
        }
    }

    /// One attachment storage of the message at `location`: its data as a
    /// nested file, or its attached message read recursively.
    fn attachment(
        &mut self,
        c: &mut Collector,
        path: &Path,
        index: usize,
        location: &str,
        depth: u32,
        code_page: Option<&str>,
    ) {
        let Some(storage) = self.storage(path) else {
            c.problem(location, "corrupt Outlook message attachment");
            return;
        };
        let name = ["3707", "3704", "3001"]
            .iter()
            .find_map(|id| self.string(c, &storage, id, code_page, location))
            .map(|n| n.trim().replace(['/', '\\'], "_"))
            .filter(|n| !n.is_empty());
        let label = name
            .clone()
            .unwrap_or_else(|| format!("attachment-{}", index + 1));
        let member_location = format!("{location}/{label}");
        if let Some(inner) = storage.storage("__substg1.0_3701000D") {
            self.embedded(c, &inner, &member_location, name.as_deref(), depth + 1);
            return;
        }
        let Some(data_path) = storage.stream("__substg1.0_37010102") else {
            // Attached by reference (a link to a file elsewhere): no content here.
            return;
        };
        let declared = self.string(c, &storage, "370E", code_page, location);
        let Some(data) = self.read(c, &data_path, &member_location) else {
            return;
        };
        let member = FileRef {
            location: &member_location,
            name: name.as_deref(),
            declared: declared.as_deref(),
            depth: depth + 1,
            inline: false,
        };
        c.file(&member, &data);
    }

    /// An attached message, or an embedded OLE object, at `location`.
    fn embedded(
        &mut self,
        c: &mut Collector,
        path: &Path,
        location: &str,
        name: Option<&str>,
        depth: u32,
    ) {
        if c.enter(location, depth).is_err() {
            return;
        }
        c.attachment(Attachment {
            location: location.to_owned(),
            name: name.map(str::to_owned),
            file_type: FileType::CompoundDocument,
            size: 0,
            depth,
            executable: sniff::executable(&[], name, FileType::CompoundDocument),
            inline: false,
        });
        if let Some(name) = name {
            c.text(location, PartKind::FileName, name);
        }
        let Some(inner) = self.storage(path) else {
            c.problem(location, "corrupt Outlook message attachment");
            return;
        };
        if inner.is_message() {
            self.message(c, path, location, depth, EMBEDDED_HEADER);
            return;
        }
        // An OLE object: an embedded OOXML document keeps its file in the
        // `Package` stream, other servers in `CONTENTS`.
        let Some(stream) = ["Package", "CONTENTS"].iter().find_map(|s| inner.stream(s)) else {
            c.problem(
                location,
                "embedded object in an Outlook message (not inspected)",
            );
            return;
        };
        let Some(data) = self.read(c, &stream, location) else {
            return;
        };
        let object_location = format!("{location}/object");
        let object = FileRef {
            location: &object_location,
            name: None,
            declared: None,
            depth: depth + 1,
            inline: false,
        };
        c.file(&object, &data);
    }
}

/// The 4-byte value of the property `tag` among fixed-size property entries
/// (16 bytes each: tag, flags, value).
fn property_u32(entries: &[u8], tag: u32) -> Option<u32> {
    entries.chunks_exact(16).find_map(|entry| {
        let word = |at: usize| {
            entry
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        (word(0)? == tag).then(|| word(8)).flatten()
    })
}

/// The encoding label of a Windows code page, for the code pages mail uses.
fn code_page_label(code_page: u32) -> Option<&'static str> {
    Some(match code_page {
        65001 => "utf-8",
        1200 => "utf-16le",
        1201 => "utf-16be",
        20127 => "us-ascii",
        874 => "windows-874",
        932 => "shift_jis",
        936 => "gbk",
        949 => "euc-kr",
        950 => "big5",
        1250 => "windows-1250",
        1251 => "windows-1251",
        1252 => "windows-1252",
        1253 => "windows-1253",
        1254 => "windows-1254",
        1255 => "windows-1255",
        1256 => "windows-1256",
        1257 => "windows-1257",
        1258 => "windows-1258",
        20866 => "koi8-r",
        21866 => "koi8-u",
        28591 => "iso-8859-1",
        28592 => "iso-8859-2",
        28593 => "iso-8859-3",
        28594 => "iso-8859-4",
        28595 => "iso-8859-5",
        28596 => "iso-8859-6",
        28597 => "iso-8859-7",
        28598 => "iso-8859-8",
        28599 => "iso-8859-9",
        28603 => "iso-8859-13",
        28605 => "iso-8859-15",
        50220 => "iso-2022-jp",
        51932 => "euc-jp",
        51949 => "euc-kr",
        52936 => "hz-gb-2312",
        54936 => "gb18030",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::formats::testutil::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A properties stream: `header` reserved bytes, then 4-byte properties.
    fn properties(header: usize, props: &[(u32, u32)]) -> Vec<u8> {
        let mut out = vec![0u8; header];
        for (tag, value) in props {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&6u32.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        out
    }

    /// A compound file with the given storages and streams.
    fn compound(storages: &[&str], streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut file = CompoundFile::create(Cursor::new(Vec::new())).expect("create");
        for storage in storages {
            file.create_storage(storage).expect("storage");
        }
        for (path, data) in streams {
            file.create_stream(path)
                .expect("stream")
                .write_all(data)
                .expect("write");
        }
        file.flush().expect("flush");
        file.into_inner().into_inner()
    }

    fn outlook_message() -> Vec<u8> {
        let cyrillic = encoding_rs::WINDOWS_1251
            .encode("Привет, NI JM 41 29 87 B")
            .0;
        let attach = "/__attach_version1.0_#00000000";
        let inner = "/__attach_version1.0_#00000001";
        compound(
            &[attach, inner, &format!("{inner}/__substg1.0_3701000D")],
            &[
                (
                    "/__properties_version1.0",
                    properties(TOP_HEADER, &[(MESSAGE_CODE_PAGE, 1251)]),
                ),
                ("/__substg1.0_0037001F", utf16("Case file\0")),
                ("/__substg1.0_1000001E", cyrillic.into_owned()),
                (
                    "/__substg1.0_10130102",
                    b"<html><body><p>Operation <b>Nightjar</b></p></body></html>".to_vec(),
                ),
                (
                    "/__substg1.0_10090102",
                    b"\x10\0\0\0\x20\0\0\0LZFu\0\0\0\0rtf".to_vec(),
                ),
                (
                    &format!("{attach}/__properties_version1.0"),
                    properties(8, &[]),
                ),
                (
                    &format!("{attach}/__substg1.0_3707001F"),
                    utf16("notes.txt"),
                ),
                (
                    &format!("{attach}/__substg1.0_37010102"),
                    b"NHS 401 023 2137".to_vec(),
                ),
                (
                    &format!("{inner}/__substg1.0_3001001F"),
                    utf16("Inner message"),
                ),
                (
                    &format!("{inner}/__substg1.0_3701000D/__properties_version1.0"),
                    properties(EMBEDDED_HEADER, &[]),
                ),
                (
                    &format!("{inner}/__substg1.0_3701000D/__substg1.0_0037001F"),
                    utf16("SECRET inner"),
                ),
            ],
        )
    }

    #[test]
    fn message_subject_bodies_and_attachments() {
        let x = extract_attachment("mail.msg", &outlook_message());
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:mail.msg/subject", PartKind::Subject),
            "Case file"
        );
        assert_eq!(
            text_at(&x, "attachment:mail.msg/body", PartKind::Body),
            // The normaliser folds Cyrillic look-alikes; decoded as
            // windows-1252 the word would be mojibake.
            crate::normalize("Привет, NI JM 41 29 87 B\nOperation Nightjar")
        );
        assert_eq!(
            text_at(&x, "attachment:mail.msg/notes.txt", PartKind::Document),
            "NHS 401 023 2137"
        );
        let rtf = crate::formats::testutil::file_at(&x, "attachment:mail.msg/body.rtf");
        assert_eq!((rtf.depth, rtf.size), (1, 19));
        assert_eq!(
            text_at(
                &x,
                "attachment:mail.msg/Inner message/subject",
                PartKind::Subject
            ),
            "SECRET inner"
        );
        let inner = crate::formats::testutil::file_at(&x, "attachment:mail.msg/Inner message");
        assert_eq!(inner.depth, 1);
    }

    #[test]
    fn attached_messages_stop_at_the_depth_limit() {
        let limits = crate::Limits {
            max_depth: 0,
            ..crate::Limits::default()
        };
        let x = extract_with(&message_with(&[("mail.msg", &outlook_message())]), &limits);
        assert!(has_problem(
            &x,
            "attachment:mail.msg/Inner message",
            "nesting depth limit reached"
        ));
        assert_eq!(
            text_at(&x, "attachment:mail.msg/subject", PartKind::Subject),
            "Case file"
        );
    }

    #[test]
    fn damaged_message_file_is_a_problem() {
        let mut damaged = outlook_message();
        // Keep the magic and the stream names, break the header's sector size.
        damaged[0x1E] = 0x30;
        let x = extract_attachment("mail.msg", &damaged);
        assert!(has_problem(
            &x,
            "attachment:mail.msg",
            "corrupt Outlook message file"
        ));
        assert!(code_page_label(65001).is_some() && code_page_label(7).is_none());
    }

    #[test]
    fn embedded_ole_document_is_inspected() {
        let object = "/__attach_version1.0_#00000000";
        let storage = format!("{object}/__substg1.0_3701000D");
        let msg = compound(
            &[object, &storage],
            &[
                ("/__properties_version1.0", properties(TOP_HEADER, &[])),
                ("/__substg1.0_0037001F", utf16("With object")),
                (&format!("{object}/__substg1.0_3001001F"), utf16("Report")),
                (
                    &format!("{storage}/Package"),
                    docx(&["Body"], Some(&["SECRET"]), None, false),
                ),
                (&format!("{storage}/\u{1}CompObj"), vec![0; 16]),
            ],
        );
        let x = extract_attachment("m.msg", &msg);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(
                &x,
                "attachment:m.msg/Report/object:header",
                PartKind::DocumentHeader
            ),
            "SECRET"
        );
    }

    #[test]
    fn damaged_message_files_never_crash_the_parser() {
        let msg = outlook_message();
        for at in (0..msg.len()).step_by(97) {
            let mut damaged = msg.clone();
            damaged[at] ^= 0xA5;
            let x = extract_attachment("mail.msg", &damaged);
            assert!(
                !x.problems
                    .iter()
                    .any(|p| p.reason.contains("parser failed")),
                "byte {at}: {:?}",
                x.problems
            );
        }
        for len in [512, 1024, 2048, msg.len() / 2] {
            let x = extract_attachment("mail.msg", &msg[..len]);
            assert!(!x.problems.is_empty(), "truncated to {len}");
        }
    }

    #[test]
    fn attached_encrypted_document_does_not_hide_the_message() {
        let attach = "/__attach_version1.0_#00000000";
        let locked = compound(&[], &[("/EncryptedPackage", vec![7; 600])]);
        let msg = compound(
            &[attach],
            &[
                ("/__properties_version1.0", properties(TOP_HEADER, &[])),
                ("/__substg1.0_1000001F", utf16("NI JM 41 29 87 B")),
                (
                    &format!("{attach}/__substg1.0_3707001F"),
                    utf16("locked.docx"),
                ),
                (&format!("{attach}/__substg1.0_37010102"), locked),
            ],
        );
        let x = extract_attachment("m.msg", &msg);
        assert_eq!(
            text_at(&x, "attachment:m.msg/body", PartKind::Body),
            "NI JM 41 29 87 B"
        );
        assert_eq!(x.problems.len(), 1, "{:?}", x.problems);
        assert!(has_problem(
            &x,
            "attachment:m.msg/locked.docx",
            "encrypted Office document (cannot be inspected)"
        ));
    }
}
