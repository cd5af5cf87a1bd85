//! cordon-console: the security officers' web console and JSON API.
//!
//! Officers and auditors review the quarantine here: an overview, the queue
//! with filters, each held message as escaped text with its findings
//! highlighted, and (officers only) release and reject with a mandatory
//! note, under the four-eyes rule where the policy asks for it. Every view,
//! download, decision and sign-in is written to the audit log, and so is
//! every request refused for want of authority (`refused`).
//!
//! - Pages are rendered on the server ([minijinja] templates embedded in the
//!   binary, HTML auto-escaped) and need no JavaScript. A message's own HTML
//!   is never rendered: the console shows only the extracted text, escaped.
//! - Pages authenticate with the `cordon_session` cookie (HttpOnly,
//!   SameSite=Strict) and every form carries the session's CSRF token.
//! - `/api/` authenticates only with `Authorization: Bearer <token>` (tokens
//!   issued by `cordon users`); it reads no cookie, so it needs no CSRF token.
//! - `/metrics` (Prometheus text) is unauthenticated: it holds counts only.
//! - Every response carries a strict Content-Security-Policy and the other
//!   security headers (see [`CONTENT_SECURITY_POLICY`]).
//!
//! Routes (see [`Console::router`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /login`, `POST /login`, `POST /logout` | sign in and out |
//! | `GET /` | overview: held now, oldest waiting, decided today, charts |
//! | `GET /quarantine` | the queue, with filters and a bulk decision form |
//! | `GET /quarantine/{id}` | one message |
//! | `GET /quarantine/{id}/attachments/{n}` | download an attachment (as a file only) |
//! | `POST /quarantine/{id}/release`, `/reject` | decide (form: `note`, `csrf`) |
//! | `POST /quarantine/bulk` | decide several (form: `id`..., `action`, `note`, `csrf`) |
//! | `GET /api/quarantine`, `GET /api/quarantine/{id}` | the queue and one entry as JSON |
//! | `POST /api/quarantine/{id}/release`, `/reject` | decide (JSON `{"note": "..."}`) |
//! | `GET /api/audit?subject=ID` | audit entries about a subject |
//! | `GET /metrics` | Prometheus metrics (unauthenticated) |
//! | `GET /static/console.css` | the stylesheet |

#![warn(missing_docs)]

mod api;
mod auth;
mod charts;
mod decide;
mod error;
mod filters;
mod headers;
mod highlight;
mod html;
mod message;
mod model;
mod pages;
mod refusals;
mod runtime;
mod server;
mod templates;
mod time;

#[cfg(test)]
mod tests;

use arc_swap::ArcSwap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use cordon_accounts::{LimiterConfig, LoginLimiter, SessionConfig, Sessions, UserStore};
use cordon_audit::AuditLog;
use cordon_notify::DetectorNouns;
use cordon_store::{Decision, QuarantineRecord, QueueId, Spool, Store, StoreError};

pub use decide::MAX_NOTE_CHARS;
pub use headers::CONTENT_SECURITY_POLICY;
pub use server::{ServeLimits, serve};

/// Carries out decisions (implemented by the gateway: it records them
/// atomically and queues delivery / the sender's notice).
///
/// The console checks who may decide, the note and the four-eyes rule, and
/// writes the audit entry; the implementation only records and acts.
pub trait Decisions: Send + Sync + 'static {
    /// Decides held entry `id` as `by` (the account name) with `note`, and
    /// returns the entry as decided; [`StoreError::AlreadyDecided`] if it is
    /// no longer held, [`StoreError::NotFound`] if unknown.
    fn decide(
        &self,
        id: QueueId,
        decision: Decision,
        by: String,
        note: Option<String>,
    ) -> Pin<Box<dyn Future<Output = Result<QuarantineRecord, StoreError>> + Send + '_>>;
}

/// The console's settings.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// Rule ids whose releases need a second officer (four eyes): an entry
    /// held by any of them is released only when a different officer
    /// confirms the first one's proposal. Rejects never need a second.
    /// Those at start; [`Console::reload_rules`] replaces them.
    pub four_eyes_rules: Vec<String>,
    /// Mark the session cookie `Secure` (set when the console is served
    /// over TLS, directly or behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// Limits for extracting a held message's text for display (at start;
    /// [`Console::reload_rules`] replaces them).
    pub limits: cordon_extract::Limits,
    /// How many days a message stays held before it expires (for the
    /// wording of the pages).
    pub hold_days: u64,
    /// Reverse proxies (say, the TLS terminator) whose `X-Forwarded-For`
    /// is believed: for a request from one of them, the client's address
    /// (for the login limiter and the audit log) is the right-most entry of
    /// `X-Forwarded-For` that is not itself a trusted proxy. From any other
    /// peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// What the force's own detectors find, in words (built-in detectors
    /// are named in the notices' words).
    pub detector_nouns: DetectorNouns,
}

/// The web console and JSON API over one gateway's quarantine. Build it
/// with [`Console::new`] and serve [`Console::router`].
pub struct Console {
    store: Store,
    spool: Spool,
    decisions: Arc<dyn Decisions>,
    audit: Arc<AuditLog>,
    users: Arc<UserStore>,
    sessions: Arc<Sessions>,
    limiter: Arc<LoginLimiter>,
    /// Password checks (argon2) that may run at once: one per core.
    hash_slots: Arc<tokio::sync::Semaphore>,
    config: ConsoleConfig,
    /// The parts of the rules the console applies, as reloaded.
    rules: ArcSwap<ConsoleRules>,
    metrics: Arc<dyn Fn() -> String + Send + Sync>,
    templates: templates::Templates,
}

/// The parts of the rules the console applies: which releases need four
/// eyes, and how a held message's text is extracted for display.
#[derive(Debug, Clone, Default)]
struct ConsoleRules {
    four_eyes_rules: Vec<String>,
    limits: cordon_extract::Limits,
    detector_nouns: DetectorNouns,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("spool", &self.spool)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console over `store` and `spool` that decides through `decisions`,
    /// records to `audit` and signs people in against `users`. `metrics`
    /// renders the Prometheus text served at `/metrics`. Sessions (in
    /// memory: a restart signs everyone out) and the login limiter use the
    /// defaults of `cordon-accounts`, unless replaced with
    /// [`Console::with_sessions`] and [`Console::with_login_limiter`].
    /// Every call into the accounts, sessions and limiter runs on the
    /// blocking pool, so any of them may be backed by a database.
    pub fn new(
        store: Store,
        spool: Spool,
        decisions: Arc<dyn Decisions>,
        audit: Arc<AuditLog>,
        users: Arc<UserStore>,
        config: ConsoleConfig,
        metrics: Arc<dyn Fn() -> String + Send + Sync>,
    ) -> Console {
        Console {
            store,
            spool,
            decisions,
            audit,
            users,
            sessions: Arc::new(Sessions::new(SessionConfig::default())),
            limiter: Arc::new(LoginLimiter::new(LimiterConfig::default())),
            hash_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            )),
            rules: ArcSwap::from_pointee(ConsoleRules {
                four_eyes_rules: config.four_eyes_rules.clone(),
                limits: config.limits.clone(),
                detector_nouns: config.detector_nouns.clone(),
            }),
            config,
            metrics,
            templates: templates::Templates::new(),
        }
    }

    /// Applies reloaded rules (`SIGHUP`): the rules whose releases need
    /// four eyes, the extraction limits and the names of the force's own
    /// detectors, for every request from now on.
    pub fn reload_rules(
        &self,
        four_eyes_rules: Vec<String>,
        limits: cordon_extract::Limits,
        detector_nouns: DetectorNouns,
    ) {
        self.rules.store(Arc::new(ConsoleRules {
            four_eyes_rules,
            limits,
            detector_nouns,
        }));
    }

    /// Keeps the sessions in `sessions` instead of the default in-memory
    /// table: with [`Sessions::postgres`], gateways sharing a database
    /// share the sign-ins too, so an officer's session made on one node is
    /// valid on the others (give every node the same `users` store, e.g.
    /// [`UserStore::open_postgres`]).
    pub fn with_sessions(mut self, sessions: Sessions) -> Console {
        self.sessions = Arc::new(sessions);
        self
    }

    /// Counts failed logins with `limiter` instead of the default
    /// in-memory one: with [`LoginLimiter::postgres`], guesses spread over
    /// the gateways sharing a database count together.
    pub fn with_login_limiter(mut self, limiter: LoginLimiter) -> Console {
        self.limiter = Arc::new(limiter);
        self
    }

    /// The whole console: pages, /api/, /metrics, /static/. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, so that the
    /// login limiter sees the client's address.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/", get(pages::overview::show))
            .route("/login", get(pages::login::form).post(pages::login::submit))
            .route("/logout", post(pages::login::logout))
            .route("/quarantine", get(pages::queue::show))
            .route("/quarantine/bulk", post(pages::decisions::bulk))
            .route("/quarantine/{id}", get(pages::message::show))
            .route("/quarantine/{id}/release", post(pages::decisions::release))
            .route("/quarantine/{id}/reject", post(pages::decisions::reject))
            .route(
                "/quarantine/{id}/attachments/{n}",
                get(pages::message::download),
            )
            .route("/api/quarantine", get(api::list))
            .route("/api/quarantine/{id}", get(api::show))
            .route("/api/quarantine/{id}/release", post(api::release))
            .route("/api/quarantine/{id}/reject", post(api::reject))
            .route("/api/audit", get(api::audit))
            .route("/metrics", get(pages::assets::metrics))
            .route("/static/console.css", get(pages::assets::stylesheet))
            .fallback(pages::assets::not_found)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self),
                refusals::audit_refusals,
            ))
            .layer(axum::middleware::map_response(headers::secure))
            .with_state(self)
    }
}
