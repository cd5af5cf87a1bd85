//! File type sniffing by content, and the executable test (by content or by name).
//!
//! The type of a file comes from its bytes first (magic numbers, and for zip
//! files the names of their entries), and only then from the declared MIME type
//! and the file name, which the sender controls. A program is executable whatever
//! it is called; a file is also treated as executable when its name says it
//! would run on a double click.

use std::io::{Cursor, Read};

use serde::Serialize;

/// The type of a file as found from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// Plain text, CSV and other text formats.
    Text,
    /// An HTML document.
    Html,
    /// A PDF document.
    Pdf,
    /// Word document (OOXML).
    Docx,
    /// Excel workbook (OOXML).
    Xlsx,
    /// PowerPoint presentation (OOXML).
    Pptx,
    /// OpenDocument text, spreadsheet or presentation.
    OpenDocument,
    /// A zip archive that is not an office document.
    Zip,
    /// A Java application archive (`.jar`: a zip with `META-INF/MANIFEST.MF`).
    JavaArchive,
    /// An Android application package (`.apk`: a zip with `AndroidManifest.xml`).
    AndroidPackage,
    /// A gzip-compressed file (`.gz`, `.tgz`).
    Gzip,
    /// A tar archive.
    Tar,
    /// An archive or compressed format that is not inspected (rar, 7z, cab, ...).
    OtherArchive,
    /// An OLE2 compound file: legacy Word/Excel/PowerPoint (`.doc`, `.xls`,
    /// `.ppt`), Outlook `.msg`, Windows Installer (`.msi`), or an encrypted
    /// (password-protected) modern Office document.
    CompoundDocument,
    /// Encrypted content: an OpenPGP message or S/MIME (`.p7m`) data.
    Encrypted,
    /// An RFC 5322 message.
    Message,
    /// A Rich Text Format document, whatever its name says (`.rtf`, or a
    /// `.doc` that Word opens as RTF).
    Rtf,
    /// Compressed RTF (MS-OXRTFCP), Outlook's stored form of an RTF body.
    CompressedRtf,
    /// A TNEF stream (`winmail.dat`, `application/ms-tnef`): Outlook's
    /// wrapper of a message body and its attachments.
    Tnef,
    /// An iCalendar (`.ics`) or vCard (`.vcf`) text file.
    Calendar,
    /// An image.
    Image,
    /// Windows PE / DOS MZ executable.
    WindowsExecutable,
    /// ELF executable or shared object.
    Elf,
    /// Mach-O executable (thin or universal).
    MachO,
    /// A compiled Java class file.
    JavaClass,
    /// Anything else.
    Other,
}

/// The type of `bytes`, from magic numbers first, then the declared type and name.
pub(crate) fn file_type(bytes: &[u8], name: Option<&str>, declared: Option<&str>) -> FileType {
    if let Some(found) = by_magic(bytes) {
        return found;
    }
    let declared = declared.unwrap_or("").to_ascii_lowercase();
    let ext = extension(name).unwrap_or_default();
    if looks_like_pgp_message(bytes)
        || declared.contains("pkcs7-mime")
        || matches!(ext.as_str(), "p7m" | "gpg" | "pgp") && !crate::charset::is_probably_text(bytes)
    {
        FileType::Encrypted
    } else if declared.starts_with("message/rfc822") || ext == "eml" || looks_like_message(bytes) {
        FileType::Message
    } else if matches!(
        declared.split(';').next().unwrap_or("").trim(),
        "application/ms-tnef" | "application/vnd.ms-tnef"
    ) {
        // A damaged TNEF: its reader reports what it cannot read.
        FileType::Tnef
    } else if declared.starts_with("text/calendar")
        || declared.starts_with("text/vcard")
        || declared.starts_with("text/x-vcard")
        || declared.starts_with("text/directory")
        || matches!(
            ext.as_str(),
            "ics" | "ical" | "ifb" | "vcs" | "vcf" | "vcard"
        ) && crate::charset::is_probably_text(bytes)
    {
        FileType::Calendar
    } else if declared.starts_with("text/html")
        || declared.starts_with("application/xhtml+xml")
        || matches!(ext.as_str(), "html" | "htm" | "xhtml" | "xht")
        || looks_like_html(bytes)
    {
        FileType::Html
    } else if declared.starts_with("text/") || crate::charset::is_probably_text(bytes) {
        FileType::Text
    } else if declared.starts_with("image/") {
        FileType::Image
    } else {
        FileType::Other
    }
}

/// The container format the declared MIME type or the file name claims, if
/// any: content that claims to be an archive, PDF or Office document but is not
/// one is damaged or disguised, and cannot pass as plain text.
pub(crate) fn claimed_container(
    name: Option<&str>,
    declared: Option<&str>,
) -> Option<&'static str> {
    let declared = declared.unwrap_or("").to_ascii_lowercase();
    let mime = declared.split(';').next().unwrap_or("").trim();
    let ext = extension(name).unwrap_or_default();
    let by_mime = match mime {
        "application/zip" | "application/x-zip-compressed" | "application/x-zip" => {
            Some("zip archive")
        }
        "application/pdf" => Some("PDF document"),
        "application/gzip" | "application/x-gzip" => Some("gzip archive"),
        m if m.starts_with("application/vnd.openxmlformats-officedocument.") => {
            Some("Office document")
        }
        m if m.starts_with("application/vnd.oasis.opendocument.") => Some("OpenDocument file"),
        _ => None,
    };
    by_mime.or(match ext.as_str() {
        "zip" => Some("zip archive"),
        "pdf" => Some("PDF document"),
        "gz" | "tgz" => Some("gzip archive"),
        "docx" | "xlsx" | "pptx" | "docm" | "xlsm" | "pptm" => Some("Office document"),
        "odt" | "ods" | "odp" => Some("OpenDocument file"),
        _ => None,
    })
}

/// The type given by a magic number or container structure, if any.
fn by_magic(bytes: &[u8]) -> Option<FileType> {
    let found = if is_windows_program(bytes) {
        FileType::WindowsExecutable
    } else if bytes.starts_with(b"\x7fELF") {
        FileType::Elf
    } else if let Some(found) = mach_o_or_java(bytes) {
        found
    } else if memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() {
        FileType::Pdf
    } else if bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"PK\x07\x08")
    {
        zip_flavour(bytes)
    } else if bytes.starts_with(&OLE2_MAGIC) {
        FileType::CompoundDocument
    } else if bytes.starts_with(b"\x1f\x8b\x08") {
        FileType::Gzip
    } else if is_tar(bytes) {
        FileType::Tar
    } else if other_archive(bytes).is_some() {
        FileType::OtherArchive
    } else if is_image(bytes) {
        FileType::Image
    } else if bytes.starts_with(&TNEF_SIGNATURE) {
        FileType::Tnef
    } else if crate::formats::is_compressed_rtf(bytes) {
        FileType::CompressedRtf
    } else if text_starts_with(bytes, b"{\\rtf") {
        FileType::Rtf
    } else if text_starts_with(bytes, b"begin:vcalendar") || text_starts_with(bytes, b"begin:vcard")
    {
        FileType::Calendar
    } else {
        return None;
    };
    Some(found)
}

/// The signature of a TNEF stream (0x223E9F78, little-endian).
const TNEF_SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];

/// True when the text starts with `prefix` (ASCII, compared without case)
/// after an optional UTF-8 byte-order mark and white space, as the readers
/// of RTF, iCalendar and vCard accept.
fn text_starts_with(bytes: &[u8], prefix: &[u8]) -> bool {
    let head = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = head
        .iter()
        .take(256)
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head.get(start..start + prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// The magic number of an OLE2 compound file.
const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// A DOS/Windows program: `MZ` with a PE header where the DOS header points, or
/// `MZ` followed by binary data (a text file that happens to start "MZ" is not).
fn is_windows_program(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"MZ") {
        return false;
    }
    let pe_offset = bytes
        .get(0x3C..0x40)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes);
    let has_pe = pe_offset
        .and_then(|off| usize::try_from(off).ok())
        .and_then(|off| bytes.get(off..off.checked_add(4)?))
        .is_some_and(|sig| sig == b"PE\0\0");
    has_pe || (bytes.len() >= 64 && !crate::charset::is_probably_text(bytes))
}

/// Mach-O (thin, or universal `CAFEBABE` with a small architecture count) or a
/// Java class file (`CAFEBABE` followed by a class-file version of 45 or more).
fn mach_o_or_java(bytes: &[u8]) -> Option<FileType> {
    let magic = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    match magic {
        0xFEED_FACE | 0xFEED_FACF | 0xCEFA_EDFE | 0xCFFA_EDFE | 0xCAFE_BABF => {
            Some(FileType::MachO)
        }
        0xCAFE_BABE => {
            let next = u32::from_be_bytes(bytes.get(4..8)?.try_into().ok()?);
            // A fat binary counts its architectures (a handful); a class file has
            // minor version (usually 0) and major version 45 (Java 1.1) or more.
            if (1..=30).contains(&next) {
                Some(FileType::MachO)
            } else if next & 0xFFFF >= 45 {
                Some(FileType::JavaClass)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// What kind of zip this is, judged by the names of its entries.
fn zip_flavour(bytes: &[u8]) -> FileType {
    let Ok(archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return FileType::Zip;
    };
    let (mut content_types, mut word, mut xl, mut ppt) = (false, false, false, false);
    let (mut manifest, mut android, mut mimetype) = (false, false, false);
    for name in archive.file_names_raw() {
        match name {
            b"[Content_Types].xml" => content_types = true,
            b"META-INF/MANIFEST.MF" => manifest = true,
            b"AndroidManifest.xml" => android = true,
            b"mimetype" => mimetype = true,
            _ => {}
        }
        word |= name.starts_with(b"word/");
        xl |= name.starts_with(b"xl/");
        ppt |= name.starts_with(b"ppt/");
    }
    if content_types && word {
        FileType::Docx
    } else if content_types && xl {
        FileType::Xlsx
    } else if content_types && ppt {
        FileType::Pptx
    } else if mimetype && opendocument_mimetype(bytes, archive) {
        FileType::OpenDocument
    } else if android {
        FileType::AndroidPackage
    } else if manifest {
        FileType::JavaArchive
    } else {
        FileType::Zip
    }
}

/// True when the zip's `mimetype` entry names an OpenDocument type.
fn opendocument_mimetype(bytes: &[u8], mut archive: zip::ZipArchive<Cursor<&[u8]>>) -> bool {
    const ODF: &[u8] = b"application/vnd.oasis.opendocument.";
    // The standard layout: `mimetype` stored uncompressed as the first entry.
    if bytes.get(30..38) == Some(b"mimetype") && bytes.get(38..38 + ODF.len()) == Some(ODF) {
        return true;
    }
    let Ok(entry) = archive.by_name("mimetype") else {
        return false;
    };
    let mut head = Vec::new();
    entry.take(ODF.len() as u64).read_to_end(&mut head).is_ok() && head == ODF
}

/// A POSIX (ustar) or GNU tar archive.
fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// The name of an archive or compressed format that is not inspected, if `bytes`
/// is one.
pub(crate) fn other_archive(bytes: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"Rar!\x1a\x07", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"MSCF\x00\x00\x00\x00", "cab"),
        (b"LZIP", "lzip"),
        (b"\x1f\x9d", "compress"),
        (b"\x60\xea", "arj"),
        (b"xar!", "xar"),
    ];
    if let Some((_, name)) = MAGICS.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(name);
    }
    if bytes.starts_with(b"BZh") && bytes.get(4..10) == Some(b"1AY&SY") {
        return Some("bzip2");
    }
    if bytes.get(7..14) == Some(b"**ACE**") {
        return Some("ace");
    }
    if [0x8001usize, 0x8801, 0x9001]
        .iter()
        .any(|&at| bytes.get(at..at + 5) == Some(b"CD001"))
    {
        return Some("ISO disk image");
    }
    // Apple disk images end with a 512-byte `koly` trailer.
    let dmg_trailer = bytes
        .len()
        .checked_sub(512)
        .and_then(|at| bytes.get(at..at + 4));
    if dmg_trailer == Some(b"koly") {
        return Some("Apple disk image");
    }
    None
}

/// JPEG, PNG, GIF, TIFF, WebP, HEIC/HEIF and BMP images.
fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xff\xd8\xff")
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
        || bytes.starts_with(b"II*\x00")
        || bytes.starts_with(b"MM\x00*")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || (bytes.get(4..8) == Some(b"ftyp")
            && matches!(
                bytes.get(8..12),
                Some(b"heic" | b"heix" | b"mif1" | b"msf1" | b"avif")
            ))
        || (bytes.starts_with(b"BM")
            && bytes.get(6..10) == Some(&[0, 0, 0, 0])
            && !crate::charset::is_probably_text(bytes))
}

/// An ASCII-armoured OpenPGP message (encrypted or signed-and-encrypted).
fn looks_like_pgp_message(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    memchr::memmem::find(head, b"-----BEGIN PGP MESSAGE-----").is_some()
}

/// An `<!DOCTYPE html>` or `<html` start, after optional whitespace and BOM.
fn looks_like_html(bytes: &[u8]) -> bool {
    let mut head = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    head = &head[..head.len().min(1024)];
    // XHTML (EPUB chapters, saved pages) opens with an XML declaration, and
    // either may come after comments
    loop {
        head = head.trim_ascii_start();
        let close: &[u8] = if head.starts_with(b"<?xml") {
            b"?>"
        } else if head.starts_with(b"<!--") {
            b"-->"
        } else {
            break;
        };
        match memchr::memmem::find(head, close) {
            Some(at) => head = &head[at + close.len()..],
            None => return false,
        }
    }
    let head = &head[..head.len().min(32)];
    let lower = head.to_ascii_lowercase();
    lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html")
}

/// A saved email: the text starts with a block of header lines, at least two of
/// which are common message headers.
fn looks_like_message(bytes: &[u8]) -> bool {
    const KNOWN: &[&str] = &[
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "mime-version",
        "return-path",
        "reply-to",
        "delivered-to",
        "content-type",
    ];
    let head = &bytes[..bytes.len().min(8192)];
    let Ok(head) = std::str::from_utf8(head).or_else(|e| {
        std::str::from_utf8(&head[..e.valid_up_to()]) // a cut multibyte character
    }) else {
        return false;
    };
    let mut known = 0;
    let mut lines = 0;
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) && lines > 0 {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return false;
        }
        lines += 1;
        if KNOWN.contains(&name.to_ascii_lowercase().as_str()) {
            known += 1;
        }
    }
    known >= 2
}

/// The lower-case extension of `name`, ignoring the trailing dots and spaces
/// that Windows drops (`evil.exe.` runs as `evil.exe`).
fn extension(name: Option<&str>) -> Option<String> {
    let name = name?.trim_end_matches(['.', ' ', '\t']);
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty() && !ext.contains(['/', '\\'])).then(|| ext.to_ascii_lowercase())
}

/// Extensions that run, install or open as a program on a double click, and
/// what such a file is called.
const RISKY_EXTENSIONS: &[(&str, &str)] = &[
    ("exe", "Windows program"),
    ("com", "Windows program"),
    ("scr", "Windows screen saver program"),
    ("pif", "Windows program"),
    ("cpl", "Windows control panel program"),
    ("dll", "Windows program library"),
    ("ocx", "Windows program library"),
    ("sys", "Windows driver"),
    ("bat", "Windows batch script"),
    ("cmd", "Windows batch script"),
    ("js", "JavaScript script"),
    ("jse", "JavaScript script"),
    ("vbs", "VBScript script"),
    ("vbe", "VBScript script"),
    ("wsf", "Windows Script Host script"),
    ("wsh", "Windows Script Host script"),
    ("ps1", "PowerShell script"),
    ("psm1", "PowerShell script"),
    ("psd1", "PowerShell script"),
    ("msi", "Windows Installer package"),
    ("msp", "Windows Installer package"),
    ("mst", "Windows Installer package"),
    ("appx", "Windows app package"),
    ("msix", "Windows app package"),
    ("appxbundle", "Windows app package"),
    ("msixbundle", "Windows app package"),
    ("hta", "HTML application"),
    ("chm", "compiled HTML help (can run scripts)"),
    ("msc", "Windows management console file"),
    ("lnk", "Windows shortcut"),
    ("reg", "Windows registry file"),
    ("inf", "Windows setup information file"),
    ("gadget", "Windows gadget"),
    ("jar", "Java application"),
    ("class", "Java program"),
    ("sh", "shell script"),
    ("bash", "shell script"),
    ("csh", "shell script"),
    ("ksh", "shell script"),
    ("zsh", "shell script"),
    ("command", "macOS shell script"),
    ("app", "macOS application"),
    ("pkg", "macOS installer package"),
    ("dmg", "macOS disk image"),
    ("apk", "Android app"),
    ("deb", "Linux package"),
    ("rpm", "Linux package"),
    ("elf", "Linux program"),
    ("bin", "program"),
];

/// The extension of `name` and what it is called, if the name marks a program.
fn risky_extension(name: &str) -> Option<(String, &'static str)> {
    let ext = extension(Some(name))?;
    let (_, what) = RISKY_EXTENSIONS.iter().find(|(e, _)| *e == ext)?;
    // `.bin` is as often data as a program: only content makes it executable.
    (ext != "bin").then_some((ext, *what))
}

/// Why the file is executable, if it is: by content first (whatever the name
/// says), then by name.
pub(crate) fn executable(bytes: &[u8], name: Option<&str>, file_type: FileType) -> Option<String> {
    let by_content: Option<String> = match file_type {
        FileType::WindowsExecutable => Some("Windows program".into()),
        FileType::Elf => Some("Linux program".into()),
        FileType::MachO => Some("macOS program".into()),
        FileType::JavaClass => Some("Java program".into()),
        FileType::JavaArchive => Some("Java application".into()),
        FileType::AndroidPackage => Some("Android app".into()),
        FileType::CompoundDocument if is_windows_installer(bytes) => {
            Some("Windows Installer package".into())
        }
        _ if is_windows_shortcut(bytes) => Some("Windows shortcut".into()),
        _ => shebang(bytes).map(|interpreter| format!("script for {interpreter}")),
    };
    if let Some(what) = by_content {
        return Some(match name {
            Some(name) if risky_extension(name).is_none() => {
                format!("{what} (by content, named {})", printable(name))
            }
            _ => format!("{what} (by content)"),
        });
    }
    let (ext, what) = risky_extension(name?)?;
    Some(format!("{what} (by name, .{})", printable(&ext)))
}

/// The interpreter of a `#!` script, e.g. `/bin/sh`.
fn shebang(bytes: &[u8]) -> Option<String> {
    let rest = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .strip_prefix(b"#!")?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    if !rest.starts_with(b"/") {
        return None;
    }
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len())
        .min(60);
    let path = &rest[..end];
    path.iter()
        .all(|b| b.is_ascii_graphic())
        .then(|| String::from_utf8_lossy(path).into_owned())
}

/// A Windows shell link (`.lnk`): header size 0x4C and the link CLSID.
fn is_windows_shortcut(bytes: &[u8]) -> bool {
    bytes.starts_with(&[
        0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ])
}

/// An OLE2 file whose root storage has the Windows Installer class id (package,
/// patch or transform).
fn is_windows_installer(bytes: &[u8]) -> bool {
    let Some(shift) = bytes
        .get(0x1E..0x20)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
    else {
        return false;
    };
    let Some(first_dir) = bytes
        .get(0x30..0x34)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return false;
    };
    if !(7..=16).contains(&shift) {
        return false;
    }
    let clsid_at = (u64::from(first_dir) + 1)
        .checked_shl(u32::from(shift))
        .and_then(|at| usize::try_from(at).ok())
        .and_then(|at| at.checked_add(0x50));
    let Some(clsid) = clsid_at.and_then(|at| bytes.get(at..at.checked_add(16)?)) else {
        return false;
    };
    matches!(clsid[0], 0x84 | 0x86 | 0x82)
        && clsid[1..] == [0x10, 0x0C, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]
}

/// `name` with control characters replaced and cut to a readable length, for
/// use inside a reason shown to people.
fn printable(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|ch| if ch.is_control() { '?' } else { ch })
        .take(80)
        .collect();
    if name.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::{fake_exe, zip_bytes as zip_with};

    #[test]
    fn programs_by_content() {
        assert_eq!(
            file_type(&fake_exe(), None, None),
            FileType::WindowsExecutable
        );
        assert_eq!(
            file_type(b"\x7fELF\x02\x01\x01\0\0\0", None, None),
            FileType::Elf
        );
        assert_eq!(
            file_type(b"\xcf\xfa\xed\xfe\x07\0\0\x01", None, None),
            FileType::MachO
        );
        // Universal binary with two architectures versus a Java 8 class file.
        assert_eq!(
            file_type(b"\xca\xfe\xba\xbe\0\0\0\x02rest", None, None),
            FileType::MachO
        );
        assert_eq!(
            file_type(b"\xca\xfe\xba\xbe\0\0\0\x34rest", None, None),
            FileType::JavaClass
        );
    }

    #[test]
    fn text_starting_with_mz_is_not_a_program() {
        let text = b"MZ Harrison called about the burglary on Station Road.\n".repeat(3);
        assert_eq!(file_type(&text, Some("note.txt"), None), FileType::Text);
        assert_eq!(executable(&text, Some("note.txt"), FileType::Text), None);
    }

    #[test]
    fn lying_name_does_not_hide_a_program() {
        let exe = fake_exe();
        let t = file_type(&exe, Some("report.pdf"), Some("application/pdf"));
        assert_eq!(t, FileType::WindowsExecutable);
        assert_eq!(
            executable(&exe, Some("report.pdf"), t).as_deref(),
            Some("Windows program (by content, named report.pdf)")
        );
        assert_eq!(
            executable(&exe, Some("setup.exe"), t).as_deref(),
            Some("Windows program (by content)")
        );
    }

    #[test]
    fn executables_by_name() {
        for (name, want) in [
            ("run.bat", "Windows batch script (by name, .bat)"),
            ("invoice.pdf.js", "JavaScript script (by name, .js)"),
            ("Payload.EXE", "Windows program (by name, .exe)"),
            ("trailing.exe. ", "Windows program (by name, .exe)"),
            ("setup.msi", "Windows Installer package (by name, .msi)"),
            ("tool.ps1", "PowerShell script (by name, .ps1)"),
            ("link.lnk", "Windows shortcut (by name, .lnk)"),
        ] {
            assert_eq!(
                executable(b"whatever", Some(name), FileType::Text).as_deref(),
                Some(want),
                "{name}"
            );
        }
        for name in ["notes.txt", "exe", "report.pdf", "data.bin", "archive.zip"] {
            assert_eq!(executable(b"x", Some(name), FileType::Text), None, "{name}");
        }
    }

    #[test]
    fn scripts_and_shortcuts_by_content() {
        let script = b"#!/bin/sh\nrm -rf /tmp/x\n";
        assert_eq!(file_type(script, Some("notes.txt"), None), FileType::Text);
        assert_eq!(
            executable(script, Some("notes.txt"), FileType::Text).as_deref(),
            Some("script for /bin/sh (by content, named notes.txt)")
        );
        assert_eq!(
            executable(b"#!important: bring notes", None, FileType::Text),
            None
        );
        let mut lnk = vec![
            0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
        ];
        lnk.extend_from_slice(&[0; 60]);
        let t = file_type(&lnk, Some("photo.jpg"), None);
        assert_eq!(
            executable(&lnk, Some("photo.jpg"), t).as_deref(),
            Some("Windows shortcut (by content, named photo.jpg)")
        );
    }

    #[test]
    fn windows_installer_by_content() {
        let mut msi = vec![0u8; 1536];
        msi[..8].copy_from_slice(&OLE2_MAGIC);
        msi[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
        msi[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
        let root = 2 * 512;
        msi[root + 0x50..root + 0x60].copy_from_slice(&[
            0x84, 0x10, 0x0C, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
        ]);
        let t = file_type(&msi, Some("update.doc"), None);
        assert_eq!(t, FileType::CompoundDocument);
        assert_eq!(
            executable(&msi, Some("update.doc"), t).as_deref(),
            Some("Windows Installer package (by content, named update.doc)")
        );
        msi[root + 0x50] = 0x06; // a Word document's class id is different
        assert_eq!(executable(&msi, Some("update.doc"), t), None);
    }

    #[test]
    fn zip_flavours_by_entries() {
        let docx = zip_with(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b""),
        ]);
        assert_eq!(file_type(&docx, Some("a.zip"), None), FileType::Docx);
        let xlsx = zip_with(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b""),
        ]);
        assert_eq!(file_type(&xlsx, None, None), FileType::Xlsx);
        let pptx = zip_with(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("ppt/slides/slide1.xml", b""),
        ]);
        assert_eq!(file_type(&pptx, None, None), FileType::Pptx);
        let odt = zip_with(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b""),
        ]);
        assert_eq!(file_type(&odt, None, None), FileType::OpenDocument);
        let epub = zip_with(&[("mimetype", b"application/epub+zip")]);
        assert_eq!(file_type(&epub, None, None), FileType::Zip);
        let jar = zip_with(&[
            ("META-INF/MANIFEST.MF", b"Main-Class: A\n"),
            ("A.class", b""),
        ]);
        let t = file_type(&jar, Some("tool.zip"), None);
        assert_eq!(t, FileType::JavaArchive);
        assert_eq!(
            executable(&jar, Some("tool.zip"), t).as_deref(),
            Some("Java application (by content, named tool.zip)")
        );
        let plain = zip_with(&[("word/notes.txt", b"hello")]);
        assert_eq!(file_type(&plain, None, None), FileType::Zip);
    }

    #[test]
    fn other_types() {
        assert_eq!(file_type(b"%PDF-1.7\n", None, None), FileType::Pdf);
        assert_eq!(file_type(b"\x1f\x8b\x08\0\0\0", None, None), FileType::Gzip);
        assert_eq!(
            file_type(b"Rar!\x1a\x07\x01\0xxxx", Some("a.zip"), None),
            FileType::OtherArchive
        );
        assert_eq!(other_archive(b"7z\xbc\xaf\x27\x1c\0\x04"), Some("7z"));
        assert_eq!(
            file_type(b"\xff\xd8\xff\xe0\0\x10JFIF", None, None),
            FileType::Image
        );
        assert_eq!(
            file_type(&OLE2_MAGIC, Some("a.doc"), None),
            FileType::CompoundDocument
        );
        let mut tar = vec![0u8; 1024];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(file_type(&tar, None, None), FileType::Tar);
        // XHTML as EPUB chapters and saved pages have it
        assert_eq!(
            file_type(
                b"<?xml version=\"1.0\"?>\n<!-- saved -->\n<!DOCTYPE html>\n<html><p>hi",
                Some("ch001.dat"),
                None
            ),
            FileType::Html
        );
        assert_eq!(
            file_type(b"<p>hi</p>", Some("ch001.xhtml"), None),
            FileType::Html
        );
        assert_eq!(
            file_type(b"<?xml version=\"1.0\"?><note>hi</note>", None, None),
            FileType::Text
        );
        assert_eq!(
            file_type(b"<!DOCTYPE html><p>hi", Some("x.dat"), None),
            FileType::Html
        );
        assert_eq!(
            file_type(
                b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n",
                Some("x.asc"),
                None
            ),
            FileType::Encrypted
        );
        assert_eq!(file_type(b"plain words", None, None), FileType::Text);
        assert_eq!(
            file_type(b"\0\x01\x02\x03\x04", None, None),
            FileType::Other
        );
    }

    #[test]
    fn rtf_tnef_and_calendars_by_content() {
        let rtf = b"{\\rtf1\\ansi hello}";
        assert_eq!(file_type(rtf, Some("report.doc"), None), FileType::Rtf);
        assert_eq!(
            file_type(b"\xef\xbb\xbf \r\n{\\RTF1 x}", None, None),
            FileType::Rtf
        );
        assert_eq!(file_type(b"{\\rt", Some("a.rtf"), None), FileType::Text);
        assert_eq!(
            file_type(b"\x78\x9f\x3e\x22\x01\x00", Some("winmail.dat"), None),
            FileType::Tnef
        );
        assert_eq!(
            file_type(b"junk", Some("winmail.dat"), Some("application/ms-tnef")),
            FileType::Tnef
        );
        let mut lzfu = 60u32.to_le_bytes().to_vec();
        lzfu.extend_from_slice(&100u32.to_le_bytes());
        lzfu.extend_from_slice(b"LZFu\0\0\0\0rest");
        assert_eq!(file_type(&lzfu, None, None), FileType::CompressedRtf);
        assert_eq!(
            file_type(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", Some("x.txt"), None),
            FileType::Calendar
        );
        assert_eq!(file_type(b"begin:vcard\n", None, None), FileType::Calendar);
        assert_eq!(
            file_type(b"SUMMARY:x\r\n", Some("invite.ics"), None),
            FileType::Calendar
        );
        assert_eq!(
            file_type(b"FN:x\r\n", None, Some("text/x-vcard; charset=utf-8")),
            FileType::Calendar
        );
    }

    #[test]
    fn saved_email_is_a_message() {
        let eml = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(file_type(eml, Some("fwd.txt"), None), FileType::Message);
        let note = b"Subject: meeting notes\n\nWe met on Tuesday.\n";
        assert_eq!(file_type(note, Some("notes.txt"), None), FileType::Text);
        let prose = b"Dear sir, From: what I gather, To: be honest\n";
        assert_eq!(file_type(prose, None, None), FileType::Text);
    }
}
