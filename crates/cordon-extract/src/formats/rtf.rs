//! Rich Text Format, read the way Word and Outlook render it.
//!
//! A small RTF tokenizer and interpreter: control words and symbols, groups,
//! `\'hh` escapes decoded with the document's code page (`\ansicpg`) or the
//! current font's character set (`\fcharset`), `\uN` with its `\ucN`
//! fallback skip, `\bin N` binary runs, and destinations that are not shown
//! (font and colour tables, style sheets, pictures, theme data, `\*\...`
//! extensions) skipped. Page headers and footers become
//! [`PartKind::DocumentHeader`] / [`PartKind::DocumentFooter`] at
//! `LOCATION:header` / `LOCATION:footer`; the `\info` title, subject, keywords
//! and comments go to `LOCATION:properties`. Hidden (`\v`) text is kept in
//! the body, since it still leaks; when a document has hidden text, the body
//! as a reader sees it (without that text) is also inspected, at the same
//! location, so hidden text cannot split an identifier.
//!
//! Work is linear in the input, group nesting is bounded, and the text
//! produced is charged to the message's expansion budget.

use encoding_rs::Encoding;

use super::ole1;
use crate::PartKind;
use crate::collector::{Collector, FileRef};

/// Deepest group nesting followed; deeper RTF is reported as uninspectable
/// (its text is still read, with the formatting state of the deepest group).
const MAX_DEPTH: usize = 1024;

/// Longest control word name the RTF specification allows.
const MAX_WORD_LEN: usize = 32;

/// Text read from an RTF document.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RtfText {
    /// The body including hidden text.
    pub body: String,
    /// The body as shown: without `\v` hidden text.
    pub visible: String,
    /// Page header text (all header variants).
    pub header: String,
    /// Page footer text (all footer variants).
    pub footer: String,
    /// Title, subject, keywords and comments from `\info`, one per line.
    pub properties: String,
    /// Some body text was hidden.
    pub had_hidden: bool,
    /// Groups were nested deeper than [`MAX_DEPTH`].
    pub too_deep: bool,
    /// The text reached the output limit and was cut.
    pub truncated: bool,
    /// Embedded objects (`\objdata`), decoded from hex: OLE1 objects.
    pub objects: Vec<Vec<u8>>,
}

/// Most embedded objects read from one document.
const MAX_OBJECTS: usize = 64;

/// Inspects an RTF file: body, header, footer, properties and visible body.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let limit = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
    let text = parse(bytes, limit);
    record(c, file, PartKind::Document, &text);
}

/// Records what [`parse`] read at the locations of the document `file`, its
/// body as `body_kind` (a message body read from RTF is a
/// [`PartKind::Body`]), and inspects its embedded objects as nested files.
pub(crate) fn record(c: &mut Collector, file: &FileRef, body_kind: PartKind, text: &RtfText) {
    let location = file.location;
    let produced = text.produced();
    let over_budget = c.charge_expanded(produced as u64).is_err();
    c.text(location, body_kind, &text.body);
    if text.had_hidden && text.visible != text.body {
        c.alternative_text(location, body_kind, &text.visible);
    }
    c.text(
        format!("{location}:header"),
        PartKind::DocumentHeader,
        &text.header,
    );
    c.text(
        format!("{location}:footer"),
        PartKind::DocumentFooter,
        &text.footer,
    );
    c.text(
        format!("{location}:properties"),
        PartKind::Document,
        &text.properties,
    );
    if text.too_deep {
        c.problem(location, "RTF groups nested too deeply to follow");
    }
    if text.truncated || over_budget {
        c.problem(location, "expanded size limit reached");
    }
    for (index, object) in text.objects.iter().enumerate() {
        if c.parts_exhausted() {
            break;
        }
        embedded_object(c, file, index, object);
    }
}

/// Inspects one `\objdata` object as a file nested in the document.
fn embedded_object(c: &mut Collector, file: &FileRef, index: usize, object: &[u8]) {
    match ole1::read(object) {
        Some(ole1::Object::File { name, data }) => {
            let label = name
                .as_deref()
                .map(|n| n.replace('/', "_"))
                .unwrap_or_else(|| format!("object-{}", index + 1));
            let location = format!("{}/{label}", file.location);
            let nested = FileRef {
                location: &location,
                name: name.as_deref(),
                declared: None,
                depth: file.depth + 1,
                inline: false,
            };
            c.file(&nested, data);
        }
        Some(ole1::Object::Linked) => {}
        None => c.problem(file.location, "embedded object in RTF could not be read"),
    }
}

/// Size accounting of what a document produced.
impl RtfText {
    /// Bytes produced so far, text and objects.
    fn produced(&self) -> usize {
        self.body.len()
            + self.visible.len()
            + self.header.len()
            + self.footer.len()
            + self.properties.len()
            + self.objects.iter().map(Vec::len).sum::<usize>()
    }
}

/// Where the text of a group goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Destination {
    /// The document body (also footnotes, comments, field results, text boxes).
    Body,
    /// A page header.
    Header,
    /// A page footer.
    Footer,
    /// The `\info` group: only its shown properties are kept.
    Info,
    /// A shown document property (title, subject, ...).
    Property,
    /// Hex data of an embedded object.
    ObjectData,
    /// The font table: read for the character sets of fonts.
    FontTable,
    /// Not shown: text is dropped.
    Skip,
}

/// The formatting state a group inherits and restores.
#[derive(Clone, Copy, Debug)]
struct State {
    destination: Destination,
    /// Fallback characters to skip after `\uN`.
    unicode_skip: u32,
    hidden: bool,
    /// Inside a `\*` destination cordon does not know: a reader that knows
    /// it may show the text, one that does not skips it, so the text is read
    /// like hidden text (in the full reading, not the visible one).
    uncertain: bool,
    /// Encoding of the current font, if its character set names one.
    font_encoding: Option<&'static Encoding>,
}

/// The interpreter's state while reading one document.
struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    out: RtfText,
    limit: usize,
    state: State,
    stack: Vec<State>,
    /// Groups opened past [`MAX_DEPTH`] that have not closed.
    overflow: usize,
    /// The document code page (`\ansicpg`, `\mac`, ...).
    document_encoding: &'static Encoding,
    /// Font number to encoding, from the font table.
    fonts: Vec<(i32, &'static Encoding)>,
    /// The font being defined in the font table.
    defining_font: Option<i32>,
    /// The default font (`\deffN`).
    default_font: Option<i32>,
    /// Undecoded bytes of the current run, with the encoding they are in.
    pending: Vec<u8>,
    pending_encoding: &'static Encoding,
    /// Fallback characters still to skip after a `\uN`.
    skip: u32,
    /// The embedded object being read, and a pending high nibble.
    object: Vec<u8>,
    nibble: Option<u8>,
    /// A UTF-16 high surrogate from `\uN` waiting for its low half.
    high_surrogate: Option<u16>,
    /// The last control word was `\*`: the group is an optional destination.
    ignorable: bool,
    /// Nothing has followed the group's `{` yet (but `\*`): only here does
    /// a control word name the group's destination, as the specification
    /// says, so a word written mid-text cannot hide what follows it.
    group_start: bool,
    /// Spaces stood between the `{` and the control word: some writers put
    /// them there (`{ \fonttbl`), readers differ on whether the word still
    /// names a destination.
    spaced_start: bool,
}

/// Reads the text of an RTF document, producing at most about `limit` bytes.
pub(crate) fn parse(input: &[u8], limit: usize) -> RtfText {
    let mut reader = Reader {
        input,
        at: 0,
        out: RtfText::default(),
        limit,
        state: State {
            destination: Destination::Body,
            unicode_skip: 1,
            hidden: false,
            uncertain: false,
            font_encoding: None,
        },
        stack: Vec::new(),
        overflow: 0,
        document_encoding: encoding_rs::WINDOWS_1252,
        fonts: Vec::new(),
        defining_font: None,
        default_font: None,
        pending: Vec::new(),
        pending_encoding: encoding_rs::WINDOWS_1252,
        skip: 0,
        object: Vec::new(),
        nibble: None,
        high_surrogate: None,
        ignorable: false,
        group_start: false,
        spaced_start: false,
    };
    reader.run();
    reader.flush();
    reader.finish_object(); // of a document cut inside `\objdata`
    reader.out
}

impl Reader<'_> {
    /// Reads the input token by token, until its end or the output limit.
    fn run(&mut self) {
        while let Some(&byte) = self.input.get(self.at) {
            if self.out.truncated {
                return;
            }
            self.at += 1;
            match byte {
                b'{' => self.open_group(),
                b'}' => self.close_group(),
                b'\\' => self.control(),
                b'\r' | b'\n' | 0 => {}
                b' ' if self.group_start => self.spaced_start = true,
                _ => {
                    self.group_start = false;
                    if self.skip > 0 {
                        self.skip -= 1;
                    } else if byte == b'\t' {
                        self.literal_char('\t');
                    } else {
                        self.ignorable = false;
                        self.byte(byte);
                    }
                }
            }
        }
    }

    /// `{`: the group inherits the current state, restored at its end.
    fn open_group(&mut self) {
        self.flush();
        self.skip = 0;
        self.ignorable = false;
        self.group_start = true;
        self.spaced_start = false;
        if self.stack.len() >= MAX_DEPTH {
            self.overflow += 1;
            self.out.too_deep = true;
        } else {
            self.stack.push(self.state);
        }
    }

    /// `}`: ends a property or an embedded object and restores the state.
    fn close_group(&mut self) {
        self.flush();
        self.skip = 0;
        self.ignorable = false;
        if self.overflow > 0 {
            self.overflow -= 1;
        } else if let Some(state) = self.stack.pop() {
            if self.state.destination == Destination::Property
                && state.destination != Destination::Property
            {
                self.out.properties.push('\n');
            }
            if self.state.destination == Destination::FontTable {
                self.defining_font = None;
            }
            if self.state.destination == Destination::ObjectData
                && state.destination != Destination::ObjectData
            {
                self.finish_object();
            }
            self.state = state;
        }
    }

    /// A backslash: a control symbol, a `\'hh` escape or a control word.
    fn control(&mut self) {
        let Some(&next) = self.input.get(self.at) else {
            return;
        };
        if next != b'*' && !next.is_ascii_alphabetic() {
            self.group_start = false; // a symbol or escape is content
        }
        if next == b'\'' {
            self.at += 1;
            let hex = self.input.get(self.at..self.at + 2);
            let value = hex.and_then(|h| {
                let text = std::str::from_utf8(h).ok()?;
                u8::from_str_radix(text, 16).ok()
            });
            self.at = (self.at + 2).min(self.input.len());
            if self.skip > 0 {
                self.skip -= 1;
            } else if let Some(value) = value {
                self.byte(value);
            }
            return;
        }
        if !next.is_ascii_alphabetic() {
            self.at += 1;
            if self.skip > 0 && !matches!(next, b'\r' | b'\n') {
                self.skip -= 1;
                return;
            }
            self.symbol(next);
            return;
        }
        let start = self.at;
        while self.at < self.input.len()
            && self.at - start < MAX_WORD_LEN
            && self.input[self.at].is_ascii_alphabetic()
        {
            self.at += 1;
        }
        let word_end = self.at;
        // An over-long name: the rest of its letters are not part of any word.
        while self.input.get(self.at).is_some_and(u8::is_ascii_alphabetic) {
            self.at += 1;
        }
        let parameter = self.parameter();
        if self.input.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        let word = &self.input[start..word_end];
        if word == b"bin" {
            // Binary data of the given length follows; it is never text.
            let length = usize::try_from(parameter.unwrap_or(0)).unwrap_or(0);
            self.at = self.at.saturating_add(length).min(self.input.len());
            self.skip = self.skip.saturating_sub(1);
            return;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        let ignorable = std::mem::take(&mut self.ignorable);
        let names_destination = ignorable || std::mem::take(&mut self.group_start);
        self.word(word, parameter, ignorable, names_destination);
    }

    /// The numeric parameter after a control word, if any (saturating).
    fn parameter(&mut self) -> Option<i32> {
        let negative = self.input.get(self.at) == Some(&b'-')
            && self.input.get(self.at + 1).is_some_and(u8::is_ascii_digit);
        if negative {
            self.at += 1;
        }
        let mut value: i64 = 0;
        let mut digits = 0;
        while let Some(&d) = self.input.get(self.at).filter(|d| d.is_ascii_digit()) {
            self.at += 1;
            digits += 1;
            value = (value * 10 + i64::from(d - b'0')).min(i64::from(i32::MAX) + 1);
        }
        if digits == 0 {
            return None;
        }
        let value = if negative { -value } else { value };
        Some(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// A control symbol: `\{`, `\}`, `\\`, `\~`, `\*`, ...
    fn symbol(&mut self, symbol: u8) {
        match symbol {
            b'*' => {
                self.flush();
                self.ignorable = true;
            }
            b'\\' | b'{' | b'}' => self.literal_char(char::from(symbol)),
            b'~' => self.literal_char('\u{a0}'),
            b'_' => self.literal_char('-'),
            b'\r' | b'\n' => self.literal_char('\n'),
            _ => {} // `\-` optional hyphen, `\:` index subentry, and unknown symbols
        }
    }

    /// A control word with its parameter; `names_destination` when it
    /// starts its group (after an optional `\*`).
    fn word(
        &mut self,
        word: &[u8],
        parameter: Option<i32>,
        ignorable: bool,
        names_destination: bool,
    ) {
        let destination = match word {
            _ if !names_destination => None,
            b"fonttbl" => Some(Destination::FontTable),
            b"objdata" => Some(Destination::ObjectData),
            b"header" | b"headerl" | b"headerr" | b"headerf" => Some(Destination::Header),
            b"footer" | b"footerl" | b"footerr" | b"footerf" => Some(Destination::Footer),
            b"info" => Some(Destination::Info),
            b"title" | b"subject" | b"keywords" | b"doccomm" | b"category"
                if self.state.destination == Destination::Info =>
            {
                Some(Destination::Property)
            }
            _ if SKIPPED_DESTINATIONS.contains(&word) => Some(Destination::Skip),
            // Field instructions (a hyperlink's address) are not shown, but
            // say what the link leads to: read like hidden text.
            b"fldinst" => {
                self.flush();
                self.state.uncertain = true;
                None
            }
            // Destinations that are shown as body text: text boxes, comments,
            // footnotes, field results.
            b"shpinst" | b"shptxt" | b"annotation" | b"footnote" | b"fldrslt" => None,
            _ if ignorable => {
                self.flush();
                self.state.uncertain = true;
                None
            }
            _ => None,
        };
        match destination {
            // After spaces a reader may show what would be skipped: both
            // readings are kept.
            Some(Destination::Skip) if self.spaced_start && !ignorable => {
                self.flush();
                self.state.uncertain = true;
            }
            // Nothing inside a skipped destination is shown, whatever it says.
            Some(destination) => {
                self.flush();
                if self.state.destination != Destination::Skip {
                    self.state.destination = destination;
                }
            }
            None => self.formatting(word, parameter),
        }
    }

    /// A control word that is not a destination: a character, a code page or
    /// font, hidden text, the `\uN` machinery.
    fn formatting(&mut self, word: &[u8], parameter: Option<i32>) {
        match word {
            b"par" | b"line" | b"row" | b"sect" | b"page" | b"sbkpage" => self.literal_char('\n'),
            b"cell" | b"nestcell" | b"tab" => self.literal_char('\t'),
            b"emdash" => self.literal_char('\u{2014}'),
            b"endash" => self.literal_char('\u{2013}'),
            b"bullet" => self.literal_char('\u{2022}'),
            b"lquote" => self.literal_char('\u{2018}'),
            b"rquote" => self.literal_char('\u{2019}'),
            b"ldblquote" => self.literal_char('\u{201c}'),
            b"rdblquote" => self.literal_char('\u{201d}'),
            b"emspace" | b"enspace" | b"qmspace" => self.literal_char(' '),
            b"u" => {
                if let Some(value) = parameter {
                    self.unicode(value);
                    self.skip = self.state.unicode_skip;
                }
            }
            b"uc" => self.state.unicode_skip = parameter.unwrap_or(1).clamp(0, 1 << 16) as u32,
            b"v" => {
                self.flush();
                self.state.hidden = parameter != Some(0);
            }
            b"plain" => {
                self.flush();
                self.state.hidden = false;
                self.state.font_encoding = None;
            }
            b"ansi" => self.document_encoding = encoding_rs::WINDOWS_1252,
            b"mac" => self.document_encoding = encoding_rs::MACINTOSH,
            b"ansicpg" => {
                if let Some(encoding) = parameter.and_then(code_page_encoding) {
                    self.document_encoding = encoding;
                }
            }
            b"deff" => self.default_font = parameter,
            b"f" => self.font(parameter),
            b"fcharset" => {
                let encoding = parameter
                    .and_then(charset_code_page)
                    .and_then(code_page_encoding);
                self.define_font_encoding(encoding);
            }
            b"cpg" => self.define_font_encoding(parameter.and_then(code_page_encoding)),
            _ => {}
        }
    }

    /// `\fN`: in the font table it starts a font definition; elsewhere it
    /// selects the font whose character set decodes the following bytes.
    fn font(&mut self, number: Option<i32>) {
        if self.state.destination == Destination::FontTable {
            self.defining_font = number;
            return;
        }
        self.flush();
        let number = number.or(self.default_font);
        self.state.font_encoding = self
            .fonts
            .iter()
            .find(|(n, _)| Some(*n) == number)
            .map(|(_, e)| *e);
    }

    /// The character set or code page of the font being defined.
    fn define_font_encoding(&mut self, encoding: Option<&'static Encoding>) {
        if self.state.destination != Destination::FontTable {
            return;
        }
        if let (Some(number), Some(encoding)) = (self.defining_font, encoding)
            && self.fonts.len() < 4096
        {
            self.fonts.retain(|(n, _)| *n != number);
            self.fonts.push((number, encoding));
        }
    }

    /// The encoding that decodes `\'hh` bytes here.
    fn encoding(&self) -> &'static Encoding {
        self.state
            .font_encoding
            .or_else(|| {
                let default = self.default_font?;
                self.fonts
                    .iter()
                    .find(|(n, _)| *n == default)
                    .map(|(_, e)| *e)
            })
            .unwrap_or(self.document_encoding)
    }

    /// `\uN`: a UTF-16 code unit, negative values counting from 65536.
    fn unicode(&mut self, value: i32) {
        let unit = value.rem_euclid(65536) as u16;
        self.flush();
        match unit {
            0xD800..=0xDBFF => self.high_surrogate = Some(unit),
            0xDC00..=0xDFFF => {
                if let Some(high) = self.high_surrogate.take() {
                    let code =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    self.push_char(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
            }
            _ => self.push_char(char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}')),
        }
    }

    /// Keeps the object read so far.
    fn finish_object(&mut self) {
        self.nibble = None;
        let object = std::mem::take(&mut self.object);
        if !object.is_empty() && self.out.objects.len() < MAX_OBJECTS {
            self.out.objects.push(object);
        }
    }

    /// A hex digit of an embedded object, within the output limit.
    fn object_hex(&mut self, byte: u8) {
        let Some(value) = char::from(byte).to_digit(16) else {
            return;
        };
        let value = value as u8;
        match self.nibble.take() {
            None => self.nibble = Some(value),
            Some(high) => {
                if self.out.produced() + self.object.len() >= self.limit {
                    self.out.truncated = true;
                    return;
                }
                self.object.push(high << 4 | value);
            }
        }
    }

    /// A text byte, decoded later with the run's encoding.
    fn byte(&mut self, byte: u8) {
        if self.state.destination == Destination::ObjectData {
            self.object_hex(byte);
            return;
        }
        if matches!(
            self.state.destination,
            Destination::Skip | Destination::FontTable | Destination::Info
        ) {
            return;
        }
        let encoding = self.encoding();
        if encoding != self.pending_encoding {
            self.flush();
            self.pending_encoding = encoding;
        }
        // A run is decoded whole when it ends, so that no double-byte
        // character is cut; it is never longer than the input.
        self.pending.push(byte);
    }

    /// A character produced by a control word or symbol.
    fn literal_char(&mut self, ch: char) {
        self.ignorable = false;
        self.flush();
        self.push_char(ch);
    }

    /// Decodes the pending bytes into the current destination.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let (text, _) = self.pending_encoding.decode_without_bom_handling(&bytes);
        let text = text.into_owned();
        self.push_str(&text);
    }

    /// Appends one character to the current destination.
    fn push_char(&mut self, ch: char) {
        let mut buf = [0u8; 4];
        self.push_str(ch.encode_utf8(&mut buf));
    }

    /// Appends text to the current destination, within the output limit.
    fn push_str(&mut self, text: &str) {
        self.high_surrogate = None;
        let hidden = self.state.hidden || self.state.uncertain;
        let out = &mut self.out;
        let produced = out.produced();
        let copies = if self.state.destination == Destination::Body && !hidden {
            2
        } else {
            1
        };
        if produced.saturating_add(copies * text.len()) > self.limit {
            out.truncated = true;
            return;
        }
        match self.state.destination {
            Destination::Body => {
                out.body.push_str(text);
                if hidden {
                    out.had_hidden = true;
                    // The reader sees the words on either side joined.
                } else {
                    out.visible.push_str(text);
                }
            }
            // A field instruction in a header (`PAGE`, `DOCPROPERTY ...`) is
            // not shown there, and must not count as the header's marking.
            Destination::Header | Destination::Footer | Destination::Property
                if self.state.uncertain => {}
            Destination::Header => out.header.push_str(text),
            Destination::Footer => out.footer.push_str(text),
            Destination::Property => out.properties.push_str(text),
            Destination::FontTable
            | Destination::Info
            | Destination::ObjectData
            | Destination::Skip => {}
        }
    }
}

/// Destinations whose text is not shown to a reader.
const SKIPPED_DESTINATIONS: &[&[u8]] = &[
    b"colortbl",
    b"stylesheet",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"filetbl",
    b"pict",
    b"nonshppict",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"xmlnstbl",
    b"generator",
    b"objclass",
    b"sp",
    b"bkmkstart",
    b"bkmkend",
    b"xe",
    b"tc",
    b"txe",
    b"pgdsctbl",
    b"mmathPr",
    b"operator",
    b"author",
    b"company",
    b"manager",
    b"creatim",
    b"revtim",
    b"printim",
    b"buptim",
    b"userprops",
    b"template",
    b"passwordhash",
    b"protusertbl",
    b"fchars",
    b"lchars",
    b"falt",
    b"panose",
    b"pnseclvl",
    b"lsdlockedexcept",
    b"wgrffmtfilter",
    b"defchp",
    b"defpap",
    b"ftnsep",
    b"ftnsepc",
    b"aftnsep",
    b"aftnsepc",
    b"listpicture",
    b"fldtype",
    b"password",
    b"blipuid",
    b"shppict",
    b"keycode",
    b"ffname",
    b"ffdeftext",
    b"ffentrymcr",
    b"ffexitmcr",
    b"ffhelptext",
    b"ffstattext",
    b"ffformat",
    b"atnid",
    b"atnauthor",
    b"atndate",
    b"atnref",
    b"atrfstart",
    b"atrfend",
    b"expandedcolortbl",
    b"datafield",
    b"htmltag",
    b"mhtmltag",
    b"ud",
];

/// The Windows code page of an RTF `\fcharset` value (0 and 1 mean the
/// document's own code page).
fn charset_code_page(charset: i32) -> Option<i32> {
    Some(match charset {
        77 => 10000,
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        _ => return None,
    })
}

/// The encoding of a Windows code page, where encoding_rs has it.
pub(crate) fn code_page_encoding(code_page: i32) -> Option<&'static Encoding> {
    Some(match code_page {
        65001 => encoding_rs::UTF_8,
        866 => encoding_rs::IBM866,
        874 => encoding_rs::WINDOWS_874,
        932 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        1250 => encoding_rs::WINDOWS_1250,
        1251 => encoding_rs::WINDOWS_1251,
        1252 => encoding_rs::WINDOWS_1252,
        1253 => encoding_rs::WINDOWS_1253,
        1254 => encoding_rs::WINDOWS_1254,
        1255 => encoding_rs::WINDOWS_1255,
        1256 => encoding_rs::WINDOWS_1256,
        1257 => encoding_rs::WINDOWS_1257,
        1258 => encoding_rs::WINDOWS_1258,
        10000 => encoding_rs::MACINTOSH,
        20866 => encoding_rs::KOI8_R,
        21866 => encoding_rs::KOI8_U,
        28591 => encoding_rs::WINDOWS_1252,
        28592 => encoding_rs::ISO_8859_2,
        28595 => encoding_rs::ISO_8859_5,
        28597 => encoding_rs::ISO_8859_7,
        28605 => encoding_rs::ISO_8859_15,
        54936 => encoding_rs::GB18030,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::{extract_attachment, has_problem, text_at};

    fn read(rtf: &str) -> RtfText {
        parse(rtf.as_bytes(), 1 << 20)
    }

    #[test]
    fn body_paragraphs_and_cells() {
        let t = read(
            r"{\rtf1\ansi\deff0{\fonttbl{\f0\fswiss Arial;}}{\colortbl;\red0\green0\blue0;}{\stylesheet{\s0 Normal;}}\pard Case notes\par Name\cell NINO\cell\row\line end}",
        );
        assert_eq!(t.body, "Case notes\nName\tNINO\t\n\nend");
        assert_eq!(t.header, "");
    }

    #[test]
    fn hex_escapes_follow_code_page_and_font_charset() {
        let t = read(r"{\rtf1\ansi\ansicpg1252 caf\'e9 \'93q\'94}");
        assert_eq!(t.body, "café \u{201c}q\u{201d}");
        let t = read(r"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8}");
        assert_eq!(t.body, "При");
        let t = read(
            r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}{\f1\fcharset204 Arial Cyr;}{\f2\fcharset128 MS Mincho;}}\f1 \'cf\'f0\f0 \'e9\f2 \'93\'fa}",
        );
        assert_eq!(t.body, "Прé\u{65e5}");
    }

    #[test]
    fn nino_split_by_escapes_reads_whole() {
        let t = read(r"{\rtf1\ansi\uc1 NI \'4a\'4d 41\u8203?29 \u50?7 \'42}");
        assert_eq!(t.body, "NI JM 41\u{200b}29 27 B");
        // \uc2 skips two fallback characters, escapes included.
        let t = read(r"{\rtf1\uc2\u74\'3f\'3fM\u-3?? end}");
        assert_eq!(t.body, "JM\u{fffd} end");
    }

    #[test]
    fn unicode_negative_and_surrogates() {
        // U+1F600 as a surrogate pair written with negative parameters.
        let t = read(r"{\rtf1\uc0\u-10179\u-8704 ok\u-4064 }");
        assert_eq!(t.body, "\u{1f600}ok\u{f020}");
    }

    #[test]
    fn destinations_are_skipped() {
        let t = read(concat!(
            r"{\rtf1{\*\generator Riched20;}{\*\themedata 414243}",
            r"{\pict\pngblip 89504e47}{\*\datastore 0102}{\field{\*\fldinst HYPERLINK x}{\fldrslt shown}}",
            r"{\object{\*\objdata 01050000}{\result result text}} body}"
        ));
        assert_eq!(t.visible, "shownresult text body");
        // A field instruction (the link's address) is read like hidden text.
        assert_eq!(t.body, "HYPERLINK xshownresult text body");
    }

    #[test]
    fn unknown_optional_destinations_are_read_as_hidden() {
        // A reader that knows `\b` shows the text; one that treats the group
        // as an unknown destination does not: both readings are kept.
        let t = read(r"{\rtf1 NI JM 41 {\*\b 29 }{\*\docvar secret value}87 B}");
        assert_eq!(t.body, "NI JM 41 29 secret value87 B");
        assert_eq!(t.visible, "NI JM 41 87 B");
        assert!(t.had_hidden);
    }

    #[test]
    fn bin_skips_raw_bytes() {
        let mut rtf = b"{\\rtf1 a{\\pict\\bin5 }{}\\}b}c".to_vec();
        rtf.extend_from_slice(b"}");
        let t = parse(&rtf, 1 << 20);
        assert_eq!(t.body, "ac");
        // A \bin outside a skipped destination is not text either.
        let t = parse(b"{\\rtf1 x\\bin3 SECy}", 1 << 20);
        assert_eq!(t.body, "xy");
        // A huge count is bounded by the input.
        let t = parse(b"{\\rtf1 x\\bin999999999999 SEC}", 1 << 20);
        assert_eq!(t.body, "x");
    }

    #[test]
    fn header_footer_and_properties() {
        let t = read(concat!(
            r"{\rtf1{\info{\title Case file}{\subject Burglary}{\author A Person}{\keywords op nightjar}{\creatim\yr2026}}",
            r"{\header\pard SECRET\par}{\footerf\pard Page {\field{\*\fldinst PAGE}{\fldrslt 1}}}{\headerl left}Body text}"
        ));
        assert_eq!(t.header, "SECRET\nleft");
        assert_eq!(t.footer, "Page 1");
        assert_eq!(t.properties, "Case file\nBurglary\nop nightjar\n");
        assert_eq!(t.body, "Body text");
    }

    #[test]
    fn hidden_text_is_read_both_ways() {
        let t = read(r"{\rtf1 JM 41 {\v 00 }29 87 B \v secret\v0  shown\plain  end}");
        assert_eq!(t.body, "JM 41 00 29 87 B secret shown end");
        assert_eq!(t.visible, "JM 41 29 87 B  shown end");
        assert!(t.had_hidden);
    }

    #[test]
    fn destination_words_count_only_where_a_group_starts() {
        // `\pict` mid-text, or Word's `\themelang`, must not hide what follows.
        let t = read(r"{\rtf1\themelang2057 {NI \pict JM 41 29 87 B}{\*\expandedcolortbl;;}}");
        assert_eq!(t.body, "NI JM 41 29 87 B");
        assert!(!t.had_hidden);
        // Spaces after the brace: the font table is still one; a skipped
        // destination is read like hidden text.
        let t = read(r"{\rtf1 { \fonttbl {\f0 Arial;}} { \pict secret}text}");
        assert_eq!(
            (t.body.as_str(), t.visible.as_str()),
            (" secrettext", " text")
        );
        // A literal tab is a fallback character like any other.
        assert_eq!(read("{\\rtf1 \\u8804\t\t8804}").body, "\u{2264}\t8804");
    }

    #[test]
    fn control_symbols() {
        let t = read(r"{\rtf1 a\{b\}c\\d\~e\-f\_g\emdash\lquote x\rquote}");
        assert_eq!(t.body, "a{b}c\\d\u{a0}ef-g\u{2014}\u{2018}x\u{2019}");
    }

    #[test]
    fn double_byte_code_page_across_escapes() {
        // Shift_JIS 日本 as four escapes.
        let t = read(r"{\rtf1\ansi\ansicpg932 \'93\'fa\'96\'7b}");
        assert_eq!(t.body, "日本");
    }

    #[test]
    fn hostile_input_is_bounded() {
        // Deep nesting: reported, and text after the groups is still read.
        let deep = format!(
            "{{\\rtf1 {}x{} after}}",
            "{".repeat(50_000),
            "}".repeat(50_000)
        );
        let t = parse(deep.as_bytes(), 1 << 20);
        assert!(t.too_deep);
        assert!(
            t.body.ends_with("x after"),
            "{:?}",
            &t.body[t.body.len().saturating_sub(20)..]
        );
        // A destination opened deep inside cannot swallow the rest.
        let deep = format!(
            "{{\\rtf1 {}{{\\fonttbl x}}{} visible}}",
            "{".repeat(2000),
            "}".repeat(2000)
        );
        let t = parse(deep.as_bytes(), 1 << 20);
        assert!(t.too_deep);
        assert!(t.body.contains("visible"));
        // Truncated and garbage input.
        for input in [
            &b"{\\rtf1 \\'"[..],
            b"{\\rtf1 \\u",
            b"\\",
            b"}}}}{",
            b"{\\rtf1 \\uc99999999999 \\u65 abc",
            b"{\\rtf1 \\u-99999999999999 x",
        ] {
            let _ = parse(input, 1 << 20);
        }
        // Long control words and parameters.
        let long = format!(
            "{{\\rtf1 \\{}123456789012345678901234567890 text}}",
            "a".repeat(10_000)
        );
        assert_eq!(parse(long.as_bytes(), 1 << 20).body, "text");
        // The output limit.
        let big = format!("{{\\rtf1 {}}}", "x".repeat(10_000));
        let t = parse(big.as_bytes(), 100);
        assert!(t.truncated);
        assert!(t.body.len() <= 100);
    }

    #[test]
    fn rtf_attachment_named_doc_is_read() {
        let rtf =
            br"{\rtf1\ansi{\header OFFICIAL-SENSITIVE}Name: A Person\par NI \'4aM 41 29 87 B}";
        let x = extract_attachment("statement.doc", rtf);
        assert_eq!(
            x.attachments[0].file_type,
            crate::FileType::Rtf,
            "{:?}",
            x.attachments
        );
        assert_eq!(
            text_at(&x, "attachment:statement.doc", PartKind::Document),
            "Name: A Person\nNI JM 41 29 87 B"
        );
        assert_eq!(
            text_at(
                &x,
                "attachment:statement.doc:header",
                PartKind::DocumentHeader
            ),
            "OFFICIAL-SENSITIVE"
        );
        let deep = format!("{{\\rtf1 {}", "{".repeat(5000));
        let x = extract_attachment("deep.rtf", deep.as_bytes());
        assert!(has_problem(
            &x,
            "attachment:deep.rtf",
            "RTF groups nested too deeply to follow"
        ));
    }

    #[test]
    fn libreoffice_output_as_mailed() {
        let x = crate::extract(
            include_bytes!("../../../../fixtures/rtf-header-secret-to-cps.eml"),
            &crate::Limits::default(),
        );
        let at = "attachment:review-notes.rtf";
        assert_eq!(
            text_at(&x, at, PartKind::Document),
            "Notes of the case review meeting.\nActions agreed as below."
        );
        assert_eq!(
            text_at(&x, &format!("{at}:header"), PartKind::DocumentHeader),
            "SECRET"
        );
        let x = crate::extract(
            include_bytes!("../../../../fixtures/rtf-named-doc-nino-escapes.eml"),
            &crate::Limits::default(),
        );
        assert_eq!(
            text_at(&x, "attachment:statement.doc", PartKind::Document),
            "Witness statement - Jordan Bell\nNational Insurance number: JM 41 29 87 B"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_token_soup_is_read_within_bounds(
            tokens in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\\par ", "\\*", "\\fonttbl", "\\f1 ", "\\fcharset128 ", "\\ansicpg932 ",
                    "\\'93", "\\'fa", "\\'", "\\u-3 ", "\\u55357 ", "\\uc3 ", "\\uc0 ", "\\bin4 ", "\\v ",
                    "\\v0 ", "\\header ", "\\footer ", "\\info ", "\\title ", "\\pict ", "\\plain ",
                    "text ", "?", "\\\\", "\\{", "\\~", "\\cell ", "\\", "\\bin99999 ", "\\ud ",
                ]),
                0..200,
            ),
            limit in 0usize..400,
        ) {
            let input = tokens.concat();
            let t = parse(input.as_bytes(), limit);
            let produced = t.body.len() + t.visible.len() + t.header.len() + t.footer.len() + t.properties.len();
            proptest::prop_assert!(produced <= limit);
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let mut input = b"{\\rtf1 ".to_vec();
            input.extend_from_slice(&bytes);
            let _ = parse(&input, 1 << 16);
        }
    }

    #[test]
    fn embedded_package_is_a_nested_file() {
        use crate::formats::ole1::tests::{object, package_native};
        let exe = crate::formats::testutil::fake_exe();
        let native = package_native(b"minutes.pdf", b"C:\\Temp\\minutes.pdf.exe", &exe);
        let hex: String = object(b"Package", &native)
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if i % 40 == 39 {
                    format!("{b:02x}\r\n")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect();
        let rtf = format!(
            r"{{\rtf1 See {{\object\objemb{{\*\objclass Package}}{{\*\objdata {hex}}}{{\result icon}}}} here}}"
        );
        let x = extract_attachment("notes.rtf", rtf.as_bytes());
        assert_eq!(
            text_at(&x, "attachment:notes.rtf", PartKind::Document),
            "See icon here"
        );
        let nested = crate::formats::testutil::file_at(&x, "attachment:notes.rtf/minutes.pdf.exe");
        assert_eq!(nested.depth, 1);
        assert!(nested.executable.is_some());
        let x = extract_attachment("bad.rtf", br"{\rtf1 {\object{\*\objdata 0102}}}");
        assert!(has_problem(
            &x,
            "attachment:bad.rtf",
            "embedded object in RTF could not be read"
        ));
    }
}
