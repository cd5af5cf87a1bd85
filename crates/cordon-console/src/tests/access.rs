//! Who may do what: no session, no token, the auditor, the CSRF token.

use axum::http::{Method, StatusCode};

use super::*;

#[tokio::test]
async fn pages_without_a_session_redirect_and_show_nothing() {
    let h = Harness::new();
    let id = h.hold_default();
    let bogus = Login {
        cookie: "cordon_session=0000000000000000000000000000000000000000000000000000000000000000"
            .into(),
        csrf: String::new(),
    };
    for login in [None, Some(&bogus)] {
        for path in [
            "/".to_owned(),
            "/quarantine".to_owned(),
            format!("/quarantine/{id}"),
            format!("/quarantine/{id}/attachments/0"),
        ] {
            let reply = h.get(&path, login).await;
            reply.assert_redirect("/login");
            for secret in [
                &id.to_string(),
                "Claim",
                "sam.okafor",
                "JM 41",
                "insurer-example",
            ] {
                assert!(!reply.body.contains(secret), "{path} shows {secret}");
            }
        }
        for path in [
            format!("/quarantine/{id}/release"),
            format!("/quarantine/{id}/reject"),
            "/quarantine/bulk".to_owned(),
            "/logout".to_owned(),
        ] {
            let reply = h
                .post_form(
                    &path,
                    login,
                    &[
                        ("note", "fine"),
                        ("id", &id.to_string()),
                        ("action", "release"),
                    ],
                )
                .await;
            reply.assert_redirect("/login");
        }
    }
    assert!(h.calls().is_empty());
    assert_eq!(h.entry(id).state, QuarantineState::Held);
    assert!(
        h.audit_for(&id.to_string()).is_empty(),
        "nothing was viewed"
    );
}

#[tokio::test]
async fn the_api_needs_a_valid_bearer_token() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    let requests = [
        (Method::GET, "/api/quarantine".to_owned()),
        (Method::GET, format!("/api/quarantine/{id}")),
        (Method::POST, format!("/api/quarantine/{id}/release")),
        (Method::POST, format!("/api/quarantine/{id}/reject")),
        (Method::GET, format!("/api/audit?subject={id}")),
    ];
    for (method, path) in &requests {
        for token in [None, Some("cordon_not-a-real-token"), Some("garbage")] {
            let reply = h
                .api(method.clone(), path, token, Some(json!({"note": "fine"})))
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(reply.header("www-authenticate"), "Bearer");
            assert!(reply.json()["error"].as_str().unwrap().contains("Bearer"));
            assert!(!reply.body.contains("Claim") && !reply.body.contains("sam.okafor"));
        }
        // A session cookie is no way into the API.
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("cookie", &login.cookie)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"note":"fine"}"#))
            .unwrap();
        assert_eq!(h.send(request).await.status, StatusCode::UNAUTHORIZED);
        // Another scheme neither.
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Basic {}", h.token(OFFICER)))
            .body(Body::empty())
            .unwrap();
        assert_eq!(h.send(request).await.status, StatusCode::UNAUTHORIZED);
    }
    assert!(h.calls().is_empty());
    assert_eq!(h.entry(id).state, QuarantineState::Held);
    // A revoked token stops working.
    let token = h.token(SECOND);
    let path = "/api/quarantine";
    assert_eq!(
        h.api(Method::GET, path, Some(&token), None).await.status,
        StatusCode::OK
    );
    h.users.revoke_tokens(SECOND).unwrap();
    assert_eq!(
        h.api(Method::GET, path, Some(&token), None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_auditor_reads_everything_and_decides_nothing() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(AUDITOR).await;

    let queue = h.get("/quarantine", Some(&login)).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains(&format!("/quarantine/{id}")));
    assert!(
        !queue.body.contains("type=\"checkbox\""),
        "no bulk selection"
    );
    assert!(!queue.body.contains("/quarantine/bulk"), "no bulk form");

    let page = h.get(&format!("/quarantine/{id}"), Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("JM 41 ** ** B"));
    assert!(
        !page
            .body
            .contains(&format!("action=\"/quarantine/{id}/release\""))
    );
    assert!(
        !page
            .body
            .contains(&format!("action=\"/quarantine/{id}/reject\""))
    );
    let views = h.audit_for(&id.to_string());
    assert_eq!(
        actions(&views),
        vec![("view".to_owned(), "auditor:auditor.a".to_owned())]
    );

    // Even with a valid CSRF token and note, the forms are refused.
    for verb in ["release", "reject"] {
        let reply = h
            .post_form(
                &format!("/quarantine/{id}/{verb}"),
                Some(&login),
                &[("csrf", &login.csrf), ("note", "looks fine to me")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{verb}");
        assert!(
            reply
                .body
                .contains("may view messages but not release or reject")
        );
    }
    let reply = h
        .post_form(
            "/quarantine/bulk",
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("note", "all fine"),
                ("action", "reject"),
                ("id", &id.to_string()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // The API likewise.
    let token = h.token(AUDITOR);
    let list = h
        .api(Method::GET, "/api/quarantine", Some(&token), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["items"][0]["id"], id.to_string());
    let show = h
        .api(
            Method::GET,
            &format!("/api/quarantine/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(show.status, StatusCode::OK);
    for verb in ["release", "reject"] {
        let reply = h
            .api(
                Method::POST,
                &format!("/api/quarantine/{id}/{verb}"),
                Some(&token),
                Some(json!({"note": "fine"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{verb}");
        assert!(reply.json()["error"].as_str().unwrap().contains("auditor"));
    }

    assert!(h.calls().is_empty());
    let entry = h.entry(id);
    assert_eq!(entry.state, QuarantineState::Held);
    assert!(entry.release_proposal.is_none());
    assert!(
        h.audit_for(&id.to_string())
            .iter()
            .all(|e| e.action == "view"),
        "only views were recorded"
    );
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_change_nothing() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    let other = h.login(SECOND).await;
    assert_ne!(login.csrf, other.csrf);
    let id_text = id.to_string();
    for csrf in [None, Some(""), Some("0000"), Some(other.csrf.as_str())] {
        for (path, action) in [
            (format!("/quarantine/{id}/release"), "release"),
            (format!("/quarantine/{id}/reject"), "reject"),
            ("/quarantine/bulk".to_owned(), "reject"),
        ] {
            let mut fields = vec![
                ("note", "valid note"),
                ("action", action),
                ("id", id_text.as_str()),
            ];
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            let reply = h.post_form(&path, Some(&login), &fields).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
            assert!(reply.body.contains("nothing was changed"));
        }
    }
    assert!(h.calls().is_empty());
    assert_eq!(h.entry(id).state, QuarantineState::Held);
    assert!(h.entry(id).release_proposal.is_none());
    // The right token works (so the refusals above were about the token).
    let reply = h
        .post_form(
            &format!("/quarantine/{id}/reject"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", "valid note")],
        )
        .await;
    reply.assert_redirect(&format!("/quarantine/{id}"));
    assert_eq!(h.entry(id).state, QuarantineState::Rejected);
}

#[tokio::test]
async fn refused_requests_are_audited() {
    let h = Harness::new();
    let id = h.hold_default();
    let officer = h.login(OFFICER).await;
    let auditor = h.login(AUDITOR).await;
    // A form without the session's CSRF token.
    let path = format!("/quarantine/{id}/release");
    let reply = h
        .post_form(&path, Some(&officer), &[("note", "no token")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // An auditor's decision, from the page and from the API.
    let reply = h
        .post_form(
            &path,
            Some(&auditor),
            &[("csrf", &auditor.csrf), ("note", "auditors may not")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let token = h.token(AUDITOR);
    let api_path = format!("/api/quarantine/{id}/reject");
    let reply = h
        .api(
            Method::POST,
            &api_path,
            Some(&token),
            Some(json!({"note": "no"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // The API without a valid token.
    let reply = h
        .api(Method::GET, "/api/quarantine", Some("cordon_0000"), None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let refused = |subject: &str| -> Vec<(String, String, String)> {
        h.audit_for(subject)
            .into_iter()
            .filter(|e| e.action == "refused")
            .map(|e| {
                (
                    e.actor,
                    e.detail["reason"].as_str().unwrap_or("").to_owned(),
                    e.detail["status"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        refused(&path),
        vec![
            (
                format!("officer:{OFFICER}"),
                "missing or wrong CSRF token".to_owned(),
                "403".to_owned()
            ),
            (
                format!("auditor:{AUDITOR}"),
                "role may not decide".to_owned(),
                "403".to_owned()
            ),
        ]
    );
    assert_eq!(
        refused(&api_path),
        vec![(
            format!("auditor:{AUDITOR}"),
            "role may not decide".to_owned(),
            "403".to_owned()
        )]
    );
    assert_eq!(
        refused("/api/quarantine"),
        vec![(
            "client:192.0.2.10".to_owned(),
            "no valid API token".to_owned(),
            "401".to_owned()
        )]
    );
    // Nothing else is audited as refused: a wrong password is a failed login.
    let all = h.audit.recent(1000).unwrap();
    assert_eq!(all.iter().filter(|e| e.action == "refused").count(), 4);
}
