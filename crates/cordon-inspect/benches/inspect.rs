//! Inspection speed, against a bare mail-parser parse of the same bytes in the
//! same run (the baseline): compare the two lines of each group, not absolute
//! figures, on a shared machine.
//!
//! Groups:
//! - `fixtures`: every fixture message (MB/s over the whole set);
//! - `typical_20kb`: a 20 KB business message with a signature, a few numbers
//!   and a small Word attachment (messages/s);
//! - `plain_text_1mb`: a 1 MB plain-text body (MB/s of text);
//! - `styled_html_100kb` and `styled_html_1mb`: HTML mail with a style sheet
//!   of class rules, hidden spans, generated content and deep nesting, at two
//!   sizes (MB/s): equal figures mean the HTML and CSS handling is linear.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use cordon_inspect::{Envelope, Inspector};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mail_parser::MessageParser;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn inspector() -> Inspector {
    Inspector::load(&root().join("rules")).expect("shipped rules load")
}

fn envelope() -> Envelope {
    Envelope {
        mail_from: Some("sam.okafor@northshire.police.uk".into()),
        rcpt_to: vec![
            "j.bell@bellandco-solicitors.co.uk".into(),
            "k.hughes@northshire.police.uk".into(),
        ],
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("read fixture"))
        .collect()
}

/// Prose of about `len` bytes with the sprinkling of numbers real mail has.
fn prose(len: usize) -> String {
    const PARAGRAPH: &str = "Thanks for your time on the call this morning. As agreed, the team will meet at 10:30 on \
        Tuesday 14 March in room 2.04 at Bridge Street to go through the 3 outstanding actions from the review, \
        and I will circulate the revised timetable (version 7) by Friday. Please bring the figures for Q3 and the \
        draft of the partnership agreement; if anything changes call me on 01632 960123.\r\n\r\n";
    let mut text = String::with_capacity(len + PARAGRAPH.len());
    while text.len() < len {
        text.push_str(PARAGRAPH);
    }
    text
}

/// A minimal Word document holding `text`.
fn docx(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip_writer(&mut buf);
        let body = format!(
            "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
        );
        for (name, data) in [
            ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>".to_owned()),
            ("word/document.xml", body),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default()).expect("zip entry");
            zip.write_all(data.as_bytes()).expect("zip write");
        }
        zip.finish().expect("zip finish");
    }
    buf.into_inner()
}

fn zip_writer<W: std::io::Write + std::io::Seek>(w: W) -> zip::ZipWriter<W> {
    zip::ZipWriter::new(w)
}

/// Base64 with 76-character lines, as mail clients write attachments.
fn base64(data: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A typical 20 KB message: 16 KB of prose and a small Word attachment.
fn typical_message() -> Vec<u8> {
    let attachment = docx(&prose(2_000).replace("\r\n", " "));
    format!(
        "From: Sam Okafor <sam.okafor@northshire.police.uk>\r\nTo: j.bell@bellandco-solicitors.co.uk\r\n\
         Subject: Review actions\r\nDate: Mon, 02 Nov 2026 09:30:00 +0000\r\nMessage-ID: <bench@northshire.police.uk>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n--b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"actions.docx\"\r\n\
         Content-Disposition: attachment; filename=\"actions.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        prose(16_000),
        base64(&attachment)
    )
    .into_bytes()
}

/// About `len` bytes of HTML that exercise the visible-text reading: a style
/// sheet with a rule per paragraph class, hidden spans inside identifiers,
/// generated content and nested inline elements.
fn styled_html_message(len: usize) -> Vec<u8> {
    let paragraphs = len / 400;
    let mut style = String::from("<style>");
    let mut body = String::new();
    for i in 0..paragraphs {
        style.push_str(&format!(
            ".c{i}{{color:#333}} .c{i}::after{{content:\" ({i})\"}}\n"
        ));
        body.push_str(&format!(
            "<div class=\"c{i}\"><p>Thanks for the update on item {i}. <b><i><span>The team</span></i></b>              will meet at <span style=\"display:none\">zz</span>10:30 on Tuesday in room 2.04              and go through the <em>outstanding</em> actions.</p></div>\r\n"
        ));
    }
    style.push_str("</style>");
    format!(
        "From: sam.okafor@northshire.police.uk\r\nTo: j.bell@bellandco-solicitors.co.uk\r\nSubject: update\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head>{style}</head><body>{body}</body></html>"
    )
    .into_bytes()
}

fn plain_text_message(len: usize) -> Vec<u8> {
    format!(
        "From: sam.okafor@northshire.police.uk\r\nTo: j.bell@bellandco-solicitors.co.uk\r\nSubject: minutes\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        prose(len)
    )
    .into_bytes()
}

fn bench_group(c: &mut Criterion, name: &str, messages: &[Vec<u8>], throughput: Throughput) {
    let inspector = inspector();
    let envelope = envelope();
    let parser = MessageParser::new();
    let mut group = c.benchmark_group(name);
    group.throughput(throughput);
    group.bench_function("baseline_mail_parser_parse", |b| {
        b.iter(|| {
            for m in messages {
                black_box(parser.parse(black_box(m.as_slice())));
            }
        })
    });
    group.bench_function("cordon_full_inspection", |b| {
        b.iter(|| {
            for m in messages {
                black_box(inspector.check(black_box(m), &envelope));
            }
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let fixtures = fixtures();
    let bytes: u64 = fixtures.iter().map(|m| m.len() as u64).sum();
    bench_group(c, "fixtures", &fixtures, Throughput::Bytes(bytes));
    bench_group(
        c,
        "typical_20kb",
        &[typical_message()],
        Throughput::Elements(1),
    );
    let plain = plain_text_message(1 << 20);
    let len = plain.len() as u64;
    bench_group(c, "plain_text_1mb", &[plain], Throughput::Bytes(len));
    for (name, len) in [
        ("styled_html_100kb", 100_000),
        ("styled_html_1mb", 1_000_000),
    ] {
        let html = styled_html_message(len);
        let bytes = html.len() as u64;
        bench_group(c, name, &[html], Throughput::Bytes(bytes));
    }
}

criterion_group! {
    name = inspect;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(inspect);
