//! The STARTTLS levels against a scripted smarthost that offers STARTTLS with
//! a self-signed certificate made for the test (what most internal relays
//! have), breaks the handshake, or offers no STARTTLS at all; it advertises
//! AUTH throughout, to show when cordon does and does not send it.

use std::sync::{Arc, Mutex as StdMutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;

/// What the scripted smarthost does about STARTTLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// Offers it and completes the handshake with its self-signed certificate.
    Tls,
    /// Offers it, answers 220, then sends bytes that are not TLS and closes.
    BrokenTls,
    /// Does not offer it.
    NoTls,
}

/// What the scripted smarthost saw, over all its connections.
#[derive(Default)]
struct Seen {
    /// Every command line, in order.
    commands: Vec<String>,
    /// For each message received, whether it came over TLS.
    deliveries: Vec<bool>,
}

impl Seen {
    /// Asserts no AUTH command and no message reached the smarthost.
    fn assert_no_auth_and_nothing_delivered(&self) {
        assert_eq!(
            self.saw("AUTH"),
            0,
            "AUTH sent in clear: {:?}",
            self.commands
        );
        assert!(self.deliveries.is_empty());
    }

    fn saw(&self, verb: &str) -> usize {
        self.commands
            .iter()
            .filter(|c| c.to_ascii_uppercase().starts_with(verb))
            .count()
    }
}

/// A running scripted smarthost on 127.0.0.1.
struct TestSmarthost {
    port: u16,
    /// Its certificate, PEM (valid for the IP address 127.0.0.1).
    certificate_pem: String,
    seen: Arc<StdMutex<Seen>>,
}

impl TestSmarthost {
    async fn start(offer: Offer) -> TestSmarthost {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(server_config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(StdMutex::new(Seen::default()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let Some(mut socket) = converse(socket, offer, false, &record).await else {
                    continue;
                };
                match offer {
                    Offer::Tls => {
                        if let Ok(tls) = acceptor.accept(socket).await {
                            converse(tls, offer, true, &record).await;
                        }
                    }
                    Offer::BrokenTls | Offer::NoTls => {
                        let _ = socket.write_all(b"this is not TLS\r\n").await;
                    }
                }
            }
        });
        TestSmarthost {
            port,
            certificate_pem: certified.cert.pem(),
            seen,
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().expect("seen")
    }
}

/// One SMTP conversation; returns the stream when the client started TLS.
/// Each command is recorded before it is answered, so by the time the client
/// has its reply the record is complete.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    offer: Offer,
    encrypted: bool,
    seen: &StdMutex<Seen>,
) -> Option<S> {
    let mut stream = BufReader::new(stream);
    if !encrypted {
        stream.write_all(b"220 relay.test ESMTP\r\n").await.ok()?;
        stream.flush().await.ok()?;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let command = line.trim_end().to_owned();
        seen.lock().expect("seen").commands.push(command.clone());
        let upper = command.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            let starttls = if encrypted || offer == Offer::NoTls {
                ""
            } else {
                "250-STARTTLS\r\n"
            };
            format!("250-relay.test\r\n{starttls}250 AUTH PLAIN LOGIN\r\n")
        } else if upper == "STARTTLS" {
            stream.write_all(b"220 2.0.0 go ahead\r\n").await.ok()?;
            stream.flush().await.ok()?;
            return Some(stream.into_inner());
        } else if upper.starts_with("AUTH") {
            "235 2.7.0 accepted\r\n".into()
        } else if upper == "DATA" {
            stream.write_all(b"354 go\r\n").await.ok()?;
            stream.flush().await.ok()?;
            loop {
                line.clear();
                if stream.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                if line.trim_end() == "." {
                    break;
                }
            }
            seen.lock().expect("seen").deliveries.push(encrypted);
            "250 2.0.0 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = stream.write_all(b"221 bye\r\n").await;
            let _ = stream.flush().await;
            return None;
        } else {
            "250 2.0.0 ok\r\n".into()
        };
        stream.write_all(reply.as_bytes()).await.ok()?;
        stream.flush().await.ok()?;
    }
}

fn config(port: u16, starttls: StartTls) -> SmarthostConfig {
    SmarthostConfig {
        host: "127.0.0.1".into(),
        port,
        starttls,
        ca_file: None,
        credentials: None,
        hello_name: "cordon.test".into(),
        timeout: Duration::from_secs(10),
        max_idle: 0,
    }
}

/// [`config`] with AUTH credentials (user `cordon`, password `secret`).
fn config_with_auth(port: u16, starttls: StartTls) -> SmarthostConfig {
    SmarthostConfig {
        credentials: Some(("cordon".into(), "secret".into())),
        ..config(port, starttls)
    }
}

async fn deliver(config: SmarthostConfig) -> Outcome {
    let smarthost = Smarthost::new(config).expect("smarthost");
    let outcomes = smarthost
        .deliver(
            "s@northshire.police.uk",
            &["a@kent.police.uk".to_owned()],
            b"Subject: x\r\n\r\nhi\r\n",
        )
        .await;
    outcomes.into_iter().next().expect("one outcome")
}

#[tokio::test]
async fn opportunistic_encrypts_to_a_smarthost_with_a_self_signed_certificate() {
    let smarthost = TestSmarthost::start(Offer::Tls).await;
    let outcome = deliver(config(smarthost.port, StartTls::Opportunistic)).await;
    assert_eq!(outcome, Outcome::Delivered);
    assert_eq!(smarthost.seen().deliveries, [true], "delivered over TLS");
}

#[tokio::test]
async fn verify_defers_a_certificate_the_system_does_not_trust() {
    let smarthost = TestSmarthost::start(Offer::Tls).await;
    let outcome = deliver(config(smarthost.port, StartTls::Verify)).await;
    assert!(
        matches!(&outcome, Outcome::Temporary(m) if m.text.contains("STARTTLS") && m.text.contains("UnknownIssuer")),
        "{outcome:?}"
    );
    assert!(smarthost.seen().deliveries.is_empty());
}

#[tokio::test]
async fn verify_delivers_with_the_ca_file_holding_the_certificate() {
    let smarthost = TestSmarthost::start(Offer::Tls).await;
    let dir = tempfile::tempdir().expect("temp");
    let ca_file = dir.path().join("relay-ca.pem");
    std::fs::write(&ca_file, &smarthost.certificate_pem).expect("write CA file");
    let outcome = deliver(SmarthostConfig {
        ca_file: Some(ca_file),
        ..config(smarthost.port, StartTls::Verify)
    })
    .await;
    assert_eq!(outcome, Outcome::Delivered);
    assert_eq!(smarthost.seen().deliveries, [true]);
}

#[tokio::test]
async fn verify_defers_a_smarthost_without_starttls() {
    let smarthost = TestSmarthost::start(Offer::NoTls).await;
    let outcome = deliver(config(smarthost.port, StartTls::Verify)).await;
    assert!(
        matches!(&outcome, Outcome::Temporary(m) if m.text.contains("does not offer STARTTLS")),
        "{outcome:?}"
    );
    assert!(smarthost.seen().deliveries.is_empty());
}

#[tokio::test]
async fn credentials_are_never_sent_to_a_smarthost_without_starttls() {
    let smarthost = TestSmarthost::start(Offer::NoTls).await;
    let outcome = deliver(config_with_auth(smarthost.port, StartTls::Opportunistic)).await;
    assert!(
        matches!(&outcome, Outcome::Temporary(m) if m.text.contains("not sending AUTH in clear text")),
        "{outcome:?}"
    );
    smarthost.seen().assert_no_auth_and_nothing_delivered();
}

#[tokio::test]
async fn credentials_are_sent_after_starttls() {
    let smarthost = TestSmarthost::start(Offer::Tls).await;
    let outcome = deliver(config_with_auth(smarthost.port, StartTls::Opportunistic)).await;
    assert_eq!(outcome, Outcome::Delivered);
    let seen = smarthost.seen();
    let starttls = seen.commands.iter().position(|c| c == "STARTTLS");
    let auth = seen.commands.iter().position(|c| c.starts_with("AUTH"));
    assert!(
        matches!((starttls, auth), (Some(s), Some(a)) if s < a),
        "{:?}",
        seen.commands
    );
    assert_eq!(seen.deliveries, [true]);
}

#[tokio::test]
async fn opportunistic_delivers_in_clear_text_when_the_handshake_fails() {
    let smarthost = TestSmarthost::start(Offer::BrokenTls).await;
    let outcome = deliver(config(smarthost.port, StartTls::Opportunistic)).await;
    assert_eq!(outcome, Outcome::Delivered);
    let seen = smarthost.seen();
    assert_eq!(seen.saw("STARTTLS"), 1, "{:?}", seen.commands);
    assert_eq!(seen.deliveries, [false], "delivered in clear text");
}

#[tokio::test]
async fn a_failed_handshake_with_credentials_defers_without_auth() {
    let smarthost = TestSmarthost::start(Offer::BrokenTls).await;
    let outcome = deliver(config_with_auth(smarthost.port, StartTls::Opportunistic)).await;
    assert!(
        matches!(&outcome, Outcome::Temporary(m) if m.text.contains("STARTTLS failed") && m.text.contains("not sending AUTH in clear text")),
        "{outcome:?}"
    );
    smarthost.seen().assert_no_auth_and_nothing_delivered();
}

#[test]
fn credentials_with_never_are_refused_at_start() {
    let error = Smarthost::new(config_with_auth(25, StartTls::Never)).expect_err("refused");
    assert!(
        matches!(error, TlsSetupError::CredentialsWithoutTls),
        "{error}"
    );
}

#[test]
fn the_password_is_not_in_debug_output() {
    let smarthost =
        Smarthost::new(config_with_auth(25, StartTls::Opportunistic)).expect("smarthost");
    let shown = format!("{smarthost:?}");
    assert!(shown.contains("cordon"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}
