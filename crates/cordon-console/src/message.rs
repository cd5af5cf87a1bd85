//! A held message's bytes, made safe to show: the header block as text, the
//! extracted text parts, and its attachments (listed, and downloadable only
//! as files).

use cordon_extract::{Extraction, Limits, extract};
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// Most bytes of the header block shown.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Longest download file name (characters, before the extension is kept).
const MAX_FILENAME_CHARS: usize = 100;

/// One attachment of the message itself (a MIME part that can be
/// downloaded): its index among the message's attachments, its location as
/// the extractor names it, its name and its decoded size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MimeAttachment {
    /// Index among the message's attachments (the `{n}` of the download).
    pub index: usize,
    /// `attachment:<name>` (or `attachment:part-<n>`), as in the findings.
    pub location: String,
    /// The name the sender gave, if any.
    pub name: Option<String>,
    /// Decoded size in bytes.
    pub size: u64,
}

/// What the message view needs from the bytes.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The top-level header block, as (lossy UTF-8) text.
    pub headers: String,
    /// Whether the header block was cut at [`MAX_HEADER_BYTES`].
    pub headers_cut: bool,
    /// The extracted text parts, files and problems.
    pub extraction: Extraction,
    /// The downloadable attachments.
    pub attachments: Vec<MimeAttachment>,
}

/// Reads `bytes` for display. Never fails: what cannot be parsed simply
/// yields less.
pub(crate) fn load(bytes: &[u8], limits: &Limits) -> Loaded {
    let (headers, headers_cut) = header_block(bytes);
    let attachments = each_attachment(bytes, |index, location, name, content| MimeAttachment {
        index,
        location,
        name,
        size: u64::try_from(content.len()).unwrap_or(u64::MAX),
    });
    Loaded {
        headers,
        headers_cut,
        extraction: extract(bytes, limits),
        attachments,
    }
}

/// The attachment at `index`: its download file name and content.
pub(crate) fn attachment(bytes: &[u8], index: usize) -> Option<(String, Vec<u8>)> {
    each_attachment(bytes, |i, _, name, content| {
        (i == index).then(|| (download_name(name.as_deref(), i), content.to_vec()))
    })
    .into_iter()
    .flatten()
    .next()
}

/// The header block of the message (up to the first empty line).
fn header_block(bytes: &[u8]) -> (String, bool) {
    let end = find(bytes, b"\r\n\r\n")
        .into_iter()
        .chain(find(bytes, b"\n\n"))
        .min()
        .unwrap_or(bytes.len());
    let cut = end > MAX_HEADER_BYTES;
    let block = bytes.get(..end.min(MAX_HEADER_BYTES)).unwrap_or_default();
    (String::from_utf8_lossy(block).into_owned(), cut)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Calls `each` with (index, location, name, decoded content) for every
/// attachment of the message, in the order and with the names the
/// extractor uses (so locations match the findings).
fn each_attachment<T>(
    bytes: &[u8],
    mut each: impl FnMut(usize, String, Option<String>, &[u8]) -> T,
) -> Vec<T> {
    let Some(message) = MessageParser::new().parse(bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, &id) in message.attachments.iter().enumerate() {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let name = part
            .attachment_name()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let label = name
            .as_ref()
            .map(|n| n.replace('/', "_"))
            .unwrap_or_else(|| format!("part-{}", index + 1));
        let content: &[u8] = match &part.body {
            PartType::Text(text) | PartType::Html(text) => text.as_bytes(),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes,
            PartType::Message(nested) => nested.raw_message(),
            PartType::Multipart(_) => continue,
        };
        out.push(each(index, format!("attachment:{label}"), name, content));
    }
    out
}

/// A file name safe for `Content-Disposition`: only ASCII letters, digits,
/// `.`, `-` and `_` (others become `_`), no leading dot, bounded length;
/// `attachment-<n>.bin` if nothing is left.
pub(crate) fn download_name(name: Option<&str>, index: usize) -> String {
    let name = name.unwrap_or_default();
    // Only the last path segment: a name may be `..\..\x.exe`.
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean = clean.trim_start_matches(['.', '_']).to_owned();
    if clean.chars().count() > MAX_FILENAME_CHARS {
        let (stem, ext) = match clean.rsplit_once('.') {
            Some((stem, ext)) if ext.len() <= 10 => (stem.to_owned(), format!(".{ext}")),
            _ => (clean.clone(), String::new()),
        };
        clean = stem.chars().take(MAX_FILENAME_CHARS).collect::<String>() + &ext;
    }
    if clean.chars().all(|c| c == '.' || c == '_') {
        format!("attachment-{}.bin", index + 1)
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: a@northshire.police.uk\r\n\
To: b@gmail.com\r\n\
Subject: files\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
Body text.\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"../evil\\\" name.exe\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
TVqQAAMAAAAEAAAA\r\n\
--b\r\n\
Content-Type: text/csv\r\n\
Content-Disposition: attachment\r\n\
\r\n\
a,b\r\n\
--b--\r\n";

    #[test]
    fn lists_attachments_with_extractor_locations() {
        let loaded = load(MESSAGE, &Limits::default());
        assert!(loaded.headers.starts_with("From: a@northshire.police.uk"));
        assert!(loaded.headers.ends_with("boundary=\"b\""));
        assert!(!loaded.headers_cut);
        assert_eq!(loaded.attachments.len(), 2);
        assert_eq!(loaded.attachments[0].index, 0);
        assert_eq!(loaded.attachments[0].size, 12);
        assert_eq!(loaded.attachments[1].location, "attachment:part-2");
        // The extractor names them the same way.
        for a in &loaded.attachments {
            assert!(
                loaded
                    .extraction
                    .attachments
                    .iter()
                    .any(|e| e.location == a.location),
                "{} not among {:?}",
                a.location,
                loaded.extraction.attachments
            );
        }
        let (name, content) = attachment(MESSAGE, 0).unwrap();
        assert_eq!(&content[..2], b"MZ");
        assert!(!name.contains('/') && !name.contains('"') && !name.starts_with('.'));
        assert_eq!(name, "evil__name.exe");
        assert_eq!(attachment(MESSAGE, 1).unwrap().0, "attachment-2.bin");
        assert!(attachment(MESSAGE, 2).is_none());
        assert!(attachment(b"garbage", 0).is_none());
    }

    #[test]
    fn download_names_are_sanitised() {
        assert_eq!(download_name(Some("case notes.pdf"), 0), "case_notes.pdf");
        assert_eq!(download_name(Some("..\\..\\x.exe"), 0), "x.exe");
        assert_eq!(download_name(Some("\"\r\n;.txt"), 3), "txt");
        assert_eq!(download_name(Some("....."), 3), "attachment-4.bin");
        assert_eq!(download_name(Some("réseau.doc"), 0), "r_seau.doc");
        assert_eq!(download_name(None, 0), "attachment-1.bin");
        let long = format!("{}.docx", "a".repeat(300));
        assert_eq!(
            download_name(Some(&long), 0),
            format!("{}.docx", "a".repeat(100))
        );
    }

    #[test]
    fn header_block_is_bounded() {
        let mut big = b"X-Long: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES * 2));
        let (text, cut) = header_block(&big);
        assert!(cut);
        assert_eq!(text.len(), MAX_HEADER_BYTES);
        assert_eq!(header_block(b"").0, "");
        assert_eq!(header_block(b"A: b\n\nbody").0, "A: b");
    }
}
