//! The SMTP session as a sans-I/O state machine.
//!
//! Feed it the bytes the client sent ([`Session::feed`]), ask it what to do next
//! ([`Session::next_event`]) and write what it wants said ([`Session::take_output`]). It never
//! touches a socket or a clock, so every protocol rule can be unit tested and fuzzed; the
//! driver in `server.rs` supplies sockets, timeouts and TLS.
//!
//! Driving contract: call [`Session::next_event`] in a loop. On [`Event::NeedInput`] write
//! the pending output (all replies to a pipelined batch go out together) and feed the next
//! read. On [`Event::MessageBegin`] open storage for the message and report with
//! [`Session::message_begun`]; append each [`Event::MessageData`] to it; on
//! [`Event::MessageEnd`] store it durably and report with [`Session::message_stored`]; on
//! [`Event::MessageAbort`] discard it. On [`Event::StartTls`] write the output, upgrade the
//! connection and call [`Session::tls_started`]. On [`Event::Close`] write the output and
//! close (discarding a message still open).
//!
//! The session never holds more than [`MESSAGE_CHUNK`] octets of message plus one read.

use std::borrow::Cow;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use smtp_proto::{
    Error as ProtoError, MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_SMTPUTF8, MailFrom, RcptTo,
    Request,
};

use crate::address::{self, AddressError};
use crate::data::{DataReader, DataReject};
use crate::{AcceptError, Envelope, ServerConfig};

/// Longest command line accepted, including its CRLF (RFC 5321 4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// The session hands message data out in chunks of about this size (the last one of a
/// message may be smaller), so it never holds a whole message.
pub const MESSAGE_CHUNK: usize = 64 * 1024;

/// Longest text echoed back from the client or the sink in a reply.
const MAX_ECHO: usize = 200;

/// What the driver must do next.
#[derive(Debug)]
pub enum Event {
    /// All buffered input is processed: write the pending output, then feed more input.
    NeedInput,
    /// The client said DATA: open storage for a message with this envelope, then call
    /// [`Session::message_begun`] with the result (`354` or an error is said then).
    MessageBegin {
        /// Its envelope.
        envelope: Envelope,
    },
    /// The next bytes of the message being received, dot-unstuffed, exactly as the client
    /// sent them: append them to its storage.
    MessageData(Vec<u8>),
    /// The message ended well-formed (all its bytes were given in [`Event::MessageData`]):
    /// store it durably, then call [`Session::message_stored`] with the result. No reply has
    /// been sent for it yet.
    MessageEnd,
    /// The message is refused (its reply is queued): discard what was stored of it.
    MessageAbort,
    /// The client asked for TLS and was told to go ahead: write the pending output, run the
    /// TLS handshake on the connection and call [`Session::tls_started`]. Input received
    /// after the STARTTLS command has been discarded.
    StartTls,
    /// Write the pending output and close the connection.
    Close,
}

/// Where the session is in the protocol.
#[derive(Debug)]
enum State {
    /// Reading command lines.
    Command,
    /// Dropping the rest of an over-long command line, up to its LF.
    DiscardLine,
    /// DATA was accepted; waiting for [`Session::message_begun`].
    AwaitingStorage,
    /// Reading message data after `354`.
    Data(DataReader),
    /// The last chunk of the message was handed out; [`Event::MessageEnd`] is next.
    DataEnded,
    /// A message was handed out; waiting for [`Session::message_stored`].
    AwaitingSink,
    /// STARTTLS was accepted; waiting for [`Session::tls_started`].
    AwaitingTls,
    /// The session is over.
    Closed,
}

/// The mail transaction in progress (after a successful MAIL).
#[derive(Debug)]
struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
    smtputf8: bool,
}

/// The name the client greeted with.
#[derive(Debug)]
struct Greeting {
    host: String,
    extended: bool,
}

/// One SMTP server session (one connection), independent of any I/O.
#[derive(Debug)]
pub struct Session {
    config: Arc<ServerConfig>,
    client_ip: IpAddr,
    relay_allowed: bool,
    starttls_offered: bool,
    tls: bool,
    greeting: Option<Greeting>,
    transaction: Option<Transaction>,
    state: State,
    input: Vec<u8>,
    consumed: usize,
    output: Vec<u8>,
    errors: u32,
}

impl Session {
    /// A new session for a client at `client_ip`, with the `220` greeting already queued.
    /// STARTTLS is offered when `config.tls` is set (see [`Session::offer_starttls`]).
    pub fn new(config: Arc<ServerConfig>, client_ip: IpAddr) -> Self {
        let client_ip = client_ip.to_canonical();
        let relay_allowed = config
            .relay_networks
            .iter()
            .any(|net| net.contains(&client_ip));
        let starttls_offered = config.tls.is_some();
        let mut session = Self {
            config,
            client_ip,
            relay_allowed,
            starttls_offered,
            tls: false,
            greeting: None,
            transaction: None,
            state: State::Command,
            input: Vec::new(),
            consumed: 0,
            output: Vec::new(),
            errors: 0,
        };
        let banner = format!("220 {} ESMTP cordon\r\n", session.config.hostname);
        session.output.extend_from_slice(banner.as_bytes());
        session
    }

    /// Overrides whether STARTTLS is offered. The server derives it from `config.tls`; tests
    /// and fuzzing use this to exercise STARTTLS without a certificate.
    pub fn offer_starttls(&mut self, offer: bool) {
        self.starttls_offered = offer;
    }

    /// Appends bytes received from the client. Ignored once the session is closed or while a
    /// STARTTLS upgrade is pending (such bytes must never be taken as commands).
    pub fn feed(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Closed | State::AwaitingTls) {
            self.input.extend_from_slice(bytes);
        }
    }

    /// Takes the replies queued so far, to be written to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The replies queued so far, without taking them.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Whether the session is reading message data (the driver then uses the data timeout).
    pub fn in_data(&self) -> bool {
        matches!(self.state, State::Data(_))
    }

    /// Octets the session holds: unprocessed input and message data not yet handed out.
    pub fn buffered(&self) -> usize {
        let message = match &self.state {
            State::Data(reader) => reader.buffered(),
            _ => 0,
        };
        self.input.len() + message
    }

    /// Whether no mail transaction is in progress, so the session may be closed on shutdown
    /// without losing a message the client is sending.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Command | State::DiscardLine) && self.transaction.is_none()
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The client waited too long: queue `421 4.4.2` and close.
    pub fn timeout(&mut self) {
        let text = format!("{} Error: timeout exceeded", self.config.hostname);
        self.close_with(421, "4.4.2", &text);
    }

    /// The server is shutting down: queue `421 4.3.2` and close.
    pub fn shutdown(&mut self) {
        let text = format!(
            "{} Service shutting down, closing connection",
            self.config.hostname
        );
        self.close_with(421, "4.3.2", &text);
    }

    /// The TLS handshake after STARTTLS succeeded: forget everything said in clear
    /// (greeting, transaction, buffered input) as RFC 3207 4.2 requires; EHLO is needed again.
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.greeting = None;
        self.transaction = None;
        self.input.clear();
        self.consumed = 0;
        if matches!(self.state, State::AwaitingTls) {
            self.state = State::Command;
        }
    }

    /// Reports whether storage for the message of the last [`Event::MessageBegin`] could be
    /// opened: `354` for `Ok`, else the error ends the transaction.
    pub fn message_begun(&mut self, result: Result<(), AcceptError>) {
        if !matches!(self.state, State::AwaitingStorage) {
            return;
        }
        match result {
            Ok(()) => {
                self.state = State::Data(DataReader::new(self.config.max_message_size));
                self.output
                    .extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
            }
            Err(error) => {
                self.state = State::Command;
                self.transaction = None;
                self.storage_failed(error);
            }
        }
    }

    /// Reports the result of storing the message of the last [`Event::MessageEnd`] and queues
    /// the reply to DATA: `250` only for `Ok`.
    pub fn message_stored(&mut self, result: Result<String, AcceptError>) {
        if !matches!(self.state, State::AwaitingSink) {
            return;
        }
        self.state = State::Command;
        self.transaction = None;
        match result {
            Ok(id) => {
                let text = format!("Ok: queued as {}", sanitize(&id));
                self.reply(250, "2.0.0", &text);
            }
            Err(error) => self.storage_failed(error),
        }
    }

    /// Queues the reply for a message the sink could not take.
    fn storage_failed(&mut self, error: AcceptError) {
        match error {
            AcceptError::Temporary(why) => {
                let text = format!("Message not stored, try again later: {}", sanitize(&why));
                self.reply(451, "4.3.0", &text);
            }
            AcceptError::Permanent(why) => {
                let text = format!("Message refused: {}", sanitize(&why));
                self.reply(554, "5.6.0", &text);
            }
        }
    }

    /// Processes buffered input and says what the driver must do next.
    pub fn next_event(&mut self) -> Event {
        loop {
            match &mut self.state {
                State::Closed => return Event::Close,
                State::AwaitingTls => return Event::StartTls,
                State::AwaitingSink | State::AwaitingStorage => return Event::NeedInput,
                State::DataEnded => {
                    self.state = State::AwaitingSink;
                    return Event::MessageEnd;
                }
                State::Data(reader) => {
                    let rest = self.input.get(self.consumed..).unwrap_or_default();
                    let (used, done) = reader.ingest(rest);
                    self.consumed += used;
                    if !done {
                        self.compact();
                        if let State::Data(reader) = &mut self.state
                            && reader.buffered() >= MESSAGE_CHUNK
                        {
                            return Event::MessageData(reader.take_chunk());
                        }
                        return Event::NeedInput;
                    }
                    let State::Data(reader) = std::mem::replace(&mut self.state, State::Command)
                    else {
                        continue;
                    };
                    if let Some(event) = self.end_of_data(reader) {
                        return event;
                    }
                }
                State::DiscardLine => {
                    let rest = self.input.get(self.consumed..).unwrap_or_default();
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(lf) => {
                            self.consumed += lf + 1;
                            self.state = State::Command;
                            self.error(500, "5.5.2", "Line too long");
                        }
                        None => {
                            self.consumed = self.input.len();
                            self.compact();
                            return Event::NeedInput;
                        }
                    }
                }
                State::Command => {
                    let rest = self.input.get(self.consumed..).unwrap_or_default();
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(lf) if lf < MAX_COMMAND_LINE => {
                            let line = rest.get(..=lf).unwrap_or_default().to_vec();
                            self.consumed += lf + 1;
                            if let Some(event) = self.command(&line) {
                                return event;
                            }
                        }
                        Some(lf) => {
                            self.consumed += lf + 1;
                            self.error(500, "5.5.2", "Line too long");
                        }
                        None if rest.len() >= MAX_COMMAND_LINE => {
                            self.consumed = self.input.len();
                            self.state = State::DiscardLine;
                        }
                        None => {
                            self.compact();
                            return Event::NeedInput;
                        }
                    }
                }
            }
        }
    }

    /// Drops consumed input.
    fn compact(&mut self) {
        if self.consumed >= self.input.len() {
            self.input.clear();
        } else if self.consumed > 0 {
            self.input.drain(..self.consumed);
        }
        self.consumed = 0;
    }

    fn end_of_data(&mut self, reader: DataReader) -> Option<Event> {
        let size = reader.size();
        match reader.finish() {
            Ok(last) => {
                if last.is_empty() {
                    self.state = State::AwaitingSink;
                    return Some(Event::MessageEnd);
                }
                self.state = State::DataEnded;
                Some(Event::MessageData(last))
            }
            Err(reject) => {
                self.transaction = None;
                tracing::info!(client = %self.client_ip, ?reject, size, "message refused at end of data");
                match reject {
                    DataReject::BareLineEnding => self.reply(
                        550,
                        "5.6.0",
                        "Message contains bare CR or LF (SMTP smuggling protection)",
                    ),
                    DataReject::Nul => self.reply(
                        550,
                        "5.6.0",
                        "Message contains NUL octets, which no mail message may contain",
                    ),
                    DataReject::TooBig => self.reply(
                        552,
                        "5.3.4",
                        "Message size exceeds fixed maximum message size",
                    ),
                    DataReject::LineTooLong => self.reply(
                        550,
                        "5.6.0",
                        "Message contains a line longer than 1000 octets (RFC 5321 4.5.3.1.6)",
                    ),
                }
                Some(Event::MessageAbort)
            }
        }
    }

    /// Handles one complete command line (ending in LF, at most 512 octets).
    fn command(&mut self, line: &[u8]) -> Option<Event> {
        let Some(body) = line.strip_suffix(b"\r\n") else {
            self.error(500, "5.5.2", "Bare LF in command line not allowed");
            return None;
        };
        if body.contains(&b'\r') {
            self.error(500, "5.5.2", "Bare CR in command line not allowed");
            return None;
        }
        match Request::parse(&mut line.iter()) {
            Ok(request) => self.request(request, line),
            Err(error) => {
                self.parse_error(error);
                None
            }
        }
    }

    fn parse_error(&mut self, error: ProtoError) {
        match error {
            ProtoError::UnknownCommand => self.error(500, "5.5.2", "Command unrecognized"),
            ProtoError::InvalidSenderAddress => {
                self.error(553, "5.1.7", "Malformed sender address")
            }
            ProtoError::InvalidRecipientAddress => {
                self.error(553, "5.1.3", "Malformed recipient address")
            }
            ProtoError::SyntaxError { syntax } => {
                self.error(501, "5.5.4", &format!("Syntax: {syntax}"))
            }
            ProtoError::InvalidParameter { param } => {
                self.error(501, "5.5.4", &format!("Invalid {param} parameter"))
            }
            ProtoError::UnsupportedParameter { param } => {
                let text = format!("Unsupported parameter {}", sanitize(&param));
                self.error(555, "5.5.4", &text)
            }
            _ => self.error(501, "5.5.4", "Syntax error"),
        }
    }

    fn request(&mut self, request: Request<Cow<'_, str>>, line: &[u8]) -> Option<Event> {
        match request {
            Request::Ehlo { host } => self.hello(&host, true),
            Request::Helo { host } => self.hello(&host, false),
            Request::Mail { from } => self.mail(&from, line),
            Request::Rcpt { to } => self.rcpt(&to, line),
            Request::Data => return self.data(),
            Request::Rset => {
                self.transaction = None;
                self.reply(250, "2.0.0", "Ok");
            }
            Request::Noop { .. } => self.reply(250, "2.0.0", "Ok"),
            Request::Quit => {
                self.close_with(221, "2.0.0", "Bye");
            }
            Request::Vrfy { .. } => self.reply(
                252,
                "2.0.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Request::Help { .. } => {
                self.reply(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS")
            }
            Request::StartTls => return self.starttls(),
            Request::Lhlo { .. }
            | Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.error(502, "5.5.1", "Command not implemented"),
        }
        None
    }

    fn hello(&mut self, host: &str, extended: bool) {
        if host
            .chars()
            .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
        {
            self.error(501, "5.5.4", "Invalid EHLO/HELO hostname");
            return;
        }
        self.transaction = None;
        self.greeting = Some(Greeting {
            host: host.to_owned(),
            extended,
        });
        let name = &self.config.hostname;
        if !extended {
            let _ = write!(self.output, "250 {name}\r\n");
            return;
        }
        let mut lines = vec![
            name.clone(),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.starttls_offered && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            let _ = write!(self.output, "250{sep}{line}\r\n");
        }
    }

    fn mail(&mut self, from: &MailFrom<Cow<'_, str>>, line: &[u8]) {
        let Some(greeting) = &self.greeting else {
            self.error(503, "5.5.1", "Send EHLO/HELO first");
            return;
        };
        if self.transaction.is_some() {
            self.error(503, "5.5.1", "Nested MAIL command");
            return;
        }
        let known_flags = MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_SMTPUTF8;
        let unsupported = from.flags & !known_flags != 0
            || from.trans_id.is_some()
            || from.by != 0
            || from.env_id.is_some()
            || from.solicit.is_some()
            || from.mtrk.is_some()
            || from.auth.is_some()
            || from.hold_for != 0
            || from.hold_until != 0
            || from.mt_priority != 0;
        if unsupported {
            self.error(555, "5.5.4", "Unsupported MAIL parameter");
            return;
        }
        if !greeting.extended && (from.flags != 0 || from.size != 0) {
            self.error(555, "5.5.4", "MAIL parameters need EHLO");
            return;
        }
        if from.size > self.config.max_message_size {
            self.reply(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
            return;
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        let Some(raw) = address::raw_path(line) else {
            self.error(
                501,
                "5.5.4",
                "Syntax: MAIL FROM:<reverse-path> [parameters]",
            );
            return;
        };
        let mail_from = if raw.is_empty() {
            String::new()
        } else {
            match address::mailbox(raw, smtputf8) {
                Ok(mailbox) => mailbox,
                Err(AddressError::Syntax) => {
                    self.error(553, "5.1.7", "Malformed sender address");
                    return;
                }
                Err(AddressError::NeedsSmtpUtf8) => {
                    self.error(553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
                    return;
                }
            }
        };
        self.transaction = Some(Transaction {
            mail_from,
            rcpt_to: Vec::new(),
            smtputf8,
        });
        self.reply(250, "2.1.0", "Ok");
    }

    fn rcpt(&mut self, to: &RcptTo<Cow<'_, str>>, line: &[u8]) {
        let Some(transaction) = &self.transaction else {
            self.error(503, "5.5.1", "Need MAIL command first");
            return;
        };
        if to.flags != 0 || to.orcpt.is_some() || to.rrvs != 0 {
            self.error(555, "5.5.4", "Unsupported RCPT parameter");
            return;
        }
        let Some(raw) = address::raw_path(line) else {
            self.error(501, "5.5.4", "Syntax: RCPT TO:<forward-path> [parameters]");
            return;
        };
        if raw.is_empty() {
            self.error(553, "5.1.3", "Null recipient not allowed");
            return;
        }
        let rcpt = match address::mailbox(raw, transaction.smtputf8) {
            Ok(mailbox) => mailbox,
            Err(AddressError::Syntax) => {
                self.error(553, "5.1.3", "Malformed recipient address");
                return;
            }
            Err(AddressError::NeedsSmtpUtf8) => {
                self.error(553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
                return;
            }
        };
        if !self.relay_allowed {
            tracing::warn!(client = %self.client_ip, "relay attempt from a network not allowed to relay");
            let text = format!(
                "Relaying denied: {} is not allowed to relay through this gateway",
                self.client_ip
            );
            self.error(550, "5.7.1", &text);
            return;
        }
        if transaction.rcpt_to.len() >= self.config.max_recipients {
            self.reply(452, "4.5.3", "Too many recipients");
            return;
        }
        if let Some(transaction) = &mut self.transaction {
            transaction.rcpt_to.push(rcpt);
        }
        self.reply(250, "2.1.5", "Ok");
    }

    fn data(&mut self) -> Option<Event> {
        let Some(transaction) = &self.transaction else {
            self.error(503, "5.5.1", "Need MAIL command first");
            return None;
        };
        if transaction.rcpt_to.is_empty() {
            self.error(554, "5.5.1", "No valid recipients");
            return None;
        }
        let envelope = Envelope {
            mail_from: transaction.mail_from.clone(),
            rcpt_to: transaction.rcpt_to.clone(),
            client_ip: self.client_ip,
            helo: self
                .greeting
                .as_ref()
                .map(|g| g.host.clone())
                .unwrap_or_default(),
            tls: self.tls,
            smtputf8: transaction.smtputf8,
        };
        self.state = State::AwaitingStorage;
        Some(Event::MessageBegin { envelope })
    }

    fn starttls(&mut self) -> Option<Event> {
        if !self.starttls_offered {
            self.error(502, "5.5.1", "STARTTLS not available");
            return None;
        }
        if self.tls {
            self.error(503, "5.5.1", "TLS already active");
            return None;
        }
        if self.transaction.is_some() {
            self.error(
                503,
                "5.5.1",
                "STARTTLS not allowed during a mail transaction",
            );
            return None;
        }
        self.reply(220, "2.0.0", "Ready to start TLS");
        // Anything pipelined after STARTTLS arrived in clear and could have been injected by
        // a man in the middle (CVE-2011-0411 and kin): it must never be executed.
        self.input.clear();
        self.consumed = 0;
        self.state = State::AwaitingTls;
        Some(Event::StartTls)
    }

    /// Queues a single-line reply.
    fn reply(&mut self, code: u16, esc: &str, text: &str) {
        let _ = write!(self.output, "{code} {esc} {text}\r\n");
    }

    /// Queues an error reply and counts it; too many errors close the session.
    fn error(&mut self, code: u16, esc: &str, text: &str) {
        self.reply(code, esc, text);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.max_errors {
            tracing::info!(client = %self.client_ip, errors = self.errors, "too many errors, closing");
            let text = format!("{} Error: too many errors", self.config.hostname);
            self.close_with(421, "4.7.0", &text);
        }
    }

    /// Queues a last reply and closes the session.
    fn close_with(&mut self, code: u16, esc: &str, text: &str) {
        if !self.is_closed() {
            self.reply(code, esc, text);
            self.state = State::Closed;
            self.transaction = None;
            self.input = Vec::new();
            self.consumed = 0;
        }
    }
}

/// Makes text from the client or the sink safe to put in a reply: one line of printable
/// characters, bounded length.
fn sanitize(text: &str) -> String {
    text.chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
