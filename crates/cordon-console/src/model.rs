//! The findings and reasons stored with a quarantine entry (written by the
//! gateway in the versioned encoding of `cordon-records`, opaque to the
//! store), read leniently: a damaged element is skipped and logged, never a
//! failure of the page.

use cordon_records::RecordError;
use cordon_store::QuarantineRecord;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub(crate) use cordon_records::{Finding, RecipientReasons};

/// The elements of a stored list (`elements` is [`cordon_records::findings_elements`]
/// or [`cordon_records::reasons_elements`] applied to it) that decode as `T`;
/// the rest are logged and skipped, and a list that does not read at all is
/// logged and empty.
fn lenient_list<T: DeserializeOwned>(
    elements: Result<Vec<Value>, RecordError>,
    text: &str,
    what: &str,
    record: &QuarantineRecord,
) -> Vec<T> {
    let elements = match elements {
        Ok(elements) => elements,
        Err(e) => {
            if !text.trim().is_empty() {
                tracing::warn!(quarantine_id = %record.id, error = %e, "stored {what} cannot be read");
            }
            return Vec::new();
        }
    };
    elements
        .into_iter()
        .filter_map(|element| match cordon_records::decode_element(element) {
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
    let text = &record.findings_json;
    lenient_list(
        cordon_records::findings_elements(text),
        text,
        "findings",
        record,
    )
}

/// The per-recipient reasons of an entry.
pub(crate) fn reasons(record: &QuarantineRecord) -> Vec<RecipientReasons> {
    let text = &record.reasons_json;
    lenient_list(
        cordon_records::reasons_elements(text),
        text,
        "reasons",
        record,
    )
}

/// The distinct rule ids that held the entry, in order of first mention:
/// those the store keeps with the entry (read leniently, so that a damaged
/// reason still counts for four eyes), then any others the reasons give.
pub(crate) fn rules(record: &QuarantineRecord) -> Vec<String> {
    let mut rules = record.held_by_rules();
    for rule in cordon_records::rules_of(&reasons(record)) {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    rules
}

/// The elements of a stored list as written, whatever its version (an empty
/// array if damaged), for the API to pass on: the same shape for entries
/// written before versions existed and after.
fn raw_array(elements: Result<Vec<Value>, RecordError>) -> Value {
    Value::Array(elements.unwrap_or_default())
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
        "rules": record.held_by_rules(),
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
    set_field(
        &mut item,
        "findings",
        raw_array(cordon_records::findings_elements(&record.findings_json)),
    );
    set_field(
        &mut item,
        "reasons",
        raw_array(cordon_records::reasons_elements(&record.reasons_json)),
    );
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
                {"rule":"b","action":"hold","policy":"p","explanation":"e","evidence":[]}]},
               {"address":"y@gmail.com","reasons":[{"rule":"c"}]}]"#,
        );
        let f = findings(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].sample, "JM 41 ** ** B");
        assert_eq!(f[0].count, 2);
        // y's entry has no action: skipped as damaged...
        let reasons = reasons(&r);
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].reasons[0].evidence[0].location, "body");
        // ...but its rule still counts (four eyes must not miss it).
        assert_eq!(rules(&r), vec!["a", "b", "c"]);
        let item = item_json(&r);
        assert_eq!(item["rules"], json!(["a", "b", "c"]));
        assert_eq!(item["state"], "held");
        assert_eq!(detail_json(&r)["findings"][0]["detector"], "uk_nino");
    }

    #[test]
    fn versions_0_and_1_read_alike_and_the_api_passes_the_same_arrays_on() {
        let findings_v0 = r#"[{"detector":"uk_nino","category":"personal_data","where":"body","count":2,"sample":"JM 41 ** ** B","later":true}]"#;
        let reasons_v0 = r#"[{"address":"x@gmail.com","domain_class":"personal","action":"hold","reasons":[{"rule":"a","action":"hold","policy":"p","explanation":"e","evidence":[]}]}]"#;
        let findings_v1 = format!(r#"{{"v":1,"findings":{findings_v0}}}"#);
        let reasons_v1 = format!(r#"{{"v":1,"recipients":{reasons_v0}}}"#);
        let v0 = record(findings_v0, reasons_v0);
        let v1 = record(&findings_v1, &reasons_v1);
        assert_eq!(findings(&v0), findings(&v1));
        assert_eq!(reasons(&v0), reasons(&v1));
        assert_eq!(rules(&v1), vec!["a"]);
        let (d0, d1) = (detail_json(&v0), detail_json(&v1));
        assert_eq!(d0["findings"], d1["findings"]);
        assert_eq!(d0["reasons"], d1["reasons"]);
        // As written, unknown fields included.
        assert_eq!(
            d1["findings"],
            serde_json::from_str::<Value>(findings_v0).unwrap()
        );
        assert_eq!(
            d1["reasons"],
            serde_json::from_str::<Value>(reasons_v0).unwrap()
        );
    }

    #[test]
    fn damaged_json_is_skipped_not_fatal() {
        let r = record(
            r#"[{"detector":"x","where":"body","count":-1}, {"detector":"y","where":"body"}, {"detector":"z"}, 5]"#,
            "not json",
        );
        // A finding without `where` is damaged, not one found nowhere.
        let f = findings(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].detector, "y");
        assert!(reasons(&r).is_empty());
        assert!(rules(&r).is_empty());
        assert_eq!(detail_json(&r)["reasons"], json!([]));
        let r = record(r#"{"v":2,"findings":[]}"#, r#"{"v":1}"#);
        assert!(findings(&r).is_empty());
        assert!(reasons(&r).is_empty());
        assert_eq!(detail_json(&r)["findings"], json!([]));
    }
}
