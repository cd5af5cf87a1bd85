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

/// A copy of the shipped rules in a temporary directory, with `drop` files
/// left out and `nominals.csv` replaced by `rows` synthetic records (when
/// given).
fn rules_copy(drop: &[&str], rows: Option<usize>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(root().join("rules")).expect("rules") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if entry.path().is_file() && !drop.iter().any(|d| name == *d) {
            std::fs::copy(entry.path(), dir.path().join(&name)).expect("copy");
        }
    }
    if let Some(rows) = rows {
        std::fs::write(dir.path().join("nominals.csv"), synthetic_nominals(rows))
            .expect("write export");
    }
    dir
}

/// `rows` records of made-up people: a few thousand surnames and hundreds
/// of forenames from syllables, dates over 80 years, unique PNC IDs with
/// valid check letters.
fn synthetic_nominals(rows: usize) -> String {
    const A: &[&str] = &[
        "Ash", "Brad", "Cal", "Dun", "El", "Fair", "Gar", "Hol", "Ing", "Kel", "Lang", "Mor",
        "Nor", "Pen", "Rad", "Sal", "Thorn", "Wal",
    ];
    const B: &[&str] = &[
        "by", "ford", "ham", "ley", "ton", "well", "worth", "wood", "more", "field", "stone",
        "bridge", "croft", "dale", "gate", "holm",
    ];
    const F: &[&str] = &[
        "Al", "Be", "Ca", "Da", "Ed", "Fi", "Ge", "Ha", "Iv", "Ja", "Ka", "Li", "Ma", "Ni", "Ol",
        "Pa", "Ro", "Sa", "To", "Vi",
    ];
    const G: &[&str] = &[
        "an", "ella", "ie", "on", "ra", "ys", "in", "ette", "ius", "ard",
    ];
    const LETTERS: &[u8] = b"ZABCDEFGHJKLMNPQRTUVWXY";
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = String::from("nominal_id,surname,forename,date_of_birth,pnc_id\n");
    for i in 0..rows {
        let r = next();
        let surname = format!(
            "{}{}{}",
            A[(r % 18) as usize],
            B[((r >> 8) % 16) as usize],
            ["", "s", "e"][((r >> 16) % 3) as usize]
        );
        let forename = format!(
            "{}{}",
            F[((r >> 20) % 20) as usize],
            G[((r >> 28) % 10) as usize]
        );
        let (year, month, day) = (
            1940 + (r >> 32) % 80,
            1 + (r >> 40) % 12,
            1 + (r >> 44) % 28,
        );
        let pnc_year = 2000 + (i % 25) as u64;
        let serial = (i / 25) as u64 + 1;
        let n = (pnc_year % 100) * 10_000_000 + serial;
        let letter = LETTERS[(n % 23) as usize] as char;
        out.push_str(&format!(
            "NS-{i:07},{surname},{forename},{year}-{month:02}-{day:02},{pnc_year}/{serial:07}{letter}\n"
        ));
    }
    out
}

/// The typical message under the rules with and without the force's own
/// detectors and records, in one group: what they cost.
fn bench_policy(c: &mut Criterion) {
    let message = typical_message();
    let envelope = envelope();
    let without = rules_copy(&["detectors.toml", "exact-match.toml"], None);
    let own_detectors = rules_copy(&["exact-match.toml"], None);
    let records = rules_copy(&["detectors.toml"], None);
    let shipped = rules_copy(&[], None);
    let million = rules_copy(&[], Some(1_000_000));
    let started = std::time::Instant::now();
    let with_million = Inspector::load(million.path()).expect("rules with 1M records");
    eprintln!(
        "loaded the rules with 1,000,000 synthetic records in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let inspectors = [
        (
            "without_own_detectors_or_records",
            Inspector::load(without.path()).expect("rules"),
        ),
        (
            "own_detectors_only",
            Inspector::load(own_detectors.path()).expect("rules"),
        ),
        (
            "records_only",
            Inspector::load(records.path()).expect("rules"),
        ),
        (
            "shipped_rules",
            Inspector::load(shipped.path()).expect("rules"),
        ),
        ("shipped_rules_with_1m_records", with_million),
    ];
    let mut group = c.benchmark_group("typical_20kb_policy");
    group.throughput(Throughput::Elements(1));
    for (name, inspector) in &inspectors {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(inspector.check(black_box(&message), &envelope)))
        });
    }
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
    targets = benches, bench_policy
}
criterion_main!(inspect);
