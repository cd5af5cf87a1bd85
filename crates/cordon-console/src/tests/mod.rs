//! Tests of the whole router: a console over a memory store, a spool, an
//! audit log and a users file in a temporary directory, with a fake
//! [`Decisions`] that records its calls. Requests go through
//! `tower::ServiceExt::oneshot`; the client address comes from
//! `MockConnectInfo`.

mod access;
mod api;
mod decisions;
mod login;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use cordon_accounts::{LimiterConfig, LoginLimiter, Role, SessionConfig, Sessions, UserStore};
use cordon_audit::{AuditLog, Entry};
use cordon_store::{
    Decision, Engine, Envelope, MemoryStore, QuarantineRecord, QuarantineState, QueueId, Spool,
    Store, StoreError,
};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::html::encode_component;
use crate::runtime::now;
use crate::{Console, ConsoleConfig, Decisions};

/// Every test account's password.
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// The first officer.
pub(crate) const OFFICER: &str = "officer.k";
/// The second officer (four eyes).
pub(crate) const SECOND: &str = "officer.m";
/// The read-only auditor.
pub(crate) const AUDITOR: &str = "auditor.a";
/// The host name the browser reaches the console by (its `Host` and, for
/// forms, its `Origin`).
pub(crate) const HOST: &str = "console.test:8025";
/// The client address every request comes from.
pub(crate) const CLIENT: [u8; 4] = [192, 0, 2, 10];
/// The rule the default test message is held by.
pub(crate) const RULE: &str = "personal-data-to-insecure";
/// The metrics text the fake metrics function renders.
pub(crate) const METRICS: &str = "# TYPE cordon_quarantine_held gauge\ncordon_quarantine_held 3\n";

/// One call of [`FakeDecisions::decide`].
pub(crate) type Call = (QueueId, Decision, String, Option<String>);

/// Decides in the store, as the gateway does, and records each call.
pub(crate) struct FakeDecisions {
    store: Arc<MemoryStore>,
    pub calls: Mutex<Vec<Call>>,
}

impl Decisions for FakeDecisions {
    fn decide(
        &self,
        id: QueueId,
        decision: Decision,
        by: String,
        note: Option<String>,
    ) -> Pin<Box<dyn Future<Output = Result<QuarantineRecord, StoreError>> + Send + '_>> {
        let result = self
            .store
            .decide_quarantine(&id, decision, &by, note.as_deref(), now());
        self.calls.lock().unwrap().push((id, decision, by, note));
        Box::pin(async move { result })
    }
}

/// Adds the test accounts: two officers and an auditor.
pub(crate) fn add_accounts(users: &UserStore) {
    users.add(OFFICER, Role::Officer, PASSWORD).unwrap();
    users.add(SECOND, Role::Officer, PASSWORD).unwrap();
    users.add(AUDITOR, Role::Auditor, PASSWORD).unwrap();
}

/// A console with its parts, for one test.
pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    pub store: Arc<MemoryStore>,
    pub spool: Spool,
    pub audit: Arc<AuditLog>,
    pub users: Arc<UserStore>,
    pub decisions: Arc<FakeDecisions>,
    pub app: Router,
}

/// An answer, with the body as text.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl Reply {
    /// The value of header `name` (empty if absent).
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts a redirect (303) to `location`.
    pub(crate) fn assert_redirect(&self, location: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.header("location"), location);
    }
}

/// A signed-in browser: its cookie header and the session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Login {
    pub cookie: String,
    pub csrf: String,
}

/// What to hold.
pub(crate) struct Held {
    pub subject: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub findings: Value,
    pub reasons: Value,
    pub held_at: u64,
}

impl Default for Held {
    fn default() -> Held {
        Held {
            subject: "Claim <script>alert(1)</script> [OFFICIAL-SENSITIVE]".into(),
            sender: "sam.okafor@northshire.police.uk".into(),
            recipients: vec!["claims@insurer-example.co.uk".into()],
            raw: HOSTILE_MESSAGE.as_bytes().to_vec(),
            findings: default_findings(),
            reasons: reasons_for(&["claims@insurer-example.co.uk"], RULE),
            held_at: now(),
        }
    }
}

/// A message with findings in its text, a hostile HTML part and two
/// attachments (an executable named as a PDF, and a text file).
pub(crate) const HOSTILE_MESSAGE: &str = "From: Sam Okafor <sam.okafor@northshire.police.uk>\r\n\
To: claims@insurer-example.co.uk\r\n\
Subject: Claim <script>alert(1)</script> [OFFICIAL-SENSITIVE]\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
OFFICIAL-SENSITIVE\r\n\
Claimant NINO JM 41 23 45 B, re Operation Nightjar.\r\n\
She was diagnosed with asthma in 2019.\r\n\
Markup as text: <script>alert(1)</script> <img src=\"http://evil.example/x\">\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><head><script>alert(1)</script></head><body>\r\n\
<p>OFFICIAL-SENSITIVE</p><img src=\"http://evil.example/x\">\r\n\
<p onclick=\"steal()\">Entity markup &lt;script&gt;alert(2)&lt;/script&gt;</p>\r\n\
<iframe src=\"http://evil.example/frame\"></iframe>\r\n\
</body></html>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=\"../invoice \\\"final\\\".pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\r\n\
--outer\r\n\
Content-Type: text/plain; name=\"notes.txt\"\r\n\
Content-Disposition: attachment; filename=\"notes.txt\"\r\n\
\r\n\
Plain notes.\r\n\
--outer--\r\n";

/// The findings stored with the default message.
pub(crate) fn default_findings() -> Value {
    json!([
        {"detector": "marking", "category": "classification", "where": "body", "count": 1, "sample": "OFFICIAL-SENSITIVE"},
        {"detector": "uk_nino", "category": "personal_data", "where": "body", "count": 1, "sample": "JM 41 ** ** B"},
        {"detector": "operation_name", "category": "operational", "where": "body", "count": 1, "sample": "Operation Nightjar"},
        {"detector": "special_category", "category": "special_category", "where": "body", "count": 1, "sample": "health: diagnosed with"},
        {"detector": "executable", "category": "executable", "where": "attachment:.._invoice \"final\".pdf", "count": 1, "sample": "Windows program (by content, named invoice.pdf)"}
    ])
}

/// Reasons naming `rule` for each of `recipients`.
pub(crate) fn reasons_for(recipients: &[&str], rule: &str) -> Value {
    Value::Array(
        recipients
            .iter()
            .map(|address| {
                json!({
                    "address": address,
                    "domain_class": "external",
                    "action": "hold",
                    "reasons": [{
                        "rule": rule,
                        "action": "hold",
                        "policy": "Personal data only goes to secure addresses.",
                        "explanation": "The message contains personal data and the recipient's address is not secure.",
                        "evidence": [{"detector": "uk_nino", "where": "body", "sample": "JM 41 ** ** B", "count": 1}]
                    }]
                })
            })
            .collect(),
    )
}

impl Harness {
    /// A console with no four-eyes rules.
    pub(crate) fn new() -> Harness {
        Harness::with_config(ConsoleConfig {
            hold_days: 7,
            ..ConsoleConfig::default()
        })
    }

    /// A console with `config`, three accounts (two officers, an auditor).
    pub(crate) fn with_config(config: ConsoleConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let users = Arc::new(UserStore::open(dir.path().join("users.json")).unwrap());
        add_accounts(&users);
        Harness::with_parts(dir, config, users, None)
    }

    /// A console whose accounts, sessions and login counters are in the
    /// database `db` (one node of several sharing it; the accounts are
    /// added with [`add_accounts`] once). Build it outside the runtime: the
    /// database is only ever used on the blocking pool, and a call made on a
    /// runtime worker panics (the driver starts a runtime of its own).
    pub(crate) fn on_database(db: &cordon_postgres::Database) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let users = Arc::new(UserStore::open_postgres(db.clone()).unwrap());
        let shared = (
            Sessions::postgres(db.clone(), SessionConfig::default()),
            LoginLimiter::postgres(db.clone(), LimiterConfig::default()),
        );
        let config = ConsoleConfig {
            hold_days: 7,
            ..ConsoleConfig::default()
        };
        Harness::with_parts(dir, config, users, Some(shared))
    }

    fn with_parts(
        dir: tempfile::TempDir,
        config: ConsoleConfig,
        users: Arc<UserStore>,
        shared: Option<(Sessions, LoginLimiter)>,
    ) -> Harness {
        let store = Arc::new(MemoryStore::new());
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let audit = Arc::new(AuditLog::open(dir.path().join("audit.jsonl")).unwrap());
        let decisions = Arc::new(FakeDecisions {
            store: Arc::clone(&store),
            calls: Mutex::new(Vec::new()),
        });
        let mut console = Console::new(
            Store::new(Arc::clone(&store) as Arc<dyn Engine>),
            spool.clone(),
            Arc::clone(&decisions) as Arc<dyn Decisions>,
            Arc::clone(&audit),
            Arc::clone(&users),
            config,
            Arc::new(|| METRICS.to_owned()),
        );
        if let Some((sessions, limiter)) = shared {
            console = console.with_sessions(sessions).with_login_limiter(limiter);
        }
        let app = Arc::new(console)
            .router()
            .layer(MockConnectInfo(SocketAddr::from((CLIENT, 40_000))));
        Harness {
            _dir: dir,
            store,
            spool,
            audit,
            users,
            decisions,
            app,
        }
    }

    /// Spools and holds a message; returns its quarantine id.
    pub(crate) fn hold(&self, held: Held) -> QueueId {
        let id = QueueId::new();
        let envelope = Envelope {
            mail_from: held.sender.clone(),
            rcpt_to: held.recipients.clone(),
            client_ip: None,
            helo: None,
            received_at: held.held_at,
        };
        self.spool.write(&id, &envelope, &held.raw).unwrap();
        self.store
            .put_quarantine(&QuarantineRecord {
                id,
                message_id: id,
                recipients: held.recipients,
                sender: held.sender,
                subject: Some(held.subject),
                held_at: held.held_at,
                expires_at: held.held_at + 7 * 86_400,
                state: QuarantineState::Held,
                findings_json: held.findings.to_string(),
                reasons_json: held.reasons.to_string(),
                decided_by: None,
                decided_at: None,
                note: None,
                sender_notified: false,
                release_proposal: None,
                rules: Vec::new(),
            })
            .unwrap();
        id
    }

    /// Holds the default message.
    pub(crate) fn hold_default(&self) -> QueueId {
        self.hold(Held::default())
    }

    /// The entry `id` as stored now.
    pub(crate) fn entry(&self, id: QueueId) -> QuarantineRecord {
        self.store.get_quarantine(&id).unwrap().unwrap()
    }

    /// The calls made to the fake decisions.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.decisions.calls.lock().unwrap().clone()
    }

    /// The audit entries about `subject`.
    pub(crate) fn audit_for(&self, subject: &str) -> Vec<Entry> {
        self.audit.entries_for(subject).unwrap()
    }

    /// Sends `request` through the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    /// `GET path`, signed in as `login` if given.
    pub(crate) async fn get(&self, path: &str, login: Option<&Login>) -> Reply {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(login) = login {
            request = request.header("cookie", &login.cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `POST path` with a form of `fields`, signed in as `login` if given.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        login: Option<&Login>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", HOST)
            .header("origin", format!("http://{HOST}"))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(login) = login {
            request = request.header("cookie", &login.cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs in as `name` (with the right password) and finds the CSRF
    /// token in a page.
    pub(crate) async fn login(&self, name: &str) -> Login {
        let reply = self
            .post_form("/login", None, &[("name", name), ("password", PASSWORD)])
            .await;
        reply.assert_redirect("/");
        let set_cookie = reply.header("set-cookie");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        assert!(cookie.starts_with("cordon_session="), "{set_cookie}");
        let page = self
            .get(
                "/",
                Some(&Login {
                    cookie: cookie.clone(),
                    csrf: String::new(),
                }),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        Login {
            csrf: csrf_in(&page.body),
            cookie,
        }
    }

    /// An API token for `name`.
    pub(crate) fn token(&self, name: &str) -> String {
        self.users.issue_token(name, "tests").unwrap()
    }

    /// An API request with `token` (if any) and a JSON `body` (if any).
    pub(crate) async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }
}

/// The CSRF token in a page's forms.
pub(crate) fn csrf_in(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The actions of `entries`, with their actors.
pub(crate) fn actions(entries: &[Entry]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| (e.action.clone(), e.actor.clone()))
        .collect()
}
