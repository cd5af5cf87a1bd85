//! Loading the shipped rules, and clear errors for broken ones.

use std::path::{Path, PathBuf};

use cordon_policy::{Action, DomainClass, Policy, RulesError};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// A copy of the shipped rules with `file` replaced by `text`.
fn with_file(file: &str, text: &str) -> (tempfile::TempDir, Result<Policy, RulesError>) {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(shipped()).expect("rules dir") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    std::fs::write(dir.path().join(file), text).expect("write");
    let policy = Policy::load(dir.path());
    (dir, policy)
}

/// The shipped file with `from` replaced by `to`.
fn edited(file: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(shipped().join(file)).expect("read");
    assert!(text.contains(from), "{file} has no {from:?}");
    text.replacen(from, to, 1)
}

fn error_of(file: &str, text: &str) -> String {
    match with_file(file, text).1 {
        Ok(_) => panic!("{file} should not load"),
        Err(e) => e.to_string(),
    }
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let offset = text.find(needle).expect("needle");
    text[..offset].matches('\n').count() + 1
}

#[test]
fn shipped_rules_load() {
    let policy = Policy::load(&shipped()).expect("shipped rules load");
    assert_eq!(policy.force.name, "Northshire Constabulary");
    assert_eq!(
        policy.classify("a@northshire.pnn.police.uk"),
        DomainClass::Internal
    );
    assert_eq!(policy.classify("a@kent.police.uk"), DomainClass::Secure);
    assert_eq!(policy.classify("a@yahoo.co.uk"), DomainClass::Personal);
    assert_eq!(
        policy.classify("a@bellandco-solicitors.co.uk"),
        DomainClass::External
    );
    assert_eq!(policy.dictionary.operations.len(), 2);
    assert_eq!(policy.dictionary.operations[1].name, "Kestrel Gate");
    assert!(policy.dictionary.special_terms.len() > 50);
    let secret = policy
        .rules
        .iter()
        .find(|r| r.id == "secret-outside-force")
        .expect("rule");
    assert_eq!(secret.action.secure, Action::Reject);
    assert!(policy.rules.iter().all(|r| !r.explanation.contains('\n')));
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = Policy::load(dir.path()).expect_err("empty dir").to_string();
    assert!(
        error.contains("domains.toml") && error.contains("cannot read"),
        "{error}"
    );
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let text = edited(
        "decisions.toml",
        "[[rule]]\nid = \"secret-outside-force\"",
        "[[rule]]\nid = \"secret-outside-force",
    );
    let error = error_of("decisions.toml", &text);
    let line = line_of(&text, "id = \"secret-outside-force");
    assert!(
        error.contains(&format!("decisions.toml:{line}:")),
        "{error} (expected line {line})"
    );
}

#[test]
fn unknown_detector_is_refused_with_the_valid_names() {
    let text = edited(
        "decisions.toml",
        "[\"personal_data:strong\"]",
        "[\"uk_nin\", \"nhs_number\"]",
    );
    let error = error_of("decisions.toml", &text);
    let line = line_of(&text, "\"uk_nin\"");
    assert!(
        error.contains(&format!("decisions.toml:{line}:")),
        "{error} (expected line {line})"
    );
    // The valid names include the built-in and the force's own detectors.
    assert!(
        error.contains("uk_nin")
            && error.contains("uk_passport")
            && error.contains("crime_reference"),
        "{error}"
    );
    let text = edited(
        "decisions.toml",
        "[\"personal_data:strong\"]",
        "[\"personal_data:loud\"]",
    );
    assert!(error_of("decisions.toml", &text).contains("`personal_data:loud`"));
}

#[test]
fn custom_detectors_load_and_work_in_rules() {
    let policy = Policy::load(&shipped()).expect("shipped rules load");
    let ids: Vec<&str> = policy
        .custom_detectors
        .iter()
        .map(|c| c.detector.id().as_str())
        .collect();
    assert_eq!(
        ids,
        ["crime_reference", "custody_record", "vehicle_registration"]
    );
    let nouns = policy.detector_nouns();
    assert_eq!(
        nouns.get("crime_reference"),
        Some(&(
            "a crime reference number".to_owned(),
            "crime reference numbers".to_owned()
        ))
    );
    // A rule may name a custom detector, also in the self-send allow list.
    let text = edited(
        "decisions.toml",
        "when.found = [\"operation_name\"]",
        "when.found = [\"operation_name\", \"custody_record\"]",
    );
    let (_dir, loaded) = with_file("decisions.toml", &text);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
    // Without detectors.toml the shipped decisions still load: no rule names a custom id.
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(shipped()).expect("rules dir") {
        let entry = entry.expect("entry");
        if entry.path().is_file() && entry.file_name() != "detectors.toml" {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let policy = Policy::load(dir.path()).expect("loads without detectors.toml");
    assert!(policy.custom_detectors.is_empty());
}

#[test]
fn broken_custom_detectors_are_refused_with_file_line_and_reason() {
    let cases = [
        // (from, to, the line's needle, words of the reason)
        (
            r"pattern = '(?-u:\b)NS/\d{5}/\d{2}(?-u:\b)'",
            r"pattern = 'NS/(\d{5}'",
            "NS/(",
            "does not compile",
        ),
        (
            r"pattern = '(?-u:\b)NS/\d{5}/\d{2}(?-u:\b)'",
            r"pattern = '\d*'",
            "'\\d*'",
            "can match 0 bytes",
        ),
        (
            "validator = \"mod23\"",
            "validator = \"mod24\"",
            "mod24",
            "unknown validator `mod24`",
        ),
        (
            "id = \"custody_record\"",
            "id = \"crime_reference\"",
            "id = \"crime_reference\"\nnoun = \"a custody",
            "used twice",
        ),
        (
            "id = \"custody_record\"",
            "id = \"uk_nino\"",
            "\"uk_nino\"",
            "built-in detector",
        ),
        (
            "strength = \"weak\"",
            "strength = \"faint\"",
            "faint",
            "faint",
        ),
    ];
    for (from, to, needle, reason) in cases {
        let text = edited("detectors.toml", from, to);
        let error = error_of("detectors.toml", &text);
        let line = line_of(&text, needle);
        assert!(
            error.contains(&format!("detectors.toml:{line}:")) && error.contains(reason),
            "{error} (expected line {line} and {reason:?})"
        );
    }
}

#[test]
fn unknown_action_and_level_are_refused() {
    let text = edited(
        "decisions.toml",
        "secure = \"reject\"",
        "secure = \"bounce\"",
    );
    assert!(error_of("decisions.toml", &text).contains("bounce"));
    let text = edited(
        "decisions.toml",
        "when.level = [\"SECRET\"",
        "when.level = [\"SECERT\"",
    );
    assert!(error_of("decisions.toml", &text).contains("SECERT"));
}

#[test]
fn duplicate_rule_id_and_empty_condition_are_refused() {
    let text = edited(
        "decisions.toml",
        "id = \"official-sensitive-to-insecure\"",
        "id = \"secret-outside-force\"",
    );
    let error = error_of("decisions.toml", &text);
    assert!(error.contains("used twice"), "{error}");
    let line = line_of(&text, "id = \"secret-outside-force\"\npolicy = \"Securely");
    assert!(
        error.contains(&format!("decisions.toml:{line}:")),
        "{error} (expected line {line})"
    );

    let text = edited(
        "decisions.toml",
        "when.level = [\"OFFICIAL-SENSITIVE\"]\n",
        "",
    );
    assert!(error_of("decisions.toml", &text).contains("empty `when`"));
}

#[test]
fn bad_domains_and_addresses_are_refused_with_line() {
    let text = edited("domains.toml", "\"cjsm.net\",", "\"cjsm net\",");
    let error = error_of("domains.toml", &text);
    let line = line_of(&text, "\"cjsm net\"");
    assert!(
        error.contains(&format!(
            "domains.toml:{line}: `cjsm net` is not a domain name"
        )),
        "{error}"
    );

    let text = edited(
        "domains.toml",
        "\"gmail.com\",",
        "\"gmail.com\", \"police.uk\",",
    );
    assert!(error_of("domains.toml", &text).contains("both secure and personal"));

    let text = edited(
        "directory.toml",
        "\"alex.turner84@gmail.com\"",
        "\"alex.turner84\"",
    );
    assert!(error_of("directory.toml", &text).contains("not an email address"));

    let text = edited(
        "directory.toml",
        "address = \"alex.turner@northshire.police.uk\"",
        "address = \"alex.turner@gmail.com\"",
    );
    assert!(
        error_of("directory.toml", &text).contains("not at one of the force's internal domains")
    );
}

#[test]
fn unknown_keys_are_refused() {
    let text = edited("operations.toml", "prefixes =", "prefix =");
    let error = error_of("operations.toml", &text);
    assert!(
        error.contains("operations.toml:") && error.contains("prefix"),
        "{error}"
    );
}

#[test]
fn too_short_special_term_is_refused() {
    let text = edited("special-category.toml", "\"HIV\",", "\"HIV\", \"ok\",");
    assert!(error_of("special-category.toml", &text).contains("too short"));
}
