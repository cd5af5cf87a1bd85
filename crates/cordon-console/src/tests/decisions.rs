//! Releasing and rejecting: notes, double decisions, four eyes, bulk.

use axum::http::{Method, StatusCode};

use super::*;
use crate::ConsoleConfig;

/// A console where releases of messages held by [`RULE`] need four eyes.
/// The one decision made was `by` releasing `id` with `note`, and the entry
/// says so.
fn assert_released_once(h: &Harness, id: QueueId, by: &str, note: &str) {
    assert_eq!(
        h.calls(),
        vec![(id, Decision::Release, by.to_owned(), Some(note.to_owned()))]
    );
    let entry = h.entry(id);
    assert_eq!(entry.state, QuarantineState::Released);
    assert_eq!(entry.decided_by.as_deref(), Some(by));
}

fn four_eyes() -> Harness {
    Harness::with_config(ConsoleConfig {
        four_eyes_rules: vec![RULE.to_owned()],
        ..ConsoleConfig::default()
    })
}

#[tokio::test]
async fn a_release_needs_a_note_then_decides_once() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    let release = format!("/quarantine/{id}/release");
    let too_long = "x".repeat(2001);
    for note in [None, Some(""), Some("   \n "), Some(too_long.as_str())] {
        let mut fields = vec![("csrf", login.csrf.as_str())];
        if let Some(note) = note {
            fields.push(("note", note));
        }
        let reply = h.post_form(&release, Some(&login), &fields).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "note {note:?}");
        assert!(reply.body.contains("note"), "{}", reply.body);
    }
    assert!(h.calls().is_empty());
    assert_eq!(h.entry(id).state, QuarantineState::Held);

    let reply = h
        .post_form(
            &release,
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("note", "  Solicitor confirmed by phone.  "),
            ],
        )
        .await;
    reply.assert_redirect(&format!("/quarantine/{id}"));
    assert_released_once(&h, id, OFFICER, "Solicitor confirmed by phone.");
    let entry = h.entry(id);
    let audit = h.audit_for(&id.to_string());
    let last = audit.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("release", "officer:officer.k")
    );
    assert_eq!(last.detail["note"], "Solicitor confirmed by phone.");

    // Decided: a second decision (by anyone) is refused and changes nothing.
    let second = h.login(SECOND).await;
    for verb in ["release", "reject"] {
        let reply = h
            .post_form(
                &format!("/quarantine/{id}/{verb}"),
                Some(&second),
                &[("csrf", &second.csrf), ("note", "second go")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{verb}");
        assert!(
            reply
                .body
                .contains("This message has already been released by officer.k"),
            "{}",
            reply.body
        );
    }
    assert_eq!(h.calls().len(), 1);
    assert_eq!(h.entry(id), entry);

    // The page no longer offers the forms, and says who decided.
    let page = h.get(&format!("/quarantine/{id}"), Some(&second)).await;
    assert!(!page.body.contains(&format!("action=\"{release}\"")));
    assert!(page.body.contains("This message was released by officer.k"));
    assert!(page.body.contains("Solicitor confirmed by phone."));
}

#[tokio::test]
async fn a_decision_that_loses_a_race_reports_who_won() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    // Decided elsewhere (the CLI, another console) after the page was read.
    h.store
        .decide_quarantine(&id, Decision::Reject, "officer.z", Some("no"), now())
        .unwrap();
    let reply = h
        .post_form(
            &format!("/quarantine/{id}/release"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", "fine")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("already been rejected by officer.z"));
    assert!(h.calls().is_empty());
}

#[tokio::test]
async fn unknown_messages_are_not_found() {
    let h = Harness::new();
    let login = h.login(OFFICER).await;
    for path in [
        format!("/quarantine/{}/release", QueueId::new()),
        "/quarantine/not-an-id/release".to_owned(),
    ] {
        let reply = h
            .post_form(&path, Some(&login), &[("csrf", &login.csrf), ("note", "n")])
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(h.calls().is_empty());
}

#[tokio::test]
async fn four_eyes_release_needs_a_second_officer() {
    let h = four_eyes();
    let id = h.hold_default();
    let first = h.login(OFFICER).await;
    let second = h.login(SECOND).await;
    let release = format!("/quarantine/{id}/release");
    let page = format!("/quarantine/{id}");

    let before = h.get(&page, Some(&first)).await;
    assert!(
        before
            .body
            .contains("Propose release (a second officer must confirm)")
    );

    // The first officer's release is only a proposal.
    let reply = h
        .post_form(
            &release,
            Some(&first),
            &[("csrf", &first.csrf), ("note", "Checked with DS Bell.")],
        )
        .await;
    reply.assert_redirect(&page);
    assert!(h.calls().is_empty(), "nothing decided yet");
    let entry = h.entry(id);
    assert_eq!(entry.state, QuarantineState::Held);
    let proposal = entry.release_proposal.clone().unwrap();
    assert_eq!(
        (proposal.by.as_str(), proposal.note.as_str()),
        (OFFICER, "Checked with DS Bell.")
    );
    let shown = h.get(&page, Some(&first)).await;
    assert!(
        shown.body.contains("waiting for a second officer"),
        "{}",
        shown.body
    );
    assert!(
        !shown.body.contains(&format!("action=\"{release}\"")),
        "no confirm form for the proposer"
    );

    // The same officer cannot confirm it.
    let reply = h
        .post_form(
            &release,
            Some(&first),
            &[("csrf", &first.csrf), ("note", "Confirming.")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("a second officer must confirm it"));
    assert!(h.calls().is_empty());
    assert_eq!(h.entry(id), entry);

    // A second officer can.
    let confirm = h.get(&page, Some(&second)).await;
    assert!(confirm.body.contains("Confirm release (second officer)"));
    let reply = h
        .post_form(
            &release,
            Some(&second),
            &[("csrf", &second.csrf), ("note", "Agreed.")],
        )
        .await;
    reply.assert_redirect(&page);
    assert_released_once(&h, id, SECOND, "Agreed.");

    let releases: Vec<(String, String, Value)> = h
        .audit_for(&id.to_string())
        .into_iter()
        .filter(|e| e.action == "release")
        .map(|e| {
            (
                e.actor,
                e.detail["four_eyes"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e.detail["note"].clone(),
            )
        })
        .collect();
    assert_eq!(
        releases,
        vec![
            (
                "officer:officer.k".to_owned(),
                "proposed".to_owned(),
                json!("Checked with DS Bell.")
            ),
            (
                "officer:officer.m".to_owned(),
                "confirmed".to_owned(),
                json!("Agreed.")
            ),
        ]
    );
}

#[tokio::test]
async fn four_eyes_does_not_apply_to_rejects_or_other_rules() {
    let h = four_eyes();
    let login = h.login(OFFICER).await;
    let held = h.hold_default();
    let reply = h
        .post_form(
            &format!("/quarantine/{held}/reject"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", "Not to go.")],
        )
        .await;
    reply.assert_redirect(&format!("/quarantine/{held}"));
    assert_eq!(h.entry(held).state, QuarantineState::Rejected);

    let other = h.hold(Held {
        reasons: reasons_for(&["claims@insurer-example.co.uk"], "another-rule"),
        ..Held::default()
    });
    let reply = h
        .post_form(
            &format!("/quarantine/{other}/release"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", "Fine.")],
        )
        .await;
    reply.assert_redirect(&format!("/quarantine/{other}"));
    assert_eq!(h.entry(other).state, QuarantineState::Released);
    assert_eq!(h.calls().len(), 2);
}

#[tokio::test]
async fn four_eyes_through_the_api() {
    let h = four_eyes();
    let id = h.hold_default();
    let (first, second) = (h.token(OFFICER), h.token(SECOND));
    let path = format!("/api/quarantine/{id}/release");
    let reply = h
        .api(
            Method::POST,
            &path,
            Some(&first),
            Some(json!({"note": "ok by me"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let body = reply.json();
    assert_eq!(body["waiting_for_second_officer"], true);
    assert_eq!(body["state"], "held");
    assert_eq!(body["release_proposal"]["by"], OFFICER);

    let reply = h
        .api(
            Method::POST,
            &path,
            Some(&first),
            Some(json!({"note": "again"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("second officer")
    );
    assert!(h.calls().is_empty());

    let reply = h
        .api(
            Method::POST,
            &path,
            Some(&second),
            Some(json!({"note": "agreed"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["state"], "released");
    assert_eq!(reply.json()["decided_by"], SECOND);
    assert_eq!(h.calls().len(), 1);
}

#[tokio::test]
async fn bulk_reject_of_two_messages() {
    let h = Harness::new();
    let login = h.login(OFFICER).await;
    let (a, b, untouched) = (h.hold_default(), h.hold_default(), h.hold_default());
    let (a_text, b_text) = (a.to_string(), b.to_string());

    // A note is required before anything happens.
    let reply = h
        .post_form(
            "/quarantine/bulk",
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("action", "reject"),
                ("note", " "),
                ("id", &a_text),
                ("id", &b_text),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(h.calls().is_empty());

    // The queue offers every held message for selection.
    let queue = h.get("/quarantine", Some(&login)).await;
    assert!(queue.body.contains(&format!("name=\"id\" value=\"{a}\"")));
    assert!(queue.body.contains("action=\"/quarantine/bulk\""));

    let reply = h
        .post_form(
            "/quarantine/bulk",
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("action", "reject"),
                ("note", "Personal data to an insurer."),
                ("id", &a_text),
                ("id", &b_text),
                ("id", "not-an-id"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("2 of 3 done"), "{}", reply.body);
    assert!(reply.body.contains("Rejected."));
    assert!(reply.body.contains("Not a quarantine reference."));
    for id in [a, b] {
        assert_eq!(h.entry(id).state, QuarantineState::Rejected);
        assert_eq!(
            h.entry(id).note.as_deref(),
            Some("Personal data to an insurer.")
        );
        let audit = h.audit_for(&id.to_string());
        assert_eq!(
            actions(&audit),
            vec![("reject".to_owned(), "officer:officer.k".to_owned())]
        );
        assert_eq!(audit[0].detail["note"], "Personal data to an insurer.");
    }
    assert_eq!(h.entry(untouched).state, QuarantineState::Held);
    let calls = h.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.1 == Decision::Reject && c.2 == OFFICER)
    );

    // Again: each is reported as already decided.
    let reply = h
        .post_form(
            "/quarantine/bulk",
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("action", "release"),
                ("note", "oops"),
                ("id", &a_text),
            ],
        )
        .await;
    assert!(reply.body.contains("0 of 1 done"));
    assert!(reply.body.contains("already been rejected by officer.k"));
    assert_eq!(h.calls().len(), 2);
}

#[tokio::test]
async fn the_audit_trail_shows_views_and_decisions_with_actors() {
    let h = Harness::new();
    let (released, rejected) = (h.hold_default(), h.hold_default());
    let login = h.login(OFFICER).await;
    let auditor = h.login(AUDITOR).await;
    for (id, verb) in [(released, "release"), (rejected, "reject")] {
        h.get(&format!("/quarantine/{id}"), Some(&auditor)).await;
        h.get(&format!("/quarantine/{id}"), Some(&login)).await;
        h.post_form(
            &format!("/quarantine/{id}/{verb}"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", &format!("{verb} note"))],
        )
        .await
        .assert_redirect(&format!("/quarantine/{id}"));
        let page = h.get(&format!("/quarantine/{id}"), Some(&auditor)).await;
        let trail = &page.body[page.body.find("Audit trail").unwrap()..];
        for expected in [
            "<td>auditor:auditor.a</td><td>view</td>",
            "<td>officer:officer.k</td><td>view</td>",
            &format!(
                "<td>officer:officer.k</td><td>{verb}</td><td class=\"note\">{verb} note</td>"
            ),
        ] {
            assert!(trail.contains(expected), "{expected} not in {trail}");
        }
        assert_eq!(
            actions(&h.audit_for(&id.to_string())),
            vec![
                ("view".to_owned(), "auditor:auditor.a".to_owned()),
                ("view".to_owned(), "officer:officer.k".to_owned()),
                (verb.to_owned(), "officer:officer.k".to_owned()),
                ("view".to_owned(), "auditor:auditor.a".to_owned()),
            ]
        );
    }
}
