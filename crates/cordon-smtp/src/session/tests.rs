//! Unit tests of the session state machine: bytes in, exact reply codes out.

use std::net::IpAddr;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

const LOCAL: &str = "127.0.0.1";

fn config() -> ServerConfig {
    ServerConfig {
        hostname: "gw.test".into(),
        max_message_size: 2000,
        max_recipients: 3,
        ..ServerConfig::default()
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP")
}

/// A session under test plus what it produced.
struct Harness {
    session: Session,
    messages: Vec<(Envelope, Vec<u8>)>,
    /// The message being received: its envelope, the chunks so far.
    open: Option<(Envelope, Vec<Vec<u8>>)>,
    /// Messages discarded (refused at their end).
    aborted: usize,
    /// Largest amount of data the session held at any point.
    most_buffered: usize,
    /// What the sink answers when storage is opened.
    open_result: Result<(), AcceptError>,
    /// What the sink answers for the next message.
    sink_result: Result<String, AcceptError>,
    starttls_events: usize,
    closed: bool,
}

impl Harness {
    fn with(config: ServerConfig, client: &str) -> Self {
        let mut session = Session::new(Arc::new(config), ip(client));
        let greeting = String::from_utf8(session.take_output()).expect("utf8");
        assert_eq!(greeting, "220 gw.test ESMTP cordon\r\n");
        Self {
            session,
            messages: Vec::new(),
            open: None,
            aborted: 0,
            most_buffered: 0,
            open_result: Ok(()),
            sink_result: Ok("Q1".into()),
            starttls_events: 0,
            closed: false,
        }
    }

    fn new() -> Self {
        Self::with(config(), LOCAL)
    }

    /// A session that has already said EHLO.
    fn greeted() -> Self {
        let mut h = Self::new();
        h.send("EHLO client.test\r\n");
        h
    }

    /// Feeds bytes, runs the session until it needs input (storing messages with
    /// `sink_result`), and returns everything it wrote, as one batch.
    fn send(&mut self, input: impl AsRef<[u8]>) -> String {
        self.session.feed(input.as_ref());
        self.pump()
    }

    fn pump(&mut self) -> String {
        loop {
            self.most_buffered = self.most_buffered.max(self.session.buffered());
            match self.session.next_event() {
                Event::NeedInput => break,
                Event::MessageBegin { envelope } => {
                    assert!(self.open.is_none(), "a message is already open");
                    if self.open_result.is_ok() {
                        self.open = Some((envelope, Vec::new()));
                    }
                    self.session.message_begun(self.open_result.clone());
                }
                Event::MessageData(chunk) => {
                    let (_, chunks) = self.open.as_mut().expect("data for an open message");
                    assert!(!chunk.is_empty());
                    chunks.push(chunk);
                }
                Event::MessageEnd => {
                    let (envelope, chunks) = self.open.take().expect("end of an open message");
                    self.messages.push((envelope, chunks.concat()));
                    self.session.message_stored(self.sink_result.clone());
                }
                Event::MessageAbort => {
                    self.open.take().expect("abort of an open message");
                    self.aborted += 1;
                }
                Event::StartTls => {
                    self.starttls_events += 1;
                    break;
                }
                Event::Close => {
                    self.closed = true;
                    break;
                }
            }
        }
        String::from_utf8(self.session.take_output()).expect("replies are UTF-8")
    }

    /// Sends and returns the reply codes ("250 2.1.0", or "354" without an enhanced code).
    fn codes(&mut self, input: impl AsRef<[u8]>) -> Vec<String> {
        codes(&self.send(input))
    }
}

/// Reply codes of the final line of each reply.
fn codes(output: &str) -> Vec<String> {
    output
        .split_terminator("\r\n")
        .filter(|line| line.as_bytes().get(3) != Some(&b'-'))
        .map(|line| {
            let mut words = line.split(' ');
            let code = words.next().unwrap_or_default();
            match words.next() {
                Some(esc)
                    if esc.split('.').count() == 3
                        && esc.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
                {
                    format!("{code} {esc}")
                }
                _ => code.to_owned(),
            }
        })
        .collect()
}

fn strs(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

const ENVELOPE: &str =
    "MAIL FROM:<Sam.Okafor@Northshire.Police.UK>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n";

#[test]
fn ehlo_advertises_extensions() {
    let mut h = Harness::new();
    let out = h.send("EHLO client.test\r\n");
    assert_eq!(
        out,
        "250-gw.test\r\n250-PIPELINING\r\n250-SIZE 2000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"
    );
    let mut h = Harness::new();
    h.session.offer_starttls(true);
    let out = h.send("EHLO client.test\r\n");
    assert!(
        out.ends_with("250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"),
        "{out}"
    );
    assert_eq!(h.send("HELO client.test\r\n"), "250 gw.test\r\n");
}

#[test]
fn full_transaction() {
    let mut h = Harness::greeted();
    assert_eq!(
        h.codes("MAIL FROM:<Sam.Okafor@Northshire.Police.UK>\r\n"),
        strs(&["250 2.1.0"])
    );
    assert_eq!(h.codes("RCPT TO:<A@Example.com>\r\n"), strs(&["250 2.1.5"]));
    assert_eq!(h.codes("RCPT TO:<b@example.org>\r\n"), strs(&["250 2.1.5"]));
    assert_eq!(
        h.send("DATA\r\n"),
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert!(h.session.in_data());
    assert_eq!(h.send("Subject: hi\r\n\r\nhello\r\n"), "");
    assert_eq!(h.send(".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    assert_eq!(h.messages.len(), 1);
    let (envelope, message) = &h.messages[0];
    assert_eq!(
        envelope,
        &Envelope {
            mail_from: "Sam.Okafor@Northshire.Police.UK".into(),
            rcpt_to: vec!["A@Example.com".into(), "b@example.org".into()],
            client_ip: ip(LOCAL),
            helo: "client.test".into(),
            tls: false,
            smtputf8: false,
        }
    );
    assert_eq!(message, b"Subject: hi\r\n\r\nhello\r\n");
    // A second message on the same connection.
    assert_eq!(
        h.codes(format!("{ENVELOPE}second\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"])
    );
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.messages[1].1, b"second\r\n");
    assert_eq!(h.codes("QUIT\r\n"), strs(&["221 2.0.0"]));
    assert!(h.closed && h.session.is_closed());
}

#[test]
fn pipelined_batch_replies_written_together() {
    let mut h = Harness::greeted();
    let out = h.send("MAIL FROM:<s@x.uk>\r\nRCPT TO:<a@y.com>\r\nRCPT TO:<b@y.com>\r\nDATA\r\n");
    assert_eq!(
        codes(&out),
        strs(&["250 2.1.0", "250 2.1.5", "250 2.1.5", "354"])
    );
    assert_eq!(
        h.codes("x\r\n.\r\nQUIT\r\n"),
        strs(&["250 2.0.0", "221 2.0.0"])
    );
    assert_eq!(h.messages.len(), 1);
}

#[test]
fn whole_session_in_one_write() {
    let mut h = Harness::new();
    let out = h.send(format!("EHLO c\r\n{ENVELOPE}body\r\n.\r\nNOOP\r\nQUIT\r\n"));
    assert_eq!(
        codes(&out),
        strs(&[
            "250",
            "250 2.1.0",
            "250 2.1.5",
            "354",
            "250 2.0.0",
            "250 2.0.0",
            "221 2.0.0"
        ])
    );
    assert_eq!(h.messages.len(), 1);
    assert!(h.closed);
}

#[test]
fn smuggling_variants_yield_no_second_message() {
    for separator in [
        "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\n.\r", "\r.\r\n", "\r\n.\r",
    ] {
        let mut h = Harness::greeted();
        let payload = format!(
            "{ENVELOPE}Subject: x\r\n\r\nhello{separator}MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\nevil\r\n.\r\nNOOP\r\n"
        );
        let out = h.send(payload);
        assert_eq!(
            codes(&out),
            strs(&["250 2.1.0", "250 2.1.5", "354", "550 5.6.0", "250 2.0.0"]),
            "separator {separator:?}: {out}"
        );
        assert!(
            out.contains(
                "550 5.6.0 Message contains bare CR or LF (SMTP smuggling protection)\r\n"
            )
        );
        assert!(
            h.messages.is_empty(),
            "separator {separator:?} let a message through"
        );
    }
}

#[test]
fn smuggling_separator_alone_does_not_end_data() {
    for separator in ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\n.\r"] {
        let mut h = Harness::greeted();
        assert_eq!(
            h.codes(format!("{ENVELOPE}hello{separator}QUIT\r\n")),
            strs(&["250 2.1.0", "250 2.1.5", "354"])
        );
        assert!(h.session.in_data(), "{separator:?} ended DATA");
        assert!(h.messages.is_empty());
    }
}

#[test]
fn bare_lf_in_the_middle_of_a_line_rejects() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    assert_eq!(
        h.codes("Subject: x\r\n\r\nhello\nworld\r\n.\r\n"),
        strs(&["550 5.6.0"])
    );
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    assert_eq!(
        h.codes("Subject: x\r\n\r\nhello\rworld\r\n.\r\n"),
        strs(&["550 5.6.0"])
    );
    assert!(h.messages.is_empty());
    // The session goes on: the next transaction works.
    assert_eq!(
        h.codes(format!("{ENVELOPE}ok\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"])
    );
}

#[test]
fn nul_in_data_is_refused_permanently() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    let out = h.send("Subject: x\r\n\r\nhello\0world\r\n.\r\n");
    assert_eq!(
        out,
        "550 5.6.0 Message contains NUL octets, which no mail message may contain\r\n"
    );
    assert!(h.messages.is_empty());
    // The session goes on: the next transaction works.
    assert_eq!(
        h.codes(format!("{ENVELOPE}ok\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"])
    );
}

#[test]
fn dot_unstuffing() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    assert_eq!(
        h.codes("..leading dot\r\n...\r\n.x\r\nend.\r\n.\r\n"),
        strs(&["250 2.0.0"])
    );
    assert_eq!(h.messages[0].1, b".leading dot\r\n..\r\nx\r\nend.\r\n");
}

#[test]
fn data_fed_byte_by_byte() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    let body = b"a\r\n..b\r\n.\r\nNOOP\r\n";
    let mut out = String::new();
    for b in body {
        out.push_str(&h.send([*b]));
    }
    assert_eq!(codes(&out), strs(&["250 2.0.0", "250 2.0.0"]));
    assert_eq!(h.messages[0].1, b"a\r\n.b\r\n");
}

#[test]
fn declared_size_too_big() {
    let mut h = Harness::greeted();
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk> SIZE=2001\r\n"),
        strs(&["552 5.3.4"])
    );
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk> SIZE=2000 BODY=8BITMIME\r\n"),
        strs(&["250 2.1.0"])
    );
}

#[test]
fn actual_size_too_big_reads_to_end() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    let line = format!("{}\r\n", "x".repeat(98));
    let body = line.repeat(21); // 2100 octets > 2000
    assert_eq!(h.codes(&body), Vec::<String>::new());
    assert_eq!(h.codes(".\r\nNOOP\r\n"), strs(&["552 5.3.4", "250 2.0.0"]));
    assert!(h.messages.is_empty());
}

#[test]
fn long_text_line_rejected_after_end() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    let body = format!("{}\r\n.\r\n", "y".repeat(999));
    assert_eq!(h.codes(body), strs(&["550 5.6.0"]));
    assert!(h.messages.is_empty());
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    assert_eq!(
        h.codes(format!("{}\r\n.\r\n", "y".repeat(998))),
        strs(&["250 2.0.0"])
    );
}

#[test]
fn long_command_line() {
    let mut h = Harness::greeted();
    let long = format!("NOOP {}\r\n", "x".repeat(510));
    assert!(long.len() > MAX_COMMAND_LINE);
    assert_eq!(h.send(&long), "500 5.5.2 Line too long\r\n");
    let ok = format!("NOOP {}\r\n", "x".repeat(505));
    assert_eq!(ok.len(), MAX_COMMAND_LINE);
    assert_eq!(h.codes(&ok), strs(&["250 2.0.0"]));
    // Fed in pieces: the tail of the long line is never taken as a command.
    assert_eq!(h.send(format!("NOOP {}", "x".repeat(600))), "");
    assert_eq!(h.send(" QUIT"), "");
    assert_eq!(
        h.codes(" RSET\r\nNOOP\r\n"),
        strs(&["500 5.5.2", "250 2.0.0"])
    );
    assert!(!h.closed);
}

#[test]
fn too_many_recipients() {
    let mut h = Harness::greeted();
    h.send("MAIL FROM:<s@x.uk>\r\n");
    for i in 0..3 {
        assert_eq!(
            h.codes(format!("RCPT TO:<r{i}@y.com>\r\n")),
            strs(&["250 2.1.5"])
        );
    }
    assert_eq!(
        h.send("RCPT TO:<r4@y.com>\r\n"),
        "452 4.5.3 Too many recipients\r\n"
    );
    assert_eq!(h.codes("DATA\r\nx\r\n.\r\n"), strs(&["354", "250 2.0.0"]));
    assert_eq!(h.messages[0].0.rcpt_to.len(), 3);
}

#[test]
fn relay_denied_for_non_local_client() {
    let mut h = Harness::with(config(), "192.0.2.7");
    h.send("EHLO outside.test\r\n");
    assert_eq!(h.codes("MAIL FROM:<s@x.uk>\r\n"), strs(&["250 2.1.0"]));
    assert_eq!(
        h.send("RCPT TO:<a@example.com>\r\n"),
        "550 5.7.1 Relaying denied: 192.0.2.7 is not allowed to relay through this gateway\r\n"
    );
    assert_eq!(h.codes("DATA\r\n"), strs(&["554 5.5.1"]));
    assert!(h.messages.is_empty());
}

#[test]
fn relay_networks_are_honoured() {
    let mut cfg = config();
    cfg.relay_networks = vec!["10.20.0.0/16".parse().expect("net")];
    let mut h = Harness::with(cfg.clone(), "10.20.3.4");
    h.send("EHLO c\r\nMAIL FROM:<s@x.uk>\r\n");
    assert_eq!(h.codes("RCPT TO:<a@b.com>\r\n"), strs(&["250 2.1.5"]));
    let mut h = Harness::with(cfg, "127.0.0.1");
    h.send("EHLO c\r\nMAIL FROM:<s@x.uk>\r\n");
    assert_eq!(h.codes("RCPT TO:<a@b.com>\r\n"), strs(&["550 5.7.1"]));
    // An IPv4-mapped IPv6 client is judged (and reported) as IPv4.
    let mut h = Harness::with(config(), "::ffff:127.0.0.1");
    h.send(format!("EHLO c\r\n{ENVELOPE}x\r\n.\r\n"));
    assert_eq!(h.messages[0].0.client_ip, ip("127.0.0.1"));
}

#[test]
fn out_of_sequence_commands() {
    let mut h = Harness::new();
    assert_eq!(h.codes("MAIL FROM:<s@x.uk>\r\n"), strs(&["503 5.5.1"]));
    assert_eq!(h.codes("RCPT TO:<a@b.com>\r\n"), strs(&["503 5.5.1"]));
    assert_eq!(h.codes("DATA\r\n"), strs(&["503 5.5.1"]));
    h.send("EHLO c\r\n");
    assert_eq!(h.codes("RCPT TO:<a@b.com>\r\n"), strs(&["503 5.5.1"]));
    assert_eq!(h.codes("DATA\r\n"), strs(&["503 5.5.1"]));
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk>\r\nMAIL FROM:<s@x.uk>\r\n"),
        strs(&["250 2.1.0", "503 5.5.1"])
    );
    assert_eq!(h.codes("DATA\r\n"), strs(&["554 5.5.1"]));
    assert!(!h.session.in_data());
    assert_eq!(
        h.codes("RSET\r\nRCPT TO:<a@b.com>\r\n"),
        strs(&["250 2.0.0", "503 5.5.1"])
    );
}

#[test]
fn unknown_and_syntax_errors() {
    let mut h = Harness::with(
        ServerConfig {
            max_errors: 100,
            ..config()
        },
        LOCAL,
    );
    h.send("EHLO c\r\n");
    assert_eq!(h.codes("FROB\r\n"), strs(&["500 5.5.2"]));
    assert_eq!(h.codes("\r\n"), strs(&["500 5.5.2"]));
    assert_eq!(h.codes("EHLO\r\n"), strs(&["501 5.5.4"]));
    assert_eq!(h.codes("MAIL FROM:s@x.uk\r\n"), strs(&["501 5.5.4"]));
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk> BODY=FOO\r\n"),
        strs(&["501 5.5.4"])
    );
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk> FOO=bar\r\n"),
        strs(&["555 5.5.4"])
    );
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk> RET=FULL\r\n"),
        strs(&["555 5.5.4"])
    );
    assert_eq!(h.codes("MAIL FROM:<s..x@x.uk>\r\n"), strs(&["553 5.1.7"]));
    assert_eq!(h.codes("MAIL FROM:<nodomain>\r\n"), strs(&["553 5.1.7"]));
    assert_eq!(h.codes("EXPN list\r\n"), strs(&["502 5.5.1"]));
    assert_eq!(h.codes("NOOP\n"), strs(&["500 5.5.2"]));
    assert!(!h.closed);
    let mut h = Harness::greeted();
    h.send("MAIL FROM:<s@x.uk>\r\n");
    assert_eq!(h.codes("RCPT TO:<>\r\n"), strs(&["553 5.1.3"]));
    assert_eq!(h.codes("RCPT TO:<a@b@c>\r\n"), strs(&["553 5.1.3"]));
    assert_eq!(h.codes("RCPT TO:<a@-b.com>\r\n"), strs(&["553 5.1.3"]));
    assert_eq!(
        h.codes("RCPT TO:<a@b.com> NOTIFY=NEVER\r\n"),
        strs(&["555 5.5.4"])
    );
    assert_eq!(h.codes("NOOP\rRSET\r\n"), strs(&["500 5.5.2"]));
}

#[test]
fn bare_lf_command_is_not_executed() {
    let mut h = Harness::greeted();
    assert_eq!(h.codes("MAIL FROM:<s@x.uk>\n"), strs(&["500 5.5.2"]));
    assert_eq!(h.codes("RCPT TO:<a@b.com>\r\n"), strs(&["503 5.5.1"]));
}

#[test]
fn too_many_errors_close_the_session() {
    let mut h = Harness::greeted();
    let out = h.send("FROB\r\n".repeat(12));
    let expected: Vec<String> = std::iter::repeat_n("500 5.5.2".to_owned(), 10)
        .chain(["421 4.7.0".to_owned()])
        .collect();
    assert_eq!(codes(&out), expected);
    assert!(h.closed);
    assert_eq!(h.send("NOOP\r\n"), "");
}

#[test]
fn null_sender_and_addresses_kept_as_given() {
    let mut h = Harness::greeted();
    h.send("MAIL FROM:<>\r\nRCPT TO:<\"John Smith\"@Example.COM>\r\nRCPT TO:<@relay.test:Bob@Example.org>\r\nDATA\r\nx\r\n.\r\n");
    let (envelope, _) = &h.messages[0];
    assert_eq!(envelope.mail_from, "");
    assert_eq!(
        envelope.rcpt_to,
        vec!["\"John Smith\"@Example.COM", "Bob@Example.org"]
    );
}

#[test]
fn smtputf8() {
    let mut h = Harness::greeted();
    assert_eq!(
        h.codes("MAIL FROM:<jos\u{e9}@x.fr>\r\n"),
        strs(&["553 5.6.7"])
    );
    assert_eq!(
        h.codes("MAIL FROM:<jos\u{e9}@x.fr> SMTPUTF8\r\n"),
        strs(&["250 2.1.0"])
    );
    assert_eq!(
        h.codes("RCPT TO:<\u{fc}ser@b\u{fc}cher.de>\r\n"),
        strs(&["250 2.1.5"])
    );
    h.send("DATA\r\nx\r\n.\r\n");
    assert!(h.messages[0].0.smtputf8);
    assert_eq!(h.messages[0].0.rcpt_to, vec!["\u{fc}ser@b\u{fc}cher.de"]);
}

#[test]
fn misc_commands() {
    let mut h = Harness::new();
    assert_eq!(h.codes("NOOP\r\n"), strs(&["250 2.0.0"]));
    assert_eq!(h.codes("VRFY bob\r\n"), strs(&["252 2.0.0"]));
    assert_eq!(h.codes("HELP\r\n"), strs(&["214 2.0.0"]));
    assert_eq!(h.codes("RSET\r\n"), strs(&["250 2.0.0"]));
    assert_eq!(
        h.codes("HELO c\r\nMAIL FROM:<s@x.uk> SIZE=10\r\n"),
        strs(&["250", "555 5.5.4"])
    );
    assert_eq!(h.codes("QUIT\r\n"), strs(&["221 2.0.0"]));
    assert!(h.closed);
}

#[test]
fn ehlo_resets_transaction() {
    let mut h = Harness::greeted();
    h.send("MAIL FROM:<s@x.uk>\r\nRCPT TO:<a@b.com>\r\n");
    assert!(!h.session.is_idle());
    assert_eq!(
        h.codes("EHLO again\r\nDATA\r\n"),
        strs(&["250", "503 5.5.1"])
    );
    assert!(h.session.is_idle());
}

#[test]
fn sink_failures() {
    let mut h = Harness::greeted();
    h.sink_result = Err(AcceptError::Temporary("disk full\r\n250 fake".into()));
    let out = h.send(format!("{ENVELOPE}x\r\n.\r\n"));
    assert!(
        out.ends_with("451 4.3.0 Message not stored, try again later: disk full  250 fake\r\n"),
        "{out}"
    );
    h.sink_result = Err(AcceptError::Permanent("no".into()));
    assert_eq!(
        h.codes(format!("{ENVELOPE}x\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "554 5.6.0"])
    );
    assert!(h.session.is_idle());
}

#[test]
fn storage_that_cannot_be_opened_refuses_data() {
    let mut h = Harness::greeted();
    h.open_result = Err(AcceptError::Temporary("disk full".into()));
    assert_eq!(
        h.codes(ENVELOPE),
        strs(&["250 2.1.0", "250 2.1.5", "451 4.3.0"])
    );
    assert!(h.session.is_idle());
    h.open_result = Ok(());
    assert_eq!(
        h.codes(format!("{ENVELOPE}ok\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"])
    );
}

#[test]
fn message_data_is_handed_out_before_the_end_and_never_held_whole() {
    let config = ServerConfig {
        max_message_size: 10 << 20,
        ..config()
    };
    let mut h = Harness::with(config, LOCAL);
    h.send("EHLO client.test\r\n");
    h.send(ENVELOPE);
    let line = format!("{}\r\n", "x".repeat(900));
    let mut sent = 0;
    // 4 MiB in reads of 16 KiB, as a socket delivers it.
    let read = line.repeat(18);
    while sent < 4 << 20 {
        assert_eq!(h.send(&read), "");
        sent += read.len();
    }
    let (_, chunks) = h.open.as_ref().expect("message open");
    assert!(
        chunks.concat().len() > sent - 2 * MESSAGE_CHUNK,
        "the data is handed out as it arrives"
    );
    assert!(h.messages.is_empty(), "no end of data yet");
    assert!(
        h.most_buffered <= MESSAGE_CHUNK + read.len(),
        "the session held {} octets",
        h.most_buffered
    );
    assert_eq!(codes(&h.send(".\r\n")), strs(&["250 2.0.0"]));
    assert_eq!(h.messages[0].1.len(), sent);
}

#[test]
fn refused_messages_are_discarded() {
    let mut h = Harness::greeted();
    h.send(ENVELOPE);
    assert_eq!(h.codes("a\0b\r\n.\r\n"), strs(&["550 5.6.0"]));
    h.send(ENVELOPE);
    assert_eq!(h.codes("a\nb\r\n.\r\n"), strs(&["550 5.6.0"]));
    assert_eq!(h.aborted, 2);
    assert!(h.messages.is_empty());
}

#[test]
fn reply_to_data_waits_for_the_sink() {
    let mut h = Harness::greeted();
    h.session
        .feed(format!("{ENVELOPE}x\r\n.\r\nNOOP\r\n").as_bytes());
    let event = h.session.next_event();
    assert!(
        matches!(event, Event::MessageBegin { .. }),
        "unexpected {event:?}"
    );
    // 354 only once storage is open.
    let out = String::from_utf8(h.session.take_output()).expect("utf8");
    assert_eq!(codes(&out), strs(&["250 2.1.0", "250 2.1.5"]));
    h.session.message_begun(Ok(()));
    assert!(matches!(h.session.next_event(), Event::MessageData(d) if d == b"x\r\n"));
    assert!(matches!(h.session.next_event(), Event::MessageEnd));
    let out = String::from_utf8(h.session.take_output()).expect("utf8");
    assert_eq!(codes(&out), strs(&["354"]));
    // Pipelined commands after the data wait for the sink too.
    assert!(matches!(h.session.next_event(), Event::NeedInput));
    assert_eq!(h.session.output(), b"");
    h.session.message_stored(Ok("ID7".into()));
    assert_eq!(codes(&h.pump()), strs(&["250 2.0.0", "250 2.0.0"]));
}

#[test]
fn timeout_and_shutdown_replies() {
    let mut h = Harness::greeted();
    assert!(h.session.is_idle());
    h.session.timeout();
    assert_eq!(h.pump(), "421 4.4.2 gw.test Error: timeout exceeded\r\n");
    assert!(h.closed);
    let mut h = Harness::greeted();
    h.send("MAIL FROM:<s@x.uk>\r\n");
    assert!(!h.session.is_idle());
    h.send("RCPT TO:<a@b.com>\r\nDATA\r\n");
    assert!(!h.session.is_idle());
    h.send("x\r\n.\r\n");
    assert!(h.session.is_idle());
    h.session.shutdown();
    assert_eq!(
        h.pump(),
        "421 4.3.2 gw.test Service shutting down, closing connection\r\n"
    );
}

#[test]
fn starttls_discards_pipelined_injection() {
    let mut h = Harness::new();
    h.session.offer_starttls(true);
    h.send("EHLO c\r\n");
    let out = h.send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\n");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(h.starttls_events, 1);
    // Until the handshake is done nothing is read as a command.
    h.session.feed(b"DATA\r\n");
    assert!(matches!(h.session.next_event(), Event::StartTls));
    h.session.tls_started();
    // The injected MAIL was never executed, and EHLO is required again.
    assert_eq!(h.codes("RCPT TO:<victim@y.test>\r\n"), strs(&["503 5.5.1"]));
    assert_eq!(h.codes("MAIL FROM:<s@x.uk>\r\n"), strs(&["503 5.5.1"]));
    let out = h.send("EHLO c\r\n");
    assert!(!out.contains("STARTTLS"), "{out}");
    assert_eq!(
        h.codes(format!("{ENVELOPE}x\r\n.\r\n")),
        strs(&["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"])
    );
    assert!(h.messages[0].0.tls);
    assert_eq!(h.codes("STARTTLS\r\n"), strs(&["503 5.5.1"]));
}

#[test]
fn starttls_refusals() {
    let mut h = Harness::greeted();
    assert_eq!(h.codes("STARTTLS\r\n"), strs(&["502 5.5.1"]));
    let mut h = Harness::greeted();
    h.session.offer_starttls(true);
    assert_eq!(
        h.codes("MAIL FROM:<s@x.uk>\r\nSTARTTLS\r\n"),
        strs(&["250 2.1.0", "503 5.5.1"])
    );
    assert_eq!(h.starttls_events, 0);
}

/// Octets as a client might send them, biased to the characters that matter to framing.
fn framing_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(b'\r'),
            4 => Just(b'\n'),
            4 => Just(b'.'),
            4 => Just(b'a'),
            1 => any::<u8>(),
        ],
        0..max,
    )
}

/// What RFC 5321 says a DATA stream means: the message ends at the first `<CRLF>.<CRLF>`
/// (counting the CRLF of the DATA command); it is refused if a CR or LF outside a CRLF pair
/// or a NUL occurs before that; otherwise it is the lines before the end, unstuffed.
fn reference(body: &[u8]) -> Option<Result<Vec<u8>, ()>> {
    let mut stream = b"\r\n".to_vec();
    stream.extend_from_slice(body);
    let end = stream.windows(5).position(|w| w == b"\r\n.\r\n")?;
    let transmitted = stream.get(2..end + 2).unwrap_or_default();
    let bare = transmitted.iter().enumerate().any(|(i, &b)| match b {
        b'\r' => stream.get(i + 3) != Some(&b'\n'),
        b'\n' => stream.get(i + 1) != Some(&b'\r'),
        _ => false,
    });
    if bare || transmitted.contains(&0) {
        return Some(Err(()));
    }
    let mut message = Vec::new();
    for line in transmitted.split_inclusive(|&b| b == b'\n') {
        message.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    Some(Ok(message))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary input, in arbitrary chunks, never panics, never yields more messages than
    /// DATA commands, and every reply line is well formed.
    #[test]
    fn arbitrary_input_never_panics(
        chunks in prop::collection::vec(prop_oneof![framing_bytes(64), any::<Vec<u8>>(),
            Just(b"EHLO x\r\n".to_vec()), Just(ENVELOPE.as_bytes().to_vec()),
            Just(b"STARTTLS\r\n".to_vec()), Just(b".\r\n".to_vec())], 0..24),
        starttls in any::<bool>(),
        relay in any::<bool>(),
    ) {
        let config = ServerConfig { max_message_size: 64, max_recipients: 2, max_errors: 5, ..config() };
        let mut session = Session::new(Arc::new(config), ip(if relay { LOCAL } else { "192.0.2.1" }));
        session.offer_starttls(starttls);
        let mut output = session.take_output();
        let mut messages = 0;
        let mut size = 0;
        let datas = chunks.concat().windows(4).filter(|w| w.eq_ignore_ascii_case(b"DATA")).count();
        for (n, chunk) in chunks.iter().enumerate() {
            session.feed(chunk);
            for _ in 0..10_000 {
                match session.next_event() {
                    Event::NeedInput | Event::Close => break,
                    Event::MessageBegin { .. } => {
                        size = 0;
                        session.message_begun(if n % 5 == 4 { Err(AcceptError::Temporary("t".into())) } else { Ok(()) });
                    }
                    Event::MessageData(chunk) => {
                        size += chunk.len();
                        prop_assert!(size <= 64);
                    }
                    Event::MessageAbort => {}
                    Event::MessageEnd => {
                        messages += 1;
                        session.message_stored(if n % 3 == 0 { Ok("id".into()) } else { Err(AcceptError::Temporary("t".into())) });
                    }
                    Event::StartTls => {
                        session.tls_started();
                    }
                }
            }
            output.extend_from_slice(&session.take_output());
        }
        prop_assert!(messages <= datas);
        let text = String::from_utf8(output).expect("replies are UTF-8");
        prop_assert!(text.is_empty() || text.ends_with("\r\n"));
        for line in text.split_terminator("\r\n") {
            let head = line.as_bytes();
            prop_assert!(head.len() >= 4 && head[..3].iter().all(u8::is_ascii_digit) && (head[3] == b' ' || head[3] == b'-'), "bad reply line {line:?}");
            prop_assert!(!line.contains('\r') && !line.contains('\n'));
        }
    }

    /// The DATA reader agrees with the RFC reading above on where the data ends, whether
    /// the message is refused, and its content; the bytes after the end are the next command.
    #[test]
    fn data_framing_matches_reference(body in framing_bytes(200), chunk in 1usize..17) {
        let mut h = Harness::greeted();
        h.send(ENVELOPE);
        let mut input = body.clone();
        input.extend_from_slice(b"NOOP\r\n");
        let mut out = String::new();
        for piece in input.chunks(chunk) {
            out.push_str(&h.send(piece));
        }
        match reference(&input) {
            None => {
                prop_assert!(h.session.in_data());
                prop_assert_eq!(out, "");
                prop_assert!(h.messages.is_empty());
            }
            Some(Err(())) => {
                prop_assert!(h.messages.is_empty());
                prop_assert!(out.starts_with("550 5.6.0 Message contains "), "{out:?}");
            }
            Some(Ok(message)) => {
                prop_assert_eq!(h.messages.len(), 1);
                prop_assert_eq!(&h.messages[0].1, &message);
                prop_assert!(out.starts_with("250 2.0.0 Ok: queued as Q1\r\n"), "{out:?}");
            }
        }
    }

    /// Any line content, dot-stuffed by a correct client, arrives exactly.
    #[test]
    fn stuffed_lines_round_trip(lines in prop::collection::vec(prop::collection::vec(
        prop_oneof![Just(b'.'), Just(b'x'), 0x20u8..0x7f, 0x80u8..=0xff], 0..40), 0..20)) {
        let mut h = Harness::greeted();
        h.send(ENVELOPE);
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for line in &lines {
            if line.first() == Some(&b'.') {
                wire.push(b'.');
            }
            wire.extend_from_slice(line);
            wire.extend_from_slice(b"\r\n");
            expected.extend_from_slice(line);
            expected.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b".\r\n");
        let out = h.send(&wire);
        prop_assert_eq!(codes(&out), strs(&["250 2.0.0"]));
        prop_assert_eq!(&h.messages[0].1, &expected);
    }
}
