//! A text that exact match cannot check in full is held as uninspectable,
//! never passed as checked.

#[allow(dead_code)]
mod common;

use cordon_inspect::{Action, Envelope, Inspector};

/// Record `i`'s surname: a two-letter word (`aa`, `ab`, ...).
fn surname(i: u32) -> String {
    [b'a' + (i / 26) as u8, b'a' + (i % 26) as u8]
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

/// Record `i`'s forename: `f` and its surname.
fn forename(i: u32) -> String {
    format!("f{}", surname(i))
}

/// The shipped rules with an export of 200 records with such names, and a
/// window wide enough to hold them all at once.
fn rules_with_short_surnames() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(common::root().join("rules")).expect("rules") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let mut csv = String::from("nominal_id,surname,forename,date_of_birth,pnc_id\n");
    for i in 0..200u32 {
        csv.push_str(&format!(
            "NS-{i},{},{},1980-01-{:02},\n",
            surname(i),
            forename(i),
            i % 28 + 1
        ));
    }
    std::fs::write(dir.path().join("nominals.csv"), csv).expect("export");
    let toml = std::fs::read_to_string(dir.path().join("exact-match.toml")).expect("toml");
    std::fs::write(
        dir.path().join("exact-match.toml"),
        toml.replace("within = 120", "within = 1000"),
    )
    .expect("toml");
    dir
}

fn message(body: &str) -> Vec<u8> {
    format!(
        "From: sam.okafor@northshire.police.uk\r\nTo: j.bell@bellandco-solicitors.co.uk\r\n\
         Subject: codes\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn too_many_possible_record_values_close_together_are_held_as_uninspectable() {
    let dir = rules_with_short_surnames();
    let inspector = Inspector::load(dir.path()).expect("rules load");
    let envelope = Envelope::default();
    // The names are records' names: one record's pair is found.
    let pair = inspector.check(
        &message(&format!("{} {}", surname(0), forename(0))),
        &envelope,
    );
    assert!(
        pair.findings
            .iter()
            .any(|f| f.detector.as_str() == "exact_match")
    );
    // Seventy surnames and seventy forenames of other records in a row:
    // more candidates of another column than one window takes, and no
    // record's pair among them.
    let crowded: Vec<String> = (0..70)
        .map(surname)
        .chain((100..170).map(forename))
        .collect();
    let verdict = inspector.check(&message(&crowded.join(" ")), &envelope);
    let uninspectable: Vec<&str> = verdict
        .findings
        .iter()
        .filter(|f| f.detector.as_str() == "uninspectable")
        .map(|f| f.sample.as_str())
        .collect();
    assert_eq!(
        uninspectable,
        ["too many values that may be the force's records close together to check them all"]
    );
    assert_eq!(verdict.recipients[0].action, Action::Hold);
    // A few of them are checked in full: nothing uninspectable, nothing held.
    let few = [
        surname(0),
        surname(1),
        surname(2),
        forename(98),
        forename(99),
    ];
    let verdict = inspector.check(&message(&few.join(" ")), &envelope);
    assert!(
        verdict
            .findings
            .iter()
            .all(|f| f.detector.as_str() != "uninspectable"),
        "{:?}",
        verdict.findings
    );
    assert_eq!(verdict.recipients[0].action, Action::Deliver);
}
