//! Attached files by type: text, HTML, office documents, PDF, archives, nested
//! messages. The type comes from the content ([`crate::sniff`]), never from the
//! name or the declared MIME type alone.

mod archive;
mod calendar;
mod compressed_rtf;
mod office;
mod ole1;
mod pdf;
#[cfg(test)]
mod robustness;
mod rtf;
#[cfg(test)]
pub(crate) mod testutil;
mod tnef;

use crate::collector::{Collector, FileRef};
use crate::sniff::{self, FileType};
use crate::{Attachment, PartKind, charset};

pub(crate) use compressed_rtf::is_compressed_rtf;

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
    let is_executable = executable.is_some();
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
    if matches!(file_type, FileType::Text | FileType::Html | FileType::Other)
        && let Some(claimed) = sniff::claimed_container(name, declared)
    {
        c.problem(
            location,
            format!("not a readable {claimed} although it claims to be one (damaged or disguised)"),
        );
        return;
    }
    match file_type {
        FileType::Text => {
            let text = charset::decode(bytes, declared_charset(declared));
            c.text(location, PartKind::Document, &text);
            if is_rich_text_markup(declared) {
                // text/enriched and text/richtext alternatives: clients that
                // show them drop the `<bold>` commands, which must not be able
                // to split what the reader sees
                c.html(location, PartKind::Document, &text);
            }
        }
        FileType::Html => {
            let text = charset::decode(bytes, declared_charset(declared));
            c.html(location, PartKind::Document, &text);
        }
        FileType::Message => c.nested_message(location, bytes, depth + 1),
        FileType::Pdf => pdf::inspect(c, file, bytes),
        FileType::Rtf => rtf::inspect(c, file, bytes),
        FileType::CompressedRtf => compressed_rtf::inspect(c, file, bytes),
        FileType::Tnef => tnef::inspect(c, file, bytes),
        FileType::Calendar => calendar::inspect(c, file, bytes),
        FileType::Docx | FileType::Xlsx | FileType::Pptx | FileType::OpenDocument => {
            office::inspect(c, file, bytes, file_type);
        }
        FileType::Zip | FileType::JavaArchive | FileType::AndroidPackage => {
            archive::inspect_zip(c, file, bytes);
        }
        FileType::Gzip => archive::inspect_gzip(c, file, bytes),
        FileType::Tar => archive::inspect_tar(c, file, bytes),
        FileType::OtherArchive => archive::inspect_other(c, file, bytes),
        FileType::CompoundDocument => office::inspect_compound(c, file, bytes, is_executable),
        FileType::Encrypted => c.problem(location, "encrypted content (cannot be inspected)"),
        FileType::Image
        | FileType::WindowsExecutable
        | FileType::Elf
        | FileType::MachO
        | FileType::JavaClass
        | FileType::Other => {}
    }
}

/// True for the `text/enriched` (RFC 1896) and `text/richtext` markups,
/// whose `<command>`s a client renders away like HTML tags.
fn is_rich_text_markup(declared: Option<&str>) -> bool {
    let media_type = declared
        .and_then(|d| d.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    media_type.eq_ignore_ascii_case("text/enriched")
        || media_type.eq_ignore_ascii_case("text/richtext")
}

/// The `charset=` parameter of a declared content type, if any.
pub(crate) fn declared_charset(declared: Option<&str>) -> Option<&str> {
    let declared = declared?;
    declared.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}
