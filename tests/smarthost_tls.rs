//! Outbound TLS to the smarthost through a running `cordon serve`: a smarthost
//! offering STARTTLS with a self-signed certificate (what most internal
//! relays have) gets its mail with the default level, and with `verify` when
//! `ca_file` holds its certificate; AUTH with `never` stops the start.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{Gateway, send, wait_until};

/// What the smarthost received: (over TLS, message) per transaction.
type Received = Arc<Mutex<Vec<(bool, String)>>>;

/// A smarthost on `listener` that offers STARTTLS with a fresh self-signed
/// certificate for 127.0.0.1; returns that certificate as PEM.
fn tls_smarthost(listener: TcpListener, received: Received) -> String {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server config"),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(mut stream) = stream else { continue };
            let received = Arc::clone(&received);
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = stream.write_all(b"220 relay ESMTP\r\n");
                let Some(stream) = converse(stream, false, &received) else {
                    return;
                };
                let Ok(tls) = rustls::ServerConnection::new(config) else {
                    return;
                };
                converse(rustls::StreamOwned::new(tls, stream), true, &received);
            });
        }
    });
    certified.cert.pem()
}

/// One SMTP conversation; returns the stream when the client started TLS.
fn converse<S: Read + Write>(stream: S, encrypted: bool, received: &Received) -> Option<S> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            if encrypted {
                b"250-relay\r\n250 8BITMIME\r\n"
            } else {
                b"250-relay\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            }
        } else if upper == "STARTTLS" {
            let writer = reader.get_mut();
            writer.write_all(b"220 2.0.0 go ahead\r\n").ok()?;
            writer.flush().ok()?;
            return Some(reader.into_inner());
        } else if upper == "DATA" {
            reader.get_mut().write_all(b"354 go\r\n").ok()?;
            reader.get_mut().flush().ok()?;
            let mut body = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).ok()? == 0 || line == ".\r\n" {
                    break;
                }
                body.push_str(&line);
            }
            if let Ok(mut r) = received.lock() {
                r.push((encrypted, body));
            }
            b"250 2.0.0 queued\r\n"
        } else if upper == "QUIT" {
            let _ = reader.get_mut().write_all(b"221 bye\r\n");
            let _ = reader.get_mut().flush();
            return None;
        } else {
            b"250 2.0.0 ok\r\n"
        };
        reader.get_mut().write_all(answer).ok()?;
        reader.get_mut().flush().ok()?;
    }
}

/// Sends one message through `gateway` and waits for the smarthost to have it.
fn relayed(gateway: &Gateway, received: &Received) -> Vec<(bool, String)> {
    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: duty@kent.police.uk\r\nSubject: shift\r\n\r\nShift change at 6.\r\n";
    send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["duty@kent.police.uk".to_owned()],
        message,
    )
    .expect("accepted");
    assert!(
        wait_until(30, || received
            .lock()
            .map(|r| !r.is_empty())
            .unwrap_or(false)),
        "the smarthost got nothing:\n{}",
        gateway.log()
    );
    received.lock().expect("lock").clone()
}

#[test]
fn the_default_level_encrypts_to_a_smarthost_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().expect("temp");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Received::default();
    tls_smarthost(listener, Arc::clone(&received));
    // no starttls setting: the default, opportunistic
    let mut gateway = Gateway::start(
        dir.path(),
        &format!("[relay]\nsmarthost = \"127.0.0.1:{port}\"\ntimeout_secs = 5\n"),
    );
    let received = relayed(&gateway, &received);
    gateway.stop();
    assert_eq!(received.len(), 1);
    assert!(received[0].0, "delivered in clear text, not over TLS");
    assert!(received[0].1.contains("Shift change at 6."));
}

#[test]
fn verify_delivers_with_the_smarthost_certificate_as_ca_file() {
    let dir = tempfile::tempdir().expect("temp");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Received::default();
    let certificate = tls_smarthost(listener, Arc::clone(&received));
    let ca_file = dir.path().join("relay-ca.pem");
    std::fs::write(&ca_file, certificate).expect("write CA file");
    let mut gateway = Gateway::start(
        dir.path(),
        &format!(
            "[relay]\nsmarthost = \"127.0.0.1:{port}\"\nstarttls = \"verify\"\nca_file = {:?}\ntimeout_secs = 5\n",
            ca_file.display().to_string()
        ),
    );
    let received = relayed(&gateway, &received);
    gateway.stop();
    assert_eq!(received.len(), 1);
    assert!(received[0].0, "delivered in clear text, not over TLS");
}

#[test]
fn auth_with_starttls_never_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp");
    let password = dir.path().join("password");
    std::fs::write(&password, "secret\n").expect("write password");
    let config = dir.path().join("cordon.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{}\"\n[console]\nlisten = \"127.0.0.1:{}\"\n[paths]\nrules = {:?}\ndata = {:?}\n[relay]\nsmarthost = \"127.0.0.1:25\"\nstarttls = \"never\"\nusername = \"cordon\"\npassword_file = {:?}\n",
            common::free_port(),
            common::free_port(),
            common::rules().display().to_string(),
            dir.path().join("data").display().to_string(),
            password.display().to_string()
        ),
    )
    .expect("write cordon.toml");
    let log = dir.path().join("serve.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("run cordon serve");
    let mut status = None;
    let exited = wait_until(20, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        exited && status.is_some_and(|s| !s.success()),
        "cordon serve started with AUTH and starttls = never:\n{stderr}"
    );
    assert!(stderr.contains("never sent in clear text"), "{stderr}");
}
