//! cordon-accounts: who may use the console and the JSON API, and how they
//! prove it. Pure logic: no HTTP here; the console builds on it.
//!
//! - [`UserStore`]: the accounts, in `DATA/users.json` (argon2id password
//!   hashes, SHA-256 digests of API tokens), edited offline by
//!   `cordon users` and re-read by the gateway when it changes; or in the
//!   PostgreSQL database that several gateways share
//!   ([`UserStore::open_postgres`]).
//! - [`Role`]: `officer` (review and decide) or `auditor` (read only).
//! - [`Sessions`]: the session table behind the session cookie, each
//!   session with its own CSRF token: in memory, or in the shared database
//!   ([`Sessions::postgres`]) so that a session made on one gateway is
//!   valid on the others.
//! - [`LoginLimiter`]: locks an account name or a client address after too
//!   many failed logins; in memory, or counted across gateways in the
//!   shared database ([`LoginLimiter::postgres`]).
//!
//! The PostgreSQL backends behave as the local ones (the same tests run on
//! both); their tables come from cordon-postgres's migration
//! `V3__accounts.sql`. Every call may block (file system or database), so
//! an async caller runs them on its blocking pool. `Err` means the users
//! file or the database could not be used; a refused login is `Ok`.
//!
//! How the console uses them (`now` is Unix seconds):
//!
//! 1. Login: `limiter.reserve(name, ip, now)?` (on `Err(RetryAfter)`,
//!    refuse with `Retry-After`), then
//!    `users.verify_password(name, password)?`; on `None`
//!    `attempt.failed()?`, on `Some(account)` `attempt.succeeded()?` and
//!    `sessions.create(&account, now)?`, whose `id` becomes the cookie
//!    (HttpOnly, SameSite=Strict, Secure under TLS).
//! 2. Every request: `sessions.touch(id, now)?`, then
//!    `users.session_is_current(&session)?` (destroy the session if not);
//!    an API request instead presents a token for `users.verify_token`.
//! 3. Every state change (including logout): `session.verify_csrf(token)`,
//!    and for a decision `session.role.can_decide()`.
//! 4. Logout: `sessions.destroy(id)?`.

#![warn(missing_docs)]

mod common_passwords;
mod error;
mod limiter;
mod pg;
mod role;
mod session;
#[cfg(test)]
mod testing;
mod token;
mod users;

pub use error::AccountsError;
pub use limiter::{
    Attempt, DEFAULT_LOCKOUT, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_FAILURES_PER_IP,
    DEFAULT_MAX_FAILURES_PER_NAME, DEFAULT_WINDOW, LimiterConfig, LoginLimiter, PENDING_TIMEOUT,
    RetryAfter,
};
pub use role::{Role, UnknownRole};
pub use session::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SESSIONS, Session, SessionConfig,
    Sessions,
};
pub use token::API_TOKEN_PREFIX;
pub use users::{
    Account, MAX_LABEL_CHARS, MAX_NAME_LEN, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, TokenInfo,
    USERS_FILE_VERSION, UserStore, validate_name, validate_password,
};
