//! Helpers shared by the end-to-end tests: run the real `cordon` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped rules directory.
pub fn rules() -> PathBuf {
    root().join("rules")
}

/// Runs `cordon check` with the shipped rules.
pub fn check(file: &Path, mail_from: Option<&str>, rcpt: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordon"));
    cmd.arg("check").arg("--rules").arg(rules());
    if let Some(from) = mail_from {
        cmd.arg("--mail-from").arg(from);
    }
    for r in rcpt {
        cmd.arg("--rcpt").arg(r);
    }
    cmd.arg(file).output().expect("run cordon")
}

/// Runs `cordon check` and parses its JSON, failing the test on a non-zero exit.
pub fn verdict(file: &Path, mail_from: Option<&str>, rcpt: &[String]) -> serde_json::Value {
    let out = check(file, mail_from, rcpt);
    assert!(
        out.status.success(),
        "cordon check {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

/// The action the verdict gives `address`, if it names it.
pub fn action_for<'a>(verdict: &'a serde_json::Value, address: &str) -> Option<&'a str> {
    recipient(verdict, address)?.get("action")?.as_str()
}

/// The verdict's entry for `address`.
pub fn recipient<'a>(
    verdict: &'a serde_json::Value,
    address: &str,
) -> Option<&'a serde_json::Value> {
    verdict["recipients"].as_array()?.iter().find(|r| {
        r["address"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(address))
    })
}

/// The (detector, where) pairs of the verdict's findings.
pub fn findings(verdict: &serde_json::Value) -> Vec<(String, String)> {
    verdict["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    (
                        f["detector"].as_str().unwrap_or("").to_owned(),
                        f["where"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
