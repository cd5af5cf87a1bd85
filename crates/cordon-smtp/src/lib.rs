//! Inbound SMTP server for the cordon gateway.
//!
//! Force mail servers relay outbound mail to this server. It guarantees three things:
//! a message is acknowledged with `250` only after the [`MessageSink`] has durably stored it,
//! one `DATA` never yields more than one message (strict `<CRLF>.<CRLF>` framing, bare CR or
//! LF rejected: no SMTP smuggling), and only clients in [`ServerConfig::relay_networks`] may
//! relay (never an open relay).
//!
//! The protocol lives in a sans-I/O state machine, [`session::Session`], which can be unit
//! tested and fuzzed without sockets; [`serve`] is the thin tokio driver around it that owns
//! sockets, timeouts, the STARTTLS upgrade and the connection limits.
//!
//! Connections are limited in total and per client address, and when most slots are taken
//! the timeouts shrink so idle clients are dropped (see [`ServerConfig::max_connections_per_client`]
//! and [`ServerConfig::stress_timeout`]), as Postfix does.

mod address;
mod data;
mod limits;
mod server;
pub mod session;

use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

pub use limits::STRESS_PERCENT;
pub use server::serve;
pub use session::{Event, MESSAGE_CHUNK, Session};

/// Settings of the inbound SMTP server; [`Default`] gives the documented defaults.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Name announced in the greeting banner and the EHLO/HELO reply.
    pub hostname: String,
    /// Largest message accepted, in octets (advertised as `SIZE`); default 50 MiB.
    pub max_message_size: usize,
    /// Most recipients per transaction; default 100, the RFC 5321 minimum.
    pub max_recipients: usize,
    /// Most concurrent connections; above it a client gets `421 4.7.0` and is closed. Default 200.
    pub max_connections: usize,
    /// Most concurrent connections from one client address (like Postfix's
    /// `smtpd_client_connection_count_limit`); above it the client gets `421 4.7.0` and is
    /// closed, so one host cannot take every slot. Applies to relay clients too: the force's
    /// mail servers are few addresses and must fit under it. Default 50.
    pub max_connections_per_client: usize,
    /// While the server is under stress (at least [`STRESS_PERCENT`] per cent of
    /// `max_connections` in use), the longest wait for a client, replacing the command and
    /// data timeouts when they are longer, also for clients already waiting. Default 10 s.
    pub stress_timeout: Duration,
    /// How long the server waits for a command; default 5 minutes (RFC 5321 4.5.3.2).
    pub command_timeout: Duration,
    /// How long the server waits for each read during DATA; default 3 minutes.
    pub data_timeout: Duration,
    /// Client networks allowed to relay (to give recipients); default 127.0.0.0/8 and ::1/128.
    pub relay_networks: Vec<ipnet::IpNet>,
    /// TLS settings; STARTTLS is offered only when this is `Some`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Bad commands tolerated before the server replies `421` and closes; default 10.
    pub max_errors: u32,
    /// On shutdown, how long sessions may take to finish the transaction in progress
    /// before they are dropped; default 30 seconds.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_owned(),
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 200,
            max_connections_per_client: 50,
            stress_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(3 * 60),
            relay_networks: vec![
                ipnet::IpNet::V4(ipnet::Ipv4Net::new_assert([127, 0, 0, 0].into(), 8)),
                ipnet::IpNet::V6(ipnet::Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
            ],
            tls: None,
            max_errors: 10,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The SMTP envelope of one accepted message, as the client gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Reverse-path from `MAIL FROM`, as given (not lowercased); `""` is the null sender `<>`.
    pub mail_from: String,
    /// Forward-paths from the accepted `RCPT TO` commands, in order, as given.
    pub rcpt_to: Vec<String>,
    /// Address of the client that sent the message (IPv4-mapped IPv6 shown as IPv4).
    pub client_ip: IpAddr,
    /// Name the client gave in EHLO/HELO.
    pub helo: String,
    /// Whether the message was received over TLS (after STARTTLS).
    pub tls: bool,
    /// Whether the client asked for SMTPUTF8 in `MAIL FROM`.
    pub smtputf8: bool,
}

/// Where accepted messages go.
///
/// A message is stored as it arrives, so memory does not grow with message size times
/// sessions: at `DATA` the server [opens](MessageSink::open) a [`MessageWriter`] (before it
/// says `354`), hands it the message in bounded chunks as they are read, and
/// [commits](MessageWriter::commit) it once the data ended well. A message refused at the end
/// of data (too big, bare CR or LF, NUL, over-long line) or left unfinished (client gone,
/// timeout, shutdown) is never committed: its writer is dropped, which must leave nothing
/// behind.
pub trait MessageSink: Send + Sync + 'static {
    /// Storage for one message being received.
    type Writer: MessageWriter;

    /// Starts storing a message for `envelope`. An error is told to the client instead of
    /// `354`.
    fn open(
        &self,
        envelope: Envelope,
    ) -> impl Future<Output = Result<Self::Writer, AcceptError>> + Send;

    /// Stores a whole message at once: open, one write, commit.
    fn accept(
        &self,
        envelope: Envelope,
        message: Vec<u8>,
    ) -> impl Future<Output = Result<String, AcceptError>> + Send {
        async move {
            let mut writer = self.open(envelope).await?;
            writer.write(message).await?;
            writer.commit().await
        }
    }
}

/// One message being stored by a [`MessageSink`]. Dropping it without
/// [`commit`](MessageWriter::commit) discards the message and whatever was written of it.
pub trait MessageWriter: Send + 'static {
    /// Appends the next chunk of the message: exactly what the client sent after
    /// dot-unstuffing, CRLF line ends, nothing added. An error means the message cannot be
    /// stored; the client is told so at the end of its data.
    fn write(&mut self, chunk: Vec<u8>) -> impl Future<Output = Result<(), AcceptError>> + Send;

    /// The message is complete: store it durably. Must return `Ok` only once it is, because
    /// the client is then told `250` and forgets it; the `Ok` value is the queue id quoted in
    /// the reply.
    fn commit(self) -> impl Future<Output = Result<String, AcceptError>> + Send;
}

/// Why a [`MessageSink`] did not take a message; the text is quoted to the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// Could not store it now (disk full, I/O error); the client should retry: `451 4.3.0`.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will never take it; the client should bounce it: `554 5.6.0`.
    #[error("permanent failure: {0}")]
    Permanent(String),
}
