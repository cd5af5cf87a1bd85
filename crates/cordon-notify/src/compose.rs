//! A rendered notice as a message: an RFC 3464 delivery status notification
//! for the kinds that report failed recipients, a plain text-and-HTML message
//! for the others.

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;
use mail_parser::MessageParser;

use crate::facts::NoticeFacts;
use crate::templates::Rendered;

/// Who sends the notice and about what.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// This gateway's host name (`Reporting-MTA`).
    pub reporting_mta: &'a str,
    /// The address notices come from, e.g. `postmaster@northshire.police.uk`.
    pub postmaster: &'a str,
    /// The original message; only its header block is ever copied.
    pub original: &'a [u8],
}

/// Builds the notice message.
pub(crate) fn compose(rendered: &Rendered, facts: &NoticeFacts, origin: &Origin) -> Vec<u8> {
    let headers = &origin.original[..header_end(origin.original)];
    let original_id = MessageParser::new()
        .parse_headers(headers)
        .and_then(|m| m.message_id().map(str::to_owned));
    let alternative = MimePart::new(
        "multipart/alternative",
        vec![
            MimePart::new("text/plain", rendered.text.replace("\r\n", "\n")),
            MimePart::new("text/html", rendered.html.clone()),
        ],
    );
    let body = if facts.kind.is_failure_report() {
        let encoding = if headers.is_ascii() { "7bit" } else { "8bit" };
        MimePart::new(
            ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
            vec![
                alternative,
                MimePart::new("message/delivery-status", delivery_status(facts, origin))
                    .transfer_encoding("7bit"),
                MimePart::new("text/rfc822-headers", headers.to_vec()).transfer_encoding(encoding),
            ],
        )
    } else {
        alternative
    };
    let mut message = MessageBuilder::new()
        .from((
            format!("{} mail gateway", facts.force.name),
            origin.postmaster.to_owned(),
        ))
        .to(facts.sender.as_str())
        .subject(rendered.subject.as_str())
        .header("Auto-Submitted", Text::new("auto-replied"))
        .header("X-Cordon-Notice", Text::new(facts.kind.as_str()))
        .header("X-Cordon-Reference", Text::new(facts.reference.as_str()))
        .body(body);
    if let Some(id) = original_id {
        message = message.in_reply_to(id.clone()).references(id);
    }
    message.write_to_vec().unwrap_or_default()
}

/// The machine-readable part: one block per reported recipient.
fn delivery_status(facts: &NoticeFacts, origin: &Origin) -> Vec<u8> {
    let mut status = format!(
        "Reporting-MTA: dns; {}\r\nX-Cordon-Reference: {}\r\n",
        one_line(origin.reporting_mta),
        facts.reference
    );
    if let Ok(arrival) = jiff::Timestamp::from_second(facts.received_at as i64) {
        status.push_str(&format!(
            "Arrival-Date: {}\r\n",
            jiff::fmt::rfc2822::to_string(&arrival.to_zoned(jiff::tz::TimeZone::UTC))
                .unwrap_or_default()
        ));
    }
    let failed = facts.rejected.iter().chain(&facts.failed);
    for r in failed {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            one_line(&r.address),
            one_line(&r.status),
            one_line(&r.diagnostic)
        ));
    }
    for r in &facts.held {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: delayed\r\nStatus: 4.7.0\r\nDiagnostic-Code: smtp; held for review by Information Security, reference {}\r\n",
            one_line(&r.address),
            facts.reference
        ));
    }
    // Header fields are 7-bit; an international address is reported as is
    // only if it is ASCII, otherwise replaced (RFC 6533 would use utf-8 types).
    status
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect::<String>()
        .into_bytes()
}

/// Byte offset just past the header block (the blank line), or the whole message.
pub(crate) fn header_end(message: &[u8]) -> usize {
    let crlf = memchr::memmem::find(message, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(message, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => message.len(),
    }
}

/// Text on one line without control characters, as a header field needs.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
