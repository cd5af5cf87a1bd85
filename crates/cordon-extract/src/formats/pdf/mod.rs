//! PDF text by a bounded hand-scan: no PDF library, no recursion on input
//! structure beyond fixed depths, no allocation from declared sizes.
//!
//! The file is scanned once for `N G obj` headers, which gives an index of
//! objects and of stream data (object streams are indexed too; [`document`]).
//! From the catalogue's page tree (or, when that is broken, every
//! `/Type /Page` object) each page's content streams are decompressed through
//! the bounded reading of [`super::archive`] and [`filters`], and interpreted
//! for their text operators ([`content`]). The font decides the characters
//! ([`fonts`]): its `ToUnicode` CMap ([`cmap`]), a UCS-2 CMap, or its simple
//! encoding with `/Differences`, whose glyph names are read through the Adobe
//! Glyph List ([`glyphs`]). Each glyph is placed where the text state puts it
//! and lines and word breaks come from those places, as `pdftotext` reads
//! them ([`layout`]): letter-spaced text reads as words. Form XObjects,
//! annotation comments and form-field values and the document information
//! (title, subject, keywords) are read too. Text marked as a pagination
//! artifact of subtype `Header` or `Footer` (tagged PDFs from Word) becomes
//! the document header or footer. Embedded files and file attachments are
//! inspected as nested files ([`embedded`]).
//!
//! Not supported: encrypted PDFs (also those with an empty user password),
//! text drawn as images (scans without an OCR layer), fonts without any
//! Unicode information (a CID font with `Identity-H` and no `ToUnicode`, a
//! Type 3 font whose glyph names mean nothing), and stream predictors. Each
//! is reported as a problem where it hides text, so such a PDF is not passed
//! as clean.

mod cmap;
mod content;
mod document;
mod embedded;
mod filters;
mod fonts;
mod glyphs;
mod layout;
mod lexer;
mod objects;

use std::collections::HashSet;

use crate::PartKind;
use crate::collector::{Collector, FileRef};
use content::Interpreter;
use document::{Doc, StreamError};
use layout::{Target, TextOut};
use objects::{Obj, text_string};

/// Inspects a PDF: extracts its text, or records why it cannot be read.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let mut doc = Doc::scan(c, bytes);
    if doc.index.is_empty() {
        c.problem(file.location, "corrupt PDF");
        return;
    }
    if doc.trailers.iter().any(|t| t.get(b"Encrypt").is_some()) {
        c.problem(file.location, "encrypted PDF (cannot be inspected)");
        return;
    }
    doc.index_object_streams(c);
    let mut out = TextOut::new(usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX));
    let pages = doc.pages(c);
    let mut forms = HashSet::new();
    let mut interpreted = HashSet::new();
    let mut attached = Vec::new();
    for (page, resources) in &pages {
        if doc.stop.is_some() {
            break;
        }
        let page_obj = doc.get(c, *page);
        // /Contents: one stream, an array of streams, or a reference to such an array.
        let refs: Vec<Obj> = match page_obj.get(b"Contents") {
            Some(Obj::Ref(num)) => match doc.get(c, *num).as_ref() {
                Obj::Array(items) => items.clone(),
                _ => vec![Obj::Ref(*num)],
            },
            Some(Obj::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let mut data = Vec::new();
        for item in refs {
            if let Obj::Ref(num) = item
                && let Some(stream) = doc.stream(c, num)
            {
                // A stream drawn again (by many pages, or many times on one)
                // costs work again: it is charged like new expansion.
                if !interpreted.insert(num)
                    && let Err(StreamError::Limit(reason)) = doc.charge(c, stream.len())
                {
                    doc.stop.get_or_insert_with(|| reason.to_owned());
                    break;
                }
                data.extend_from_slice(&stream);
                data.push(b'\n');
            }
        }
        out.new_page();
        let mut state = Interpreter::new(&mut doc, &mut out, &mut forms);
        state.run(c, &data, resources.clone(), 0);
        annotations(c, &mut doc, *page, &mut out, &mut attached);
    }
    out.new_page();
    let location = file.location;
    c.text(location, PartKind::Document, &out.body);
    c.text(
        format!("{location}:header"),
        PartKind::DocumentHeader,
        &out.header,
    );
    c.text(
        format!("{location}:footer"),
        PartKind::DocumentFooter,
        &out.footer,
    );
    let info = doc.info(c);
    c.text(format!("{location}:properties"), PartKind::Document, &info);

    if let Some(reason) = &doc.stop {
        c.problem(location, reason.clone());
    } else if out.truncated {
        c.problem(location, "expanded size limit reached");
    }
    if let Some(filter) = &doc.unsupported {
        c.problem(
            location,
            format!("PDF content uses an unsupported compression ({filter})"),
        );
    }
    if doc.damaged {
        c.problem(location, "corrupt PDF (some content could not be read)");
    }
    if pages.is_empty() && out.glyphs == 0 {
        c.problem(location, "corrupt PDF (no pages found)");
    } else if out.glyphs == 0 && out.undecodable == 0 && out.images > 0 {
        c.problem(location, "PDF has no extractable text (scanned image?)");
    }
    if out.undecodable >= 20 && out.undecodable * 10 >= out.glyphs + out.undecodable {
        c.problem(
            location,
            "PDF text uses fonts without a Unicode map (cannot be read)",
        );
    }
    let mut listed = embedded::name_tree(c, &mut doc);
    listed.append(&mut attached);
    embedded::inspect_all(c, &mut doc, file, listed);
}

/// Comments (`/Contents`) and form-field values (`/V`) of a page's
/// annotations; the files of its file-attachment annotations are added to
/// `attached`.
fn annotations(
    c: &mut Collector,
    doc: &mut Doc,
    page: u32,
    out: &mut TextOut,
    attached: &mut Vec<embedded::Embedded>,
) {
    let page = doc.get(c, page);
    let annots = doc.lookup(c, &page, b"Annots");
    let Obj::Array(items) = annots.as_ref() else {
        return;
    };
    for item in items.iter().take(10_000) {
        let annot = doc.resolve(c, item);
        if annot
            .get(b"Subtype")
            .is_some_and(|s| s.is_name(b"FileAttachment"))
            && let Some(spec) = annot.get(b"FS")
            && let Some(file) = embedded::from_file_spec(c, doc, spec, None)
        {
            attached.push(file);
        }
        for key in [&b"Contents"[..], b"V"] {
            if let Obj::Str(s) = doc.lookup(c, &annot, key).as_ref() {
                let text = text_string(s);
                if !text.trim().is_empty() {
                    out.push(Target::Body, "\n");
                    out.push(Target::Body, &text);
                    out.glyphs += text.chars().count();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::*;

    #[test]
    fn corpus_style_pdf_compressed_and_plain() {
        for compress in [true, false] {
            let pdf = pdf(
                &[
                    "Patient referral",
                    "NHS number: 943 476 5919",
                    "Reason: (assessment)",
                ],
                compress,
            );
            let x = extract_attachment("referral.pdf", &pdf);
            assert!(x.problems.is_empty(), "{:?}", x.problems);
            assert_eq!(
                text_at(&x, "attachment:referral.pdf", PartKind::Document),
                "Patient referral\nNHS number: 943 476 5919\nReason: (assessment)"
            );
        }
    }

    #[test]
    fn type0_font_with_tounicode_hex_strings_and_split_runs() {
        // Codes 0001.. map to "Operatin N" via bfchar and a bfrange.
        let cmap = concat!(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
            "2 beginbfchar <0001> <004F> <0002> <0070> endbfchar\n",
            "1 beginbfrange <0003> <0005> <0065> endbfrange\n",
            "1 beginbfrange <0010> <0012> [<0072> <0061> <0074>] endbfrange\n",
            "2 beginbfchar <0013> <0069> <0014> <006F> endbfchar\n",
            "1 beginbfchar <0015> <006E> endbfchar\n",
            "endcmap CMapName currentdict /CMap defineresource pop end end\n",
        );
        // "Opera" in one run, "tion" in the next, drawn right after it
        // (5 glyphs x 500/1000 x 10pt = 25pt), then a new line.
        let content = concat!(
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm <00010002000300100011> Tj ET\n",
            "BT /F1 10 Tf 1 0 0 1 97 700 Tm [<00120013>-20<00140015>] TJ ET\n",
            "BT /F1 10 Tf 1 0 0 1 72 680 Tm <0001> Tj ET\n",
        );
        let pdf = pdf_with_font(content, cmap, true);
        let x = extract_attachment("word.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:word.pdf", PartKind::Document),
            "Operation\nO"
        );
    }

    #[test]
    fn header_and_footer_artifacts() {
        let content = concat!(
            "/Artifact <</Type /Pagination /Subtype /Header>> BDC BT /F1 10 Tf 1 0 0 1 72 800 Tm (OFFICIAL-SENSITIVE) Tj ET EMC\n",
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm (Body text) Tj ET\n",
            "/Artifact <</Type /Pagination /Attached [/Bottom]>> BDC BT /F1 10 Tf 1 0 0 1 72 30 Tm (Page 1) Tj ET EMC\n",
        );
        let pdf = pdf_from_content(content);
        let x = extract_attachment("doc.pdf", &pdf);
        assert_eq!(
            text_at(&x, "attachment:doc.pdf", PartKind::Document),
            "Body text"
        );
        assert_eq!(
            text_at(&x, "attachment:doc.pdf:header", PartKind::DocumentHeader),
            "OFFICIAL-SENSITIVE"
        );
        assert_eq!(
            text_at(&x, "attachment:doc.pdf:footer", PartKind::DocumentFooter),
            "Page 1"
        );
    }

    #[test]
    fn encrypted_pdf_is_a_problem() {
        let mut pdf = pdf(&["secret words"], true);
        let at = find(&pdf, b"/Root 1 0 R").unwrap();
        pdf.splice(at..at, b"/Encrypt 9 0 R ".iter().copied());
        let x = extract_attachment("locked.pdf", &pdf);
        assert!(has_problem(
            &x,
            "attachment:locked.pdf",
            "encrypted PDF (cannot be inspected)"
        ));
        assert!(!x.parts.iter().any(|p| p.text.contains("secret")));
    }

    #[test]
    fn scanned_pdf_without_text_is_a_problem() {
        let content = "q 500 0 0 700 50 50 cm /Im1 Do Q";
        let pdf = pdf_from_content(content);
        let x = extract_attachment("scan.pdf", &pdf);
        assert!(has_problem(
            &x,
            "attachment:scan.pdf",
            "PDF has no extractable text (scanned image?)"
        ));
    }

    #[test]
    fn corrupt_pdfs_are_problems() {
        let x = extract_attachment("junk.pdf", b"%PDF-1.4\nnothing here at all\n");
        assert!(
            has_problem(&x, "attachment:junk.pdf", "corrupt PDF"),
            "{:?}",
            x.problems
        );
        let mut pdf = pdf(&["some text here"], true);
        let at = find(&pdf, b"stream\n").unwrap() + 7;
        for b in &mut pdf[at..at + 6] {
            *b = b'!';
        }
        let x = extract_attachment("bad.pdf", &pdf);
        assert!(
            has_problem(
                &x,
                "attachment:bad.pdf",
                "corrupt PDF (some content could not be read)"
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn flate_bomb_in_a_pdf_is_stopped() {
        let zeros = vec![b' '; 48 << 20];
        let content = deflate(&zeros);
        let mut pdf = Vec::new();
        pdf.extend_from_slice(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
        pdf.extend_from_slice(b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
        pdf.extend_from_slice(b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n");
        pdf.extend_from_slice(
            format!(
                "4 0 obj << /Length {} /Filter /FlateDecode >> stream\n",
                content.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&content);
        pdf.extend_from_slice(b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        let x = extract_attachment("bomb.pdf", &pdf);
        assert!(
            has_problem(
                &x,
                "attachment:bomb.pdf",
                super::super::archive::RATIO_EXCEEDED
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn object_streams_and_form_fields() {
        // Catalog and page tree live in an object stream; the page has a
        // filled form field and a comment.
        let catalog = "<< /Type /Catalog /Pages 2 0 R >>";
        let tree = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
        let header = format!("1 0 2 {} ", catalog.len() + 1);
        let objects = format!("{header}{catalog} {tree}");
        let packed = deflate(objects.as_bytes());
        let mut pdf = Vec::new();
        pdf.extend_from_slice(b"%PDF-1.5\n");
        pdf.extend_from_slice(
            format!(
                "5 0 obj << /Type /ObjStm /N 2 /First {} /Length {} /Filter /FlateDecode >> stream\n",
                header.len(),
                packed.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&packed);
        pdf.extend_from_slice(b"\nendstream endobj\n");
        pdf.extend_from_slice(
            b"3 0 obj << /Type /Page /Parent 2 0 R /Annots [6 0 R 8 0 R] >> endobj\n",
        );
        pdf.extend_from_slice(
            b"6 0 obj << /Type /Annot /Subtype /Widget /T (nino) /V (JM 41 29 87 B) >> endobj\n",
        );
        pdf.extend_from_slice(
            b"8 0 obj << /Type /Annot /Subtype /Text /Contents <FEFF004E006F00740065> >> endobj\n",
        );
        pdf.extend_from_slice(
            b"7 0 obj << /Type /XRef /Root 1 0 R /Length 0 >> stream\n\nendstream endobj\n%%EOF\n",
        );
        let x = extract_attachment("form.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:form.pdf", PartKind::Document),
            "JM 41 29 87 B\nNote"
        );
        // The page was found through the packed page tree, not by the fallback.
        let limits = crate::Limits::default();
        let mut c = Collector::new(&limits, pdf.len());
        let mut doc = Doc::scan(&c, &pdf);
        doc.index_object_streams(&mut c);
        let catalog = doc.get(&mut c, 1);
        assert!(catalog.get(b"Pages").is_some());
        assert_eq!(doc.pages(&mut c).len(), 1);
    }

    #[test]
    fn many_pages_share_fonts_and_keep_order() {
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            Vec::new(), // page tree, filled in below
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ];
        let mut kids = String::new();
        for page in 0..3 {
            let content = format!("BT /F1 12 Tf 72 700 Td (page {page}) Tj ET");
            objects.push(pdf_stream("", content.as_bytes(), true));
            let content_num = objects.len();
            objects.push(
                format!("<< /Type /Page /Parent 2 0 R /Contents {content_num} 0 R >>").into_bytes(),
            );
            kids.push_str(&format!("{} 0 R ", objects.len()));
        }
        objects[1] = format!(
            "<< /Type /Pages /Kids [{kids}] /Count 3 /Resources << /Font << /F1 3 0 R >> >> >>"
        )
        .into_bytes();
        let x = extract_attachment("pages.pdf", &pdf_objects(&objects));
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:pages.pdf", PartKind::Document),
            "page 0\npage 1\npage 2"
        );
    }
}
