//! File type sniffing by content, and the executable test (by content or by name).

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
    /// An RFC 5322 message.
    Message,
    /// An image.
    Image,
    /// Windows PE / DOS MZ executable.
    WindowsExecutable,
    /// ELF executable or shared object.
    Elf,
    /// Mach-O executable.
    MachO,
    /// Anything else.
    Other,
}

/// The type of `bytes`, from magic numbers first, then the declared type and name.
pub(crate) fn file_type(bytes: &[u8], name: Option<&str>, declared: Option<&str>) -> FileType {
    let declared = declared.unwrap_or("").to_ascii_lowercase();
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"MZ") {
        FileType::WindowsExecutable
    } else if bytes.starts_with(b"\x7fELF") {
        FileType::Elf
    } else if bytes.starts_with(b"%PDF-") {
        FileType::Pdf
    } else if bytes.starts_with(b"PK\x03\x04") {
        FileType::Zip
    } else if declared.starts_with("message/rfc822") || ext == "eml" {
        FileType::Message
    } else if declared.starts_with("text/html") || ext == "html" || ext == "htm" {
        FileType::Html
    } else if declared.starts_with("text/") || crate::charset::is_probably_text(bytes) {
        FileType::Text
    } else if declared.starts_with("image/") {
        FileType::Image
    } else {
        FileType::Other
    }
}

/// Why the file is executable, if it is.
pub(crate) fn executable(_bytes: &[u8], name: Option<&str>, file_type: FileType) -> Option<String> {
    match file_type {
        FileType::WindowsExecutable => return Some("Windows program (by content)".into()),
        FileType::Elf => return Some("Linux program (by content)".into()),
        FileType::MachO => return Some("macOS program (by content)".into()),
        _ => {}
    }
    let ext = name?.rsplit_once('.')?.1.to_ascii_lowercase();
    const RISKY: &[&str] = &[
        "exe", "com", "bat", "cmd", "scr", "js", "vbs", "ps1", "msi", "jar",
    ];
    RISKY
        .contains(&ext.as_str())
        .then(|| format!("program or script by name (.{ext})"))
}
