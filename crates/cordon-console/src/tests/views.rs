//! What the pages show: the message view (escaped, highlighted), the
//! downloads, the overview and the queue with its filters, and the headers
//! on every response.

use axum::http::{Method, StatusCode};

use super::*;
use crate::CONTENT_SECURITY_POLICY;

/// Asserts every security header on `reply`.
fn assert_secure(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("content-security-policy"),
        CONTENT_SECURITY_POLICY,
        "{what}"
    );
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(reply.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(reply.header("cache-control"), "no-store", "{what}");
}

#[tokio::test]
async fn the_message_view_highlights_findings_and_escapes_everything() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    let page = h.get(&format!("/quarantine/{id}"), Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_secure(&page, "message view");
    let body = &page.body;

    // Nothing of the message is live markup.
    for live in [
        "<script",
        "<img",
        "<iframe",
        "onclick=",
        "src=\"http://evil",
    ] {
        assert!(!body.contains(live), "{live} is live in the page");
    }
    // It is there as text, escaped: the subject, the headers, the bodies.
    assert!(body.contains("Claim &lt;script&gt;alert(1)&lt;&#x2f;script&gt; [OFFICIAL-SENSITIVE]"));
    assert!(body.contains("Subject: Claim &lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert!(body.contains(
        "Markup as text: &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &lt;img src=&quot;http:&#x2f;&#x2f;evil.example&#x2f;x&quot;&gt;"
    ));
    assert!(body.contains("Entity markup &lt;script&gt;alert(2)&lt;&#x2f;script&gt;"));
    // Only the console's own tags are there: every "<" opens a known tag.
    for tag in body.split('<').skip(1) {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            [
                "!doctype", "html", "head", "meta", "title", "link", "body", "header", "div", "a",
                "span", "nav", "form", "input", "button", "main", "p", "h1", "h2", "h3", "dl",
                "dt", "dd", "code", "strong", "label", "textarea", "ul", "li", "table", "thead",
                "tbody", "tr", "th", "td", "pre", "mark", "footer",
            ]
            .contains(&name.as_str()),
            "unexpected tag <{name}"
        );
    }

    // Findings: listed with redacted samples, and highlighted in the text.
    for shown in [
        "<code>JM 41 ** ** B</code>",
        "<code>OFFICIAL-SENSITIVE</code>",
        "<code>health: diagnosed with</code>",
        "A National Insurance number",
        "in the message body",
    ] {
        assert!(body.contains(shown), "{shown} not shown");
    }
    for marked in [
        "<mark>JM 41 23 45 B</mark>",
        "<mark>OFFICIAL-SENSITIVE</mark>",
        "<mark>Operation Nightjar</mark>",
        "<mark>diagnosed with</mark>",
    ] {
        assert!(body.contains(marked), "{marked} not highlighted");
    }
    assert!(body.contains("Windows program (by content, named invoice.pdf)</code> <span class=\"hint\">(listed, not highlighted)"));
    // The HTML part is shown as its text too, with the marking highlighted.
    assert!(body.matches("<mark>OFFICIAL-SENSITIVE</mark>").count() >= 2);

    // Envelope, reasons, classification.
    assert!(body.contains("sam.okafor@northshire.police.uk"));
    assert!(body.contains("claims@insurer-example.co.uk"));
    assert!(body.contains(&format!("Rule {RULE}")));
    assert!(body.contains("Personal data only goes to secure addresses."));
    assert!(body.contains("A National Insurance number, JM 41 ** ** B, in the message body"));
    assert!(body.contains("OFFICIAL-SENSITIVE in the message body"));

    // Attachments: listed with a download link each.
    assert!(body.contains(&format!("href=\"/quarantine/{id}/attachments/0\"")));
    assert!(body.contains(&format!("href=\"/quarantine/{id}/attachments/1\"")));
    assert!(body.contains("notes.txt"));
    assert!(body.contains("12 bytes"));

    // The officer's forms carry the CSRF token.
    assert!(body.contains(&format!("action=\"/quarantine/{id}/release\"")));
    assert!(body.contains(&format!("action=\"/quarantine/{id}/reject\"")));
    assert!(body.contains(&format!("name=\"csrf\" value=\"{}\"", login.csrf)));

    // The view itself is audited, and shown in the trail.
    let audit = h.audit_for(&id.to_string());
    assert_eq!(
        actions(&audit),
        vec![("view".to_owned(), "officer:officer.k".to_owned())]
    );
    assert!(body.contains("<td>officer:officer.k</td><td>view</td>"));
}

#[tokio::test]
async fn attachments_download_only_as_files() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(AUDITOR).await;
    let reply = h
        .get(&format!("/quarantine/{id}/attachments/0"), Some(&login))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_secure(&reply, "download");
    assert_eq!(reply.header("content-type"), "application/octet-stream");
    assert_eq!(
        reply.header("content-disposition"),
        "attachment; filename=\"invoice__final_.pdf\""
    );
    assert_eq!(&reply.bytes[..2], b"MZ");
    let reply = h
        .get(&format!("/quarantine/{id}/attachments/1"), Some(&login))
        .await;
    assert_eq!(
        reply.header("content-disposition"),
        "attachment; filename=\"notes.txt\""
    );
    assert_eq!(reply.header("content-type"), "application/octet-stream");
    assert_eq!(reply.body, "Plain notes.");
    let audit = h.audit_for(&id.to_string());
    assert_eq!(
        actions(&audit),
        vec![
            ("download".to_owned(), "auditor:auditor.a".to_owned()),
            ("download".to_owned(), "auditor:auditor.a".to_owned()),
        ]
    );
    assert_eq!(audit[0].detail["attachment"], "invoice__final_.pdf");
    for bad in ["2", "x", "-1", "99999999999999999999999"] {
        let reply = h
            .get(&format!("/quarantine/{id}/attachments/{bad}"), Some(&login))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}");
        assert_ne!(reply.header("content-type"), "application/octet-stream");
    }
    assert_eq!(
        h.audit_for(&id.to_string()).len(),
        2,
        "failures are not downloads"
    );
}

#[tokio::test]
async fn a_message_no_longer_stored_still_shows_its_record() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    h.post_form(
        &format!("/quarantine/{id}/reject"),
        Some(&login),
        &[("csrf", &login.csrf), ("note", "No.")],
    )
    .await;
    h.spool.remove(&id).unwrap();
    let page = h.get(&format!("/quarantine/{id}"), Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("no longer stored"));
    assert!(page.body.contains("<code>JM 41 ** ** B</code>"));
    assert!(!page.body.contains("<mark>"));
    let reply = h
        .get(&format!("/quarantine/{id}/attachments/0"), Some(&login))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("no longer stored"));
}

#[tokio::test]
async fn a_damaged_spool_file_still_shows_the_record_and_the_forms() {
    let h = Harness::new();
    let id = h.hold_default();
    std::fs::write(h.spool.path_of(&id), b"not a spool file").unwrap();
    let login = h.login(OFFICER).await;
    let page = h.get(&format!("/quarantine/{id}"), Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("could not be read"));
    assert!(!page.body.contains("not a spool file"));
    assert!(page.body.contains("<code>JM 41 ** ** B</code>"));
    assert!(
        page.body
            .contains(&format!("action=\"/quarantine/{id}/reject\""))
    );
}

#[tokio::test]
async fn unknown_pages_and_messages_are_not_found() {
    let h = Harness::new();
    let login = h.login(OFFICER).await;
    for path in [
        format!("/quarantine/{}", QueueId::new()),
        "/quarantine/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/nowhere".to_owned(),
    ] {
        let reply = h.get(&path, Some(&login)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_secure(&reply, &path);
    }
    let token = h.token(OFFICER);
    let reply = h.api(Method::GET, "/api/nowhere", Some(&token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"], "not found");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let h = Harness::new();
    let id = h.hold_default();
    let login = h.login(OFFICER).await;
    let token = h.token(OFFICER);
    let mut replies = vec![
        ("login page", h.get("/login", None).await),
        ("redirect", h.get("/", None).await),
        ("overview", h.get("/", Some(&login)).await),
        ("queue", h.get("/quarantine", Some(&login)).await),
        ("stylesheet", h.get("/static/console.css", None).await),
        ("metrics", h.get("/metrics", None).await),
        (
            "api 401",
            h.api(Method::GET, "/api/quarantine", None, None).await,
        ),
        (
            "api list",
            h.api(Method::GET, "/api/quarantine", Some(&token), None)
                .await,
        ),
        (
            "failed login",
            h.post_form("/login", None, &[("name", "x"), ("password", "y")])
                .await,
        ),
        (
            "csrf refusal",
            h.post_form(&format!("/quarantine/{id}/release"), Some(&login), &[])
                .await,
        ),
    ];
    replies.push(("not found", h.get("/missing", None).await));
    for (what, reply) in &replies {
        assert_secure(reply, what);
    }
}

#[tokio::test]
async fn stylesheet_and_metrics_are_served_without_a_session() {
    let h = Harness::new();
    let css = h.get("/static/console.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert!(css.body.contains("mark {"));
    let metrics = h.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    assert_eq!(metrics.body, METRICS);
}

/// Holds a message with `rule`, `sender`, `recipient` and `subject` at `held_at`.
fn hold_with(
    h: &Harness,
    rule: &str,
    sender: &str,
    recipient: &str,
    subject: &str,
    held_at: u64,
) -> QueueId {
    h.hold(Held {
        subject: subject.into(),
        sender: sender.into(),
        recipients: vec![recipient.into()],
        reasons: reasons_for(&[recipient], rule),
        held_at,
        ..Held::default()
    })
}

#[tokio::test]
async fn the_overview_counts_and_charts() {
    let h = Harness::new();
    let now = now();
    let a1 = hold_with(
        &h,
        "rule-a",
        "x@northshire.police.uk",
        "p@gmail.com",
        "one",
        now - 3 * 86_400 - 7_200,
    );
    hold_with(
        &h,
        "rule-a",
        "x@northshire.police.uk",
        "p@gmail.com",
        "two",
        now - 60,
    );
    hold_with(
        &h,
        "rule-b",
        "x@northshire.police.uk",
        "p@gmail.com",
        "three",
        now - 30,
    );
    let released = hold_with(
        &h,
        "rule-c",
        "x@northshire.police.uk",
        "p@gmail.com",
        "four",
        now - 20,
    );
    let rejected = hold_with(
        &h,
        "rule-c",
        "x@northshire.police.uk",
        "p@gmail.com",
        "five",
        now - 10,
    );
    let login = h.login(OFFICER).await;
    for (id, verb) in [(released, "release"), (rejected, "reject")] {
        h.post_form(
            &format!("/quarantine/{id}/{verb}"),
            Some(&login),
            &[("csrf", &login.csrf), ("note", "done")],
        )
        .await
        .assert_redirect(&format!("/quarantine/{id}"));
    }
    let page = h.get("/", Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("<p class=\"big\"><a href=\"/quarantine\">3</a></p>"),
        "{body}"
    );
    assert!(
        body.contains("<p class=\"big\">3 days 2 hours</p>"),
        "{body}"
    );
    assert!(body.contains(&format!("/quarantine/{a1}")));
    assert!(body.contains("<dt>Released</dt><dd>1</dd>"));
    assert!(body.contains("<dt>Rejected</dt><dd>1</dd>"));
    assert!(body.contains("<dt>Expired</dt><dd>0</dd>"));
    // Charts: held by rule (rule-c is decided, so not there), and by day.
    assert_eq!(body.matches("<svg class=\"chart\"").count(), 2);
    let by_rule = &body
        [body.find("Held messages by rule").unwrap()..body.find("Messages held per day").unwrap()];
    assert!(by_rule.contains(">rule-a</text>") && by_rule.contains(">rule-b</text>"));
    assert!(!by_rule.contains("rule-c"));
    let by_day = &body[body.find("Messages held per day").unwrap()..];
    assert_eq!(by_day.matches("class=\"chart-bar\"").count(), 14);
}

#[tokio::test]
async fn the_queue_lists_newest_first_and_filters() {
    let h = Harness::new();
    let now = now();
    let day = 86_400;
    let old = hold_with(
        &h,
        "rule-a",
        "sam@northshire.police.uk",
        "p@gmail.com",
        "Old claim",
        now - 20 * day,
    );
    let mid = hold_with(
        &h,
        "rule-b",
        "jo@northshire.police.uk",
        "q@yahoo.co.uk",
        "Rota",
        now - day,
    );
    let new = hold_with(
        &h,
        "rule-a",
        "jo@northshire.police.uk",
        "r@hotmail.com",
        "New claim",
        now - 60,
    );
    let login = h.login(OFFICER).await;
    let ids = |body: &str| -> Vec<QueueId> {
        let mut found: Vec<(usize, QueueId)> = [old, mid, new]
            .into_iter()
            .filter_map(|id| {
                body.find(&format!("name=\"id\" value=\"{id}\""))
                    .map(|at| (at, id))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, id)| id).collect()
    };
    let all = h.get("/quarantine", Some(&login)).await;
    assert_eq!(ids(&all.body), vec![new, mid, old], "newest first");
    assert!(all.body.contains("Messages <span class=\"count\">3</span>"));
    // Counts by rule, each a link to the filter.
    assert!(all.body.contains("href=\"/quarantine?state=held&amp;rule=rule-a\">rule-a</a> <span class=\"count\">2</span>"), "{}", all.body);
    assert!(
        all.body
            .contains(">rule-b</a> <span class=\"count\">1</span>")
    );

    for (query, expected) in [
        ("rule=rule-a", vec![new, old]),
        ("rule=rule-b", vec![mid]),
        ("sender=SAM", vec![old]),
        ("domain=yahoo.co.uk", vec![mid]),
        ("q=claim", vec![new, old]),
        ("q=rota", vec![mid]),
        ("rule=rule-a&sender=jo", vec![new]),
        ("rule=nothing", vec![]),
    ] {
        let page = h.get(&format!("/quarantine?{query}"), Some(&login)).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert_eq!(ids(&page.body), expected, "{query}");
    }
    let today = crate::time::date_of(now);
    let from = crate::time::date_of(now - 2 * day);
    let page = h
        .get(&format!("/quarantine?from={from}&to={today}"), Some(&login))
        .await;
    assert_eq!(ids(&page.body), vec![new, mid]);
    let page = h.get(&format!("/quarantine?to={from}"), Some(&login)).await;
    assert_eq!(ids(&page.body), vec![old]);

    // States: decided messages leave the default view.
    h.post_form(
        &format!("/quarantine/{mid}/reject"),
        Some(&login),
        &[("csrf", &login.csrf), ("note", "no")],
    )
    .await;
    assert_eq!(
        ids(&h.get("/quarantine", Some(&login)).await.body),
        vec![new, old]
    );
    let rejected = h.get("/quarantine?state=rejected", Some(&login)).await;
    assert!(
        rejected
            .body
            .contains(&format!("href=\"/quarantine/{mid}\""))
    );
    assert!(
        !rejected
            .body
            .contains(&format!("href=\"/quarantine/{new}\""))
    );
    let every = h.get("/quarantine?state=all", Some(&login)).await;
    for id in [old, mid, new] {
        assert!(every.body.contains(&format!("href=\"/quarantine/{id}\"")));
    }

    for bad in ["state=gone", "from=yesterday", "to=2025-13-01"] {
        let page = h.get(&format!("/quarantine?{bad}"), Some(&login)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn bidi_overrides_and_control_characters_are_shown_not_obeyed() {
    let h = Harness::new();
    let raw = "From: sam.okafor@northshire.police.uk\r\n\
To: claims@insurer-example.co.uk\r\n\
Subject: =?utf-8?q?invoice=E2=80=AEfdp.exe?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Pay \u{2067}now\u{2069} \u{1b}[2J please.\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe\r\n\
\r\n\
MZ\r\n\
--b--\r\n";
    let id = h.hold(Held {
        subject: "invoice\u{202E}fdp.exe".into(),
        raw: raw.as_bytes().to_vec(),
        ..Held::default()
    });
    let login = h.login(OFFICER).await;
    for path in [format!("/quarantine/{id}"), "/quarantine".to_owned()] {
        let page = h.get(&path, Some(&login)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains("invoice[U+202E]fdp.exe"),
            "{path}: {}",
            page.body
        );
        for hidden in ['\u{202E}', '\u{2067}', '\u{2069}', '\u{1b}'] {
            assert!(!page.body.contains(hidden), "{path} shows {hidden:?} raw");
        }
    }
}

#[tokio::test]
async fn the_queue_is_shown_a_page_at_a_time_with_a_link_to_older_messages() {
    let h = Harness::new();
    let start = now() - 10_000;
    let ids: Vec<QueueId> = (0..103)
        .map(|i| {
            h.hold(Held {
                subject: format!("Case file {i}"),
                held_at: start + i,
                ..Held::default()
            })
        })
        .collect();
    let login = h.login(OFFICER).await;
    let shown = |body: &str| -> Vec<QueueId> {
        ids.iter()
            .copied()
            .filter(|id| body.contains(&format!("href=\"/quarantine/{id}\"")))
            .collect()
    };
    let first = h.get("/quarantine", Some(&login)).await;
    assert_eq!(first.status, StatusCode::OK);
    let body = first.body;
    assert_eq!(shown(&body).len(), 100);
    assert!(body.contains(&format!("href=\"/quarantine/{}\"", ids[102])));
    assert!(!body.contains(&format!("href=\"/quarantine/{}\"", ids[2])));
    assert!(body.contains("Showing the newest 100 of 103"), "{body}");
    let older = body
        .split("href=\"/quarantine?")
        .filter_map(|rest| rest.split('"').next())
        .find(|query| query.contains("before="))
        .expect("a link to older messages")
        .replace("&amp;", "&");
    let second = h.get(&format!("/quarantine?{older}"), Some(&login)).await;
    let body = second.body;
    assert_eq!(shown(&body), vec![ids[0], ids[1], ids[2]]);
    assert!(body.contains("Back to the newest"), "{body}");
    assert!(!body.contains("Older messages"));
    let bad = h.get("/quarantine?before=nonsense", Some(&login)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
