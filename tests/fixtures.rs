//! Every fixture under `fixtures/` gets the verdict `fixtures/expected.toml`
//! gives it, through the real `cordon check` binary and the shipped rules.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    fixture: Vec<Fixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    file: String,
    mail_from: Option<String>,
    #[serde(default)]
    rcpt: Vec<String>,
    level: String,
    actions: BTreeMap<String, String>,
    #[serde(default)]
    detectors: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    found: Vec<(String, String)>,
    #[serde(default)]
    rules: Vec<(String, String)>,
}

fn expected() -> Expected {
    let text = std::fs::read_to_string(common::root().join("fixtures/expected.toml"))
        .expect("expected.toml");
    toml::from_str(&text).expect("expected.toml parses")
}

/// What is wrong with the verdict on one fixture, if anything.
fn problems(f: &Fixture) -> Vec<String> {
    let path = common::root().join("fixtures").join(&f.file);
    let v = common::verdict(&path, f.mail_from.as_deref(), &f.rcpt);
    let mut problems = Vec::new();
    let level = v["classification"]["level"].as_str().unwrap_or("");
    if level != f.level {
        problems.push(format!("level {level}, expected {}", f.level));
    }
    for (address, action) in &f.actions {
        match common::recipient(&v, address) {
            None => problems.push(format!("no verdict for {address}")),
            Some(r) => {
                let got = r["action"].as_str().unwrap_or("");
                if got != action {
                    problems.push(format!("{address}: {got}, expected {action}"));
                }
                let reasons = r["reasons"].as_array().map_or(0, Vec::len);
                if action != "deliver" && reasons == 0 {
                    problems.push(format!("{address}: {action} without reasons"));
                }
            }
        }
    }
    let found = common::findings(&v);
    let detectors: BTreeSet<&str> = found.iter().map(|(d, _)| d.as_str()).collect();
    for d in &f.detectors {
        if !detectors.contains(d.as_str()) {
            problems.push(format!("{d} not reported (found {detectors:?})"));
        }
    }
    for d in &f.absent {
        if detectors.contains(d.as_str()) {
            problems.push(format!("{d} reported but must not be"));
        }
    }
    for pair in &f.found {
        if !found.contains(pair) {
            problems.push(format!(
                "{} not reported at {} (found {found:?})",
                pair.0, pair.1
            ));
        }
    }
    for (address, rule) in &f.rules {
        let rules: Vec<&str> = common::recipient(&v, address)
            .and_then(|r| r["reasons"].as_array())
            .map(|list| list.iter().filter_map(|r| r["rule"].as_str()).collect())
            .unwrap_or_default();
        if !rules.contains(&rule.as_str()) {
            problems.push(format!("{address}: rule {rule} not among {rules:?}"));
        }
    }
    problems
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let expected = expected();
    let failures: Vec<String> = expected
        .fixture
        .iter()
        .filter_map(|f| {
            let p = problems(f);
            (!p.is_empty()).then(|| format!("{}: {}", f.file, p.join("; ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        expected.fixture.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_file_has_an_expected_verdict_and_back() {
    let listed: BTreeSet<String> = expected().fixture.into_iter().map(|f| f.file).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(common::root().join("fixtures"))
        .expect("fixtures dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty(),
        "fixtures without an expected verdict: {unlisted:?}"
    );
    assert!(
        missing.is_empty(),
        "expected verdicts without a fixture: {missing:?}"
    );
}

#[test]
fn samples_never_show_a_full_identifier() {
    // The full values of the identifiers planted in the fixtures.
    let secrets = [
        "JM412987B",
        "JM 41 29 87 B",
        "9434765919",
        "943 476 5919",
        "55779911",
        "KC551022D",
    ];
    for f in expected().fixture {
        let v = common::verdict(
            &common::root().join("fixtures").join(&f.file),
            f.mail_from.as_deref(),
            &f.rcpt,
        );
        let text = v.to_string();
        for s in secrets {
            assert!(
                !text.contains(s),
                "{}: the verdict shows {s} in full",
                f.file
            );
        }
    }
}
