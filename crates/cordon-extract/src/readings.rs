//! Every reading of a MIME part that mail clients could disagree on.
//!
//! mail-parser settles each question one way: the first of two
//! `Content-Transfer-Encoding` headers, `filename` over `filename*`, and the
//! encoded text itself when a base64 body holds a stray character. Clients
//! settle them other ways, and an insider only needs one client to show what
//! cordon did not read. So for a part whose headers conflict, whose encoding
//! is unknown or whose body mail-parser could not decode, every combination of
//! its encodings and content types is decoded leniently and inspected at the
//! part's location, and the part is inspected under each file name it carries.
//! A part with one plain reading (nearly all of them) costs a look at its
//! headers and nothing more.

use mail_parser::{Encoding, HeaderName, HeaderValue, Message, MessagePart, MimeHeaders, PartType};

use crate::collector::{Collector, FileRef};
use crate::encoded_file::EncodedFile;
use crate::transfer::{self, TransferEncoding};
use crate::{PartKind, charset, flowed, html, uuencode, yenc};

/// What the headers of one part say, every value of each, in order.
#[derive(Default)]
struct PartHeaders {
    encodings: Vec<TransferEncoding>,
    /// Declared types with parameters, e.g. `text/plain; charset=utf-8`.
    types: Vec<String>,
    names: Vec<String>,
}

impl PartHeaders {
    fn of(part: &MessagePart) -> Self {
        let mut out = PartHeaders::default();
        for header in part.headers() {
            match (&header.name, &header.value) {
                (HeaderName::ContentTransferEncoding, value) => {
                    let label = match value {
                        HeaderValue::Text(text) => text.as_ref(),
                        _ => "",
                    };
                    push_new(&mut out.encodings, TransferEncoding::from_label(label));
                }
                (HeaderName::ContentType, HeaderValue::ContentType(ct)) => {
                    let media_type = match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_owned(),
                    };
                    // One type per charset given: with two `charset`
                    // parameters, clients differ on which one wins.
                    let mut charsets = Vec::new();
                    parameter_values(ct.attributes(), &["charset"], &mut charsets);
                    if charsets.is_empty() {
                        push_new(&mut out.types, media_type.to_ascii_lowercase());
                    }
                    for charset in charsets {
                        let declared = format!("{media_type}; charset={charset}");
                        push_new(&mut out.types, declared.to_ascii_lowercase());
                    }
                    parameter_values(ct.attributes(), &["name"], &mut out.names);
                }
                (HeaderName::ContentDisposition, HeaderValue::ContentType(cd)) => {
                    parameter_values(cd.attributes(), &["filename"], &mut out.names);
                }
                _ => {}
            }
        }
        out
    }

    /// True when clients could read the part differently from mail-parser.
    fn ambiguous(&self, part: &MessagePart, raw: &[u8]) -> bool {
        let decoded_as = |e: &TransferEncoding| match e {
            TransferEncoding::Base64 => part.encoding == Encoding::Base64,
            TransferEncoding::QuotedPrintable => part.encoding == Encoding::QuotedPrintable,
            _ => part.encoding == Encoding::None,
        };
        part.is_encoding_problem
            // mail-parser did not recognise the encoding (a comment after it, ...)
            || !self.encodings.iter().all(decoded_as)
            || (self.encodings == [TransferEncoding::Base64] && transfer::base64_is_damaged(raw))
            || self.encodings.len() > 1
            || self.types.len() > 1
            || self.names.len() > 1
            || self
                .encodings
                .iter()
                .any(|e| matches!(e, TransferEncoding::Unknown(_) | TransferEncoding::Uuencode))
    }
}

/// Adds every alternative reading of the leaf parts of `message`. `location`
/// gives each part's location as the main walk named it.
pub(crate) fn alternative_readings(
    c: &mut Collector,
    message: &Message,
    depth: u32,
    location: impl Fn(u32) -> Option<(String, PartKind)>,
) {
    let boundaries = boundaries(message);
    for (id, part) in message.parts.iter().enumerate() {
        if let PartType::Multipart(_) = part.body {
            other_boundaries(c, message, part, depth, || {
                u32::try_from(id).ok().and_then(&location)
            });
            continue;
        }
        if let PartType::Message(_) = part.body {
            continue;
        }
        let headers = PartHeaders::of(part);
        let raw = message
            .raw_message()
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default();
        if let Some(rest) = swallowed_parts(raw, &boundaries)
            && let Some((location, _)) = u32::try_from(id).ok().and_then(&location)
        {
            read_again_as_multipart(c, &location, &rest, depth);
        }
        if !headers.ambiguous(part, raw) {
            continue;
        }
        let Some((location, kind)) = u32::try_from(id).ok().and_then(&location) else {
            continue;
        };
        let seen = part.contents();
        read_every_way(c, &headers, raw, seen, &location, kind, depth);
        // Under each other name the part carries, for the executable check.
        let primary = part.attachment_name().map(str::trim);
        if headers.names.len() > 1 {
            for name in headers.names.iter().filter(|n| primary != Some(n.as_str())) {
                let file = FileRef {
                    location: &format!("{location} (also named {name})"),
                    name: Some(name),
                    declared: headers.types.first().map(String::as_str),
                    depth,
                    inline: false,
                };
                c.file(&file, part.contents());
            }
        }
    }
}

/// Decodes `raw` with each transfer encoding and reads the result as each
/// declared type; `seen` is what the main walk already inspected.
fn read_every_way(
    c: &mut Collector,
    headers: &PartHeaders,
    raw: &[u8],
    seen: &[u8],
    location: &str,
    kind: PartKind,
    depth: u32,
) {
    let identity = [TransferEncoding::Identity];
    let encodings = if headers.encodings.is_empty() {
        &identity[..]
    } else {
        &headers.encodings[..]
    };
    let mut decoded: Vec<Vec<u8>> = Vec::new();
    for encoding in encodings {
        let readings = match encoding {
            TransferEncoding::Identity => vec![raw.to_vec()],
            TransferEncoding::Base64 => transfer::base64_readings(raw),
            TransferEncoding::QuotedPrintable => vec![transfer::quoted_printable(raw)],
            TransferEncoding::Uuencode => {
                let budget = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
                match uuencode::decode_part(raw, budget) {
                    Some(file) => vec![file.bytes],
                    None => {
                        c.problem(location, "uuencoded content that cannot be decoded");
                        Vec::new()
                    }
                }
            }
            TransferEncoding::Unknown(label) => {
                c.problem(
                    location,
                    format!("unknown transfer encoding \"{label}\" (cannot be decoded)"),
                );
                vec![raw.to_vec()]
            }
        };
        for reading in readings {
            // The bytes the main walk read, under the one type it read them
            // as, are no new reading; under another declared type they are.
            if reading == seen && headers.types.len() <= 1 {
                continue;
            }
            if c.charge_expanded(reading.len() as u64).is_err() {
                c.problem(location, "expanded size limit reached");
                return;
            }
            push_new(&mut decoded, reading);
        }
    }
    let plain = ["text/plain".to_owned()];
    let types = if headers.types.is_empty() {
        &plain[..]
    } else {
        &headers.types[..]
    };
    for bytes in &decoded {
        for declared in types {
            read_as(
                c,
                bytes,
                declared,
                location,
                kind,
                headers.names.first(),
                depth,
            );
        }
    }
}

/// Inspects decoded bytes as the declared type says: plain text and HTML as
/// text of the part, anything else (other text formats included: calendars,
/// cards, enriched text, RTF) as the file it claims to be, which the format
/// readers know how to read.
fn read_as(
    c: &mut Collector,
    bytes: &[u8],
    declared: &str,
    location: &str,
    kind: PartKind,
    name: Option<&String>,
    depth: u32,
) {
    let media_type = declared.split(';').next().unwrap_or_default().trim();
    let charset = crate::formats::declared_charset(Some(declared));
    if media_type == "text/html" {
        let rendered = html::render(&charset::decode(bytes, charset));
        if let Some(reason) = rendered.unrendered {
            c.problem(location, reason);
        }
        c.alternative_text(location, kind, &rendered.visible);
        if let Some(full) = &rendered.full {
            c.alternative_text(location, kind, full);
        }
    } else if media_type == "text/plain" {
        c.alternative_text(location, kind, &charset::decode(bytes, charset));
    } else {
        let file = FileRef {
            location,
            name: name.map(String::as_str),
            declared: Some(declared),
            depth,
            inline: false,
        };
        c.file(&file, bytes);
    }
}

/// Readings of the plain-text bodies that clients render beyond the bytes:
/// `format=flowed` text joined as RFC 3676 clients join it (the text as sent
/// is read too), and uuencoded or yEnc files inside the text, which clients
/// show as attachments. `attachment_at` names such a file's location.
pub(crate) fn text_body_readings(
    c: &mut Collector,
    message: &Message,
    body_location: &str,
    depth: u32,
    attachment_at: impl Fn(&str) -> String,
) {
    let mut found = 0usize;
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let PartType::Text(text) = &part.body else {
            continue;
        };
        if let Some(ct) = part.content_type()
            && ct
                .attribute("format")
                .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
        {
            let delsp = ct
                .attribute("delsp")
                .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
            c.alternative_text(body_location, PartKind::Body, &flowed::unflow(text, delsp));
        }
        let bytes = text.as_bytes();
        let budget = || usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
        let mut files: Vec<EncodedFile> = Vec::new();
        if memchr::memmem::find(bytes, b"begin").is_some() {
            files.extend(uuencode::find_blocks(bytes, budget()));
        }
        if memchr::memmem::find(bytes, b"=ybegin").is_some() {
            files.extend(yenc::find_blocks(bytes, budget()));
        }
        for file in files {
            found += 1;
            let label = file
                .name
                .as_deref()
                .map(|n| n.trim().replace('/', "_"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("encoded-file-{found}"));
            if c.charge_expanded(file.bytes.len() as u64).is_err() {
                c.problem(body_location, "expanded size limit reached");
                return;
            }
            let location = attachment_at(&label);
            let reference = FileRef {
                location: &location,
                name: file.name.as_deref(),
                declared: None,
                depth,
                inline: false,
            };
            c.file(&reference, &file.bytes);
        }
    }
}

/// Most multipart boundaries looked for inside other parts.
const MAX_BOUNDARIES: usize = 16;

/// The boundaries every multipart of the message declares.
fn boundaries(message: &Message) -> Vec<String> {
    let mut out = Vec::new();
    for part in &message.parts {
        if let PartType::Multipart(_) = part.body
            && let Some(boundary) = part.content_type().and_then(|ct| ct.attribute("boundary"))
            && !boundary.is_empty()
            && out.len() < MAX_BOUNDARIES
        {
            push_new(&mut out, boundary.to_owned());
        }
    }
    out
}

/// A multipart whose headers give more than one boundary (two `boundary`
/// parameters, two `Content-Type` headers): mail-parser splits it at one, and
/// the parts another client would split at the other are preamble to it, never
/// read. Its body is read again as a multipart of each other boundary.
fn other_boundaries(
    c: &mut Collector,
    message: &Message,
    part: &MessagePart,
    depth: u32,
    location: impl FnOnce() -> Option<(String, PartKind)>,
) {
    let used = part.content_type().and_then(|ct| ct.attribute("boundary"));
    let mut declared = Vec::new();
    for header in part.headers() {
        if let (HeaderName::ContentType, HeaderValue::ContentType(ct)) =
            (&header.name, &header.value)
        {
            parameter_values(ct.attributes(), &["boundary"], &mut declared);
        }
    }
    declared.retain(|b| Some(b.as_str()) != used);
    if declared.is_empty() {
        return;
    }
    let Some((location, _)) = location() else {
        return;
    };
    let body = message
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    for boundary in declared.iter().take(MAX_BOUNDARIES) {
        if let Some(parts) = swallowed_parts(body, std::slice::from_ref(boundary)) {
            read_again_as_multipart(c, &location, &parts, depth);
        }
    }
}

/// Reads `parts` (a multipart made by [`swallowed_parts`]) as a message
/// nested in the part at `location`; the copy counts against the budget.
fn read_again_as_multipart(c: &mut Collector, location: &str, parts: &[u8], depth: u32) {
    if c.charge_expanded(parts.len() as u64).is_err() {
        c.problem(location, "expanded size limit reached");
        return;
    }
    c.nested_message(location, parts, depth + 1);
}

/// When a leaf part's body holds a delimiter line of one of the message's
/// multiparts, mail-parser has swallowed the parts that follow an unclosed
/// inner multipart into it, where clients see them as parts of their own:
/// returns them as a multipart of that boundary, to be read as such.
fn swallowed_parts(raw: &[u8], boundaries: &[String]) -> Option<Vec<u8>> {
    let (start, boundary) = boundaries
        .iter()
        .find_map(|boundary| first_delimiter(raw, boundary).map(|at| (at, boundary)))?;
    let mut rest = format!(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    )
    .into_bytes();
    rest.extend_from_slice(&raw[start..]);
    Some(rest)
}

/// Where the first delimiter line `--BOUNDARY` (not the closing
/// `--BOUNDARY--`) starts in `raw`, if any.
fn first_delimiter(raw: &[u8], boundary: &str) -> Option<usize> {
    let delimiter = format!("--{boundary}");
    // a delimiter line: `--BOUNDARY` at a line start, then only transport
    // padding (spaces, tabs) to the line end
    let opens_at = |at: usize| {
        let rest = &raw[at + delimiter.len()..];
        let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        (at == 0 || raw[at - 1] == b'\n')
            && rest[..line_end]
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    };
    memchr::memmem::find_iter(raw, delimiter.as_bytes()).find(|&at| opens_at(at))
}

/// Appends the distinct, non-empty values of the parameters named `keys`.
fn parameter_values(
    attributes: Option<&[mail_parser::Attribute]>,
    keys: &[&str],
    out: &mut Vec<String>,
) {
    for attribute in attributes.unwrap_or_default() {
        if keys.iter().any(|k| attribute.name.eq_ignore_ascii_case(k)) {
            let name = attribute.value.trim();
            if !name.is_empty() {
                push_new(out, name.to_owned());
            }
        }
    }
}

/// Appends `item` unless `list` already holds it: readings keep their order.
fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, extract};

    #[test]
    fn the_first_delimiter_is_an_opening_line() {
        let raw = b"x\r\n--b--\r\n--bx\r\n--b \r\nrest";
        assert_eq!(first_delimiter(raw, "b"), Some(16));
        assert_eq!(first_delimiter(b"--b\r\n", "b"), Some(0));
        assert_eq!(first_delimiter(b"a--b\r\n", "b"), None);
    }

    #[test]
    fn a_well_formed_multipart_is_read_once() {
        // no part swallowed another, so nothing is read again
        let mut message = b"From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n".to_vec();
        for _ in 0..50 {
            message.extend_from_slice(b"--b\r\nContent-Type: text/plain\r\n\r\nJM 41 29 87 B\r\n");
        }
        message.extend_from_slice(b"--b--\r\n");
        let x = extract(&message, &Limits::default());
        let ninos = x.parts.iter().filter(|p| p.text.contains("JM 41 29 87 B"));
        assert_eq!(ninos.count(), 50);
    }
}
