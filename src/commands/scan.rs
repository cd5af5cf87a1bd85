//! `cordon scan`: judges every message of exported mailboxes (mbox files,
//! Maildir folders, single messages) with the gateway's policy, as if each
//! had been sent now, and prints what would have happened: before blocking
//! is switched on, Information Security can see what already left.
//!
//! Each message's sender is its `From:` address and its recipients are its
//! `To:`, `Cc:` and `Bcc:` addresses, as in `cordon check` without an
//! envelope. Messages are read in order by one thread and judged in
//! batches on every core; the JSON lines come out in reading order. A
//! message that cannot be read or judged is counted and reported, never
//! fatal.

mod sources;
mod summary;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use cordon_inspect::{Envelope, Inspector, Verdict};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use sources::Item;
use summary::Summary;

/// Arguments of `cordon scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The rules directory.
    #[arg(long, default_value = "rules", value_name = "DIR")]
    rules: PathBuf,
    /// Also write one JSON line per message to FILE: the `cordon check`
    /// fields plus `file` and `offset` (or `error` for a message that could
    /// not be read).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// mbox files, Maildir folders, message files, or directories of them.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// A batch is judged once it has this many messages...
const BATCH_MESSAGES: usize = 1024;
/// ... or this many bytes.
const BATCH_BYTES: usize = 64 << 20;

/// Scans, prints the summary; false when some path could not be read.
pub fn run(args: &ScanArgs) -> anyhow::Result<bool> {
    let inspector = Inspector::load(&args.rules)?;
    let mut json = match &args.json {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(sources::total_bytes(&args.paths));
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} messages, {elapsed} (about {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let started = Instant::now();
    let (batches, incoming) = mpsc::sync_channel::<Vec<Item>>(2);
    let paths = args.paths.clone();
    let reader = std::thread::spawn(move || read_batches(&paths, &batches));
    let mut summary = Summary::default();
    for batch in incoming {
        let judged: Vec<(Item, Result<Verdict, String>)> = batch
            .into_par_iter()
            .map(|item| {
                let judged = match &item.bytes {
                    Ok(bytes) => judge(&inspector, bytes),
                    Err(reason) => Err(reason.clone()),
                };
                (item, judged)
            })
            .collect();
        for (item, judged) in judged {
            let size = item.bytes.as_ref().map_or(0, Vec::len) as u64;
            match &judged {
                Ok(verdict) => summary.add(verdict),
                Err(reason) => summary.add_problem(&item.file, item.offset, reason),
            }
            if let Some(out) = &mut json {
                writeln!(out, "{}", json_line(&item, &judged)?)
                    .context("cannot write the JSON lines")?;
            }
            progress.inc(size);
            progress.set_message((summary.judged + summary.corrupt).to_string());
        }
    }
    progress.finish_and_clear();
    let unreadable = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the mailbox reader stopped unexpectedly"))?;
    if let Some(mut out) = json {
        out.flush().context("cannot write the JSON lines")?;
    }
    let mut stdout = std::io::stdout().lock();
    match summary.print(&mut stdout, started.elapsed().as_secs_f64()) {
        // The reader stopped reading (`| head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        printed => printed?,
    }
    for problem in &unreadable {
        eprintln!("cordon: cannot read {}", crate::terminal::field(problem));
    }
    Ok(unreadable.is_empty())
}

/// Reads every path in turn and sends its messages in batches; returns the
/// paths that could not be read at all.
fn read_batches(paths: &[PathBuf], batches: &mpsc::SyncSender<Vec<Item>>) -> Vec<String> {
    let mut unreadable = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut closed = false;
    for path in paths {
        let read = sources::read(path, &mut |item| {
            if closed {
                return;
            }
            bytes += item.bytes.as_ref().map_or(0, Vec::len);
            batch.push(item);
            if batch.len() >= BATCH_MESSAGES || bytes >= BATCH_BYTES {
                bytes = 0;
                closed = batches.send(std::mem::take(&mut batch)).is_err();
            }
        });
        if let Err(problem) = read {
            unreadable.push(problem);
        }
    }
    if !batch.is_empty() && !closed {
        let _ = batches.send(batch);
    }
    unreadable
}

/// The verdict on one message, or why there is none. A panic in the
/// parsing libraries is caught here, so one crafted message cannot stop
/// the scan of a mailbox.
fn judge(inspector: &Inspector, message: &[u8]) -> Result<Verdict, String> {
    let envelope = Envelope::default();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        inspector.check(message, &envelope)
    }))
    .map_err(|_| "the message could not be inspected (the parser failed on it)".to_owned())
}

/// The JSON line of one message.
fn json_line(item: &Item, judged: &Result<Verdict, String>) -> anyhow::Result<String> {
    let mut value = match judged {
        Ok(verdict) => serde_json::to_value(verdict)?,
        Err(reason) => serde_json::json!({ "error": reason }),
    };
    if let Some(object) = value.as_object_mut() {
        object.insert("file".to_owned(), item.file.display().to_string().into());
        object.insert("offset".to_owned(), item.offset.into());
    }
    Ok(crate::terminal::json(&serde_json::to_string(&value)?))
}
