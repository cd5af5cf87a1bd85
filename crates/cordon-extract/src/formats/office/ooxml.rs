//! Word, Excel and PowerPoint packages: every part found through the package
//! relationships from `_rels/.rels` on, read as what it is to the document
//! (a header part as the page header, a worksheet with the shared strings, a
//! slide with its footer placeholders, an `altChunk` as a nested file),
//! whatever it is called. Parts nothing refers to are read too, as what their
//! content type or name says, else as plain document text: what cannot be
//! placed is inspected rather than passed.

use std::collections::{HashMap, VecDeque};

use super::relationships::{ContentTypes, parse_rels, rels_path};
use super::xml::{self, Dialect, shared_strings, sheet_text};
use super::{Package, looks_like_xml, natural_key};
use crate::collector::Collector;
use crate::sniff::FileType;

/// How a part is read: what it is to the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// Body text: the main document, footnotes, endnotes, drawings, SmartArt.
    Body,
    /// A Word page header part.
    Header,
    /// A Word page footer part.
    Footer,
    /// A slide, notes page, layout or master: footer and header placeholders
    /// are the footer and header.
    Slide,
    /// Comments of any of the three applications.
    Comments,
    /// A chart: titles, labels and cached values.
    Chart,
    /// A worksheet, read with the shared strings.
    Sheet,
    /// The workbook's shared-string table.
    SharedStrings,
    /// A file of its own inside the document: an embedded object, an `altChunk`.
    File,
    /// Not text: images, fonts, styles, themes, settings, macros.
    Ignore,
    /// Unknown: text if it is XML, else a nested file.
    Unknown,
}

/// Inspects an OOXML package (`file_type` only words the problem when the
/// main part is missing, which does not stop the other parts being read).
pub(super) fn inspect(c: &mut Collector, doc: &mut Package, file_type: FileType) {
    let types = doc
        .part(c, "[Content_Types].xml")
        .map(|xml| ContentTypes::parse(&xml))
        .unwrap_or_default();
    let (plan, root) = walk(c, doc);
    let mut plan = plan;
    match main_part(doc, &types, &root) {
        Some(main) => {
            if !plan
                .iter()
                .any(|(path, _)| path.eq_ignore_ascii_case(&main))
            {
                plan.insert(0, (main, vec![Reading::Body]));
            }
        }
        None => {
            // Office would refuse the file; whatever it holds is still read.
            let what = match file_type {
                FileType::Xlsx => "workbook",
                FileType::Pptx => "presentation",
                _ => "document",
            };
            c.problem(
                doc.file.location,
                format!("{what} has no main part (corrupt or encrypted)"),
            );
        }
    }
    let core = root_target(&root, "core-properties").unwrap_or("docProps/core.xml".into());
    let custom = root_target(&root, "custom-properties").unwrap_or("docProps/custom.xml".into());
    let special = [core.as_str(), custom.as_str(), "docProps/app.xml"];
    unreferenced(doc, &types, &mut plan, &special);
    read_plan(c, doc, &types, &plan);
    doc.properties(c, &core);
    if let Some(xml) = doc.part(c, &custom) {
        super::label::record(c, doc.file.location, &xml);
    }
}

/// Parts in the order to read them, each with its readings.
type Plan = Vec<(String, Vec<Reading>)>;

/// Follows the relationships from the package root, breadth first, so that
/// every part reached gets the readings its relationships give it. Returns
/// the plan and the package's own (root) relationships.
fn walk(c: &mut Collector, doc: &mut Package) -> (Plan, Vec<(String, String)>) {
    let mut plan: Plan = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut root = Vec::new();
    let mut queue: VecDeque<String> = VecDeque::from([String::new()]);
    while let Some(source) = queue.pop_front() {
        if doc.stopped {
            break;
        }
        let Some(rels) = doc.part(c, &rels_path(&source)) else {
            continue;
        };
        for rel in parse_rels(&rels, &source) {
            let Some(target) = doc.find(&rel.target) else {
                continue;
            };
            if source.is_empty() {
                root.push((rel.kind.clone(), target.clone()));
            }
            let reading = by_relationship(&rel.kind);
            let key = target.to_lowercase();
            match at.get(&key) {
                Some(&i) => {
                    if let Some((_, readings)) = plan.get_mut(i)
                        && !readings.contains(&reading)
                    {
                        readings.push(reading);
                    }
                }
                None => {
                    at.insert(key, plan.len());
                    plan.push((target.clone(), vec![reading]));
                    queue.push_back(target);
                }
            }
        }
    }
    // A part given a text reading by one relationship is not hidden by
    // another calling it an image.
    for (_, readings) in &mut plan {
        if readings.len() > 1 {
            readings.retain(|r| *r != Reading::Ignore);
        }
    }
    (plan, root)
}

/// The target of the package relationship of `kind`, if any.
fn root_target(root: &[(String, String)], kind: &str) -> Option<String> {
    root.iter().find(|(k, _)| k == kind).map(|(_, t)| t.clone())
}

/// The main part: the package's `officeDocument` relationship, else the part
/// whose content type says it is the main one, else the usual name.
fn main_part(doc: &Package, types: &ContentTypes, root: &[(String, String)]) -> Option<String> {
    if let Some(main) = root_target(root, "officedocument") {
        return Some(main);
    }
    let declared = types.overridden(|ct| ct.contains(".main+xml"));
    let usual = [
        "word/document.xml",
        "xl/workbook.xml",
        "ppt/presentation.xml",
    ];
    declared
        .into_iter()
        .chain(usual)
        .find_map(|path| doc.find(path))
        .or_else(|| {
            let mut documents: Vec<String> = doc
                .paths()
                .into_iter()
                .filter(|p| p.starts_with("word/document") && p.ends_with(".xml"))
                .collect();
            documents.sort_by_key(|p| natural_key(p));
            documents.into_iter().next()
        })
}

/// Adds the parts no relationship reached (other than the package's own
/// bookkeeping and the `special` parts read separately), each read as its
/// content type or name says.
fn unreferenced(doc: &Package, types: &ContentTypes, plan: &mut Plan, special: &[&str]) {
    let reached: std::collections::HashSet<String> =
        plan.iter().map(|(p, _)| p.to_lowercase()).collect();
    let mut rest: Vec<String> = doc
        .paths()
        .into_iter()
        .filter(|p| {
            let lower = p.to_lowercase();
            !reached.contains(&lower)
                && lower != "[content_types].xml"
                && !lower.ends_with(".rels")
                && !special.iter().any(|s| s.eq_ignore_ascii_case(p))
        })
        .collect();
    rest.sort_by_key(|p| natural_key(p));
    for path in rest {
        let reading = types
            .of(&path)
            .and_then(by_content_type)
            .or_else(|| by_name(&path))
            .unwrap_or(Reading::Unknown);
        plan.push((path, vec![reading]));
    }
}

/// Reads every part of the plan: the shared strings first, as the sheets
/// need them.
fn read_plan(c: &mut Collector, doc: &mut Package, types: &ContentTypes, plan: &Plan) {
    let mut shared: Option<Vec<String>> = None;
    for (path, readings) in plan {
        if shared.is_none() && readings.contains(&Reading::SharedStrings) {
            let Some(xml) = doc.part(c, path) else {
                continue;
            };
            let (strings, ok) = shared_strings(&xml);
            if !ok {
                doc.problem(c, format!("corrupt document part ({path})"));
            }
            shared = Some(strings);
        }
    }
    let shared = shared.unwrap_or_default();
    for (path, readings) in plan {
        for reading in readings {
            if doc.stopped {
                return;
            }
            match reading {
                Reading::SharedStrings | Reading::Ignore => {}
                Reading::Sheet => sheet(c, doc, path, &shared),
                Reading::File => doc.nested(c, path, types.of(path)),
                Reading::Unknown => unknown(c, doc, path),
                text => {
                    if let Some(dialect) = dialect(*text) {
                        doc.text_part(c, path, dialect);
                    }
                }
            }
        }
    }
}

/// The XML dialect of a text reading.
fn dialect(reading: Reading) -> Option<&'static Dialect> {
    Some(match reading {
        Reading::Body => &xml::OOXML,
        Reading::Header => &xml::OOXML_HEADER,
        Reading::Footer => &xml::OOXML_FOOTER,
        Reading::Slide => &xml::SLIDE,
        Reading::Comments => &xml::COMMENTS,
        Reading::Chart => &xml::CHART,
        _ => return None,
    })
}

/// A part of unknown purpose: document text when it is XML, else a file.
fn unknown(c: &mut Collector, doc: &mut Package, path: &str) {
    let Some(data) = doc.part(c, path) else {
        return;
    };
    if looks_like_xml(&data) {
        doc.text_of(c, path, &data, &xml::ANY_XML);
    } else {
        doc.nested_bytes(c, path, &data);
    }
}

/// One worksheet's cells, header and footer.
fn sheet(c: &mut Collector, doc: &mut Package, path: &str, shared: &[String]) {
    let Some(xml) = doc.part(c, path) else {
        return;
    };
    // Cells may repeat a long shared string: the text is charged to the
    // message's expansion budget, and cut where the budget ends.
    let cap = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
    let (texts, ok) = sheet_text(&xml, shared, cap);
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

/// How a part is read, by the type of a relationship that reaches it (the
/// last segment of the type URI, lower case).
fn by_relationship(kind: &str) -> Reading {
    match kind {
        "officedocument" | "document" | "footnotes" | "endnotes" | "glossarydocument"
        | "drawing" | "diagramdata" | "diagramdrawing" | "chartusershapes" => Reading::Body,
        "header" => Reading::Header,
        "footer" => Reading::Footer,
        "slide" | "notesslide" | "slidelayout" | "slidemaster" | "notesmaster"
        | "handoutmaster" => Reading::Slide,
        "comments" | "threadedcomment" | "threadedcomments" => Reading::Comments,
        "chart" | "chartex" => Reading::Chart,
        "worksheet" | "dialogsheet" | "xlmacrosheet" | "xlintlmacrosheet" => Reading::Sheet,
        "sharedstrings" => Reading::SharedStrings,
        "afchunk" | "oleobject" | "package" | "subdocument" => Reading::File,
        "image"
        | "hyperlink"
        | "font"
        | "fonttable"
        | "styles"
        | "styleswitheffects"
        | "theme"
        | "themeoverride"
        | "settings"
        | "websettings"
        | "numbering"
        | "vbaproject"
        | "printersettings"
        | "thumbnail"
        | "customxml"
        | "customxmlprops"
        | "core-properties"
        | "extended-properties"
        | "custom-properties"
        | "presprops"
        | "viewprops"
        | "tablestyles"
        | "commentauthors"
        | "people"
        | "calcchain"
        | "attachedtemplate"
        | "video"
        | "audio"
        | "media"
        | "chartstyle"
        | "chartcolorstyle"
        | "diagramlayout"
        | "diagramquickstyle"
        | "diagramcolors"
        | "keymapcustomizations"
        | "ctrlprop"
        | "activex"
        | "activexcontrolbinary"
        | "digital-signature"
        | "origin"
        | "signature"
        | "commentsextended"
        | "commentsids"
        | "commentsextensible"
        | "stylesheet" => Reading::Ignore,
        _ => Reading::Unknown,
    }
}

/// How a part nothing refers to is read, by its declared content type.
fn by_content_type(content_type: &str) -> Option<Reading> {
    let ct = content_type;
    let ends = |suffix: &str| ct.ends_with(suffix);
    Some(if ends(".header+xml") {
        Reading::Header
    } else if ends(".footer+xml") {
        Reading::Footer
    } else if ends(".worksheet+xml") || ends(".dialogsheet+xml") || ends(".macrosheet+xml") {
        Reading::Sheet
    } else if ends(".sharedstrings+xml") {
        Reading::SharedStrings
    } else if [
        ".slide+xml",
        ".notesslide+xml",
        ".slidelayout+xml",
        ".slidemaster+xml",
        ".notesmaster+xml",
        ".handoutmaster+xml",
    ]
    .iter()
    .any(|s| ends(s))
    {
        Reading::Slide
    } else if ends(".comments+xml") || ends("threadedcomments+xml") {
        Reading::Comments
    } else if ends(".chart+xml") {
        Reading::Chart
    } else if ct.starts_with("image/")
        || ct.starts_with("audio/")
        || ct.starts_with("video/")
        || [
            ".styles+xml",
            ".theme+xml",
            ".settings+xml",
            ".fonttable+xml",
            ".websettings+xml",
            ".numbering+xml",
            "vbaproject",
            ".printersettings",
            "obfuscatedfont",
            "font-ttf",
        ]
        .iter()
        .any(|s| ends(s))
    {
        Reading::Ignore
    } else {
        return None;
    })
}

/// How a part nothing refers to and of no known content type is read, by the
/// name such parts usually have.
fn by_name(path: &str) -> Option<Reading> {
    let lower = path.to_lowercase();
    let (dir, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    let dir = dir.rsplit('/').next().unwrap_or(dir);
    Some(match (dir, name) {
        (_, n) if n.starts_with("header") && n.ends_with(".xml") => Reading::Header,
        (_, n) if n.starts_with("footer") && n.ends_with(".xml") => Reading::Footer,
        ("worksheets", _) => Reading::Sheet,
        (_, n) if n.starts_with("sharedstrings") => Reading::SharedStrings,
        ("slides" | "notesslides" | "slidelayouts" | "slidemasters" | "notesmasters", _) => {
            Reading::Slide
        }
        (_, n) if n.starts_with("comments") => Reading::Comments,
        ("charts", n) if n.starts_with("chart") => Reading::Chart,
        ("media" | "theme" | "fonts" | "printersettings", _) => Reading::Ignore,
        (_, "styles.xml" | "settings.xml" | "fonttable.xml" | "websettings.xml") => Reading::Ignore,
        (_, "numbering.xml" | "vbaproject.bin" | "thumbnail.jpeg" | "thumbnail.png") => {
            Reading::Ignore
        }
        ("embeddings", _) => Reading::File,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::PartKind;
    use crate::formats::testutil::*;
    use crate::sniff::FileType;

    /// A relationships part with `(id, type, target)` entries.
    fn rels(entries: &[(&str, &str, &str)]) -> String {
        let mut xml = String::from(
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        for (id, kind, target) in entries {
            xml.push_str(&format!(
                r#"<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" Target="{target}"/>"#
            ));
        }
        xml.push_str("</Relationships>");
        xml
    }

    fn w(body: &str) -> String {
        format!(r#"<w:p><w:r><w:t>{body}</w:t></w:r></w:p>"#)
    }

    #[test]
    fn word_parts_are_found_by_relationship_whatever_their_names() {
        let root = rels(&[("rId1", "officeDocument", "word/document2.xml")]);
        let doc_rels = rels(&[
            // Calling the header an image first does not hide it.
            ("rId9", "image", "hdr7.xml"),
            ("rId1", "header", "hdr7.xml"),
            ("rId2", "footer", "/word/bottom.xml"),
            ("rId3", "footnotes", "notes/fn.xml"),
        ]);
        let docx = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("_rels/.rels", &root),
            ("word/_rels/document2.xml.rels", &doc_rels),
            (
                "word/document2.xml",
                &format!(
                    "<w:document><w:body>{}</w:body></w:document>",
                    w("Body text")
                ),
            ),
            ("word/hdr7.xml", &format!("<w:hdr>{}</w:hdr>", w("SECRET"))),
            (
                "word/bottom.xml",
                &format!("<w:ftr>{}</w:ftr>", w("OFFICIAL-SENSITIVE")),
            ),
            (
                "word/notes/fn.xml",
                &format!("<w:footnotes>{}</w:footnotes>", w("A footnote")),
            ),
            // Referenced by nothing: still read, all of its text.
            (
                "word/stray.xml",
                "<x><y>NI JM 41 29 87 B</y><y>Kestrel</y></x>",
            ),
            // A part named like a header but declared as nothing: a header reading.
            (
                "word/header3.xml",
                &format!("<w:hdr>{}</w:hdr>", w("RESTRICTED")),
            ),
        ]);
        let x = extract_attachment("memo.docx", &docx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:memo.docx", PartKind::Document),
            "Body text\nA footnote\nNI JM 41 29 87 B Kestrel"
        );
        assert_eq!(
            text_at(&x, "attachment:memo.docx:header", PartKind::DocumentHeader),
            "SECRET\nRESTRICTED"
        );
        assert_eq!(
            text_at(&x, "attachment:memo.docx:footer", PartKind::DocumentFooter),
            "OFFICIAL-SENSITIVE"
        );
    }

    #[test]
    fn unreferenced_parts_are_read_as_their_content_type_says() {
        let types = concat!(
            r#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>"#,
            r#"<Override PartName="/word/zz.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/></Types>"#,
        );
        let docx = package(&[
            ("[Content_Types].xml", types),
            ("word/document.xml", "<w:document/>"),
            ("word/zz.xml", &format!("<w:ftr>{}</w:ftr>", w("SECRET"))),
        ]);
        let x = extract_attachment("a.docx", &docx);
        assert_eq!(
            text_at(&x, "attachment:a.docx:footer", PartKind::DocumentFooter),
            "SECRET"
        );
    }

    #[test]
    fn alt_chunk_is_inspected_as_a_nested_file() {
        let types = r#"<Types><Default Extension="htm" ContentType="text/html"/></Types>"#;
        let root = rels(&[("rId1", "officeDocument", "word/document.xml")]);
        let doc_rels = rels(&[("rIdChunk", "aFChunk", "afchunk.htm")]);
        let docx = package(&[
            ("[Content_Types].xml", types),
            ("_rels/.rels", &root),
            ("word/_rels/document.xml.rels", &doc_rels),
            (
                "word/document.xml",
                r#"<w:document><w:body><w:altChunk r:id="rIdChunk"/></w:body></w:document>"#,
            ),
            (
                "word/afchunk.htm",
                "<html><body><p>Subject NINO JM 41 29 87 B</p></body></html>",
            ),
        ]);
        let x = extract_attachment("letter.docx", &docx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let chunk = crate::formats::testutil::file_at(&x, "attachment:letter.docx/afchunk.htm");
        assert_eq!(chunk.file_type, FileType::Html);
        assert_eq!(chunk.depth, 1);
        assert_eq!(
            text_at(&x, "attachment:letter.docx/afchunk.htm", PartKind::Document),
            "Subject NINO JM 41 29 87 B"
        );
    }

    #[test]
    fn workbook_parts_by_relationship() {
        let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
        let root = rels(&[("rId1", "officeDocument", "xl/book.xml")]);
        let book_rels = rels(&[
            ("rId1", "worksheet", "worksheets/data.xml"),
            ("rId2", "sharedStrings", "strings.xml"),
        ]);
        let sheet_rels = rels(&[("rId1", "comments", "../notes/c1.xml")]);
        let sheet = format!(
            r#"<worksheet {ns}><sheetData><row><c t="s"><v>1</v></c><c t="s"><v>0</v></c></row></sheetData></worksheet>"#
        );
        let xlsx = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("xl/workbook.xml", "<workbook/>"),
            ("_rels/.rels", &root),
            ("xl/book.xml", "<workbook/>"),
            ("xl/_rels/book.xml.rels", &book_rels),
            ("xl/worksheets/_rels/data.xml.rels", &sheet_rels),
            ("xl/worksheets/data.xml", &sheet),
            (
                "xl/strings.xml",
                &format!("<sst {ns}><si><t>JM412987B</t></si><si><t>Name</t></si></sst>"),
            ),
            (
                "xl/notes/c1.xml",
                r#"<comments><commentList><comment><text><r><t>check this</t></r></text></comment></commentList></comments>"#,
            ),
        ]);
        let x = extract_attachment("list.xlsx", &xlsx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:list.xlsx", PartKind::Document),
            "Name JM412987B\ncheck this"
        );
    }

    #[test]
    fn slide_master_footer_and_text_boxes() {
        let root = rels(&[("rId1", "officeDocument", "ppt/presentation.xml")]);
        let pres_rels = rels(&[("rId1", "slide", "slides/intro.xml")]);
        let slide_rels = rels(&[
            ("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"),
            ("rId2", "notesSlide", "../notes/n1.xml"),
        ]);
        let layout_rels = rels(&[("rId1", "slideMaster", "../slideMasters/m.xml")]);
        let master = concat!(
            r#"<p:sldMaster xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree>"#,
            r#"<p:sp><p:nvSpPr><p:nvPr><p:ph type="ftr"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>OFFICIAL-SENSITIVE</a:t></a:r></a:p></p:txBody></p:sp>"#,
            r#"<p:sp><p:nvSpPr><p:nvPr/></p:nvSpPr><p:txBody><a:p><a:r><a:t>Operation Nightjar</a:t></a:r></a:p></p:txBody></p:sp>"#,
            r#"</p:spTree></p:cSld></p:sldMaster>"#,
        );
        let pptx = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("_rels/.rels", &root),
            ("ppt/presentation.xml", "<p:presentation xmlns:p=\"p\"/>"),
            ("ppt/_rels/presentation.xml.rels", &pres_rels),
            (
                "ppt/slides/intro.xml",
                "<p:sld xmlns:p=\"p\" xmlns:a=\"a\"><a:p><a:r><a:t>Intro</a:t></a:r></a:p></p:sld>",
            ),
            ("ppt/slides/_rels/intro.xml.rels", &slide_rels),
            (
                "ppt/notes/n1.xml",
                "<p:notes xmlns:p=\"p\" xmlns:a=\"a\"><a:p><a:r><a:t>say this</a:t></a:r></a:p></p:notes>",
            ),
            ("ppt/slideLayouts/slideLayout1.xml", "<p:sldLayout/>"),
            ("ppt/slideLayouts/_rels/slideLayout1.xml.rels", &layout_rels),
            ("ppt/slideMasters/m.xml", master),
        ]);
        let x = extract_attachment("deck.pptx", &pptx);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:deck.pptx", PartKind::Document),
            "Intro\nsay this\nOperation Nightjar"
        );
        assert_eq!(
            text_at(&x, "attachment:deck.pptx:footer", PartKind::DocumentFooter),
            "OFFICIAL-SENSITIVE"
        );
    }

    #[test]
    fn unknown_binary_part_is_a_nested_file() {
        let docx = zip_of(&[
            ("[Content_Types].xml", &"<Types/>"),
            ("word/document.xml", &"<w:document/>"),
            ("word/blob.bin", &fake_exe()),
        ]);
        let x = extract_attachment("a.docx", &docx);
        let blob = crate::formats::testutil::file_at(&x, "attachment:a.docx/blob.bin");
        assert!(blob.executable.is_some());
    }
}
