//! OpenDocument files (LibreOffice and others): every `content.xml` and
//! `styles.xml` the manifest (`META-INF/manifest.xml`) lists, the document's
//! own and those of its embedded objects (`Object 1/content.xml`, a chart or
//! a formula), with the master-page headers and footers and the presentation
//! header, footer and date declarations as the document's header and footer;
//! other embedded documents are inspected as nested files. An encrypted
//! document (its manifest lists encryption data) cannot be read.

use super::xml::{self, attribute, each_element};
use super::{Package, natural_key};
use crate::collector::Collector;

/// One file the manifest lists.
#[derive(Debug, PartialEq, Eq)]
struct ManifestEntry {
    /// Path inside the package (`Object 1/content.xml`).
    path: String,
    /// The declared media type (`text/xml`, `application/vnd.oasis...`).
    media_type: String,
}

/// Inspects an OpenDocument package.
pub(super) fn inspect(c: &mut Collector, doc: &mut Package) {
    let manifest = doc.part(c, "META-INF/manifest.xml");
    if let Some(manifest) = &manifest
        && memchr::memmem::find(manifest, b"encryption-data").is_some()
    {
        c.problem(
            doc.file.location,
            "encrypted document (cannot be inspected)",
        );
        return;
    }
    if doc.find("content.xml").is_none() {
        c.problem(
            doc.file.location,
            "document has no main part (corrupt or encrypted)",
        );
        return;
    }
    let listed = manifest
        .as_deref()
        .map(manifest_entries)
        .unwrap_or_default();
    let mut contents = vec!["content.xml".to_owned()];
    let mut styles = vec!["styles.xml".to_owned()];
    let mut files = Vec::new();
    for entry in &listed {
        let lower = entry.path.to_lowercase();
        if lower == "content.xml" || lower.ends_with("/content.xml") {
            contents.push(entry.path.clone());
        } else if lower == "styles.xml" || lower.ends_with("/styles.xml") {
            styles.push(entry.path.clone());
        } else if is_nested_file(entry) {
            files.push(entry.path.clone());
        }
    }
    // The document's own parts first, then its objects in order.
    for list in [&mut contents, &mut styles, &mut files] {
        list.sort_by_key(|p| (p.contains('/'), natural_key(p)));
        list.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    }
    for path in &contents {
        doc.text_part(c, path, &xml::ODF);
    }
    for path in &styles {
        if doc.find(path).is_some() {
            doc.text_part(c, path, &xml::ODF_STYLES);
        }
    }
    if doc.find("meta.xml").is_some() {
        doc.properties(c, "meta.xml");
    }
    for path in &files {
        doc.nested(c, path, None);
    }
}

/// True for a listed file that is a document of its own to inspect: not the
/// package's XML or RDF metadata, pictures, thumbnails or settings, and not a
/// directory.
fn is_nested_file(entry: &ManifestEntry) -> bool {
    let lower = entry.path.to_lowercase();
    let media = entry.media_type.to_lowercase();
    let bookkeeping = [
        "pictures/",
        "thumbnails/",
        "objectreplacements/",
        "configurations2/",
        "meta-inf/",
    ];
    !(lower.ends_with('/')
        || lower == "/"
        || lower.ends_with(".xml")
        || lower.ends_with(".rdf")
        || media.ends_with("xml")
        || lower == "mimetype"
        || bookkeeping.iter().any(|b| lower.starts_with(b))
        || media.starts_with("image/")
        || media.starts_with("application/vnd.oasis.opendocument."))
}

/// The files listed in a manifest, in order.
fn manifest_entries(xml: &[u8]) -> Vec<ManifestEntry> {
    let mut out = Vec::new();
    each_element(xml, |e| {
        if e.local_name().as_ref() == "file-entry"
            && let Some(path) = attribute(e, "full-path")
        {
            out.push(ManifestEntry {
                path: path.trim().trim_start_matches("./").to_owned(),
                media_type: attribute(e, "media-type").unwrap_or_default().into_owned(),
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lists_parts_and_files() {
        let manifest = concat!(
            r#"<manifest:manifest xmlns:manifest="m"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.presentation"/>"#,
            r#"<manifest:file-entry manifest:full-path="Object 1/content.xml" manifest:media-type="text/xml"/>"#,
            r#"<manifest:file-entry manifest:full-path="Object 2" manifest:media-type="application/vnd.sun.star.oleobject"/>"#,
            r#"<manifest:file-entry manifest:full-path="manifest.rdf" manifest:media-type="application/rdf+xml"/>"#,
            r#"<manifest:file-entry manifest:full-path="Pictures/a.png" manifest:media-type="image/png"/></manifest:manifest>"#,
        );
        let entries = manifest_entries(manifest.as_bytes());
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[1].path, "Object 1/content.xml");
        let nested: Vec<&str> = entries
            .iter()
            .filter(|e| is_nested_file(e))
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(nested, ["Object 2"]);
    }

    #[test]
    fn presentation_declarations_objects_and_notes() {
        use crate::PartKind;
        use crate::formats::testutil::*;
        let content = concat!(
            r#"<office:document-content xmlns:office="o" xmlns:presentation="p" xmlns:draw="d" xmlns:text="t"><office:body><office:presentation>"#,
            r#"<presentation:footer-decl presentation:name="ftr1">OFFICIAL-SENSITIVE</presentation:footer-decl>"#,
            r#"<presentation:date-time-decl presentation:name="dtd1" presentation:source="fixed">4 Dec</presentation:date-time-decl>"#,
            r#"<draw:page presentation:use-footer-name="ftr1"><draw:frame><draw:text-box><text:p>Slide text</text:p></draw:text-box></draw:frame>"#,
            r#"<presentation:notes><draw:frame><draw:text-box><text:p>Speaker notes</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>"#,
            r#"</office:presentation></office:body></office:document-content>"#,
        );
        let styles = concat!(
            r#"<office:document-styles xmlns:office="o" xmlns:presentation="p" xmlns:style="s" xmlns:draw="d" xmlns:text="t"><office:master-styles>"#,
            r#"<presentation:header-decl presentation:name="hdr1">SECRET</presentation:header-decl>"#,
            r#"<style:master-page style:name="Default"><draw:frame presentation:class="footer"><draw:text-box><text:p>RESTRICTED</text:p></draw:text-box></draw:frame>"#,
            r#"<draw:frame><draw:text-box><text:p>Master text box</text:p></draw:text-box></draw:frame></style:master-page>"#,
            r#"</office:master-styles></office:document-styles>"#,
        );
        let manifest = concat!(
            r#"<manifest:manifest xmlns:manifest="m"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.presentation"/>"#,
            r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
            r#"<manifest:file-entry manifest:full-path="Object 1/content.xml" manifest:media-type="text/xml"/>"#,
            r#"<manifest:file-entry manifest:full-path="Object 1/" manifest:media-type="application/vnd.oasis.opendocument.chart"/>"#,
            r#"<manifest:file-entry manifest:full-path="Object 2" manifest:media-type="application/octet-stream"/></manifest:manifest>"#,
        );
        let chart = r#"<office:document-content xmlns:text="t"><text:p>Chart of KC 55 10 22 D</text:p></office:document-content>"#;
        let odp = zip_of(&[
            (
                "mimetype",
                &"application/vnd.oasis.opendocument.presentation",
            ),
            ("content.xml", &content),
            ("styles.xml", &styles),
            ("META-INF/manifest.xml", &manifest),
            ("Object 1/content.xml", &chart),
            ("Object 2", &fake_exe()),
        ]);
        let x = extract_attachment("brief.odp", &odp);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:brief.odp", PartKind::Document),
            "Slide text\nSpeaker notes\nChart of KC 55 10 22 D\nMaster text box"
        );
        assert_eq!(
            text_at(&x, "attachment:brief.odp:footer", PartKind::DocumentFooter),
            "OFFICIAL-SENSITIVE\n4 Dec\nRESTRICTED"
        );
        assert_eq!(
            text_at(&x, "attachment:brief.odp:header", PartKind::DocumentHeader),
            "SECRET"
        );
        let object = crate::formats::testutil::file_at(&x, "attachment:brief.odp/Object 2");
        assert!(object.executable.is_some());
    }
}
