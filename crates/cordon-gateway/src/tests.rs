//! Pipeline tests with a scripted relay and the in-memory store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordon_inspect::Inspector;
use cordon_relay::{Outcome, Transport};
use cordon_smtp::MessageSink;
use cordon_store::{MemoryStore, RecipientStatus, Spool, Store};
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
}

impl Transport for Scripted {
    async fn deliver(&self, mail_from: &str, rcpt_to: &[String], message: &[u8]) -> Vec<Outcome> {
        let outcomes: Vec<Outcome> = rcpt_to
            .iter()
            .map(|r| {
                if r.starts_with("bad") {
                    Outcome::Permanent("550 5.1.1 no such user".into())
                } else if r.starts_with("later") {
                    Outcome::Temporary("451 4.3.0 try later".into())
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
    store: Arc<dyn Store>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn harness(retry: RetryPolicy) -> Harness {
    let dir = tempfile::tempdir().expect("temp");
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let relay = Scripted::default();
    let (stop, stopped) = watch::channel(false);
    let mut config = GatewayConfig::new(dir.path());
    config.retry = retry;
    config.poll_interval = Duration::from_millis(50);
    let (gateway, _) = Gateway::start_with(
        config,
        spool,
        Arc::clone(&store),
        inspector(),
        relay.clone(),
        Arc::new(Metrics::new()),
        stopped,
    )
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
    for _ in 0..200 {
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
    let h = harness(RetryPolicy::default());
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
        text.contains("Final-Recipient: rfc822; bad@kent.police.uk") && text.contains("550 5.1.1"),
        "{text}"
    );
    assert!(text.contains(&format!("X-Cordon-Queue-Id: {id}")));
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
    });
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
    let h = harness(RetryPolicy::default());
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
