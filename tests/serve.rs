//! End-to-end tests of `cordon serve`: a real gateway process on loopback, real
//! SMTP clients, the outbox and the quarantine checked afterwards.

mod common;

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    Gateway, Received, send, smarthost, smtp_reply, smtp_steps, traced_queue_id, wait_until,
};
use cordon_store::{Engine, QuarantineState, SledStore};

/// The held quarantine entries of a stopped gateway: message id -> held recipients.
fn quarantine(gateway: &Gateway) -> BTreeMap<String, Vec<String>> {
    let store =
        SledStore::open(gateway.data.join("store")).expect("open the store of the stopped gateway");
    store
        .list_quarantine(Some(QuarantineState::Held))
        .expect("list quarantine")
        .into_iter()
        .map(|q| {
            (
                q.message_id.to_string(),
                q.recipients
                    .iter()
                    .map(|r| r.to_ascii_lowercase())
                    .collect(),
            )
        })
        .collect()
}

/// A raw SMTP conversation: sends `input` after the greeting and returns every reply.
fn converse(smtp: SocketAddr, steps: &[&[u8]]) -> Vec<String> {
    let stream = TcpStream::connect(smtp).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    smtp_steps(stream, steps)
}

/// One transaction up to DATA, then `data`; returns every reply (the last
/// one, index 5, answers the data).
fn transaction(smtp: SocketAddr, data: &[u8]) -> Vec<String> {
    converse(
        smtp,
        &[
            b"EHLO c.test\r\n",
            b"MAIL FROM:<a@northshire.police.uk>\r\n",
            b"RCPT TO:<b@kent.police.uk>\r\n",
            b"DATA\r\n",
            data,
        ],
    )
}

/// Sent messages: queue id -> (case name, sender, expected action per recipient).
type SentCases = BTreeMap<String, (String, String, BTreeMap<String, String>)>;

/// What the gateway has done with the messages: the outbox, and either the
/// quarantine of the stopped gateway or, while it runs, its log.
enum Held<'a> {
    /// The held entries of the stopped gateway's quarantine.
    Quarantine(&'a BTreeMap<String, Vec<String>>),
    /// The running gateway's log: a message is held once it says so.
    Log(&'a str),
}

/// Every recipient whose outcome differs from what its case expects.
fn outcome_problems(
    sent: &SentCases,
    outbox: &[(String, Vec<String>, Vec<u8>)],
    held: &Held,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, (name, from, actions)) in sent {
        let delivered: Vec<String> = outbox
            .iter()
            .filter(|(_, _, m)| {
                traced_queue_id(m).as_deref() == Some(id.as_str())
                    && !String::from_utf8_lossy(m).contains("X-Cordon-Notice")
            })
            .flat_map(|(_, rcpt, _)| rcpt.iter().map(|r| r.to_ascii_lowercase()))
            .collect();
        let notices: Vec<&Vec<u8>> = outbox
            .iter()
            .filter(|(f, r, m)| {
                f.is_empty()
                    && r.iter().any(|x| x.eq_ignore_ascii_case(from))
                    && String::from_utf8_lossy(m).contains(&format!("X-Cordon-Reference: {id}"))
            })
            .map(|(_, _, m)| m)
            .collect();
        let quarantined = match held {
            Held::Quarantine(entries) => entries.get(id).cloned().unwrap_or_default(),
            Held::Log(log) => {
                let queue_id = format!("queue_id={id}");
                if log
                    .lines()
                    .any(|l| l.contains("held in quarantine") && l.contains(&queue_id))
                {
                    actions.keys().cloned().collect()
                } else {
                    Vec::new()
                }
            }
        };
        let running = matches!(held, Held::Log(_));
        for (rcpt, action) in actions {
            let ok = match action.as_str() {
                "deliver" => delivered.contains(rcpt) && (running || !quarantined.contains(rcpt)),
                "hold" => quarantined.contains(rcpt) && !delivered.contains(rcpt),
                "reject" => {
                    !delivered.contains(rcpt)
                        && (running || !quarantined.contains(rcpt))
                        && notices.iter().any(|n| {
                            String::from_utf8_lossy(n)
                                .contains(&format!("Final-Recipient: rfc822; {rcpt}"))
                        })
                }
                _ => false,
            };
            if !ok {
                problems.push(format!("{name}: {rcpt} expected {action} (delivered {delivered:?}, held {quarantined:?}, notices {})", notices.len()));
            }
        }
    }
    problems
}

#[test]
fn the_public_corpus_over_smtp_gets_each_recipient_its_outcome() {
    let dir = tempfile::tempdir().expect("temp");
    let (corpus, cases) = common::public_corpus(dir.path());
    let mut gateway = Gateway::start(dir.path(), "");
    let mut sent = SentCases::new();
    for case in &cases {
        let message =
            std::fs::read(corpus.join(case["file"].as_str().expect("file"))).expect("eml");
        let (from, rcpt) = common::envelope_of(case, &message);
        let id = send(gateway.smtp, &from, &rcpt, &message)
            .unwrap_or_else(|e| panic!("{}: not accepted: {e}", case["name"]));
        let actions: BTreeMap<String, String> = case["expect"]["actions"]
            .as_object()
            .expect("actions")
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()))
            .collect();
        sent.insert(
            id,
            (
                case["name"].as_str().unwrap_or("").to_owned(),
                from,
                actions,
            ),
        );
    }
    // Wait for every delivery, hold and notice the cases expect, not for a
    // count of outbox files: one message can leave several copies (one per
    // recipient domain), so a count can be reached while another is in flight.
    let mut problems = Vec::new();
    wait_until(90, || {
        problems = outcome_problems(&sent, &gateway.outbox(), &Held::Log(&gateway.log()));
        problems.is_empty()
    });
    assert!(
        problems.is_empty(),
        "still missing after 90 s:\n{}\n{}",
        problems.join("\n"),
        gateway.log()
    );
    gateway.stop();
    let problems = outcome_problems(
        &sent,
        &gateway.outbox(),
        &Held::Quarantine(&quarantine(&gateway)),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_rejected_recipient_gets_the_sender_a_delivery_status_notification() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: kh1975@hotmail.co.uk, k.hughes@northshire.police.uk\r\nSubject: [OFFICIAL-SENSITIVE] rota\r\n\r\nRota for next week.\r\n";
    let rcpt = vec![
        "kh1975@hotmail.co.uk".to_owned(),
        "k.hughes@northshire.police.uk".to_owned(),
    ];
    let id = send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &rcpt,
        message,
    )
    .expect("accepted");
    assert!(
        wait_until(30, || gateway.outbox().len() >= 2),
        "{}",
        gateway.log()
    );
    gateway.stop();
    let outbox = gateway.outbox();
    let (_, to, copy) = outbox
        .iter()
        .find(|(f, _, _)| !f.is_empty())
        .expect("the internal copy");
    assert_eq!(
        to,
        &["k.hughes@northshire.police.uk".to_owned()],
        "only the internal recipient gets the message"
    );
    assert_eq!(traced_queue_id(copy), Some(id.clone()));
    let (_, to, notice) = outbox
        .iter()
        .find(|(f, _, _)| f.is_empty())
        .expect("a notice from the null sender");
    assert_eq!(to, &["sam.okafor@northshire.police.uk".to_owned()]);
    let parsed = mail_parser::MessageParser::default()
        .parse(notice)
        .expect("notice parses");
    use mail_parser::MimeHeaders;
    let ct = parsed.content_type().expect("content type");
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    let text = String::from_utf8_lossy(notice);
    assert!(text.contains("Final-Recipient: rfc822; kh1975@hotmail.co.uk"));
    assert!(text.contains("Status: 5.7.1"));
    assert!(text.contains("official-sensitive-to-insecure"));
    assert!(
        !text.contains("Rota for next week"),
        "the notice must not carry the body"
    );
}

#[test]
fn smuggling_sequences_never_end_data_and_the_message_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    for smuggle in [&b"\n.\n"[..], b"\r.\r", b"\n.\r\n"] {
        let mut data = b"From: a@northshire.police.uk\r\nSubject: x\r\n\r\nhello".to_vec();
        data.extend_from_slice(smuggle);
        data.extend_from_slice(b"MAIL FROM:<evil@northshire.police.uk>\r\nRCPT TO:<victim@kent.police.uk>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n");
        let replies = transaction(gateway.smtp, &data);
        assert!(replies[4].starts_with("354"), "{replies:?}");
        assert!(
            replies[5].starts_with("550 5.6.0"),
            "smuggling {smuggle:?} must be refused: {replies:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    gateway.stop();
    assert!(
        gateway.outbox().is_empty(),
        "nothing may be delivered from a smuggling attempt"
    );
}

#[test]
fn relaying_from_outside_the_client_networks_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(
        dir.path(),
        "[server]\nrelay_networks = [\"127.0.0.1/32\"]\n",
    );
    // connect from 127.0.0.2, which is on this machine but not a client network
    let stream = {
        use std::os::fd::FromRawFd;
        // bind the client side to 127.0.0.2 with a plain socket
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(fd >= 0);
        let local = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 2]),
            },
            sin_zero: [0; 8],
        };
        let remote = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: gateway.smtp.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let size = std::mem::size_of::<libc::sockaddr_in>() as u32;
        // SAFETY: plain socket calls on a descriptor we own, with valid addresses.
        unsafe {
            assert_eq!(
                libc::bind(fd, (&raw const local).cast(), size),
                0,
                "bind 127.0.0.2"
            );
            assert_eq!(
                libc::connect(fd, (&raw const remote).cast(), size),
                0,
                "connect"
            );
            TcpStream::from_raw_fd(fd)
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    assert!(smtp_reply(&mut reader).starts_with("220"));
    writer.write_all(b"EHLO outsider.test\r\nMAIL FROM:<spammer@example.com>\r\nRCPT TO:<victim@gmail.com>\r\n").expect("write");
    let replies = [
        smtp_reply(&mut reader),
        smtp_reply(&mut reader),
        smtp_reply(&mut reader),
    ];
    assert!(
        replies[2].starts_with("550 5.7.1"),
        "an open relay attempt must be refused: {replies:?}"
    );
    assert!(replies[2].contains("127.0.0.2"), "{replies:?}");
}

#[test]
fn oversized_messages_and_overlong_lines_are_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(dir.path(), "[server]\nmax_message_size = 20000\n");
    let replies = converse(
        gateway.smtp,
        &[
            b"EHLO c.test\r\n",
            b"MAIL FROM:<a@northshire.police.uk> SIZE=50000\r\n",
        ],
    );
    assert!(replies[2].starts_with("552 5.3.4"), "{replies:?}");

    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..400 {
        big.extend_from_slice(&[b'x'; 98]);
        big.extend_from_slice(b"\r\n");
    }
    big.extend_from_slice(b".\r\n");
    let replies = transaction(gateway.smtp, &big);
    assert!(replies[5].starts_with("552 5.3.4"), "{replies:?}");

    let mut long_line = b"Subject: x\r\n\r\n".to_vec();
    long_line.extend_from_slice(&[b'y'; 1200]);
    long_line.extend_from_slice(b"\r\n.\r\n");
    let replies = transaction(gateway.smtp, &long_line);
    assert!(replies[5].starts_with("550 5.6.0"), "{replies:?}");

    let mut command = b"MAIL FROM:<".to_vec();
    command.extend_from_slice(&[b'a'; 600]);
    command.extend_from_slice(b"@northshire.police.uk>\r\n");
    let replies = converse(gateway.smtp, &[b"EHLO c.test\r\n", &command]);
    assert!(replies[2].starts_with("500 5.5.2"), "{replies:?}");
}

#[test]
fn a_dead_smarthost_is_retried_until_it_recovers() {
    let dir = tempfile::tempdir().expect("temp");
    let port = common::free_port();
    let config = format!(
        "[relay]\nsmarthost = \"127.0.0.1:{port}\"\nstarttls = \"never\"\ntimeout_secs = 5\n[queue]\nretry_initial_secs = 1\nretry_max_secs = 1\n"
    );
    let mut gateway = Gateway::start(dir.path(), &config);
    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: duty@kent.police.uk\r\nSubject: shift\r\n\r\nShift change at 6.\r\n";
    let id = send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["duty@kent.police.uk".to_owned()],
        message,
    )
    .expect("accepted while the smarthost is down");
    assert!(
        wait_until(20, || gateway
            .metric("cordon_deliveries_total{outcome=\"deferred\"}")
            >= 1.0),
        "the first attempt should be deferred:\n{}",
        gateway.log()
    );
    let received = Arc::new(Mutex::new(Vec::new()));
    smarthost(
        TcpListener::bind(("127.0.0.1", port)).expect("smarthost port"),
        Arc::clone(&received),
    );
    assert!(
        wait_until(30, || received
            .lock()
            .map(|r| !r.is_empty())
            .unwrap_or(false)),
        "the message was not delivered after the smarthost came back:\n{}",
        gateway.log()
    );
    gateway.stop();
    let received = received.lock().expect("lock");
    assert_eq!(received[0].0, ["duty@kent.police.uk".to_owned()]);
    assert!(
        received[0].1.contains(&format!("queue={id}")),
        "the copy carries the trace header"
    );
    assert!(received[0].1.contains("Shift change at 6."));
}

#[test]
fn kill_9_under_load_loses_no_accepted_message() {
    // The smarthost is down while the load runs, so at the kill every accepted
    // message is still unfinished (deferred, being inspected, or just spooled);
    // after the restart, with the smarthost up, each must be delivered or held.
    let dir = tempfile::tempdir().expect("temp");
    let port = common::free_port();
    let config = format!(
        "[relay]\nsmarthost = \"127.0.0.1:{port}\"\nstarttls = \"never\"\ntimeout_secs = 5\n[queue]\nretry_initial_secs = 1\nretry_max_secs = 1\n"
    );
    let mut gateway = Gateway::start(dir.path(), &config);
    let smtp = gateway.smtp;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for t in 0..4 {
        let accepted = Arc::clone(&accepted);
        senders.push(std::thread::spawn(move || {
            for i in 0..40 {
                // every fourth message carries an NI number to an external address: held
                let body = if i % 4 == 0 { "Claimant NI JM 41 29 87 B." } else { "Routine update." };
                let message = format!("From: sam.okafor@northshire.police.uk\r\nTo: x@example.com\r\nSubject: load {t}-{i}\r\n\r\n{body}\r\n");
                let rcpt = if i % 4 == 0 { "claims@insurer-example.co.uk" } else { "duty@kent.police.uk" };
                match send(smtp, "sam.okafor@northshire.police.uk", &[rcpt.to_owned()], message.as_bytes()) {
                    Ok(id) => accepted.lock().expect("lock").push((id, i % 4 == 0)),
                    Err(_) => break, // the gateway is gone
                }
            }
        }));
    }
    assert!(
        wait_until(60, || accepted
            .lock()
            .map(|a| a.len() >= 40)
            .unwrap_or(false)),
        "load did not start:\n{}",
        gateway.log()
    );
    gateway.kill();
    for s in senders {
        let _ = s.join();
    }
    let accepted = accepted.lock().expect("lock").clone();
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    smarthost(
        TcpListener::bind(("127.0.0.1", port)).expect("smarthost port"),
        Arc::clone(&received),
    );
    gateway.spawn();
    let delivered = |r: &Received| -> std::collections::BTreeSet<String> {
        r.lock()
            .map(|list| {
                list.iter()
                    .filter_map(|(_, m)| traced_queue_id(m.as_bytes()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let to_deliver: Vec<&String> = accepted
        .iter()
        .filter(|(_, held)| !held)
        .map(|(id, _)| id)
        .collect();
    assert!(
        wait_until(60, || {
            let done = delivered(&received);
            to_deliver.iter().all(|id| done.contains(*id))
        }),
        "not every accepted message was delivered after the restart:\n{}",
        gateway.log()
    );
    gateway.stop();
    assert!(
        gateway
            .log()
            .contains("resuming messages accepted before the last stop"),
        "the restart must resume work:\n{}",
        gateway.log()
    );
    let done = delivered(&received);
    let held = quarantine(&gateway);
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|(id, should_hold)| {
            if *should_hold {
                !held.contains_key(id)
            } else {
                !done.contains(id)
            }
        })
        .map(|(id, _)| id)
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} accepted messages were lost: {lost:?}",
        lost.len(),
        accepted.len()
    );
}

#[test]
fn a_python_smtplib_client_is_served_and_each_recipient_gets_its_own_outcome() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    let script = format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {port}, timeout=20)
s.ehlo("client.test")
assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("enhancedstatuscodes") and s.has_extn("smtputf8")
msg = b"From: sam.okafor@northshire.police.uk\r\nTo: duty@kent.police.uk\r\nCc: friend.of.sam@gmail.com\r\nSubject: [OFFICIAL-SENSITIVE] handover\r\n\r\nHandover notes.\r\n"
refused = s.sendmail("sam.okafor@northshire.police.uk", ["duty@kent.police.uk", "friend.of.sam@gmail.com"], msg)
assert refused == {{}}, refused
s.quit()
"#,
        port = gateway.smtp.port()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "smtplib: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_until(30, || gateway.outbox().len() >= 2),
        "{}",
        gateway.log()
    );
    gateway.stop();
    let outbox = gateway.outbox();
    let copy = outbox
        .iter()
        .find(|(f, _, _)| !f.is_empty())
        .expect("the copy for the secure recipient");
    assert_eq!(
        copy.1,
        ["duty@kent.police.uk".to_owned()],
        "the personal address must not get the marked message"
    );
    let notice = outbox
        .iter()
        .find(|(f, _, _)| f.is_empty())
        .expect("a notice to the sender");
    assert!(
        String::from_utf8_lossy(&notice.2)
            .contains("Final-Recipient: rfc822; friend.of.sam@gmail.com")
    );
}

#[test]
fn a_second_gateway_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(dir.path(), "");
    let config = dir.path().join("cordon.toml");
    let second = common::cordon(
        &["serve", "--config", &config.display().to_string()],
        "",
        &[],
    );
    assert!(!second.status.success());
    let said = common::text(&second);
    assert!(said.contains("is in use by another cordon serve"), "{said}");
    // The first one still works.
    send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["k.hughes@northshire.police.uk".to_owned()],
        b"Subject: still here\r\n\r\nHello.\r\n",
    )
    .expect("accepted");
}

#[test]
fn sighup_reloads_the_rules_and_notices_and_a_broken_file_keeps_the_running_ones() {
    let dir = tempfile::tempdir().expect("temp");
    let rules = dir.path().join("rules");
    common::copy_tree(&common::root().join("rules"), &rules);
    let gateway = Gateway::start_with_rules(dir.path(), &rules, "");
    let sender = "sam.okafor@northshire.police.uk";
    let solicitor = ["j.bell@bellandco-solicitors.co.uk".to_owned()];
    let wagtail = |n: u32| {
        format!("Subject: wagtail {n}\r\n\r\nThe briefing for Operation Wagtail is at ten.\r\n")
    };
    let delivered = |subject: &str| {
        gateway.outbox().iter().any(|(_, to, bytes)| {
            to == &solicitor && String::from_utf8_lossy(bytes).contains(subject)
        })
    };
    let reloads = |needle: &str| gateway.log().matches(needle).count();

    // Not a live operation yet: delivered.
    send(gateway.smtp, sender, &solicitor, wagtail(1).as_bytes()).expect("accepted");
    assert!(
        wait_until(20, || delivered("wagtail 1")),
        "{}",
        gateway.log_tail(20)
    );

    // A broken rules file: the error names the file and line, and the
    // running rules stay in force.
    let operations = rules.join("operations.toml");
    let shipped = std::fs::read_to_string(&operations).expect("operations");
    std::fs::write(&operations, shipped.replace("live = [", "live = [[")).expect("write");
    gateway.signal(libc::SIGHUP);
    assert!(
        wait_until(20, || reloads("the rules were not reloaded") == 1),
        "{}",
        gateway.log_tail(20)
    );
    let refused = gateway
        .log()
        .lines()
        .find(|l| l.contains("the rules were not reloaded"))
        .expect("logged")
        .to_owned();
    let at = refused.find("operations.toml:").expect("the file") + "operations.toml:".len();
    assert!(
        refused[at..].starts_with(|c: char| c.is_ascii_digit()),
        "and the line: {refused}"
    );
    send(gateway.smtp, sender, &solicitor, wagtail(2).as_bytes()).expect("accepted");
    assert!(
        wait_until(20, || delivered("wagtail 2")),
        "{}",
        gateway.log_tail(20)
    );

    // Mended, with Wagtail live and a new line in the held notice: both
    // apply to the next message.
    std::fs::write(
        &operations,
        shipped.replace("live = [", "live = [\n  \"Operation Wagtail\","),
    )
    .expect("write");
    let held = rules.join("notices/held.txt");
    let template = std::fs::read_to_string(&held).expect("held.txt");
    std::fs::write(
        &held,
        template.replacen("\n\n", "\n\nNorthshire's reload test line.\n\n", 1),
    )
    .expect("write");
    gateway.signal(libc::SIGHUP);
    assert!(
        wait_until(20, || reloads("rules and notice templates reloaded") == 1),
        "{}",
        gateway.log_tail(20)
    );
    send(gateway.smtp, sender, &solicitor, wagtail(3).as_bytes()).expect("accepted");
    assert!(
        wait_until(20, || gateway.outbox().iter().any(|(_, to, bytes)| {
            to == &[sender.to_owned()]
                && String::from_utf8_lossy(bytes).contains("Held for review: wagtail 3")
        })),
        "{}",
        gateway.log_tail(20)
    );
    let notice = gateway
        .outbox()
        .into_iter()
        .find(|(_, _, bytes)| String::from_utf8_lossy(bytes).contains("Held for review: wagtail 3"))
        .expect("held notice");
    assert!(
        String::from_utf8_lossy(&notice.2).contains("Northshire's reload test line."),
        "the new template"
    );
    assert!(!delivered("wagtail 3"), "held, not delivered");
}

#[test]
fn a_kill_while_messages_are_in_flight_loses_none_of_them() {
    // A smarthost that takes the connection and never answers: every
    // accepted message is in flight (in the spool's journal, not yet given
    // a file of its own) when the gateway is killed.
    let dir = tempfile::tempdir().expect("temp");
    let port = common::free_port();
    let silent = TcpListener::bind(("127.0.0.1", port)).expect("smarthost port");
    let config = format!(
        "[relay]\nsmarthost = \"127.0.0.1:{port}\"\nstarttls = \"never\"\ntimeout_secs = 120\n"
    );
    let mut gateway = Gateway::start(dir.path(), &config);
    let mut accepted = Vec::new();
    for i in 0..12 {
        let message = format!(
            "From: sam.okafor@northshire.police.uk\r\nTo: duty@kent.police.uk\r\nSubject: in flight {i}\r\n\r\nRoutine update {i}.\r\n"
        );
        let id = send(
            gateway.smtp,
            "sam.okafor@northshire.police.uk",
            &["duty@kent.police.uk".to_owned()],
            message.as_bytes(),
        )
        .expect("accepted");
        accepted.push(id);
    }
    gateway.kill();
    drop(silent);

    let received: Received = Arc::new(Mutex::new(Vec::new()));
    smarthost(
        TcpListener::bind(("127.0.0.1", port)).expect("smarthost port"),
        Arc::clone(&received),
    );
    gateway.spawn();
    let delivered = || -> std::collections::BTreeSet<String> {
        received
            .lock()
            .map(|list| {
                list.iter()
                    .filter_map(|(_, m)| traced_queue_id(m.as_bytes()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        wait_until(60, || accepted.iter().all(|id| delivered().contains(id))),
        "delivered {} of {} after the restart:\n{}",
        delivered().len(),
        accepted.len(),
        gateway.log_tail(30)
    );
    assert!(
        gateway
            .log()
            .contains("recovered messages in flight from the journal"),
        "they came back from the journal:\n{}",
        gateway.log_tail(30)
    );
    gateway.stop();
    let journal: Vec<String> = std::fs::read_dir(gateway.data.join("spool"))
        .expect("spool")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".damaged"))
        .collect();
    assert!(journal.is_empty(), "no damaged journal: {journal:?}");
}
