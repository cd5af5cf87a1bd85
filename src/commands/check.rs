//! `cordon check`: the offline verdict, as JSON on stdout; with `--text`, the
//! text that inspection saw, so an administrator or officer can tell why a
//! message was or was not caught.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cordon_inspect::{Envelope, Extraction, Inspector};

use crate::terminal;

/// Arguments of `cordon check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rules directory.
    #[arg(long, default_value = "rules", value_name = "DIR")]
    rules: PathBuf,
    /// Envelope sender (default: the From: address).
    #[arg(long, value_name = "ADDR")]
    mail_from: Option<String>,
    /// Envelope recipient, repeatable (default: the To:, Cc: and Bcc: addresses).
    #[arg(long = "rcpt", value_name = "ADDR")]
    rcpt: Vec<String>,
    /// Print the JSON on one line.
    #[arg(long)]
    compact: bool,
    /// Instead of the verdict, print every text part as extracted and
    /// normalised, each under its location, then what could not be inspected.
    #[arg(long, conflicts_with = "compact")]
    text: bool,
    /// The message: an .eml file, or - for standard input.
    #[arg(value_name = "FILE.eml|-")]
    file: PathBuf,
}

/// Runs the check and prints the verdict.
pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    let inspector = Inspector::load(&args.rules)?;
    // Read one byte past the limit so an oversized message is seen as such
    // without reading all of it.
    let limit = inspector.policy().limits.max_message_bytes as u64 + 1;
    let mut message = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut message)
            .context("cannot read the message from standard input")?;
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        file.take(limit)
            .read_to_end(&mut message)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.text {
        write_text(&mut stdout, &inspector.extract(&message))?;
        return Ok(());
    }
    let envelope = Envelope {
        mail_from: args.mail_from.clone(),
        rcpt_to: args.rcpt.clone(),
    };
    let verdict = inspector.check(&message, &envelope);
    let json = if args.compact {
        serde_json::to_string(&verdict)?
    } else {
        serde_json::to_string_pretty(&verdict)?
    };
    writeln!(stdout, "{}", terminal::json(&json))?;
    Ok(())
}

/// Writes each text part under a `== LOCATION (KIND)` line, every file with
/// its sniffed type, then each part that could not be inspected under `!!`.
fn write_text(out: &mut impl Write, extraction: &Extraction) -> std::io::Result<()> {
    for part in &extraction.parts {
        let location = terminal::field(&part.location.to_string());
        writeln!(out, "== {location} ({})", part.kind.as_str())?;
        writeln!(out, "{}", terminal::block(&part.text))?;
    }
    for file in &extraction.attachments {
        let executable = match &file.executable {
            Some(why) => format!(", executable: {why}"),
            None => String::new(),
        };
        writeln!(
            out,
            "-- file {} ({:?}, {} bytes{})",
            terminal::field(&file.location.to_string()),
            file.file_type,
            file.size,
            terminal::field(&executable)
        )?;
    }
    for problem in &extraction.problems {
        writeln!(
            out,
            "!! {}: {}",
            terminal::field(&problem.location.to_string()),
            terminal::field(&problem.reason.to_string())
        )?;
    }
    Ok(())
}
