//! TNEF (`winmail.dat`, `application/ms-tnef`, MS-OXTNEF): the wrapper in
//! which Outlook sends a message's rich body and attachments. Outlook shows
//! what is inside, so it is inspected: the subject, the body (plain
//! `attBody`/`PR_BODY`, `PR_HTML`, and `PR_RTF_COMPRESSED` read as RTF), and
//! every attachment as a nested file at `LOCATION/NAME` under each name it
//! carries (its title, long and short file names), so that the executable
//! check sees them all. Embedded messages (TNEF inside TNEF) recurse through
//! the collector, which bounds depth and parts.

use encoding_rs::Encoding;

use super::{compressed_rtf, rtf};
use crate::collector::{Collector, FileRef};
use crate::{PartKind, charset};

/// The stream's signature, little-endian 0x223E9F78.
const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];

// Attribute ids (the low 16 bits of an attribute tag).
/// `attSubject`: the subject in the stream's code page.
const ATT_SUBJECT: u16 = 0x8004;
/// `attBody`: the plain-text body in the stream's code page.
const ATT_BODY: u16 = 0x800C;
/// `attAttachData`: the content of the current attachment.
const ATT_ATTACH_DATA: u16 = 0x800F;
/// `attAttachTitle`: the (often 8.3) name of the current attachment.
const ATT_ATTACH_TITLE: u16 = 0x8010;
/// `attAttachRendData`: starts an attachment.
const ATT_ATTACH_REND_DATA: u16 = 0x9002;
/// `attMAPIProps`: the message's MAPI properties.
const ATT_MAPI_PROPS: u16 = 0x9003;
/// `attAttachment`: the current attachment's MAPI properties.
const ATT_ATTACHMENT: u16 = 0x9005;
/// `attOemCodepage`: the code page of the stream's 8-bit strings.
const ATT_OEM_CODEPAGE: u16 = 0x9007;

/// `PR_SUBJECT`.
const PR_SUBJECT: u16 = 0x0037;
/// `PR_BODY`: the plain-text body.
const PR_BODY: u16 = 0x1000;
/// `PR_RTF_COMPRESSED`: the RTF body, compressed.
const PR_RTF_COMPRESSED: u16 = 0x1009;
/// `PR_HTML`: the HTML body.
const PR_HTML: u16 = 0x1013;
/// `PR_DISPLAY_NAME`: an attachment's shown name.
const PR_DISPLAY_NAME: u16 = 0x3001;
/// `PR_ATTACH_DATA_BIN` / `_OBJ`: an attachment's content or embedded message.
const PR_ATTACH_DATA: u16 = 0x3701;
/// `PR_ATTACH_FILENAME`: the short file name.
const PR_ATTACH_FILENAME: u16 = 0x3704;
/// `PR_ATTACH_LONG_FILENAME`: the file name Outlook shows.
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
/// `PR_ATTACH_MIME_TAG`: the declared MIME type.
const PR_ATTACH_MIME_TAG: u16 = 0x370E;

/// 8-bit string in the stream's code page.
const PT_STRING8: u16 = 0x001E;
/// UTF-16LE string.
const PT_UNICODE: u16 = 0x001F;
/// Binary data.
const PT_BINARY: u16 = 0x0102;
/// An object: a 16-byte interface id, then its data.
const PT_OBJECT: u16 = 0x000D;
/// The multi-valued flag of a property type.
const MV_FLAG: u16 = 0x1000;

/// Most attributes and properties read from one stream: far more than
/// Outlook writes, few enough to bound the work on a hostile stream.
const MAX_ITEMS: usize = 100_000;

/// A value of a MAPI property that cordon reads.
#[derive(Debug)]
enum Value<'a> {
    /// A string property, decoded.
    Text(String),
    /// Binary or object data (an object without its 16-byte interface id).
    Bytes(&'a [u8]),
}

/// One MAPI property: its id and its first value.
#[derive(Debug)]
struct Property<'a> {
    id: u16,
    value: Value<'a>,
}

/// An attachment being collected from the attribute stream.
#[derive(Debug, Default)]
struct Attachment<'a> {
    names: Vec<String>,
    mime_tag: Option<String>,
    data: Option<&'a [u8]>,
}

impl<'a> Attachment<'a> {
    /// Adds a name it carries, once, and at most four.
    fn add_name(&mut self, name: &str) {
        let name = name.trim_end_matches('\0').trim();
        if !name.is_empty()
            && !self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
            && self.names.len() < 4
        {
            self.names.push(name.to_owned());
        }
    }

    /// Takes what the attachment's MAPI properties say.
    fn properties(&mut self, properties: Vec<Property<'a>>) {
        // The long file name is what Outlook shows: it comes first.
        let mut names: Vec<(u8, String)> = Vec::new();
        for property in properties {
            match (property.id, property.value) {
                (PR_ATTACH_LONG_FILENAME, Value::Text(t)) => names.push((0, t)),
                (PR_ATTACH_FILENAME, Value::Text(t)) => names.push((1, t)),
                (PR_DISPLAY_NAME, Value::Text(t)) => names.push((2, t)),
                (PR_ATTACH_MIME_TAG, Value::Text(t)) => self.mime_tag = Some(t),
                (PR_ATTACH_DATA, Value::Bytes(b)) => self.data = Some(b),
                _ => {}
            }
        }
        names.sort_by_key(|(rank, _)| *rank);
        let mut all = names.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        all.append(&mut self.names);
        for name in all {
            self.add_name(&name);
        }
    }
}

/// Inspects a TNEF stream.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let location = file.location;
    if !bytes.starts_with(&SIGNATURE) || bytes.len() < 6 {
        c.problem(location, "corrupt TNEF (winmail.dat) data");
        return;
    }
    let mut code_page = encoding_rs::WINDOWS_1252;
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut damaged = false;
    let mut at = 6;
    let mut items = 0;
    while at < bytes.len() {
        items += 1;
        if items > MAX_ITEMS {
            damaged = true;
            break;
        }
        let Some(header) = bytes.get(at..at + 9) else {
            // A few stray bytes after the last attribute, as some gateways
            // leave, are too short to hold anything: readers ignore them.
            break;
        };
        let level = header[0];
        let id = u16::from_le_bytes([header[1], header[2]]);
        let length = u32::from_le_bytes([header[5], header[6], header[7], header[8]]) as usize;
        let start = at + 9;
        let Some(data) = start
            .checked_add(length)
            .and_then(|end| bytes.get(start..end))
        else {
            damaged = true;
            // What is there of a cut attribute is still shown by lenient readers.
            let data = &bytes[start.min(bytes.len())..];
            attribute(c, file, level, id, data, &mut code_page, &mut attachments);
            break;
        };
        attribute(c, file, level, id, data, &mut code_page, &mut attachments);
        at = start + length + 2; // the 16-bit checksum is not checked
    }
    if damaged {
        c.problem(location, "corrupt TNEF (winmail.dat) data");
    }
    for (index, attachment) in attachments.into_iter().enumerate() {
        if c.parts_exhausted() {
            break;
        }
        nested_file(c, file, index, attachment);
    }
}

/// Acts on one attribute of the stream.
fn attribute<'a>(
    c: &mut Collector,
    file: &FileRef,
    level: u8,
    id: u16,
    data: &'a [u8],
    code_page: &mut &'static Encoding,
    attachments: &mut Vec<Attachment<'a>>,
) {
    let location = file.location;
    match (level, id) {
        (_, ATT_OEM_CODEPAGE) => {
            if let Some(cp) = data.get(..4) {
                let cp = u32::from_le_bytes([cp[0], cp[1], cp[2], cp[3]]);
                if let Some(encoding) = i32::try_from(cp).ok().and_then(rtf::code_page_encoding) {
                    *code_page = encoding;
                }
            }
        }
        (1, ATT_SUBJECT) => {
            let subject = string8(data, code_page);
            c.text(format!("{location}/subject"), PartKind::Subject, &subject);
        }
        (1, ATT_BODY) => {
            let body = string8(data, code_page);
            c.text(format!("{location}/body"), PartKind::Body, &body);
        }
        (1, ATT_MAPI_PROPS) => {
            let (properties, complete) = mapi_properties(data, code_page);
            if !complete {
                c.problem(location, "corrupt TNEF (winmail.dat) data");
            }
            for property in properties {
                message_property(c, location, file.depth, property);
            }
        }
        (2, ATT_ATTACH_REND_DATA) => attachments.push(Attachment::default()),
        (2, ATT_ATTACH_TITLE) => current(attachments).add_name(&string8(data, code_page)),
        (2, ATT_ATTACH_DATA) => current(attachments).data = Some(data),
        (2, ATT_ATTACHMENT) => {
            let (properties, complete) = mapi_properties(data, code_page);
            if !complete {
                c.problem(location, "corrupt TNEF (winmail.dat) data");
            }
            current(attachments).properties(properties);
        }
        _ => {}
    }
}

/// The attachment being described, starting one if the stream did not.
fn current<'a, 'b>(attachments: &'b mut Vec<Attachment<'a>>) -> &'b mut Attachment<'a> {
    if attachments.is_empty() {
        attachments.push(Attachment::default());
    }
    let last = attachments.len() - 1;
    &mut attachments[last]
}

/// Inspects a message-level MAPI property: subject and the three bodies.
fn message_property(c: &mut Collector, location: &str, depth: u32, property: Property) {
    let body = format!("{location}/body");
    match (property.id, property.value) {
        (PR_SUBJECT, Value::Text(text)) => {
            c.text(format!("{location}/subject"), PartKind::Subject, &text);
        }
        (PR_BODY, Value::Text(text)) => c.text(body, PartKind::Body, &text),
        (PR_BODY, Value::Bytes(bytes)) => {
            c.text(body, PartKind::Body, &charset::decode(bytes, None))
        }
        (PR_HTML, Value::Text(text)) => c.html(body, PartKind::Body, &text),
        (PR_HTML, Value::Bytes(bytes)) => {
            c.html(body, PartKind::Body, &charset::decode(bytes, None));
        }
        (PR_RTF_COMPRESSED, Value::Bytes(bytes)) => {
            let budget = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
            match compressed_rtf::decompress(bytes, budget) {
                Ok(rtf_bytes) => {
                    if c.charge_expanded(rtf_bytes.len() as u64).is_err() {
                        c.problem(location, "expanded size limit reached");
                        return;
                    }
                    let limit = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
                    let text = rtf::parse(&rtf_bytes, limit);
                    let body_file = FileRef {
                        location: &body,
                        name: None,
                        declared: None,
                        depth,
                        inline: false,
                    };
                    rtf::record(c, &body_file, PartKind::Body, &text);
                }
                Err(compressed_rtf::Error::TooLarge) => {
                    c.problem(location, "expanded size limit reached");
                }
                Err(compressed_rtf::Error::NotCompressedRtf) => {
                    c.problem(location, "corrupt compressed RTF body in TNEF");
                }
            }
        }
        _ => {}
    }
}

/// Inspects one attachment under its names: the first (what Outlook shows),
/// and any other whose extension differs (`invoice.pdf` titled, `invoice.pdf.exe`
/// long name), since the extension decides what opens it.
fn nested_file(c: &mut Collector, tnef: &FileRef, index: usize, attachment: Attachment) {
    let Attachment {
        mut names,
        mime_tag,
        data,
    } = attachment;
    if names.is_empty() {
        names.push(format!("attachment-{}", index + 1));
    }
    let data = data.unwrap_or(&[]);
    let mut extensions: Vec<String> = Vec::new();
    for name in &names {
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.trim_end_matches(['.', ' ']).to_ascii_lowercase())
            .unwrap_or_default();
        if extensions.contains(&extension) {
            continue;
        }
        extensions.push(extension);
        let location = format!("{}/{}", tnef.location, name.replace('/', "_"));
        let file = FileRef {
            location: &location,
            name: Some(name),
            declared: mime_tag.as_deref(),
            depth: tnef.depth + 1,
            inline: false,
        };
        c.file(&file, data);
    }
}

/// A legacy TNEF string: bytes in the stream's code page, NUL-terminated.
fn string8(data: &[u8], encoding: &'static Encoding) -> String {
    let end = memchr::memchr(0, data).unwrap_or(data.len());
    encoding
        .decode_without_bom_handling(&data[..end])
        .0
        .into_owned()
}

/// A little-endian `u32` at `at`.
fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The properties of a MAPI property list (`attMAPIProps`, `attAttachment`)
/// that cordon reads, and whether the list was read to its end.
fn mapi_properties<'a>(data: &'a [u8], encoding: &'static Encoding) -> (Vec<Property<'a>>, bool) {
    let mut properties = Vec::new();
    let Some(count) = u32_at(data, 0) else {
        return (properties, false);
    };
    let mut at = 4;
    for _ in 0..(count as usize).min(MAX_ITEMS) {
        let Some(tag) = u32_at(data, at) else {
            return (properties, false);
        };
        at += 4;
        let kind = (tag & 0xFFFF) as u16;
        let id = (tag >> 16) as u16;
        if id >= 0x8000 {
            // A named property: GUID, kind, then a number or a name.
            let Some(name_kind) = u32_at(data, at + 16) else {
                return (properties, false);
            };
            at += 20;
            if name_kind == 0 {
                at += 4;
            } else {
                let Some(length) = u32_at(data, at) else {
                    return (properties, false);
                };
                at = at.saturating_add(4).saturating_add(padded(length as usize));
            }
        }
        let Some((value, next)) = property_value(data, at, kind, encoding) else {
            return (properties, false);
        };
        at = next;
        if let Some(value) = value
            && id < 0x8000
        {
            properties.push(Property { id, value });
        }
    }
    (properties, true)
}

/// `length` rounded up to a multiple of four, as TNEF pads values.
fn padded(length: usize) -> usize {
    length.saturating_add(3) & !3
}

/// The first value of a property of type `kind` at `at`, if it is one cordon
/// reads, and where the next property starts; `None` when the data ends.
fn property_value<'a>(
    data: &'a [u8],
    at: usize,
    kind: u16,
    encoding: &'static Encoding,
) -> Option<(Option<Value<'a>>, usize)> {
    let multi = kind & MV_FLAG != 0;
    let base = kind & !MV_FLAG;
    let fixed = match base {
        0x0002 | 0x000B => Some(2), // short and boolean: padded below
        0x0003 | 0x0004 | 0x000A => Some(4),
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
        0x0048 => Some(16),
        0x0001 => Some(0), // PT_NULL
        _ => None,
    };
    let mut at = at;
    if let Some(size) = fixed {
        let count = if multi {
            let count = u32_at(data, at)? as usize;
            at += 4;
            count
        } else {
            1
        };
        let end = at.checked_add(padded(count.checked_mul(size)?))?;
        return (end <= data.len()).then_some((None, end));
    }
    // Unspecified and server-id values are laid out like binary ones.
    if !matches!(
        base,
        PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT | 0x0000 | 0x00FB
    ) {
        return None; // an unknown type: its size cannot be known
    }
    // Variable-size values: a count (1 unless multi-valued), then each value
    // as a length, the bytes, and padding.
    let count = u32_at(data, at)? as usize;
    at += 4;
    let mut first = None;
    for index in 0..count {
        let length = u32_at(data, at)? as usize;
        at += 4;
        let bytes = data.get(at..at.checked_add(length)?)?;
        at = at.checked_add(padded(length))?.min(data.len());
        if index == 0 {
            first = Some(match base {
                PT_STRING8 => Value::Text(string8(bytes, encoding)),
                PT_UNICODE => {
                    let text = encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0;
                    Value::Text(text.trim_end_matches('\0').to_owned())
                }
                PT_OBJECT => Value::Bytes(bytes.get(16..).unwrap_or(&[])),
                _ => Value::Bytes(bytes),
            });
        }
        if index > MAX_ITEMS {
            return None;
        }
    }
    Some((first, at))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::formats::compressed_rtf;
    use crate::formats::testutil::{extract_attachment, fake_exe, has_problem, text_at};

    /// Builds TNEF streams the way Outlook lays them out.
    #[derive(Default)]
    pub(crate) struct Tnef(Vec<u8>);

    impl Tnef {
        pub(crate) fn new() -> Self {
            let mut out = SIGNATURE.to_vec();
            out.extend_from_slice(&0x0102u16.to_le_bytes());
            Tnef(out)
        }

        pub(crate) fn attribute(mut self, level: u8, tag: u32, data: &[u8]) -> Self {
            self.0.push(level);
            self.0.extend_from_slice(&tag.to_le_bytes());
            self.0.extend_from_slice(&(data.len() as u32).to_le_bytes());
            self.0.extend_from_slice(data);
            let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
            self.0.extend_from_slice(&sum.to_le_bytes());
            self
        }

        pub(crate) fn bytes(self) -> Vec<u8> {
            self.0
        }
    }

    /// A MAPI property list of `(type, id, value bytes)` variable-size values.
    pub(crate) fn props(list: &[(u16, u16, &[u8])]) -> Vec<u8> {
        let mut out = (list.len() as u32).to_le_bytes().to_vec();
        for (kind, id, value) in list {
            out.extend_from_slice(&((u32::from(*id) << 16) | u32::from(*kind)).to_le_bytes());
            if *kind == 0x0003 {
                out.extend_from_slice(value);
                continue;
            }
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
            out.resize(out.len() + padded(value.len()) - value.len(), 0);
        }
        out
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    fn sample() -> Vec<u8> {
        let rtf =
            compressed_rtf::tests::literal_stream(b"{\\rtf1 Operation Nightjar briefing\\par}");
        Tnef::new()
            .attribute(1, 0x0008_9006, &0x0001_0000u32.to_le_bytes())
            .attribute(1, 0x0006_9007, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0])
            .attribute(1, 0x0001_8004, b"Re: caf\xe9 plans\0")
            .attribute(
                1,
                0x0006_9003,
                &props(&[
                    (0x0003, 0x0E07, &[0, 0, 0, 0]),
                    (PT_BINARY, PR_RTF_COMPRESSED, &rtf),
                    (PT_UNICODE, PR_BODY, &utf16("plain body")),
                ]),
            )
            .attribute(
                2,
                0x0006_9002,
                &[1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0],
            )
            .attribute(2, 0x0001_8010, b"NOTES~1.TXT\0")
            .attribute(2, 0x0006_800F, b"Subject NI JM 41 29 87 B")
            .attribute(
                2,
                0x0006_9005,
                &props(&[(
                    PT_UNICODE,
                    PR_ATTACH_LONG_FILENAME,
                    &utf16("case notes.txt"),
                )]),
            )
            .attribute(2, 0x0006_9002, &[1, 0, 0, 0])
            .attribute(2, 0x0001_8010, b"invoice.pdf\0")
            .attribute(2, 0x0006_800F, &fake_exe())
            .attribute(
                2,
                0x0006_9005,
                &props(&[(
                    PT_UNICODE,
                    PR_ATTACH_LONG_FILENAME,
                    &utf16("invoice.pdf.exe"),
                )]),
            )
            .bytes()
    }

    #[test]
    fn body_subject_and_attachments() {
        let x = extract_attachment("winmail.dat", &sample());
        let at = "attachment:winmail.dat";
        assert_eq!(x.attachments[0].file_type, crate::FileType::Tnef);
        assert_eq!(
            text_at(&x, &format!("{at}/subject"), PartKind::Subject),
            "Re: café plans"
        );
        assert_eq!(
            text_at(&x, &format!("{at}/body"), PartKind::Body),
            "Operation Nightjar briefing\nplain body"
        );
        assert_eq!(
            text_at(&x, &format!("{at}/case notes.txt"), PartKind::Document),
            "Subject NI JM 41 29 87 B"
        );
        // The 8.3 title has the same extension: the file is read once.
        assert!(
            !x.attachments
                .iter()
                .any(|a| a.location.ends_with("NOTES~1.TXT"))
        );
        let exe = crate::formats::testutil::file_at(&x, &format!("{at}/invoice.pdf"));
        assert_eq!(exe.depth, 1);
        assert!(exe.executable.is_some(), "{exe:?}");
        // The long name is a second reading, with its own extension.
        assert!(
            x.attachments
                .iter()
                .any(|a| a.location == format!("{at}/invoice.pdf.exe"))
        );
        assert!(x.problems.is_empty(), "{:?}", x.problems);
    }

    #[test]
    fn embedded_message_recurses() {
        let inner = Tnef::new()
            .attribute(1, 0x0002_800C, b"inner body SECRET\0")
            .bytes();
        let mut object = vec![0u8; 16]; // IID_IMessage
        object.extend_from_slice(&inner);
        let outer = Tnef::new()
            .attribute(2, 0x0006_9002, &[5, 0, 0, 0])
            .attribute(
                2,
                0x0006_9005,
                &props(&[
                    (PT_UNICODE, PR_DISPLAY_NAME, &utf16("forwarded")),
                    (PT_OBJECT, PR_ATTACH_DATA, &object),
                ]),
            )
            .bytes();
        let x = extract_attachment("winmail.dat", &outer);
        assert_eq!(
            text_at(&x, "attachment:winmail.dat/forwarded/body", PartKind::Body),
            "inner body SECRET"
        );
    }

    #[test]
    fn hostile_streams_are_bounded() {
        let good = sample();
        for cut in 0..good.len() {
            let x = extract_attachment("winmail.dat", &good[..cut]);
            assert!(!has_problem(
                &x,
                "attachment:winmail.dat",
                "the parser failed on this part"
            ));
        }
        // Huge counts and lengths.
        let huge = Tnef::new()
            .attribute(
                1,
                0x0006_9003,
                &[
                    0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x09, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                ],
            )
            .bytes();
        let x = extract_attachment("winmail.dat", &huge);
        assert!(has_problem(
            &x,
            "attachment:winmail.dat",
            "corrupt TNEF (winmail.dat) data"
        ));
        let mut lying = Tnef::new()
            .attribute(1, 0x0002_800C, b"body NI JM 41 29 87 B")
            .bytes();
        lying[11..15].copy_from_slice(&u32::MAX.to_le_bytes());
        let x = extract_attachment("winmail.dat", &lying);
        assert!(
            text_at(&x, "attachment:winmail.dat/body", PartKind::Body).contains("JM 41 29 87 B")
        );
        // TNEF nested in itself past the depth limit stops there.
        let mut nested = Tnef::new().attribute(1, 0x0002_800C, b"core\0").bytes();
        for _ in 0..20 {
            let mut object = vec![0u8; 16];
            object.extend_from_slice(&nested);
            nested = Tnef::new()
                .attribute(2, 0x0006_9002, &[5, 0, 0, 0])
                .attribute(
                    2,
                    0x0006_9005,
                    &props(&[(PT_OBJECT, PR_ATTACH_DATA, &object)]),
                )
                .bytes();
        }
        let x = extract_attachment("winmail.dat", &nested);
        assert!(
            x.problems
                .iter()
                .any(|p| p.reason == "nesting depth limit reached")
        );
    }

    #[test]
    fn fixture_as_mailed() {
        let x = crate::extract(
            include_bytes!("../../../../fixtures/tnef-winmail-attachment-nino.eml"),
            &crate::Limits::default(),
        );
        let at = "attachment:winmail.dat";
        assert_eq!(
            text_at(&x, &format!("{at}/subject"), PartKind::Subject),
            "Case notes\nCase notes"
        );
        assert_eq!(
            text_at(&x, &format!("{at}/body"), PartKind::Body),
            "Please see the case notes attached."
        );
        assert_eq!(
            text_at(&x, &format!("{at}/case-notes.txt"), PartKind::Document),
            "Statement of Jordan Bell\nNational Insurance number: JM 41 29 87 B"
        );
        assert!(x.problems.is_empty(), "{:?}", x.problems);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

        #[test]
        fn damaged_streams_never_panic(
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::num::u8::ANY),
                0..16,
            ),
        ) {
            let mut bytes = sample();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let x = extract_attachment("winmail.dat", &bytes);
            proptest::prop_assert!(!has_problem(&x, "attachment:winmail.dat", "the parser failed on this part"));
        }
    }
}
