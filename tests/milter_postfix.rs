//! cordon as a milter of a real Postfix (`smtpd_milters`): a private Postfix
//! instance on loopback calls `cordon serve --milter`, relays what cordon
//! lets through to a test smarthost, and takes cordon's own mail (notices,
//! releases) back on a second port without the milter. Needs root and
//! Postfix installed (`.ci/run` installs it); the system's Postfix is not
//! touched.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Gateway, Received, free_port, smarthost, wait_until};

/// A throwaway Postfix instance (`postfix -c DIR`), stopped on drop.
struct Postfix {
    config: PathBuf,
    log: PathBuf,
}

impl Postfix {
    /// Listens on `smtp` (calling the milter at `milter`) and on
    /// `reinject` (no milter: cordon's own mail), and relays everything to
    /// `relay`.
    fn start(dir: &Path, smtp: u16, reinject: u16, milter: u16, relay: u16) -> Postfix {
        let config = dir.join("etc");
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        let chown = Command::new("chown")
            .arg("postfix")
            .arg(dir.join("data"))
            .status()
            .expect("chown");
        assert!(chown.success());
        let log = dir.join("postfix.log");
        let d = dir.display();
        std::fs::write(
            config.join("main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = edge.northshire.test
mydomain = northshire.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery
alias_maps =
alias_database =
relayhost = [127.0.0.1]:{relay}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_milters = inet:127.0.0.1:{milter}
milter_default_action = tempfail
maillog_file = {d}/postfix.log
maillog_file_prefixes = {d}
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
readme_directory = no
"
            ),
        )
        .expect("main.cf");
        std::fs::write(
            config.join("master.cf"),
            format!(
                "127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{reinject} inet n - n - - smtpd
  -o smtpd_milters=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
{services}",
                services = include_str!("../scripts/postfix/services.cf"),
            ),
        )
        .expect("master.cf");
        let started = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(&config)
            .arg("start")
            .output()
            .expect("postfix must be installed (apt-get install postfix)");
        let postfix = Postfix { config, log };
        assert!(
            started.status.success(),
            "postfix start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            postfix.log()
        );
        assert!(
            wait_until(20, || std::net::TcpStream::connect(("127.0.0.1", smtp))
                .is_ok()),
            "postfix does not listen: {}",
            postfix.log()
        );
        postfix
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .output();
    }
}

/// Sends one message over SMTP and returns every reply, the greeting first.
fn submit(port: u16, from: &str, to: &[&str], message: &str) -> Vec<String> {
    let mut steps: Vec<Vec<u8>> = vec![
        b"EHLO exchange.northshire.test\r\n".to_vec(),
        format!("MAIL FROM:<{from}>\r\n").into_bytes(),
    ];
    for rcpt in to {
        steps.push(format!("RCPT TO:<{rcpt}>\r\n").into_bytes());
    }
    steps.push(b"DATA\r\n".to_vec());
    steps.push(format!("{message}\r\n.\r\n").into_bytes());
    steps.push(b"QUIT\r\n".to_vec());
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    let refs: Vec<&[u8]> = steps.iter().map(Vec::as_slice).collect();
    common::smtp_steps(stream, &refs)
}

/// The reply to the end of data of a transaction to `recipients`
/// recipients: after the greeting, EHLO, MAIL, each RCPT and DATA.
fn end_of_data(replies: &[String], recipients: usize) -> &str {
    replies.get(4 + recipients).map_or("", String::as_str)
}

fn received_by(received: &Received, rcpt: &str) -> Vec<String> {
    received
        .lock()
        .map(|list| {
            list.iter()
                .filter(|(to, _)| to.iter().any(|t| t == rcpt))
                .map(|(_, m)| m.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn postfix_delivers_only_what_cordon_lets_through() {
    let dir = tempfile::tempdir().expect("temp");
    let (smtp, reinject, milter, sink) = (free_port(), free_port(), free_port(), free_port());
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    smarthost(
        TcpListener::bind(("127.0.0.1", sink)).expect("sink"),
        Arc::clone(&received),
    );
    let mut gateway = Gateway::start(
        dir.path(),
        &format!(
            "[server]\nmax_message_size = 100000\n[milter]\nlisten = \"127.0.0.1:{milter}\"\n[relay]\nsmarthost = \"127.0.0.1:{reinject}\"\nstarttls = \"never\"\n"
        ),
    );
    let postfix = Postfix::start(&dir.path().join("postfix"), smtp, reinject, milter, sink);
    let sender = "sam.okafor@northshire.police.uk";

    // One recipient inside the force, one outside: the NI number holds the
    // outside one; Postfix delivers to the inside one only.
    let reply = submit(
        smtp,
        sender,
        &[
            "k.hughes@northshire.police.uk",
            "claims@insurer-example.co.uk",
        ],
        "From: sam.okafor@northshire.police.uk\r\nTo: k.hughes@northshire.police.uk, claims@insurer-example.co.uk\r\nSubject: claim form\r\n\r\nThe claimant's NI number is JM 41 29 87 B.",
    );
    assert!(
        end_of_data(&reply, 2).starts_with("250"),
        "{reply:?}\n{}",
        postfix.log()
    );
    assert!(
        wait_until(30, || !received_by(
            &received,
            "k.hughes@northshire.police.uk"
        )
        .is_empty()),
        "the colleague's copy: {}\n{}",
        postfix.log(),
        gateway.log_tail(20)
    );
    let copy = received_by(&received, "k.hughes@northshire.police.uk").remove(0);
    assert!(
        copy.contains("X-Cordon-Verdict: deliver;") && copy.contains("milter"),
        "{copy}"
    );
    assert!(copy.contains("JM 41 29 87 B"));
    // The verdict on the copy Postfix delivers is counted and audited under
    // Postfix's queue id.
    assert!(
        wait_until(10, || gateway
            .metric("cordon_recipient_decisions_total{action=\"deliver\"}")
            >= 1.0),
        "{}",
        gateway.log_tail(20)
    );
    let audited = std::fs::read_to_string(gateway.data.join("audit.jsonl")).expect("audit log");
    assert!(
        audited.lines().any(|l| l.contains("\"action\":\"verdict\"")
            && l.contains("\"subject\":\"milter:")
            && l.contains("k.hughes@northshire.police.uk")),
        "{audited}"
    );
    // The insurer's copy is in cordon's quarantine, and the sender is told
    // through Postfix's port without the milter.
    assert!(
        wait_until(30, || gateway.metric("cordon_quarantine_held") == 1.0),
        "{}",
        gateway.log_tail(20)
    );
    assert!(
        wait_until(30, || received_by(&received, sender)
            .iter()
            .any(|m| m.contains("Held for review: claim form"))),
        "the held notice: {}\n{}",
        postfix.log(),
        gateway.log_tail(20)
    );

    // Every recipient rejected: Postfix refuses the message with cordon's reason.
    let reply = submit(
        smtp,
        sender,
        &["analyst@example.org"],
        "From: sam.okafor@northshire.police.uk\r\nTo: analyst@example.org\r\nSubject: SECRET briefing\r\n\r\nSECRET\r\n\r\nThe briefing.",
    );
    assert!(
        end_of_data(&reply, 1).starts_with("550 5.7.1 The message is marked SECRET"),
        "{reply:?}\n{}",
        gateway.log_tail(20)
    );

    // Every recipient held: accepted (cordon has it) and not delivered.
    let reply = submit(
        smtp,
        sender,
        &["claims@insurer-example.co.uk"],
        "From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: second claim\r\n\r\nThe claimant's NI number is JM 41 29 87 B.",
    );
    assert!(end_of_data(&reply, 1).starts_with("250"), "{reply:?}");
    assert!(
        wait_until(30, || gateway.metric("cordon_quarantine_held") == 2.0),
        "{}",
        gateway.log_tail(20)
    );
    assert!(
        received_by(&received, "claims@insurer-example.co.uk").is_empty(),
        "nothing held reached the insurer"
    );

    // Larger than cordon can take whole: refused, never passed uninspected.
    let big = format!(
        "From: sam.okafor@northshire.police.uk\r\nTo: k.hughes@northshire.police.uk\r\nSubject: big\r\n\r\n{}",
        "All in order.\r\n".repeat(10_000)
    );
    let reply = submit(smtp, sender, &["k.hughes@northshire.police.uk"], &big);
    assert!(
        end_of_data(&reply, 1).starts_with("552 5.3.4"),
        "{:?}",
        end_of_data(&reply, 1)
    );

    // An officer releases the first held message: cordon sends it through
    // Postfix's port without the milter, so it is not held again.
    let data = gateway.data.display().to_string();
    let added = common::cordon(
        &[
            "users", "add", "j.smith", "--role", "officer", "--data", &data,
        ],
        "a long enough passphrase\n",
        &[],
    );
    assert!(added.status.success(), "{}", common::text(&added));
    let token = common::cordon(&["users", "token", "j.smith", "--data", &data], "", &[]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let log = gateway.log();
    let first = log
        .lines()
        .find(|l| l.contains("recipients taken over"))
        .and_then(|l| l.split("queue_id=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the first hand-over's queue id")
        .to_owned();
    let server = format!("http://{}", gateway.console);
    let released = common::cordon(
        &[
            "quarantine",
            "--server",
            &server,
            "release",
            &first,
            "--note",
            "Insurer confirmed.",
        ],
        "",
        &[("CORDON_TOKEN", &token)],
    );
    assert!(released.status.success(), "{}", common::text(&released));
    assert!(
        wait_until(30, || received_by(
            &received,
            "claims@insurer-example.co.uk"
        )
        .iter()
        .any(|m| m.contains("Subject: claim form"))),
        "the release reaches the insurer: {}\n{}",
        postfix.log(),
        gateway.log_tail(20)
    );
    let release = received_by(&received, "claims@insurer-example.co.uk").remove(0);
    assert!(
        release.contains("X-Cordon-Verdict") && !release.contains("; milter"),
        "sent by cordon itself, not let through by the milter: {release}"
    );
    assert!(
        wait_until(30, || gateway.metric("cordon_quarantine_held") == 1.0),
        "released, not held again: {}",
        gateway.log_tail(20)
    );

    // cordon down: Postfix keeps the message (milter_default_action = tempfail).
    gateway.stop();
    let reply = submit(
        smtp,
        sender,
        &["k.hughes@northshire.police.uk"],
        "From: sam.okafor@northshire.police.uk\r\nTo: k.hughes@northshire.police.uk\r\nSubject: while cordon is down\r\n\r\nHello.",
    );
    assert!(
        reply.iter().any(|r| r.starts_with("451 4.7.1"))
            && !reply.iter().any(|r| r.contains("queued as")),
        "{reply:?}\n{}",
        postfix.log()
    );
}
