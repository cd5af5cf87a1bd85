//! Durability against a crash: a child process writes through the public
//! API and dies by `abort()` (no destructors, no flush on drop), then the
//! parent reopens the data directory and checks that everything each call
//! had returned `Ok` for is there.

use std::path::Path;
use std::process::Command;

use cordon_store::{
    Decision, Engine, Envelope, MessageRecord, PlannedAction, QuarantineRecord, QuarantineState,
    QueueId, RecipientStatus, SledStore, Spool, reconcile,
};

const DIR_VAR: &str = "CORDON_STORE_CRASH_DIR";
const MESSAGES: usize = 20;

fn envelope() -> Envelope {
    Envelope {
        mail_from: "pc.jones@northshire.police.uk".into(),
        rcpt_to: vec!["a@gmail.com".into(), "b@nhs.net".into()],
        client_ip: Some("10.0.0.1".into()),
        helo: Some("exch01".into()),
        received_at: 1_700_000_000,
    }
}

/// The child's work: for each message, spool it, record it, inspect it,
/// deliver one recipient and hold the other; release every other hold. The
/// last message is only spooled (the crash came before its record), and one
/// more is spooled and finished.
fn write_everything(dir: &Path) {
    let spool = Spool::open(dir.join("spool")).unwrap();
    let store = SledStore::open(dir.join("db")).unwrap();
    for i in 0..MESSAGES {
        let id = QueueId::new();
        let body = format!("Subject: message {i}\r\n\r\nbody {i}\r\n");
        // As the gateway does: into the journal at acceptance, and into a
        // file of its own once it is to stay.
        spool.append(&id, &envelope(), body.as_bytes()).unwrap();
        if i == MESSAGES - 1 {
            // and one delivered at once: finished, never to come back
            let finished = QueueId::new();
            spool.append(&finished, &envelope(), b"delivered").unwrap();
            assert!(spool.remove(&finished).unwrap());
            break;
        }
        spool.settle(&id).unwrap();
        let mut record = MessageRecord::new(id, envelope(), body.len() as u64);
        store.put_message(&record).unwrap();
        record.inspected = true;
        record.recipients[0].action = Some(PlannedAction::Hold);
        record.recipients[1].action = Some(PlannedAction::Deliver);
        store.put_message(&record).unwrap();
        store
            .set_recipient_status(&id, "b@nhs.net", RecipientStatus::Delivered { at: 5 })
            .unwrap();
        let quarantine = QuarantineRecord {
            id: QueueId::new(),
            message_id: id,
            recipients: vec!["a@gmail.com".into()],
            sender: envelope().mail_from,
            subject: Some(format!("message {i}")),
            held_at: 6,
            expires_at: 100,
            state: QuarantineState::Held,
            findings_json: "[]".into(),
            reasons_json: "[]".into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        };
        store.put_quarantine(&quarantine).unwrap();
        if i % 2 == 0 {
            store
                .decide_quarantine(&quarantine.id, Decision::Release, "officer", None, 7)
                .unwrap();
        }
    }
    // Die without running a single destructor: no sled flush on drop.
    std::process::abort();
}

/// Runs only as the child of `nothing_returned_ok_is_lost_by_a_crash`.
#[test]
fn crash_child() {
    if let Some(dir) = std::env::var_os(DIR_VAR) {
        write_everything(Path::new(&dir));
    }
}

#[test]
fn nothing_returned_ok_is_lost_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--test-threads=1", "--nocapture"])
        .env(DIR_VAR, dir.path())
        .output()
        .unwrap();
    assert!(
        !status.status.success(),
        "the child was meant to die: {status:?}"
    );

    let spool = Spool::open(dir.path().join("spool")).unwrap();
    let store = SledStore::open(dir.path().join("db")).unwrap();
    let spooled = spool.list().unwrap();
    assert_eq!(spooled.len(), MESSAGES);
    for (i, id) in spooled.iter().enumerate() {
        let (env, body) = spool.read(id).unwrap();
        assert_eq!(env, envelope());
        assert_eq!(
            body,
            format!("Subject: message {i}\r\n\r\nbody {i}\r\n").as_bytes()
        );
    }
    let held = store.list_quarantine(Some(QuarantineState::Held)).unwrap();
    let released = store
        .list_quarantine(Some(QuarantineState::Released))
        .unwrap();
    assert_eq!(held.len(), (MESSAGES - 1) / 2);
    assert_eq!(released.len(), MESSAGES / 2);
    for (i, id) in spooled.iter().take(MESSAGES - 1).enumerate() {
        let record = store.get_message(id).unwrap().expect("record lost");
        assert!(record.inspected);
        assert_eq!(
            record.recipients[1].status,
            RecipientStatus::Delivered { at: 5 }
        );
        if i % 2 == 0 {
            assert_eq!(record.recipients[0].status, RecipientStatus::Pending);
            assert_eq!(record.recipients[0].action, Some(PlannedAction::Deliver));
        } else {
            assert!(matches!(
                record.recipients[0].status,
                RecipientStatus::Held { .. }
            ));
        }
    }
    let plan = reconcile(&spool, &store).unwrap();
    assert_eq!(plan.unrecorded, vec![spooled[MESSAGES - 1]]);
    // Every recorded message is still to do: the child sent no notice, so
    // each quarantine entry (nine held, ten released with their recipient
    // still pending) owes its sender one.
    let owing_a_notice = store
        .list_quarantine(None)
        .unwrap()
        .iter()
        .filter(|q| !q.sender_notified)
        .count();
    assert_eq!(owing_a_notice, MESSAGES - 1);
    assert_eq!(plan.unfinished.len(), MESSAGES - 1);
    assert!(plan.to_delete.is_empty() && plan.stale_records.is_empty());
    assert!(plan.missing_spool.is_empty());
}
