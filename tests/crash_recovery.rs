//! Crash recovery through the real binary: a notice owed when the gateway
//! was killed is sent after the restart, and a held message whose spool file
//! was damaged meanwhile is reported at start and cannot be released.

mod common;

use common::{Gateway, cordon, send, text, wait_until};
use cordon_store::{Engine, SledStore};

const SENDER: &str = "sam.okafor@northshire.police.uk";

/// The held notices in the outbox about message `id`.
fn held_notices(gateway: &Gateway, id: &str) -> usize {
    gateway
        .outbox()
        .iter()
        .filter(|(from, to, message)| {
            let message = String::from_utf8_lossy(message);
            from.is_empty()
                && to == &[SENDER.to_owned()]
                && message.contains("Subject: Held for review")
                && message.contains(id)
        })
        .count()
}

/// Removes the notices from the outbox (as if they had never been sent).
fn forget_notices(gateway: &Gateway) {
    let dir = gateway.data.join("outbox");
    for entry in std::fs::read_dir(&dir).expect("outbox").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            if json["mail_from"] == "" {
                std::fs::remove_file(path.with_extension("eml")).expect("remove eml");
                std::fs::remove_file(&path).expect("remove json");
            }
        }
    }
}

#[test]
fn a_notice_owed_at_a_kill_is_sent_after_the_restart_and_a_damaged_held_copy_is_never_released() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    let data = gateway.data.display().to_string();
    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: claim form\r\n\r\nNI number JM 41 29 87 B.\r\n";
    let id = send(
        gateway.smtp,
        SENDER,
        &["claims@insurer-example.co.uk".to_owned()],
        message,
    )
    .expect("accepted");
    assert!(
        wait_until(30, || held_notices(&gateway, &id) == 1),
        "the held notice: {}",
        gateway.log()
    );

    // SIGKILL, and the state a kill between the hold and the notice leaves:
    // held in quarantine, the sender not told, no notice in the outbox.
    gateway.kill();
    {
        let store = SledStore::open(gateway.data.join("store")).expect("store");
        let qid = id.parse().expect("id");
        let mut entry = store.get_quarantine(&qid).expect("read").expect("held");
        entry.sender_notified = false;
        store.put_quarantine(&entry).expect("write");
    }
    forget_notices(&gateway);
    gateway.spawn();
    assert!(
        wait_until(30, || held_notices(&gateway, &id) == 1),
        "the held notice is sent after the restart: {}",
        gateway.log()
    );

    // The held copy is cut short while the gateway is down.
    gateway.kill();
    let spool_file = gateway.data.join("spool").join(&id);
    let bytes = std::fs::read(&spool_file).expect("spool file");
    std::fs::write(&spool_file, &bytes[..bytes.len() - 10]).expect("truncate");
    gateway.spawn();
    assert!(
        wait_until(30, || gateway.metric("cordon_spool_damaged") == 1.0),
        "counted at start: {}",
        gateway.log()
    );
    let log = gateway.log();
    assert!(
        log.lines()
            .any(|l| l.contains("damaged spool file") && l.contains(&id)),
        "logged at start: {log}"
    );
    let out = cordon(
        &[
            "users", "add", "j.smith", "--role", "officer", "--data", &data,
        ],
        "a long enough passphrase\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let token = cordon(&["users", "token", "j.smith", "--data", &data], "", &[]);
    assert!(token.status.success(), "{}", text(&token));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let server = format!("http://{}", gateway.console);
    let as_officer = |args: &[&str]| {
        let mut all = vec!["quarantine", "--server", &server];
        all.extend_from_slice(args);
        cordon(&all, "", &[("CORDON_TOKEN", &token)])
    };
    let show = as_officer(&["show", &id]);
    assert!(
        text(&show).contains("Damaged:"),
        "flagged on the entry: {}",
        text(&show)
    );
    let release = as_officer(&["release", &id, "--note", "Checked by phone."]);
    assert!(
        !release.status.success(),
        "a damaged message is never released: {}",
        text(&release)
    );
    assert!(
        text(&release).contains("damaged") && !text(&release).contains(&format!("{id}: released")),
        "{}",
        text(&release)
    );
    let show = as_officer(&["show", &id, "--json"]);
    let entry: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(entry["state"], "held", "it stays held");
    assert_eq!(entry["damaged"], true);
    gateway.stop();
}
