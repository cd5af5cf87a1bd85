//! `cordon users`: security officers' and auditors' accounts, managed offline
//! on the gateway's accounts file, or, with
//! `--store postgres://USER:PASS@HOST:PORT/DB`, in the database that several
//! gateways share. A running gateway sees changes at the next request: a
//! removed user or a changed password ends their sessions.
//!
//! Every change is written to the gateway's audit log (`user-added`,
//! `user-removed`, `user-changed`), in the same chain, also while the
//! gateway runs and appends to it (see [`cordon_audit::AuditLog`]). The
//! actor is `cli:` and the name of the operating-system user who ran it.

use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};
use cordon_accounts::{Role, UserStore};
use cordon_audit::{Action, AuditLog, Event};
use serde_json::json;

use super::location::{DataArgs, audit_file, users_file};

/// Arguments of `cordon users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add an account; the password (at least 12 characters) is read from stdin.
    Add {
        /// Account name: lowercase letters, digits, '.', '_' and '-'.
        name: String,
        /// `officer` (review and decide) or `auditor` (read only).
        #[arg(long)]
        role: Role,
    },
    /// List the accounts.
    List,
    /// Remove an account (its sessions and API tokens end).
    Remove {
        /// Account name.
        name: String,
    },
    /// Set a new password, read from stdin (the account's sessions end).
    Passwd {
        /// Account name.
        name: String,
    },
    /// Issue an API token for `cordon quarantine` and scripts; printed once.
    Token {
        /// Account name.
        name: String,
        /// What the token is for, e.g. the workstation.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Revoke every API token of an account.
    RevokeTokens {
        /// Account name.
        name: String,
    },
}

/// Runs `cordon users`.
pub fn run(args: &UsersArgs) -> anyhow::Result<()> {
    let data = args.data.data_dir()?;
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    // With a shared database, the accounts and the audit chain are its.
    let database = args.data.database()?;
    let users = match &database {
        None => UserStore::open(users_file(&data))?,
        Some(database) => UserStore::open_postgres(database.clone())
            .with_context(|| format!("cannot read the accounts in {}", database.url()))?,
    };
    let audit = match (&args.command, database) {
        (UsersCommand::List, _) => None,
        (_, None) => Some(AuditLog::open_with(
            audit_file(&data),
            args.data.audit_options()?,
        )?),
        (_, Some(database)) => Some(AuditLog::open_postgres(database)?),
    };
    let record = |action: Action, name: &str, detail: serde_json::Value| -> anyhow::Result<()> {
        if let Some(audit) = &audit {
            audit
                .append_durable(Event::new(actor(), action, name).with_detail(detail))
                .context("the change was made but could not be written to the audit log")?;
        }
        Ok(())
    };
    match &args.command {
        UsersCommand::Add { name, role } => {
            let password = read_password()?;
            let account = users.add(name, *role, &password)?;
            record(
                Action::UserAdded,
                &account.name,
                json!({ "role": account.role.to_string() }),
            )?;
            println!("added {} ({})", account.name, account.role);
        }
        UsersCommand::List => {
            let accounts = users.list()?;
            if accounts.is_empty() {
                println!("no accounts; add one with `cordon users add NAME --role officer`");
            }
            for account in accounts {
                println!(
                    "{:<24} {:<8} tokens: {}",
                    account.name,
                    account.role,
                    account.tokens.len()
                );
            }
        }
        UsersCommand::Remove { name } => {
            let account = users.remove(name)?;
            record(
                Action::UserRemoved,
                &account.name,
                json!({ "role": account.role.to_string() }),
            )?;
            println!("removed {}", account.name);
        }
        UsersCommand::Passwd { name } => {
            let password = read_password()?;
            users.set_password(name, &password)?;
            record(Action::UserChanged, name, json!({ "change": "password" }))?;
            println!("password changed for {name}");
        }
        UsersCommand::Token { name, label } => {
            let token = users.issue_token(name, label)?;
            record(
                Action::UserChanged,
                name,
                json!({ "change": "token-issued", "label": label }),
            )?;
            eprintln!("API token for {name} ({label}); it is shown only this once:");
            println!("{token}");
        }
        UsersCommand::RevokeTokens { name } => {
            let count = users.revoke_tokens(name)?;
            record(
                Action::UserChanged,
                name,
                json!({ "change": "tokens-revoked", "count": count }),
            )?;
            println!("revoked {count} token(s) of {name}");
        }
    }
    Ok(())
}

/// How the audit log names whoever ran the command: `cli:` and the
/// operating-system user (`$USER`, else `$LOGNAME`, else `unknown`).
fn actor() -> String {
    let user = ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|key| std::env::var(key).ok())
        .map(|name| {
            name.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}")
}

/// The first line of stdin, without its line ending.
fn read_password() -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("password (at least 12 characters; the input is shown, pipe it in to hide it):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
