//! The `cordon` command: the gateway's entry point and its offline tools.

mod commands;
mod config;
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
    /// Run the gateway: SMTP in, inspection, delivery, quarantine and metrics.
    Serve(commands::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cordon: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}
