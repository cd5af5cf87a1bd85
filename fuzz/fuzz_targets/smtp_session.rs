//! Fuzz the SMTP session state machine: any bytes from a client, in any chunking.
//!
//! Run from `fuzz/`, with the seed transcripts and the dictionary of command words:
//!
//! ```sh
//! cargo +nightly fuzz run -O smtp_session corpus/smtp_session seeds/smtp_session -- \
//!     -dict=smtp.dict -max_len=8192 -create_missing_dirs=1 -max_total_time=300
//! ```
//!
//! libFuzzer writes the inputs it finds to the first directory (`corpus/`, git-ignored) and
//! only reads the others, so `seeds/` stays as shipped. Without seeds it never forms a valid
//! command and only tests "500 Command unrecognized". The seeds are real client transcripts
//! (Postfix, smtplib, STARTTLS, pipelining, every limit) made by `seeds/make_smtp_seeds.py`,
//! which lists what each covers; `-max_len=8192` leaves room for a message over
//! [`MAX_MESSAGE`] with its commands.
//!
//! Input layout. Byte 0 picks the options: bit 0 (`0x01`) STARTTLS offered; bit 1 (`0x02`)
//! the client is 127.0.0.1 and may relay (else 192.0.2.1, refused); bit 5 (`0x20`) storage
//! cannot be opened at DATA (451); `(byte0 >> 2) % 3` what storing a message answers
//! (queued, temporary 451, permanent 554). Byte 1 sets the size of the pieces the rest is
//! fed in (`byte1 % 64 + 1`). The session: hostname `fuzz.test`, SIZE [`MAX_MESSAGE`],
//! 3 recipients, 20 errors.
//!
//! Checks: no panic, message events in order (begin, data, end or abort), no message larger
//! than the limit, the session never holding more than one chunk plus one read, every reply
//! line is `NNN` + space or hyphen, and ends with CRLF.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::OnceLock;

use cordon_smtp::{AcceptError, Event, MESSAGE_CHUNK, ServerConfig, Session};
use libfuzzer_sys::fuzz_target;

const MAX_MESSAGE: usize = 4096;

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        Arc::new(ServerConfig {
            hostname: "fuzz.test".into(),
            max_message_size: MAX_MESSAGE,
            max_recipients: 3,
            max_errors: 20,
            ..ServerConfig::default()
        })
    }))
}

fuzz_target!(|data: &[u8]| {
    let (options, chunk, input) = match data {
        [options, chunk, rest @ ..] => (*options, usize::from(*chunk % 64) + 1, rest),
        _ => return,
    };
    let client = if options & 2 != 0 {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
    };
    let mut session = Session::new(config(), client);
    session.offer_starttls(options & 1 != 0);
    let mut output = session.take_output();
    let mut stored = 0u32;
    // The size of the message being received, while one is.
    let mut open: Option<usize> = None;
    'feed: for piece in input.chunks(chunk) {
        session.feed(piece);
        loop {
            assert!(session.buffered() <= MESSAGE_CHUNK + 2 * 64);
            match session.next_event() {
                Event::NeedInput => break,
                Event::Close => break 'feed,
                Event::MessageBegin { .. } => {
                    assert!(open.is_none(), "message begun twice");
                    if options & 0x20 != 0 {
                        session.message_begun(Err(AcceptError::Temporary("full".into())));
                    } else {
                        open = Some(0);
                        session.message_begun(Ok(()));
                    }
                }
                Event::MessageData(data) => {
                    let size = open.as_mut().expect("data without a message");
                    *size += data.len();
                    assert!(*size <= MAX_MESSAGE);
                }
                Event::MessageAbort => {
                    open.take().expect("abort without a message");
                }
                Event::MessageEnd => {
                    open.take().expect("end without a message");
                    stored += 1;
                    let result = match (options >> 2) % 3 {
                        0 => Ok(format!("Q{stored}")),
                        1 => Err(AcceptError::Temporary("busy".into())),
                        _ => Err(AcceptError::Permanent("no".into())),
                    };
                    session.message_stored(result);
                }
                Event::StartTls => session.tls_started(),
            }
        }
        output.extend_from_slice(&session.take_output());
    }
    output.extend_from_slice(&session.take_output());
    let text = String::from_utf8(output).expect("replies are UTF-8");
    assert!(text.is_empty() || text.ends_with("\r\n"));
    for line in text.split_terminator("\r\n") {
        let bytes = line.as_bytes();
        assert!(bytes.len() >= 4, "short reply {line:?}");
        assert!(
            bytes[..3].iter().all(u8::is_ascii_digit),
            "bad code {line:?}"
        );
        assert!(
            bytes[3] == b' ' || bytes[3] == b'-',
            "bad separator {line:?}"
        );
        assert!(!line.contains('\r') && !line.contains('\n'));
    }
});
