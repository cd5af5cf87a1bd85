//! The tokio driver: accepts connections, enforces the connection limits, runs one
//! [`Session`] per connection with (stress-adaptive) timeouts and the STARTTLS upgrade, and
//! shuts down gracefully.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_rustls::TlsAcceptor;

use crate::limits::{ConnectionLimits, Refusal, Slot};
use crate::session::{Event, Session};
use crate::{AcceptError, MessageSink, MessageWriter, ServerConfig};

/// Size of one socket read.
const READ_BUFFER: usize = 64 * 1024;
/// How long a refused connection may take to receive its `421`.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (for example out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Runs the SMTP server on `listener` until `shutdown` becomes `true` (or its sender is
/// dropped). Then it stops accepting connections, lets each session finish the transaction
/// in progress for up to [`ServerConfig::shutdown_grace`], tells idle sessions
/// `421 4.3.2`, drops whatever is left and returns.
///
/// Accepted messages go to `sink`; a client hears `250` only after `sink.accept` returned
/// `Ok`.
pub async fn serve<S: MessageSink>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    sink: Arc<S>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let limits = ConnectionLimits::new(&config);
    let mut tasks = JoinSet::new();
    tracing::info!(addr = ?listener.local_addr().ok(), "SMTP server listening");
    while !*shutdown.borrow_and_update() {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match limits.admit(peer.ip()) {
                    Ok(slot) => {
                        let connection = Connection {
                            config: Arc::clone(&config),
                            sink: Arc::clone(&sink),
                            shutdown: shutdown.clone(),
                            stress: limits.stress(),
                            peer,
                        };
                        tasks.spawn(connection.run(stream, slot));
                    }
                    Err(refusal) => {
                        let hostname = &config.hostname;
                        let reply = match refusal {
                            Refusal::Full => {
                                tracing::warn!(%peer, "connection limit reached, refusing");
                                format!("421 4.7.0 {hostname} Too many connections, try again later\r\n")
                            }
                            Refusal::ClientFull => {
                                tracing::warn!(%peer, "per-client connection limit reached, refusing");
                                format!(
                                    "421 4.7.0 {hostname} Too many connections from {}, try again later\r\n",
                                    peer.ip().to_canonical()
                                )
                            }
                        };
                        tasks.spawn(refuse(stream, reply));
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(error) = joined {
                    tracing::error!(%error, "SMTP session task failed");
                }
            }
        }
    }
    drop(listener);
    tracing::info!(sessions = tasks.len(), "SMTP server shutting down");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if timeout(config.shutdown_grace, drain).await.is_err() {
        tracing::warn!(
            sessions = tasks.len(),
            "sessions still busy after the shutdown grace period, dropping them"
        );
    }
    tasks.shutdown().await;
    Ok(())
}

/// Tells a client over a connection limit to come back later.
async fn refuse(mut stream: TcpStream, reply: String) {
    let _ = timeout(REFUSE_TIMEOUT, async {
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// How a run of the session over one stream ended.
enum Ended {
    /// The session is over (or the connection failed).
    Closed,
    /// The client asked for TLS; the stream must be upgraded.
    StartTls,
}

/// Everything one connection needs.
struct Connection<S> {
    config: Arc<ServerConfig>,
    sink: Arc<S>,
    shutdown: watch::Receiver<bool>,
    /// Whether the server is under stress (most connection slots taken).
    stress: watch::Receiver<bool>,
    peer: SocketAddr,
}

/// What waiting for the client's next bytes gave.
enum Received {
    /// This many bytes are in the buffer.
    Bytes(usize),
    /// The client closed the connection.
    End,
    /// The client stayed silent too long.
    TimedOut,
    /// The shutdown signal changed; look at the session again.
    ShutdownSignal,
}

impl<S: MessageSink> Connection<S> {
    async fn run(mut self, mut tcp: TcpStream, _slot: Slot) {
        let peer = self.peer;
        tracing::debug!(%peer, "connection opened");
        // Replies are small and latency-bound (pipelined batches are written whole).
        let _ = tcp.set_nodelay(true);
        let mut session = Session::new(Arc::clone(&self.config), peer.ip());
        let mut shutting_down = *self.shutdown.borrow_and_update();
        match self.drive(&mut tcp, &mut session, &mut shutting_down).await {
            Ok(Ended::StartTls) => {
                let Some(tls) = self.config.tls.clone() else {
                    return;
                };
                let handshake = TlsAcceptor::from(tls).accept(tcp);
                match timeout(self.patience(false), handshake).await {
                    Ok(Ok(mut stream)) => {
                        session.tls_started();
                        if let Err(error) = self
                            .drive(&mut stream, &mut session, &mut shutting_down)
                            .await
                        {
                            tracing::debug!(%peer, %error, "connection failed");
                        }
                        let _ = timeout(self.patience(false), stream.shutdown()).await;
                    }
                    Ok(Err(error)) => tracing::info!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            }
            Ok(Ended::Closed) => {
                let _ = timeout(self.patience(false), tcp.shutdown()).await;
            }
            Err(error) => tracing::debug!(%peer, %error, "connection failed"),
        }
        tracing::debug!(%peer, "connection closed");
    }

    /// Runs the session over `stream` until it closes or asks for TLS.
    async fn drive<T>(
        &mut self,
        stream: &mut T,
        session: &mut Session,
        shutting_down: &mut bool,
    ) -> io::Result<Ended>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buffer = vec![0; READ_BUFFER];
        // The message being received, and why it cannot be stored if a write failed. Dropped
        // (discarding it) when the session ends before the message does.
        let mut writer: Option<S::Writer> = None;
        let mut write_failed: Option<AcceptError> = None;
        let mut size = 0usize;
        loop {
            match session.next_event() {
                Event::NeedInput => {
                    if *shutting_down && session.is_idle() {
                        session.shutdown();
                        continue;
                    }
                    self.flush(stream, session).await?;
                    match self
                        .receive(stream, &mut buffer, session.in_data(), shutting_down)
                        .await?
                    {
                        Received::Bytes(n) => session.feed(buffer.get(..n).unwrap_or_default()),
                        Received::End => {
                            if !session.is_idle() {
                                tracing::info!(peer = %self.peer, "client disconnected during a transaction");
                            }
                            return Ok(Ended::Closed);
                        }
                        Received::TimedOut => {
                            let stressed = *self.stress.borrow();
                            tracing::info!(peer = %self.peer, stressed, "client timed out");
                            session.timeout();
                        }
                        Received::ShutdownSignal => {}
                    }
                }
                Event::MessageBegin { envelope } => {
                    let recipients = envelope.rcpt_to.len();
                    writer = None;
                    write_failed = None;
                    size = 0;
                    match self.sink.open(envelope).await {
                        Ok(opened) => {
                            writer = Some(opened);
                            session.message_begun(Ok(()));
                        }
                        Err(error) => {
                            tracing::warn!(peer = %self.peer, %error, recipients, "cannot store a message now");
                            session.message_begun(Err(error));
                        }
                    }
                }
                Event::MessageData(chunk) => {
                    size = size.saturating_add(chunk.len());
                    if write_failed.is_none()
                        && let Some(open) = writer.as_mut()
                        && let Err(error) = open.write(chunk).await
                    {
                        write_failed = Some(error);
                    }
                }
                Event::MessageEnd => {
                    let result = match (writer.take(), write_failed.take()) {
                        (_, Some(error)) => Err(error),
                        (Some(open), None) => open.commit().await,
                        (None, None) => Err(AcceptError::Temporary(
                            "no storage open for the message".to_owned(),
                        )),
                    };
                    match &result {
                        Ok(id) => {
                            tracing::info!(peer = %self.peer, queue_id = %id, size, "message accepted");
                        }
                        Err(error) => {
                            tracing::warn!(peer = %self.peer, %error, size, "message not stored");
                        }
                    }
                    session.message_stored(result);
                }
                Event::MessageAbort => {
                    writer = None;
                    write_failed = None;
                }
                Event::StartTls => {
                    self.flush(stream, session).await?;
                    return Ok(Ended::StartTls);
                }
                Event::Close => {
                    self.flush(stream, session).await?;
                    return Ok(Ended::Closed);
                }
            }
        }
    }

    /// Waits for the client's next bytes, at most the command (or data) timeout, or the
    /// stress timeout while the server is under stress: a wait that began before the stress
    /// is cut short when it starts, so idle connections give their slots back.
    async fn receive<T>(
        &mut self,
        stream: &mut T,
        buffer: &mut [u8],
        in_data: bool,
        shutting_down: &mut bool,
    ) -> io::Result<Received>
    where
        T: AsyncRead + Unpin,
    {
        let started = Instant::now();
        let mut stress_followed = true;
        loop {
            let deadline = started + self.patience(in_data);
            tokio::select! {
                read = stream.read(buffer) => {
                    return match read? {
                        0 => Ok(Received::End),
                        n => Ok(Received::Bytes(n)),
                    };
                }
                () = sleep_until(deadline) => return Ok(Received::TimedOut),
                changed = self.stress.changed(), if stress_followed => {
                    stress_followed = changed.is_ok();
                }
                changed = self.shutdown.changed(), if !*shutting_down => {
                    *shutting_down = changed.is_err() || *self.shutdown.borrow_and_update();
                    return Ok(Received::ShutdownSignal);
                }
            }
        }
    }

    /// How long to wait for the client now: the data or command timeout, shortened to the
    /// stress timeout while the server is under stress.
    fn patience(&self, in_data: bool) -> Duration {
        let normal = if in_data {
            self.config.data_timeout
        } else {
            self.config.command_timeout
        };
        if *self.stress.borrow() {
            normal.min(self.config.stress_timeout)
        } else {
            normal
        }
    }

    /// Writes the session's pending replies, bounded by the command timeout.
    async fn flush<T>(&self, stream: &mut T, session: &mut Session) -> io::Result<()>
    where
        T: AsyncWrite + Unpin,
    {
        let output = session.take_output();
        if output.is_empty() {
            return Ok(());
        }
        let write = async {
            stream.write_all(&output).await?;
            stream.flush().await
        };
        match timeout(self.patience(false), write).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client did not read replies",
            )),
        }
    }
}
