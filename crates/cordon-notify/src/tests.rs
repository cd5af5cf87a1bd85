//! Notices as a mail client sees them.

use mail_parser::{MessageParser, MimeHeaders, PartType};

use super::*;

const ORIGINAL: &[u8] = b"From: sam.okafor@northshire.police.uk\r\nTo: a@gmail.com\r\nSubject: rota\r\nMessage-ID: <rota-1@northshire.police.uk>\r\n\r\nSECRET BODY NI JM 41 29 87 B\r\n";

fn origin() -> Origin<'static> {
    Origin {
        reporting_mta: "cordon.northshire.police.uk",
        postmaster: "postmaster@northshire.police.uk",
        original: ORIGINAL,
    }
}

fn reason() -> ReasonFacts {
    let verdict = cordon_records::decode_verdict(r#"{"findings": [], "recipients": [{"address": "a@gmail.com", "action": "hold", "reasons": [{
        "rule": "personal-data-to-insecure", "action": "hold",
        "policy": "Personal data only over a secure route.",
        "explanation": "Send it to a secure address.",
        "evidence": [{"detector": "uk_nino", "where": "attachment:suspects.docx", "sample": "JM 41 ** ** B", "count": 1}]
    }]}]}"#).unwrap();
    reasons_from_verdict(&verdict, "a@gmail.com").remove(0)
}

fn facts(kind: NoticeKind) -> NoticeFacts {
    let affected = AffectedRecipient {
        address: "a@gmail.com".into(),
        status: "5.7.1".into(),
        diagnostic: "refused by policy rule personal-data-to-insecure".into(),
        reasons: vec![reason()],
    };
    let mut facts = NoticeFacts {
        kind,
        force: ForceFacts {
            name: "Northshire Constabulary".into(),
            information_security: "Information Security (infosec@northshire.police.uk)".into(),
        },
        reference: "01KAQ3Z5K6M7N8P9Q0R1S2T3V4".into(),
        sender: "sam.okafor@northshire.police.uk".into(),
        subject: "rota".into(),
        received_at: 1_763_900_000,
        expires_at: Some(1_765_109_600),
        hold_days: 14,
        officer_note: None,
        rejected: Vec::new(),
        held: Vec::new(),
        failed: Vec::new(),
        delivered: vec!["k.hughes@northshire.police.uk".into()],
        pending: Vec::new(),
    };
    match kind {
        NoticeKind::Held => facts.held.push(affected),
        _ => facts.rejected.push(affected),
    }
    facts
}

/// The plain-text part with its whitespace folded, as a reader takes it in
/// (the templates wrap long lines).
fn text_of(message: &mail_parser::Message) -> String {
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_rejection_is_a_delivery_status_report_with_headers_only() {
    let templates = Templates::built_in().unwrap();
    let bytes = templates
        .compose(&facts(NoticeKind::Rejected), &origin())
        .unwrap();
    let parsed = MessageParser::default().parse(&bytes).expect("parses");
    let ct = parsed.content_type().expect("content type");
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(parsed.subject(), Some("Not sent: rota"));
    assert_eq!(
        parsed.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        parsed.in_reply_to().as_text(),
        Some("rota-1@northshire.police.uk")
    );
    let from = parsed
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address());
    assert_eq!(from, Some("postmaster@northshire.police.uk"));

    let types: Vec<String> = parsed
        .parts
        .iter()
        .filter_map(|p| {
            p.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        })
        .collect();
    for expected in [
        "multipart/alternative",
        "text/plain",
        "text/html",
        "message/delivery-status",
        "text/rfc822-headers",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    let status = parsed
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.subtype() == Some("delivery-status"))
        })
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned())
        .unwrap();
    assert!(status.contains("Reporting-MTA: dns; cordon.northshire.police.uk"));
    assert!(status.contains("Final-Recipient: rfc822; a@gmail.com"));
    assert!(status.contains("Action: failed"));
    assert!(status.contains("Status: 5.7.1"));
    assert!(
        status.contains("Diagnostic-Code: smtp; refused by policy rule personal-data-to-insecure")
    );

    let text = text_of(&parsed);
    assert!(text.contains("NOT SENT to"), "{text}");
    assert!(text.contains("a@gmail.com"));
    assert!(text.contains("personal-data-to-insecure"));
    assert!(
        text.contains(
            "a National Insurance number, JM 41 ** ** B, in the attachment suspects.docx"
        )
    );
    assert!(text.contains("Send it to a secure address."));
    assert!(text.contains("DELIVERED to"));
    assert!(text.contains("k.hughes@northshire.police.uk"));
    assert!(text.contains("01KAQ3Z5K6M7N8P9Q0R1S2T3V4"));
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("JM 41 ** ** B"));

    let raw = String::from_utf8_lossy(&bytes);
    assert!(
        raw.contains("Subject: rota"),
        "the original headers are included"
    );
    assert!(!raw.contains("SECRET BODY"), "the original body never is");
    assert!(!raw.contains("JM 41 29 87 B"));
}

#[test]
fn a_held_notice_is_a_plain_message_with_reference_and_expiry() {
    let templates = Templates::built_in().unwrap();
    let bytes = templates
        .compose(&facts(NoticeKind::Held), &origin())
        .unwrap();
    let parsed = MessageParser::default().parse(&bytes).unwrap();
    let ct = parsed.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(parsed.subject(), Some("Held for review: rota"));
    let text = text_of(&parsed);
    assert!(
        text.contains("HELD FOR REVIEW by Information Security"),
        "{text}"
    );
    assert!(
        text.contains("Sunday 7 December 2025"),
        "expiry date: {text}"
    );
    assert!(text.contains("infosec@northshire.police.uk"));
    assert!(text.contains("01KAQ3Z5K6M7N8P9Q0R1S2T3V4"));
    assert!(!String::from_utf8_lossy(&bytes).contains("SECRET BODY"));
    assert!(
        !parsed
            .parts
            .iter()
            .any(|p| matches!(p.body, PartType::Message(_))),
        "no copy of the message"
    );
}

#[test]
fn an_officer_rejection_carries_the_note() {
    let templates = Templates::built_in().unwrap();
    let mut facts = facts(NoticeKind::RejectedByOfficer);
    facts.officer_note = Some("Use the CJSM address for the solicitor.".into());
    let bytes = templates.compose(&facts, &origin()).unwrap();
    let parsed = MessageParser::default().parse(&bytes).unwrap();
    let text = text_of(&parsed);
    assert!(
        text.contains("Use the CJSM address for the solicitor."),
        "{text}"
    );
    assert!(
        parsed
            .subject()
            .unwrap()
            .starts_with("Not sent (rejected after review)")
    );
}

#[test]
fn automatic_messages_get_no_notice() {
    assert!(is_automatic("", ORIGINAL));
    assert!(is_automatic("<>", ORIGINAL));
    assert!(!is_automatic("sam@northshire.police.uk", ORIGINAL));
    let auto = b"From: x@y.uk\r\nAuto-Submitted: auto-replied\r\n\r\nbody";
    assert!(is_automatic("x@y.uk", auto));
    let notice = Templates::built_in()
        .unwrap()
        .compose(&facts(NoticeKind::Held), &origin())
        .unwrap();
    assert!(is_automatic("postmaster@northshire.police.uk", &notice));
}

#[test]
fn the_force_s_own_detectors_are_named_in_its_words() {
    let verdict = cordon_records::decode_verdict(r#"{"findings": [], "recipients": [{"address": "a@gmail.com", "action": "hold", "reasons": [{
        "rule": "personal-data-to-insecure", "action": "hold",
        "policy": "Personal data only over a secure route.",
        "explanation": "Send it to a secure address.",
        "evidence": [
            {"detector": "custody_record", "where": "body", "sample": "CU26 *******", "count": 2},
            {"detector": "uk_nino", "where": "body", "sample": "JM 41 ** ** B", "count": 1}
        ]
    }]}]}"#).unwrap();
    let mut facts = facts(NoticeKind::Held);
    facts.held[0].reasons = reasons_from_verdict(&verdict, "a@gmail.com");
    facts.name_custom_detectors(&DetectorNouns::new(
        [(
            "custody_record".to_owned(),
            (
                "a custody record number".to_owned(),
                "custody record numbers".to_owned(),
            ),
        )]
        .into(),
    ));
    let templates = Templates::built_in().unwrap();
    let bytes = templates.compose(&facts, &origin()).unwrap();
    let parsed = MessageParser::default().parse(&bytes).expect("parses");
    let text = text_of(&parsed);
    assert!(
        text.contains("2 custody record numbers, such as CU26 *******, in the message body"),
        "{text}"
    );
    // Built-in detectors keep their own words.
    assert!(
        text.contains("a National Insurance number, JM 41 ** ** B, in the message body"),
        "{text}"
    );
}
