//! Opening the store `cordon serve` (and the offline commands) work on: the
//! embedded sled store in the data directory, or the PostgreSQL database
//! several gateways share (`[store] url` or `--store`).

use std::path::Path;

use anyhow::Context;
use cordon_postgres::{Database, DatabaseConfig};

use crate::config::StoreSettings;

/// The database settings for `url`, with the password from
/// `password_file` when one is given.
pub fn database_config(settings: &StoreSettings, url: &str) -> anyhow::Result<DatabaseConfig> {
    let mut config = DatabaseConfig::new(url);
    config.ca_file = settings.ca_file.clone();
    config.pool_size = settings.pool_size;
    if let Some(path) = &settings.password_file {
        let password = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read the database password file {}", path.display())
        })?;
        config.password = Some(password.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(config)
}

/// Connects to the shared database and brings its schema up to date.
/// Blocking.
pub fn connect(settings: &StoreSettings, url: &str) -> anyhow::Result<Database> {
    let config = database_config(settings, url)?;
    Database::connect(&config).map_err(anyhow::Error::from)
}

/// This gateway's name among those sharing the database: the configured
/// one, else the one kept in `DATA/node`, made on first start from the
/// host name and a random suffix (two gateways on one host, each with its
/// own data directory, get two names; a restart keeps its name, so its
/// messages stay its own).
pub fn node_name(settings: &StoreSettings, data: &Path, hostname: &str) -> anyhow::Result<String> {
    if let Some(node) = &settings.node {
        return Ok(node.clone());
    }
    let path = data.join("node");
    match std::fs::read_to_string(&path) {
        Ok(name) if !name.trim().is_empty() => return Ok(name.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let suffix = cordon_store::QueueId::new().to_string();
    let name = format!("{hostname}-{}", &suffix[suffix.len() - 6..]).to_lowercase();
    std::fs::write(&path, format!("{name}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_keeps_its_name_and_two_data_directories_get_two() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let settings = StoreSettings::default();
        let first = node_name(&settings, one.path(), "gw.northshire").unwrap();
        assert!(first.starts_with("gw.northshire-"), "{first}");
        assert_eq!(
            node_name(&settings, one.path(), "gw.northshire").unwrap(),
            first
        );
        assert_ne!(
            node_name(&settings, two.path(), "gw.northshire").unwrap(),
            first
        );
        let named = StoreSettings {
            node: Some("gw1".into()),
            ..StoreSettings::default()
        };
        assert_eq!(node_name(&named, one.path(), "x").unwrap(), "gw1");
    }

    #[test]
    fn the_password_file_is_read_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let settings = StoreSettings {
            password_file: Some(file),
            ..StoreSettings::default()
        };
        let config = database_config(&settings, "postgres://cordon@db/cordon").unwrap();
        assert_eq!(config.password.as_deref(), Some("s3cret"));
    }
}
