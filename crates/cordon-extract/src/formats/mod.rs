//! Attached files by type: text, HTML, office documents, PDF, archives, nested
//! messages. The type comes from the content ([`crate::sniff`]), never from the
//! name or the declared MIME type alone.

use crate::collector::{Collector, FileRef};
use crate::sniff::{self, FileType};
use crate::{Attachment, PartKind, charset, html};

/// Records `bytes` as a file at `location` and extracts its text by sniffed type.
pub(crate) fn inspect_file(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let FileRef {
        location,
        name,
        declared,
        depth,
        inline,
    } = *file;
    let file_type = sniff::file_type(bytes, name, declared);
    let executable = sniff::executable(bytes, name, file_type);
    c.attachment(Attachment {
        location: location.to_owned(),
        name: name.map(str::to_owned),
        file_type,
        size: bytes.len() as u64,
        depth,
        executable,
        inline,
    });
    if let Some(name) = name {
        c.text(location, PartKind::FileName, name);
    }
    match file_type {
        FileType::Text => {
            let text = charset::decode(bytes, declared_charset(declared));
            c.text(location, PartKind::Document, &text);
        }
        FileType::Html => {
            let text = charset::decode(bytes, declared_charset(declared));
            c.text(location, PartKind::Document, &html::to_text(&text));
        }
        FileType::Message => c.nested_message(location, bytes, depth + 1),
        _ => {}
    }
}

/// The `charset=` parameter of a declared content type, if any.
fn declared_charset(declared: Option<&str>) -> Option<&str> {
    let declared = declared?;
    declared.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}
