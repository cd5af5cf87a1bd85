//! Console sessions: the table behind the session cookie, with CSRF tokens.
//!
//! Sessions live in memory only: a restart of the gateway logs everyone
//! out, which is the safe direction. Time is passed in (`now`, Unix seconds)
//! so that the caller owns the clock and tests need not sleep.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::AccountsError;
use crate::role::Role;
use crate::token;
use crate::users::Account;

/// A session unused for this long (seconds) is over: 30 minutes.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 30 * 60;

/// A session older than this (seconds) is over however busy: 12 hours, a
/// long shift.
pub const DEFAULT_ABSOLUTE_TIMEOUT: u64 = 12 * 60 * 60;

/// At most this many sessions are kept; past it the least recently used
/// goes.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// The limits of a session table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Seconds without a [`Sessions::touch`] after which a session is over.
    pub idle_timeout: u64,
    /// Seconds after its creation at which a session is over.
    pub absolute_timeout: u64,
    /// The most sessions kept at once (at least one is always allowed).
    pub max_sessions: usize,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// One logged-in console user.
///
/// `Debug` shows neither the id nor the CSRF token, so a session can be
/// logged without handing the log reader a login.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id, the value of the session cookie: 32 random bytes in
    /// hex. A secret.
    pub id: String,
    /// The CSRF token: 32 other random bytes in hex, put in every form and
    /// required with every state change (see [`Session::verify_csrf`]).
    pub csrf_token: String,
    /// The account's name.
    pub name: String,
    /// The account's role when the session was made.
    pub role: Role,
    /// When the session was made, in Unix seconds.
    pub created_at: u64,
    /// When the session was last used, in Unix seconds.
    pub last_seen: u64,
    /// The account's password stamp when the session was made.
    pub(crate) password_stamp: [u8; 16],
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &"<secret>")
            .field("csrf_token", &"<secret>")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether `token` (from a form field or header of a state-changing
    /// request) is this session's CSRF token. Compared in constant time.
    pub fn verify_csrf(&self, token: &str) -> bool {
        token::secrets_equal(token.as_bytes(), self.csrf_token.as_bytes())
    }

    /// Whether the session is over at `now` under `config`.
    fn is_expired(&self, config: &SessionConfig, now: u64) -> bool {
        now.saturating_sub(self.last_seen) >= config.idle_timeout
            || now.saturating_sub(self.created_at) >= config.absolute_timeout
    }
}

/// The table of console sessions. Thread-safe: share it in an `Arc`.
#[derive(Debug, Default)]
pub struct Sessions {
    config: SessionConfig,
    table: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// An empty table with these limits.
    pub fn new(config: SessionConfig) -> Sessions {
        Sessions {
            config,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// The table's limits.
    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// Starts a session for `account` (after a successful login) with a new
    /// id and CSRF token; the console sets the id as the session cookie.
    /// When the table is full, expired sessions go first, then the least
    /// recently used one.
    pub fn create(&self, account: &Account, now: u64) -> Result<Session, AccountsError> {
        let session = Session {
            id: token::random_secret()?,
            csrf_token: token::random_secret()?,
            name: account.name.clone(),
            role: account.role,
            created_at: now,
            last_seen: now,
            password_stamp: account.password_stamp,
        };
        let mut table = self.lock();
        if table.len() >= self.config.max_sessions.max(1) {
            table.retain(|_, s| !s.is_expired(&self.config, now));
        }
        while table.len() >= self.config.max_sessions.max(1) {
            let oldest = table
                .values()
                .min_by_key(|s| s.last_seen)
                .map(|s| s.id.clone());
            match oldest {
                Some(id) => table.remove(&id),
                None => break,
            };
        }
        table.insert(session.id.clone(), session.clone());
        Ok(session)
    }

    /// The session with this id, if it exists and is not over at `now`
    /// (an expired one is removed). Does not count as use: see
    /// [`Sessions::touch`].
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let mut table = self.lock();
        let session = table.get(id)?;
        if session.is_expired(&self.config, now) {
            table.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// Like [`Sessions::get`], and records the use at `now`, which restarts
    /// the idle timeout. The console calls this once per request.
    pub fn touch(&self, id: &str, now: u64) -> Option<Session> {
        let mut table = self.lock();
        let session = table.get_mut(id)?;
        if session.is_expired(&self.config, now) {
            table.remove(id);
            return None;
        }
        session.last_seen = session.last_seen.max(now);
        Some(session.clone())
    }

    /// Ends a session (logout); returns whether it existed.
    pub fn destroy(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Ends every session of the account `name` (when it is removed or its
    /// password changes); returns how many there were.
    pub fn destroy_user(&self, name: &str) -> usize {
        let mut table = self.lock();
        let before = table.len();
        table.retain(|_, s| s.name != name);
        before - table.len()
    }

    /// Removes every session that is over at `now`; returns how many. Worth
    /// calling now and then (say once a minute), though the table stays
    /// bounded without it.
    pub fn prune(&self, now: u64) -> usize {
        let mut table = self.lock();
        let before = table.len();
        table.retain(|_, s| !s.is_expired(&self.config, now));
        before - table.len()
    }

    /// How many sessions the table holds (some may have expired).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the table holds no session.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // Every change is a single insert, update or removal, so a panic
        // elsewhere while locked cannot leave the table half changed.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_760_000_000;

    fn account(name: &str, role: Role) -> Account {
        Account {
            name: name.to_owned(),
            role,
            created_at: T0,
            tokens: Vec::new(),
            password_stamp: [7; 16],
        }
    }

    #[test]
    fn a_new_session_is_found_by_its_id() {
        let sessions = Sessions::default();
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        assert_eq!(s.id.len(), 64);
        assert_eq!(s.csrf_token.len(), 64);
        assert_ne!(s.id, s.csrf_token);
        assert_eq!((s.name.as_str(), s.role), ("sam", Role::Officer));
        assert_eq!(sessions.get(&s.id, T0 + 1), Some(s.clone()));
        assert_eq!(sessions.get(&s.csrf_token, T0 + 1), None);
        assert_eq!(sessions.get("", T0 + 1), None);
        let other = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        assert_ne!(other.id, s.id);
        assert_eq!(sessions.len(), 2);
    }

    #[test]
    fn idle_sessions_expire_and_touch_keeps_them_alive() {
        let sessions = Sessions::default();
        let idle = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let busy = sessions.create(&account("kim", Role::Auditor), T0).unwrap();
        let limit = DEFAULT_IDLE_TIMEOUT;
        // get alone does not count as use.
        assert!(sessions.get(&idle.id, T0 + limit - 1).is_some());
        let touched = sessions.touch(&busy.id, T0 + limit - 1).unwrap();
        assert_eq!(touched.last_seen, T0 + limit - 1);
        assert_eq!(sessions.get(&idle.id, T0 + limit), None);
        assert!(sessions.get(&busy.id, T0 + limit).is_some());
        // Gone for good, even if the clock went back.
        assert_eq!(sessions.get(&idle.id, T0), None);
        assert_eq!(
            sessions.touch(&busy.id, T0 + 2 * limit - 2).map(|s| s.name),
            Some("kim".into())
        );
        assert_eq!(sessions.touch(&busy.id, T0 + 3 * limit), None);
        assert!(sessions.is_empty());
    }

    #[test]
    fn busy_sessions_expire_at_the_absolute_timeout() {
        let sessions = Sessions::default();
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let mut now = T0;
        while now + 600 < T0 + DEFAULT_ABSOLUTE_TIMEOUT {
            now += 600;
            assert!(sessions.touch(&s.id, now).is_some(), "at {}", now - T0);
        }
        assert_eq!(sessions.touch(&s.id, T0 + DEFAULT_ABSOLUTE_TIMEOUT), None);
    }

    #[test]
    fn destroyed_sessions_do_not_verify() {
        let sessions = Sessions::default();
        let sam1 = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let sam2 = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let kim = sessions.create(&account("kim", Role::Auditor), T0).unwrap();
        assert!(sessions.destroy(&sam1.id));
        assert!(!sessions.destroy(&sam1.id));
        assert_eq!(sessions.get(&sam1.id, T0), None);
        assert!(sessions.get(&sam2.id, T0).is_some());
        assert_eq!(sessions.destroy_user("sam"), 1);
        assert_eq!(sessions.get(&sam2.id, T0), None);
        assert!(sessions.get(&kim.id, T0).is_some());
    }

    #[test]
    fn csrf_tokens_compare() {
        let sessions = Sessions::default();
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let other = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        assert!(s.verify_csrf(&s.csrf_token));
        assert!(!s.verify_csrf(&other.csrf_token));
        assert!(!s.verify_csrf(&s.id));
        assert!(!s.verify_csrf(""));
        assert!(!s.verify_csrf(&s.csrf_token[..63]));
        assert!(!s.verify_csrf(&s.csrf_token.to_ascii_uppercase()));
        assert!(!s.verify_csrf(&format!("{} ", s.csrf_token)));
    }

    #[test]
    fn the_table_is_bounded_and_evicts_the_least_recently_used() {
        let sessions = Sessions::new(SessionConfig {
            max_sessions: 3,
            ..SessionConfig::default()
        });
        let a = sessions.create(&account("a", Role::Auditor), T0).unwrap();
        let b = sessions
            .create(&account("b", Role::Auditor), T0 + 1)
            .unwrap();
        let c = sessions
            .create(&account("c", Role::Auditor), T0 + 2)
            .unwrap();
        sessions.touch(&a.id, T0 + 3).unwrap();
        let d = sessions
            .create(&account("d", Role::Auditor), T0 + 4)
            .unwrap();
        assert_eq!(sessions.len(), 3);
        assert_eq!(sessions.get(&b.id, T0 + 4), None);
        for s in [&a, &c, &d] {
            assert!(sessions.get(&s.id, T0 + 4).is_some(), "{}", s.name);
        }
        // Expired sessions go before live ones.
        let late = T0 + 2 + DEFAULT_IDLE_TIMEOUT;
        sessions.touch(&a.id, late - 1).unwrap();
        sessions.touch(&d.id, late - 1).unwrap();
        let e = sessions.create(&account("e", Role::Auditor), late).unwrap();
        assert_eq!(sessions.get(&c.id, late), None);
        for s in [&a, &d, &e] {
            assert!(sessions.get(&s.id, late).is_some(), "{}", s.name);
        }
        // A limit of zero still allows one session.
        let one = Sessions::new(SessionConfig {
            max_sessions: 0,
            ..SessionConfig::default()
        });
        let first = one.create(&account("a", Role::Auditor), T0).unwrap();
        let second = one.create(&account("a", Role::Auditor), T0).unwrap();
        assert_eq!(one.get(&first.id, T0), None);
        assert!(one.get(&second.id, T0).is_some());
    }

    #[test]
    fn prune_removes_only_expired_sessions() {
        let sessions = Sessions::default();
        let old = sessions.create(&account("a", Role::Auditor), T0).unwrap();
        let new = sessions
            .create(&account("b", Role::Auditor), T0 + 600)
            .unwrap();
        assert_eq!(sessions.prune(T0 + DEFAULT_IDLE_TIMEOUT), 1);
        assert_eq!(sessions.get(&old.id, T0), None);
        assert!(sessions.get(&new.id, T0 + DEFAULT_IDLE_TIMEOUT).is_some());
    }

    #[test]
    fn debug_hides_the_secrets() {
        let s = Sessions::default()
            .create(&account("sam", Role::Officer), T0)
            .unwrap();
        let shown = format!("{s:?}");
        assert!(shown.contains("sam"), "{shown}");
        assert!(!shown.contains(&s.id), "{shown}");
        assert!(!shown.contains(&s.csrf_token), "{shown}");
    }
}
