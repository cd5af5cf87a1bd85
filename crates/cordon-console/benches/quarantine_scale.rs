//! The console over a large quarantine: fills a store with held entries
//! (100,000 unless `CORDON_BENCH_ENTRIES` says), then times the pages and
//! the API list as an officer's browser and a script ask for them, on the
//! sled store and, when `CORDON_TEST_POSTGRES` names a server (run it
//! through `scripts/with-postgres`), on PostgreSQL.
//!
//! ```sh
//! scripts/with-postgres cargo bench -p cordon-console --bench quarantine_scale
//! ```
//!
//! For each request it prints the median and 90th percentile of
//! [`ROUNDS`] answers, and as a baseline measured in the same run the time
//! the console took before it paged: reading every held entry from the
//! store (`list_quarantine`), which every queue page, overview and API list
//! did. Memory: the process's resident set before and after the requests.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode};
use cordon_accounts::{Role, UserStore};
use cordon_audit::AuditLog;
use cordon_console::{Console, ConsoleConfig, Decisions};
use cordon_store::{
    Decision, Engine, PostgresStore, QuarantineRecord, QuarantineState, QueueId, SledStore, Spool,
    Store, StoreError,
};
use tower::ServiceExt;

/// Answers timed per request.
const ROUNDS: usize = 30;
const OFFICER: &str = "j.smith";
const PASSWORD: &str = "a long enough passphrase for the bench";
const RULES: [&str; 8] = [
    "personal-data-to-insecure",
    "marking-official-sensitive",
    "secret-never-leaves",
    "operation-name",
    "webmail-transfer",
    "executable-attachment",
    "bulk-personal-data",
    "uninspectable",
];
const DOMAINS: [&str; 6] = [
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "hotmail.co.uk",
    "insurer-example.co.uk",
    "solicitors-example.co.uk",
];

/// Decisions are not timed here.
struct NoDecisions;

impl Decisions for NoDecisions {
    fn decide(
        &self,
        id: QueueId,
        _decision: Decision,
        _by: String,
        _note: Option<String>,
    ) -> Pin<Box<dyn Future<Output = Result<QuarantineRecord, StoreError>> + Send + '_>> {
        Box::pin(async move {
            Err(StoreError::NotFound {
                what: "quarantine",
                key: id.to_string(),
            })
        })
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Held entry number `i` of `n`, held over the last 14 days.
fn entry(i: u64, n: u64, now: u64) -> QuarantineRecord {
    let id = QueueId::new();
    let held_at = now - 14 * 86_400 + i * (14 * 86_400) / n.max(1);
    let rule = RULES[(i % RULES.len() as u64) as usize];
    let to = format!(
        "person{}@{}",
        i % 997,
        DOMAINS[(i % DOMAINS.len() as u64) as usize]
    );
    let reasons =
        serde_json::json!([{ "address": to, "reasons": [{ "rule": rule, "action": "hold" }] }]);
    QuarantineRecord {
        id,
        message_id: id,
        recipients: vec![to],
        sender: format!("officer{}@northshire.police.uk", i % 50),
        subject: Some(format!("Case file {i} [OFFICIAL-SENSITIVE]")),
        held_at,
        expires_at: held_at + 14 * 86_400,
        state: QuarantineState::Held,
        findings_json: r#"[{"detector":"uk_nino","count":1}]"#.into(),
        reasons_json: reasons.to_string(),
        decided_by: None,
        decided_at: None,
        note: None,
        sender_notified: true,
        release_proposal: None,
        rules: vec![rule.to_owned()],
    }
}

/// Puts `n` held entries into `engine`, four threads at a time.
fn fill(engine: &Arc<dyn Engine>, n: u64) {
    let started = Instant::now();
    let at = now();
    std::thread::scope(|scope| {
        for part in 0..4u64 {
            let engine = Arc::clone(engine);
            scope.spawn(move || {
                for i in (part..n).step_by(4) {
                    engine
                        .put_quarantine(&entry(i, n, at))
                        .expect("the entry is stored");
                }
            });
        }
    });
    println!(
        "  filled {n} held entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The median and 90th percentile of `times`, in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 9 / 10).min(times.len() - 1)]),
    )
}

/// The console over `engine`, and the cookie and API token of an officer.
async fn console(engine: Arc<dyn Engine>, dir: &std::path::Path) -> (Router, String, String) {
    let users = Arc::new(UserStore::open(dir.join("users.json")).expect("accounts"));
    users
        .add(OFFICER, Role::Officer, PASSWORD)
        .expect("officer added");
    let token = users.issue_token(OFFICER, "bench").expect("token");
    let console = Console::new(
        Store::new(engine),
        Spool::open(dir.join("spool")).expect("spool"),
        Arc::new(NoDecisions),
        Arc::new(AuditLog::open(dir.join("audit.jsonl")).expect("audit log")),
        users,
        ConsoleConfig {
            hold_days: 14,
            ..ConsoleConfig::default()
        },
        Arc::new(String::new),
    );
    let app = Arc::new(console)
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let body = format!("name={OFFICER}&password={}", PASSWORD.replace(' ', "+"));
    let login = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("host", "console.test")
        .header("origin", "http://console.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let reply = app.clone().oneshot(login).await.expect("login answered");
    let cookie = reply
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("signed in")
        .to_owned();
    (app, cookie, token)
}

/// Asks for `path` once; returns how long the whole answer took, and it.
async fn ask(app: &Router, path: &str, cookie: &str, token: &str) -> (Duration, String) {
    let mut request = Request::builder().uri(path);
    request = if path.starts_with("/api/") {
        request.header("authorization", format!("Bearer {token}"))
    } else {
        request.header("cookie", cookie)
    };
    let started = Instant::now();
    let reply = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("answered");
    let status = reply.status();
    let bytes = axum::body::to_bytes(reply.into_body(), 64 << 20)
        .await
        .expect("body");
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{path}");
    (took, String::from_utf8_lossy(&bytes).into_owned())
}

/// Times every request on a console over `engine` holding `n` entries.
fn measure(name: &str, engine: Arc<dyn Engine>, n: u64, after_fill: impl FnOnce()) {
    println!("{name}:");
    fill(&engine, n);
    after_fill();
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (app, cookie, token) = console(Arc::clone(&engine), dir.path()).await;
        let (_, first) = ask(&app, "/api/quarantine", &cookie, &token).await;
        let next: serde_json::Value = serde_json::from_str(&first).expect("json");
        let next = next["next"].as_str().expect("a second page").to_owned();
        let requests = [
            ("overview", "/".to_owned()),
            ("queue page", "/quarantine".to_owned()),
            ("queue, second page", format!("/quarantine?before={next}")),
            ("queue, one rule", format!("/quarantine?rule={}", RULES[3])),
            ("API list", "/api/quarantine".to_owned()),
            (
                "API list, second page",
                format!("/api/quarantine?before={next}"),
            ),
            (
                "queue, search (scans search texts)",
                "/quarantine?q=case+file+4242".to_owned(),
            ),
        ];
        let store = Store::new(Arc::clone(&engine));
        let mut baseline = Vec::new();
        for round in 0..ROUNDS / 3 + 1 {
            let started = Instant::now();
            let all = store
                .list_quarantine(Some(QuarantineState::Held))
                .await
                .expect("listed");
            assert_eq!(all.len() as u64, n);
            if round > 0 {
                baseline.push(started.elapsed());
            }
        }
        let (base, _) = summary(baseline);
        println!("  baseline, reading every held entry as before: median {base:.1} ms");
        let rss_before = rss_mib();
        for (what, path) in &requests {
            let mut times = Vec::new();
            for round in 0..ROUNDS + 2 {
                let (took, _) = ask(&app, path, &cookie, &token).await;
                if round >= 2 {
                    times.push(took);
                }
            }
            let (median, p90) = summary(times);
            println!(
                "  {what:<40} median {median:7.1} ms  p90 {p90:7.1} ms  baseline/median {:6.1}x",
                base / median
            );
        }
        println!(
            "  resident memory: {rss_before:.0} MiB before the requests, {:.0} MiB after",
            rss_mib()
        );
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not and
    // gets a quick run.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("CORDON_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 100_000 } else { 500 });
    let dir = tempfile::tempdir().expect("temp dir");
    let sled: Arc<dyn Engine> = Arc::new(SledStore::open(dir.path().join("db")).expect("sled"));
    measure("sled", sled, n, || {});
    if std::env::var(cordon_postgres::testing::TEST_SERVER_VARIABLE).is_ok() {
        let test = cordon_postgres::testing::TestDatabase::create();
        let database = test.connect();
        let postgres: Arc<dyn Engine> = Arc::new(PostgresStore::new(database.clone(), "bench"));
        // What autovacuum does within a minute of a bulk change: without
        // statistics the planner takes the freshly filled table for a small
        // one and sorts it whole rather than walk the index.
        measure("PostgreSQL", postgres, n, || {
            let mut connection = database.connection().expect("a connection");
            connection
                .batch_execute("ANALYZE")
                .expect("statistics gathered");
        });
    } else {
        println!(
            "PostgreSQL: skipped ({} not set; run through scripts/with-postgres)",
            cordon_postgres::testing::TEST_SERVER_VARIABLE
        );
    }
}
