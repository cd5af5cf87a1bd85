//! Two `cordon serve` processes on one PostgreSQL database, each with its own
//! data directory (spool and outbox), as a force runs them behind its
//! smart-host list: a message held on A is listed and read on B; A is killed
//! (SIGKILL) and the message is released on B, which delivers it once; a
//! second release is refused on either node, and A, restarted with its old
//! spool file, does not send it again. Needs PostgreSQL: run through
//! `scripts/with-postgres` (as `.ci/run` does).

mod common;

use std::path::Path;

use common::{Gateway, cordon, send, text, traced_queue_id, wait_until};
use cordon_postgres::testing::TestDatabase;

const SENDER: &str = "sam.okafor@northshire.police.uk";
const CLAIMS: &str = "claims@insurer-example.co.uk";
const PASSWORD: &str = "a long enough passphrase\n";

/// A gateway on the shared database, with its own data directory.
fn node(dir: &Path, url: &str) -> Gateway {
    Gateway::start(
        dir,
        &format!("[store]\nurl = \"{url}?sslmode=disable\"\nnode_silence_secs = 2\n"),
    )
}

/// An officer added once, in the shared database; their API token.
fn officer_token(store: &str) -> String {
    let add = cordon(
        &[
            "users", "add", "j.smith", "--role", "officer", "--store", store,
        ],
        PASSWORD,
        &[],
    );
    assert!(add.status.success(), "{}", text(&add));
    // The URL from the environment, as an operator keeps a password out
    // of the process list.
    let token = cordon(
        &["users", "token", "j.smith"],
        "",
        &[("CORDON_STORE", store)],
    );
    assert!(token.status.success(), "{}", text(&token));
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}

/// `cordon quarantine ARGS` against `gateway`'s console as `token`.
fn review(gateway: &Gateway, token: &str, args: &[&str]) -> std::process::Output {
    let server = format!("http://{}", gateway.console);
    let mut all = vec!["quarantine", "--server", server.as_str()];
    all.extend_from_slice(args);
    cordon(&all, "", &[("CORDON_TOKEN", token)])
}

/// Copies of message `id` delivered to the claims address from `gateway`.
fn delivered(gateway: &Gateway, id: &str) -> usize {
    gateway
        .outbox()
        .iter()
        .filter(|(from, to, m)| {
            !from.is_empty()
                && to.iter().any(|t| t == CLAIMS)
                && traced_queue_id(m).as_deref() == Some(id)
        })
        .count()
}

#[test]
fn a_message_held_on_one_gateway_is_released_on_another_after_the_first_is_killed() {
    let database = TestDatabase::create();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = node(dir_a.path(), &database.url);
    let b = node(dir_b.path(), &database.url);
    let store = format!("{}?sslmode=disable", database.url);
    // One account for both gateways.
    let token = officer_token(&store);
    let (token_a, token_b) = (token.as_str(), token.as_str()); // either node takes it

    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: claim form\r\n\r\nNI number JM 41 29 87 B.\r\n";
    let id = send(a.smtp, SENDER, &[CLAIMS.to_owned()], message).expect("accepted by A");

    // One quarantine: held on A, listed and read on B.
    assert!(
        wait_until(30, || text(&review(&b, token_b, &["list"])).contains(&id)),
        "B lists the message A held: {}",
        a.log()
    );
    let shown = review(&b, token_b, &["show", &id]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(text(&shown).contains("JM 41 ** ** B"), "{}", text(&shown));

    // A dies with the message in its spool; B releases it and, A being
    // silent, delivers it from the database's copy.
    a.kill();
    let released = review(
        &b,
        token_b,
        &["release", &id, "--note", "Insurer confirmed."],
    );
    assert!(released.status.success(), "{}", text(&released));
    assert!(
        wait_until(30, || delivered(&b, &id) == 1),
        "B delivers the message A held: {}",
        b.log()
    );
    let again = review(&b, token_b, &["release", &id, "--note", "twice"]);
    assert!(
        !again.status.success() && text(&again).contains("409"),
        "{}",
        text(&again)
    );

    // A comes back: its spool file is obsolete, its decision refused.
    a.spawn();
    assert!(
        wait_until(30, || a
            .log()
            .contains("handled by another gateway meanwhile")),
        "A drops its copy: {}",
        a.log()
    );
    let on_a = review(&a, token_a, &["release", &id, "--note", "and again"]);
    assert!(
        !on_a.status.success() && text(&on_a).contains("409"),
        "{}",
        text(&on_a)
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(delivered(&a, &id), 0, "A sent it too: {}", a.log());
    assert_eq!(delivered(&b, &id), 1, "delivered once");
    assert!(
        !a.data.join("spool").read_dir().unwrap().any(|e| e
            .map(|e| e.file_name().to_string_lossy().contains(&id))
            .unwrap_or(false)),
        "A's spool file of it is gone"
    );

    // One audit chain for both: intact, with A's acceptance and B's
    // release and delivery of the message in it.
    let verify = cordon(&["audit", "verify", "--store", &store], "", &[]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(
        text(&verify).contains("the chain is intact"),
        "{}",
        text(&verify)
    );
    let export = cordon(&["audit", "export", "--store", &store], "", &[]);
    assert!(export.status.success(), "{}", text(&export));
    let actions: Vec<String> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["subject"] == id.as_str())
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(
        String::from_utf8_lossy(&export.stdout).contains("\"action\":\"user-added\""),
        "the account's creation is in the same chain"
    );
    for action in ["accepted", "verdict", "release", "delivered"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// A TCP relay to `target` that can be cut (every connection closed, new
/// ones refused) and mended: the database going away and coming back.
struct Cable {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Cable {
    fn to(target: std::net::SocketAddr) -> Cable {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let is_open = std::sync::Arc::clone(&open);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !is_open.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let is_open = std::sync::Arc::clone(&is_open);
                    std::thread::spawn(move || {
                        use std::io::{Read, Write};
                        let _ = from.set_read_timeout(Some(std::time::Duration::from_millis(100)));
                        let mut buf = [0u8; 16384];
                        loop {
                            if !is_open.load(Ordering::SeqCst) {
                                let _ = from.shutdown(std::net::Shutdown::Both);
                                let _ = to.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => return,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        return;
                                    }
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        std::io::ErrorKind::WouldBlock
                                            | std::io::ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => return,
                            }
                        }
                    });
                }
            }
        });
        Cable { port, open }
    }

    fn set(&self, open: bool) {
        self.open.store(open, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn while_the_database_is_down_mail_is_accepted_clean_mail_flows_and_held_mail_waits() {
    let database = TestDatabase::create();
    // postgres://cordon@127.0.0.1:PORT/NAME, reached through a cable.
    let (server, name) = database
        .url
        .trim_start_matches("postgres://cordon@")
        .split_once('/')
        .unwrap();
    let cable = Cable::to(server.parse().unwrap());
    let through_cable = format!("postgres://cordon@127.0.0.1:{}/{name}", cable.port);
    let dir = tempfile::tempdir().unwrap();
    let gateway = node(dir.path(), &through_cable);

    cable.set(false);
    let clean = send(
        gateway.smtp,
        SENDER,
        &["duty.inspector@kent.police.uk".to_owned()],
        b"From: sam.okafor@northshire.police.uk\r\nSubject: shift change\r\n\r\nSee you at six.\r\n",
    )
    .unwrap_or_else(|e| {
        panic!(
            "not accepted while the database is down: {e}\n{}",
            gateway.log_tail(30)
        )
    });
    let held = send(
        gateway.smtp,
        SENDER,
        &[CLAIMS.to_owned()],
        b"From: sam.okafor@northshire.police.uk\r\nSubject: claim form\r\n\r\nNI number JM 41 29 87 B.\r\n",
    )
    .expect("accepted while the database is down, not refused");
    assert!(
        wait_until(60, || gateway.outbox().iter().any(
            |(_, _, m)| traced_queue_id(m).as_deref() == Some(clean.as_str())
        )),
        "clean mail is delivered without the database: {}",
        gateway.log()
    );
    // The behaviour rules saw it alone, and the administrator is told.
    assert!(
        gateway
            .log()
            .contains("the sender's behaviour counters cannot be read"),
        "{}",
        gateway.log_tail(30)
    );
    assert!(gateway.metric("cordon_sender_history_failures_total") >= 1.0);
    assert!(
        wait_until(30, || gateway.log().contains(
            "the shared database is unreachable; the message waits in the spool"
        )),
        "{}",
        gateway.log()
    );
    assert!(
        !gateway
            .log()
            .contains(&format!("held in quarantine queue_id={held}"))
    );
    assert_eq!(delivered(&gateway, &held), 0, "never delivered uninspected");

    cable.set(true);
    assert!(
        wait_until(60, || gateway
            .log()
            .contains(&format!("held in quarantine queue_id={held}"))),
        "held once the database is back: {}",
        gateway.log()
    );
    assert_eq!(delivered(&gateway, &held), 0);
}
