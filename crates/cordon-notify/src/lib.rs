//! Messages cordon itself sends to senders.
//!
//! For now one kind: the RFC 3464 delivery status notification for recipients
//! that were rejected by policy or could not be delivered. Its first part says
//! in plain words what happened and why; the `message/delivery-status` part
//! gives each failed recipient's status; the last part carries the original
//! headers only, never the body, which may be the very data that must not
//! travel again. Notices carry `Auto-Submitted: auto-replied` so that no
//! auto-responder answers them, and are sent from the null sender so that no
//! notice is ever sent about a notice.

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;
use mail_parser::MimeHeaders;
use memchr::memmem;

/// One recipient the notice reports as failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRecipient {
    /// The recipient address.
    pub address: String,
    /// RFC 3463 status, e.g. `5.7.1` (refused by policy) or `5.4.7` (gave up).
    pub status: String,
    /// The diagnostic: the next hop's reply, or the policy reason.
    pub diagnostic: String,
    /// What the sender should read about this recipient, in plain words.
    pub explanation: String,
}

/// What a delivery status notification needs.
#[derive(Clone, Debug)]
pub struct Notice<'a> {
    /// This gateway's host name (`Reporting-MTA`).
    pub reporting_mta: &'a str,
    /// The address notices come from, e.g. `postmaster@northshire.police.uk`.
    pub postmaster: &'a str,
    /// The original envelope sender, who receives the notice.
    pub sender: &'a str,
    /// The queue id of the original message.
    pub queue_id: &'a str,
    /// The original message (only its headers are copied).
    pub original: &'a [u8],
    /// The failed recipients.
    pub failed: Vec<FailedRecipient>,
    /// Recipients that were delivered, listed so the sender knows who got it.
    pub delivered: Vec<String>,
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
    let headers = &message[..header_end(message)];
    let parsed = mail_parser::MessageParser::new().parse_headers(headers);
    let Some(parsed) = parsed else { return false };
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

/// Byte offset just past the header block (the blank line), or the whole message.
fn header_end(message: &[u8]) -> usize {
    let crlf = memmem::find(message, b"\r\n\r\n").map(|i| i + 4);
    let lf = memmem::find(message, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => message.len(),
    }
}

/// The subject of the original message, for the notice's own subject.
fn original_subject(message: &[u8]) -> Option<String> {
    let parsed =
        mail_parser::MessageParser::new().parse_headers(&message[..header_end(message)])?;
    parsed.subject().map(str::to_owned)
}

/// Builds the RFC 3464 notification as message bytes.
pub fn delivery_status_notification(notice: &Notice) -> Vec<u8> {
    let subject = match original_subject(notice.original) {
        Some(s) => format!("Undelivered: {s}"),
        None => "Undelivered mail".to_owned(),
    };
    let mut text =
        String::from("Your message could not be delivered to some of its recipients.\r\n\r\n");
    for f in &notice.failed {
        text.push_str(&format!(
            "Not delivered to {}:\r\n  {}\r\n\r\n",
            f.address, f.explanation
        ));
    }
    if !notice.delivered.is_empty() {
        text.push_str("It was delivered to:\r\n");
        for d in &notice.delivered {
            text.push_str(&format!("  {d}\r\n"));
        }
        text.push_str("\r\n");
    }
    text.push_str(&format!("Reference: {}\r\n", notice.queue_id));

    let mut status = format!(
        "Reporting-MTA: dns; {}\r\nX-Cordon-Queue-Id: {}\r\n",
        notice.reporting_mta, notice.queue_id
    );
    for f in &notice.failed {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            f.address,
            f.status,
            one_line(&f.diagnostic)
        ));
    }
    let headers = notice.original[..header_end(notice.original)].to_vec();

    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new("text/plain", text),
            MimePart::new("message/delivery-status", status.into_bytes()).transfer_encoding("7bit"),
            MimePart::new("text/rfc822-headers", headers).transfer_encoding("7bit"),
        ],
    );
    MessageBuilder::new()
        .from(("Mail Delivery System", notice.postmaster))
        .to(notice.sender)
        .subject(subject)
        .header("Auto-Submitted", Text::new("auto-replied"))
        .body(report)
        .write_to_vec()
        .unwrap_or_default()
}

/// Diagnostic text on one line, as a header field needs.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};

    const ORIGINAL: &[u8] = b"From: sam.okafor@northshire.police.uk\r\nTo: a@gmail.com\r\nSubject: rota\r\n\r\nSECRET BODY NI JM 41 29 87 B\r\n";

    fn notice() -> Notice<'static> {
        Notice {
            reporting_mta: "cordon.northshire.police.uk",
            postmaster: "postmaster@northshire.police.uk",
            sender: "sam.okafor@northshire.police.uk",
            queue_id: "01JDQ3Z5K6M7N8P9Q0R1S2T3V4",
            original: ORIGINAL,
            failed: vec![FailedRecipient {
                address: "a@gmail.com".into(),
                status: "5.7.1".into(),
                diagnostic: "refused by policy: official-sensitive-to-insecure".into(),
                explanation: "The message is marked OFFICIAL-SENSITIVE ...".into(),
            }],
            delivered: vec!["k.hughes@northshire.police.uk".into()],
        }
    }

    #[test]
    fn is_a_delivery_status_report_with_headers_only() {
        let bytes = delivery_status_notification(&notice());
        let parsed = MessageParser::default().parse(&bytes).expect("parses");
        let ct = parsed.content_type().expect("content type");
        assert_eq!(ct.ctype(), "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        assert_eq!(parsed.subject(), Some("Undelivered: rota"));
        assert_eq!(
            parsed.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-replied")
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Final-Recipient: rfc822; a@gmail.com"));
        assert!(text.contains("Action: failed"));
        assert!(text.contains("Status: 5.7.1"));
        assert!(text.contains("k.hughes@northshire.police.uk"));
        assert!(
            text.contains("Subject: rota"),
            "original headers are included"
        );
        assert!(
            !text.contains("SECRET BODY"),
            "the original body is never included"
        );
        assert!(!text.contains("JM 41 29 87 B"));
    }

    #[test]
    fn automatic_messages_get_no_notice() {
        assert!(is_automatic("", ORIGINAL));
        assert!(is_automatic("<>", ORIGINAL));
        assert!(!is_automatic("sam@northshire.police.uk", ORIGINAL));
        let auto = b"From: x@y.uk\r\nAuto-Submitted: auto-replied\r\n\r\nbody";
        assert!(is_automatic("x@y.uk", auto));
        let dsn = delivery_status_notification(&notice());
        assert!(is_automatic("postmaster@northshire.police.uk", &dsn));
    }
}
