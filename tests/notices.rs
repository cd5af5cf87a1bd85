//! End-to-end tests of the notices staff receive: the public corpus sent
//! through a real `cordon serve`, each notice parsed as a mail client would.

mod common;

use common::{Gateway, send, wait_until};
use mail_parser::{MessageParser, MimeHeaders};

/// One notice from the outbox, parsed: (kind, folded text, html, report part).
struct Notice {
    kind: String,
    text: String,
    html: String,
    report: Option<String>,
    raw: String,
}

/// The notices in the outbox that refer to queue id `id`, sent to `sender`.
fn notices_about(gateway: &Gateway, id: &str, sender: &str) -> Vec<Notice> {
    gateway
        .outbox()
        .into_iter()
        .filter(|(from, to, _)| {
            from.is_empty() && to.iter().any(|t| t.eq_ignore_ascii_case(sender))
        })
        .filter_map(|(_, _, bytes)| {
            let parsed = MessageParser::default().parse(&bytes)?;
            if parsed.header_raw("X-Cordon-Reference").map(str::trim) != Some(id) {
                return None;
            }
            assert_eq!(
                parsed.header_raw("Auto-Submitted").map(str::trim),
                Some("auto-replied"),
                "every notice is marked automatic"
            );
            let report = parsed
                .parts
                .iter()
                .find(|p| {
                    p.content_type()
                        .is_some_and(|c| c.subtype() == Some("delivery-status"))
                })
                .map(|p| String::from_utf8_lossy(p.contents()).into_owned());
            Some(Notice {
                kind: parsed
                    .header_raw("X-Cordon-Notice")
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                text: fold(&parsed.body_text(0).unwrap_or_default()),
                html: parsed.body_html(0).unwrap_or_default().into_owned(),
                report,
                raw: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
        .collect()
}

/// Whitespace folded, as a reader takes the wrapped text in.
fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A run of six or more digits (spaces and dashes ignored) outside the
/// reference: what an unredacted NI, NHS, card or account number leaves.
fn unredacted_number(text: &str, reference: &str) -> Option<String> {
    let squeezed: String = text
        .replace(reference, " ")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let mut run = String::new();
    for c in squeezed.chars().chain(std::iter::once('x')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else if run.len() >= 6 {
            return Some(run);
        } else {
            run.clear();
        }
    }
    None
}

#[test]
fn every_held_or_rejected_recipient_in_the_public_corpus_gets_the_sender_the_right_notice() {
    let dir = tempfile::tempdir().expect("temp");
    let (corpus, cases) = common::public_corpus(dir.path());
    let mut gateway = Gateway::start(dir.path(), "");
    // (queue id, case name, file, sender, recipients, expected actions)
    let mut sent = Vec::new();
    for case in &cases {
        let file = corpus.join(case["file"].as_str().expect("file"));
        let message = std::fs::read(&file).expect("eml");
        let (from, rcpt) = common::envelope_of(case, &message);
        let id = send(gateway.smtp, &from, &rcpt, &message)
            .unwrap_or_else(|e| panic!("{}: not accepted: {e}", case["name"]));
        let actions: Vec<(String, String)> = case["expect"]["actions"]
            .as_object()
            .expect("actions")
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()))
            .collect();
        let name = case["name"].as_str().unwrap_or("").to_owned();
        sent.push((id, name, file, from, rcpt, actions));
    }
    let expected = sent
        .iter()
        .filter(|s| s.5.iter().any(|(_, a)| a != "deliver"))
        .count();
    assert!(expected >= 15, "the corpus holds or rejects for most cases");
    let count = |g: &Gateway| {
        g.outbox()
            .iter()
            .filter(|(_, _, m)| String::from_utf8_lossy(m).contains("X-Cordon-Notice:"))
            .count()
    };
    assert!(
        wait_until(60, || count(&gateway) >= expected),
        "expected {expected} notices, found {}:\n{}",
        count(&gateway),
        gateway.log()
    );
    gateway.stop();

    let mut problems = Vec::new();
    for (id, name, file, from, rcpt, actions) in &sent {
        let stopped = actions.iter().any(|(_, a)| a != "deliver");
        let notices = notices_about(&gateway, id, from);
        if !stopped {
            if !notices.is_empty() {
                problems.push(format!("{name}: a notice although everyone got it"));
            }
            continue;
        }
        let [notice] = notices.as_slice() else {
            problems.push(format!("{name}: {} notices, expected one", notices.len()));
            continue;
        };
        let mut problem = |what: String| problems.push(format!("{name}: {what}"));
        let rejects = actions.iter().any(|(_, a)| a == "reject");
        let kind = if rejects { "rejected" } else { "held" };
        if notice.kind != kind {
            problem(format!("kind {} instead of {kind}", notice.kind));
        }
        if !notice.text.contains(&format!("Reference: {id}")) || !notice.html.contains(id.as_str())
        {
            problem("the reference is missing".into());
        }
        match (&notice.report, rejects) {
            (None, true) => problem("a rejection is not a delivery status report".into()),
            (Some(_), false) => problem("a held notice is not a failure report".into()),
            _ => {}
        }
        if rejects && !notice.raw.contains("Content-Type: text/rfc822-headers") {
            problem("the original headers are missing".into());
        }
        let verdict = common::verdict(file, Some(from), rcpt);
        for (address, action) in actions {
            let listed = notice.text.contains(address.as_str());
            match action.as_str() {
                "reject" => {
                    let report = notice.report.as_deref().unwrap_or("");
                    if !(notice.text.contains("NOT SENT to") && listed) {
                        problem(format!("{address} is not listed as not sent"));
                    }
                    if !report.contains(&format!(
                        "Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.7.1"
                    )) {
                        problem(format!("{address}: no failed 5.7.1 status in the report"));
                    }
                }
                "hold" => {
                    if !(notice
                        .text
                        .contains("HELD FOR REVIEW by Information Security")
                        && listed)
                    {
                        problem(format!("{address} is not listed as held"));
                    }
                    if !notice.text.contains("If nobody has decided by") {
                        problem("the expiry is not given".into());
                    }
                }
                _ => {
                    if !(notice.text.contains("DELIVERED to") && listed) {
                        problem(format!("{address} is not listed as delivered"));
                    }
                    continue;
                }
            }
            let recipient = common::recipient(&verdict, address).expect("in the verdict");
            let reason = &recipient["reasons"][0];
            let rule = reason["rule"].as_str().unwrap_or("?");
            if !notice.text.contains(&format!("Rule: {rule}")) {
                problem(format!("{address}: rule {rule} is not named"));
            }
            let evidence = reason["evidence"].as_array().cloned().unwrap_or_default();
            if evidence.is_empty() {
                problem(format!(
                    "{address}: the verdict cites no evidence for {rule}"
                ));
            }
            for evidence in &evidence {
                let sample = fold(evidence["sample"].as_str().unwrap_or(""));
                if !notice.text.contains(&sample)
                    || !notice.html.contains(&sample.replace('&', "&amp;"))
                {
                    problem(format!("{address}: evidence {sample:?} is not shown"));
                }
            }
        }
        for (part, body) in [("text", &notice.text), ("html", &notice.html)] {
            if let Some(number) = unredacted_number(body, id) {
                problem(format!(
                    "the {part} part shows the number {number} unredacted"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_notice_about_a_null_sender_an_automatic_message_or_to_an_outside_sender() {
    let dir = tempfile::tempdir().expect("temp");
    let mut gateway = Gateway::start(dir.path(), "");
    let marked = "To: kh1975@hotmail.co.uk\r\nSubject: [OFFICIAL-SENSITIVE] rota\r\n";
    let rcpt = vec!["kh1975@hotmail.co.uk".to_owned()];
    let cases = [
        (
            "",
            format!("From: sam.okafor@northshire.police.uk\r\n{marked}\r\nRota.\r\n"),
        ),
        (
            "sam.okafor@northshire.police.uk",
            format!(
                "From: sam.okafor@northshire.police.uk\r\nAuto-Submitted: auto-replied\r\n{marked}\r\nOut of office.\r\n"
            ),
        ),
        (
            "someone@example.org",
            format!("From: someone@example.org\r\n{marked}\r\nRota.\r\n"),
        ),
    ];
    for (from, message) in &cases {
        send(gateway.smtp, from, &rcpt, message.as_bytes()).expect("accepted");
    }
    assert!(
        wait_until(30, || gateway.log().matches("no notice:").count()
            >= cases.len()),
        "{}",
        gateway.log()
    );
    gateway.stop();
    let outbox = gateway.outbox();
    assert!(
        outbox.iter().all(|(from, _, _)| !from.is_empty()),
        "no notice was sent: {:?}",
        outbox.iter().map(|(f, t, _)| (f, t)).collect::<Vec<_>>()
    );
    assert!(outbox.is_empty(), "nothing reaches the personal address");
}

#[test]
fn a_broken_notice_template_stops_the_gateway_at_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("notices")).expect("mkdir");
    for entry in std::fs::read_dir(common::rules()).expect("rules") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, rules.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::write(
        rules.join("notices/held.txt"),
        "Subject: Held: {{ subject }}\n\nQuote {{ refrence }}.\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
        .args(["serve", "--rules"])
        .arg(&rules)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "--console", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!out.status.success(), "the gateway must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("held.txt") && stderr.contains("undefined"),
        "{stderr}"
    );
}
