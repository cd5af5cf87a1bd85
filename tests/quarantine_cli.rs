//! The review from the command line against a running gateway, the accounts
//! commands, and the audit log's verification, through the real binary.

mod common;

use common::{Gateway, cordon, send, text, wait_until};

#[test]
fn an_officer_reviews_from_the_cli_an_auditor_only_reads_and_the_audit_chain_holds() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    let data = gateway.data.display().to_string();
    for (name, role) in [("j.smith", "officer"), ("a.khan", "auditor")] {
        let out = cordon(
            &["users", "add", name, "--role", role, "--data", &data],
            "a long enough passphrase\n",
            &[],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let short = cordon(
        &[
            "users", "add", "x.short", "--role", "officer", "--data", &data,
        ],
        "short\n",
        &[],
    );
    assert!(!short.status.success(), "a short password is refused");
    let list = cordon(&["users", "list", "--data", &data], "", &[]);
    assert!(text(&list).contains("j.smith") && text(&list).contains("auditor"));
    let token = |name: &str| {
        let out = cordon(&["users", "token", name, "--data", &data], "", &[]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let officer = token("j.smith");
    let auditor = token("a.khan");
    let server = format!("http://{}", gateway.console);

    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: claim form\r\n\r\nNI number JM 41 29 87 B.\r\n";
    let id = send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["claims@insurer-example.co.uk".to_owned()],
        message,
    )
    .expect("accepted");
    let as_user = |token: &str, args: &[&str]| {
        let mut all = vec!["quarantine", "--server", &server];
        all.extend_from_slice(args);
        cordon(&all, "", &[("CORDON_TOKEN", token)])
    };
    assert!(
        wait_until(30, || text(&as_user(&officer, &["list"])).contains(&id)),
        "the held message is listed: {}",
        gateway.log()
    );
    let show = as_user(&auditor, &["show", &id]);
    assert!(show.status.success(), "{}", text(&show));
    assert!(
        text(&show).contains("JM 41 ** ** B") && text(&show).contains("personal-data-to-insecure")
    );

    let refused = as_user(&auditor, &["release", &id, "--note", "fine"]);
    assert!(!refused.status.success(), "an auditor cannot release");
    let no_token = cordon(
        &["quarantine", "--server", &server, "list"],
        "",
        &[("CORDON_TOKEN", "cordon_0000")],
    );
    assert!(!no_token.status.success(), "a bad token gets nothing");
    assert!(!text(&no_token).contains(&id));

    let released = as_user(
        &officer,
        &["release", &id, "--note", "Insurer confirmed by phone."],
    );
    assert!(released.status.success(), "{}", text(&released));
    let again = as_user(&officer, &["reject", &id, "--note", "changed my mind"]);
    assert!(
        !again.status.success(),
        "a decided message cannot be decided again"
    );
    assert!(text(&again).contains("409"), "{}", text(&again));
    assert!(
        wait_until(30, || gateway
            .outbox()
            .iter()
            .any(|(f, to, _)| !f.is_empty()
                && to.iter().any(|t| t == "claims@insurer-example.co.uk"))),
        "the release is delivered: {}",
        gateway.log()
    );
    gateway.stop();

    let verify = cordon(&["audit", "verify", "--data", &data], "", &[]);
    assert!(verify.status.success(), "{}", text(&verify));
    let export = cordon(&["audit", "export", "--data", &data], "", &[]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let about: Vec<(&str, &str)> = lines
        .iter()
        .filter(|e| e["subject"] == id.as_str())
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for action in ["accepted", "verdict", "view", "release", "delivered"] {
        assert!(
            about.iter().any(|(_, a)| *a == action),
            "{action} in {about:?}"
        );
    }
    // The accounts changed while the gateway ran are in the same chain
    // (verified above), and so are the API's refusals.
    let actions_about = |subject: &str| -> Vec<(String, String)> {
        lines
            .iter()
            .filter(|e| e["subject"] == subject)
            .map(|e| {
                (
                    e["actor"].as_str().unwrap_or("").to_owned(),
                    e["action"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let smith = actions_about("j.smith");
    assert!(
        smith
            .iter()
            .any(|(actor, a)| a == "user-added" && actor.starts_with("cli:")),
        "{smith:?}"
    );
    assert!(smith.iter().any(|(_, a)| a == "user-changed"), "{smith:?}");
    assert!(
        lines.iter().any(|e| e["action"] == "refused"
            && e["actor"] == "auditor:a.khan"
            && e["detail"]["status"] == 403),
        "the auditor's refused release is audited"
    );
    assert!(
        lines.iter().any(|e| e["action"] == "refused"
            && e["subject"] == "/api/quarantine"
            && e["detail"]["status"] == 401),
        "the bad token is audited"
    );
    assert!(
        about
            .iter()
            .any(|(actor, a)| *a == "release" && actor.contains("j.smith")),
        "{about:?}"
    );

    // Quietly change who released it: verify names the entry.
    let log = gateway.data.join("audit.jsonl");
    let original = std::fs::read_to_string(&log).expect("log");
    let tampered = original.replacen("officer:j.smith", "officer:a.khan", 1);
    assert_ne!(tampered, original);
    std::fs::write(&log, &tampered).expect("tamper");
    let verify = cordon(&["audit", "verify", "--data", &data], "", &[]);
    assert!(!verify.status.success(), "tampering is detected");
    assert!(text(&verify).contains("altered"), "{}", text(&verify));
}

#[test]
fn the_cli_strips_escape_sequences_and_bidi_controls_from_held_mail() {
    let dir = tempfile::tempdir().expect("temp");
    let gateway = Gateway::start(dir.path(), "");
    let data = gateway.data.display().to_string();
    let out = cordon(
        &[
            "users", "add", "j.smith", "--role", "officer", "--data", &data,
        ],
        "a long enough passphrase\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = cordon(&["users", "token", "j.smith", "--data", &data], "", &[]);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let server = format!("http://{}", gateway.console);
    let message = b"From: sam.okafor@northshire.police.uk\r\nTo: claims@insurer-example.co.uk\r\nSubject: =?utf-8?q?invoice=E2=80=AEfdp=2Eexe_=1B]0;pwned=07=1B[2J?=\r\n\r\nNI number JM 41 29 87 B.\r\n";
    let id = send(
        gateway.smtp,
        "sam.okafor@northshire.police.uk",
        &["claims@insurer-example.co.uk".to_owned()],
        message,
    )
    .expect("accepted");
    let run = |args: &[&str]| {
        let mut all = vec!["quarantine", "--server", &server];
        all.extend_from_slice(args);
        cordon(&all, "", &[("CORDON_TOKEN", &token)])
    };
    assert!(
        wait_until(30, || text(&run(&["list"])).contains(&id)),
        "the held message is listed: {}",
        gateway.log()
    );
    let json = run(&["--json", "show", &id]);
    assert!(
        text(&json).contains("\\u202e"),
        "the JSON keeps the character, escaped: {}",
        text(&json)
    );
    for args in [vec!["list"], vec!["show", &id], vec!["--json", "show", &id]] {
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        let shown = text(&out);
        assert!(
            !shown.contains('\u{202E}') && !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{args:?} prints raw controls: {shown:?}"
        );
        if args[0] != "--json" {
            assert!(shown.contains("invoicefdp.exe"), "{args:?}: {shown}");
        }
    }
}
