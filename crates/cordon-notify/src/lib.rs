//! The messages cordon sends to the people who send mail through it.
//!
//! Staff see cordon mostly through these notices, so each says what happened
//! to every recipient, which rule applied and the policy behind it, the
//! evidence (redacted and located), what to do instead, and the reference to
//! quote. The wording lives in minijinja templates in `rules/notices/`
//! ([`Templates`]), checked at load; the facts come from the verdict
//! ([`NoticeFacts`]).
//!
//! Notices that report failed recipients (rejected by policy or by an
//! officer, expired, undeliverable) are RFC 3464 delivery status
//! notifications: a text-and-HTML explanation, a `message/delivery-status`
//! part, and the original headers only, never the body, which may be the
//! very data that must not travel again. Every notice carries
//! `Auto-Submitted: auto-replied` and is sent from the null sender, so that
//! no notice is ever sent about a notice ([`is_automatic`]).

mod compose;
mod facts;
mod templates;
mod wording;

use std::path::PathBuf;

use mail_parser::MimeHeaders;

pub use compose::Origin;
pub use facts::{
    AffectedRecipient, EvidenceFacts, ForceFacts, NoticeFacts, NoticeKind, ReasonFacts,
    reasons_from_verdict, uninspected_reason,
};
pub use templates::{NOTICES_DIR, Rendered, Templates};
pub use wording::{DetectorNouns, describe_detector, describe_evidence, describe_location};

/// The notice templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// A template file or the directory could not be read.
    #[error("cannot read notice templates at {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template is invalid or fails to render.
    #[error("notice template {origin}: {message}")]
    Template {
        /// The file (or `built-in`).
        origin: String,
        /// What is wrong, with the line.
        message: String,
    },
}

impl Templates {
    /// Renders the notice for `facts` and builds the message to send.
    pub fn compose(&self, facts: &NoticeFacts, origin: &Origin) -> Result<Vec<u8>, NoticeError> {
        let rendered = self.render(facts)?;
        Ok(compose::compose(&rendered, facts, origin))
    }
}

/// True when a message must never get a notice: it comes from the null sender,
/// or it is itself an automatic message (RFC 3834 `Auto-Submitted`, or a
/// delivery status report).
pub fn is_automatic(sender: &str, message: &[u8]) -> bool {
    if sender
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .is_empty()
    {
        return true;
    }
    let headers = &message[..compose::header_end(message)];
    let Some(parsed) = mail_parser::MessageParser::new().parse_headers(headers) else {
        return false;
    };
    let auto = parsed
        .header_raw("Auto-Submitted")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let report = parsed.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    auto || report
}

#[cfg(test)]
mod tests;
