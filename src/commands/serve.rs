//! `cordon serve`: the gateway. Inbound SMTP, the processing pipeline, the
//! outbound relay and the metrics endpoint, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use std::future::Future;
use std::pin::Pin;

use cordon_accounts::{LimiterConfig, LoginLimiter, SessionConfig, Sessions, UserStore};
use cordon_audit::AuditLog;
use cordon_console::{Console, ConsoleConfig, Decisions, ServeLimits};
use cordon_gateway::{Gateway, GatewayConfig, Metrics, RetryPolicy, Rules};
use cordon_inspect::Inspector;
use cordon_notify::{DetectorNouns, Templates};
use cordon_relay::{Outbox, Relay, Smarthost, SmarthostConfig, StartTls};
use cordon_smtp::ServerConfig;
use cordon_store::{
    Decision, QuarantineRecord, QueueId, Spool, Store, StoreError, on_blocking_pool,
};
use tokio::sync::watch;

use super::location::{audit_file, users_file};
use crate::config::Config;
use crate::descriptors;
use crate::malloc;
use crate::shared_store;

/// Arguments of `cordon serve`; flags override the configuration file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (default: built-in defaults, see cordon.toml.example).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The rules directory [default: ./rules].
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// The data directory [default: ./data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// SMTP listen address [default: 127.0.0.1:2525].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Console and metrics listen address [default: 127.0.0.1:8025].
    #[arg(long, value_name = "ADDR")]
    console: Option<SocketAddr>,
    /// Smarthost as HOST:PORT [default: none, deliveries go to DATA/outbox].
    #[arg(long, value_name = "HOST:PORT")]
    relay: Option<String>,
    /// Also listen as a milter for Postfix or Sendmail on ADDR
    /// [default: [milter] listen, else no milter].
    #[cfg(feature = "milter")]
    #[arg(long, value_name = "ADDR")]
    milter: Option<SocketAddr>,
    /// The store several gateways share, postgres://USER@HOST:PORT/DB
    /// [default: [store] url, else the embedded store in DATA/store].
    #[arg(long, value_name = "URL", env = "CORDON_STORE")]
    store: Option<String>,
}

/// Loads the configuration, then runs the gateway until a stop signal.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(rules) = &args.rules {
        config.paths.rules = rules.clone();
    }
    if let Some(data) = &args.data {
        config.paths.data = data.clone();
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(console) = args.console {
        config.console.listen = console;
    }
    if let Some(relay) = &args.relay {
        config.relay.smarthost = Some(relay.clone());
    }
    #[cfg(feature = "milter")]
    if let Some(milter) = args.milter {
        config.milter.listen = Some(milter);
    }
    if let Some(store) = &args.store {
        anyhow::ensure!(
            cordon_postgres::is_postgres_url(store),
            "--store takes a postgres:// URL (the embedded store is the data directory's): {store}"
        );
        config.store.url = Some(store.clone());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Before the runtime's threads start allocating.
    if !malloc::return_large_blocks() {
        tracing::debug!("the allocator's mmap threshold is left as it is");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // First of all: from here on a SIGHUP asks for a reload instead of
    // ending the process (its default), however early it comes.
    let hangups = hangups();
    // Before anything opens a file: as many descriptors as we may have.
    let open_files = descriptors::raise_open_file_limit();
    let Rules { inspector, notices } = load_rules(&config.paths.rules)?;
    let limits = inspector.policy().limits.clone();
    let four_eyes_rules = four_eyes_rules(&inspector);
    let detector_nouns = detector_nouns(&inspector);
    let relay = relay(&config)?;
    let smtp = Arc::new(server_config(&config)?);
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = watch::channel(false);
    std::fs::create_dir_all(&config.paths.data).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.paths.data.display()
        )
    })?;
    // One gateway per data directory: a second one would take the first's
    // journal of messages in flight for a crash's and move it away.
    let data_lock = std::fs::File::open(&config.paths.data)
        .and_then(|dir| dir.try_lock().map(|()| dir).map_err(std::io::Error::from))
        .with_context(|| {
            format!(
                "the data directory {} is in use by another cordon serve (or cannot be locked)",
                config.paths.data.display()
            )
        })?;
    // The shared database, when there is one: queue state, quarantine and
    // audit chain live there.
    let database = match config.store.url.clone() {
        None => None,
        Some(url) => {
            let settings = config.store.clone();
            Some(on_blocking_pool(move || shared_store::connect(&settings, &url)).await?)
        }
    };
    let audit = Arc::new(match database.clone() {
        None => AuditLog::open_with(audit_file(&config.paths.data), config.audit.options()?)?,
        Some(database) => {
            on_blocking_pool(move || AuditLog::open_postgres(database).map_err(anyhow::Error::from))
                .await?
        }
    });
    if !audit.open_report().is_clean() {
        tracing::warn!(report = ?audit.open_report(), "the audit log was not closed cleanly; run `cordon audit verify`");
    }

    let gateway_config = GatewayConfig {
        data_dir: config.paths.data.clone(),
        hostname: config.server.hostname.clone(),
        postmaster: config.queue.postmaster.clone(),
        retry: RetryPolicy {
            initial: Duration::from_secs(config.queue.retry_initial_secs),
            max: Duration::from_secs(config.queue.retry_max_secs),
            give_up_after: Duration::from_secs(config.queue.give_up_after_hours * 3600),
        },
        hold_days: config.queue.hold_days,
        poll_interval: Duration::from_secs(1),
        expiry_interval: Duration::from_secs(60),
        retention: Duration::from_secs(config.queue.retention_days.max(1).saturating_mul(86_400)),
        workers: config.queue.workers,
        node_silence: Duration::from_secs(config.store.node_silence_secs.max(1)),
        store_retry: Duration::from_secs(5),
        processing_budget: config.queue.processing_budget_mb.saturating_mul(1 << 20),
        notices,
        audit: Some(Arc::clone(&audit)),
    };
    let spool = Spool::open(config.paths.data.join("spool")).with_context(|| {
        format!(
            "cannot open the spool in the data directory {}",
            config.paths.data.display()
        )
    })?;
    let store = match database.clone() {
        None => Store::open_sled(&config.paths.data.join("store"))
            .await
            .with_context(|| {
                format!(
                    "cannot open the store in the data directory {}",
                    config.paths.data.display()
                )
            })?,
        Some(database) => {
            let node = shared_store::node_name(
                &config.store,
                &config.paths.data,
                &config.server.hostname,
            )?;
            tracing::info!(database = database.url(), %node, "the store is the shared database");
            Store::postgres(database, node)
        }
    };
    let (gateway, pipeline) = Gateway::start_with(
        gateway_config,
        spool,
        store,
        inspector,
        relay,
        Arc::clone(&metrics),
        stopped.clone(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot start on the data directory {}",
            config.paths.data.display()
        )
    })?;

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen for SMTP on {}", config.server.listen))?;
    let console = tokio::net::TcpListener::bind(config.console.listen)
        .await
        .with_context(|| format!("cannot listen for the console on {}", config.console.listen))?;

    // Accounts, sign-ins and failed-login counts: the data directory's for
    // one gateway; the database's when gateways share one, so an officer
    // signs in once for all of them and guesses count together.
    let users = Arc::new(match database.clone() {
        None => UserStore::open(users_file(&config.paths.data))?,
        Some(database) => {
            on_blocking_pool(move || {
                UserStore::open_postgres(database).map_err(anyhow::Error::from)
            })
            .await?
        }
    });
    let console_app = Console::new(
        gateway.store().clone(),
        gateway.spool().clone(),
        Arc::new(GatewayDecisions(Arc::clone(&gateway))),
        Arc::clone(&audit),
        users,
        ConsoleConfig {
            four_eyes_rules,
            detector_nouns,
            secure_cookies: config.console.secure_cookies,
            limits: limits.clone(),
            hold_days: config.queue.hold_days,
            trusted_proxies: config.console.trusted_proxies.clone(),
        },
        Arc::new(move || metrics.encode()),
    );
    let console_app = match database {
        None => console_app,
        Some(database) => console_app
            .with_sessions(Sessions::postgres(
                database.clone(),
                SessionConfig::default(),
            ))
            .with_login_limiter(LoginLimiter::postgres(database, LimiterConfig::default())),
    };
    let console_app = Arc::new(console_app);
    let reloader = tokio::spawn(reload_on_hangup(
        hangups,
        config.paths.rules.clone(),
        Arc::clone(&gateway),
        Arc::clone(&console_app),
        stopped.clone(),
    ));
    let console_app = console_app.router();
    let console_limits = ServeLimits {
        max_connections: descriptors::console_connections(
            open_files,
            config.server.max_connections,
            config.console.max_connections,
        ),
        header_timeout: Duration::from_secs(config.console.header_timeout_secs.max(1)),
    };
    tracing::info!(open_files = ?open_files, console_connections = console_limits.max_connections, "console connection cap");
    let console_task = tokio::spawn(cordon_console::serve(
        console,
        console_app,
        console_limits,
        stopped.clone(),
    ));
    let milter_task = start_milter(&config, &gateway, stopped.clone()).await?;
    let smtp_task = tokio::spawn(cordon_smtp::serve(listener, smtp, gateway, stopped));
    // Only now: every part is set up and serving.
    tracing::info!(smtp = %config.server.listen, console = %config.console.listen, rules = %config.paths.rules.display(), data = %config.paths.data.display(), "cordon is running");

    wait_for_signal().await;
    tracing::info!("stopping: finishing transactions in progress");
    let _ = stop.send(true);
    smtp_task
        .await
        .context("the SMTP server failed")?
        .context("the SMTP server failed")?;
    pipeline.await.context("the pipeline failed")?;
    console_task.await.context("the console failed")?;
    reloader.await.context("the rules reloader failed")?;
    if let Some(milter) = milter_task {
        milter
            .await
            .context("the milter failed")?
            .context("the milter failed")?;
    }
    tracing::info!("stopped");
    drop(data_lock);
    Ok(())
}

/// Loads and checks the rules directory: the rules and the notice
/// templates, both or neither.
fn load_rules(dir: &Path) -> anyhow::Result<Rules> {
    Ok(Rules {
        inspector: Arc::new(Inspector::load(dir)?),
        notices: Arc::new(Templates::load(dir)?),
    })
}

/// What the force's own detectors find, in words, for the console.
fn detector_nouns(inspector: &Inspector) -> DetectorNouns {
    DetectorNouns::new(inspector.policy().detector_nouns())
}

/// The ids of the rules whose releases need a second officer.
fn four_eyes_rules(inspector: &Inspector) -> Vec<String> {
    inspector
        .policy()
        .rules
        .iter()
        .filter(|r| r.release_needs_second_officer)
        .map(|r| r.id.clone())
        .collect()
}

/// The `SIGHUP`s to come, if they can be caught.
#[cfg(unix)]
fn hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: rules are reloaded only by a restart");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangups() -> Option<()> {
    None
}

/// On each `SIGHUP`, loads the rules directory again and, when every file
/// in it loads and checks, applies it to the gateway and the console;
/// otherwise logs the file, line and reason and keeps the rules running
/// (a typo in a rules file must not take the gateway's policy away).
#[cfg(unix)]
async fn reload_on_hangup(
    hangups: Option<tokio::signal::unix::Signal>,
    dir: PathBuf,
    gateway: Arc<Gateway<Relay>>,
    console: Arc<Console>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(mut hangups) = hangups else {
        return;
    };
    loop {
        tokio::select! {
            _ = hangups.recv() => {}
            _ = stop.changed() => return,
        }
        let from = dir.clone();
        match on_blocking_pool(move || load_rules(&from)).await {
            Ok(rules) => {
                console.reload_rules(
                    four_eyes_rules(&rules.inspector),
                    rules.inspector.policy().limits.clone(),
                    detector_nouns(&rules.inspector),
                );
                gateway.reload_rules(rules);
                tracing::info!(rules = %dir.display(), "SIGHUP: rules and notice templates reloaded");
            }
            Err(e) => {
                tracing::error!(rules = %dir.display(), error = %crate::one_line(&e), "SIGHUP: the rules were not reloaded; the running rules and notice templates stay in force");
            }
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(
    _hangups: Option<()>,
    _dir: PathBuf,
    _gateway: Arc<Gateway<Relay>>,
    _console: Arc<Console>,
    _stop: watch::Receiver<bool>,
) {
}

/// Starts the milter front door when `[milter] listen` (or `--milter`) is
/// set; it runs until `stop` turns true.
async fn start_milter(
    config: &Config,
    gateway: &Arc<Gateway<Relay>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(listen) = config.milter.listen else {
        return Ok(None);
    };
    #[cfg(feature = "milter")]
    {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen as a milter on {listen}"))?;
        let front = Arc::new(MilterFront {
            gateway: Arc::clone(gateway),
            hostname: config.server.hostname.clone(),
        });
        let mut stop = stop;
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        tracing::info!(milter = %listen, "milter listening");
        let max_message = config.server.max_message_size;
        Ok(Some(tokio::spawn(cordon_milter::serve(
            listener,
            front,
            max_message,
            shutdown,
        ))))
    }
    #[cfg(not(feature = "milter"))]
    {
        let _ = (gateway, stop);
        anyhow::bail!(
            "[milter] listen = {listen}, but this cordon was built without the milter (cargo feature \"milter\")"
        )
    }
}

/// The gateway as the milter sees it: the policy now applied, and the
/// gateway's own intake for the recipients it takes over.
#[cfg(feature = "milter")]
struct MilterFront {
    gateway: Arc<Gateway<Relay>>,
    hostname: String,
}

#[cfg(feature = "milter")]
impl cordon_milter::Front for MilterFront {
    async fn inspect(
        &self,
        message: Arc<Vec<u8>>,
        envelope: cordon_inspect::Envelope,
    ) -> Result<cordon_inspect::Verdict, String> {
        let inspector = Arc::clone(&self.gateway.rules().inspector);
        let engine = Arc::clone(self.gateway.store().engine());
        let metrics = Arc::clone(self.gateway.metrics());
        let (verdict, history_failure) = tokio::task::spawn_blocking(move || {
            cordon_gateway::check_with_history(&inspector, engine.as_ref(), &message, &envelope)
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Some(e) = history_failure {
            metrics.sender_history_failures.inc();
            tracing::error!(error = %e, "the sender's behaviour counters cannot be read; the behaviour rules saw this message alone");
        }
        Ok(verdict)
    }

    async fn take_over(
        &self,
        envelope: cordon_smtp::Envelope,
        message: Vec<u8>,
    ) -> Result<String, String> {
        cordon_smtp::MessageSink::accept(self.gateway.as_ref(), envelope, message)
            .await
            .map_err(|e| e.to_string())
    }

    async fn record(&self, reference: &str, verdict: &cordon_inspect::Verdict) {
        self.gateway.record_verdict(reference, verdict).await;
    }

    fn hostname(&self) -> String {
        self.hostname.clone()
    }
}

/// The gateway as the console's way of carrying out decisions.
struct GatewayDecisions(Arc<Gateway<Relay>>);

impl Decisions for GatewayDecisions {
    fn decide(
        &self,
        id: QueueId,
        decision: Decision,
        by: String,
        note: Option<String>,
    ) -> Pin<Box<dyn Future<Output = Result<QuarantineRecord, StoreError>> + Send + '_>> {
        Box::pin(async move { self.0.decide(id, decision, &by, note.as_deref()).await })
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn relay(config: &Config) -> anyhow::Result<Relay> {
    let Some(smarthost) = &config.relay.smarthost else {
        let dir = config.paths.data.join("outbox");
        let outbox = Outbox::open(&dir)
            .with_context(|| format!("cannot create the outbox {}", dir.display()))?;
        return Ok(Relay::Outbox(outbox));
    };
    let (host, port) = smarthost
        .rsplit_once(':')
        .with_context(|| format!("smarthost `{smarthost}` must be HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .with_context(|| format!("smarthost `{smarthost}` has no valid port"))?;
    let starttls = match config.relay.starttls.as_str() {
        "never" => StartTls::Never,
        "opportunistic" => StartTls::Opportunistic,
        "verify" | "required" => StartTls::Verify,
        other => {
            anyhow::bail!("relay.starttls must be never, opportunistic or verify, not `{other}`")
        }
    };
    let credentials = match (&config.relay.username, &config.relay.password_file) {
        (Some(user), Some(file)) => {
            let password = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            Some((user.clone(), password.trim_end().to_owned()))
        }
        (None, None) => None,
        _ => anyhow::bail!("relay.username and relay.password_file go together"),
    };
    let smarthost = Smarthost::new(SmarthostConfig {
        host: host.trim_matches(|c| c == '[' || c == ']').to_owned(),
        port,
        starttls,
        ca_file: config.relay.ca_file.clone(),
        credentials,
        hello_name: config.server.hostname.clone(),
        timeout: Duration::from_secs(config.relay.timeout_secs),
        max_idle: config.relay.pool_size,
    })
    .with_context(|| format!("relay (smarthost {smarthost})"))?;
    Ok(Relay::Smarthost(smarthost))
}

fn server_config(config: &Config) -> anyhow::Result<ServerConfig> {
    let s = &config.server;
    let tls = match (&s.tls_certificate, &s.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("server.tls_certificate and server.tls_key go together"),
    };
    if s.max_connections_per_client == 0 || s.stress_timeout_secs == 0 {
        anyhow::bail!(
            "server.max_connections_per_client and server.stress_timeout_secs must be at least 1"
        );
    }
    Ok(ServerConfig {
        hostname: s.hostname.clone(),
        max_message_size: s.max_message_size,
        max_recipients: s.max_recipients,
        max_connections: s.max_connections,
        max_connections_per_client: s.max_connections_per_client,
        stress_timeout: Duration::from_secs(s.stress_timeout_secs),
        command_timeout: Duration::from_secs(s.command_timeout_secs),
        relay_networks: s.relay_networks.clone(),
        tls,
        ..ServerConfig::default()
    })
}
