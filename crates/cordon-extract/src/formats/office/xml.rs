//! Text out of the XML parts of office documents: WordprocessingML,
//! SpreadsheetML, PresentationML and DrawingML (OOXML), and OpenDocument,
//! each read in streaming mode with quick-xml.
//!
//! Runs of text inside one paragraph join without spaces (Word splits words
//! across runs); paragraphs, table rows and line breaks become line breaks,
//! table cells and tabs become tabs.
//!
//! Hidden text (a Word run formatted `w:vanish`, an OpenDocument span whose
//! style says `text:display="none"`) is part of the text, since it still
//! leaks; when a part has any, the text as shown without it is kept as well,
//! so that hidden characters cannot split an identifier the reader sees.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Where extracted text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Body,
    Header,
    Footer,
    Discard,
}

/// Text of one XML part, by where it stands on the page.
#[derive(Debug, Default)]
pub(super) struct Texts {
    pub(super) body: String,
    pub(super) header: String,
    pub(super) footer: String,
    /// Text was cut at a size limit.
    pub(super) truncated: bool,
    /// The same text without its hidden runs, once the part has any.
    pub(super) shown: Option<Box<Texts>>,
}

impl Texts {
    /// Appends text the reader sees.
    pub(super) fn push(&mut self, target: Target, text: &str) {
        if let Some(shown) = &mut self.shown {
            shown.push(target, text);
        }
        self.push_here(target, text);
    }

    /// Appends hidden text: to the full text only, starting the shown text
    /// (a copy of all so far) at the first hidden run.
    pub(super) fn push_hidden(&mut self, target: Target, text: &str) {
        if self.shown.is_none() && !text.is_empty() {
            self.shown = Some(Box::new(Texts {
                body: self.body.clone(),
                header: self.header.clone(),
                footer: self.footer.clone(),
                truncated: false,
                shown: None,
            }));
        }
        self.push_here(target, text);
    }

    fn push_here(&mut self, target: Target, text: &str) {
        match target {
            Target::Body => self.body.push_str(text),
            Target::Header => self.header.push_str(text),
            Target::Footer => self.footer.push_str(text),
            Target::Discard => {}
        }
    }
}

/// Hidden-text state while reading one part: Word's hidden runs, and
/// OpenDocument styles and spans that do not display.
#[derive(Default)]
struct Hiding {
    /// Depth of the Word run being read, and whether it is hidden.
    run: Option<(usize, bool)>,
    /// OpenDocument automatic styles that hide text.
    hidden_styles: Vec<String>,
    /// Name of the OpenDocument style being defined.
    defining: Option<String>,
    /// Depth of the outermost hidden OpenDocument element being read.
    hidden_from: Option<usize>,
}

impl Hiding {
    fn hides(&self) -> bool {
        self.run.is_some_and(|(_, hidden)| hidden) || self.hidden_from.is_some()
    }

    /// Looks at an element's start: a hiding property, or a hidden element.
    fn start(&mut self, e: &BytesStart, name: &str, depth: usize, odf: bool, empty: bool) {
        if odf {
            match name {
                "style" => self.defining = attribute(e, "name").map(Cow::into_owned),
                "text-properties"
                    if attribute(e, "display").as_deref() == Some("none")
                        && let Some(style) = &self.defining =>
                {
                    self.hidden_styles.push(style.clone());
                }
                _ => {}
            }
            let hidden = matches!(name, "hidden-text" | "hidden-paragraph")
                || attribute(e, "style-name")
                    .is_some_and(|s| self.hidden_styles.contains(&s.into_owned()));
            if hidden && !empty && self.hidden_from.is_none() {
                self.hidden_from = Some(depth);
            }
        } else {
            match name {
                "r" if !empty => self.run = Some((depth, false)),
                "vanish" | "specVanish" => {
                    let off = attribute(e, "val")
                        .is_some_and(|v| matches!(v.as_ref(), "0" | "false" | "off"));
                    if let Some(run) = &mut self.run
                        && !off
                    {
                        run.1 = true;
                    }
                }
                _ => {}
            }
        }
    }

    /// Leaves the element at `depth`.
    fn end(&mut self, name: &str, depth: usize) {
        if self.run.is_some_and(|(d, _)| d == depth) {
            self.run = None;
        }
        if self.hidden_from == Some(depth) {
            self.hidden_from = None;
        }
        if name == "style" {
            self.defining = None;
        }
    }
}

/// How to read text out of one kind of XML part.
pub(super) struct Dialect {
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
    /// Every text node is text, each element ending with a space: for parts
    /// of unknown purpose, whose words cannot be placed but must be seen.
    all_text: bool,
}

/// Word body parts, spreadsheet comments and drawings.
pub(super) const OOXML: Dialect = Dialect {
    odf: false,
    capture: &["t", "delText"],
    break_after_capture: false,
    base: Target::Body,
    placeholders: false,
    all_text: false,
};

/// Word header parts.
pub(super) const OOXML_HEADER: Dialect = Dialect {
    base: Target::Header,
    ..OOXML
};

/// Word footer parts.
pub(super) const OOXML_FOOTER: Dialect = Dialect {
    base: Target::Footer,
    ..OOXML
};

/// PowerPoint slides and notes.
pub(super) const SLIDE: Dialect = Dialect {
    placeholders: true,
    ..OOXML
};

/// Comments: Word and Excel (`<w:t>`, `<t>`), PowerPoint (`<p:text>` in the
/// classic format, DrawingML in the modern one) and Excel threaded comments
/// (`<text>`).
pub(super) const COMMENTS: Dialect = Dialect {
    capture: &["t", "text"],
    ..OOXML
};

/// Charts: titles and labels (`<a:t>`) and the cached values of the series
/// and categories (`<c:v>`), which the chart shows.
pub(super) const CHART: Dialect = Dialect {
    capture: &["t", "v"],
    ..OOXML
};

/// A part of unknown purpose: all its character data.
pub(super) const ANY_XML: Dialect = Dialect {
    all_text: true,
    ..OOXML
};

/// Document properties (`docProps/core.xml`, `meta.xml`).
pub(super) const PROPERTIES: Dialect = Dialect {
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
pub(super) const ODF: Dialect = Dialect {
    odf: true,
    capture: &[],
    break_after_capture: false,
    base: Target::Body,
    placeholders: false,
    all_text: false,
};

/// OpenDocument `styles.xml`: master pages (their headers and footers, and
/// the shapes of presentation masters, shown on every slide) and the
/// presentation header and footer declarations; style definitions are not text.
pub(super) const ODF_STYLES: Dialect = Dialect {
    base: Target::Discard,
    ..ODF
};

/// Subtrees that hold no visible text, or a duplicate of it: field codes,
/// the VML fallback of a drawing, tab-stop definitions, phonetic guides.
const SKIPPED: &[&str] = &["instrText", "Fallback", "tabs", "tabLst", "rPh"];

/// Calls `visit` with every element (start or empty tag) of `xml` in
/// document order, stopping at the end or at the first syntax error: how
/// manifests, relationships and content types are read.
pub(super) fn each_element(xml: &[u8], mut visit: impl FnMut(&BytesStart)) {
    let text = decode_xml(xml);
    let mut reader = Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e) | Event::Empty(e)) => visit(&e),
            Ok(_) => {}
        }
    }
}

/// The value of the attribute with local name `local`, if present.
pub(super) fn attribute<'a>(e: &'a BytesStart, local: &str) -> Option<Cow<'a, str>> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
}

/// The text of an entity or character reference (`&amp;`, `&#x41;`).
pub(super) fn reference_text(name: &str) -> Option<char> {
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
pub(super) fn decode_xml(xml: &[u8]) -> Cow<'_, str> {
    crate::charset::decode(xml, None)
}

/// Extracts the text of one XML part. Returns what was read and whether the
/// XML was well formed to its end (text before an error is kept).
pub(super) fn xml_text(xml: &[u8], dialect: &Dialect) -> (Texts, bool) {
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
    let mut hiding = Hiding::default();
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
                hiding.start(&e, name, depth, dialect.odf, false);
                if dialect.odf {
                    if matches!(name, "p" | "h") {
                        capture += 1;
                    } else if let Some(to) = odf_header_footer(name) {
                        routes.push((depth, to));
                    } else if let Some(to) = odf_declaration(name) {
                        // The declared text stands directly in the element.
                        routes.push((depth, to));
                        capture += 1;
                    } else if name == "master-page" {
                        routes.push((depth, Target::Body));
                    } else if name == "frame"
                        && let Some(to) = attribute(&e, "class").and_then(|c| odf_frame_class(&c))
                    {
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
                hiding.start(&e, name.as_ref(), depth + 1, dialect.odf, true);
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
                hiding.end(name, leaving);
                if dialect.all_text {
                    out.push(target, " ");
                }
                let is_capture = if dialect.odf {
                    matches!(name, "p" | "h") || odf_declaration(name).is_some()
                } else {
                    dialect.capture.contains(&name)
                };
                if is_capture {
                    capture = capture.saturating_sub(1);
                    if dialect.break_after_capture
                        || (dialect.odf && odf_declaration(name).is_some())
                    {
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
            Event::Text(t) if (capture > 0 || dialect.all_text) && skip_from.is_none() => {
                push_text(&mut out, target, &t.xml10_content(), hiding.hides());
            }
            Event::CData(t) if (capture > 0 || dialect.all_text) && skip_from.is_none() => {
                push_text(&mut out, target, &t.xml10_content(), hiding.hides());
            }
            Event::GeneralRef(r) if (capture > 0 || dialect.all_text) && skip_from.is_none() => {
                if let Some(ch) = reference_text(&r) {
                    out.push(target, ch.encode_utf8(&mut [0; 4]));
                }
            }
            _ => {}
        }
    };
    (out, ok)
}

/// Appends character data, as hidden text when `hidden`.
fn push_text(out: &mut Texts, target: Target, text: &str, hidden: bool) {
    if hidden {
        out.push_hidden(target, text);
    } else {
        out.push(target, text);
    }
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

/// The target of an OpenDocument presentation header, footer or date
/// declaration (`presentation:footer-decl`): the text the slides' header and
/// footer fields show.
fn odf_declaration(name: &str) -> Option<Target> {
    match name {
        "header-decl" => Some(Target::Header),
        "footer-decl" | "date-time-decl" => Some(Target::Footer),
        _ => None,
    }
}

/// The target of a presentation frame by its `presentation:class`: text typed
/// into a master's footer, header or date area shows there on the slides.
fn odf_frame_class(class: &str) -> Option<Target> {
    match class {
        "header" => Some(Target::Header),
        "footer" | "date-time" => Some(Target::Footer),
        _ => None,
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
pub(super) fn shared_strings(xml: &[u8]) -> (Vec<String>, bool) {
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
pub(super) fn sheet_text(xml: &[u8], shared: &[String], cap: usize) -> (Texts, bool) {
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
pub(super) fn number_text(value: &str) -> String {
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
pub(super) fn strip_header_codes(raw: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_hidden_runs_give_a_shown_reading() {
        let xml = br#"<w:document xmlns:w="w"><w:body><w:p>
            <w:r><w:t xml:space="preserve">NI JM 41 </w:t></w:r>
            <w:r><w:rPr><w:vanish/></w:rPr><w:t>zz</w:t></w:r>
            <w:r><w:rPr><w:vanish w:val="0"/></w:rPr><w:t>29 </w:t></w:r>
            <w:r><w:t>87 B</w:t></w:r></w:p></w:body></w:document>"#;
        let (texts, ok) = xml_text(xml, &OOXML);
        assert!(ok);
        assert_eq!(crate::normalize(&texts.body), "NI JM 41 zz29 87 B");
        let shown = texts.shown.expect("a shown reading");
        assert_eq!(crate::normalize(&shown.body), "NI JM 41 29 87 B");
    }

    #[test]
    fn opendocument_hidden_styles_and_fields_give_a_shown_reading() {
        let xml = br#"<office:document-content xmlns:office="o" xmlns:style="s" xmlns:text="t">
            <office:automatic-styles><style:style style:name="T1" style:family="text">
            <style:text-properties text:display="none"/></style:style></office:automatic-styles>
            <office:body><office:text><text:p>NI JM 41 <text:span text:style-name="T1">zz</text:span>29 <text:hidden-text text:string-value="x" text:is-hidden="true">yy</text:hidden-text>87 B</text:p>
            </office:text></office:body></office:document-content>"#;
        let (texts, _) = xml_text(xml, &ODF);
        let shown = texts.shown.expect("a shown reading");
        assert_eq!(crate::normalize(&shown.body), "NI JM 41 29 87 B");
        assert!(texts.body.contains("zz"));
    }

    #[test]
    fn no_hidden_text_no_second_reading() {
        let xml = br#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>plain</w:t></w:r></w:p></w:body></w:document>"#;
        assert!(xml_text(xml, &OOXML).0.shown.is_none());
    }

    #[test]
    fn header_codes_are_stripped() {
        assert_eq!(
            strip_header_codes("&C&\"Arial,Bold\"&KFF0000SECRET && co"),
            "\nSECRET & co"
        );
        assert_eq!(number_text("1.5E+2"), "150");
        assert_eq!(number_text("0.5"), "0.5");
    }
}
