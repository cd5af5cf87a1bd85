//! The outbox: each delivery becomes `<id>.eml` (the message) and `<id>.json`
//! (`{"mail_from": "...", "rcpt_to": [...]}`) in one directory, both written
//! atomically (temporary name, fsync, rename, directory fsync). The `.json` is
//! written last, so a reader that sees it also sees the complete message.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Outcome, Transport};

/// Deliveries into a local directory.
#[derive(Clone, Debug)]
pub struct Outbox {
    dir: PathBuf,
}

#[derive(Serialize)]
struct EnvelopeFile<'a> {
    mail_from: &'a str,
    rcpt_to: &'a [String],
}

impl Outbox {
    /// An outbox in `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Outbox> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Outbox { dir })
    }

    /// The directory deliveries are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one delivery; returns its id.
    pub fn write(
        &self,
        mail_from: &str,
        rcpt_to: &[String],
        message: &[u8],
    ) -> std::io::Result<String> {
        let id = ulid::Ulid::new().to_string();
        let envelope = serde_json::to_vec(&EnvelopeFile { mail_from, rcpt_to })
            .map_err(std::io::Error::other)?;
        write_atomically(&self.dir, &format!("{id}.eml"), message)?;
        write_atomically(&self.dir, &format!("{id}.json"), &envelope)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(id)
    }
}

/// Writes `name` in `dir` via a temporary file, fsynced before the rename.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(name))
}

impl Transport for Outbox {
    async fn deliver(&self, mail_from: &str, rcpt_to: &[String], message: &[u8]) -> Vec<Outcome> {
        let outbox = self.clone();
        let (from, to, bytes) = (mail_from.to_owned(), rcpt_to.to_vec(), message.to_vec());
        let result = tokio::task::spawn_blocking(move || outbox.write(&from, &to, &bytes)).await;
        let outcome = match result {
            Ok(Ok(id)) => {
                tracing::debug!(outbox_id = %id, "written to the outbox");
                Outcome::Delivered
            }
            Ok(Err(e)) => Outcome::temporary(format!("cannot write to the outbox: {e}")),
            Err(e) => Outcome::temporary(format!("outbox writer failed: {e}")),
        };
        vec![outcome; rcpt_to.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_message_and_envelope() {
        let dir = tempfile::tempdir().expect("temp");
        let outbox = Outbox::open(dir.path().join("outbox")).expect("open");
        let rcpt = vec!["a@kent.police.uk".to_owned(), "b@kent.police.uk".to_owned()];
        let outcomes = outbox
            .deliver("s@northshire.police.uk", &rcpt, b"Subject: x\r\n\r\nhi\r\n")
            .await;
        assert_eq!(outcomes, [Outcome::Delivered, Outcome::Delivered]);
        let mut names: Vec<String> = fs::read_dir(outbox.dir())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].ends_with(".eml") && names[1].ends_with(".json"));
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(outbox.dir().join(&names[1])).expect("json"))
                .expect("parse");
        assert_eq!(json["mail_from"], "s@northshire.police.uk");
        assert_eq!(json["rcpt_to"][1], "b@kent.police.uk");
        assert_eq!(
            fs::read(outbox.dir().join(&names[0])).expect("eml"),
            b"Subject: x\r\n\r\nhi\r\n"
        );
    }
}
