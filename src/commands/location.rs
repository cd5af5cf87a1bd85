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
    /// The database several gateways share, postgres://USER@HOST:PORT/DB
    /// [default: [store] url of the configuration, else the data directory].
    /// In the environment, a password in it stays out of the process list.
    #[arg(long, value_name = "URL", env = "CORDON_STORE", global = true)]
    store: Option<String>,
}

impl DataArgs {
    /// The configuration file named, or the defaults.
    fn config(&self) -> anyhow::Result<Config> {
        match &self.config {
            Some(path) => Config::load(path),
            None => Ok(Config::default()),
        }
    }

    /// The data directory these arguments name.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(data) = &self.data {
            return Ok(data.clone());
        }
        Ok(self.config()?.paths.data)
    }

    /// The options the audit log file is opened with (`[audit]`).
    pub fn audit_options(&self) -> anyhow::Result<cordon_audit::AuditOptions> {
        self.config()?.audit.options()
    }

    /// The shared database these arguments name (`--store`, or `[store]
    /// url` with its password and CA files), connected; `None` when the
    /// state is in the data directory. Blocking.
    pub fn database(&self) -> anyhow::Result<Option<cordon_postgres::Database>> {
        let config = self.config()?;
        let url = match (&self.store, &config.store.url) {
            (Some(store), _) => {
                anyhow::ensure!(
                    cordon_postgres::is_postgres_url(store),
                    "--store takes a postgres:// URL (without it, the data directory is used): {store}"
                );
                store.clone()
            }
            (None, Some(url)) => url.clone(),
            (None, None) => return Ok(None),
        };
        crate::shared_store::connect(&config.store, &url).map(Some)
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
