//! Builders of real files for the format tests: zip archives, Word, Excel and
//! OpenDocument packages, PDFs, gzip and tar, and a message that carries them.
//! They mirror the conformance corpus's `mkmail.py`.

use std::io::{Cursor, Write};

use crate::{Extraction, Limits, PartKind, extract};

/// A zip archive of `(path, bytes)` entries, deflated.
pub(crate) fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, options).expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// A zip archive of entries of any byte-like type.
pub(crate) fn zip_of(files: &[(&str, &dyn AsRef<[u8]>)]) -> Vec<u8> {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, (*d).as_ref())).collect();
    zip_bytes(&files)
}

/// A zip archive of text entries.
pub(crate) fn package(files: &[(&str, &str)]) -> Vec<u8> {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_bytes())).collect();
    zip_bytes(&files)
}

/// Sets the encryption flag of every entry, as `mkmail.zip_of(encrypted=True)` does.
pub(crate) fn encrypt_flag(zip: &[u8]) -> Vec<u8> {
    let mut data = zip.to_vec();
    for (magic, flag_at) in [(&b"PK\x03\x04"[..], 6), (&b"PK\x01\x02"[..], 8)] {
        let hits: Vec<usize> = memchr::memmem::find_iter(&data, magic).collect();
        for at in hits {
            data[at + flag_at] |= 1;
        }
    }
    data
}

/// A zip with one entry `data.txt` of `mib` MiB of zeros, compressed at level 9.
pub(crate) fn zip_bomb(mib: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(false);
    w.start_file("data.txt", options).expect("start entry");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        w.write_all(&chunk).expect("write");
    }
    w.finish().expect("finish zip").into_inner()
}

/// A minimal PE file like the corpus's `fake_exe`.
pub(crate) fn fake_exe() -> Vec<u8> {
    let mut exe = vec![0u8; 512];
    exe[..2].copy_from_slice(b"MZ");
    exe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    exe[0x80..0x84].copy_from_slice(b"PE\0\0");
    for (i, b) in exe.iter_mut().enumerate().skip(0x84) {
        *b = (i * 7 % 251) as u8;
    }
    exe
}

/// Gzip-compressed `data`.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Zlib-compressed `data` (a PDF `FlateDecode` stream).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

/// One ustar member: header and padded data.
pub(crate) fn tar_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(data);
    out.resize(512 + data.len().div_ceil(512) * 512, 0);
    out
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn paragraphs(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|t| {
            format!(
                r#"<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
                escape(t)
            )
        })
        .collect()
}

/// A Word document like `mkmail.docx`: body lines, optional header and footer
/// lines, optionally with every line split across two runs.
pub(crate) fn docx(
    body: &[&str],
    header: Option<&[&str]>,
    footer: Option<&[&str]>,
    split_runs: bool,
) -> Vec<u8> {
    let body_xml = if split_runs {
        body.iter()
            .map(|t| {
                let mid = t.len() / 2;
                format!(
                    r#"<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
                    escape(&t[..mid]),
                    escape(&t[mid..])
                )
            })
            .collect()
    } else {
        paragraphs(body)
    };
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body_xml}<w:sectPr/></w:body></w:document>"#
    );
    let mut files = vec![
        ("[Content_Types].xml".to_owned(), "<Types/>".to_owned()),
        ("word/document.xml".to_owned(), document),
    ];
    if let Some(lines) = header {
        files.push((
            "word/header1.xml".to_owned(),
            format!("<w:hdr {W}>{}</w:hdr>", paragraphs(lines)),
        ));
    }
    if let Some(lines) = footer {
        files.push((
            "word/footer1.xml".to_owned(),
            format!("<w:ftr {W}>{}</w:ftr>", paragraphs(lines)),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_str()))
        .collect();
    package(&files)
}

/// A Word document whose body is the given raw WordprocessingML.
pub(crate) fn docx_raw(body_xml: &str) -> Vec<u8> {
    let document = format!("<w:document {W}><w:body>{body_xml}</w:body></w:document>");
    package(&[
        ("[Content_Types].xml", "<Types/>"),
        ("word/document.xml", &document),
    ])
}

/// A workbook with one sheet whose content (inside `<worksheet>`) is given,
/// and the given shared strings.
pub(crate) fn xlsx_raw(sheet_inner: &str, shared: &[&str]) -> Vec<u8> {
    let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
    let sheet = format!("<worksheet {ns}>{sheet_inner}</worksheet>");
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t>{}</t></si>", escape(s)))
        .collect();
    let sst = format!("<sst {ns}>{strings}</sst>");
    package(&[
        ("[Content_Types].xml", "<Types/>"),
        ("xl/workbook.xml", "<workbook/>"),
        ("xl/worksheets/sheet1.xml", &sheet),
        ("xl/sharedStrings.xml", &sst),
    ])
}

/// A workbook like `mkmail.xlsx`: every cell a shared string.
pub(crate) fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut strings: Vec<&str> = Vec::new();
    let mut xml = String::from("<sheetData>");
    for (r, row) in rows.iter().enumerate() {
        xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (col, value) in row.iter().enumerate() {
            let index = strings.iter().position(|s| s == value).unwrap_or_else(|| {
                strings.push(value);
                strings.len() - 1
            });
            let letter = char::from(b'A' + col as u8);
            xml.push_str(&format!(
                r#"<c r="{letter}{}" t="s"><v>{index}</v></c>"#,
                r + 1
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData>");
    xlsx_raw(&xml, &strings)
}

/// Assembles a PDF from object bodies (numbered from 1), with a cross-reference
/// table and a trailer whose root is object 1.
pub(crate) fn pdf_objects(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A stream object body.
pub(crate) fn pdf_stream(dict: &str, data: &[u8], compress: bool) -> Vec<u8> {
    let (data, filter) = if compress {
        (deflate(data), " /Filter /FlateDecode")
    } else {
        (data.to_vec(), "")
    };
    let mut body = format!("<< {dict} /Length {}{filter} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// A one-page PDF like `mkmail.pdf`: Helvetica lines shown with `Tj T*`.
pub(crate) fn pdf(lines: &[&str], compress: bool) -> Vec<u8> {
    let mut ops = String::from("BT\n/F1 11 Tf\n14 TL\n72 760 Td\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        ops.push_str(&format!("({escaped}) Tj T*\n"));
    }
    ops.push_str("ET");
    let content = encoding_rs::WINDOWS_1252.encode(&ops).0.into_owned();
    pdf_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        pdf_stream("", &content, compress),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ])
}

/// A one-page PDF with the given (uncompressed) content stream, font `/F1`
/// (Helvetica) and image `/Im1`.
pub(crate) fn pdf_from_content(content: &str) -> Vec<u8> {
    pdf_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
        pdf_stream("", content.as_bytes(), false),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        pdf_stream(
            "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode",
            b"\xff\xd8\xff\xd9",
            false,
        ),
    ])
}

/// A one-page PDF whose font `/F1` is a Type0 (CID) font with `Identity-H`
/// encoding, default width 500 and the given `ToUnicode` CMap, as Word writes.
pub(crate) fn pdf_with_font(content: &str, cmap: &str, compress: bool) -> Vec<u8> {
    pdf_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        pdf_stream("", content.as_bytes(), compress),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri /DW 500 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>".to_vec(),
        pdf_stream("", cmap.as_bytes(), compress),
    ])
}

/// The position of `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A message carrying each `(name, bytes)` as a base64 attachment.
pub(crate) fn message_with(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let mut m = String::from(concat!(
        "From: alex.turner@northshire.police.uk\r\n",
        "To: someone@example.org\r\n",
        "Subject: files\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n",
        "--b0\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n",
    ));
    for (name, data) in attachments {
        m.push_str(&format!(
            "--b0\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(data)
        ));
    }
    m.push_str("--b0--\r\n");
    m.into_bytes()
}

/// Extracts a message with `limits`.
pub(crate) fn extract_with(message: &[u8], limits: &Limits) -> Extraction {
    extract(message, limits)
}

/// Extracts a message carrying one attachment, with the default limits.
pub(crate) fn extract_attachment(name: &str, bytes: &[u8]) -> Extraction {
    extract(&message_with(&[(name, bytes)]), &Limits::default())
}

/// The text of the parts at `location` of `kind`, joined by line breaks.
pub(crate) fn text_at(x: &Extraction, location: &str, kind: PartKind) -> String {
    x.parts
        .iter()
        .filter(|p| p.location == location && p.kind == kind)
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The file recorded at `location`; panics naming the files there are.
pub(crate) fn file_at<'x>(x: &'x Extraction, location: &str) -> &'x crate::Attachment {
    x.attachments
        .iter()
        .find(|a| a.location == location)
        .unwrap_or_else(|| {
            let known: Vec<&str> = x.attachments.iter().map(|a| a.location.as_str()).collect();
            panic!("no file at {location}; files: {known:?}")
        })
}

/// True when a problem with `reason` is recorded at `location`.
pub(crate) fn has_problem(x: &Extraction, location: &str, reason: &str) -> bool {
    x.problems
        .iter()
        .any(|p| p.location == location && p.reason == reason)
}
