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
