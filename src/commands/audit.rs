//! `cordon audit`: check the audit log's hash chain, and export it for a SIEM.
//!
//! The chain is the data directory's file, or, with `--store
//! postgres://...`, the one that the gateways sharing that database append
//! to.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cordon_audit::AuditSource;

use super::location::{DataArgs, audit_file};

/// Arguments of `cordon audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The audit log [default: DATA/audit.jsonl].
    #[arg(long, value_name = "FILE", global = true)]
    log: Option<PathBuf>,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; name the first entry altered or removed.
    /// Exits 1 if the log has been tampered with.
    Verify,
    /// Write the entries as JSON lines (for a SIEM), oldest first.
    Export {
        /// Only entries after this sequence number (for incremental shipping).
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// Write to this file instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The chain these arguments name: the database's with a PostgreSQL
/// `--store`, otherwise the file (`--log`, or the data directory's).
fn source(args: &AuditArgs) -> anyhow::Result<AuditSource> {
    if let Some(database) = args.data.database()? {
        if args.log.is_some() {
            bail!("--log names a file; the audit log of a PostgreSQL --store is in the database");
        }
        return Ok(AuditSource::Postgres(database));
    }
    let log = match &args.log {
        Some(log) => log.clone(),
        None => audit_file(&args.data.data_dir()?),
    };
    Ok(AuditSource::File(log))
}

/// What `cordon audit verify` found: true when the chain is intact.
pub fn run(args: &AuditArgs) -> anyhow::Result<bool> {
    let log = source(args)?;
    match &args.command {
        AuditCommand::Verify => {
            let report = log.verify()?;
            match &report.first_problem {
                None => {
                    println!("{log}: {} entries, the chain is intact", report.entries);
                    Ok(true)
                }
                Some(problem) => {
                    println!("{log}: TAMPERED: {problem}");
                    if report.problems > 1 {
                        println!("({} problems in all)", report.problems);
                    }
                    Ok(false)
                }
            }
        }
        AuditCommand::Export { after, output } => {
            let summary = match output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    let summary = log.export(*after, &mut out)?;
                    out.flush()
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    summary
                }
                None => log.export(*after, std::io::stdout().lock())?,
            };
            eprintln!("exported {} entries", summary.exported);
            Ok(true)
        }
    }
}
