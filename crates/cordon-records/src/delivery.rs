//! Delivery results as the relay reports them and the queue keeps them: the
//! next hop's reply as codes, not text, so that the sender's notice states the
//! status the next hop gave without parsing it back out of an error message.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An RFC 3463 enhanced status code, `class.subject.detail` (`5.1.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StatusCode {
    class: u8,
    subject: u16,
    detail: u16,
}

impl StatusCode {
    /// `5.0.0`: a permanent failure the next hop gave no code for.
    pub const PERMANENT_UNSPECIFIED: StatusCode = StatusCode::new(5, 0, 0);
    /// `4.4.7`: the message could not be delivered before retries ran out
    /// (RFC 3463 "delivery time expired", reported in a failure notice).
    pub const DELIVERY_TIME_EXPIRED: StatusCode = StatusCode::new(4, 4, 7);
    /// `5.7.1`: refused by policy (also used for quarantine that expired).
    pub const POLICY_REFUSED: StatusCode = StatusCode::new(5, 7, 1);

    const fn new(class: u8, subject: u16, detail: u16) -> StatusCode {
        StatusCode {
            class,
            subject,
            detail,
        }
    }

    /// The class digit: 2 success, 4 persistent transient, 5 permanent.
    pub fn class(self) -> u8 {
        self.class
    }

    /// The same subject and detail with class 5: how a failure notice states
    /// a reply the next hop gave as permanent.
    pub fn as_permanent(self) -> StatusCode {
        StatusCode { class: 5, ..self }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why a text is not an enhanced status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3463 status code: {0:?}")]
pub struct NotAStatusCode(String);

impl FromStr for StatusCode {
    type Err = NotAStatusCode;

    /// Parses `class.subject.detail`: class 2, 4 or 5, subject and detail of
    /// one to three digits (RFC 3463 section 2).
    fn from_str(text: &str) -> Result<StatusCode, NotAStatusCode> {
        let invalid = || NotAStatusCode(text.to_owned());
        let mut parts = text.split('.');
        let (Some(class), Some(subject), Some(detail), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let number = |part: &str| -> Option<u16> {
            let digits = (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| part.parse().ok()).flatten()
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return Err(invalid()),
        };
        match (number(subject), number(detail)) {
            (Some(subject), Some(detail)) => Ok(StatusCode::new(class, subject, detail)),
            _ => Err(invalid()),
        }
    }
}

impl TryFrom<String> for StatusCode {
    type Error = NotAStatusCode;

    fn try_from(text: String) -> Result<StatusCode, NotAStatusCode> {
        text.parse()
    }
}

impl From<StatusCode> for String {
    fn from(code: StatusCode) -> String {
        code.to_string()
    }
}

/// A failed delivery to one recipient: the next hop's reply when it gave one
/// (its three-digit code and, when the reply starts with one, its enhanced
/// status code), and the text for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailure {
    /// The reply's three-digit code (`550`); none when the attempt failed
    /// without a reply (no connection, a timeout, a TLS failure).
    pub reply_code: Option<u16>,
    /// The reply's enhanced status code (`5.1.1`), when it gave one.
    pub status: Option<StatusCode>,
    /// The reply's text after the codes, or what went wrong.
    pub text: String,
}

impl DeliveryFailure {
    /// A failure without a reply from the next hop.
    pub fn without_reply(text: impl Into<String>) -> DeliveryFailure {
        DeliveryFailure {
            reply_code: None,
            status: None,
            text: text.into(),
        }
    }

    /// A reply from the next hop: `code` and its text, whose first word is
    /// taken as the enhanced status code when it is one of the same class
    /// (RFC 2034 section 3).
    pub fn from_reply(code: u16, text: &str) -> DeliveryFailure {
        let text = text.trim();
        let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        match first.parse::<StatusCode>() {
            Ok(status) if u16::from(status.class()) == code / 100 => DeliveryFailure {
                reply_code: Some(code),
                status: Some(status),
                text: rest.trim_start().to_owned(),
            },
            _ => DeliveryFailure {
                reply_code: Some(code),
                status: None,
                text: text.to_owned(),
            },
        }
    }

    /// The status for the sender's failure notice: the next hop's enhanced
    /// code stated as permanent, else `5.0.0`.
    pub fn permanent_status(&self) -> StatusCode {
        self.status
            .map_or(StatusCode::PERMANENT_UNSPECIFIED, StatusCode::as_permanent)
    }
}

impl fmt::Display for DeliveryFailure {
    /// As an SMTP reply line reads: `550 5.1.1 no such user`, or the text
    /// alone when there was no reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.reply_code {
            write!(f, "{code} ")?;
        }
        if let Some(status) = self.status {
            write!(f, "{status} ")?;
        }
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_parse_as_rfc_3463_defines_them() {
        assert_eq!("5.1.1".parse(), Ok(StatusCode::new(5, 1, 1)));
        assert_eq!("4.4.7".parse(), Ok(StatusCode::DELIVERY_TIME_EXPIRED));
        assert_eq!("2.0.0".parse::<StatusCode>().map(|c| c.class()), Ok(2));
        assert_eq!("5.7.123".parse(), Ok(StatusCode::new(5, 7, 123)));
        for text in [
            "3.1.1", "5.1", "5.1.1.1", "5..1", "5.1.1234", "5.a.1", "", "550",
        ] {
            assert!(text.parse::<StatusCode>().is_err(), "{text}");
        }
        assert_eq!(StatusCode::new(4, 2, 2).as_permanent().to_string(), "5.2.2");
    }

    #[test]
    fn a_reply_keeps_its_codes_apart_from_its_text() {
        let f = DeliveryFailure::from_reply(550, "5.1.1 no such user");
        assert_eq!(f.reply_code, Some(550));
        assert_eq!(f.status, Some(StatusCode::new(5, 1, 1)));
        assert_eq!(f.text, "no such user");
        assert_eq!(f.to_string(), "550 5.1.1 no such user");
        assert_eq!(f.permanent_status().to_string(), "5.1.1");

        // no enhanced code, or one of another class: text kept whole
        let f = DeliveryFailure::from_reply(554, "refused");
        assert_eq!((f.status, f.to_string()), (None, "554 refused".to_owned()));
        assert_eq!(f.permanent_status(), StatusCode::PERMANENT_UNSPECIFIED);
        let f = DeliveryFailure::from_reply(451, "5.1.1 odd");
        assert_eq!((f.status, f.text.as_str()), (None, "5.1.1 odd"));

        let f = DeliveryFailure::without_reply("cannot connect to relay:25");
        assert_eq!(f.to_string(), "cannot connect to relay:25");
        assert_eq!(f.permanent_status().to_string(), "5.0.0");
    }

    #[test]
    fn a_failure_round_trips_through_its_stored_form() {
        let f = DeliveryFailure::from_reply(452, "4.2.2 mailbox full");
        let json = serde_json::to_string(&f).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"reply_code":452,"status":"4.2.2","text":"mailbox full"}"#
        );
        assert_eq!(serde_json::from_str::<DeliveryFailure>(&json).ok(), Some(f));
        assert!(serde_json::from_str::<StatusCode>(r#""9.9.9""#).is_err());
    }
}
