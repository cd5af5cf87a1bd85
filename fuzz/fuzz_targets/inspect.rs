//! Fuzz the whole inspection core: any bytes as a message, with the shipped rules.
//! Run: `cargo +nightly fuzz run -O inspect -- -max_total_time=300` (seed: fixtures/).
//! `-O` builds without debug assertions, as production runs: mail-parser has
//! `debug_assert!`s that crafted input trips, which the inspection guard would
//! contain but libFuzzer counts as crashes before any guard can act.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use cordon_inspect::{Envelope, Inspector};
use libfuzzer_sys::fuzz_target;

fn inspector() -> &'static Inspector {
    static INSPECTOR: OnceLock<Inspector> = OnceLock::new();
    INSPECTOR.get_or_init(|| {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        Inspector::load(&rules).expect("shipped rules load")
    })
}

fuzz_target!(|data: &[u8]| {
    let envelope = Envelope { mail_from: Some("sam.okafor@northshire.police.uk".into()), rcpt_to: vec!["a@gmail.com".into()] };
    let verdict = inspector().check(data, &envelope);
    assert_eq!(verdict.recipients.len(), 1);
});
