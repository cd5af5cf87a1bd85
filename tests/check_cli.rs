//! The `cordon check` command line: its contract for other tools.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn cordon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cordon"))
}

fn fixture(name: &str) -> std::path::PathBuf {
    common::root().join("fixtures").join(name)
}

#[test]
fn json_has_the_contract_fields() {
    let v = common::verdict(&fixture("utf16-csv-ninos-to-personal.eml"), None, &[]);
    assert!(v["classification"]["level"].is_string());
    assert!(v["classification"]["markings"].is_array());
    let f = &v["findings"][0];
    for key in ["detector", "category", "where", "count", "sample"] {
        assert!(!f[key].is_null(), "finding without {key}: {f}");
    }
    let r = &v["recipients"][0];
    assert_eq!(r["address"], "sam.okafor.1990@yahoo.co.uk");
    assert_eq!(r["domain_class"], "personal");
    assert_eq!(r["action"], "hold");
    let reason = &r["reasons"][0];
    for key in ["rule", "policy", "explanation"] {
        assert!(
            reason[key].as_str().is_some_and(|s| !s.is_empty()),
            "reason without {key}: {reason}"
        );
    }
}

#[test]
fn recipients_default_to_the_headers_and_envelope_overrides_them() {
    let v = common::verdict(&fixture("zip-bomb-is-uninspectable.eml"), None, &[]);
    let addresses: Vec<&str> = v["recipients"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["address"].as_str())
        .collect();
    assert_eq!(
        addresses,
        [
            "support@vendor-example.com",
            "k.hughes@northshire.police.uk"
        ]
    );

    let rcpt = ["duty@kent.police.uk".to_owned()];
    let v = common::verdict(
        &fixture("zip-bomb-is-uninspectable.eml"),
        Some("sam.okafor@northshire.police.uk"),
        &rcpt,
    );
    assert_eq!(v["recipients"].as_array().expect("list").len(), 1);
    assert_eq!(common::action_for(&v, "duty@kent.police.uk"), Some("hold"));
}

#[test]
fn reads_the_message_from_stdin() {
    let message = std::fs::read(fixture("base64-body-nino.eml")).expect("fixture");
    let mut child = cordon()
        .args(["check", "--rules"])
        .arg(common::rules())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&message)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        common::action_for(&v, "claims@insurer-example.co.uk"),
        Some("hold")
    );
}

#[test]
fn unreadable_file_is_a_one_line_error() {
    let out = common::check(&fixture("no-such-file.eml"), None, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-file.eml"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn broken_rules_name_file_and_line() {
    let dir = tempfile::tempdir().expect("temp");
    for entry in std::fs::read_dir(common::rules()).expect("rules") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    std::fs::write(
        dir.path().join("operations.toml"),
        "prefixes = [\"Operation\"]\nlive = [\"Operation Nightjar\"\n",
    )
    .expect("write");
    let out = cordon()
        .args(["check", "--rules"])
        .arg(dir.path())
        .arg(fixture("base64-body-nino.eml"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("operations.toml:"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn arbitrary_bytes_still_give_a_verdict() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("garbage.eml");
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, garbage).expect("write");
    let rcpt = ["someone@example.com".to_owned()];
    let v = common::verdict(&path, Some("sam.okafor@northshire.police.uk"), &rcpt);
    assert!(common::action_for(&v, "someone@example.com").is_some());
}

#[test]
fn text_shows_every_reading_under_its_location() {
    let out = cordon()
        .args(["check", "--rules"])
        .arg(common::rules())
        .arg("--text")
        .arg(fixture("base64-stray-character-nino.eml"))
        .output()
        .expect("cordon runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("== subject (subject)\nClaim\n"), "{text}");
    // the lenient decoding of the damaged base64 body, as a client shows it
    assert!(
        text.contains("== body (body)\nDear Jo,\nThe claimant's NI number is JM 41 29 87 B.\n"),
        "{text}"
    );
}

#[test]
fn text_lists_files_and_what_could_not_be_inspected() {
    let out = cordon()
        .args(["check", "--rules"])
        .arg(common::rules())
        .arg("--text")
        .arg(fixture("unknown-transfer-encoding-is-uninspectable.eml"))
        .output()
        .expect("cordon runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("!! body: unknown transfer encoding \"x-scramble\" (cannot be decoded)"),
        "{text}"
    );
}
