//! The milter front door. A force that keeps Postfix (or Sendmail) as its
//! edge calls cordon as a milter, as it calls rspamd or OpenDKIM: the MTA
//! passes each message to cordon at the end of its DATA, cordon judges it
//! with the same policy as in relay mode, and then, per recipient:
//!
//! - **deliver**: the recipient stays in the MTA's transaction and the copy
//!   gets an `X-Cordon-Verdict` header;
//! - **hold** or **reject**: the recipient is removed from the transaction
//!   and the message is handed to the gateway for those recipients only
//!   ([`Front::take_over`]), which judges it again (the same verdict),
//!   keeps it in quarantine or refuses it, and tells the sender, exactly as
//!   for a message received over SMTP. A released message leaves through
//!   cordon's own relay path, so it never meets the milter again.
//!
//! When no recipient is left, a message every recipient of which is
//! rejected is refused (`550 5.7.1`, with the reason); otherwise it is
//! accepted and discarded: cordon has it. Whatever fails (inspection, the
//! hand-over) answers a temporary failure, so the MTA keeps the message
//! and tries again: nothing leaves uninspected.

use std::ffi::CString;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use cordon_inspect::{Action, Envelope as InspectEnvelope, Verdict};
use indymilter::{
    Actions, Callbacks, Config, ContextActions, EomContext, SetErrorReply, SocketInfo, Status,
};

/// What the milter needs from the gateway.
pub trait Front: Send + Sync + 'static {
    /// The verdict on `message` (off the async runtime's workers).
    fn inspect(
        &self,
        message: Arc<Vec<u8>>,
        envelope: InspectEnvelope,
    ) -> impl Future<Output = Result<Verdict, String>> + Send;

    /// Takes the message over for `envelope`'s recipients (the ones not
    /// delivered): spools it and processes it as if it had come over SMTP.
    /// `Ok` only once it is durably spooled; returns its queue id.
    fn take_over(
        &self,
        envelope: cordon_smtp::Envelope,
        message: Vec<u8>,
    ) -> impl Future<Output = Result<String, String>> + Send;

    /// Records the verdict on recipients the MTA delivers or refuses itself
    /// (metrics and the audit chain), under the MTA's queue id.
    fn record(&self, reference: &str, verdict: &Verdict) -> impl Future<Output = ()> + Send;

    /// This gateway's host name, for the verdict header.
    fn hostname(&self) -> String;
}

/// One MTA connection's state.
#[derive(Debug, Default)]
struct Transaction {
    client_ip: Option<IpAddr>,
    helo: String,
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message as the MTA passed it: headers, blank line, body.
    message: Vec<u8>,
    /// The most bytes kept; beyond it the message is refused.
    max_message: usize,
    too_large: bool,
}

impl Transaction {
    /// Starts a new message on the same connection.
    fn reset_message(&mut self) {
        self.mail_from.clear();
        self.rcpt_to.clear();
        self.message.clear();
        self.too_large = false;
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.message.len() + bytes.len() > self.max_message {
            self.too_large = true;
            return;
        }
        self.message.extend_from_slice(bytes);
    }
}

/// The address inside `<...>`, as MAIL and RCPT give it.
fn address(args: &[CString]) -> String {
    let first = args
        .first()
        .map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned())
        .unwrap_or_default();
    first
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// Runs the milter on `listener` until `shutdown` completes. A message
/// larger than `max_message` bytes (cordon's own SMTP limit) is refused
/// with `552 5.3.4`: it cannot be inspected whole, so it must not pass.
pub async fn serve<F: Front>(
    listener: tokio::net::TcpListener,
    front: Arc<F>,
    max_message: usize,
    shutdown: impl Future,
) -> std::io::Result<()> {
    let eom_front = Arc::clone(&front);
    let callbacks = Callbacks::<Transaction>::new()
        .on_negotiate(|cx, _, _| {
            Box::pin(async move {
                cx.requested_actions |= Actions::DELETE_RCPT | Actions::ADD_HEADER;
                Status::Continue
            })
        })
        .on_connect(move |cx, _, socket| {
            Box::pin(async move {
                let client_ip = match socket {
                    SocketInfo::Inet(addr) => Some(addr.ip()),
                    _ => None,
                };
                cx.data = Some(Transaction {
                    client_ip,
                    max_message,
                    ..Transaction::default()
                });
                Status::Continue
            })
        })
        .on_helo(|cx, name| {
            Box::pin(async move {
                let t = cx.data.get_or_insert_with(Transaction::default);
                t.helo = String::from_utf8_lossy(name.as_bytes()).into_owned();
                Status::Continue
            })
        })
        .on_mail(|cx, args| {
            Box::pin(async move {
                let t = cx.data.get_or_insert_with(Transaction::default);
                t.reset_message();
                t.mail_from = address(&args);
                Status::Continue
            })
        })
        .on_rcpt(|cx, args| {
            Box::pin(async move {
                let t = cx.data.get_or_insert_with(Transaction::default);
                t.rcpt_to.push(address(&args));
                Status::Continue
            })
        })
        .on_header(|cx, name, value| {
            Box::pin(async move {
                let t = cx.data.get_or_insert_with(Transaction::default);
                let mut line = name.into_bytes();
                line.extend_from_slice(b": ");
                // A folded value comes with bare LFs: give the lines CRLF.
                for (i, part) in value.as_bytes().split(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        line.extend_from_slice(b"\r\n");
                    }
                    line.extend_from_slice(part.strip_suffix(b"\r").unwrap_or(part));
                }
                line.extend_from_slice(b"\r\n");
                t.append(&line);
                Status::Continue
            })
        })
        .on_eoh(|cx| {
            Box::pin(async move {
                cx.data
                    .get_or_insert_with(Transaction::default)
                    .append(b"\r\n");
                Status::Continue
            })
        })
        .on_body(|cx, chunk| {
            Box::pin(async move {
                cx.data
                    .get_or_insert_with(Transaction::default)
                    .append(&chunk);
                Status::Continue
            })
        })
        .on_eom(move |cx| {
            let front = Arc::clone(&eom_front);
            Box::pin(async move { end_of_message(cx, front.as_ref()).await })
        })
        .on_abort(|cx| {
            Box::pin(async move {
                if let Some(t) = cx.data.as_mut() {
                    t.reset_message();
                }
                Status::Continue
            })
        });
    let config = Config {
        actions: Actions::DELETE_RCPT | Actions::ADD_HEADER,
        ..Config::default()
    };
    indymilter::run(listener, callbacks, config, shutdown).await
}

/// Judges the message and tells the MTA what to do with each recipient.
async fn end_of_message<F: Front>(cx: &mut EomContext<Transaction>, front: &F) -> Status {
    let Some(t) = cx.data.as_mut() else {
        return tempfail(cx, "no transaction");
    };
    if t.too_large {
        tracing::warn!(sender = %t.mail_from, limit = t.max_message, "milter: a message too large to inspect refused");
        let _ = cx.reply.set_error_reply(
            "552",
            Some("5.3.4"),
            ["Message too large for inspection by cordon"],
        );
        return Status::Reject;
    }
    let message = Arc::new(std::mem::take(&mut t.message));
    let (mail_from, rcpt_to) = (t.mail_from.clone(), std::mem::take(&mut t.rcpt_to));
    let (client_ip, helo) = (t.client_ip, t.helo.clone());
    let envelope = InspectEnvelope {
        mail_from: Some(mail_from.clone()),
        rcpt_to: rcpt_to.clone(),
    };
    let verdict = match front.inspect(Arc::clone(&message), envelope).await {
        Ok(verdict) => verdict,
        Err(e) => return tempfail(cx, &format!("inspection failed: {e}")),
    };
    let action_of = |rcpt: &str| {
        verdict
            .recipients
            .iter()
            .find(|v| v.address.eq_ignore_ascii_case(rcpt))
            .map_or(Action::Hold, |v| v.action)
    };
    let (delivered, stopped): (Vec<String>, Vec<String>) = rcpt_to
        .iter()
        .cloned()
        .partition(|r| action_of(r) == Action::Deliver);
    let reference = cx
        .macros
        .get(c"i")
        .map(|id| String::from_utf8_lossy(id.to_bytes()).into_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let reference = format!("milter:{reference}");
    let rejected_all =
        delivered.is_empty() && stopped.iter().all(|r| action_of(r) == Action::Reject);
    if rejected_all && !stopped.is_empty() {
        let reason = verdict
            .recipients
            .iter()
            .flat_map(|r| r.reasons.first())
            .map(|r| r.explanation.clone())
            .next()
            .unwrap_or_else(|| "the force's policy does not allow this message".to_owned());
        tracing::info!(sender = %mail_from, recipients = ?stopped, %reference, "milter: every recipient rejected");
        front.record(&reference, &verdict).await;
        let text: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(900)
            .collect();
        let _ = cx.reply.set_error_reply("550", Some("5.7.1"), [text]);
        return Status::Reject;
    }
    if !stopped.is_empty() {
        let envelope = cordon_smtp::Envelope {
            mail_from: mail_from.clone(),
            rcpt_to: stopped.clone(),
            client_ip: client_ip.unwrap_or(IpAddr::from([127, 0, 0, 1])),
            helo,
            tls: false,
            smtputf8: false,
        };
        let queue_id = match front.take_over(envelope, message.as_ref().clone()).await {
            Ok(id) => id,
            Err(e) => return tempfail(cx, &format!("cannot keep the message: {e}")),
        };
        for rcpt in &stopped {
            if let Err(e) = cx.actions.delete_recipient(format!("<{rcpt}>")).await {
                return tempfail(cx, &format!("cannot remove a recipient: {e}"));
            }
        }
        tracing::info!(sender = %mail_from, held_or_rejected = ?stopped, %queue_id, "milter: recipients taken over");
    }
    if delivered.is_empty() {
        return Status::Discard;
    }
    // The recipients taken over are recorded when the gateway judges them.
    let mut passed = verdict.clone();
    passed
        .recipients
        .retain(|r| delivered.iter().any(|d| d.eq_ignore_ascii_case(&r.address)));
    front.record(&reference, &passed).await;
    let level = verdict.classification.level;
    let detectors = verdict.detectors();
    let findings = if detectors.is_empty() {
        "none".to_owned()
    } else {
        detectors.join(",")
    };
    let header = format!(
        "deliver; level={level}; findings={findings}; by={}; milter",
        front.hostname()
    );
    if let Err(e) = cx.actions.add_header("X-Cordon-Verdict", header).await {
        return tempfail(cx, &format!("cannot add the verdict header: {e}"));
    }
    Status::Continue
}

/// A temporary failure: the MTA keeps the message and tries again.
fn tempfail(cx: &mut EomContext<Transaction>, why: &str) -> Status {
    tracing::error!(
        reason = why,
        "milter: temporary failure; the MTA keeps the message"
    );
    let _ = cx.reply.set_error_reply(
        "451",
        Some("4.3.0"),
        ["cordon cannot inspect the message now; try again later"],
    );
    Status::Tempfail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_out_of_their_angle_brackets() {
        let args = |s: &str| vec![CString::new(s).expect("no NUL")];
        assert_eq!(
            address(&args("<sam.okafor@northshire.police.uk>")),
            "sam.okafor@northshire.police.uk"
        );
        assert_eq!(address(&args("<>")), "");
        assert_eq!(address(&args("plain@example.org")), "plain@example.org");
        assert_eq!(address(&[]), "");
    }

    #[test]
    fn a_transaction_over_the_limit_is_marked_not_grown() {
        let mut t = Transaction {
            max_message: 1000,
            ..Transaction::default()
        };
        t.append(b"Subject: x\r\n");
        let big = vec![b'x'; 1000];
        t.append(&big);
        assert!(t.too_large);
        assert_eq!(t.message, b"Subject: x\r\n");
        t.reset_message();
        assert!(!t.too_large && t.message.is_empty());
    }
}
