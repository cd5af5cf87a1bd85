//! The findings and reasons stored with a quarantine entry (JSON written by
//! the gateway, opaque to the store), read leniently: a damaged element is
//! skipped and logged, never a failure of the page.

use cordon_store::QuarantineRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One finding of the detectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Finding {
    /// The detector id, e.g. `uk_nino`.
    pub detector: String,
    /// Its category, e.g. `personal_data`.
    pub category: String,
    /// Where, e.g. `body` or `attachment:case.docx`.
    #[serde(rename = "where")]
    pub location: String,
    /// How many distinct items there.
    pub count: u64,
    /// A redacted example.
    pub sample: String,
}

/// The policy's verdict for one held recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RecipientReasons {
    /// The recipient's address.
    pub address: String,
    /// `internal`, `secure`, `external` or `personal`.
    pub domain_class: String,
    /// `deliver`, `hold` or `reject`.
    pub action: String,
    /// Every rule that applied.
    pub reasons: Vec<Reason>,
}

/// One rule that applied to a recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Reason {
    /// The rule id.
    pub rule: String,
    /// What this rule alone asked for.
    pub action: String,
    /// The policy it enforces.
    pub policy: String,
    /// The explanation given to the sender.
    pub explanation: String,
    /// What made it apply.
    pub evidence: Vec<Evidence>,
}

/// One item of evidence for a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Evidence {
    /// The detector id.
    pub detector: String,
    /// Where.
    #[serde(rename = "where")]
    pub location: String,
    /// A redacted example.
    pub sample: String,
    /// How many.
    pub count: u64,
}

/// The elements of the JSON array `text` that read as `T`; the rest are
/// logged and skipped.
fn lenient_array<T: DeserializeOwned>(text: &str, what: &str, record: &QuarantineRecord) -> Vec<T> {
    let items = match serde_json::from_str::<Vec<Value>>(text) {
        Ok(items) => items,
        Err(e) => {
            if !text.trim().is_empty() {
                tracing::warn!(quarantine_id = %record.id, error = %e, "stored {what} are not a JSON array");
            }
            return Vec::new();
        }
    };
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value(item) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                tracing::warn!(quarantine_id = %record.id, error = %e, "skipping a damaged stored {what} element");
                None
            }
        })
        .collect()
}

/// The findings of an entry.
pub(crate) fn findings(record: &QuarantineRecord) -> Vec<Finding> {
    lenient_array(&record.findings_json, "findings", record)
}

/// The per-recipient reasons of an entry.
pub(crate) fn reasons(record: &QuarantineRecord) -> Vec<RecipientReasons> {
    lenient_array(&record.reasons_json, "reasons", record)
}

/// The distinct rule ids that held the entry, in order of first mention.
pub(crate) fn rules(record: &QuarantineRecord) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for recipient in reasons(record) {
        for reason in recipient.reasons {
            if !reason.rule.is_empty() && !rules.contains(&reason.rule) {
                rules.push(reason.rule);
            }
        }
    }
    rules
}

/// The stored JSON array `text` as a value (an empty array if damaged), for
/// the API to pass on as written.
fn raw_array(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Array(_)) => value,
        _ => Value::Array(Vec::new()),
    }
}

/// An entry as the API lists it (times in Unix seconds).
pub(crate) fn item_json(record: &QuarantineRecord) -> Value {
    json!({
        "id": record.id,
        "message_id": record.message_id,
        "state": record.state,
        "sender": record.sender,
        "recipients": record.recipients,
        "subject": record.subject,
        "held_at": record.held_at,
        "expires_at": record.expires_at,
        "rules": rules(record),
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "note": record.note,
        "release_proposal": record.release_proposal,
    })
}

/// Sets `key` to `field` in `object` (which the callers build as a JSON
/// object; anything else is left as it is, never a panic).
pub(crate) fn set_field(object: &mut Value, key: &str, field: Value) {
    if let Value::Object(map) = object {
        map.insert(key.to_owned(), field);
    }
}

/// An entry with its findings and reasons as stored (for the API's detail).
pub(crate) fn detail_json(record: &QuarantineRecord) -> Value {
    let mut item = item_json(record);
    set_field(&mut item, "findings", raw_array(&record.findings_json));
    set_field(&mut item, "reasons", raw_array(&record.reasons_json));
    item
}

#[cfg(test)]
mod tests {
    use cordon_store::{QuarantineState, QueueId};

    use super::*;

    fn record(findings: &str, reasons: &str) -> QuarantineRecord {
        let id = QueueId::new();
        QuarantineRecord {
            id,
            message_id: id,
            recipients: vec!["x@gmail.com".into()],
            sender: "a@northshire.police.uk".into(),
            subject: Some("s".into()),
            held_at: 10,
            expires_at: 20,
            state: QuarantineState::Held,
            findings_json: findings.into(),
            reasons_json: reasons.into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn reads_stored_json_and_collects_rules() {
        let r = record(
            r#"[{"detector":"uk_nino","category":"personal_data","where":"body","count":2,"sample":"JM 41 ** ** B"}]"#,
            r#"[{"address":"x@gmail.com","domain_class":"personal","action":"hold","reasons":[
                {"rule":"a","action":"hold","policy":"p","explanation":"e","evidence":[{"detector":"uk_nino","where":"body","sample":"JM","count":1}]},
                {"rule":"b","action":"hold"}]},
               {"address":"y@gmail.com","reasons":[{"rule":"a"}]}]"#,
        );
        let f = findings(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].sample, "JM 41 ** ** B");
        assert_eq!(f[0].count, 2);
        assert_eq!(reasons(&r)[0].reasons[0].evidence[0].location, "body");
        assert_eq!(rules(&r), vec!["a", "b"]);
        let item = item_json(&r);
        assert_eq!(item["rules"], json!(["a", "b"]));
        assert_eq!(item["state"], "held");
        assert_eq!(detail_json(&r)["findings"][0]["detector"], "uk_nino");
    }

    #[test]
    fn damaged_json_is_skipped_not_fatal() {
        let r = record(
            r#"[{"detector":"x","count":-1}, {"detector":"y"}, 5]"#,
            "not json",
        );
        let f = findings(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].detector, "y");
        assert!(reasons(&r).is_empty());
        assert!(rules(&r).is_empty());
        assert_eq!(detail_json(&r)["reasons"], json!([]));
    }
}
