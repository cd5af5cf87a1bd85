//! MIME walking with mail-parser: headers, bodies and attachments of one message.

use mail_parser::{
    Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use crate::collector::{Collector, FileRef};
use crate::{HeaderAddresses, PartKind, charset, readings};

/// Headers that carry a classification label: the protective-marking headers
/// and the Microsoft Purview (MIP) label header.
const CLASSIFICATION_HEADERS: &[&str] = &[
    "x-protective-marking",
    "x-classification",
    "x-security-classification",
    "x-classification-marking",
    "msip_labels",
    "x-msip-labels",
    "x-titus-labels",
];

/// Free-text headers other than the subject that people can type into.
const FREE_TEXT_HEADERS: &[&str] = &["comments", "keywords", "summary"];

/// Extracts one message: top-level when `prefix` is `None`, otherwise a nested
/// message whose locations start with `prefix`.
pub(crate) fn extract_message(c: &mut Collector, bytes: &[u8], prefix: Option<&str>, depth: u32) {
    let parser = MessageParser::new().default_header_text();
    // Where the header block stops being one: clients (and RFC 5322 parsers
    // such as Python's) show everything from a line that is neither a header
    // field nor a continuation as body, while mail-parser takes such lines
    // for headers and nothing reads them.
    let stray = first_non_header_line(bytes);
    let Some(message) = parser.parse(bytes) else {
        if stray != Some(0) {
            c.problem(located(prefix, "message"), "not a readable MIME message");
        }
        // A message without a header block is all body, as a client shows it;
        // an unreadable one fails closed, but detectors still see its bytes.
        c.text(
            located(prefix, "body"),
            PartKind::Body,
            &charset::decode(bytes, None),
        );
        return;
    };
    if let Some(at) = stray {
        c.text(
            located(prefix, "body"),
            PartKind::Body,
            &charset::decode(&bytes[at..], None),
        );
    }
    if prefix.is_none() {
        c.set_addresses(addresses(&message));
        if let Some(subject) = message.subject() {
            c.set_subject(subject);
        }
    }
    headers(c, &message, prefix);
    encrypted_parts(c, &message, prefix);
    bodies(c, &message, prefix);
    attachments(c, &message, prefix, depth);
    readings::text_body_readings(c, &message, &located(prefix, "body"), depth, |label| {
        attachment_at(prefix, label)
    });
    readings::alternative_readings(c, &message, depth, |id| {
        let body = || (located(prefix, "body"), PartKind::Body);
        if message.text_body.contains(&id) || message.html_body.contains(&id) {
            return Some(body());
        }
        match message.attachments.iter().position(|&a| a == id) {
            Some(index) => {
                let part = message.parts.get(id as usize)?;
                Some((attachment_location(prefix, index, part), PartKind::Document))
            }
            // a multipart: what another reading finds in it is the body's
            None => Some(body()),
        }
    });
}

/// The offset of the first line of the header block that is neither a header
/// field (`Name:`, the name printable ASCII without spaces), a continuation
/// (starting with a space or tab) nor, first of all, an mbox `From ` line;
/// `None` when the header block is well formed up to its blank line.
fn first_non_header_line(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        let is_field = match memchr::memchr(b':', line) {
            Some(colon) => colon > 0 && line[..colon].iter().all(|&b| b.is_ascii_graphic()),
            None => false,
        };
        let continuation = start > 0 && matches!(line[0], b' ' | b'\t');
        let mbox = start == 0 && line.starts_with(b"From ");
        if !(is_field || continuation || mbox) {
            return Some(start);
        }
        start = end + 1;
    }
    None
}

/// Where an attachment stands: `attachment:NAME` at the top level, `PREFIX/NAME`
/// inside a nested message, `part-N` (1-based among the attachments) without a name.
fn attachment_location(prefix: Option<&str>, index: usize, part: &MessagePart) -> String {
    let label = attachment_name(part)
        .map(|n| n.replace('/', "_"))
        .unwrap_or_else(|| format!("part-{}", index + 1));
    attachment_at(prefix, &label)
}

/// The location of a file labelled `label` carried by the message at `prefix`.
fn attachment_at(prefix: Option<&str>, label: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix}/{label}"),
        None => format!("attachment:{label}"),
    }
}

/// The file name the part gives, if any.
fn attachment_name<'a>(part: &'a MessagePart) -> Option<&'a str> {
    part.attachment_name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

/// S/MIME and PGP encrypted parts cannot be read, so they cannot pass as clean.
fn encrypted_parts(c: &mut Collector, message: &Message, prefix: Option<&str>) {
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let subtype = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let encrypted = match ct.ctype().to_ascii_lowercase().as_str() {
            "multipart" => subtype == "encrypted",
            "application" => {
                // opaque S/MIME (encrypted or signed-data) wraps the content in DER
                subtype == "pgp-encrypted" || subtype == "pkcs7-mime" || subtype == "x-pkcs7-mime"
            }
            _ => false,
        };
        if encrypted {
            c.problem(
                located(prefix, "body"),
                "encrypted or opaque S/MIME or PGP content cannot be inspected",
            );
        }
    }
    let armoured = message.text_body.iter().filter_map(|&id| message.parts.get(id as usize)).any(|part| {
        matches!(&part.body, PartType::Text(text) if text.contains("-----BEGIN PGP MESSAGE-----"))
    });
    if armoured {
        c.problem(
            located(prefix, "body"),
            "PGP-encrypted text cannot be inspected",
        );
    }
}

/// `prefix/what`, or just `what` at the top level.
fn located(prefix: Option<&str>, what: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix}/{what}"),
        None => what.to_owned(),
    }
}

fn headers(c: &mut Collector, message: &Message, prefix: Option<&str>) {
    for header in message.root_part().headers() {
        let name = header.name();
        let lower = name.to_ascii_lowercase();
        let kind = if lower == "subject" {
            PartKind::Subject
        } else if CLASSIFICATION_HEADERS.contains(&lower.as_str()) {
            PartKind::ClassificationHeader
        } else if FREE_TEXT_HEADERS.contains(&lower.as_str()) {
            PartKind::Header
        } else {
            continue;
        };
        let location = if kind == PartKind::Subject {
            located(prefix, "subject")
        } else {
            located(prefix, &format!("header:{name}"))
        };
        match header.value() {
            HeaderValue::Text(text) => c.text(location, kind, text),
            HeaderValue::TextList(list) => c.text(location, kind, &list.join(", ")),
            _ => {}
        }
    }
}

fn bodies(c: &mut Collector, message: &Message, prefix: Option<&str>) {
    let mut seen = Vec::new();
    for &id in message.text_body.iter().chain(&message.html_body) {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let location = located(prefix, "body");
        match &part.body {
            PartType::Text(text) => c.text(location, PartKind::Body, text),
            PartType::Html(html) => c.html(location, PartKind::Body, html),
            _ => {}
        }
    }
}

fn attachments(c: &mut Collector, message: &Message, prefix: Option<&str>, depth: u32) {
    for (index, &id) in message.attachments.iter().enumerate() {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let name = attachment_name(part);
        let location = attachment_location(prefix, index, part);
        let mut declared = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_default();
        let bytes: &[u8] = match &part.body {
            // mail-parser has already decoded the charset of text parts to UTF-8
            PartType::Text(text) | PartType::Html(text) => {
                declared.push_str("; charset=utf-8");
                text.as_bytes()
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes,
            PartType::Message(nested) => {
                declared = "message/rfc822".to_owned();
                nested.raw_message()
            }
            PartType::Multipart(_) => continue,
        };
        let inline = part.content_id().is_some()
            && part.content_disposition().is_none_or(|d| d.is_inline())
            && declared.starts_with("image/");
        let file = FileRef {
            location: &location,
            name,
            declared: Some(&declared),
            depth,
            inline,
        };
        c.file(&file, bytes);
    }
}

fn addresses(message: &Message) -> HeaderAddresses {
    let first = |a: Option<&Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned)
    };
    let mut recipients: Vec<String> = Vec::new();
    for list in [message.to(), message.cc(), message.bcc()]
        .into_iter()
        .flatten()
    {
        for addr in list.iter() {
            if let Some(address) = addr.address()
                && !recipients.iter().any(|r| r.eq_ignore_ascii_case(address))
            {
                recipients.push(address.to_owned());
            }
        }
    }
    HeaderAddresses {
        from: first(message.from()),
        recipients,
    }
}

#[cfg(test)]
mod tests {
    use super::first_non_header_line;

    #[test]
    fn the_header_block_ends_at_its_first_line_that_is_no_field() {
        assert_eq!(first_non_header_line(b"From: a\r\nTo: b\r\n\r\nbody"), None);
        assert_eq!(
            first_non_header_line(b"From a@b Mon\r\nSubject: x\r\n  folded\r\n\r\n"),
            None
        );
        assert_eq!(first_non_header_line(b"NI number: JM 41\r\n"), Some(0));
        assert_eq!(
            first_non_header_line(b"From: a\r\nhello there\r\n\r\n"),
            Some(9)
        );
        assert_eq!(first_non_header_line(b" continued\r\n"), Some(0));
    }
}
