//! Signing in and out: the limiter, the cookie, the audit entries.

use axum::http::StatusCode;

use super::*;
use crate::ConsoleConfig;

#[tokio::test]
async fn wrong_password_fails_and_is_audited() {
    let h = Harness::new();
    let reply = h
        .post_form(
            "/login",
            None,
            &[("name", OFFICER), ("password", "not the password at all")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.header("set-cookie").is_empty());
    assert!(reply.body.contains("user name or password is not right"));
    // The name is kept in the form, escaped.
    assert!(reply.body.contains(&format!("value=\"{OFFICER}\"")));
    let entries = h.audit_for(OFFICER);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, "login-failed");
    assert_eq!(entries[0].actor, "client:192.0.2.10");
    assert_eq!(entries[0].detail["ip"], "192.0.2.10");
    // An unknown name fails the same way.
    let reply = h
        .post_form(
            "/login",
            None,
            &[("name", "nobody"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.audit_for("nobody")[0].action, "login-failed");
    // And no session was made: the pages still redirect.
    h.get("/", None).await.assert_redirect("/login");
}

#[tokio::test]
async fn five_failures_lock_the_name_even_for_the_right_password() {
    let h = Harness::new();
    for _ in 0..5 {
        let reply = h
            .post_form(
                "/login",
                None,
                &[("name", OFFICER), ("password", "wrong password!!")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = h
        .post_form("/login", None, &[("name", OFFICER), ("password", PASSWORD)])
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(reply.header("set-cookie").is_empty());
    assert!(
        reply
            .body
            .contains("Too many failed attempts to sign in. Try again in 15 minutes."),
        "{}",
        reply.body
    );
    assert!(reply.header("retry-after").parse::<u64>().unwrap() > 0);
    let entries = h.audit_for(OFFICER);
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[5].detail["reason"], "too many failed attempts");
    // Another officer is not locked out.
    h.login(SECOND).await;
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_the_session() {
    let h = Harness::new();
    let reply = h
        .post_form("/login", None, &[("name", OFFICER), ("password", PASSWORD)])
        .await;
    reply.assert_redirect("/");
    let cookie = reply.header("set-cookie");
    assert!(cookie.starts_with("cordon_session="), "{cookie}");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "no TLS configured: {cookie}");
    let login = h.login(OFFICER).await;
    let entries = h.audit_for(OFFICER);
    assert_eq!(entries[0].action, "login");
    assert_eq!(entries[0].actor, "officer:officer.k");
    assert_eq!(entries[0].detail["ip"], "192.0.2.10");

    // Signed in, a GET /login goes to the overview.
    h.get("/login", Some(&login)).await.assert_redirect("/");

    // Logging out needs the CSRF token.
    let reply = h.post_form("/logout", Some(&login), &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(h.get("/", Some(&login)).await.status, StatusCode::OK);

    let reply = h
        .post_form("/logout", Some(&login), &[("csrf", &login.csrf)])
        .await;
    reply.assert_redirect("/login");
    assert!(reply.header("set-cookie").contains("Max-Age=0"));
    h.get("/", Some(&login)).await.assert_redirect("/login");
    let last = h.audit_for(OFFICER).pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("logout", "officer:officer.k")
    );
}

#[tokio::test]
async fn secure_cookies_are_marked_secure() {
    let h = Harness::with_config(ConsoleConfig {
        secure_cookies: true,
        ..ConsoleConfig::default()
    });
    let reply = h
        .post_form("/login", None, &[("name", OFFICER), ("password", PASSWORD)])
        .await;
    assert!(reply.header("set-cookie").ends_with("; Secure"));
}

#[tokio::test]
async fn a_removed_account_is_signed_out() {
    let h = Harness::new();
    let login = h.login(SECOND).await;
    assert_eq!(
        h.get("/quarantine", Some(&login)).await.status,
        StatusCode::OK
    );
    h.users.remove(SECOND).unwrap();
    h.get("/quarantine", Some(&login))
        .await
        .assert_redirect("/login");
}
