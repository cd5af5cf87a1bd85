//! Relaying to the force's smarthost over SMTP with lettre's connection API.
//!
//! lettre's high-level transport ends the whole transaction when one RCPT is
//! refused and does not set TCP_NODELAY (about 40 ms lost per message on a
//! reused connection, to Nagle's algorithm meeting delayed ACKs). So this module
//! opens the socket itself with TCP_NODELAY, drives MAIL, each RCPT, DATA and
//! the message through `AsyncSmtpConnection`, records every recipient's own
//! reply, and keeps idle connections for reuse.
//!
//! AUTH is only ever sent on an encrypted connection, whatever the smarthost
//! offers: the password would otherwise cross the network readable.

use std::path::PathBuf;
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::tls::{StartTls, TlsPolicy, TlsSetupError};
use crate::{DeliveryFailure, Outcome, Transport};

/// Where and how to relay.
#[derive(Clone)]
pub struct SmarthostConfig {
    /// Host name or address.
    pub host: String,
    /// Port, usually 25 or 587.
    pub port: u16,
    /// Encryption policy.
    pub starttls: StartTls,
    /// PEM file of the CAs trusted instead of the system's for
    /// [`StartTls::Verify`] (an internal relay's own CA).
    pub ca_file: Option<PathBuf>,
    /// User name and password for AUTH PLAIN/LOGIN, if required; sent only
    /// over TLS.
    pub credentials: Option<(String, String)>,
    /// Our name in EHLO.
    pub hello_name: String,
    /// Limit for connecting and for each command.
    pub timeout: Duration,
    /// Idle connections kept for reuse.
    pub max_idle: usize,
}

/// Everything but the password, so that no log line can carry it.
impl std::fmt::Debug for SmarthostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmarthostConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("starttls", &self.starttls)
            .field("ca_file", &self.ca_file)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("hello_name", &self.hello_name)
            .field("timeout", &self.timeout)
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

/// An SMTP smarthost with a small pool of reusable connections.
pub struct Smarthost {
    config: SmarthostConfig,
    /// Boxed: TLS parameters would make [`crate::Relay`] lopsided.
    tls: Box<TlsPolicy>,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

impl std::fmt::Debug for Smarthost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smarthost")
            .field("config", &self.config)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A failure that concerns the whole attempt, not one recipient.
type AttemptError = Outcome;

/// Why opening a connection failed.
enum OpenError {
    /// STARTTLS was refused or its handshake failed, for this reason: with
    /// `opportunistic`, a cause to try again in clear text.
    StartTls(String),
    /// Any other failure of the attempt.
    Attempt(Outcome),
}

impl Smarthost {
    /// A smarthost client; no connection is made until the first delivery.
    /// Fails on a TLS set-up that cannot work: an unreadable or empty CA file,
    /// a CA file without `verify`, or credentials with `never`.
    pub fn new(config: SmarthostConfig) -> Result<Smarthost, TlsSetupError> {
        if config.credentials.is_some() && config.starttls == StartTls::Never {
            return Err(TlsSetupError::CredentialsWithoutTls);
        }
        let tls = Box::new(TlsPolicy::new(
            config.starttls,
            &config.host,
            config.ca_file.as_deref(),
        )?);
        Ok(Smarthost {
            config,
            tls,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn client_id(&self) -> ClientId {
        ClientId::Domain(self.config.hello_name.clone())
    }

    /// A ready connection: encrypted as the policy asks, authenticated if
    /// configured. With `opportunistic`, a failed STARTTLS is followed by one
    /// fresh connection in clear text (Postfix's `may`), except when
    /// credentials are configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, AttemptError> {
        let c = &self.config;
        let reason = match self.open(true).await {
            Ok(conn) => return Ok(conn),
            Err(OpenError::Attempt(failure)) => return Err(failure),
            Err(OpenError::StartTls(reason)) => reason,
        };
        if self.tls.level == StartTls::Verify {
            return Err(Outcome::temporary(format!(
                "smarthost {}:{}: STARTTLS failed: {reason} (starttls = verify, certificates checked against {})",
                c.host, c.port, self.tls.trust
            )));
        }
        if c.credentials.is_some() {
            tracing::warn!(smarthost = %c.host, port = c.port, %reason, "STARTTLS failed; not sending AUTH in clear text");
            return Err(Outcome::temporary(format!(
                "smarthost {}:{}: STARTTLS failed ({reason}); not sending AUTH in clear text",
                c.host, c.port
            )));
        }
        tracing::warn!(smarthost = %c.host, port = c.port, %reason, "STARTTLS failed; delivering in clear text (starttls = opportunistic)");
        self.open(false).await.map_err(|e| match e {
            OpenError::StartTls(reason) => Outcome::temporary(reason),
            OpenError::Attempt(failure) => failure,
        })
    }

    /// Opens one connection: greeting, EHLO, STARTTLS when `try_tls` and the
    /// policy say so, then AUTH if configured and the connection is encrypted.
    async fn open(&self, try_tls: bool) -> Result<AsyncSmtpConnection, OpenError> {
        let c = &self.config;
        let stream = tokio::time::timeout(c.timeout, TcpStream::connect((c.host.as_str(), c.port)))
            .await
            .map_err(|_| {
                OpenError::Attempt(Outcome::temporary(format!(
                    "timed out connecting to {}:{}",
                    c.host, c.port
                )))
            })?
            .map_err(|e| {
                OpenError::Attempt(Outcome::temporary(format!(
                    "cannot connect to {}:{}: {e}",
                    c.host, c.port
                )))
            })?;
        stream.set_nodelay(true).map_err(|e| {
            OpenError::Attempt(Outcome::temporary(format!("cannot set TCP_NODELAY: {e}")))
        })?;
        let id = self.client_id();
        let mut conn = self
            .timed(AsyncSmtpConnection::connect_with_transport(
                Box::new(stream),
                &id,
            ))
            .await
            .map_err(OpenError::Attempt)?;
        let offers_tls = conn.server_info().supports_feature(Extension::StartTls);
        match (&self.tls.parameters, offers_tls) {
            (Some(_), false) if self.tls.level == StartTls::Verify => {
                self.quit(conn).await;
                return Err(OpenError::Attempt(Outcome::temporary(format!(
                    "smarthost {}:{} does not offer STARTTLS, which starttls = verify requires",
                    c.host, c.port
                ))));
            }
            (Some(parameters), true) if try_tls => {
                if let Err(failure) = self.timed(conn.starttls(parameters.clone(), &id)).await {
                    // the stream is in an unknown state: dropped, not quit
                    return Err(OpenError::StartTls(reason(&failure)));
                }
            }
            _ => {}
        }
        if let Some((user, password)) = &c.credentials {
            if !conn.is_encrypted() {
                self.quit(conn).await;
                tracing::warn!(smarthost = %c.host, port = c.port, "the connection is not encrypted; not sending AUTH in clear text");
                return Err(OpenError::Attempt(Outcome::temporary(format!(
                    "smarthost {}:{}: the connection is not encrypted (no STARTTLS offered); not sending AUTH in clear text",
                    c.host, c.port
                ))));
            }
            let credentials = Credentials::new(user.clone(), password.clone());
            self.timed(conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials))
                .await
                .map_err(OpenError::Attempt)?;
        }
        Ok(conn)
    }

    /// Ends a connection politely, but no longer than the timeout.
    async fn quit(&self, mut conn: AsyncSmtpConnection) {
        let _ = tokio::time::timeout(self.config.timeout, conn.abort()).await;
    }

    /// One RCPT: the smarthost's reply is this recipient's outcome, but no
    /// reply (a timeout, a broken connection) ends the attempt, since a late
    /// reply would otherwise be read as the next command's.
    async fn rcpt(
        &self,
        conn: &mut AsyncSmtpConnection,
        address: Address,
    ) -> Result<Outcome, AttemptError> {
        let command = conn.command(Rcpt::new(address, Vec::new()));
        match tokio::time::timeout(self.config.timeout, command).await {
            Ok(Ok(_)) => Ok(Outcome::Delivered),
            Ok(Err(e)) if e.is_transient() || e.is_permanent() => Ok(classify(&e)),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Outcome::temporary("the smarthost did not answer in time")),
        }
    }

    /// Runs one step with the configured timeout, classifying its failure.
    async fn timed<T>(
        &self,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, Outcome> {
        match tokio::time::timeout(self.config.timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Outcome::temporary("the smarthost did not answer in time")),
        }
    }

    /// One transaction on `conn`: per-recipient outcomes, or a failure of the
    /// whole attempt (which leaves the connection unusable).
    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        mail_from: &str,
        rcpt_to: &[String],
        message: &[u8],
    ) -> Result<Vec<Outcome>, AttemptError> {
        let sender = if mail_from.is_empty() {
            None
        } else {
            Some(mail_from.parse::<Address>().map_err(|e| {
                Outcome::permanent(format!("invalid sender address {mail_from}: {e}"))
            })?)
        };
        let mut params = Vec::new();
        if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if conn.server_info().supports_feature(Extension::SmtpUtfEight)
            && (!mail_from.is_ascii() || rcpt_to.iter().any(|r| !r.is_ascii()))
        {
            params.push(MailParameter::SmtpUtfEight);
        }
        self.timed(conn.command(Mail::new(sender, params))).await?;
        let mut outcomes = Vec::with_capacity(rcpt_to.len());
        for rcpt in rcpt_to {
            let outcome = match rcpt.parse::<Address>() {
                Err(e) => Outcome::permanent(format!("invalid recipient address: {e}")),
                Ok(address) => self.rcpt(conn, address).await?,
            };
            outcomes.push(outcome);
        }
        if !outcomes.contains(&Outcome::Delivered) {
            // nobody to send to: end the transaction cleanly
            self.timed(conn.command(lettre::transport::smtp::commands::Rset))
                .await?;
            return Ok(outcomes);
        }
        let end = match self.timed(conn.command(Data)).await {
            Ok(_) => self.timed(conn.message(message)).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(failure) = end {
            // the message was refused as a whole: every accepted recipient shares it
            for o in outcomes.iter_mut().filter(|o| **o == Outcome::Delivered) {
                *o = failure.clone();
            }
            if matches!(failure, Outcome::Temporary(_)) {
                return Err(failure);
            }
        }
        Ok(outcomes)
    }
}

/// The text of a failure, for a longer message.
fn reason(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered => "delivered".to_owned(),
        Outcome::Temporary(failure) | Outcome::Permanent(failure) => failure.to_string(),
    }
}

/// A lettre error as an outcome: 5xx is permanent, everything else
/// temporary. A negative reply keeps its codes: lettre gives the basic code
/// as the error's status and the reply's text as its source.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let failure = match e.status() {
        Some(code) => {
            let text = std::error::Error::source(e).map_or_else(String::new, ToString::to_string);
            DeliveryFailure::from_reply(u16::from(code), &text)
        }
        None => DeliveryFailure::without_reply(e.to_string()),
    };
    if e.is_permanent() {
        Outcome::Permanent(failure)
    } else {
        Outcome::Temporary(failure)
    }
}

impl Transport for Smarthost {
    async fn deliver(&self, mail_from: &str, rcpt_to: &[String], message: &[u8]) -> Vec<Outcome> {
        // A pooled connection may have been closed by the server while idle:
        // on a failure of the whole attempt, try once more on a fresh one.
        let pooled = self.idle.lock().await.pop();
        let mut tries = if pooled.is_some() { 2 } else { 1 };
        let mut conn = pooled;
        loop {
            tries -= 1;
            let mut c = match conn.take() {
                Some(c) => c,
                None => match self.connect().await {
                    Ok(c) => c,
                    Err(failure) => return vec![failure; rcpt_to.len()],
                },
            };
            match self.transaction(&mut c, mail_from, rcpt_to, message).await {
                Ok(outcomes) => {
                    let mut idle = self.idle.lock().await;
                    if !c.has_broken() && idle.len() < self.config.max_idle {
                        idle.push(c);
                    }
                    return outcomes;
                }
                Err(failure) => {
                    self.quit(c).await;
                    if tries == 0 {
                        return vec![failure; rcpt_to.len()];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tls_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A scripted SMTP server: refuses RCPT to addresses starting with "refuse"
    /// (550) or "later" (451), accepts everything else, and records each
    /// message's recipients. Serves `connections` connections.
    async fn fake_smarthost(
        connections: usize,
    ) -> (u16, tokio::task::JoinHandle<Vec<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = tokio::spawn(async move {
            let mut delivered = Vec::new();
            for _ in 0..connections {
                let (socket, _) = listener.accept().await.expect("accept");
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.expect("greet");
                let mut rcpts = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-fake\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL") {
                        rcpts.clear();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT") {
                        if upper.contains("<REFUSE") {
                            b"550 5.1.1 no such user\r\n"
                        } else if upper.contains("<LATER") {
                            b"451 4.2.0 try later\r\n"
                        } else {
                            rcpts.push(
                                line[8..]
                                    .trim_matches(|c| c == '<' || c == '>' || c == ' ')
                                    .to_owned(),
                            );
                            b"250 ok\r\n"
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go\r\n").await.expect("354");
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                        }
                        delivered.push(std::mem::take(&mut rcpts));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.expect("reply");
                }
            }
            delivered
        });
        (port, handle)
    }

    fn config(port: u16) -> SmarthostConfig {
        SmarthostConfig {
            host: "127.0.0.1".into(),
            port,
            starttls: StartTls::Never,
            ca_file: None,
            credentials: None,
            hello_name: "cordon.test".into(),
            timeout: Duration::from_secs(5),
            max_idle: 0,
        }
    }

    #[tokio::test]
    async fn one_refused_recipient_does_not_fail_the_others() {
        let (port, server) = fake_smarthost(1).await;
        let smarthost = Smarthost::new(config(port)).expect("smarthost");
        let rcpt = vec![
            "a@kent.police.uk".to_owned(),
            "refuse@kent.police.uk".to_owned(),
            "later@kent.police.uk".to_owned(),
            "b@kent.police.uk".to_owned(),
        ];
        let outcomes = smarthost
            .deliver("s@northshire.police.uk", &rcpt, b"Subject: x\r\n\r\nhi\r\n")
            .await;
        assert_eq!(outcomes[0], Outcome::Delivered);
        // each refusal keeps the smarthost's codes apart from its text
        assert_eq!(
            outcomes[1],
            Outcome::Permanent(DeliveryFailure::from_reply(550, "5.1.1 no such user"))
        );
        let Outcome::Permanent(refused) = &outcomes[1] else {
            unreachable!()
        };
        assert_eq!(
            (refused.reply_code, refused.status.map(|s| s.to_string())),
            (Some(550), Some("5.1.1".to_owned()))
        );
        assert_eq!(refused.text, "no such user");
        assert_eq!(
            outcomes[2],
            Outcome::Temporary(DeliveryFailure::from_reply(451, "4.2.0 try later"))
        );
        assert_eq!(outcomes[3], Outcome::Delivered);
        drop(smarthost);
        let delivered = server.await.expect("server");
        assert_eq!(
            delivered,
            [vec![
                "a@kent.police.uk".to_owned(),
                "b@kent.police.uk".to_owned()
            ]]
        );
    }

    #[tokio::test]
    async fn a_smarthost_that_stops_answering_defers_instead_of_hanging() {
        // answers the greeting, EHLO and MAIL, then reads without answering;
        // counts the RCPT commands until the client closes the connection
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake ESMTP\r\n").await.expect("greet");
            let mut rcpts = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("EHLO") {
                    write.write_all(b"250 fake\r\n").await.expect("ehlo");
                } else if upper.starts_with("MAIL") {
                    write.write_all(b"250 ok\r\n").await.expect("mail");
                } else if upper.starts_with("RCPT") {
                    rcpts += 1;
                }
            }
            rcpts
        });
        let smarthost = Smarthost::new(SmarthostConfig {
            timeout: Duration::from_secs(1),
            ..config(port)
        })
        .expect("smarthost");
        let rcpt = ["a@kent.police.uk".to_owned(), "b@kent.police.uk".to_owned()];
        let outcomes = tokio::time::timeout(
            Duration::from_secs(60),
            smarthost.deliver("s@northshire.police.uk", &rcpt, b"x\r\n"),
        )
        .await
        .expect("the delivery hung on a silent smarthost");
        assert_eq!(
            outcomes,
            vec![Outcome::temporary("the smarthost did not answer in time"); 2]
        );
        // a late reply to the first RCPT must not be read as the second's
        let rcpts = tokio::time::timeout(Duration::from_secs(60), server)
            .await
            .expect("the connection was left open")
            .expect("server");
        assert_eq!(rcpts, 1, "RCPT sent after an unanswered one");
    }

    #[tokio::test]
    async fn a_dead_smarthost_is_a_temporary_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let outcomes = Smarthost::new(config(port))
            .expect("smarthost")
            .deliver("s@x.uk", &["a@b.uk".to_owned()], b"x\r\n")
            .await;
        assert!(
            matches!(&outcomes[0], Outcome::Temporary(m) if m.reply_code.is_none() && m.text.contains("cannot connect")),
            "{outcomes:?}"
        );
    }
}
