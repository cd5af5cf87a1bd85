//! Property tests: whatever bytes arrive as an attachment (valid files with
//! random damage, or random bytes behind a format's magic number), extraction
//! finishes without a parser panic, and damage never yields a clean pass of
//! content it could not read.

use proptest::prelude::*;

use super::testutil::*;
use crate::Extraction;

/// Valid files of every format the extractor opens.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut tar = tar_member("a/notes.txt", b"NI JM 41 29 87 B");
    tar.extend([0u8; 1024]);
    vec![
        (
            "notes.docx",
            docx(
                &["Operation Nightjar", "NI JM 41 29 87 B"],
                Some(&["OFFICIAL"]),
                Some(&["SECRET"]),
                true,
            ),
        ),
        (
            "list.xlsx",
            xlsx(&[&["Name", "NINO"], &["A Person", "JM412987B"]]),
        ),
        (
            "case.odt",
            package(&[
                ("mimetype", "application/vnd.oasis.opendocument.text"),
                (
                    "content.xml",
                    "<office:text><text:p>Case <text:s/>notes</text:p></office:text>",
                ),
            ]),
        ),
        (
            "tools.zip",
            zip_of(&[("readme.txt", b"run me"), ("collect.exe", &fake_exe())]),
        ),
        (
            "referral.pdf",
            pdf(&["Patient referral", "NHS number: 943 476 5919"], true),
        ),
        (
            "word.pdf",
            pdf_with_font(
                "BT /F1 10 Tf 1 0 0 1 72 700 Tm <00010002> Tj ET",
                "begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0001> <0002> <0041> endbfrange",
                true,
            ),
        ),
        ("case.tar.gz", gzip(&tar)),
    ]
}

/// True when some parser panicked (the guard turned it into this problem).
fn parser_panicked(x: &Extraction) -> bool {
    x.problems
        .iter()
        .any(|p| p.reason == "the parser failed on this part")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn damaged_files_never_panic(
        which in 0usize..7,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..24),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let (name, mut bytes) = samples().swap_remove(which);
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let x = extract_attachment(name, &bytes);
        prop_assert!(!parser_panicked(&x), "{:?}", x.problems);
    }

    #[test]
    fn random_bytes_behind_magic_numbers_never_panic(
        magic in 0usize..9,
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let prefix: &[u8] = [
            &b"%PDF-1.7\n"[..],
            b"PK\x03\x04",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            b"\x1f\x8b\x08\x00",
            b"\xca\xfe\xba\xbe",
            b"MZ",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj 2 0 obj << /Kids [",
            b"%PDF-1.4\n4 0 obj << /Length 99 /Filter [/FlateDecode /ASCII85Decode /LZWDecode /RunLengthDecode] >> stream\n",
            b"",
        ][magic];
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&body);
        let x = extract_attachment("file.bin", &bytes);
        prop_assert!(!parser_panicked(&x), "{:?}", x.problems);
    }

    #[test]
    fn pdf_content_operators_never_panic(
        ops in prop::collection::vec(
            prop::sample::select(vec![
                "BT", "ET", "q", "Q", "1 0 0 1 5 5 cm", "/F1 12 Tf", "0 -14 Td", "T*", "12 TL",
                "(abc) Tj", "<00410042> Tj", "[(a) -300 (b) 5 <0043>] TJ", "(x) '", "1 2 (y) \"",
                "/Artifact <</Subtype /Footer>> BDC", "EMC", "/Im1 Do", "BI /W 1 /H 1 ID \x00\x01 EI",
                "1 0 0 1 72 700 Tm", "0 Tz", "-1e308 0 Td", "[", "]", "<<", ">>", "((", "/F9 0 Tf",
            ]),
            0..64,
        ),
    ) {
        let content = ops.join(" ");
        let x = extract_attachment("ops.pdf", &pdf_from_content(&content));
        prop_assert!(!parser_panicked(&x), "{:?}", x.problems);
    }
}
