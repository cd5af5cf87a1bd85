//! Integration tests: `serve` on 127.0.0.1:0 with an in-memory sink, driven over real TCP.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordon_smtp::{AcceptError, Envelope, MessageSink, MessageWriter, ServerConfig, serve};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Upper bound on any single wait in these tests, so a bug fails instead of hanging.
const WAIT: Duration = Duration::from_secs(15);

/// Messages stored, with their envelopes.
type Stored = Arc<Mutex<Vec<(Envelope, Vec<u8>)>>>;

/// Keeps accepted messages in memory.
#[derive(Default)]
struct MemorySink {
    messages: Stored,
}

impl MemorySink {
    fn messages(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.messages.lock().expect("sink lock").clone()
    }
}

impl MessageSink for MemorySink {
    type Writer = MemoryWriter;

    fn open(
        &self,
        envelope: Envelope,
    ) -> impl Future<Output = Result<MemoryWriter, AcceptError>> + Send {
        std::future::ready(Ok(MemoryWriter {
            envelope,
            message: Vec::new(),
            messages: Arc::clone(&self.messages),
        }))
    }
}

/// One message being received into a [`MemorySink`].
struct MemoryWriter {
    envelope: Envelope,
    message: Vec<u8>,
    messages: Stored,
}

impl MessageWriter for MemoryWriter {
    fn write(&mut self, chunk: Vec<u8>) -> impl Future<Output = Result<(), AcceptError>> + Send {
        self.message.extend_from_slice(&chunk);
        std::future::ready(Ok(()))
    }

    fn commit(self) -> impl Future<Output = Result<String, AcceptError>> + Send {
        let mut messages = self.messages.lock().expect("sink lock");
        messages.push((self.envelope, self.message));
        std::future::ready(Ok(format!("Q{}", messages.len())))
    }
}

struct TestServer {
    addr: SocketAddr,
    sink: Arc<MemorySink>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<io::Result<()>>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let sink = Arc::new(MemorySink::default());
        let (shutdown, rx) = watch::channel(false);
        let handle = tokio::spawn(serve(listener, Arc::new(config), Arc::clone(&sink), rx));
        Self {
            addr,
            sink,
            shutdown,
            handle,
        }
    }

    async fn connect(&self) -> Client<TcpStream> {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        Client::new(stream)
    }

    async fn stop(self) {
        self.shutdown.send(true).expect("server still running");
        timeout(WAIT, self.handle)
            .await
            .expect("serve returned")
            .expect("serve task")
            .expect("serve ok");
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        hostname: "gw.test".into(),
        ..ServerConfig::default()
    }
}

/// A line-oriented SMTP client.
struct Client<T> {
    stream: BufReader<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Client<T> {
    fn new(stream: T) -> Self {
        Self {
            stream: BufReader::new(stream),
        }
    }

    async fn send(&mut self, text: impl AsRef<[u8]>) {
        let stream = self.stream.get_mut();
        stream.write_all(text.as_ref()).await.expect("write");
        stream.flush().await.expect("flush");
    }

    /// Reads one complete (possibly multi-line) reply.
    async fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let n = timeout(WAIT, self.stream.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read");
            assert!(n > 0, "connection closed; got so far {reply:?}");
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            reply.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return reply;
            }
        }
    }

    /// Sends `text` and returns the reply code with its enhanced code (e.g. "250 2.1.0").
    async fn command(&mut self, text: &str) -> String {
        self.send(text).await;
        code(&self.reply().await)
    }

    /// Waits for the server to close the connection, ignoring anything else it sends.
    async fn closed(&mut self) {
        let mut rest = Vec::new();
        timeout(WAIT, self.stream.read_to_end(&mut rest))
            .await
            .expect("server closed the connection")
            .ok();
    }
}

/// "250 2.1.0" from "250 2.1.0 Ok\r\n"; multi-line replies give the last line's code.
fn code(reply: &str) -> String {
    let last = reply.trim_end().rsplit("\r\n").next().unwrap_or_default();
    last.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

async fn greet<T: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<T>) {
    let banner = client.reply().await;
    assert!(banner.starts_with("220 gw.test"), "{banner}");
    let ehlo = client.command("EHLO client.test\r\n").await;
    assert!(ehlo.starts_with("250"), "{ehlo}");
}

async fn transaction<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut Client<T>,
    body: &str,
) -> String {
    assert_eq!(
        client
            .command("MAIL FROM:<Sam.Okafor@Northshire.Police.UK>\r\n")
            .await,
        "250 2.1.0"
    );
    assert_eq!(
        client.command("RCPT TO:<a@example.com>\r\n").await,
        "250 2.1.5"
    );
    assert!(client.command("DATA\r\n").await.starts_with("354"));
    client.send(format!("{body}.\r\n")).await;
    client.reply().await
}

#[tokio::test]
async fn full_transaction() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    let reply = transaction(&mut client, "Subject: hello\r\n\r\n..dot\r\nbody\r\n").await;
    assert_eq!(reply, "250 2.0.0 Ok: queued as Q1\r\n");
    assert_eq!(client.command("QUIT\r\n").await, "221 2.0.0");
    client.closed().await;
    let messages = server.sink.messages();
    assert_eq!(messages.len(), 1);
    let (envelope, message) = &messages[0];
    assert_eq!(envelope.mail_from, "Sam.Okafor@Northshire.Police.UK");
    assert_eq!(envelope.rcpt_to, vec!["a@example.com"]);
    assert_eq!(envelope.client_ip.to_string(), "127.0.0.1");
    assert_eq!(envelope.helo, "client.test");
    assert!(!envelope.tls);
    assert_eq!(message, b"Subject: hello\r\n\r\n.dot\r\nbody\r\n");
    server.stop().await;
}

#[tokio::test]
async fn two_messages_in_one_connection() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    assert_eq!(
        code(&transaction(&mut client, "one\r\n").await),
        "250 2.0.0"
    );
    assert_eq!(
        code(&transaction(&mut client, "two\r\n").await),
        "250 2.0.0"
    );
    assert_eq!(client.command("QUIT\r\n").await, "221 2.0.0");
    let messages = server.sink.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].1, b"one\r\n");
    assert_eq!(messages[1].1, b"two\r\n");
    server.stop().await;
}

#[tokio::test]
async fn pipelining() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    client
        .send("MAIL FROM:<s@x.uk>\r\nRCPT TO:<a@y.com>\r\nRCPT TO:<b@y.com>\r\nDATA\r\n")
        .await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(code(&client.reply().await));
    }
    assert_eq!(codes, ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354 End"]);
    client.send("body\r\n.\r\nQUIT\r\n").await;
    assert_eq!(code(&client.reply().await), "250 2.0.0");
    assert_eq!(code(&client.reply().await), "221 2.0.0");
    client.closed().await;
    assert_eq!(
        server.sink.messages()[0].0.rcpt_to,
        vec!["a@y.com", "b@y.com"]
    );
    server.stop().await;
}

#[tokio::test]
async fn smuggling_payload_yields_no_message() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    let reply = transaction(
        &mut client,
        "Subject: test\r\n\r\nhello\n.\nMAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nFrom: ceo@example.com\r\n\r\nsmuggled\r\n",
    )
    .await;
    assert_eq!(
        reply,
        "550 5.6.0 Message contains bare CR or LF (SMTP smuggling protection)\r\n"
    );
    assert_eq!(client.command("NOOP\r\n").await, "250 2.0.0");
    assert_eq!(client.command("QUIT\r\n").await, "221 2.0.0");
    client.closed().await;
    assert!(server.sink.messages().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn relay_denied_outside_relay_networks() {
    let server = TestServer::start(ServerConfig {
        relay_networks: vec!["10.0.0.0/8".parse().expect("net")],
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    assert_eq!(client.command("MAIL FROM:<s@x.uk>\r\n").await, "250 2.1.0");
    client.send("RCPT TO:<a@example.com>\r\n").await;
    assert_eq!(
        client.reply().await,
        "550 5.7.1 Relaying denied: 127.0.0.1 is not allowed to relay through this gateway\r\n"
    );
    assert_eq!(client.command("DATA\r\n").await, "554 5.5.1");
    // A transaction is still open (MAIL was accepted): end it, or shutdown would wait for it.
    assert_eq!(client.command("QUIT\r\n").await, "221 2.0.0");
    assert!(server.sink.messages().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn idle_timeout_closes() {
    let server = TestServer::start(ServerConfig {
        command_timeout: Duration::from_secs(1),
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    let reply = client.reply().await;
    assert!(reply.starts_with("421 4.4.2 "), "{reply}");
    client.closed().await;
    server.stop().await;
}

#[tokio::test]
async fn connection_limit() {
    let server = TestServer::start(ServerConfig {
        max_connections: 1,
        ..config()
    })
    .await;
    let mut first = server.connect().await;
    greet(&mut first).await;
    let mut second = server.connect().await;
    let reply = second.reply().await;
    assert!(reply.starts_with("421 4.7.0 "), "{reply}");
    second.closed().await;
    assert_eq!(first.command("QUIT\r\n").await, "221 2.0.0");
    first.closed().await;
    // The slot is free again once the first session has ended.
    let mut admitted = false;
    for _ in 0..100 {
        let mut third = server.connect().await;
        if third.reply().await.starts_with("220") {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted);
    server.stop().await;
}

/// A client connecting from another loopback address, as another host would.
async fn connect_from(server: &TestServer, source: [u8; 4]) -> Client<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind the source address");
    Client::new(socket.connect(server.addr).await.expect("connect"))
}

#[tokio::test]
async fn one_address_cannot_take_every_slot() {
    let server = TestServer::start(ServerConfig {
        max_connections: 10,
        max_connections_per_client: 3,
        ..config()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut client = server.connect().await;
        greet(&mut client).await;
        idle.push(client);
    }
    let mut over = server.connect().await;
    assert_eq!(
        over.reply().await,
        "421 4.7.0 gw.test Too many connections from 127.0.0.1, try again later\r\n"
    );
    over.closed().await;
    // Another host still gets in and delivers.
    let mut other = connect_from(&server, [127, 0, 0, 2]).await;
    greet(&mut other).await;
    let reply = transaction(&mut other, "Subject: hi\r\n\r\nbody\r\n").await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert_eq!(
        server.sink.messages()[0].0.client_ip.to_string(),
        "127.0.0.2"
    );
    server.stop().await;
}

#[tokio::test]
async fn under_stress_idle_connections_are_dropped_sooner() {
    // 4 of 5 slots is 80 %: stress. The normal timeout (10 minutes) would outlast the test.
    let server = TestServer::start(ServerConfig {
        max_connections: 5,
        command_timeout: Duration::from_secs(600),
        stress_timeout: Duration::from_secs(1),
        ..config()
    })
    .await;
    // The first connection is already waiting when the stress begins.
    let mut clients = vec![server.connect().await];
    greet(&mut clients[0]).await;
    for _ in 0..3 {
        let mut client = server.connect().await;
        greet(&mut client).await;
        clients.push(client);
    }
    // Idle connections are dropped after the stress timeout (until fewer than 80 % of the
    // slots are in use, when the rest keep the normal timeout again).
    let mut waiting = tokio::task::JoinSet::new();
    for mut client in clients {
        waiting.spawn(async move { client.reply().await });
    }
    let first = timeout(WAIT, waiting.join_next())
        .await
        .expect("an idle connection dropped in time")
        .expect("clients waiting")
        .expect("reply read");
    assert_eq!(first, "421 4.4.2 gw.test Error: timeout exceeded\r\n");
    waiting.abort_all();
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_transaction_in_progress() {
    let server = TestServer::start(config()).await;
    let mut busy = server.connect().await;
    greet(&mut busy).await;
    let mut idle = server.connect().await;
    greet(&mut idle).await;
    assert_eq!(busy.command("MAIL FROM:<s@x.uk>\r\n").await, "250 2.1.0");
    assert_eq!(
        busy.command("RCPT TO:<a@example.com>\r\n").await,
        "250 2.1.5"
    );
    assert!(busy.command("DATA\r\n").await.starts_with("354"));
    busy.send("Subject: half\r\n\r\nfirst half\r\n").await;

    server.shutdown.send(true).expect("server running");
    // The idle session is told at once.
    let reply = idle.reply().await;
    assert!(reply.starts_with("421 4.3.2 "), "{reply}");
    idle.closed().await;
    // The busy session finishes its message, then is told.
    busy.send("second half\r\n.\r\n").await;
    assert_eq!(busy.reply().await, "250 2.0.0 Ok: queued as Q1\r\n");
    let reply = busy.reply().await;
    assert!(reply.starts_with("421 4.3.2 "), "{reply}");
    busy.closed().await;
    timeout(WAIT, server.handle)
        .await
        .expect("serve returned")
        .expect("serve task")
        .expect("serve ok");
    let messages = server.sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].1,
        b"Subject: half\r\n\r\nfirst half\r\nsecond half\r\n"
    );
}

#[tokio::test]
async fn shutdown_grace_is_bounded() {
    let server = TestServer::start(ServerConfig {
        shutdown_grace: Duration::from_secs(1),
        ..config()
    })
    .await;
    let mut stalled = server.connect().await;
    greet(&mut stalled).await;
    assert_eq!(stalled.command("MAIL FROM:<s@x.uk>\r\n").await, "250 2.1.0");
    // The client never finishes its transaction; shutdown still completes and drops it.
    server.stop().await;
    stalled.closed().await;
}

fn tls_server_config() -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = CertificateDer::from(include_bytes!("data/localhost.der").to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        include_bytes!("data/localhost.key.der").to_vec(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server certificate");
    Arc::new(config)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(include_bytes!("data/ca.der").to_vec()))
        .expect("test CA");
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn starttls_then_message() {
    let server = TestServer::start(ServerConfig {
        tls: Some(tls_server_config()),
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    let banner = client.reply().await;
    assert!(banner.starts_with("220 "), "{banner}");
    client.send("EHLO client.test\r\n").await;
    let ehlo = client.reply().await;
    assert!(ehlo.contains("250 STARTTLS\r\n"), "{ehlo}");
    assert_eq!(client.command("STARTTLS\r\n").await, "220 2.0.0");
    let tcp = client.stream.into_inner();
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = timeout(WAIT, tls_connector().connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake");
    let mut client = Client::new(tls);
    // State was reset: EHLO is needed again, and STARTTLS is no longer offered.
    assert_eq!(client.command("MAIL FROM:<s@x.uk>\r\n").await, "503 5.5.1");
    client.send("EHLO client.test\r\n").await;
    let ehlo = client.reply().await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(
        code(&transaction(&mut client, "secret\r\n").await),
        "250 2.0.0"
    );
    assert_eq!(client.command("QUIT\r\n").await, "221 2.0.0");
    let messages = server.sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].0.tls);
    assert_eq!(messages[0].1, b"secret\r\n");
    server.stop().await;
}

#[tokio::test]
async fn starttls_injection_is_not_executed() {
    let server = TestServer::start(ServerConfig {
        tls: Some(tls_server_config()),
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    greet(&mut client).await;
    // A man in the middle appends plaintext commands to the client's STARTTLS.
    client
        .send("STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.com>\r\n")
        .await;
    assert_eq!(code(&client.reply().await), "220 2.0.0");
    let tcp = client.stream.into_inner();
    let name = ServerName::try_from("localhost").expect("server name");
    // Either the injected bytes reached the TLS layer (the handshake fails), or they were
    // discarded with the clear-text buffer; they must never act as commands.
    if let Ok(Ok(tls)) = timeout(WAIT, tls_connector().connect(name, tcp)).await {
        let mut client = Client::new(tls);
        greet_tls(&mut client).await;
        assert_eq!(
            client.command("RCPT TO:<victim@example.com>\r\n").await,
            "503 5.5.1"
        );
        assert_eq!(client.command("DATA\r\n").await, "503 5.5.1");
    }
    assert!(server.sink.messages().is_empty());
    server.stop().await;
}

async fn greet_tls<T: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<T>) {
    let ehlo = client.command("EHLO client.test\r\n").await;
    assert!(ehlo.starts_with("250"), "{ehlo}");
}
