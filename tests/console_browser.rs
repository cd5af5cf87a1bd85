//! The security officers' console in a real headless Chromium (through
//! chromedriver): log in, find a held message, see its findings, release it
//! and see it delivered, reject another and see the bounce, and open a hostile
//! message that must stay inert. Needs `chromium` and `chromium-driver`
//! (`.ci/run` installs them).

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Gateway, send, traced_queue_id, wait_until};
use fantoccini::{Client, ClientBuilder, Locator};

const OFFICER: &str = "j.smith";
const PASSWORD: &str = "correct horse battery staple";
const CLAIMS: &str = "claims@insurer-example.co.uk";
const SENDER: &str = "sam.okafor@northshire.police.uk";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = common::free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium chromium-driver)");
        assert!(
            wait_until(20, || std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()),
            "chromedriver did not start"
        );
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run", "--disable-extensions",
                     "--window-size=1280,1000"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// A TCP listener that counts connections: any request the hostile message
/// makes the browser send lands here.
fn beacon() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, hits)
}

fn claim(subject: &str) -> Vec<u8> {
    format!(
        "From: {SENDER}\r\nTo: {CLAIMS}\r\nSubject: {subject}\r\n\r\nThe claimant's NI number is JM 41 29 87 B.\r\n"
    )
    .into_bytes()
}

fn hostile(beacon: u16) -> Vec<u8> {
    format!(
        "From: {SENDER}\r\nTo: {CLAIMS}\r\nSubject: hostile html\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><script>document.title='pwned';window.pwned=1;\
         fetch('http://127.0.0.1:{beacon}/script')</script>\
         <img src=\"http://127.0.0.1:{beacon}/image.png\">\
         <p>NI number JM 41 29 87 B</p></body></html>\r\n"
    )
    .into_bytes()
}

fn add_officer(data: &std::path::Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordon"))
        .args(["users", "add", OFFICER, "--role", "officer", "--data"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("cordon users");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(
        child.wait().expect("wait").success(),
        "cordon users add failed"
    );
}

/// The notices of `kind` in the outbox, as text.
fn notices(gateway: &Gateway, kind: &str) -> Vec<String> {
    gateway
        .outbox()
        .into_iter()
        .filter(|(from, _, _)| from.is_empty())
        .map(|(_, _, m)| String::from_utf8_lossy(&m).into_owned())
        .filter(|m| m.contains(&format!("X-Cordon-Notice: {kind}")))
        .collect()
}

/// Opens the queue and follows the link of the message with `subject`.
async fn open_message(client: &Client, gateway: &Gateway, subject: &str) {
    client
        .goto(&format!("http://{}/quarantine", gateway.console))
        .await
        .expect("queue");
    let link = client.find(Locator::LinkText(subject)).await;
    let page = client.source().await.unwrap_or_default();
    link.unwrap_or_else(|e| panic!("no link to {subject:?} in the queue: {e}\n{page}"))
        .click()
        .await
        .expect("open the message");
}

/// Fills the note of the decision form posting to `.../{verb}` and submits it.
async fn decide(client: &Client, verb: &str, note: &str) {
    let form = client
        .form(Locator::Css(&format!("form[action$='/{verb}']")))
        .await
        .unwrap_or_else(|e| panic!("no {verb} form: {e}"));
    form.set_by_name("note", note).await.expect("note");
    submit_and_wait(client, form).await;
}

/// Submits `form` and waits until the browser has left the page it was on.
/// WebDriver returns from a submit before the response arrives; navigating
/// at once races the form's own redirect, which may land last.
async fn submit_and_wait(client: &Client, form: fantoccini::elements::Form) {
    let old_page = client.find(Locator::Css("html")).await.expect("page");
    form.submit().await.expect("submit");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while old_page.tag_name().await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the form's response never replaced the page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_reviews_the_quarantine_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("temp");
    let (beacon_port, beacon_hits) = beacon();
    let mut gateway = Gateway::start(dir.path(), "");
    add_officer(&gateway.data);
    let rcpt = vec![CLAIMS.to_owned()];
    let first = send(gateway.smtp, SENDER, &rcpt, &claim("claim form A")).expect("accepted");
    send(gateway.smtp, SENDER, &rcpt, &claim("claim form B")).expect("accepted");
    send(gateway.smtp, SENDER, &rcpt, &hostile(beacon_port)).expect("accepted");
    assert!(
        wait_until(30, || notices(&gateway, "held").len() == 3),
        "three held notices: {}",
        gateway.log()
    );

    let driver = Driver::start();
    let client = browser(&driver).await;

    // Without a session the console sends you to the login page.
    client
        .goto(&format!("http://{}/quarantine", gateway.console))
        .await
        .expect("goto");
    let url = client.current_url().await.expect("url");
    assert!(url.path().starts_with("/login"), "{url}");
    let login = client
        .form(Locator::Css("form[action='/login']"))
        .await
        .expect("login form");
    login.set_by_name("name", OFFICER).await.expect("name");
    login
        .set_by_name("password", PASSWORD)
        .await
        .expect("password");
    submit_and_wait(&client, login).await;
    let url = client.current_url().await.expect("url");
    assert!(
        !url.path().starts_with("/login"),
        "still at the login: {url}"
    );

    // Find the first held message and see its findings.
    open_message(&client, &gateway, "claim form A").await;
    let page = client.source().await.expect("source");
    assert!(
        page.contains("JM 41 ** ** B"),
        "the redacted sample is shown"
    );
    assert!(
        page.contains("personal-data-to-insecure"),
        "the rule is shown"
    );
    assert!(
        client.find(Locator::Css("mark")).await.is_ok(),
        "the finding is highlighted"
    );

    // Release it: it is delivered to the held recipient.
    decide(&client, "release", "Insurer confirmed by phone.").await;
    assert!(
        wait_until(30, || gateway.outbox().iter().any(|(from, to, m)| {
            !from.is_empty() && to == &rcpt && traced_queue_id(m).as_deref() == Some(first.as_str())
        })),
        "the released message reaches the outbox: {}",
        gateway.log()
    );
    assert!(
        wait_until(30, || notices(&gateway, "released").len() == 1),
        "released notice"
    );

    // Reject the second with a note: the sender gets the bounce with it.
    open_message(&client, &gateway, "claim form B").await;
    decide(&client, "reject", "Send it through CJSM instead.").await;
    assert!(
        wait_until(30, || notices(&gateway, "rejected-by-officer")
            .iter()
            .any(|n| n.contains("Send it through CJSM instead."))),
        "the bounce carries the officer's note: {}",
        gateway.log()
    );

    // The hostile message is shown inert: no script runs, no request leaves.
    open_message(&client, &gateway, "hostile html").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let title = client.title().await.expect("title");
    assert_ne!(title, "pwned", "the message's script ran");
    let pwned = client
        .execute("return typeof window.pwned;", vec![])
        .await
        .expect("script");
    assert_eq!(
        pwned,
        serde_json::json!("undefined"),
        "the message's script ran"
    );
    let text = client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("NI number JM 41 29 87 B"),
        "the body is shown as text"
    );
    assert_eq!(
        beacon_hits.load(Ordering::SeqCst),
        0,
        "the browser made a request for the message"
    );

    client.close().await.expect("close");
    gateway.stop();
    let mut log = String::new();
    let _ =
        std::fs::File::open(dir.path().join("gateway.log")).map(|mut f| f.read_to_string(&mut log));
    assert!(!log.contains("panicked"), "{log}");
}
