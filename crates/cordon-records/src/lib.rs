//! The records that cross crates: the verdict as the gateway stores it, the
//! findings and per-recipient reasons kept with a quarantine entry, and the
//! result of a failed delivery (the next hop's codes), typed and
//! with a versioned encoding, so that the gateway, the notices and the console
//! read the same fields and a renamed or missing field is an error, not a
//! silent default.
//!
//! Encodings (all JSON):
//! - verdict: version 1 is the verdict object with `"v": 1` added; version 0
//!   (written before versions existed) is the same object without `"v"`.
//! - findings and reasons: version 1 is `{"v": 1, "findings": [...]}` and
//!   `{"v": 1, "recipients": [...]}`; version 0 is the bare array.
//!
//! Unknown fields are ignored (a newer writer may add some); a version this
//! build does not know, or a record that does not decode, is a
//! [`RecordError`] for the caller to handle.

mod delivery;
mod verdict;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use delivery::{DeliveryFailure, NotAStatusCode, StatusCode};
pub use verdict::{
    Action, Classification, DomainClass, Evidence, Finding, Level, Marking, Reason,
    RecipientReasons, StoredVerdict,
};

/// The version this build writes.
pub const CURRENT_VERSION: u64 = 1;

/// The key of the version in a record's object.
const VERSION_KEY: &str = "v";
/// The key of the findings list in a version 1 findings record.
const FINDINGS_KEY: &str = "findings";
/// The key of the recipients list in a version 1 reasons record.
const RECIPIENTS_KEY: &str = "recipients";

/// Why a stored record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The text is not JSON at all.
    #[error("stored {what} is not JSON: {source}")]
    NotJson {
        /// Which record: `verdict`, `findings` or `reasons`.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The record names a version this build does not read.
    #[error("stored {what} has version {version}; this build reads 0 to {CURRENT_VERSION}")]
    UnknownVersion {
        /// Which record.
        what: &'static str,
        /// The version as written.
        version: String,
    },
    /// The JSON is not the shape of any version (e.g. an object where a
    /// list is expected).
    #[error("stored {what} has an unexpected shape: {problem}")]
    Shape {
        /// Which record.
        what: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The shape is right but a field is missing or of the wrong type.
    #[error("stored {what} does not decode: {source}")]
    Malformed {
        /// Which record.
        what: &'static str,
        /// The decoder's error, naming the field.
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be encoded (not expected for these types).
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// Which record.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

/// The version 1 encoding of a verdict: its object with `"v": 1`.
pub fn encode_verdict(verdict: &StoredVerdict) -> Result<String, RecordError> {
    /// The verdict's fields with the version in front.
    #[derive(Serialize)]
    struct Versioned<'a> {
        v: u64,
        #[serde(flatten)]
        verdict: &'a StoredVerdict,
    }
    serde_json::to_string(&Versioned {
        v: CURRENT_VERSION,
        verdict,
    })
    .map_err(|source| RecordError::Encode {
        what: "verdict",
        source,
    })
}

/// Decodes a stored verdict of any known version.
pub fn decode_verdict(text: &str) -> Result<StoredVerdict, RecordError> {
    const WHAT: &str = "verdict";
    let mut object = match parse(text, WHAT)? {
        Value::Object(object) => object,
        _ => {
            return Err(RecordError::Shape {
                what: WHAT,
                problem: "not a JSON object",
            });
        }
    };
    check_version(&object, WHAT)?;
    object.remove(VERSION_KEY);
    decode_value(Value::Object(object), WHAT)
}

/// The version 1 encoding of a quarantine entry's findings.
pub fn encode_findings(findings: &[Finding]) -> Result<String, RecordError> {
    encode_list(findings, FINDINGS_KEY, "findings")
}

/// Decodes stored findings of any known version; one damaged element makes
/// the whole an error (see [`findings_elements`] to read leniently).
pub fn decode_findings(text: &str) -> Result<Vec<Finding>, RecordError> {
    decode_value(Value::Array(findings_elements(text)?), "findings")
}

/// The elements of stored findings of any known version, as written and not
/// yet decoded: for a reader that passes them on as written, or decodes each
/// on its own ([`decode_element`]) to skip the damaged ones.
pub fn findings_elements(text: &str) -> Result<Vec<Value>, RecordError> {
    list_elements(text, FINDINGS_KEY, "findings")
}

/// The version 1 encoding of a quarantine entry's per-recipient reasons.
pub fn encode_reasons(recipients: &[RecipientReasons]) -> Result<String, RecordError> {
    encode_list(recipients, RECIPIENTS_KEY, "reasons")
}

/// Decodes stored per-recipient reasons of any known version; one damaged
/// element makes the whole an error (see [`reasons_elements`]).
pub fn decode_reasons(text: &str) -> Result<Vec<RecipientReasons>, RecordError> {
    decode_value(Value::Array(reasons_elements(text)?), "reasons")
}

/// The elements of stored per-recipient reasons of any known version, as
/// written and not yet decoded (see [`findings_elements`]).
pub fn reasons_elements(text: &str) -> Result<Vec<Value>, RecordError> {
    list_elements(text, RECIPIENTS_KEY, "reasons")
}

/// The distinct rule ids of `recipients`' reasons, in order of first
/// mention: the rules that held (or rejected) the message.
pub fn rules_of(recipients: &[RecipientReasons]) -> Vec<String> {
    distinct_rules(
        recipients
            .iter()
            .flat_map(|r| &r.reasons)
            .map(|reason| reason.rule.clone()),
    )
}

/// The non-empty rule ids of `rules`, each once, in order of first mention.
fn distinct_rules(rules: impl Iterator<Item = String>) -> Vec<String> {
    let mut distinct: Vec<String> = Vec::new();
    for rule in rules {
        if !rule.is_empty() && !distinct.contains(&rule) {
            distinct.push(rule);
        }
    }
    distinct
}

/// The distinct rule ids in stored per-recipient reasons of any known
/// version, read leniently: only each reason's `rule` is needed, so a
/// reason damaged elsewhere still names its rule, and text that is not
/// stored reasons names none.
pub fn rules_in_stored_reasons(text: &str) -> Vec<String> {
    /// The one field of a recipient's reasons read here.
    #[derive(Deserialize)]
    struct RecipientRules {
        #[serde(default)]
        reasons: Vec<RuleOfReason>,
    }
    /// The one field of a reason read here.
    #[derive(Deserialize)]
    struct RuleOfReason {
        #[serde(default)]
        rule: String,
    }
    distinct_rules(
        reasons_elements(text)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|element| decode_element::<RecipientRules>(element).ok())
            .flat_map(|recipient| recipient.reasons)
            .map(|reason| reason.rule),
    )
}

/// Decodes one element returned by [`findings_elements`] or
/// [`reasons_elements`] as `T` ([`Finding`] or [`RecipientReasons`]).
pub fn decode_element<T: DeserializeOwned>(element: Value) -> Result<T, RecordError> {
    decode_value(element, "element")
}

/// `{"v": 1, key: items}`.
fn encode_list<T: Serialize>(
    items: &[T],
    key: &'static str,
    what: &'static str,
) -> Result<String, RecordError> {
    let encode_error = |source| RecordError::Encode { what, source };
    let mut object = Map::new();
    object.insert(VERSION_KEY.to_owned(), Value::from(CURRENT_VERSION));
    object.insert(
        key.to_owned(),
        serde_json::to_value(items).map_err(encode_error)?,
    );
    serde_json::to_string(&Value::Object(object)).map_err(encode_error)
}

/// The list in a version 0 (bare array) or version 1 (`{"v": 1, key: [...]}`)
/// list record.
fn list_elements(text: &str, key: &str, what: &'static str) -> Result<Vec<Value>, RecordError> {
    match parse(text, what)? {
        Value::Array(items) => Ok(items),
        Value::Object(mut object) => {
            check_version(&object, what)?;
            match object.remove(key) {
                Some(Value::Array(items)) => Ok(items),
                Some(_) => Err(RecordError::Shape {
                    what,
                    problem: "its list is not a JSON array",
                }),
                None => Err(RecordError::Shape {
                    what,
                    problem: "its list is missing",
                }),
            }
        }
        _ => Err(RecordError::Shape {
            what,
            problem: "neither a JSON array nor an object",
        }),
    }
}

/// Ok for a record without a version (version 0) or one this build reads.
fn check_version(object: &Map<String, Value>, what: &'static str) -> Result<(), RecordError> {
    match object.get(VERSION_KEY) {
        None => Ok(()),
        Some(v) if v.as_u64().is_some_and(|v| v <= CURRENT_VERSION) => Ok(()),
        Some(v) => Err(RecordError::UnknownVersion {
            what,
            version: v.to_string(),
        }),
    }
}

fn parse(text: &str, what: &'static str) -> Result<Value, RecordError> {
    serde_json::from_str(text).map_err(|source| RecordError::NotJson { what, source })
}

fn decode_value<T: DeserializeOwned>(value: Value, what: &'static str) -> Result<T, RecordError> {
    serde_json::from_value(value).map_err(|source| RecordError::Malformed { what, source })
}

#[cfg(test)]
mod tests;
