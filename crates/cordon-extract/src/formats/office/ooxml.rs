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
/// main part is missing).
pub(super) fn inspect(c: &mut Collector, doc: &mut Package, file_type: FileType) {
    let types = doc
        .part(c, "[Content_Types].xml")
        .map(|xml| ContentTypes::parse(&xml))
        .unwrap_or_default();
    let (plan, root) = walk(c, doc);
    let Some(main) = main_part(doc, &types, &root) else {
        let what = match file_type {
            FileType::Xlsx => "workbook",
            FileType::Pptx => "presentation",
            _ => "document",
        };
        c.problem(
            doc.file.location,
            format!("{what} has no main part (corrupt or encrypted)"),
        );
        return;
    };
    let mut plan = plan;
    if !plan.iter().any(|(path, _)| path.eq_ignore_ascii_case(&main)) {
        plan.insert(0, (main.clone(), vec![Reading::Body]));
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
        doc.text_of(c, path, &data, &xml::OOXML);
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
        "image" | "hyperlink" | "font" | "fonttable" | "styles" | "styleswitheffects"
        | "theme" | "themeoverride" | "settings" | "websettings" | "numbering"
        | "vbaproject" | "printersettings" | "thumbnail" | "customxml" | "customxmlprops"
        | "core-properties" | "extended-properties" | "custom-properties" | "presprops"
        | "viewprops" | "tablestyles" | "commentauthors" | "people" | "calcchain"
        | "attachedtemplate" | "video" | "audio" | "media" | "chartstyle"
        | "chartcolorstyle" | "diagramlayout" | "diagramquickstyle" | "diagramcolors"
        | "keymapcustomizations" | "ctrlprop" | "activex" | "activexcontrolbinary"
        | "digital-signature" | "origin" | "signature" | "commentsextended"
        | "commentsids" | "commentsextensible" | "stylesheet" => Reading::Ignore,
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
        (_, "styles.xml" | "settings.xml" | "fonttable.xml" | "websettings.xml") => {
            Reading::Ignore
        }
        (_, "numbering.xml" | "vbaproject.bin" | "thumbnail.jpeg" | "thumbnail.png") => {
            Reading::Ignore
        }
        ("embeddings", _) => Reading::File,
        _ => return None,
    })
}
