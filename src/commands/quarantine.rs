//! `cordon quarantine`: the officers' review from the command line, as a
//! client of a running gateway's JSON API (`/api/`), authenticated with an
//! API token (`cordon users token NAME`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::terminal;

/// Arguments of `cordon quarantine`.
#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// The gateway's console address.
    #[arg(
        long,
        env = "CORDON_SERVER",
        default_value = "http://127.0.0.1:8025",
        global = true
    )]
    server: String,
    /// A file holding the API token [default: the CORDON_TOKEN environment variable].
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,
    /// Print the API's JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: QuarantineCommand,
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// List quarantine entries, newest first.
    List {
        /// held, released, rejected or expired [default: held].
        #[arg(long)]
        state: Option<String>,
        /// Only entries held by this rule.
        #[arg(long)]
        rule: Option<String>,
        /// Only entries from this sender.
        #[arg(long)]
        sender: Option<String>,
        /// Only entries to this recipient domain.
        #[arg(long)]
        domain: Option<String>,
        /// Subject or sender contains this.
        #[arg(long)]
        search: Option<String>,
    },
    /// Show one entry: envelope, findings, reasons and its audit trail.
    Show {
        /// The quarantine reference.
        id: String,
    },
    /// Release a held message to its held recipients.
    Release {
        /// The quarantine reference.
        id: String,
        /// Why (mandatory; kept in the audit log and sent to the sender).
        #[arg(long)]
        note: String,
    },
    /// Reject a held message; the sender is told, with the note.
    Reject {
        /// The quarantine reference.
        id: String,
        /// Why (mandatory; kept in the audit log and sent to the sender).
        #[arg(long)]
        note: String,
    },
}

/// Runs `cordon quarantine`.
pub fn run(args: &QuarantineArgs) -> anyhow::Result<()> {
    let token = token(args)?;
    let base = args.server.trim_end_matches('/');
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let auth = format!("Bearer {token}");
    let (status, body) = match &args.command {
        QuarantineCommand::List {
            state,
            rule,
            sender,
            domain,
            search,
        } => {
            // Every page, followed by its `next`.
            let mut items: Vec<Value> = Vec::new();
            let mut before: Option<String> = None;
            loop {
                let mut request = agent
                    .get(format!("{base}/api/quarantine"))
                    .header("Authorization", &auth)
                    .query("limit", "1000");
                for (key, value) in [
                    ("state", state),
                    ("rule", rule),
                    ("sender", sender),
                    ("domain", domain),
                    ("q", search),
                    ("before", &before),
                ] {
                    if let Some(value) = value {
                        request = request.query(key, value);
                    }
                }
                let (status, body) = respond(request.call(), base)?;
                if !(200..300).contains(&status) {
                    break (status, body);
                }
                items.extend(body["items"].as_array().cloned().unwrap_or_default());
                match body["next"].as_str() {
                    Some(next) => before = Some(next.to_owned()),
                    None => break (status, serde_json::json!({ "items": items })),
                }
            }
        }
        QuarantineCommand::Show { id } => respond(
            agent
                .get(format!("{base}/api/quarantine/{id}"))
                .header("Authorization", &auth)
                .call(),
            base,
        )?,
        QuarantineCommand::Release { id, note } | QuarantineCommand::Reject { id, note } => {
            let verb = if matches!(args.command, QuarantineCommand::Release { .. }) {
                "release"
            } else {
                "reject"
            };
            respond(
                agent
                    .post(format!("{base}/api/quarantine/{id}/{verb}"))
                    .header("Authorization", &auth)
                    .send_json(serde_json::json!({ "note": note })),
                base,
            )?
        }
    };
    if !(200..300).contains(&status) {
        let message = body["error"].as_str().unwrap_or("no reason given");
        bail!(
            "the gateway refused ({status}): {}",
            terminal::field(message)
        );
    }
    if args.json {
        println!("{}", terminal::json(&serde_json::to_string_pretty(&body)?));
        return Ok(());
    }
    match &args.command {
        QuarantineCommand::List { .. } => print_list(&body),
        QuarantineCommand::Show { .. } => print_entry(&body),
        QuarantineCommand::Release { id, .. } | QuarantineCommand::Reject { id, .. } => {
            if body["waiting_for_second_officer"].as_bool() == Some(true) {
                println!("{id}: release proposed; a second officer must confirm it");
            } else {
                println!(
                    "{id}: {}",
                    terminal::field(body["state"].as_str().unwrap_or("decided"))
                );
            }
        }
    }
    Ok(())
}

/// The API token: from `--token-file`, else `CORDON_TOKEN`.
fn token(args: &QuarantineArgs) -> anyhow::Result<String> {
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?,
        None => std::env::var("CORDON_TOKEN").context(
            "no API token: set CORDON_TOKEN or pass --token-file (issue one with `cordon users token NAME`)",
        )?,
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        bail!("the API token is empty");
    }
    Ok(token)
}

/// The status and JSON body of a response.
fn respond(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    base: &str,
) -> anyhow::Result<(u16, Value)> {
    let mut response = response.with_context(|| format!("cannot reach the gateway at {base}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_json::<Value>()
        .unwrap_or(Value::Null);
    Ok((status, body))
}

fn print_list(body: &Value) {
    let items = body["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("nothing in the quarantine matches");
    }
    for item in items {
        let rules: Vec<&str> = item["rules"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{}  {:<8}  {}  -> {}  [{}]  {}",
            terminal::field(item["id"].as_str().unwrap_or("?")),
            terminal::field(item["state"].as_str().unwrap_or("?")),
            terminal::field(item["sender"].as_str().unwrap_or("")),
            terminal::field(&join(&item["recipients"])),
            terminal::field(&rules.join(",")),
            terminal::field(item["subject"].as_str().unwrap_or("(no subject)"))
        );
    }
}

fn print_entry(body: &Value) {
    let entry = if body["entry"].is_object() {
        &body["entry"]
    } else {
        body
    };
    println!(
        "Reference:  {}",
        terminal::field(entry["id"].as_str().unwrap_or("?"))
    );
    println!(
        "State:      {}",
        terminal::field(entry["state"].as_str().unwrap_or("?"))
    );
    println!(
        "From:       {}",
        terminal::field(entry["sender"].as_str().unwrap_or(""))
    );
    println!(
        "Held for:   {}",
        terminal::field(&join(&entry["recipients"]))
    );
    println!(
        "Subject:    {}",
        terminal::field(entry["subject"].as_str().unwrap_or("(no subject)"))
    );
    if body["damaged"].as_bool() == Some(true) {
        println!(
            "Damaged:    the stored copy is damaged and cannot be released (see the gateway's log)"
        );
    }
    if let Some(by) = entry["decided_by"].as_str() {
        let by = terminal::field(by);
        println!(
            "Decided by: {by}: {}",
            terminal::field(entry["note"].as_str().unwrap_or(""))
        );
    }
    println!("\nFindings:");
    for f in body["findings"].as_array().into_iter().flatten() {
        println!(
            "  {:<16} {:<40} {}",
            terminal::field(f["detector"].as_str().unwrap_or("?")),
            terminal::field(f["where"].as_str().unwrap_or("")),
            terminal::field(f["sample"].as_str().unwrap_or(""))
        );
    }
    println!("\nReasons:");
    for r in body["reasons"].as_array().into_iter().flatten() {
        for reason in r["reasons"].as_array().into_iter().flatten() {
            println!(
                "  {} {}: {}",
                terminal::field(r["address"].as_str().unwrap_or("?")),
                terminal::field(reason["action"].as_str().unwrap_or("")),
                terminal::field(reason["rule"].as_str().unwrap_or("?"))
            );
        }
    }
    println!("\nAudit trail:");
    for e in body["audit"].as_array().into_iter().flatten() {
        println!(
            "  #{} {} {} {}",
            e["seq"],
            e["at"],
            terminal::field(e["actor"].as_str().unwrap_or("")),
            terminal::field(e["action"].as_str().unwrap_or(""))
        );
    }
}

fn join(list: &Value) -> String {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
