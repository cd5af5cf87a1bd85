//! Pipeline tests with a scripted relay and the in-memory store.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cordon_inspect::Inspector;
use cordon_relay::{DeliveryFailure, Outcome, Transport};
use cordon_smtp::MessageSink;
use cordon_store::{
    Decision, Engine, MemoryStore, MessageRecord, PlannedAction, QuarantineRecord, QuarantineState,
    QueueId, RecipientStatus, Spool, StoreError,
};
use tokio::sync::watch;

use crate::{Gateway, GatewayConfig, Metrics, RetryPolicy};

/// A relay that answers from a script: addresses starting with "bad" fail
/// permanently, "later" temporarily, everything else is delivered. It records
/// every delivered (sender, recipients, message).
/// One delivery the scripted relay accepted: (sender, recipients, message).
type Delivery = (String, Vec<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Scripted {
    delivered: Arc<Mutex<Vec<Delivery>>>,
    /// Delivery attempts made (delivered or not).
    attempts: Arc<AtomicUsize>,
    /// If set, each attempt waits for a permit first.
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

impl Transport for Scripted {
    async fn deliver(&self, mail_from: &str, rcpt_to: &[String], message: &[u8]) -> Vec<Outcome> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate").forget();
        }
        let outcomes: Vec<Outcome> = rcpt_to
            .iter()
            .map(|r| {
                if r.starts_with("bad") {
                    Outcome::Permanent(DeliveryFailure::from_reply(550, "5.1.1 no such user"))
                } else if r.starts_with("later") {
                    Outcome::Temporary(DeliveryFailure::from_reply(451, "4.3.0 try later"))
                } else {
                    Outcome::Delivered
                }
            })
            .collect();
        let ok: Vec<String> = rcpt_to
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == Outcome::Delivered)
            .map(|(r, _)| r.clone())
            .collect();
        if !ok.is_empty() {
            self.delivered
                .lock()
                .expect("lock")
                .push((mail_from.to_owned(), ok, message.to_vec()));
        }
        outcomes
    }
}

fn inspector() -> Arc<Inspector> {
    Arc::new(
        Inspector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")).expect("rules"),
    )
}

fn envelope(rcpt: &[&str]) -> cordon_smtp::Envelope {
    cordon_smtp::Envelope {
        mail_from: "sam.okafor@northshire.police.uk".into(),
        rcpt_to: rcpt.iter().map(|r| (*r).to_owned()).collect(),
        client_ip: "127.0.0.1".parse().expect("ip"),
        helo: "client".into(),
        tls: false,
        smtputf8: false,
    }
}

struct Harness {
    gateway: Arc<Gateway<Scripted>>,
    relay: Scripted,
    store: Arc<dyn Engine>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn harness(retry: RetryPolicy) -> Harness {
    harness_with(|config| config.retry = retry).await
}

async fn harness_with(configure: impl FnOnce(&mut GatewayConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    start_on(dir, store, Scripted::default(), configure).await
}

/// Starts a gateway on the spool in `dir` and `store` as they are (a test
/// may have left them as a crash would).
async fn start_on(
    dir: tempfile::TempDir,
    store: Arc<dyn Engine>,
    relay: Scripted,
    configure: impl FnOnce(&mut GatewayConfig),
) -> Harness {
    capture_logs();
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let (stop, stopped) = watch::channel(false);
    let notices = Arc::new(cordon_notify::Templates::built_in().expect("templates"));
    let mut config = GatewayConfig::new(dir.path(), notices);
    config.poll_interval = Duration::from_millis(50);
    config.audit = Some(Arc::new(
        cordon_audit::AuditLog::open(dir.path().join("audit.jsonl")).expect("audit log"),
    ));
    configure(&mut config);
    let (gateway, _) = Gateway::start_with(
        config,
        spool,
        cordon_store::Store::new(Arc::clone(&store)),
        inspector(),
        relay.clone(),
        Arc::new(Metrics::new()),
        stopped,
    )
    .await
    .expect("start");
    Harness {
        gateway,
        relay,
        store,
        _stop: stop,
        _dir: dir,
    }
}

async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    // up to 10 s: CI machines are slow and busy
    for _ in 0..400 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

const CLEAN: &[u8] = b"From: sam.okafor@northshire.police.uk\r\nTo: x@kent.police.uk\r\nSubject: shift\r\n\r\nShift change at 6.\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_bounces_at_once_and_the_others_are_delivered() {
    let h = harness(RetryPolicy::default()).await;
    let id = h
        .gateway
        .accept(
            envelope(&["ok@kent.police.uk", "bad@kent.police.uk"]),
            CLEAN.to_vec(),
        )
        .await
        .expect("accepted");
    let relay = h.relay.clone();
    // the original to ok@, then the notice to the sender
    assert!(
        eventually(|| relay
            .delivered
            .lock()
            .map(|d| d.len() >= 2)
            .unwrap_or(false))
        .await
    );
    let delivered = h.relay.delivered.lock().expect("lock").clone();
    assert_eq!(delivered[0].1, ["ok@kent.police.uk".to_owned()]);
    let (from, to, notice) = &delivered[1];
    assert_eq!(
        (from.as_str(), to.as_slice()),
        (
            "",
            ["sam.okafor@northshire.police.uk".to_owned()].as_slice()
        )
    );
    let text = String::from_utf8_lossy(notice);
    assert!(
        text.contains("Final-Recipient: rfc822; bad@kent.police.uk")
            && text.contains("Status: 5.1.1")
            && text.contains("550 5.1.1 no such user"),
        "{text}"
    );
    assert!(text.contains(&format!("X-Cordon-Reference: {id}")));
    // the original is finished and gone from the queue
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store
            .get_message(&id.parse().expect("id"))
            .map(|r| r.is_none())
            .unwrap_or(false))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_failure_is_retried_then_bounced_after_the_give_up_age() {
    let h = harness(RetryPolicy {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(1),
        give_up_after: Duration::from_secs(2),
    })
    .await;
    let id = h
        .gateway
        .accept(envelope(&["later@kent.police.uk"]), CLEAN.to_vec())
        .await
        .expect("accepted");
    let qid = id.parse().expect("id");
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| {
            matches!(store.get_message(&qid), Ok(Some(r)) if matches!(r.recipients[0].status, RecipientStatus::Deferred { .. }))
        })
        .await,
        "the first failure defers the recipient"
    );
    let relay = h.relay.clone();
    for _ in 0..4 {
        if relay
            .delivered
            .lock()
            .map(|d| !d.is_empty())
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let delivered = h.relay.delivered.lock().expect("lock").clone();
    assert_eq!(delivered.len(), 1, "only the notice is delivered");
    let text = String::from_utf8_lossy(&delivered[0].2);
    assert!(
        text.contains("Status: 4.4.7") && text.contains("gave up"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_null_sender_gets_no_notice() {
    let h = harness(RetryPolicy::default()).await;
    let mut env = envelope(&["bad@kent.police.uk"]);
    env.mail_from = String::new();
    let id = h
        .gateway
        .accept(env, CLEAN.to_vec())
        .await
        .expect("accepted");
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store
            .get_message(&id.parse().expect("id"))
            .map(|r| r.is_none())
            .unwrap_or(false))
        .await
    );
    assert!(
        h.relay.delivered.lock().expect("lock").is_empty(),
        "no notice about a message from the null sender"
    );
}

const PERSONAL_DATA: &[u8] = b"From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: claim form\r\nMessage-ID: <claim-1@northshire.police.uk>\r\n\r\nThe claimant's NI number is JM 41 29 87 B.\r\n";

/// The notices delivered to the sender so far, parsed: (subject, text).
fn notices(relay: &Scripted) -> Vec<(String, String)> {
    relay
        .delivered
        .lock()
        .expect("lock")
        .iter()
        .filter(|(from, _, _)| from.is_empty())
        .filter_map(|(_, _, bytes)| {
            let parsed = mail_parser::MessageParser::default().parse(bytes)?;
            Some((
                parsed.subject().unwrap_or_default().to_owned(),
                // Whitespace folded: the templates wrap long lines.
                parsed
                    .body_text(0)
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        })
        .collect()
}

async fn held_message(h: &Harness) -> cordon_store::QueueId {
    let id = h
        .gateway
        .accept(
            envelope(&[
                "claims@insurer-example.co.uk",
                "k.hughes@northshire.police.uk",
            ]),
            PERSONAL_DATA.to_vec(),
        )
        .await
        .expect("accepted");
    let relay = h.relay.clone();
    assert!(
        eventually(|| !notices(&relay).is_empty()).await,
        "the held notice arrives"
    );
    id.parse().expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_message_is_explained_to_the_sender_once() {
    let h = harness(RetryPolicy::default()).await;
    let id = held_message(&h).await;
    let (subject, text) = notices(&h.relay).remove(0);
    assert_eq!(subject, "Held for review: claim form");
    assert!(text.contains("claims@insurer-example.co.uk"), "{text}");
    assert!(text.contains("personal-data-to-insecure"), "{text}");
    assert!(
        text.contains("a National Insurance number, JM 41 ** ** B, in the message body"),
        "{text}"
    );
    assert!(
        !text.contains("JM 41 29 87 B"),
        "the identifier is redacted"
    );
    assert!(text.contains(&id.to_string()), "the reference: {text}");
    assert!(text.contains("DELIVERED to") && text.contains("k.hughes@northshire.police.uk"));
    let entry = h.store.get_quarantine(&id).expect("store").expect("held");
    assert!(entry.sender_notified);
    // Stored typed and versioned, read back by the shared decoder.
    assert!(
        entry.reasons_json.contains(r#""v":1"#),
        "{}",
        entry.reasons_json
    );
    let reasons = cordon_records::decode_reasons(&entry.reasons_json).expect("reasons");
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].address, "claims@insurer-example.co.uk");
    assert_eq!(reasons[0].reasons[0].rule, "personal-data-to-insecure");
    let findings = cordon_records::decode_findings(&entry.findings_json).expect("findings");
    assert!(
        findings.iter().any(|f| f.detector == "uk_nino"),
        "{findings:?}"
    );
    assert_eq!(entry.rules, vec!["personal-data-to-insecure"]);
    // Processing the message again tells the sender nothing new.
    h.gateway.process(id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(notices(&h.relay).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_delivers_to_the_held_recipients_and_tells_the_sender() {
    let h = harness(RetryPolicy::default()).await;
    let id = held_message(&h).await;
    h.gateway
        .decide(
            id,
            Decision::Release,
            "officer:j.smith",
            Some("Insurer confirmed by phone."),
        )
        .await
        .expect("released");
    let relay = h.relay.clone();
    assert!(
        eventually(|| notices(&relay).len() == 2).await,
        "the released notice"
    );
    let delivered = h.relay.delivered.lock().expect("lock").clone();
    let originals: Vec<&Vec<String>> = delivered
        .iter()
        .filter(|(from, _, _)| !from.is_empty())
        .map(|(_, to, _)| to)
        .collect();
    assert_eq!(
        originals,
        [
            &vec!["k.hughes@northshire.police.uk".to_owned()],
            &vec!["claims@insurer-example.co.uk".to_owned()]
        ],
        "the release goes to the held recipient only"
    );
    let (subject, text) = notices(&h.relay).remove(1);
    assert_eq!(subject, "Released and sent: claim form");
    assert!(text.contains("Insurer confirmed by phone."), "{text}");
    assert!(text.contains("claims@insurer-example.co.uk"));
    let again = h
        .gateway
        .decide(id, Decision::Reject, "officer:b", Some("no"))
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyDecided { .. })),
        "{again:?}"
    );
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store.get_message(&id).map(|r| r.is_none()).unwrap_or(false)).await,
        "the message is finished and leaves the queue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_rejection_bounces_with_the_note() {
    let h = harness(RetryPolicy::default()).await;
    let id = held_message(&h).await;
    h.gateway
        .decide(
            id,
            Decision::Reject,
            "officer:j.smith",
            Some("Send it through CJSM instead."),
        )
        .await
        .expect("rejected");
    let relay = h.relay.clone();
    assert!(eventually(|| notices(&relay).len() == 2).await);
    let (subject, text) = notices(&h.relay).remove(1);
    assert_eq!(subject, "Not sent (rejected after review): claim form");
    assert!(text.contains("Send it through CJSM instead."), "{text}");
    assert!(text.contains("NOT SENT to") && text.contains("claims@insurer-example.co.uk"));
    let originals = h
        .relay
        .delivered
        .lock()
        .expect("lock")
        .iter()
        .filter(|(from, to, _)| {
            !from.is_empty() && to.contains(&"claims@insurer-example.co.uk".to_owned())
        })
        .count();
    assert_eq!(originals, 0, "nothing reaches the rejected recipient");
    let entry = h.store.get_quarantine(&id).expect("store").expect("entry");
    assert_eq!(entry.state, QuarantineState::Rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecided_message_expires_and_the_sender_is_told() {
    let h = harness_with(|config| {
        config.hold_days = 0;
        config.expiry_interval = Duration::from_millis(100);
    })
    .await;
    let id = held_message(&h).await;
    let relay = h.relay.clone();
    let expired =
        |(subject, _): &(String, String)| subject.starts_with("Not sent (review expired)");
    assert!(
        eventually(|| notices(&relay).iter().any(expired)).await,
        "the expiry notice"
    );
    // (the held notice may come first, or be overtaken: nothing is held for long)
    let (subject, text) = notices(&h.relay)
        .into_iter()
        .find(expired)
        .expect("the expiry notice");
    assert_eq!(subject, "Not sent (review expired): claim form");
    assert!(
        text.contains("NOT DELIVERED to") && text.contains("claims@insurer-example.co.uk"),
        "{text}"
    );
    let entry = h.store.get_quarantine(&id).expect("store").expect("entry");
    assert_eq!(entry.state, QuarantineState::Expired);
    let audit = h.gateway.config.audit.clone().expect("audit");
    let actions: Vec<String> = audit
        .entries_for(&id.to_string())
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in ["accepted", "verdict", "delivered", "notice-sent", "expire"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    assert!(
        cordon_audit::verify(audit.path()).expect("verify").is_ok(),
        "the chain verifies"
    );
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store.get_message(&id).map(|r| r.is_none()).unwrap_or(false)).await,
        "the expired message is purged"
    );
}

/// Everything the gateways of this test binary log, for the tests that
/// check what an operator would read.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
    });
}

/// The lines logged at level ERROR that mention `needle`.
fn errors_about(needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&LOG.lock().expect("log"))
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Leaves `spool` and `store` as a crash right after the hold leaves them:
/// the personal-data message inspected, one recipient delivered, the other
/// held in quarantine, the sender told (`notified`) or not.
fn crashed_after_hold(spool: &Spool, store: &dyn Engine, notified: bool) -> QueueId {
    let smtp = envelope(&[
        "claims@insurer-example.co.uk",
        "k.hughes@northshire.police.uk",
    ]);
    let spooled = cordon_store::Envelope {
        mail_from: smtp.mail_from.clone(),
        rcpt_to: smtp.rcpt_to.clone(),
        client_ip: Some("127.0.0.1".into()),
        helo: Some("client".into()),
        received_at: crate::now(),
    };
    let id = QueueId::new();
    spool.write(&id, &spooled, PERSONAL_DATA).expect("spool");
    let verdict = inspector().check(
        PERSONAL_DATA,
        &cordon_inspect::Envelope {
            mail_from: Some(smtp.mail_from.clone()),
            rcpt_to: smtp.rcpt_to.clone(),
        },
    );
    let mut record = MessageRecord::new(id, spooled, PERSONAL_DATA.len() as u64);
    record.inspected = true;
    record.subject = verdict.subject.clone();
    record.recipients[0].action = Some(PlannedAction::Hold);
    record.recipients[1].action = Some(PlannedAction::Deliver);
    record.recipients[1].status = RecipientStatus::Delivered { at: crate::now() };
    let json = serde_json::to_value(&verdict).expect("verdict");
    record.verdict_json = Some(json.to_string());
    store.put_message(&record).expect("record");
    let held: Vec<&serde_json::Value> = json["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .filter(|r| r["action"] == "hold")
        .collect();
    assert_eq!(held.len(), 1, "the rules hold the insurer: {json}");
    store
        .put_quarantine(&QuarantineRecord {
            id,
            message_id: id,
            recipients: vec!["claims@insurer-example.co.uk".into()],
            sender: record.envelope.mail_from.clone(),
            subject: record.subject.clone(),
            held_at: crate::now(),
            expires_at: crate::now() + 14 * 86_400,
            state: QuarantineState::Held,
            findings_json: json["findings"].to_string(),
            reasons_json: serde_json::to_string(&held).expect("reasons"),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        })
        .expect("quarantine");
    if notified {
        store
            .set_quarantine_notified(&id, QuarantineState::Held)
            .expect("notified");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_hold_and_the_notice_still_tells_the_sender() {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let id = crashed_after_hold(&spool, store.as_ref(), false);
    let h = start_on(dir, store, Scripted::default(), |_| {}).await;
    let relay = h.relay.clone();
    assert!(
        eventually(|| notices(&relay).len() == 1).await,
        "the held notice arrives after the restart"
    );
    let (subject, text) = notices(&h.relay).remove(0);
    assert_eq!(subject, "Held for review: claim form");
    assert!(text.contains(&id.to_string()), "{text}");
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store
            .get_quarantine(&id)
            .is_ok_and(|q| q.is_some_and(|q| q.sender_notified)))
        .await
    );
    let entry = h.store.get_quarantine(&id).expect("store").expect("entry");
    assert_eq!(entry.state, QuarantineState::Held, "still held for review");
    assert!(h.gateway.spool().read(&id).is_ok(), "the held copy is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_released_delivery_and_the_notice_still_tells_the_sender() {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let id = crashed_after_hold(&spool, store.as_ref(), true);
    store
        .decide_quarantine(&id, Decision::Release, "officer:j.smith", Some("Fine."), 1)
        .expect("released");
    store
        .set_recipient_status(
            &id,
            "claims@insurer-example.co.uk",
            RecipientStatus::Delivered { at: 2 },
        )
        .expect("delivered");
    let h = start_on(dir, store, Scripted::default(), |_| {}).await;
    let relay = h.relay.clone();
    assert!(
        eventually(|| notices(&relay).len() == 1).await,
        "the released notice arrives after the restart"
    );
    assert_eq!(notices(&h.relay)[0].0, "Released and sent: claim form");
    assert_eq!(
        h.relay
            .delivered
            .lock()
            .expect("lock")
            .iter()
            .filter(|(from, _, _)| !from.is_empty())
            .count(),
        0,
        "nothing is delivered twice"
    );
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store.get_message(&id).map(|r| r.is_none()).unwrap_or(false)).await,
        "then the message leaves the queue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_loop_sends_a_notice_a_failed_step_left_owed() {
    let h = harness_with(|config| config.expiry_interval = Duration::from_millis(100)).await;
    // Left by processing that stopped on an error after the hold, while the
    // gateway runs on.
    let id = crashed_after_hold(h.gateway.spool(), h.store.as_ref(), false);
    let relay = h.relay.clone();
    assert!(
        eventually(|| notices(&relay).len() == 1).await,
        "the held notice arrives without a restart"
    );
    assert!(notices(&h.relay)[0].1.contains(&id.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_message_is_handed_to_the_workers_once_however_many_ticks_pass() {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let spooled = cordon_store::Envelope {
        mail_from: "sam.okafor@northshire.police.uk".into(),
        rcpt_to: vec!["duty@kent.police.uk".into()],
        client_ip: None,
        helo: None,
        received_at: crate::now(),
    };
    let id = QueueId::new();
    spool.write(&id, &spooled, CLEAN).expect("spool");
    let mut record = MessageRecord::new(id, spooled, CLEAN.len() as u64);
    record.inspected = true;
    record.verdict_json = Some("{}".into());
    record.recipients[0].action = Some(PlannedAction::Deliver);
    record.recipients[0].status = RecipientStatus::Deferred {
        attempts: 1,
        next_attempt_at: 0,
        last_error: "451 4.3.0 try later".into(),
    };
    store.put_message(&record).expect("record");
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let relay = Scripted {
        gate: Some(Arc::clone(&gate)),
        ..Scripted::default()
    };
    let h = start_on(dir, store, relay, |config| {
        config.poll_interval = Duration::from_millis(5);
    })
    .await;
    let attempts = Arc::clone(&h.relay.attempts);
    assert!(eventually(|| attempts.load(Ordering::SeqCst) == 1).await);
    // The delivery hangs while the loop ticks on and finds the message due
    // every time (not a timed assertion: time for the loop to ask again).
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.add_permits(100);
    let store = Arc::clone(&h.store);
    assert!(
        eventually(|| store.get_message(&id).map(|r| r.is_none()).unwrap_or(false)).await,
        "delivered and finished"
    );
    // Time for any stale request to reach a worker.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.relay.attempts.load(Ordering::SeqCst), 1);
    assert_eq!(
        errors_about(&id.to_string()),
        Vec::<String>::new(),
        "no errors about a message delivered"
    );
    assert_eq!(h.gateway.work.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_held_message_is_reported_at_start_and_never_released() {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let id = crashed_after_hold(&spool, store.as_ref(), true);
    // Cut short on disk (as a failing disk or a careless hand would).
    let path = spool.path_of(&id);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 20]).expect("truncate");
    let h = start_on(dir, store, Scripted::default(), |_| {}).await;
    assert_eq!(h.gateway.metrics().spool_damaged.get(), 1);
    assert!(
        h.gateway
            .metrics()
            .encode()
            .contains("cordon_spool_damaged 1"),
        "{}",
        h.gateway.metrics().encode()
    );
    let logged = errors_about(&id.to_string());
    assert!(
        logged
            .iter()
            .any(|l| l.contains("damaged spool file") && l.contains("truncated")),
        "{logged:?}"
    );
    let released = h
        .gateway
        .decide(id, Decision::Release, "officer:j.smith", Some("Fine."))
        .await;
    assert!(
        matches!(&released, Err(StoreError::DamagedSpool { problem, .. }) if problem.contains("truncated")),
        "{released:?}"
    );
    let entry = h.store.get_quarantine(&id).expect("store").expect("entry");
    assert_eq!(entry.state, QuarantineState::Held, "it stays held");
    // Rejecting it is still possible.
    h.gateway
        .decide(
            id,
            Decision::Reject,
            "officer:j.smith",
            Some("Send it again."),
        )
        .await
        .expect("rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_incoming_message_goes_to_disk_as_it_arrives_and_is_gone_unless_committed() {
    use cordon_smtp::MessageWriter;
    let h = harness(RetryPolicy::default()).await;
    let spool_dir = h._dir.path().join("spool");
    let on_disk = || -> Vec<u64> {
        std::fs::read_dir(&spool_dir)
            .expect("spool")
            .map(|e| e.expect("entry").metadata().expect("metadata").len())
            .collect()
    };
    // A small message is kept in memory until the end of DATA.
    let mut small = h
        .gateway
        .open(envelope(&["x@kent.police.uk"]))
        .await
        .expect("open");
    small.write(CLEAN.to_vec()).await.expect("write");
    assert!(on_disk().is_empty());
    drop(small);
    // A large one is written to disk as it arrives, memory does not grow.
    let mut large = h
        .gateway
        .open(envelope(&["x@kent.police.uk"]))
        .await
        .expect("open");
    let chunk = b"Minutes of the estates working group.\r\n".repeat(1_700);
    for _ in 0..5 {
        large.write(chunk.clone()).await.expect("write");
    }
    let files = on_disk();
    assert_eq!(files.len(), 1);
    assert!(
        files[0] >= 5 * chunk.len() as u64,
        "every chunk is in the file"
    );
    assert!(
        h.gateway.spool.list().expect("list").is_empty(),
        "not accepted yet"
    );
    // The client went away (or the message was refused): nothing is left.
    drop(large);
    assert!(on_disk().is_empty());
    assert!(h.relay.delivered.lock().expect("lock").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_small_incoming_messages_are_spooled_and_delivered_whole() {
    use cordon_smtp::MessageWriter;
    let h = harness(RetryPolicy::default()).await;
    let mut large_body = CLEAN.to_vec();
    large_body.extend(b"Minutes of the estates working group.\r\n".repeat(8_000));
    for (n, body) in [CLEAN.to_vec(), large_body].into_iter().enumerate() {
        let mut incoming = h
            .gateway
            .open(envelope(&[&format!("x{n}@kent.police.uk")]))
            .await
            .expect("open");
        for chunk in body.chunks(64 * 1024) {
            incoming.write(chunk.to_vec()).await.expect("write");
        }
        incoming.commit().await.expect("accepted");
        let relay = h.relay.clone();
        let expected = body.clone();
        assert!(
            eventually(move || relay
                .delivered
                .lock()
                .map(|d| d.iter().any(|(_, _, m)| m.ends_with(&expected)))
                .unwrap_or(false))
            .await,
            "message {n} delivered whole"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_are_processed_only_as_far_as_the_budget_allows() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let relay = Scripted {
        gate: Some(Arc::clone(&gate)),
        ..Scripted::default()
    };
    let dir = tempfile::tempdir().expect("temp");
    let h = start_on(dir, Arc::new(MemoryStore::new()), relay, |config| {
        config.workers = 4;
        // Room for one of these messages at a time, not two.
        config.processing_budget = 96 * 1024;
    })
    .await;
    let mut large = CLEAN.to_vec();
    large.extend(b"Minutes of the estates working group.\r\n".repeat(1_500));
    assert!(large.len() > 48 * 1024);
    for n in 0..3 {
        let rcpt = format!("duty{n}@kent.police.uk");
        h.gateway
            .accept(envelope(&[&rcpt]), large.clone())
            .await
            .expect("accepted");
    }
    let attempts = Arc::clone(&h.relay.attempts);
    assert!(eventually(|| attempts.load(Ordering::SeqCst) == 1).await);
    // Four workers are free, but the budget holds the other two back while
    // the first is in delivery (not a timed assertion: time for them to start).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.relay.attempts.load(Ordering::SeqCst), 1);
    gate.add_permits(3);
    let relay = h.relay.clone();
    assert!(
        eventually(|| relay.delivered.lock().expect("lock").len() == 3).await,
        "each is delivered in its turn"
    );
    assert_eq!(h.relay.attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn verdicts_stored_before_versions_decode_as_the_stored_form() {
    let verdict = inspector().check(
        PERSONAL_DATA,
        &cordon_inspect::Envelope {
            mail_from: Some("sam.okafor@northshire.police.uk".into()),
            rcpt_to: vec![
                "claims@insurer-example.co.uk".into(),
                "duty@kent.police.uk".into(),
            ],
        },
    );
    let stored = crate::stored_verdict::stored_verdict(&verdict);
    assert!(stored.findings.iter().any(|f| f.detector == "uk_nino"));
    assert!(
        stored
            .recipient("claims@insurer-example.co.uk")
            .is_some_and(|r| !r.reasons.is_empty())
    );
    // What the gateway wrote before versions existed: the `cordon check`
    // JSON through `serde_json::Value`.
    let version_0 = serde_json::to_value(&verdict).expect("verdict").to_string();
    assert_eq!(
        cordon_records::decode_verdict(&version_0).expect("version 0"),
        stored
    );
    let version_1 = cordon_records::encode_verdict(&stored).expect("encode");
    assert_eq!(
        cordon_records::decode_verdict(&version_1).expect("version 1"),
        stored
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_held_entry_and_notices_not_delivered_are_measured() {
    let dir = tempfile::tempdir().expect("temp");
    let store: Arc<dyn Engine> = Arc::new(MemoryStore::new());
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let id = crashed_after_hold(&spool, store.as_ref(), true);
    drop(spool);
    let mut entry = store.get_quarantine(&id).expect("store").expect("held");
    entry.held_at -= 3_600;
    store.put_quarantine(&entry).expect("store");
    let h = start_on(dir, store, Scripted::default(), |_| {}).await;
    let metrics = Arc::clone(h.gateway.metrics());
    assert!(
        eventually(|| metrics.quarantine_oldest_held_seconds.get() >= 3_600).await,
        "held an hour ago: {}",
        metrics.encode()
    );
    assert!(
        metrics
            .encode()
            .contains("cordon_quarantine_oldest_held_seconds")
    );

    // A held message whose sender's mailbox cannot take the notice now.
    assert_eq!(metrics.notice_failures.get(), 0);
    let mut smtp = envelope(&["claims@insurer-example.co.uk"]);
    smtp.mail_from = "later.sam@northshire.police.uk".into();
    h.gateway
        .accept(smtp, PERSONAL_DATA.to_vec())
        .await
        .expect("accepted");
    assert!(
        eventually(|| metrics.notice_failures.get() >= 1).await,
        "the held notice was deferred: {}",
        metrics.encode()
    );
}
