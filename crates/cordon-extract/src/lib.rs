//! Extraction: one message's bytes become a flat list of located, normalised text
//! parts plus facts about every file it carries (sniffed type, executable or not),
//! and a list of parts that could not be inspected.
//!
//! Everything here is a pure function of the bytes and the [`Limits`]: no I/O, no
//! clocks. Hostile input is contained: a part that is corrupt, encrypted, too deep,
//! too large or too compressed becomes a [`Problem`] instead of a crash or a hang,
//! and a panic inside a parser becomes a problem of the part it was parsing.

mod charset;
mod collector;
mod encoded_file;
mod flowed;
mod formats;
mod html;
mod limits;
mod mime;
mod normalize;
mod readings;
pub mod sniff;
mod transfer;
mod uuencode;
mod yenc;

use serde::Serialize;

pub use limits::Limits;
pub use normalize::{is_unseen, normalize};
pub use sniff::FileType;

/// Where in a message a piece of text stands, which decides what counts as a
/// classification marking there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// The `Subject:` header of the message (or of a nested message).
    Subject,
    /// A header that carries a classification label (`X-Protective-Marking`, ...).
    ClassificationHeader,
    /// Another free-text header worth scanning (`Comments`, `Keywords`).
    Header,
    /// A text or HTML body of the message.
    Body,
    /// The name of an attached file.
    FileName,
    /// The main text of an attached document or text file.
    Document,
    /// The page header of an attached document.
    DocumentHeader,
    /// The page footer of an attached document.
    DocumentFooter,
}

impl PartKind {
    /// The kind as `cordon check --text` names it, e.g. `document_footer`.
    pub fn as_str(self) -> &'static str {
        match self {
            PartKind::Subject => "subject",
            PartKind::ClassificationHeader => "classification_header",
            PartKind::Header => "header",
            PartKind::Body => "body",
            PartKind::FileName => "file_name",
            PartKind::Document => "document",
            PartKind::DocumentHeader => "document_header",
            PartKind::DocumentFooter => "document_footer",
        }
    }
}

/// A run of normalised text and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPart {
    /// Human-readable location, e.g. `subject`, `body`, `attachment:bundle.zip/notes.docx:footer`.
    pub location: String,
    /// The kind of place the text stands in.
    pub kind: PartKind,
    /// Normalised text: NFKC, no zero-width characters or soft hyphens, each run of
    /// whitespace folded to one space, or to one `\n` when it held a line break.
    pub text: String,
}

/// A file carried by the message: a MIME attachment, an archive member or a
/// nested message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// Location, e.g. `attachment:tools.zip/collect.exe`.
    #[serde(rename = "where")]
    pub location: String,
    /// The file name as given by the sender, if any.
    pub name: Option<String>,
    /// The type found by looking at the content (not trusting name or header).
    pub file_type: FileType,
    /// Size of the decoded content in bytes.
    pub size: u64,
    /// 0 for a MIME attachment of the message itself, more inside archives or
    /// nested messages.
    pub depth: u32,
    /// Why the file is treated as executable, if it is (by content or by name).
    pub executable: Option<String>,
    /// An inline image referenced by the HTML body, such as a signature logo.
    pub inline: bool,
}

/// A part that could not be inspected, and why: such content is never passed
/// as clean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Location of the part, e.g. `attachment:files.zip/a.txt`.
    #[serde(rename = "where")]
    pub location: String,
    /// Plain-English reason, e.g. `encrypted archive entry`.
    pub reason: String,
}

/// Addresses named in the message's own headers, used when no envelope is given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderAddresses {
    /// First `From:` address.
    pub from: Option<String>,
    /// `To:`, `Cc:` and `Bcc:` addresses in order, without duplicates.
    pub recipients: Vec<String>,
}

/// Everything extraction found in one message.
#[derive(Clone, Debug, Default)]
pub struct Extraction {
    /// Text parts in message order.
    pub parts: Vec<TextPart>,
    /// Every attached file, including archive members and nested messages.
    pub attachments: Vec<Attachment>,
    /// Parts that could not be inspected.
    pub problems: Vec<Problem>,
    /// Addresses from the top-level headers.
    pub addresses: HeaderAddresses,
    /// The top-level subject, decoded (before normalisation), if any.
    pub subject: Option<String>,
    /// Bytes of the message as received.
    pub message_bytes: usize,
}

impl Extraction {
    /// The files attached to the message itself (depth 0, not inline images):
    /// what the "force address to personal address with an attachment" rule
    /// looks at.
    pub fn top_level_attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.attachments
            .iter()
            .filter(|a| a.depth == 0 && !a.inline)
    }
}

/// Extracts text parts and file facts from a raw RFC 5322 message.
///
/// Never panics and never fails: whatever cannot be read is reported in
/// [`Extraction::problems`].
pub fn extract(message: &[u8], limits: &Limits) -> Extraction {
    let mut collector = collector::Collector::new(limits, message.len());
    collector.top_level_message(message);
    collector.finish()
}
