//! Files embedded in a PDF: the catalogue's `/EmbeddedFiles` name tree,
//! `/FileAttachment` annotations, and any other embedded-file stream in the
//! file (a reader's attachment pane and extraction tools find those too).
//! Each is an attachment: it is decoded within the expansion budget and
//! inspected as a nested file.

use std::collections::HashSet;
use std::rc::Rc;

use super::document::Doc;
use super::objects::{Obj, text_string};
use crate::collector::{Collector, FileRef};

/// Most name-tree nodes visited (a hostile tree cannot make the walk long).
const MAX_TREE_NODES: usize = 10_000;
/// Most embedded files inspected in one PDF.
pub(super) const MAX_FILES: usize = 1_000;

/// An embedded file found through a file specification: its name and the
/// stream that holds it.
#[derive(Debug)]
pub(super) struct Embedded {
    /// File name from the specification or the name tree.
    name: Option<String>,
    /// Object number of the embedded-file stream.
    stream: u32,
}

/// The embedded file of file specification `spec` (a dictionary with `/EF`),
/// if it has one; `fallback` names it when the specification does not.
pub(super) fn from_file_spec(
    c: &mut Collector,
    doc: &mut Doc,
    spec: &Obj,
    fallback: Option<String>,
) -> Option<Embedded> {
    let spec = doc.resolve(c, spec);
    let ef = doc.lookup(c, &spec, b"EF");
    let stream = [&b"UF"[..], b"F", b"DOS", b"Unix", b"Mac"]
        .iter()
        .find_map(|key| match ef.get(key) {
            Some(Obj::Ref(num)) => Some(*num),
            _ => None,
        })?;
    let name = [&b"UF"[..], b"F", b"DOS", b"Unix", b"Mac"]
        .iter()
        .find_map(|key| match doc.lookup(c, &spec, key).as_ref() {
            Obj::Str(s) => Some(text_string(s)),
            _ => None,
        })
        .filter(|n| !n.trim().is_empty())
        .or(fallback);
    Some(Embedded { name, stream })
}

/// The embedded files listed in the catalogue's `/Names /EmbeddedFiles` tree.
pub(super) fn name_tree(c: &mut Collector, doc: &mut Doc) -> Vec<Embedded> {
    let catalog = doc.catalog(c);
    let names = doc.lookup(c, &catalog, b"Names");
    let root = doc.lookup(c, &names, b"EmbeddedFiles");
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<Rc<Obj>> = vec![root];
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > MAX_TREE_NODES || found.len() >= MAX_FILES {
            break;
        }
        if let Obj::Array(pairs) = doc.lookup(c, &node, b"Names").as_ref() {
            for pair in pairs.chunks_exact(2).take(MAX_FILES - found.len()) {
                let key = match &pair[0] {
                    Obj::Str(s) => Some(text_string(s)),
                    _ => None,
                };
                if let Some(file) = from_file_spec(c, doc, &pair[1], key) {
                    found.push(file);
                }
            }
        }
        if let Some(Obj::Array(kids)) = node.get(b"Kids") {
            for kid in kids.iter().rev() {
                if let Obj::Ref(num) = kid
                    && seen.insert(*num)
                {
                    stack.push(doc.get(c, *num));
                }
            }
        }
    }
    found
}

/// Inspects each embedded file once: `listed` first (with their names), then
/// any other `/Type /EmbeddedFile` stream in the file. A file that cannot be
/// decoded is a problem at its own location.
pub(super) fn inspect_all(c: &mut Collector, doc: &mut Doc, file: &FileRef, listed: Vec<Embedded>) {
    let mut done = HashSet::new();
    let unlisted: Vec<Embedded> = doc
        .stream_objects()
        .into_iter()
        .filter(|&num| {
            doc.get(c, num)
                .get(b"Type")
                .is_some_and(|t| t.is_name(b"EmbeddedFile"))
        })
        .map(|stream| Embedded { name: None, stream })
        .collect();
    for embedded in listed.into_iter().chain(unlisted) {
        if done.contains(&embedded.stream) {
            continue;
        }
        // What is left unread is a problem, not a silent drop.
        if done.len() >= MAX_FILES {
            c.problem(
                file.location,
                "too many embedded files (the rest were not inspected)",
            );
            break;
        }
        if c.parts_exhausted() {
            c.problem(file.location, "too many parts");
            break;
        }
        done.insert(embedded.stream);
        let name = embedded
            .name
            .unwrap_or_else(|| format!("embedded-file-{}", embedded.stream));
        let location = format!("{}/{}", file.location, name);
        let dict = doc.get(c, embedded.stream);
        let declared = dict
            .get(b"Subtype")
            .and_then(Obj::name)
            .map(|n| String::from_utf8_lossy(n).into_owned());
        let Some(bytes) = doc.stream(c, embedded.stream) else {
            let reason = match &doc.stop {
                Some(limit) => limit.clone(),
                None => "embedded file in a PDF could not be decoded".to_owned(),
            };
            c.problem(location, reason);
            continue;
        };
        c.file(
            &FileRef {
                location: &location,
                name: Some(&name),
                declared: declared.as_deref(),
                depth: file.depth + 1,
                inline: false,
            },
            &bytes,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::PartKind;
    use crate::formats::testutil::*;

    /// A one-page PDF whose catalogue has `catalog_extra` and whose page has
    /// `page_extra`, followed by `more` objects (numbered from 6).
    fn pdf_with(catalog_extra: &str, page_extra: &str, more: &[Vec<u8>]) -> Vec<u8> {
        let mut objects = vec![
            format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>").into_bytes(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R /Contents 4 0 R {page_extra} \
                 /Resources << /Font << /F1 5 0 R >> >> >>"
            )
            .into_bytes(),
            pdf_stream("", b"BT /F1 12 Tf 72 700 Td (Case file) Tj ET", true),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ];
        objects.extend_from_slice(more);
        pdf_objects(&objects)
    }

    const NOTES: &[u8] = b"Subject NINO: JM 41 29 87 B\n";

    #[test]
    fn embedded_files_name_tree_is_inspected_as_nested_files() {
        // A two-level name tree: the root's kid lists notes.txt.
        let pdf = pdf_with(
            "/Names << /EmbeddedFiles 6 0 R >>",
            "",
            &[
                b"<< /Kids [7 0 R] >>".to_vec(),
                b"<< /Limits [(notes.txt) (notes.txt)] /Names [(notes.txt) 8 0 R] >>".to_vec(),
                b"<< /Type /Filespec /F (notes.txt) /UF <FEFF006E006F007400650073002E007400780074> /EF << /F 9 0 R >> >>"
                    .to_vec(),
                pdf_stream("/Type /EmbeddedFile /Subtype /text#2Fplain", NOTES, true),
            ],
        );
        let x = extract_attachment("case.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:case.pdf/notes.txt", PartKind::Document),
            "Subject NINO: JM 41 29 87 B"
        );
        let nested = crate::formats::testutil::file_at(&x, "attachment:case.pdf/notes.txt");
        assert_eq!(nested.depth, 1);
        assert_eq!(nested.name.as_deref(), Some("notes.txt"));
        assert_eq!(
            text_at(&x, "attachment:case.pdf", PartKind::Document),
            "Case file"
        );
    }

    #[test]
    fn file_attachment_annotation_is_inspected_once() {
        // The same file is listed in the name tree and attached on the page.
        let pdf = pdf_with(
            "/Names << /EmbeddedFiles << /Names [(evidence.csv) 7 0 R] >> >>",
            "/Annots [6 0 R]",
            &[
                b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS 7 0 R >>".to_vec(),
                b"<< /Type /Filespec /F (evidence.csv) /EF << /F 8 0 R >> >>".to_vec(),
                pdf_stream(
                    "/Type /EmbeddedFile",
                    b"name,nino\nAlan Price,JM412987B\n",
                    true,
                ),
            ],
        );
        let x = extract_attachment("case.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let text = text_at(&x, "attachment:case.pdf/evidence.csv", PartKind::Document);
        assert!(text.contains("JM412987B"), "{text}");
        let copies = x
            .attachments
            .iter()
            .filter(|a| a.location == "attachment:case.pdf/evidence.csv")
            .count();
        assert_eq!(copies, 1);
    }

    #[test]
    fn unlisted_embedded_file_stream_is_still_inspected() {
        let pdf = pdf_with("", "", &[pdf_stream("/Type /EmbeddedFile", NOTES, true)]);
        let x = extract_attachment("case.pdf", &pdf);
        assert_eq!(
            text_at(
                &x,
                "attachment:case.pdf/embedded-file-6",
                PartKind::Document
            ),
            "Subject NINO: JM 41 29 87 B"
        );
    }

    #[test]
    fn embedded_file_that_cannot_be_decoded_is_a_problem() {
        let pdf = pdf_with(
            "/Names << /EmbeddedFiles << /Names [(notes.txt) << /F (notes.txt) /EF << /F 6 0 R >> >>] >> >>",
            "",
            &[b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length 12 >>\nstream\n!!!!!!!!!!!!\nendstream".to_vec()],
        );
        let x = extract_attachment("case.pdf", &pdf);
        assert!(
            has_problem(
                &x,
                "attachment:case.pdf/notes.txt",
                "embedded file in a PDF could not be decoded"
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn embedded_files_past_the_parts_limit_are_a_problem() {
        let files: Vec<Vec<u8>> = (0..5)
            .map(|_| pdf_stream("/Type /EmbeddedFile", NOTES, true))
            .collect();
        let message = message_with(&[("case.pdf", &pdf_with("", "", &files))]);
        let limits = crate::Limits {
            max_parts: 5,
            ..crate::Limits::default()
        };
        let x = extract_with(&message, &limits);
        let inspected = x
            .attachments
            .iter()
            .filter(|a| a.location.starts_with("attachment:case.pdf/"))
            .count();
        assert!(inspected < 5, "{inspected}");
        assert!(
            x.problems.iter().any(|p| p.reason == "too many parts"),
            "{:?}",
            x.problems
        );
    }
}
