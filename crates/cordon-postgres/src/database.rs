//! The connection pool and the schema.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::DatabaseError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

type Manager = PostgresConnectionManager<MakeRustlsConnect>;

/// A connection taken from the pool; back in it when dropped.
pub type Connection = r2d2::PooledConnection<Manager>;

/// Connections per node unless configured.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// How long a caller waits for a connection before the database counts as
/// unreachable.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// An arbitrary constant: the advisory lock that migrations are applied under.
const MIGRATION_LOCK: i64 = 0x636f_7264_6f6e; // "cordon"

/// Where the database is and how to reach it.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `postgres://USER:PASS@HOST:PORT/DB[?sslmode=require]`.
    pub url: String,
    /// PEM file of the CA that signed the server's certificate; the
    /// system's roots when `None`.
    pub ca_file: Option<PathBuf>,
    /// Connections this node keeps open at most.
    pub pool_size: u32,
    /// The password, when it is kept apart from the URL (a file readable
    /// by cordon only); overrides one in the URL.
    pub password: Option<String>,
}

impl DatabaseConfig {
    /// The database at `url`, with the system's roots and the default pool.
    pub fn new(url: impl Into<String>) -> DatabaseConfig {
        DatabaseConfig {
            url: url.into(),
            ca_file: None,
            pool_size: DEFAULT_POOL_SIZE,
            password: None,
        }
    }
}

/// True when `location` names a PostgreSQL database rather than a directory.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The shared database: a pool of connections, cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Arc<Pool>,
    shown_url: Arc<str>,
}

/// The pool, closed on a thread of its own: closing a connection of the
/// synchronous driver blocks on its own runtime, which panics on a thread
/// that drives an async runtime (where the last clone of a [`Database`]
/// may well be dropped).
struct Pool(Option<r2d2::Pool<Manager>>);

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.shown_url)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects and brings the schema up to date. Blocking: call it before
    /// the runtime starts or on its blocking pool. Fails if the database is
    /// unreachable now (a gateway does not start without its quarantine).
    pub fn connect(config: &DatabaseConfig) -> Result<Database, DatabaseError> {
        let mut parsed: postgres::Config = config
            .url
            .parse()
            .map_err(|e: postgres::Error| DatabaseError::InvalidUrl(e.to_string()))?;
        if let Some(password) = &config.password {
            parsed.password(password.as_str());
        }
        let shown_url: Arc<str> = shown(&parsed).into();
        let tls = MakeRustlsConnect::new(client_tls(config)?);
        let manager = PostgresConnectionManager::new(parsed, tls);
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CONNECTION_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| DatabaseError::Unavailable {
                url: shown_url.to_string(),
                problem: e.to_string(),
            })?;
        let database = Database {
            pool: Arc::new(Pool(Some(pool))),
            shown_url,
        };
        database.migrate()?;
        Ok(database)
    }

    /// A connection from the pool; [`DatabaseError::Unavailable`] if none
    /// can be had within a few seconds.
    pub fn connection(&self) -> Result<Connection, DatabaseError> {
        let pool = self
            .pool
            .0
            .as_ref()
            .ok_or_else(|| DatabaseError::Unavailable {
                url: self.shown_url.to_string(),
                problem: "the pool is closed".to_owned(),
            })?;
        pool.get().map_err(|e| DatabaseError::Unavailable {
            url: self.shown_url.to_string(),
            problem: e.to_string(),
        })
    }

    /// The URL without its password, for messages and logs.
    pub fn url(&self) -> &str {
        &self.shown_url
    }

    /// Applies the migrations not yet applied, one node at a time.
    fn migrate(&self) -> Result<(), DatabaseError> {
        let mut connection = self.connection()?;
        connection.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let applied = embedded::migrations::runner()
            .run(&mut *connection)
            .map_err(|e| DatabaseError::Migration(e.to_string()));
        connection.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
        applied.map(|_| ())
    }
}

/// `postgres://user@host:port/db`: the URL as shown, without the password.
fn shown(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// TLS for the database connection: the given CA, or the system's roots.
fn client_tls(config: &DatabaseConfig) -> Result<rustls::ClientConfig, DatabaseError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let problem = |problem: String| DatabaseError::CaFile {
                path: path.display().to_string(),
                problem,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| problem(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| problem(e.to_string()))?;
            if certs.is_empty() {
                return Err(problem("no certificate in it".to_owned()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| problem(e.to_string()))?;
            }
        }
        None => {
            // Unreadable system roots leave TLS to fail at connection time
            // (with sslmode=require) rather than refusing every database.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DatabaseError::InvalidUrl(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_url_has_no_password() {
        let config: postgres::Config = "postgres://cordon:s3cret@db.example:5433/cordon"
            .parse()
            .unwrap();
        assert_eq!(shown(&config), "postgres://cordon@db.example:5433/cordon");
    }

    #[test]
    fn a_bad_url_is_refused_without_a_connection_attempt() {
        let err =
            Database::connect(&DatabaseConfig::new("postgres://a:b@host:notaport/db")).unwrap_err();
        assert!(matches!(err, DatabaseError::InvalidUrl(_)), "{err}");
    }

    #[test]
    fn an_unreachable_database_is_named_without_its_password() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://cordon:s3cret@127.0.0.1:{port}/cordon?connect_timeout=2");
        let err = Database::connect(&DatabaseConfig::new(url)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DatabaseError::Unavailable { .. }), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
    }

    #[test]
    fn postgres_urls_are_told_from_directories() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("data/store"));
    }
}
