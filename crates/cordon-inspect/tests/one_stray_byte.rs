//! One stray byte must never let a NINO out: a byte inserted into, removed
//! from or changed inside an encoded body of any held or rejected fixture,
//! where mail clients would still show the same content, never turns the
//! verdict into a delivery.
//!
//! The mutations are the ones a lenient client decodes through: in a base64
//! body, any byte outside the base64 alphabet inserted anywhere, and any
//! byte outside the alphabet (line breaks, padding) removed or changed into
//! another such byte; in a quoted-printable body, a carriage return inserted
//! or removed. Changing a base64 character into another one changes what
//! every client shows, so it is not a stray byte.

mod common;

use std::sync::OnceLock;

use common::{fixture_paths, inspector};
use cordon_inspect::{Action, Envelope};
use mail_parser::{Encoding, MessageParser, PartType};
use proptest::prelude::*;

fn envelope() -> Envelope {
    Envelope {
        mail_from: Some("sam.okafor@northshire.police.uk".into()),
        rcpt_to: vec![
            "j.bell@bellandco-solicitors.co.uk".into(),
            "sam.okafor.1990@yahoo.co.uk".into(),
        ],
    }
}

/// The actions for the two recipients.
fn actions(message: &[u8]) -> Vec<Action> {
    inspector()
        .check(message, &envelope())
        .recipients
        .iter()
        .map(|r| r.action)
        .collect()
}

/// A fixture that is held or rejected, with the byte ranges of its encoded bodies.
struct Case {
    name: String,
    bytes: Vec<u8>,
    actions: Vec<Action>,
    base64: Vec<(usize, usize)>,
    quoted_printable: Vec<(usize, usize)>,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut cases = Vec::new();
        for path in fixture_paths() {
            let bytes = std::fs::read(&path).expect("read fixture");
            let actions = actions(&bytes);
            if actions.iter().all(|a| *a == Action::Deliver) {
                continue;
            }
            let Some(message) = MessageParser::new().parse(&bytes) else {
                continue;
            };
            let mut base64 = Vec::new();
            let mut quoted_printable = Vec::new();
            for part in &message.parts {
                if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
                    continue;
                }
                let range = (part.offset_body as usize, part.offset_end as usize);
                if range.0 >= range.1 {
                    continue;
                }
                match part.encoding {
                    Encoding::Base64 => base64.push(range),
                    Encoding::QuotedPrintable => quoted_printable.push(range),
                    Encoding::None => {}
                }
            }
            if base64.is_empty() && quoted_printable.is_empty() {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            cases.push(Case {
                name,
                bytes,
                actions,
                base64,
                quoted_printable,
            });
        }
        assert!(
            cases.len() >= 5,
            "too few held fixtures with encoded bodies"
        );
        cases
    })
}

fn is_base64_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Bytes outside the base64 alphabet that a sender could slip in.
const STRAY: &[u8] = b"!*.@#$%&()[]{}<>?,;:~^`'\"\\|_-=\t \r\n\x00\x7f\x80\xff";

#[derive(Clone, Debug)]
enum Mutation {
    Insert,
    Remove,
    Change,
}

/// Applies `mutation` near `fraction` of the way into one encoded body of
/// `case`, if the place allows it; `None` when it does not.
fn mutate(
    case: &Case,
    body: usize,
    fraction: f64,
    stray: u8,
    mutation: &Mutation,
) -> Option<Vec<u8>> {
    let mut bytes = case.bytes.clone();
    let b64 = case.base64.len();
    let (start, end) = if body < b64 {
        case.base64[body]
    } else {
        *case
            .quoted_printable
            .get((body - b64) % case.quoted_printable.len().max(1))?
    };
    let at = start + ((end - start) as f64 * fraction) as usize;
    let at = at.min(end - 1);
    if body < b64 {
        match mutation {
            Mutation::Insert => bytes.insert(at, stray),
            Mutation::Remove if !is_base64_alphabet(bytes[at]) => {
                bytes.remove(at);
            }
            Mutation::Change if !is_base64_alphabet(bytes[at]) => bytes[at] = stray,
            _ => return None,
        }
    } else {
        match mutation {
            Mutation::Insert => bytes.insert(at, b'\r'),
            Mutation::Remove | Mutation::Change if bytes[at] == b'\r' => {
                bytes.remove(at);
            }
            _ => return None,
        }
    }
    Some(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_stray_byte_never_turns_a_hold_into_a_delivery(
        case in 0usize..1000,
        body in 0usize..8,
        fraction in 0.0f64..1.0,
        stray in proptest::sample::select(STRAY),
        mutation in prop_oneof![Just(Mutation::Insert), Just(Mutation::Remove), Just(Mutation::Change)],
    ) {
        let case = &cases()[case % cases().len()];
        let bodies = case.base64.len() + case.quoted_printable.len();
        let Some(mutated) = mutate(case, body % bodies, fraction, stray, &mutation) else {
            return Ok(());
        };
        let after = actions(&mutated);
        for (before, after) in case.actions.iter().zip(&after) {
            prop_assert!(
                *before == Action::Deliver || *after != Action::Deliver,
                "{}: {mutation:?} of {stray:#04x} near {fraction:.3} of body {body} turned {before:?} into deliver",
                case.name
            );
        }
    }
}

#[test]
fn every_stray_byte_in_the_base64_nino_fixture_is_seen_through() {
    // Exhaustive on the smallest case: each position, each stray byte.
    let case = cases()
        .iter()
        .find(|c| c.name == "base64-body-nino.eml")
        .expect("fixture base64-body-nino.eml is held");
    let (start, end) = case.base64[0];
    for at in start..end {
        for &stray in STRAY {
            let mut bytes = case.bytes.clone();
            bytes.insert(at, stray);
            assert_ne!(
                actions(&bytes)[0],
                Action::Deliver,
                "{stray:#04x} inserted at {at} let the NINO out"
            );
        }
    }
}
