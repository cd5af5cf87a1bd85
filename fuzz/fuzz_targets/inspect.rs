//! Fuzz the whole inspection core: any bytes as a message, with the shipped rules.
//!
//! Run from `fuzz/`, seeded with the test messages in `fixtures/`:
//!
//! ```sh
//! cargo +nightly fuzz run -O inspect corpus/inspect ../fixtures -- \
//!     -max_len=1048576 -len_control=0 -rss_limit_mb=4096 -create_missing_dirs=1 \
//!     -max_total_time=300
//! ```
//!
//! New inputs go to the first directory (`corpus/`, git-ignored); `fixtures/` is only read.
//! Without `-max_len` libFuzzer never makes an input longer than the largest seed (90 kB,
//! or 4 kB with no seeds), far below what the gateway accepts, so name a length: 1 MiB for
//! routine runs. `-len_control=0` lets it use that length at once; by default it raises
//! its limit slowly, and in a 3-minute run it never passed the largest seed. The
//! configured message size (`max_message_size`, 52428800 by default) can be given instead,
//! with a larger `-rss_limit_mb` (it also caps any single allocation, and decoding and
//! decompressing hold more than the message itself); expect far fewer runs a second.
//!
//! `-O` builds without debug assertions, as production runs: mail-parser has
//! `debug_assert!`s that crafted input trips, which the inspection guard would
//! contain but libFuzzer counts as crashes before any guard can act.
//!
//! An input whose first byte is below [`WRAPPED`].len() is not a message: the
//! rest is attached, base64-encoded, to a minimal message as the file type the
//! byte picks (RTF, TNEF, iCalendar, vCard, uuencode, PDF, Office ...), so that
//! libFuzzer mutates each file parser's input directly instead of first having
//! to discover MIME. Fixtures start with a header letter, so they seed the
//! message mode.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use base64::Engine;
use cordon_inspect::{Envelope, Inspector};
use libfuzzer_sys::fuzz_target;

/// The content type, file name and transfer encoding each wrapped mode uses.
const WRAPPED: &[(&str, &str, &str)] = &[
    ("application/rtf", "letter.rtf", "base64"),
    ("application/ms-tnef", "winmail.dat", "base64"),
    ("text/calendar", "invite.ics", "base64"),
    ("text/vcard", "contact.vcf", "base64"),
    ("application/octet-stream", "notes.txt", "x-uuencode"),
    ("text/plain; format=flowed; delsp=yes", "body.txt", "8bit"),
    ("text/html", "page.html", "base64"),
    ("application/pdf", "report.pdf", "base64"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "r.docx", "base64"),
    ("application/vnd.oasis.opendocument.presentation", "s.odp", "base64"),
    ("application/vnd.ms-outlook", "fwd.msg", "base64"),
    ("application/zip", "files.zip", "base64"),
];

fn inspector() -> &'static Inspector {
    static INSPECTOR: OnceLock<Inspector> = OnceLock::new();
    INSPECTOR.get_or_init(|| {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        Inspector::load(&rules).expect("shipped rules load")
    })
}

/// A minimal message carrying `data` as the attachment `mode` describes.
fn wrapped(mode: usize, data: &[u8]) -> Vec<u8> {
    let (content_type, name, encoding) = WRAPPED[mode];
    let mut message = format!(
        "From: sam.okafor@northshire.police.uk\r\nTo: a@gmail.com\r\nSubject: fuzz\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fz\"\r\n\r\n\
         --fz\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --fz\r\nContent-Type: {content_type}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    .into_bytes();
    match encoding {
        "base64" => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(data);
            for line in encoded.as_bytes().chunks(76) {
                message.extend_from_slice(line);
                message.extend_from_slice(b"\r\n");
            }
        }
        _ => message.extend_from_slice(data),
    }
    message.extend_from_slice(b"\r\n--fz--\r\n");
    message
}

fuzz_target!(|data: &[u8]| {
    let envelope = Envelope { mail_from: Some("sam.okafor@northshire.police.uk".into()), rcpt_to: vec!["a@gmail.com".into()] };
    let message = match data.split_first() {
        Some((&mode, rest)) if usize::from(mode) < WRAPPED.len() => wrapped(usize::from(mode), rest),
        _ => data.to_vec(),
    };
    let verdict = inspector().check(&message, &envelope);
    assert_eq!(verdict.recipients.len(), 1);
});
