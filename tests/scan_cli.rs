//! `cordon scan` on mailboxes made by a real producer (Python's mailbox
//! module, `fixtures/mailboxes/generate.py`): every message gets the verdict
//! `cordon check` gives the same bytes, with its file and offset; what
//! cannot be read is reported and the scan goes on.

mod common;

use std::path::Path;

use common::{copy_tree, cordon, root, text};

/// The mailboxes copied into `dir`, with a dangling link and a file that
/// is not mail beside them.
fn mailboxes(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("export");
    copy_tree(&root().join("fixtures/mailboxes"), &target);
    std::fs::remove_file(target.join("generate.py")).expect("remove");
    std::fs::write(target.join("README.txt"), "Exported by the records team.\n").expect("write");
    std::os::unix::fs::symlink(dir.join("gone.eml"), target.join("lost.eml")).expect("symlink");
    target
}

/// The message of an mbox at `offset`, as a reader of the mbox sees it:
/// after its `From ` line, up to the next one, `>From ` unquoted.
fn mbox_message(mbox: &[u8], offset: usize) -> Vec<u8> {
    let rest = &mbox[offset..];
    let body_start = rest.iter().position(|&b| b == b'\n').expect("From line") + 1;
    let mut message = Vec::new();
    for line in rest[body_start..].split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            break;
        }
        let quoted = line.iter().take_while(|&&b| b == b'>').count();
        if quoted > 0 && line[quoted..].starts_with(b"From ") {
            message.extend_from_slice(&line[1..]);
        } else {
            message.extend_from_slice(line);
        }
    }
    message
}

/// What `cordon check` says of `message`, in the fields scan reports.
fn checked(dir: &Path, message: &[u8]) -> serde_json::Value {
    let file = dir.join("one.eml");
    std::fs::write(&file, message).expect("write");
    let rules = root().join("rules").display().to_string();
    let out = cordon(
        &[
            "check",
            "--rules",
            &rules,
            "--compact",
            &file.display().to_string(),
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn every_message_of_an_mbox_and_a_maildir_gets_the_verdict_check_gives_it() {
    let dir = tempfile::tempdir().expect("temp");
    let export = mailboxes(dir.path());
    let json = dir.path().join("scan.jsonl");
    let rules = root().join("rules").display().to_string();
    let out = cordon(
        &[
            "scan",
            "--rules",
            &rules,
            "--json",
            &json.display().to_string(),
            &export.display().to_string(),
            &dir.path().join("not-there.mbox").display().to_string(),
        ],
        "",
        &[],
    );
    let said = text(&out);
    // A path that cannot be read is an error, after the others are scanned.
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("cannot read") && said.contains("not-there.mbox"),
        "{said}"
    );
    assert!(
        said.contains("11 messages in") && said.contains("10 judged, 1 could not be read"),
        "{said}"
    );
    assert!(
        said.contains("lost.eml:0:"),
        "the dangling link is named: {said}"
    );

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .expect("json lines")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 11);
    let mbox_path = export.join("sent-items.mbox");
    let mbox = std::fs::read(&mbox_path).expect("mbox");
    let mut from_mbox = 0;
    for line in &lines {
        let file = line["file"].as_str().expect("file");
        let offset = line["offset"].as_u64().expect("offset") as usize;
        if file.ends_with("lost.eml") {
            assert!(line["error"].is_string(), "{line}");
            continue;
        }
        let message = if Path::new(file) == mbox_path {
            from_mbox += 1;
            assert!(
                mbox[offset..].starts_with(b"From "),
                "offset {offset} of {file}"
            );
            mbox_message(&mbox, offset)
        } else {
            assert_eq!(offset, 0);
            std::fs::read(file).expect("maildir file")
        };
        let mut scanned = line.clone();
        let object = scanned.as_object_mut().expect("object");
        object.remove("file");
        object.remove("offset");
        assert_eq!(scanned, checked(dir.path(), &message), "{file}:{offset}");
    }
    assert_eq!(from_mbox, 6, "every message of the mbox");

    // The message whose body lines start with "From " (quoted in the mbox):
    // its NI number is seen, and it is stopped on its way to gmail.
    let weekend = lines
        .iter()
        .find(|l| l["recipients"][0]["address"] == "sam.okafor.home@gmail.com")
        .expect("the weekend notes");
    assert!(
        weekend["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["detector"] == "uk_nino")
    );
    assert_ne!(weekend["recipients"][0]["action"], "deliver");
    assert!(
        said.lines()
            .any(|l| l.contains("sam.okafor@northshire.police.uk")
                && l.split_whitespace().count() == 3),
        "top senders to personal addresses: {said}"
    );
    assert!(said.contains("personal-data-to-insecure"), "{said}");
}
