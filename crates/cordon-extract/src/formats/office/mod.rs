//! Office documents: Word, Excel and PowerPoint (OOXML) and OpenDocument text,
//! spreadsheets and presentations, read as the zip of XML parts they are, and
//! the OLE2 compound files (Outlook messages, encrypted and legacy documents).
//!
//! Parts are found the way the office software finds them: OOXML through the
//! package relationships and content types ([`relationships`], [`ooxml`]),
//! OpenDocument through its manifest ([`opendocument`]), never by fixed part
//! names alone; a part nothing refers to is read all the same.
//!
//! Every part is decompressed through the bounded reading of
//! [`super::archive`]. Body text becomes [`PartKind::Document`] at the file's
//! location; page headers and footers become [`PartKind::DocumentHeader`] /
//! [`PartKind::DocumentFooter`] at `LOCATION:header` / `LOCATION:footer`,
//! where a classification marking counts as the document's marking. Document
//! properties (title, subject, keywords) go to `LOCATION:properties`, and a
//! sensitivity label recorded in the custom properties to `LOCATION:label`
//! ([`label`]). Files inside a document (embedded objects, Word `altChunk`
//! parts, attachments of an Outlook message) are inspected as nested files.

mod compound;
mod label;
mod ooxml;
mod opendocument;
mod outlook;
mod relationships;
mod xml;

use std::collections::HashMap;

use super::archive::{ZipSource, base_name, unreadable_member};
use crate::PartKind;
use crate::collector::{Collector, FileRef};
use crate::sniff::FileType;

pub(crate) use compound::inspect_compound;
use xml::{Dialect, Texts, xml_text};

/// Inspects a Word, Excel, PowerPoint or OpenDocument file of `file_type`.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8], file_type: FileType) {
    let Some(zip) = ZipSource::open(c, bytes) else {
        c.problem(file.location, "corrupt document");
        return;
    };
    let mut doc = Package::new(zip, *file);
    match file_type {
        FileType::Docx | FileType::Xlsx | FileType::Pptx => ooxml::inspect(c, &mut doc, file_type),
        _ => opendocument::inspect(c, &mut doc),
    }
}

/// An office package being read: its zip, where it is, and whether a limit
/// has stopped reading.
struct Package<'a, 'f> {
    zip: ZipSource<'a>,
    file: FileRef<'f>,
    /// Part names in lower case -> the name as stored: part names are
    /// case-insensitive in both OOXML and OpenDocument references.
    names: HashMap<String, String>,
    stopped: bool,
    /// Problems recorded so far: a package with many damaged parts stops
    /// early rather than listing each one.
    problems: usize,
}

/// Most problems recorded for one package before it stops being read.
const MAX_PACKAGE_PROBLEMS: usize = 20;

impl<'a, 'f> Package<'a, 'f> {
    /// A package over an opened zip.
    fn new(zip: ZipSource<'a>, file: FileRef<'f>) -> Self {
        let mut names = HashMap::new();
        for entry in zip.entries().iter().filter(|e| !e.is_dir) {
            names
                .entry(entry.path.to_lowercase())
                .or_insert_with(|| entry.path.clone());
        }
        Package {
            zip,
            file,
            names,
            stopped: false,
            problems: 0,
        }
    }

    /// The stored name of the part called `path` (exactly, or else without
    /// regard to case), if the package has it.
    fn find(&self, path: &str) -> Option<String> {
        if self.zip.entry(path).is_some_and(|e| !e.is_dir) {
            return Some(path.to_owned());
        }
        self.names.get(&path.to_lowercase()).cloned()
    }

    /// Stored names of the package's files (not directories), in zip order.
    fn paths(&self) -> Vec<String> {
        self.zip
            .entries()
            .iter()
            .filter(|e| !e.is_dir)
            .map(|e| e.path.clone())
            .collect()
    }

    /// The decompressed part at `path`, or `None` when absent or unreadable
    /// (an unreadable part is recorded as a problem).
    fn part(&mut self, c: &mut Collector, path: &str) -> Option<Vec<u8>> {
        if self.stopped {
            return None;
        }
        let stored = self.find(path)?;
        match self.zip.read_path(c, &stored)? {
            Ok(data) => Some(data),
            Err(err) => {
                self.problem(c, err.reason(&format!("document part ({stored})")));
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

    /// Extracts the part at `path` with `dialect` and records its text.
    fn text_part(&mut self, c: &mut Collector, path: &str, dialect: &Dialect) {
        if let Some(xml) = self.part(c, path) {
            self.text_of(c, path, &xml, dialect);
        }
    }

    /// Extracts the text of `xml`, the part at `path`, with `dialect`.
    fn text_of(&mut self, c: &mut Collector, path: &str, xml: &[u8], dialect: &Dialect) {
        let (texts, ok) = xml_text(xml, dialect);
        if !ok {
            self.problem(c, format!("corrupt document part ({path})"));
        }
        self.record(c, &texts);
    }

    /// Records body, header and footer text at their locations.
    fn record(&self, c: &mut Collector, texts: &Texts) {
        let location = self.file.location;
        let header = format!("{location}:header");
        let footer = format!("{location}:footer");
        c.text(location, PartKind::Document, &texts.body);
        c.text(header.as_str(), PartKind::DocumentHeader, &texts.header);
        c.text(footer.as_str(), PartKind::DocumentFooter, &texts.footer);
        if let Some(shown) = &texts.shown {
            c.alternative_text(location, PartKind::Document, &shown.body);
            c.alternative_text(&header, PartKind::DocumentHeader, &shown.header);
            c.alternative_text(&footer, PartKind::DocumentFooter, &shown.footer);
        }
    }

    /// Title, subject, keywords and description from `docProps/core.xml`
    /// (OOXML) or `meta.xml` (OpenDocument).
    fn properties(&mut self, c: &mut Collector, path: &str) {
        let Some(xml) = self.part(c, path) else {
            return;
        };
        let (texts, _) = xml_text(&xml, &xml::PROPERTIES);
        c.text(
            format!("{}:properties", self.file.location),
            PartKind::Document,
            &texts.body,
        );
    }

    /// Inspects the part at `path` as a file of its own (an embedded object,
    /// an `altChunk`), with `declared` as its content type.
    fn nested(&mut self, c: &mut Collector, path: &str, declared: Option<&str>) {
        if self.stopped || c.parts_exhausted() {
            return;
        }
        let Some(stored) = self.find(path) else {
            return;
        };
        let Some(entry) = self.zip.entry(&stored).cloned() else {
            return;
        };
        let name = base_name(&stored);
        let location = format!("{}/{}", self.file.location, name);
        let member = FileRef {
            location: &location,
            name: Some(name),
            declared,
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

    /// Inspects `data`, already read from the part at `path`, as a file of its own.
    fn nested_bytes(&mut self, c: &mut Collector, path: &str, data: &[u8]) {
        if self.stopped || c.parts_exhausted() {
            return;
        }
        let name = base_name(path);
        let location = format!("{}/{}", self.file.location, name);
        let member = FileRef {
            location: &location,
            name: Some(name),
            declared: None,
            depth: self.file.depth + 1,
            inline: false,
        };
        c.file(&member, data);
    }
}

/// True when `bytes` look like an XML document (after a byte-order mark and
/// white space, a `<`), so that a part of unknown purpose is read as text.
fn looks_like_xml(bytes: &[u8]) -> bool {
    let utf16 = |rest: &[u8], le: bool| {
        rest.chunks_exact(2)
            .map(|p| if le { p[0] } else { p[1] })
            .find(|b| !b.is_ascii_whitespace())
            == Some(b'<')
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => {
            let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
        }
    }
}

/// Sort key that orders `sheet2.xml` before `sheet10.xml`.
fn natural_key(path: &str) -> (String, u64, String) {
    let stem = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
    let digits = stem.len() - stem.trim_end_matches(|ch: char| ch.is_ascii_digit()).len();
    let (head, number) = stem.split_at(stem.len() - digits);
    (
        head.to_owned(),
        number.parse().unwrap_or(0),
        path.to_owned(),
    )
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
            "speaker note\nKestrel Gate briefing\nlast"
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
            ("word/notes.xml", "<n><w:t>NI JM 41 29 87 B</w:t></n>"),
        ]);
        let x = extract_attachment("fake.docx", &fake);
        assert!(has_problem(
            &x,
            "attachment:fake.docx",
            "document has no main part (corrupt or encrypted)"
        ));
        assert_eq!(
            text_at(&x, "attachment:fake.docx", PartKind::Document),
            "NI JM 41 29 87 B"
        );
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
            text_at(
                &x,
                "attachment:review.docx:label",
                PartKind::ClassificationHeader
            ),
            "MSIP_Label_1234_Enabled=true; MSIP_Label_1234_Name=OFFICIAL-SENSITIVE;"
        );
        let exe =
            crate::formats::testutil::file_at(&x, "attachment:review.docx/package.zip/inner.exe");
        assert!(exe.executable.is_some());
        assert_eq!(exe.depth, 2);
    }

    #[test]
    fn xml_sniffing_and_natural_order() {
        assert!(looks_like_xml(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><a/>"));
        assert!(looks_like_xml(b"\xFF\xFE<\0a\0/\0>\0"));
        assert!(!looks_like_xml(b"MZ\x90\0"));
        assert!(!looks_like_xml(b""));
        assert_eq!(natural_key("ppt/slides/slide10.xml").1, 10);
        let mut paths = ["s10.xml", "s2.xml", "s1.xml"];
        paths.sort_by_key(|p| natural_key(p));
        assert_eq!(paths, ["s1.xml", "s2.xml", "s10.xml"]);
    }
}
