//! The JSON API: listing, detail, decisions and their statuses, audit.

use axum::http::{Method, StatusCode};

use super::*;

#[tokio::test]
async fn lists_entries_with_filters() {
    let h = Harness::new();
    let first = h.hold_default();
    let second = h.hold(Held {
        reasons: reasons_for(&["x@gmail.com"], "other-rule"),
        recipients: vec!["x@gmail.com".into()],
        ..Held::default()
    });
    let token = h.token(AUDITOR);
    let reply = h
        .api(Method::GET, "/api/quarantine", Some(&token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").starts_with("application/json"));
    let items = reply.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], second.to_string(), "newest first");
    let item = &items[1];
    assert_eq!(item["id"], first.to_string());
    assert_eq!(item["message_id"], first.to_string());
    assert_eq!(item["state"], "held");
    assert_eq!(item["sender"], "sam.okafor@northshire.police.uk");
    assert_eq!(item["recipients"], json!(["claims@insurer-example.co.uk"]));
    assert_eq!(item["rules"], json!([RULE]));
    assert!(item["held_at"].as_u64().unwrap() > 0 && item["expires_at"].as_u64().unwrap() > 0);
    for key in [
        "subject",
        "decided_by",
        "decided_at",
        "note",
        "release_proposal",
    ] {
        assert!(item.get(key).is_some(), "{key} missing");
    }

    let filtered = h
        .api(
            Method::GET,
            "/api/quarantine?rule=other-rule",
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["id"], second.to_string());
    let by_domain = h
        .api(
            Method::GET,
            "/api/quarantine?domain=insurer-example.co.uk",
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(by_domain["items"][0]["id"], first.to_string());
    assert_eq!(by_domain["items"].as_array().unwrap().len(), 1);
    let released = h
        .api(
            Method::GET,
            "/api/quarantine?state=released",
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(released["items"], json!([]));

    let bad = h
        .api(
            Method::GET,
            "/api/quarantine?state=nope",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap().contains("not one of"));
}

#[tokio::test]
async fn shows_an_entry_with_findings_reasons_and_audit() {
    let h = Harness::new();
    let id = h.hold_default();
    let token = h.token(OFFICER);
    let reply = h
        .api(
            Method::GET,
            &format!("/api/quarantine/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["findings"], default_findings());
    assert_eq!(body["reasons"][0]["reasons"][0]["rule"], RULE);
    let audit = body["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["action"], "view");
    assert_eq!(audit[0]["actor"], "officer:officer.k");
    assert_eq!(audit[0]["detail"]["via"], "api");
    assert_eq!(actions(&h.audit_for(&id.to_string())).len(), 1);

    for missing in [QueueId::new().to_string(), "nope".to_owned()] {
        let reply = h
            .api(
                Method::GET,
                &format!("/api/quarantine/{missing}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"], "no such quarantine entry");
    }
}

#[tokio::test]
async fn decisions_and_their_statuses() {
    let h = Harness::new();
    let (a, b) = (h.hold_default(), h.hold_default());
    let token = h.token(OFFICER);
    let release = format!("/api/quarantine/{a}/release");

    // 400: no note, an empty one, a missing one, not JSON, too long.
    for body in [
        Some(json!({"note": ""})),
        Some(json!({"note": "  "})),
        Some(json!({})),
        Some(json!({"note": "x".repeat(2001)})),
        Some(json!("just a string")),
        None,
    ] {
        let reply = h
            .api(Method::POST, &release, Some(&token), body.clone())
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(
            reply.json()["error"].as_str().unwrap().contains("note"),
            "{body:?}"
        );
    }
    assert!(h.calls().is_empty());

    // 404: unknown.
    let reply = h
        .api(
            Method::POST,
            &format!("/api/quarantine/{}/release", QueueId::new()),
            Some(&token),
            Some(json!({"note": "fine"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // 200: released, through the decisions.
    let reply = h
        .api(
            Method::POST,
            &release,
            Some(&token),
            Some(json!({"note": "Confirmed by phone."})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["state"], "released");
    assert_eq!(body["decided_by"], OFFICER);
    assert_eq!(body["note"], "Confirmed by phone.");
    assert!(body.get("waiting_for_second_officer").is_none());
    assert_eq!(
        h.calls(),
        vec![(
            a,
            Decision::Release,
            OFFICER.to_owned(),
            Some("Confirmed by phone.".to_owned())
        )]
    );
    let audit = h.audit_for(&a.to_string());
    assert_eq!(
        actions(&audit),
        vec![("release".to_owned(), "officer:officer.k".to_owned())]
    );

    // 409: already decided.
    for verb in ["release", "reject"] {
        let reply = h
            .api(
                Method::POST,
                &format!("/api/quarantine/{a}/{verb}"),
                Some(&token),
                Some(json!({"note": "again"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap()
                .contains("already been released by officer.k")
        );
    }
    assert_eq!(h.calls().len(), 1);

    // Reject.
    let reply = h
        .api(
            Method::POST,
            &format!("/api/quarantine/{b}/reject"),
            Some(&token),
            Some(json!({"note": "Not to an insurer."})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["state"], "rejected");
    assert_eq!(h.entry(b).state, QuarantineState::Rejected);
}

#[tokio::test]
async fn audit_entries_by_subject() {
    let h = Harness::new();
    let id = h.hold_default();
    let token = h.token(AUDITOR);
    let login = h.login(OFFICER).await;
    h.get(&format!("/quarantine/{id}"), Some(&login)).await;
    let reply = h
        .api(
            Method::GET,
            &format!("/api/audit?subject={id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let entries = reply.json()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "view");
    assert_eq!(entries[0]["actor"], "officer:officer.k");
    assert_eq!(entries[0]["subject"], id.to_string());
    // Sign-ins are found by user name.
    let logins = h
        .api(
            Method::GET,
            &format!("/api/audit?subject={OFFICER}"),
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(logins["entries"][0]["action"], "login");
    let reply = h.api(Method::GET, "/api/audit", Some(&token), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json()["error"].as_str().unwrap().contains("subject"));
}

#[tokio::test]
async fn the_list_comes_a_page_at_a_time() {
    let h = Harness::new();
    let ids: Vec<QueueId> = (0..5)
        .map(|i| {
            h.hold(Held {
                held_at: now() - 100 + i,
                ..Held::default()
            })
        })
        .collect();
    let token = h.token(AUDITOR);
    let mut seen = Vec::new();
    let mut path = "/api/quarantine?limit=2".to_owned();
    loop {
        let page = h.api(Method::GET, &path, Some(&token), None).await.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/api/quarantine?limit=2&before={next}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().map(|id| id.to_string()).collect();
    assert_eq!(seen, newest_first);
    for bad in ["limit=0", "limit=1001", "limit=x", "before=12-zz"] {
        let reply = h
            .api(
                Method::GET,
                &format!("/api/quarantine?{bad}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
