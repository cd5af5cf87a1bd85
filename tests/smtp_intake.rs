//! End-to-end tests of the SMTP intake's hardening against a real `cordon serve`:
//! connection limits per client address, and refusals that leave nothing in the spool.

mod common;

use std::io::{BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Gateway, smtp_reply, smtp_steps, wait_until};

/// A connection to `smtp` from the loopback address `source`, as another host would
/// connect (every 127.x address reaches the gateway on 127.0.0.1).
fn connect_from(source: [u8; 4], smtp: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((source, 0)))
            .expect("bind the source address");
        socket.connect(smtp).await.expect("connect")
    });
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
}

/// Sends one message over `stream`; returns every reply, greeting first.
fn deliver(stream: TcpStream, data: &[u8]) -> Vec<String> {
    smtp_steps(
        stream,
        &[
            b"EHLO exch02.northshire.police.uk\r\n",
            b"MAIL FROM:<sam.okafor@northshire.police.uk>\r\n",
            b"RCPT TO:<duty.inspector@kent.police.uk>\r\n",
            b"DATA\r\n",
            data,
            b"QUIT\r\n",
        ],
    )
}

#[test]
fn a_thousand_idle_connections_from_one_address_do_not_lock_out_another_client() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(dir.path(), "");
    // The defaults: 200 connections, 50 per client address. 1,000 idle connections from
    // 127.0.0.1 would have held every slot for the 300 s idle timeout.
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(gateway.smtp).expect("idle connection"))
        .collect();
    let mut last = BufReader::new(idle.last().expect("idle").try_clone().expect("clone"));
    last.get_ref()
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    assert_eq!(
        smtp_reply(&mut last),
        "421 4.7.0 cordon.localdomain Too many connections from 127.0.0.1, try again later\r\n"
    );

    // Another of the force's mail servers still delivers.
    let replies = deliver(
        connect_from([127, 0, 0, 2], gateway.smtp),
        b"Subject: Shift handover\r\n\r\nHandover notes to follow.\r\n.\r\n",
    );
    assert!(replies[0].starts_with("220 "), "{replies:?}");
    assert!(replies[5].starts_with("250 2.0.0"), "{replies:?}");
    assert!(
        wait_until(30, || gateway.outbox().len() == 1),
        "{}",
        gateway.log()
    );

    // Of the idle connections, 50 were admitted (they got the 220 greeting); 49 if the
    // harness's start-up probe from 127.0.0.1 still held its slot.
    let admitted = idle
        .iter()
        .filter(|stream| {
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let mut first = [0u8; 4];
            let mut reader: &TcpStream = stream;
            reader.read_exact(&mut first).is_ok() && &first == b"220 "
        })
        .count();
    assert!((49..=50).contains(&admitted), "{admitted} admitted");
    drop(idle);
}

#[test]
fn refused_messages_leave_nothing_in_the_spool() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(dir.path(), "[server]\nmax_message_size = 100000\n");
    let line = "x".repeat(998);
    let too_big = format!(
        "Subject: big\r\n\r\n{}.\r\n",
        format!("{line}\r\n").repeat(200)
    );
    for (data, expected) in [
        (
            &b"Subject: nul\r\n\r\nbefore\0after\r\n.\r\n"[..],
            "550 5.6.0 Message contains NUL",
        ),
        (
            b"Subject: bare\r\n\r\nbare\nline feed\r\n.\r\n",
            "550 5.6.0 Message contains bare CR or LF",
        ),
        (too_big.as_bytes(), "552 5.3.4"),
    ] {
        let replies = deliver(connect_from([127, 0, 0, 1], gateway.smtp), data);
        assert!(replies[5].starts_with(expected), "{replies:?}");
    }
    let spooled = std::fs::read_dir(gateway.data.join("spool"))
        .expect("spool")
        .count();
    assert_eq!(spooled, 0, "{}", gateway.log());
}
