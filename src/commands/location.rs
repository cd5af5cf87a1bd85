//! Where the gateway keeps its state, for the offline commands: the data
//! directory of `cordon.toml` (or `--data`), and the files in it.

use std::path::PathBuf;

use clap::Args;

use crate::config::Config;

/// `--config` and `--data`, as `cordon serve` takes them.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Configuration file (default: built-in defaults, see cordon.toml.example).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<std::path::PathBuf>,
    /// The data directory [default: ./data, or paths.data of the configuration].
    #[arg(long, value_name = "DIR", global = true)]
    data: Option<PathBuf>,
}

impl DataArgs {
    /// The data directory these arguments name.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(data) = &self.data {
            return Ok(data.clone());
        }
        let config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        Ok(config.paths.data)
    }
}

/// The officers' accounts file in a data directory.
pub fn users_file(data: &std::path::Path) -> PathBuf {
    data.join("users.json")
}

/// The audit log in a data directory.
pub fn audit_file(data: &std::path::Path) -> PathBuf {
    data.join("audit.jsonl")
}
