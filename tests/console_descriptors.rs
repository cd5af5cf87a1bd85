//! The console under a flood of idle connections, with the open-file limit
//! a service manager usually sets (1,024, soft and hard): SMTP intake and
//! the console itself must both go on working.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Gateway, send, wait_until};

/// The usual systemd limit on open files.
const OPEN_FILES: u64 = 1024;

/// Idle connections opened to the console: nearly the whole limit.
const IDLE: usize = 1010;

/// The status line of `GET /login`, or why there is none.
fn login_page_status(console: std::net::SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&console, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| e.to_string())?;
    Ok(reply.lines().next().unwrap_or_default().to_owned())
}

#[test]
fn idle_console_connections_starve_neither_smtp_nor_the_console() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start_with_open_files(dir.path(), "", Some(OPEN_FILES));
    assert!(
        wait_until(20, || login_page_status(gateway.console)
            .is_ok_and(|status| status.contains("200"))),
        "the console answers: {}",
        gateway.log()
    );
    // This process needs more descriptors than the gateway has.
    let mut own = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reading and raising this test process's own limit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut own);
        own.rlim_cur = own.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &own);
    }
    assert!(
        own.rlim_cur > 2 * IDLE as u64,
        "this test needs {} open files",
        2 * IDLE
    );

    let idle: Vec<TcpStream> = (0..IDLE)
        .filter_map(|_| TcpStream::connect_timeout(&gateway.console, Duration::from_secs(2)).ok())
        .collect();
    assert!(
        idle.len() > IDLE / 2,
        "only {} connections opened",
        idle.len()
    );

    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: colleague@northshire.police.uk\r\nSubject: still open\r\n\r\nNothing sensitive.\r\n";
    let sent = send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["colleague@northshire.police.uk".to_owned()],
        message,
    );
    assert!(
        sent.is_ok(),
        "SMTP accepts a message while the console is flooded: {sent:?}\n{}",
        gateway.log_tail(20)
    );
    assert!(
        wait_until(60, || login_page_status(gateway.console)
            .is_ok_and(|status| status.contains("200"))),
        "the console answers again once idle connections time out: {}",
        gateway.log_tail(20)
    );
    assert!(
        !gateway.log().contains("Too many open files"),
        "{}",
        gateway.log()
    );
    drop(idle);
}
