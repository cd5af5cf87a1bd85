//! Outbound delivery. A [`Transport`] takes one message for several recipients
//! and reports the outcome for each recipient separately, because the gateway
//! retries, bounces or records each recipient on its own.
//!
//! Two transports: [`Outbox`] writes each delivery into a local directory (the
//! embedded default, so the gateway runs on a fresh machine), and [`Smarthost`]
//! relays to the force's smarthost over SMTP.

mod outbox;
mod smarthost;
mod tls;

use std::future::Future;

pub use cordon_records::DeliveryFailure;
pub use outbox::Outbox;
pub use smarthost::{Smarthost, SmarthostConfig};
pub use tls::{StartTls, TlsSetupError};

/// What happened to one recipient of a delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The next hop accepted responsibility for the message.
    Delivered,
    /// Try again later (4xx reply, connection refused, timeout).
    Temporary(DeliveryFailure),
    /// Do not try again (5xx reply): the sender gets a delivery status notification.
    Permanent(DeliveryFailure),
}

impl Outcome {
    /// A temporary failure without a reply from the next hop.
    pub fn temporary(text: impl Into<String>) -> Outcome {
        Outcome::Temporary(DeliveryFailure::without_reply(text))
    }

    /// A permanent failure without a reply from the next hop.
    pub fn permanent(text: impl Into<String>) -> Outcome {
        Outcome::Permanent(DeliveryFailure::without_reply(text))
    }
}

/// A way to hand messages to the next hop.
pub trait Transport: Send + Sync + 'static {
    /// Delivers `message` from `mail_from` (`""` is the null sender) to every
    /// address in `rcpt_to`, returning one outcome per recipient, in order.
    fn deliver(
        &self,
        mail_from: &str,
        rcpt_to: &[String],
        message: &[u8],
    ) -> impl Future<Output = Vec<Outcome>> + Send;
}

/// The transport chosen by configuration: the outbox when no smarthost is
/// configured (the embedded default), else the smarthost.
#[derive(Debug)]
pub enum Relay {
    /// Deliveries into a local directory.
    Outbox(Outbox),
    /// Deliveries to the smarthost.
    Smarthost(Smarthost),
}

impl Transport for Relay {
    async fn deliver(&self, mail_from: &str, rcpt_to: &[String], message: &[u8]) -> Vec<Outcome> {
        match self {
            Relay::Outbox(outbox) => outbox.deliver(mail_from, rcpt_to, message).await,
            Relay::Smarthost(smarthost) => smarthost.deliver(mail_from, rcpt_to, message).await,
        }
    }
}
