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

/// Sends `count` wrong-password logins at once, the `i`-th for `name(i)`;
/// returns how many of them had their password checked (audited as a wrong
/// name or password rather than refused by the limiter).
async fn concurrent_wrong_logins(
    h: &Harness,
    count: usize,
    name: impl Fn(usize) -> String,
) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let app = h.app.clone();
        let body = format!("name={}&password=wrong+password+{i}", name(i));
        tasks.spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/login")
                .header("host", HOST)
                .header("origin", format!("http://{HOST}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            app.oneshot(request).await.unwrap().status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        let status = status.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    let entries = h.audit.recent(10 * count).unwrap();
    entries
        .iter()
        .filter(|e| e.action == "login-failed" && e.detail["reason"] == "wrong name or password")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_for_one_name_cannot_pass_the_limit() {
    let h = Harness::new();
    let checked = concurrent_wrong_logins(&h, 40, |_| OFFICER.to_owned()).await;
    assert!(
        checked <= 5,
        "{checked} of 40 concurrent guesses were checked"
    );
    assert!(checked >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_across_names_cannot_pass_the_address_limit() {
    let h = Harness::new();
    let checked = concurrent_wrong_logins(&h, 60, |i| format!("name{i}")).await;
    assert!(
        checked <= 20,
        "{checked} of 60 concurrent guesses were checked"
    );
    assert!(checked >= 1);
}

#[tokio::test]
async fn a_login_form_from_another_site_is_refused_and_audited() {
    let h = Harness::new();
    for origin in [Some("https://evil.example"), None] {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let body = format!("name={OFFICER}&password={}", encode_component(PASSWORD));
        let reply = h.send(request.body(Body::from(body)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(reply.header("set-cookie").is_empty());
        assert!(
            reply.body.contains("not sent from the console"),
            "{}",
            reply.body
        );
    }
    let refused = h.audit_for("/login");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].action, "refused");
    assert_eq!(refused[0].actor, "client:192.0.2.10");
    assert_eq!(refused[0].detail["status"], 403);
    // From the console's own page it works.
    h.login(OFFICER).await;
}

/// A login from behind the proxy, for the client `forwarded_for`.
async fn login_via_proxy(h: &Harness, forwarded_for: &str, name: &str, password: &str) -> Reply {
    let body = format!(
        "name={}&password={}",
        encode_component(name),
        encode_component(password)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("host", HOST)
        .header("origin", format!("http://{HOST}"))
        .header("x-forwarded-for", forwarded_for)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    h.send(request).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_officer_is_limited_by_their_own_address() {
    // Every request reaches the console from the proxy, 192.0.2.10.
    let h = Harness::with_config(ConsoleConfig {
        trusted_proxies: vec!["192.0.2.0/24".parse().unwrap()],
        ..ConsoleConfig::default()
    });
    for i in 0..20 {
        let reply = login_via_proxy(
            &h,
            "198.51.100.66",
            &format!("guess{i}"),
            "wrong password!!",
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = login_via_proxy(&h, "198.51.100.66", OFFICER, PASSWORD).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is locked out"
    );
    // Another officer behind the same proxy still signs in.
    let reply = login_via_proxy(&h, "203.0.113.5, 198.51.100.7", OFFICER, PASSWORD).await;
    reply.assert_redirect("/");
    let entries = h.audit_for("guess0");
    assert_eq!(entries[0].actor, "client:198.51.100.66");
    // A client that is not the proxy cannot choose its address.
    let untrusted = Harness::new();
    let reply = login_via_proxy(&untrusted, "203.0.113.9", "nobody", "wrong password!!").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(untrusted.audit_for("nobody")[0].actor, "client:192.0.2.10");
}

/// Two consoles (two gateways) sharing one database for accounts, sessions
/// and login counters, and a runtime to send them requests on: a
/// current-thread one, so that any database call made on the runtime's
/// worker rather than the blocking pool panics (the driver refuses to
/// start its runtime inside another).
fn two_nodes() -> (
    cordon_postgres::testing::TestDatabase,
    Harness,
    Harness,
    tokio::runtime::Runtime,
) {
    let test = cordon_postgres::testing::TestDatabase::create();
    let (db_a, db_b) = (test.connect(), test.connect());
    add_accounts(&UserStore::open_postgres(db_a.clone()).unwrap());
    let (a, b) = (Harness::on_database(&db_a), Harness::on_database(&db_b));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (test, a, b, runtime)
}

#[test]
fn a_sign_in_on_one_gateway_holds_on_the_other_until_signed_out() {
    let (_db, a, b, runtime) = two_nodes();
    runtime.block_on(async {
        let login = a.login(OFFICER).await;
        let page = b.get("/quarantine", Some(&login)).await;
        assert_eq!(page.status, StatusCode::OK);
        // The CSRF token of A's pages is the one B expects.
        let reply = b
            .post_form("/logout", Some(&login), &[("csrf", &login.csrf)])
            .await;
        reply.assert_redirect("/login");
        a.get("/quarantine", Some(&login))
            .await
            .assert_redirect("/login");
        // An account removed through B signs its sessions out on A.
        let login = a.login(SECOND).await;
        assert_eq!(b.get("/", Some(&login)).await.status, StatusCode::OK);
        let users = std::sync::Arc::clone(&b.users);
        tokio::task::spawn_blocking(move || users.remove(SECOND).unwrap())
            .await
            .unwrap();
        a.get("/", Some(&login)).await.assert_redirect("/login");
    });
}

#[test]
fn failures_on_two_gateways_lock_the_name_on_both() {
    let (_db, a, b, runtime) = two_nodes();
    runtime.block_on(async {
        for i in 0..5 {
            let node = if i % 2 == 0 { &a } else { &b };
            let reply = node
                .post_form(
                    "/login",
                    None,
                    &[("name", OFFICER), ("password", "wrong password!!")],
                )
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        for node in [&a, &b] {
            let reply = node
                .post_form("/login", None, &[("name", OFFICER), ("password", PASSWORD)])
                .await;
            assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(reply.header("set-cookie").is_empty());
        }
        // Another name is not locked.
        a.login(SECOND).await;
    });
}
