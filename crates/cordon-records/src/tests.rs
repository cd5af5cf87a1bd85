use super::*;

/// A verdict as the gateway stored it before versions existed: the
/// `cordon check` JSON through `serde_json::Value` (keys sorted), with the
/// fields nobody reads back (sender, attachments, subject, self_send).
const V0_VERDICT: &str = r#"{"attachments":[{"depth":1,"executable":null,"file_type":"docx","inline":false,"name":"form.docx","size":12001,"where":"attachment:form.docx"}],"classification":{"level":"OFFICIAL-SENSITIVE","markings":[{"level":"OFFICIAL-SENSITIVE","text":"OFFICIAL-SENSITIVE","where":"subject"}]},"findings":[{"category":"classification","count":1,"detector":"marking","sample":"OFFICIAL-SENSITIVE","where":"subject"},{"category":"personal_data","count":1,"detector":"uk_nino","sample":"JM 41 ** ** B","where":"attachment:form.docx"}],"recipients":[{"action":"hold","address":"Claims@Insurer-Example.co.uk","domain_class":"external","reasons":[{"action":"hold","evidence":[{"count":1,"detector":"uk_nino","sample":"JM 41 ** ** B","where":"attachment:form.docx"}],"explanation":"Send it to a secure address.","policy":"Data Protection Act 2018","rule":"personal-data-to-insecure"}]},{"action":"deliver","address":"duty@kent.police.uk","domain_class":"secure","reasons":[],"self_send":true}],"sender":{"address":"sam.okafor@northshire.police.uk","domain_class":"internal"},"subject":"OFFICIAL-SENSITIVE claim"}"#;

/// The verdict the gateway stored (version 0) when inspection failed.
const V0_FAILED_INSPECTION: &str = r#"{"findings":[{"detector":"uninspectable","sample":"inspection failed","where":"message"}],"recipients":[]}"#;

fn expected() -> StoredVerdict {
    StoredVerdict {
        classification: Classification {
            level: Level::OfficialSensitive,
            markings: vec![Marking {
                text: "OFFICIAL-SENSITIVE".into(),
                location: "subject".into(),
                level: Level::OfficialSensitive,
                descriptor: None,
            }],
        },
        findings: vec![
            Finding {
                detector: "marking".into(),
                category: "classification".into(),
                location: "subject".into(),
                count: 1,
                sample: "OFFICIAL-SENSITIVE".into(),
            },
            Finding {
                detector: "uk_nino".into(),
                category: "personal_data".into(),
                location: "attachment:form.docx".into(),
                count: 1,
                sample: "JM 41 ** ** B".into(),
            },
        ],
        recipients: vec![
            RecipientReasons {
                address: "Claims@Insurer-Example.co.uk".into(),
                domain_class: Some(DomainClass::External),
                action: Action::Hold,
                reasons: vec![Reason {
                    rule: "personal-data-to-insecure".into(),
                    action: Action::Hold,
                    policy: "Data Protection Act 2018".into(),
                    explanation: "Send it to a secure address.".into(),
                    evidence: vec![Evidence {
                        detector: "uk_nino".into(),
                        location: "attachment:form.docx".into(),
                        sample: "JM 41 ** ** B".into(),
                        count: 1,
                    }],
                }],
            },
            RecipientReasons {
                address: "duty@kent.police.uk".into(),
                domain_class: Some(DomainClass::Secure),
                action: Action::Deliver,
                reasons: Vec::new(),
            },
        ],
    }
}

#[test]
fn version_0_verdict_decodes() {
    let verdict = decode_verdict(V0_VERDICT).unwrap();
    assert_eq!(verdict, expected());
    assert_eq!(
        verdict
            .recipient("claims@insurer-example.co.uk")
            .unwrap()
            .action,
        Action::Hold
    );
    assert_eq!(verdict.detectors(), vec!["marking", "uk_nino"]);
}

#[test]
fn version_0_failed_inspection_decodes() {
    let verdict = decode_verdict(V0_FAILED_INSPECTION).unwrap();
    assert_eq!(verdict.classification.level, Level::None);
    assert_eq!(verdict.findings[0].detector, "uninspectable");
    assert_eq!(verdict.findings[0].count, 1);
    assert!(verdict.recipients.is_empty());
}

#[test]
fn version_1_verdict_round_trips_with_its_version() {
    let text = encode_verdict(&expected()).unwrap();
    assert!(text.starts_with(r#"{"v":1,"#), "{text}");
    assert_eq!(decode_verdict(&text).unwrap(), expected());
}

#[test]
fn unknown_fields_are_ignored() {
    let text = r#"{"v":1,"findings":[],"recipients":[],"added_later":{"x":1}}"#;
    assert_eq!(decode_verdict(text).unwrap(), StoredVerdict::default());
}

#[test]
fn unknown_version_is_an_error() {
    let text = r#"{"v":2,"findings":[],"recipients":[]}"#;
    assert!(matches!(
        decode_verdict(text),
        Err(RecordError::UnknownVersion { version, .. }) if version == "2"
    ));
    assert!(matches!(
        decode_findings(r#"{"v":"one","findings":[]}"#),
        Err(RecordError::UnknownVersion { .. })
    ));
}

#[test]
fn damaged_verdicts_are_errors_not_panics() {
    assert!(matches!(
        decode_verdict("not json"),
        Err(RecordError::NotJson { .. })
    ));
    assert!(matches!(
        decode_verdict("[]"),
        Err(RecordError::Shape { .. })
    ));
    assert!(matches!(
        decode_verdict("{}"),
        Err(RecordError::Malformed { .. })
    ));
    assert!(matches!(
        decode_verdict(""),
        Err(RecordError::NotJson { .. })
    ));
}

#[test]
fn a_renamed_field_is_an_error_not_an_empty_value() {
    // `recipients` renamed: the reasons would silently be empty.
    let renamed = V0_VERDICT.replace(r#""recipients":"#, r#""recipient_verdicts":"#);
    let error = decode_verdict(&renamed).unwrap_err();
    assert!(error.to_string().contains("recipients"), "{error}");
    // A reason's `rule` renamed.
    let renamed = V0_VERDICT.replace(r#""rule":"#, r#""rule_id":"#);
    assert!(matches!(
        decode_verdict(&renamed),
        Err(RecordError::Malformed { .. })
    ));
    // A finding's `where` renamed.
    let renamed = r#"[{"detector":"uk_nino","location":"body"}]"#;
    assert!(matches!(
        decode_findings(renamed),
        Err(RecordError::Malformed { .. })
    ));
    // An action spelt in a way no version wrote.
    let renamed = V0_VERDICT.replace(r#""action":"hold""#, r#""action":"quarantine""#);
    assert!(decode_verdict(&renamed).is_err());
}

#[test]
fn findings_and_reasons_of_both_versions() {
    let verdict = expected();
    // Version 0: the bare arrays, as the gateway wrote them.
    let v0_findings = serde_json::to_string(&verdict.findings).unwrap();
    let v0_reasons = serde_json::to_string(&verdict.recipients[..1]).unwrap();
    assert_eq!(decode_findings(&v0_findings).unwrap(), verdict.findings);
    assert_eq!(
        decode_reasons(&v0_reasons).unwrap(),
        verdict.recipients[..1]
    );
    // Version 1: wrapped with the version.
    let v1_findings = encode_findings(&verdict.findings).unwrap();
    let v1_reasons = encode_reasons(&verdict.recipients[..1]).unwrap();
    assert!(v1_findings.contains(r#""v":1"#), "{v1_findings}");
    assert!(v1_reasons.contains(r#""v":1"#), "{v1_reasons}");
    assert_eq!(decode_findings(&v1_findings).unwrap(), verdict.findings);
    assert_eq!(
        decode_reasons(&v1_reasons).unwrap(),
        verdict.recipients[..1]
    );
    // The elements as written are the same in both.
    assert_eq!(
        findings_elements(&v0_findings).unwrap(),
        findings_elements(&v1_findings).unwrap()
    );
    assert_eq!(
        reasons_elements(&v0_reasons).unwrap(),
        reasons_elements(&v1_reasons).unwrap()
    );
}

#[test]
fn a_literal_version_0_quarantine_entry_decodes() {
    let findings = r#"[{"category":"personal_data","count":2,"detector":"uk_nino","sample":"QQ 12 ** ** C","where":"attachment:case.docx"}]"#;
    let reasons = r#"[{"action":"hold","address":"a@gmail.com","domain_class":"personal","reasons":[{"action":"hold","evidence":[{"count":2,"detector":"uk_nino","sample":"QQ 12 ** ** C","where":"attachment:case.docx"}],"explanation":"e","policy":"p","rule":"personal-data-to-insecure"}]}]"#;
    assert_eq!(decode_findings(findings).unwrap()[0].count, 2);
    let reasons = decode_reasons(reasons).unwrap();
    assert_eq!(reasons[0].domain_class, Some(DomainClass::Personal));
    assert_eq!(reasons[0].reasons[0].rule, "personal-data-to-insecure");
}

#[test]
fn damaged_lists_are_errors_and_elements_decode_one_by_one() {
    assert!(matches!(
        findings_elements(r#"{"v":1}"#),
        Err(RecordError::Shape { .. })
    ));
    assert!(matches!(
        reasons_elements(r#"{"v":1,"recipients":{}}"#),
        Err(RecordError::Shape { .. })
    ));
    assert!(matches!(
        findings_elements("5"),
        Err(RecordError::Shape { .. })
    ));
    let elements = findings_elements(
        r#"[{"detector":"x","where":"body","count":-1}, {"detector":"y","where":"body"}, 5]"#,
    )
    .unwrap();
    let decoded: Vec<Result<Finding, RecordError>> =
        elements.into_iter().map(decode_element).collect();
    assert!(decoded[0].is_err());
    assert_eq!(decoded[1].as_ref().unwrap().detector, "y");
    assert!(decoded[2].is_err());
    assert!(decode_findings(r#"[{"detector":"y","where":"body"}, 5]"#).is_err());
}

#[test]
fn rules_are_read_from_reasons_of_either_version_and_despite_damage() {
    let verdict = decode_verdict(V0_VERDICT).expect("decodes");
    assert_eq!(
        rules_of(&verdict.recipients),
        vec!["personal-data-to-insecure"]
    );
    let v1 = encode_reasons(&verdict.recipients).expect("encodes");
    assert_eq!(
        rules_in_stored_reasons(&v1),
        vec!["personal-data-to-insecure"]
    );
    // Version 0, with a reason missing everything but its rule, a repeat
    // and an empty rule: the rule is still named, once.
    let v0 = r#"[{"address":"a@b","reasons":[{"rule":"r2"},{"rule":"r1"},{"rule":""}]},{"reasons":[{"rule":"r2"}]}]"#;
    assert_eq!(rules_in_stored_reasons(v0), vec!["r2", "r1"]);
    assert!(rules_in_stored_reasons("not json").is_empty());
}
