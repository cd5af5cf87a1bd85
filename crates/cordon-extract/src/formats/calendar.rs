//! iCalendar (`.ics`, `text/calendar`) and vCard (`.vcf`, `text/vcard`)
//! files, which mail clients show as an invitation or a contact card.
//!
//! Content lines are unfolded (a line break followed by a space or tab
//! continues the line), vCard 2.1 quoted-printable values (with `=` soft line
//! breaks and their `CHARSET=`) and base64 text values are decoded, `\n \, \;
//! \\` are unescaped, and the text properties a client shows (summary,
//! description, location, names, organisation, address, notes, ...) become
//! [`PartKind::Document`] text at the file's location, one property per line.
//! `X-ALT-DESC` HTML descriptions are read as rendered. Binary `ATTACH`
//! values are nested files; photos, logos, sounds and keys are skipped.

use encoding_rs::Encoding;

use crate::collector::{Collector, FileRef};
use crate::{PartKind, charset, html};

/// Properties whose values a client shows as text.
const TEXT_PROPERTIES: &[&str] = &[
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "COMMENT",
    "CONTACT",
    "RESOURCES",
    "CATEGORIES",
    "X-ALT-DESC",
    "X-WR-CALNAME",
    "X-WR-CALDESC",
    "NOTE",
    "FN",
    "N",
    "NICKNAME",
    "ORG",
    "TITLE",
    "ROLE",
    "ADR",
    "LABEL",
    "EMAIL",
    "TEL",
    "URL",
    "BDAY",
    "ATTACH",
];

/// Properties whose parameters name people (`CN=`), shown as the attendee list.
const PEOPLE_PROPERTIES: &[&str] = &["ATTENDEE", "ORGANIZER"];

/// Binary properties that are never text (pictures, sounds, keys).
const BINARY_PROPERTIES: &[&str] = &["PHOTO", "LOGO", "SOUND", "KEY"];

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug)]
struct ContentLine<'a> {
    /// Upper-case property name without a group prefix.
    name: String,
    params: Vec<(String, String)>,
    value: &'a [u8],
}

/// Parameters of a content line.
impl ContentLine<'_> {
    /// The value of parameter `key` (upper case), if present.
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when a parameter is `key=value` or the bare vCard 2.1 `value`.
    fn has(&self, key: &str, value: &str) -> bool {
        self.params.iter().any(|(k, v)| {
            (k == key && v.eq_ignore_ascii_case(value)) || (v.is_empty() && k == value)
        })
    }

    /// The value is quoted-printable (vCard 2.1).
    fn quoted_printable(&self) -> bool {
        self.has("ENCODING", "QUOTED-PRINTABLE")
    }

    /// The value is base64 (`ENCODING=b`, vCard 2.1 `BASE64`).
    fn base64(&self) -> bool {
        self.has("ENCODING", "B") || self.has("ENCODING", "BASE64")
    }
}

/// Inspects an iCalendar or vCard file.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let declared = super::declared_charset(file.declared);
    let mut text = String::new();
    let mut attachments = 0;
    let lines = logical_lines(bytes);
    for line in &lines {
        let Some(line) = content_line(line) else {
            continue;
        };
        let name = line.name.as_str();
        if BINARY_PROPERTIES.contains(&name) {
            continue;
        }
        if PEOPLE_PROPERTIES.contains(&name) {
            if let Some(cn) = line.param("CN") {
                push_line(&mut text, cn);
            }
            continue;
        }
        if !TEXT_PROPERTIES.contains(&name) {
            continue;
        }
        let binary = line
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("BINARY"));
        if name == "ATTACH" && (binary || line.base64()) {
            attachments += 1;
            attachment(c, file, &line, attachments);
            continue;
        }
        let raw = value_bytes(&line);
        // A `CHARSET=` applies to bytes decoded from escapes; other text has
        // already been decoded with the file's own charset by the MIME layer.
        let charset = if line.quoted_printable() || line.base64() {
            line.param("CHARSET").or(declared)
        } else {
            declared
        };
        let value = decode_text(&raw, charset);
        let value = unescape(&value, matches!(name, "N" | "ADR" | "ORG"));
        if name == "X-ALT-DESC" {
            // both readings of the HTML: as rendered, and in full
            let rendered = html::render(&value);
            push_line(&mut text, &rendered.visible);
            if let Some(full) = &rendered.full {
                push_line(&mut text, full);
            }
        } else {
            push_line(&mut text, &value);
        }
    }
    // Declared a calendar or card but not one: the recipient sees the text.
    let is_calendar = lines.iter().any(|line| {
        let line = line.trim_ascii();
        line.eq_ignore_ascii_case(b"BEGIN:VCALENDAR") || line.eq_ignore_ascii_case(b"BEGIN:VCARD")
    });
    if !is_calendar {
        text = charset::decode(bytes, declared).into_owned();
    }
    if c.charge_expanded(text.len() as u64).is_err() {
        c.problem(file.location, "expanded size limit reached");
        return;
    }
    c.text(file.location, PartKind::Document, &text);
}

/// Appends `value` as a line of its own.
fn push_line(text: &mut String, value: &str) {
    let value = value.trim();
    if !value.is_empty() {
        text.push_str(value);
        text.push('\n');
    }
}

/// A binary `ATTACH` value: inspected as a nested file.
fn attachment(c: &mut Collector, file: &FileRef, line: &ContentLine, index: usize) {
    let data = value_bytes(line);
    if c.charge_expanded(data.len() as u64).is_err() {
        c.problem(file.location, "expanded size limit reached");
        return;
    }
    let name = [
        "X-FILENAME",
        "FILENAME",
        "X-APPLE-FILENAME",
        "X-ORACLE-FILENAME",
    ]
    .iter()
    .find_map(|key| line.param(key))
    .filter(|n| !n.trim().is_empty())
    .map(str::to_owned);
    let label = name
        .as_deref()
        .map(|n| n.replace('/', "_"))
        .unwrap_or_else(|| format!("attachment-{index}"));
    let location = format!("{}/{label}", file.location);
    let nested = FileRef {
        location: &location,
        name: name.as_deref(),
        declared: line.param("FMTTYPE"),
        depth: file.depth + 1,
        inline: false,
    };
    c.file(&nested, &data);
}

/// The bytes of a value after its transfer encoding.
fn value_bytes(line: &ContentLine) -> Vec<u8> {
    if line.quoted_printable() {
        quoted_printable(line.value)
    } else if line.base64() {
        base64(line.value)
    } else {
        line.value.to_vec()
    }
}

/// Decodes value bytes as text in `charset` (UTF-8 when none is given, as
/// iCalendar and vCard 3 and 4 are).
fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    match charset.and_then(|label| Encoding::for_label(label.trim().as_bytes())) {
        Some(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
        None => charset::decode(bytes, None).into_owned(),
    }
}

/// The logical lines of the file: physical lines joined where a line break
/// is followed by a space or tab (folding), or where a quoted-printable
/// vCard 2.1 value ends with a `=` soft line break.
fn logical_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut soft_break = false;
    for physical in bytes.split(|&b| b == b'\n') {
        let physical = physical.strip_suffix(b"\r").unwrap_or(physical);
        match lines.last_mut() {
            Some(last) if matches!(physical.first(), Some(b' ' | b'\t')) => {
                last.extend_from_slice(&physical[1..]);
            }
            Some(last) if soft_break => last.extend_from_slice(physical),
            _ => lines.push(physical.to_vec()),
        }
        let Some(last) = lines.last_mut() else {
            continue;
        };
        soft_break = false;
        if last.ends_with(b"=") && is_quoted_printable_line(last) {
            last.pop();
            soft_break = true;
        }
    }
    lines
}

/// True when the parameters before the value say quoted-printable.
fn is_quoted_printable_line(line: &[u8]) -> bool {
    // Parameters stand in the first kilobyte: looking no further keeps a
    // line of many soft breaks linear.
    let line = &line[..line.len().min(1024)];
    let head_end = memchr::memchr(b':', line).unwrap_or(0);
    let head = line[..head_end].to_ascii_uppercase();
    memchr::memmem::find(&head, b"QUOTED-PRINTABLE").is_some()
}

/// Splits a content line into name, parameters and value.
fn content_line(line: &[u8]) -> Option<ContentLine<'_>> {
    let mut quoted = false;
    let colon = line.iter().position(|&b| {
        if b == b'"' {
            quoted = !quoted;
        }
        b == b':' && !quoted
    })?;
    let head = String::from_utf8_lossy(&line[..colon]);
    let mut parts = split_unquoted(&head, ';').into_iter();
    let name = parts.next()?.trim().to_ascii_uppercase();
    let name = match name.rsplit_once('.') {
        Some((_group, name)) => name.to_owned(),
        None => name,
    };
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (
                k.trim().to_ascii_uppercase(),
                v.trim().trim_matches('"').to_owned(),
            ),
            None => (p.trim().to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some(ContentLine {
        name,
        params,
        value: &line[colon + 1..],
    })
}

/// `text` split at `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if ch == '"' {
            quoted = !quoted;
        } else if ch == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Undoes the text escapes; in structured values (`N`, `ADR`, `ORG`) the
/// component separator `;` becomes a space, as clients show them.
fn unescape(value: &str, structured: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            },
            ';' if structured => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Lenient quoted-printable: `=XX` is a byte, anything else stays as written.
fn quoted_printable(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == b'='
            && let Some(hi) = value.get(i + 1).and_then(|&h| hex(h))
            && let Some(lo) = value.get(i + 2).and_then(|&l| hex(l))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Lenient base64: characters outside the alphabet are ignored, as RFC 2045
/// decoders do.
fn base64(value: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    mail_parser::decoders::base64::base64_decode(&clean).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::{extract_attachment, has_problem, text_at};

    #[test]
    fn invite_with_folded_description() {
        let ics = concat!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:REQUEST\r\n",
            "BEGIN:VEVENT\r\nUID:1@x\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261202T100000Z\r\n",
            "SUMMARY:Case conference\\, room 2\r\n",
            "ORGANIZER;CN=\"Okafor, Sam\":mailto:sam.okafor@northshire.police.uk\r\n",
            "DESCRIPTION:Subject NI JM 41 2\r\n 9 87 B\\nBring the file\\; and notes\r\n",
            "LOCATION:HQ\r\n\tBlock C\r\n",
            "X-ALT-DESC;FMTTYPE=text/html:<p>Operation <b>Nightjar</b></p>\r\n",
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let x = extract_attachment("invite.ics", ics.as_bytes());
        assert_eq!(x.attachments[0].file_type, crate::FileType::Calendar);
        assert_eq!(
            text_at(&x, "attachment:invite.ics", PartKind::Document),
            "Case conference, room 2\nOkafor, Sam\nSubject NI JM 41 29 87 B\nBring the file; and notes\nHQBlock C\nOperation Nightjar"
        );
    }

    #[test]
    fn vcard_21_quoted_printable_with_charset() {
        let vcf = concat!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Bell;Jordan;;Mr;\r\nFN:Jordan Bell\r\n",
            "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Caf=E9 patient, NHS =\r\n",
            "number 401 023 =\r\n2137\r\n",
            "ORG;QUOTED-PRINTABLE:Bell =26 Co\r\n",
            "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\n  AAAQABAAD\r\n\r\n",
            "TITLE;ENCODING=b:U29saWNpdG9y\r\nEND:VCARD\r\n"
        );
        let x = extract_attachment("contact.vcf", vcf.as_bytes());
        assert_eq!(
            text_at(&x, "attachment:contact.vcf", PartKind::Document),
            "Bell Jordan Mr\nJordan Bell\nCafé patient, NHS number 401 023 2137\nBell & Co\nSolicitor"
        );
    }

    #[test]
    fn binary_attach_is_a_nested_file() {
        let ics = concat!(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\n",
            "ATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY;X-FILENAME=list.txt:TkkgSk0gNDEgMjkgODcgQg==\n",
            "ATTACH:https://example.org/agenda\n",
            "END:VEVENT\nEND:VCALENDAR\n"
        );
        let x = extract_attachment("invite.ics", ics.as_bytes());
        assert_eq!(
            text_at(&x, "attachment:invite.ics/list.txt", PartKind::Document),
            "NI JM 41 29 87 B"
        );
        assert_eq!(
            text_at(&x, "attachment:invite.ics", PartKind::Document),
            "https://example.org/agenda"
        );
        assert_eq!(x.attachments[1].depth, 1);
    }

    #[test]
    fn declared_calendar_that_is_not_one_is_text() {
        let x = extract_attachment("invite.ics", b"NI JM 41 29 87 B\nsee you");
        assert_eq!(
            text_at(&x, "attachment:invite.ics", PartKind::Document),
            "NI JM 41 29 87 B\nsee you"
        );
    }

    #[test]
    fn invite_in_an_alternative_part() {
        let message = concat!(
            "From: sam.okafor@northshire.police.uk\r\nTo: a@example.org\r\nSubject: invite\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nInvitation\r\n",
            "--b\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:NI JM 41 2\r\n 9 87 B\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "--b--\r\n"
        );
        let x = crate::extract(message.as_bytes(), &crate::Limits::default());
        let found: Vec<_> = x
            .parts
            .iter()
            .filter(|p| p.text.contains("JM 41 29 87 B"))
            .collect();
        assert!(!found.is_empty(), "{:?}", x.parts);
    }

    #[test]
    fn hostile_input_is_bounded() {
        for input in [
            &b""[..],
            b"BEGIN:VCARD",
            b"NOTE;ENCODING=QUOTED-PRINTABLE:=",
            b"NOTE;ENCODING=QUOTED-PRINTABLE:=4",
            b"NOTE;\"unterminated:quote\n",
            b"\n \n \n=\n",
            b"TITLE;ENCODING=b:!!!!",
            b"N:\\",
        ] {
            let _ = extract_attachment("x.vcf", input);
        }
        // Endless soft breaks and folds are one long line, read once.
        let mut long = b"NOTE;QUOTED-PRINTABLE:".to_vec();
        long.extend(b"ab=\r\n".repeat(100_000));
        long.extend(b"END\r\n");
        let lines = logical_lines(&long);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 22 + 200_003);
    }

    #[test]
    fn fixtures_as_mailed() {
        let x = crate::extract(
            include_bytes!("../../../../fixtures/ics-folded-description-nino.eml"),
            &crate::Limits::default(),
        );
        assert_eq!(
            text_at(&x, "attachment:invite.ics", PartKind::Document),
            "Interview\nSam Okafor\nJordan Bell\nInterview of Jordan Bell, National Insurance number JM 41 29 87 B. Bring photo ID.\nNorthshire HQ, interview room 2"
        );
        let x = crate::extract(
            include_bytes!("../../../../fixtures/vcard-qp-note-nhs-number.eml"),
            &crate::Limits::default(),
        );
        assert_eq!(
            text_at(&x, "attachment:asha-patel.vcf", PartKind::Document),
            "Patel Asha\nAsha Patel\nPatient at St Mary\u{2019}s, NHS number 401 023 2137\nGP: Dr Khan"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_lines_never_panic(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "BEGIN:VCARD", "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:a=", "=E2=80", " folded",
                    "\tfold", "ATTACH;ENCODING=BASE64;VALUE=BINARY:QUJD", "N:a;b;\\", "X-ALT-DESC:<b>x",
                    "ORG;QUOTED-PRINTABLE:=", "ATTENDEE;CN=\"a:b\":x", "\"", ":", ";;;", "TITLE;ENCODING=b:@@",
                ]),
                0..64,
            ),
        ) {
            let text = lines.join("\r\n");
            let x = extract_attachment("c.vcf", text.as_bytes());
            proptest::prop_assert!(!has_problem(&x, "attachment:c.vcf", "the parser failed on this part"));
        }
    }
}
