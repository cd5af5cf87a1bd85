//! No input makes inspection panic: random bytes, and real fixtures mutated by
//! flipping, cutting and splicing bytes (the way hostile MIME is made).

mod common;

use std::sync::OnceLock;

use common::{fixture_paths, inspector};
use cordon_inspect::Envelope;
use proptest::prelude::*;

fn fixtures() -> &'static [Vec<u8>] {
    static FIXTURES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        fixture_paths()
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect()
    })
}

fn envelope() -> Envelope {
    Envelope {
        mail_from: Some("sam.okafor@northshire.police.uk".into()),
        rcpt_to: vec!["a@gmail.com".into()],
    }
}

/// Checks the verdict is complete: one entry per recipient.
fn inspect(bytes: &[u8]) {
    let verdict = inspector().check(bytes, &envelope());
    assert_eq!(verdict.recipients.len(), 1);
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Cut { at: usize },
    Splice { at: usize, text: &'static str },
    Delete { at: usize, len: usize },
}

const SPLICES: &[&str] = &[
    "\r\n--",
    "\r\n\r\n",
    "=?utf-8?B?",
    "=\r\n",
    "Content-Type: multipart/mixed; boundary=\"x\"\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "PK\u{3}\u{4}",
    "%PDF-1.4\n",
    "<w:t>",
    "\u{0}",
    "\u{feff}",
    "Content-Type: message/rfc822\r\n\r\n",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Cut { at }),
        (any::<usize>(), proptest::sample::select(SPLICES))
            .prop_map(|(at, text)| Mutation::Splice { at, text }),
        (any::<usize>(), 1usize..512).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip { at, byte } => {
                let i = at % bytes.len();
                bytes[i] ^= byte;
            }
            Mutation::Cut { at } => bytes.truncate(at % bytes.len()),
            Mutation::Splice { at, text } => {
                let i = at % bytes.len();
                bytes.splice(i..i, text.bytes());
            }
            Mutation::Delete { at, len } => {
                let i = at % bytes.len();
                let end = (i + len).min(bytes.len());
                bytes.drain(i..end);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        inspect(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(index in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..8)) {
        let fixtures = fixtures();
        let original = fixtures[index % fixtures.len()].clone();
        inspect(&apply(original, &mutations));
    }
}

#[test]
fn deeply_nested_multiparts_are_bounded() {
    let mut message =
        String::from("From: a@northshire.police.uk\r\nTo: b@gmail.com\r\nMIME-Version: 1.0\r\n");
    for i in 0..2_000 {
        message.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    message.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
    inspect(message.as_bytes());
}

#[test]
fn many_attachments_are_bounded() {
    let mut message = String::from(
        "From: a@northshire.police.uk\r\nTo: b@gmail.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
    );
    for i in 0..5_000 {
        message.push_str(&format!("--b\r\nContent-Type: text/plain; name=\"f{i}.txt\"\r\nContent-Disposition: attachment\r\n\r\nx\r\n"));
    }
    message.push_str("--b--\r\n");
    let verdict = inspector().check(message.as_bytes(), &envelope());
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.detector == cordon_inspect::DetectorId::Uninspectable),
        "a message past the parts limit is uninspectable"
    );
}

/// Found by cargo-fuzz: a forwarded message with a damaged boundary trips a
/// debug assertion inside mail-parser. The guard around each parser turns it
/// into an uninspectable part, and the message is held, not passed.
#[test]
fn fuzz_regression_mail_parser_assertion_is_contained() {
    let bytes = std::fs::read(
        common::root().join("crates/cordon-inspect/tests/data/mail-parser-debug-assert.eml"),
    )
    .expect("read");
    let envelope = Envelope {
        mail_from: Some("sam.okafor@northshire.police.uk".into()),
        rcpt_to: vec!["j.bell@bellandco-solicitors.co.uk".into()],
    };
    let verdict = inspector().check(&bytes, &envelope);
    assert_eq!(verdict.recipients[0].action, cordon_inspect::Action::Hold);
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.detector == cordon_inspect::DetectorId::Uninspectable)
    );
}
