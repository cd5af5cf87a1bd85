//! Fuzz the SMTP session state machine: any bytes from a client, in any chunking.
//! Run: `cargo +nightly fuzz run smtp_session -- -max_total_time=300`.
//!
//! Byte 0 picks the options (STARTTLS offered, client allowed to relay, sink result),
//! byte 1 the size of the chunks the rest is fed in. Checks: no panic, no message larger
//! than the limit, every reply line is `NNN` + space or hyphen, and ends with CRLF.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::OnceLock;

use cordon_smtp::{AcceptError, Event, ServerConfig, Session};
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
    'feed: for piece in input.chunks(chunk) {
        session.feed(piece);
        loop {
            match session.next_event() {
                Event::NeedInput => break,
                Event::Close => break 'feed,
                Event::Message { message, .. } => {
                    assert!(message.len() <= MAX_MESSAGE);
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
