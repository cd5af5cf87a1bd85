//! `cordon.toml`: the gateway's settings. Every setting has a default, so
//! `cordon serve` runs with no file at all; see `cordon.toml.example`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Inbound SMTP.
    pub server: Server,
    /// The console and metrics endpoint.
    pub console: Console,
    /// Where the rules and the data live.
    pub paths: Paths,
    /// Outbound delivery.
    pub relay: Relay,
    /// Retries, quarantine and notices.
    pub queue: Queue,
    /// Where the queue state and quarantine live: the embedded store in the
    /// data directory, or a PostgreSQL database shared by several gateways.
    pub store: StoreSettings,
    /// How the audit log file is kept.
    pub audit: AuditSettings,
    /// The milter front door, off unless it has an address.
    pub milter: MilterSettings,
}

/// The `[milter]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MilterSettings {
    /// Address the milter listens on for Postfix or Sendmail
    /// (`smtpd_milters = inet:ADDR`); none: no milter.
    pub listen: Option<std::net::SocketAddr>,
}

/// The `[audit]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// MiB past which `DATA/audit.jsonl` is renamed to the next numbered
    /// segment (`audit.jsonl.000001` ...) and a new file begun.
    pub rotate_mib: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            rotate_mib: cordon_audit::DEFAULT_ROTATE_BYTES >> 20,
        }
    }
}

impl AuditSettings {
    /// The options the audit log file is opened with; refuses a size of 0
    /// or one too large to count in bytes.
    pub fn options(&self) -> anyhow::Result<cordon_audit::AuditOptions> {
        let rotate_bytes = self
            .rotate_mib
            .checked_mul(1 << 20)
            .filter(|bytes| *bytes > 0)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "[audit] rotate_mib must be between 1 and {}, not {}",
                    u64::MAX >> 20,
                    self.rotate_mib
                )
            })?;
        Ok(cordon_audit::AuditOptions { rotate_bytes })
    }
}

/// The `[store]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `postgres://USER@HOST:PORT/DB[?sslmode=require]` for the shared
    /// database; none for the embedded store in `DATA/store`.
    pub url: Option<String>,
    /// File holding the database password (rather than in the URL).
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the database server's certificate.
    pub ca_file: Option<PathBuf>,
    /// This gateway's name among those sharing the database [default: the
    /// one kept in `DATA/node`, made from the host name on first start].
    pub node: Option<String>,
    /// Database connections this gateway keeps at most.
    pub pool_size: u32,
    /// Seconds another gateway may be silent before this one carries out
    /// the decisions on the messages it held.
    pub node_silence_secs: u64,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            url: None,
            password_file: None,
            ca_file: None,
            node: None,
            pool_size: cordon_postgres::DEFAULT_POOL_SIZE,
            node_silence_secs: 30,
        }
    }
}

/// Inbound SMTP settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Name in the greeting, EHLO reply, trace headers and notices.
    pub hostname: String,
    /// Largest message accepted, in bytes.
    pub max_message_size: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Most simultaneous connections from one client address.
    pub max_connections_per_client: usize,
    /// Seconds a client may stay silent while the server is under stress
    /// (80 % of `max_connections` in use).
    pub stress_timeout_secs: u64,
    /// Client networks allowed to relay (the force's mail servers).
    pub relay_networks: Vec<ipnet::IpNet>,
    /// Seconds a client may stay silent before the connection is closed.
    pub command_timeout_secs: u64,
    /// PEM certificate chain for STARTTLS (with `tls_key`).
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key for STARTTLS.
    pub tls_key: Option<PathBuf>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            hostname: "cordon.localdomain".into(),
            max_message_size: 50 << 20,
            max_recipients: 100,
            max_connections: 200,
            max_connections_per_client: 50,
            stress_timeout_secs: 10,
            relay_networks: vec![
                "127.0.0.0/8".parse().expect("static network"),
                "::1/128".parse().expect("static network"),
            ],
            command_timeout_secs: 300,
            tls_certificate: None,
            tls_key: None,
        }
    }
}

/// Console settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Console {
    /// Address of the console and the Prometheus `/metrics` endpoint.
    pub listen: SocketAddr,
    /// Mark the session cookie `Secure` (only sent over HTTPS): set it when
    /// officers reach the console through a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// Most simultaneous console connections (lowered at start if the
    /// open-file limit leaves less after SMTP's connections).
    pub max_connections: usize,
    /// Seconds a client may take to send a request's header, and that an
    /// idle connection stays open.
    pub header_timeout_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the client is
    /// its right-most entry that is not a trusted proxy).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            listen: SocketAddr::from(([127, 0, 0, 1], 8025)),
            secure_cookies: false,
            max_connections: 512,
            header_timeout_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Paths.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    /// The rules directory.
    pub rules: PathBuf,
    /// The data directory: spool, store and (without a smarthost) outbox.
    pub data: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            rules: "rules".into(),
            data: "data".into(),
        }
    }
}

/// Outbound settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Relay {
    /// `host:port` of the smarthost; without one, deliveries go to `DATA/outbox/`.
    pub smarthost: Option<String>,
    /// `never`, `opportunistic` (Postfix `may`) or `verify` (`required`,
    /// the old name of `verify`, still works).
    pub starttls: String,
    /// PEM file of the CAs trusted instead of the system's with `verify`.
    pub ca_file: Option<PathBuf>,
    /// User name for AUTH, if the smarthost requires it.
    pub username: Option<String>,
    /// File holding the password for AUTH.
    pub password_file: Option<PathBuf>,
    /// Seconds allowed for connecting and for each SMTP command.
    pub timeout_secs: u64,
    /// Idle connections kept open for reuse.
    pub pool_size: usize,
}

impl Default for Relay {
    fn default() -> Self {
        Relay {
            smarthost: None,
            starttls: "opportunistic".into(),
            ca_file: None,
            username: None,
            password_file: None,
            timeout_secs: 60,
            pool_size: 8,
        }
    }
}

/// Queue settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Queue {
    /// Seconds before the first retry of a deferred delivery.
    pub retry_initial_secs: u64,
    /// Longest wait between retries, in seconds.
    pub retry_max_secs: u64,
    /// Hours after which a message that cannot be delivered is bounced.
    pub give_up_after_hours: u64,
    /// Days a held message waits before it expires.
    pub hold_days: u64,
    /// Address notices come from.
    pub postmaster: String,
    /// Days decided quarantine entries stay listed before they are pruned.
    pub retention_days: u64,
    /// Messages processed at once.
    pub workers: usize,
    /// The most MiB of messages processed at once (see
    /// `GatewayConfig::processing_budget`).
    pub processing_budget_mb: usize,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            retry_initial_secs: 60,
            retry_max_secs: 3600,
            give_up_after_hours: 120,
            hold_days: 14,
            postmaster: "postmaster@localhost".into(),
            retention_days: cordon_gateway::DEFAULT_RETENTION_DAYS,
            workers: 4,
            processing_budget_mb: cordon_gateway::DEFAULT_PROCESSING_BUDGET >> 20,
        }
    }
}

impl Config {
    /// Reads a configuration file; errors name the file and line.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            anyhow::anyhow!("{}:{line}: {}", path.display(), e.message().trim())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_valid_and_documents_every_setting() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("cordon.toml.example");
        let config = Config::load(&path).expect("example loads");
        assert_eq!(config.server.listen, Server::default().listen);
        let text = std::fs::read_to_string(&path).expect("read");
        for key in [
            "listen",
            "secure_cookies",
            "header_timeout_secs",
            "trusted_proxies",
            "hostname",
            "max_message_size",
            "max_recipients",
            "max_connections",
            "max_connections_per_client",
            "stress_timeout_secs",
            "relay_networks",
            "command_timeout_secs",
            "tls_certificate",
            "tls_key",
            "rules",
            "data",
            "smarthost",
            "starttls",
            "ca_file",
            "username",
            "password_file",
            "timeout_secs",
            "pool_size",
            "retry_initial_secs",
            "retry_max_secs",
            "give_up_after_hours",
            "hold_days",
            "postmaster",
            "workers",
            "processing_budget_mb",
            "retention_days",
            "url",
            "node",
            "node_silence_secs",
            "rotate_mib",
        ] {
            assert!(
                text.contains(&format!("{key} =")),
                "cordon.toml.example does not document `{key}`"
            );
        }
    }

    #[test]
    fn an_audit_rotation_of_nothing_or_past_u64_is_refused() {
        for mib in [0, u64::MAX] {
            let settings = AuditSettings { rotate_mib: mib };
            let error = settings.options().expect_err("refused").to_string();
            assert!(error.contains("rotate_mib"), "{error}");
        }
        let options = AuditSettings { rotate_mib: 2 }.options().expect("valid");
        assert_eq!(options.rotate_bytes, 2 << 20);
    }

    #[test]
    fn unknown_settings_are_refused_with_their_line() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("cordon.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:25\"\nlistne = 1\n").expect("write");
        let error = Config::load(&path).expect_err("refused").to_string();
        assert!(error.contains("cordon.toml:3:"), "{error}");
    }
}
