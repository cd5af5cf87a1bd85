//! The `cordon` command: the gateway's entry point and its offline tools.

mod commands;
mod config;
mod descriptors;
mod malloc;
mod shared_store;
mod terminal;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// cordon: outbound email data-loss-prevention gateway.
#[derive(Debug, Parser)]
#[command(name = "cordon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect one message offline and print the verdict for each recipient as JSON.
    Check(commands::check::CheckArgs),
    /// Run the gateway: SMTP in, inspection, delivery, quarantine, the console and metrics.
    Serve(commands::serve::ServeArgs),
    /// Review the quarantine through a running gateway: list, show, release, reject.
    Quarantine(commands::quarantine::QuarantineArgs),
    /// Manage the security officers' and auditors' accounts (offline).
    Users(commands::users::UsersArgs),
    /// Verify the audit log's hash chain, or export it for a SIEM.
    Audit(commands::audit::AuditArgs),
    /// Judge every message of exported mailboxes (mbox, Maildir) with the policy and summarise.
    Scan(commands::scan::ScanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => commands::check::run(&args).map(|()| true),
        Command::Serve(args) => commands::serve::run(&args).map(|()| true),
        Command::Quarantine(args) => commands::quarantine::run(&args).map(|()| true),
        Command::Users(args) => commands::users::run(&args).map(|()| true),
        Command::Audit(args) => commands::audit::run(&args),
        Command::Scan(args) => commands::scan::run(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("cordon: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}
