//! Office documents: Word, Excel and PowerPoint (OOXML) and OpenDocument text,
//! spreadsheets and presentations, read as the zip of XML parts they are.
//!
//! Every XML part is decompressed through the bounded reading of
//! [`super::archive`] and parsed with quick-xml in streaming mode. Body text
//! becomes [`PartKind::Document`] at the file's location; page headers and
//! footers become [`PartKind::DocumentHeader`] / [`PartKind::DocumentFooter`]
//! at `LOCATION:header` / `LOCATION:footer`, where a classification marking
//! counts as the document's marking. Document properties (title, subject,
//! keywords) go to `LOCATION:properties`, and a sensitivity label recorded in
//! the custom properties (Microsoft Purview `MSIP_Label_..._Name`, or a
//! `Classification` property) to `LOCATION:label` as a header-kind part.
//!
//! Runs of text inside one paragraph join without spaces (Word splits words
//! across runs); paragraphs, table rows and line breaks become line breaks,
//! table cells and tabs become tabs.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::archive::{ZipSource, base_name, unreadable_member};
use crate::PartKind;
use crate::collector::{Collector, FileRef};
use crate::sniff::FileType;

/// Inspects a Word, Excel, PowerPoint or OpenDocument file of `file_type`.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8], file_type: FileType) {
    let Some(zip) = ZipSource::open(c, bytes) else {
        c.problem(file.location, "corrupt document");
        return;
    };
    let mut doc = Package {
        zip,
        file: *file,
        stopped: false,
        problems: 0,
    };
    match file_type {
        FileType::Docx => word(c, &mut doc),
        FileType::Xlsx => excel(c, &mut doc),
        FileType::Pptx => powerpoint(c, &mut doc),
        _ => opendocument(c, &mut doc),
    }
}

/// Inspects an OLE2 compound file: an encrypted modern Office document, an
/// Outlook message or a legacy binary document. None of them is read as text,
/// so each is recorded as not inspected (a Windows Installer package is
/// already reported as executable).
pub(crate) fn inspect_compound(c: &mut Collector, file: &FileRef, bytes: &[u8], executable: bool) {
    let has_stream = |name: &str| {
        let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        memchr::memmem::find(bytes, &utf16).is_some()
    };
    let reason = if has_stream("EncryptedPackage") {
        "encrypted Office document (cannot be inspected)"
    } else if executable {
        return;
    } else if has_stream("__substg1.0_") {
        "Outlook message file (not inspected)"
    } else {
        "legacy binary document (not inspected)"
    };
    c.problem(file.location, reason);
}

/// An office package being read: its zip, where it is, and whether a limit
/// has stopped reading.
struct Package<'a, 'f> {
    zip: ZipSource<'a>,
    file: FileRef<'f>,
    stopped: bool,
    /// Problems recorded so far: a package with many damaged parts stops
    /// early rather than listing each one.
    problems: usize,
}

/// Most problems recorded for one package before it stops being read.
const MAX_PACKAGE_PROBLEMS: usize = 20;

impl Package<'_, '_> {
    /// The decompressed part at `path`, or `None` when absent or unreadable
    /// (an unreadable part is recorded as a problem).
    fn part(&mut self, c: &mut Collector, path: &str) -> Option<Vec<u8>> {
        if self.stopped {
            return None;
        }
        match self.zip.read_path(c, path)? {
            Ok(data) => Some(data),
            Err(err) => {
                self.problem(c, err.reason(&format!("document part ({path})")));
                self.stopped |= err.is_limit();
                None
            }
        }
    }

    /// Records a problem of the package, stopping after too many.
    fn problem(&mut self, c: &mut Collector, reason: String) {
        self.problems += 1;
        if self.problems > MAX_PACKAGE_PROBLEMS {
            c.problem(self.file.location, "too many damaged parts");
            self.stopped = true;
        } else {
            c.problem(self.file.location, reason);
        }
    }

    /// Paths of the parts under `dir` whose file name starts with `prefix` and
    /// ends `.xml`, in natural order (`slide2` before `slide10`).
    fn parts_like(&self, dir: &str, prefix: &str) -> Vec<String> {
        let mut paths: Vec<String> = self
            .zip
            .entries()
            .iter()
            .filter(|e| !e.is_dir)
            .map(|e| e.path.as_str())
            .filter(|p| {
                p.strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with(prefix) && !rest.contains('/'))
                    && p.ends_with(".xml")
            })
            .map(str::to_owned)
            .collect();
        paths.sort_by_key(|p| natural_key(p));
        paths
    }

    /// True when the package has a part at `path`.
    fn has(&self, path: &str) -> bool {
        self.zip.entry(path).is_some()
    }

    /// Extracts the part at `path` with `dialect` and records its text.
    fn text_part(&mut self, c: &mut Collector, path: &str, dialect: &Dialect) {
        let Some(xml) = self.part(c, path) else {
            return;
        };
        let (texts, ok) = xml_text(&xml, dialect);
        if !ok {
            self.problem(c, format!("corrupt document part ({path})"));
        }
        self.record(c, &texts);
    }

    /// Records body, header and footer text at their locations.
    fn record(&self, c: &mut Collector, texts: &Texts) {
        let location = self.file.location;
        c.text(location, PartKind::Document, &texts.body);
        c.text(
            format!("{location}:header"),
            PartKind::DocumentHeader,
            &texts.header,
        );
        c.text(
            format!("{location}:footer"),
            PartKind::DocumentFooter,
            &texts.footer,
        );
    }

    /// Title, subject, keywords and description from `docProps/core.xml`
    /// (OOXML) or `meta.xml` (OpenDocument).
    fn properties(&mut self, c: &mut Collector, path: &str) {
        let Some(xml) = self.part(c, path) else {
            return;
        };
        let (texts, _) = xml_text(&xml, &PROPERTIES);
        c.text(
            format!("{}:properties", self.file.location),
            PartKind::Document,
            &texts.body,
        );
    }

    /// A classification label from the OOXML custom properties.
    fn label(&mut self, c: &mut Collector) {
        let Some(xml) = self.part(c, "docProps/custom.xml") else {
            return;
        };
        c.text(
            format!("{}:label", self.file.location),
            PartKind::DocumentHeader,
            &label_text(&xml),
        );
    }

    /// Inspects every file embedded under `dir` (OLE objects, embedded
    /// workbooks) as a member of the document.
    fn embedded(&mut self, c: &mut Collector, dir: &str) {
        let embedded: Vec<_> = self
            .zip
            .entries()
            .iter()
            .filter(|e| !e.is_dir && e.path.starts_with(dir))
            .cloned()
            .collect();
        if embedded.is_empty() {
            return;
        }
        if self.file.depth >= c.limits.max_depth {
            c.problem(self.file.location, "nesting depth limit reached");
            return;
        }
        for entry in embedded {
            if self.stopped || c.parts_exhausted() {
                return;
            }
            let name = base_name(&entry.path);
            let location = format!("{}/{}", self.file.location, name);
            let member = FileRef {
                location: &location,
                name: Some(name),
                declared: None,
                depth: self.file.depth + 1,
                inline: false,
            };
            match self.zip.read(c, entry.index) {
                Ok(data) => c.file(&member, &data),
                Err(err) => {
                    unreadable_member(
                        c,
                        &member,
                        entry.declared_size,
                        &err.reason("embedded file"),
                    );
                    self.stopped |= err.is_limit();
                }
            }
        }
    }
}

/// A Word document: body, footnotes, endnotes and comments; headers and footers.
fn word(c: &mut Collector, doc: &mut Package) {
    let main = if doc.has("word/document.xml") {
        Some("word/document.xml".to_owned())
    } else {
        doc.parts_like("word/", "document").into_iter().next()
    };
    let Some(main) = main else {
        c.problem(
            doc.file.location,
            "document has no main part (corrupt or encrypted)",
        );
        return;
    };
    doc.text_part(c, &main, &OOXML);
    for extra in ["footnotes", "endnotes", "comments"] {
        let path = format!("word/{extra}.xml");
        if doc.has(&path) {
            doc.text_part(c, &path, &OOXML);
        }
    }
    for path in doc.parts_like("word/", "header") {
        doc.text_part(c, &path, &OOXML_HEADER);
    }
    for path in doc.parts_like("word/", "footer") {
        doc.text_part(c, &path, &OOXML_FOOTER);
    }
    doc.properties(c, "docProps/core.xml");
    doc.label(c);
    doc.embedded(c, "word/embeddings/");
}

/// An Excel workbook: every worksheet's cells (shared strings, inline strings,
/// numbers), sheet headers and footers, comments and drawing text boxes.
fn excel(c: &mut Collector, doc: &mut Package) {
    if !doc.has("xl/workbook.xml") {
        c.problem(
            doc.file.location,
            "workbook has no main part (corrupt or encrypted)",
        );
        return;
    }
    let shared = match doc.part(c, "xl/sharedStrings.xml") {
        Some(xml) => {
            let (strings, ok) = shared_strings(&xml);
            if !ok {
                doc.problem(c, "corrupt document part (xl/sharedStrings.xml)".to_owned());
            }
            strings
        }
        None => Vec::new(),
    };
    for path in doc.parts_like("xl/worksheets/", "sheet") {
        let Some(xml) = doc.part(c, &path) else {
            continue;
        };
        // Cells may repeat a long shared string: the text is charged to the
        // message's expansion budget, and cut where the budget ends.
        let cap = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
        let (texts, ok) = sheet_text(&xml, &shared, cap);
        if !ok {
            doc.problem(c, format!("corrupt document part ({path})"));
        }
        let produced = texts.body.len().saturating_sub(xml.len());
        if texts.truncated || c.charge_expanded(produced as u64).is_err() {
            doc.problem(c, "expanded size limit reached".to_owned());
            doc.stopped = true;
        }
        doc.record(c, &texts);
    }
    for path in doc.parts_like("xl/", "comments") {
        doc.text_part(c, &path, &OOXML);
    }
    for path in doc.parts_like("xl/drawings/", "drawing") {
        doc.text_part(c, &path, &OOXML);
    }
    doc.properties(c, "docProps/core.xml");
    doc.label(c);
    doc.embedded(c, "xl/embeddings/");
}

/// A PowerPoint presentation: slides (footer and header placeholders as
/// footer and header), speaker notes and comments.
fn powerpoint(c: &mut Collector, doc: &mut Package) {
    if !doc.has("ppt/presentation.xml") {
        c.problem(
            doc.file.location,
            "presentation has no main part (corrupt or encrypted)",
        );
        return;
    }
    for path in doc.parts_like("ppt/slides/", "slide") {
        doc.text_part(c, &path, &SLIDE);
    }
    for path in doc.parts_like("ppt/notesSlides/", "notesSlide") {
        doc.text_part(c, &path, &SLIDE);
    }
    for path in doc.parts_like("ppt/comments/", "") {
        doc.text_part(c, &path, &PPT_COMMENTS);
    }
    doc.properties(c, "docProps/core.xml");
    doc.label(c);
    doc.embedded(c, "ppt/embeddings/");
}

/// An OpenDocument file: `content.xml`, and the master-page headers and
/// footers of `styles.xml`. An encrypted one (its manifest lists encryption
/// data) cannot be read.
fn opendocument(c: &mut Collector, doc: &mut Package) {
    if let Some(manifest) = doc.part(c, "META-INF/manifest.xml")
        && memchr::memmem::find(&manifest, b"encryption-data").is_some()
    {
        c.problem(
            doc.file.location,
            "encrypted document (cannot be inspected)",
        );
        return;
    }
    if !doc.has("content.xml") {
        c.problem(
            doc.file.location,
            "document has no main part (corrupt or encrypted)",
        );
        return;
    }
    doc.text_part(c, "content.xml", &ODF);
    if doc.has("styles.xml") {
        doc.text_part(c, "styles.xml", &ODF_STYLES);
    }
    if doc.has("meta.xml") {
        doc.properties(c, "meta.xml");
    }
}

/// Sort key that orders `sheet2.xml` before `sheet10.xml`.
fn natural_key(path: &str) -> (String, u64, String) {
    let stem = path.strip_suffix(".xml").unwrap_or(path);
    let digits = stem.len() - stem.trim_end_matches(|ch: char| ch.is_ascii_digit()).len();
    let (head, number) = stem.split_at(stem.len() - digits);
    (
        head.to_owned(),
        number.parse().unwrap_or(0),
        path.to_owned(),
    )
}

/// Where extracted text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Body,
    Header,
    Footer,
    Discard,
}

/// Text of one XML part, by where it stands on the page.
#[derive(Debug, Default)]
struct Texts {
    body: String,
    header: String,
    footer: String,
    /// Text was cut at a size limit.
    truncated: bool,
}

impl Texts {
    fn push(&mut self, target: Target, text: &str) {
        match target {
            Target::Body => self.body.push_str(text),
            Target::Header => self.header.push_str(text),
            Target::Footer => self.footer.push_str(text),
            Target::Discard => {}
        }
    }
}

/// How to read text out of one kind of XML part.
struct Dialect {
    /// OpenDocument: text stands directly inside `text:p` / `text:h`;
    /// otherwise (OOXML) only inside the `capture` elements.
    odf: bool,
    /// Elements whose character data is text (OOXML).
    capture: &'static [&'static str],
    /// End each captured element with a line break (properties).
    break_after_capture: bool,
    /// Where text goes outside any header or footer element.
    base: Target,
    /// PowerPoint: a shape holding a footer/header placeholder is footer/header.
    placeholders: bool,
}

/// Word body parts, spreadsheet comments and drawings.
const OOXML: Dialect = Dialect {
    odf: false,
    capture: &["t", "delText"],
    break_after_capture: false,
    base: Target::Body,
    placeholders: false,
};

/// Word header parts.
const OOXML_HEADER: Dialect = Dialect {
    base: Target::Header,
    ..OOXML
};

/// Word footer parts.
const OOXML_FOOTER: Dialect = Dialect {
    base: Target::Footer,
    ..OOXML
};

/// PowerPoint slides and notes.
const SLIDE: Dialect = Dialect {
    placeholders: true,
    ..OOXML
};

/// PowerPoint comments (`<p:text>` in the classic format, DrawingML in the modern one).
const PPT_COMMENTS: Dialect = Dialect {
    capture: &["t", "text"],
    ..OOXML
};

/// Document properties (`docProps/core.xml`, `meta.xml`).
const PROPERTIES: Dialect = Dialect {
    capture: &[
        "title",
        "subject",
        "keywords",
        "keyword",
        "description",
        "category",
    ],
    break_after_capture: true,
    ..OOXML
};

/// OpenDocument `content.xml`.
const ODF: Dialect = Dialect {
    odf: true,
    capture: &[],
    break_after_capture: false,
    base: Target::Body,
    placeholders: false,
};

/// OpenDocument `styles.xml`: only master-page headers and footers.
const ODF_STYLES: Dialect = Dialect {
    base: Target::Discard,
    ..ODF
};

/// Subtrees that hold no visible text, or a duplicate of it: field codes,
/// the VML fallback of a drawing, tab-stop definitions, phonetic guides.
const SKIPPED: &[&str] = &["instrText", "Fallback", "tabs", "tabLst", "rPh"];

/// The value of the attribute with local name `local`, if present.
fn attribute<'a>(e: &'a BytesStart, local: &str) -> Option<Cow<'a, str>> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
}

/// The text of an entity or character reference (`&amp;`, `&#x41;`).
fn reference_text(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Decodes an XML part's bytes (UTF-8, or UTF-16 with a byte-order mark).
fn decode_xml(xml: &[u8]) -> Cow<'_, str> {
    crate::charset::decode(xml, None)
}

/// Extracts the text of one XML part. Returns what was read and whether the
/// XML was well formed to its end (text before an error is kept).
fn xml_text(xml: &[u8], dialect: &Dialect) -> (Texts, bool) {
    let source = decode_xml(xml);
    let mut reader = Reader::from_str(&source);
    let mut out = Texts::default();
    let mut depth: usize = 0;
    let mut skip_from: Option<usize> = None;
    let mut capture: usize = 0;
    // Open table cells: a paragraph inside a cell ends with a space, so that
    // a table row stays on one line.
    let mut cells: usize = 0;
    // Header/footer elements and PowerPoint shapes: (depth, target).
    let mut routes: Vec<(usize, Target)> = Vec::new();
    let ok = loop {
        let target = routes.last().map_or(dialect.base, |r| r.1);
        let event = match reader.read_event() {
            Ok(Event::Eof) => break true,
            Ok(event) => event,
            Err(_) => break false,
        };
        match event {
            Event::Start(e) => {
                depth += 1;
                if skip_from.is_some() {
                    continue;
                }
                let name = e.local_name();
                let name = name.as_ref();
                if SKIPPED.contains(&name) {
                    skip_from = Some(depth);
                    continue;
                }
                if dialect.odf {
                    if matches!(name, "p" | "h") {
                        capture += 1;
                    } else if let Some(to) = odf_header_footer(name) {
                        routes.push((depth, to));
                    }
                } else if dialect.capture.contains(&name) {
                    capture += 1;
                } else if dialect.placeholders && name == "sp" {
                    routes.push((depth, dialect.base));
                }
                if matches!(name, "tc" | "table-cell" | "covered-table-cell") {
                    cells += 1;
                }
                empty_element(&e, name, dialect, target, &mut out, &mut routes);
            }
            Event::Empty(e) if skip_from.is_none() => {
                let name = e.local_name();
                empty_element(&e, name.as_ref(), dialect, target, &mut out, &mut routes);
            }
            Event::End(e) => {
                let leaving = depth;
                depth = depth.saturating_sub(1);
                if let Some(from) = skip_from {
                    if from == leaving {
                        skip_from = None;
                    }
                    continue;
                }
                let name = e.local_name();
                let name = name.as_ref();
                let is_capture = if dialect.odf {
                    matches!(name, "p" | "h")
                } else {
                    dialect.capture.contains(&name)
                };
                if is_capture {
                    capture = capture.saturating_sub(1);
                    if dialect.break_after_capture {
                        out.push(target, "\n");
                    }
                }
                match name {
                    "p" | "h" if name == "p" || dialect.odf => {
                        out.push(target, if cells > 0 { " " } else { "\n" });
                    }
                    "tc" | "table-cell" | "covered-table-cell" => {
                        cells = cells.saturating_sub(1);
                        out.push(target, "\t");
                    }
                    "tr" | "table-row" => out.push(target, "\n"),
                    _ => {}
                }
                if routes.last().is_some_and(|r| r.0 == leaving) {
                    routes.pop();
                }
            }
            Event::Text(t) if capture > 0 && skip_from.is_none() => {
                out.push(target, &t.xml10_content());
            }
            Event::CData(t) if capture > 0 && skip_from.is_none() => {
                out.push(target, &t.xml10_content());
            }
            Event::GeneralRef(r) if capture > 0 && skip_from.is_none() => {
                if let Some(ch) = reference_text(&r) {
                    out.push(target, ch.encode_utf8(&mut [0; 4]));
                }
            }
            _ => {}
        }
    };
    (out, ok)
}

/// Breaks, tabs and spaces written as elements, and PowerPoint placeholders.
/// Called for empty elements and for the start of non-empty ones.
fn empty_element(
    e: &BytesStart,
    name: &str,
    dialect: &Dialect,
    target: Target,
    out: &mut Texts,
    routes: &mut [(usize, Target)],
) {
    match name {
        "br" | "cr" | "line-break" => out.push(target, "\n"),
        "tab" => out.push(target, "\t"),
        "noBreakHyphen" => out.push(target, "-"),
        "s" if dialect.odf => {
            let count = attribute(e, "c")
                .and_then(|c| c.trim().parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, 64);
            out.push(target, &" ".repeat(count));
        }
        "ph" if dialect.placeholders => {
            let to = match attribute(e, "type").as_deref() {
                Some("ftr") => Target::Footer,
                Some("hdr") => Target::Header,
                _ => return,
            };
            if let Some(route) = routes.last_mut() {
                route.1 = to;
            }
        }
        _ => {}
    }
}

/// The target of an OpenDocument master-page header or footer element.
fn odf_header_footer(name: &str) -> Option<Target> {
    match name {
        "header" | "header-left" | "header-first" => Some(Target::Header),
        "footer" | "footer-left" | "footer-first" => Some(Target::Footer),
        _ => None,
    }
}

/// The shared-string table of a workbook, and whether it parsed to its end.
fn shared_strings(xml: &[u8]) -> (Vec<String>, bool) {
    let source = decode_xml(xml);
    let mut reader = Reader::from_str(&source);
    let mut strings = Vec::new();
    let mut current: Option<String> = None;
    let mut in_t = false;
    let mut skip = 0usize;
    let ok = loop {
        match reader.read_event() {
            Ok(Event::Eof) => break true,
            Err(_) => break false,
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "si" => current = Some(String::new()),
                "t" => in_t = true,
                "rPh" => skip += 1,
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "si" => strings.push(current.take().unwrap_or_default()),
                "t" => in_t = false,
                "rPh" => skip = skip.saturating_sub(1),
                _ => {}
            },
            Ok(Event::Empty(e)) if e.local_name().as_ref() == "si" => strings.push(String::new()),
            Ok(Event::Text(t)) if in_t && skip == 0 => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) if in_t && skip == 0 => {
                if let (Some(s), Some(ch)) = (current.as_mut(), reference_text(&r)) {
                    s.push(ch);
                }
            }
            Ok(_) => {}
        }
    };
    (strings, ok)
}

/// The text of one worksheet: cells separated by tabs, rows by line breaks,
/// and the sheet's page header and footer.
fn sheet_text(xml: &[u8], shared: &[String], cap: usize) -> (Texts, bool) {
    let source = decode_xml(xml);
    let mut reader = Reader::from_str(&source);
    let mut out = Texts::default();
    let mut cell_type = String::new();
    let mut value = String::new();
    let mut inline = String::new();
    // Which element's text is being read.
    #[derive(PartialEq)]
    enum In {
        Nothing,
        Value,
        InlineText,
        Header,
        Footer,
    }
    let mut within = In::Nothing;
    let mut in_inline = false;
    let mut hf = String::new();
    let ok = loop {
        match reader.read_event() {
            Ok(Event::Eof) => break true,
            Err(_) => break false,
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                match name.as_ref() {
                    "c" => {
                        cell_type = attribute(&e, "t").map(Cow::into_owned).unwrap_or_default();
                        value.clear();
                        inline.clear();
                    }
                    "v" => within = In::Value,
                    "is" => in_inline = true,
                    "t" if in_inline => within = In::InlineText,
                    "oddHeader" | "evenHeader" | "firstHeader" => {
                        within = In::Header;
                        hf.clear();
                    }
                    "oddFooter" | "evenFooter" | "firstFooter" => {
                        within = In::Footer;
                        hf.clear();
                    }
                    _ => {}
                }
            }
            Ok(Event::End(e)) => {
                let name = e.local_name();
                match name.as_ref() {
                    "c" => {
                        let text = cell_text(&cell_type, &value, &inline, shared);
                        if !text.is_empty() {
                            if out.body.len() + text.len() > cap {
                                // Over the budget: keep what fits and report it.
                                let room = cap.saturating_sub(out.body.len());
                                out.body.push_str(&text[..text.floor_char_boundary(room)]);
                                out.truncated = true;
                                break true;
                            }
                            out.body.push_str(&text);
                            out.body.push('\t');
                        }
                    }
                    "row" => out.body.push('\n'),
                    "is" => in_inline = false,
                    "v" | "t" => within = In::Nothing,
                    "oddHeader" | "evenHeader" | "firstHeader" => {
                        out.header.push_str(&strip_header_codes(&hf));
                        out.header.push('\n');
                        within = In::Nothing;
                    }
                    "oddFooter" | "evenFooter" | "firstFooter" => {
                        out.footer.push_str(&strip_header_codes(&hf));
                        out.footer.push('\n');
                        within = In::Nothing;
                    }
                    _ => {}
                }
            }
            Ok(Event::Text(t)) => {
                let text = t.xml10_content();
                match within {
                    In::Value => value.push_str(&text),
                    In::InlineText => inline.push_str(&text),
                    In::Header | In::Footer => hf.push_str(&text),
                    In::Nothing => {}
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(ch) = reference_text(&r) {
                    match within {
                        In::Value => value.push(ch),
                        In::InlineText => inline.push(ch),
                        In::Header | In::Footer => hf.push(ch),
                        In::Nothing => {}
                    }
                }
            }
            Ok(_) => {}
        }
    };
    (out, ok)
}

/// What a cell shows, by its type: a shared string, an inline string, a
/// formula's string result, a boolean or a number (errors show nothing).
fn cell_text(cell_type: &str, value: &str, inline: &str, shared: &[String]) -> String {
    match cell_type {
        "s" => value
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| shared.get(i))
            .cloned()
            .unwrap_or_default(),
        "inlineStr" => inline.to_owned(),
        "str" => value.to_owned(),
        "b" => match value.trim() {
            "1" => "TRUE".to_owned(),
            "0" => "FALSE".to_owned(),
            _ => String::new(),
        },
        "e" => String::new(),
        _ => number_text(value.trim()),
    }
}

/// A numeric cell as digits: Excel writes large whole numbers in exponent
/// form (`9.434765919E9`), which would hide an NHS or phone number.
fn number_text(value: &str) -> String {
    if value.contains(['E', 'e'])
        && let Ok(number) = value.parse::<f64>()
        && number.is_finite()
        && number.fract() == 0.0
        && number.abs() < 1e21
    {
        return format!("{number:.0}");
    }
    value.to_owned()
}

/// Removes the formatting codes of an Excel header or footer (`&L`, `&C`,
/// `&R` sections become separate lines; `&P` page numbers, `&"Arial,Bold"`
/// fonts, `&12` sizes and `&K` colours are dropped; `&&` is `&`).
fn strip_header_codes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '&' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('&') => out.push('&'),
            Some('"') => {
                for inner in chars.by_ref() {
                    if inner == '"' {
                        break;
                    }
                }
            }
            Some('L' | 'C' | 'R') => out.push('\n'),
            Some('K') => {
                for _ in 0..6 {
                    if chars
                        .next_if(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '-')
                        .is_none()
                    {
                        break;
                    }
                }
            }
            Some(d) if d.is_ascii_digit() => while chars.next_if(char::is_ascii_digit).is_some() {},
            _ => {} // &P &N &D &T &F &A &Z &G &B &I &U &E &S &X &Y &H &O
        }
    }
    out
}

/// Classification labels among the custom properties: a Microsoft Purview
/// label name (`MSIP_Label_<id>_Name`) or a property called like a
/// classification or protective marking.
fn label_text(xml: &[u8]) -> String {
    let source = decode_xml(xml);
    let mut reader = Reader::from_str(&source);
    let mut out = String::new();
    let mut in_label = false;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e)) if e.local_name().as_ref() == "property" => {
                let name = attribute(&e, "name")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                in_label = (name.starts_with("msip_label_") && name.ends_with("_name"))
                    || name.contains("classification")
                    || name.contains("protectivemarking")
                    || name.contains("protective marking");
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == "property" => {
                if in_label {
                    out.push('\n');
                }
                in_label = false;
            }
            Ok(Event::Text(t)) if in_label => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_label => {
                if let Some(ch) = reference_text(&r) {
                    out.push(ch);
                }
            }
            Ok(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::*;

    #[test]
    fn word_body_header_footer() {
        let docx = docx(
            &["Multi-agency meeting, 3 November.", "Second paragraph"],
            Some(&["OFFICIAL-SENSITIVE"]),
            Some(&["RESTRICTED"]),
            false,
        );
        let x = extract_attachment("notes.docx", &docx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(x.attachments[0].file_type, FileType::Docx);
        assert_eq!(
            text_at(&x, "attachment:notes.docx", PartKind::Document),
            "Multi-agency meeting, 3 November.\nSecond paragraph"
        );
        assert_eq!(
            text_at(&x, "attachment:notes.docx:header", PartKind::DocumentHeader),
            "OFFICIAL-SENSITIVE"
        );
        assert_eq!(
            text_at(&x, "attachment:notes.docx:footer", PartKind::DocumentFooter),
            "RESTRICTED"
        );
    }

    #[test]
    fn runs_join_without_spaces() {
        let docx = docx(
            &["Operation Nightjar starts", "NI JM 41 29 87 B"],
            None,
            None,
            true,
        );
        let x = extract_attachment("plan.docx", &docx);
        assert_eq!(
            text_at(&x, "attachment:plan.docx", PartKind::Document),
            "Operation Nightjar starts\nNI JM 41 29 87 B"
        );
    }

    #[test]
    fn word_tables_breaks_and_skipped_parts() {
        let body = concat!(
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc>"#,
            r#"<w:tc><w:p><w:r><w:t>NINO</w:t></w:r></w:p></w:tc></w:tr>"#,
            r#"<w:tr><w:tc><w:p><w:r><w:t>A Person</w:t></w:r></w:p></w:tc>"#,
            r#"<w:tc><w:p><w:r><w:t>JM412987B</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
            r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>"#,
            r#"<w:r><w:t>line one</w:t><w:br/><w:t>line&#160;two &amp; more</w:t></w:r>"#,
            r#"<w:r><w:instrText> HYPERLINK "http://x" </w:instrText></w:r>"#,
            r#"<w:r><w:delText xml:space="preserve"> deleted words</w:delText></w:r></w:p>"#,
        );
        let docx = docx_raw(body);
        let x = extract_attachment("t.docx", &docx);
        let text = text_at(&x, "attachment:t.docx", PartKind::Document);
        assert_eq!(
            text,
            "Name NINO\nA Person JM412987B\nline one\nline two & more deleted words"
        );
    }

    #[test]
    fn spreadsheet_cells_numbers_and_header() {
        let sheet = concat!(
            r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>"#,
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>KC 55 10 22 D</t></is></c>"#,
            r#"<c r="B2"><v>9434765919</v></c><c r="C2"><v>4.5399999999999E+15</v></c>"#,
            r#"<c r="D2"><f>A1</f><v>12.5</v></c><c r="E2" t="b"><v>1</v></c></row></sheetData>"#,
            r#"<headerFooter><oddHeader>&amp;L&amp;"Arial,Bold"&amp;14OFFICIAL-SENSITIVE&amp;RPage &amp;P</oddHeader>"#,
            r#"<oddFooter>&amp;CPROTECT</oddFooter></headerFooter>"#,
        );
        let xlsx = xlsx_raw(sheet, &["Name", "JM412987B"]);
        let x = extract_attachment("list.xlsx", &xlsx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:list.xlsx", PartKind::Document),
            "Name JM412987B\nKC 55 10 22 D 9434765919 4539999999999900 12.5 TRUE"
        );
        assert_eq!(
            text_at(&x, "attachment:list.xlsx:header", PartKind::DocumentHeader),
            "OFFICIAL-SENSITIVE\nPage"
        );
        assert_eq!(
            text_at(&x, "attachment:list.xlsx:footer", PartKind::DocumentFooter),
            "PROTECT"
        );
    }

    #[test]
    fn spreadsheet_like_the_corpus() {
        let xlsx = xlsx(&[&["Name", "NINO"], &["A Person", "JM412987B"]]);
        let x = extract_attachment("list.xlsx", &xlsx);
        assert_eq!(
            text_at(&x, "attachment:list.xlsx", PartKind::Document),
            "Name NINO\nA Person JM412987B"
        );
    }

    #[test]
    fn powerpoint_footer_placeholder_and_notes() {
        let slide = concat!(
            r#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree>"#,
            r#"<p:sp><p:nvSpPr><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr>"#,
            r#"<p:txBody><a:p><a:r><a:t>Kestrel </a:t></a:r><a:r><a:t>Gate briefing</a:t></a:r></a:p></p:txBody></p:sp>"#,
            r#"<p:sp><p:nvSpPr><p:nvPr><p:ph type="ftr" idx="11"/></p:nvPr></p:nvSpPr>"#,
            r#"<p:txBody><a:p><a:r><a:t>SECRET</a:t></a:r></a:p></p:txBody></p:sp>"#,
            r#"</p:spTree></p:cSld></p:sld>"#,
        );
        let notes = r#"<p:notes xmlns:p="p" xmlns:a="a"><a:p><a:r><a:t>speaker note</a:t></a:r></a:p></p:notes>"#;
        let pptx = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("ppt/presentation.xml", "<p:presentation xmlns:p=\"p\"/>"),
            (
                "ppt/slides/slide10.xml",
                "<p:sld xmlns:p=\"p\" xmlns:a=\"a\"><a:p><a:r><a:t>last</a:t></a:r></a:p></p:sld>",
            ),
            ("ppt/slides/slide2.xml", slide),
            ("ppt/notesSlides/notesSlide2.xml", notes),
        ]);
        let x = extract_attachment("brief.pptx", &pptx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:brief.pptx", PartKind::Document),
            "Kestrel Gate briefing\nlast\nspeaker note"
        );
        assert_eq!(
            text_at(&x, "attachment:brief.pptx:footer", PartKind::DocumentFooter),
            "SECRET"
        );
    }

    #[test]
    fn opendocument_body_and_master_page_footer() {
        let content = concat!(
            r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:table="tb"><office:body><office:text>"#,
            r#"<text:h>Case notes</text:h><text:p>Opera<text:span>tion</text:span> Nightjar<text:s text:c="2"/>starts<text:line-break/>tonight</text:p>"#,
            r#"<table:table><table:table-row><table:table-cell><text:p>a</text:p></table:table-cell><table:table-cell><text:p>b</text:p></table:table-cell></table:table-row></table:table>"#,
            r#"</office:text></office:body></office:document-content>"#,
        );
        let styles = concat!(
            r#"<office:document-styles xmlns:office="o" xmlns:style="s" xmlns:text="t"><office:styles><style:style/></office:styles>"#,
            r#"<office:master-styles><style:master-page><style:header><text:p>OFFICIAL</text:p></style:header>"#,
            r#"<style:footer><text:p>OFFICIAL-SENSITIVE</text:p></style:footer></style:master-page></office:master-styles></office:document-styles>"#,
        );
        let odt = package(&[
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            ("content.xml", content),
            ("styles.xml", styles),
        ]);
        let x = extract_attachment("case.odt", &odt);
        assert_eq!(x.attachments[0].file_type, FileType::OpenDocument);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:case.odt", PartKind::Document),
            "Case notes\nOperation Nightjar starts\ntonight\na b"
        );
        assert_eq!(
            text_at(&x, "attachment:case.odt:header", PartKind::DocumentHeader),
            "OFFICIAL"
        );
        assert_eq!(
            text_at(&x, "attachment:case.odt:footer", PartKind::DocumentFooter),
            "OFFICIAL-SENSITIVE"
        );
    }

    #[test]
    fn encrypted_opendocument_is_a_problem() {
        let odt = package(&[
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            ("content.xml", "\u{1}binary"),
            (
                "META-INF/manifest.xml",
                "<manifest:manifest><manifest:file-entry><manifest:encryption-data/></manifest:file-entry></manifest:manifest>",
            ),
        ]);
        let x = extract_attachment("locked.odt", &odt);
        assert!(has_problem(
            &x,
            "attachment:locked.odt",
            "encrypted document (cannot be inspected)"
        ));
    }

    #[test]
    fn encrypted_and_legacy_compound_files() {
        let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole.resize(1024, 0);
        let mut encrypted = ole.clone();
        encrypted.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        let x = extract_attachment("locked.docx", &encrypted);
        assert!(has_problem(
            &x,
            "attachment:locked.docx",
            "encrypted Office document (cannot be inspected)"
        ));
        let mut legacy = ole;
        legacy.extend("WordDocument".encode_utf16().flat_map(u16::to_le_bytes));
        let x = extract_attachment("old.doc", &legacy);
        assert!(has_problem(
            &x,
            "attachment:old.doc",
            "legacy binary document (not inspected)"
        ));
    }

    #[test]
    fn office_zip_without_its_main_part_is_a_problem() {
        let fake = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("word/styles.xml", "<w:styles/>"),
        ]);
        let x = extract_attachment("fake.docx", &fake);
        assert!(has_problem(
            &x,
            "attachment:fake.docx",
            "document has no main part (corrupt or encrypted)"
        ));
    }

    #[test]
    fn malformed_xml_keeps_text_and_reports() {
        let fake = package(&[
            ("[Content_Types].xml", "<Types/>"),
            (
                "word/document.xml",
                "<w:document><w:body><w:p><w:r><w:t>kept text</w:t></w:r></w:p><w:p></w:body>",
            ),
        ]);
        let x = extract_attachment("bad.docx", &fake);
        assert_eq!(
            text_at(&x, "attachment:bad.docx", PartKind::Document),
            "kept text"
        );
        assert!(has_problem(
            &x,
            "attachment:bad.docx",
            "corrupt document part (word/document.xml)"
        ));
    }

    #[test]
    fn properties_label_and_embedded_files() {
        let custom = concat!(
            r#"<Properties xmlns:vt="vt"><property fmtid="x" pid="2" name="MSIP_Label_1234_Enabled"><vt:lpwstr>true</vt:lpwstr></property>"#,
            r#"<property fmtid="x" pid="3" name="MSIP_Label_1234_Name"><vt:lpwstr>OFFICIAL-SENSITIVE</vt:lpwstr></property></Properties>"#,
        );
        let core = r#"<cp:coreProperties xmlns:cp="cp" xmlns:dc="dc"><dc:title>Custody review</dc:title><dc:creator>someone</dc:creator></cp:coreProperties>"#;
        let embedded = zip_of(&[("inner.exe", &fake_exe())]);
        let mut files: Vec<(&str, &[u8])> = vec![
            ("[Content_Types].xml", b"<Types/>"),
            (
                "word/document.xml",
                b"<w:document><w:body><w:p><w:r><w:t>body</w:t></w:r></w:p></w:body></w:document>",
            ),
            ("docProps/core.xml", core.as_bytes()),
            ("docProps/custom.xml", custom.as_bytes()),
        ];
        files.push(("word/embeddings/package.zip", &embedded));
        let docx = zip_bytes(&files);
        let x = extract_attachment("review.docx", &docx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:review.docx:properties", PartKind::Document),
            "Custody review"
        );
        assert_eq!(
            text_at(&x, "attachment:review.docx:label", PartKind::DocumentHeader),
            "OFFICIAL-SENSITIVE"
        );
        let exe = x
            .attachments
            .iter()
            .find(|a| a.location == "attachment:review.docx/package.zip/inner.exe")
            .expect("embedded archive opened");
        assert!(exe.executable.is_some());
        assert_eq!(exe.depth, 2);
    }

    #[test]
    fn header_codes_are_stripped() {
        assert_eq!(
            strip_header_codes("&C&\"Arial,Bold\"&KFF0000SECRET && co"),
            "\nSECRET & co"
        );
        assert_eq!(number_text("1.5E+2"), "150");
        assert_eq!(number_text("0.5"), "0.5");
        assert_eq!(natural_key("ppt/slides/slide10.xml").1, 10);
    }
}
