//! Console sessions: the table behind the session cookie, with CSRF tokens.
//!
//! The table is in memory ([`Sessions::new`]: a restart of the gateway logs
//! everyone out, which is the safe direction) or, for gateways that share a
//! database, in PostgreSQL ([`Sessions::postgres`]), so that a session made
//! through one gateway is valid on the others behind the same address.
//! There a session is found by the SHA-256 of its id: the cookie's value is
//! not stored. Time is passed in (`now`, Unix seconds) so that the caller
//! owns the clock and tests need not sleep.

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
    pub(crate) fn is_expired(&self, config: &SessionConfig, now: u64) -> bool {
        now.saturating_sub(self.last_seen) >= config.idle_timeout
            || now.saturating_sub(self.created_at) >= config.absolute_timeout
    }
}

/// The table of console sessions. Thread-safe: share it in an `Arc`.
///
/// Every method returns `Err` only when the database cannot be used (never
/// in memory). With PostgreSQL every method blocks on the database: call
/// them off the async runtime's workers.
pub struct Sessions {
    config: SessionConfig,
    backend: Backend,
}

/// Where the sessions are.
enum Backend {
    /// In this process, by id.
    Memory(Mutex<HashMap<String, Session>>),
    /// In the shared database (table `cordon_sessions`).
    Postgres(cordon_postgres::Database),
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the table: its keys are the session ids.
        let backend = match &self.backend {
            Backend::Memory(_) => "memory".to_owned(),
            Backend::Postgres(db) => db.url().to_owned(),
        };
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .field("backend", &backend)
            .finish()
    }
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new(SessionConfig::default())
    }
}

impl Sessions {
    /// An empty table in memory with these limits.
    pub fn new(config: SessionConfig) -> Sessions {
        Sessions {
            config,
            backend: Backend::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// The table in the PostgreSQL database that several gateways share,
    /// with these limits (every gateway should use the same): a session
    /// made, touched or destroyed through one gateway is so on all of
    /// them, and survives a restart.
    pub fn postgres(db: cordon_postgres::Database, config: SessionConfig) -> Sessions {
        Sessions {
            config,
            backend: Backend::Postgres(db),
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
        let table = match &self.backend {
            Backend::Memory(table) => table,
            Backend::Postgres(db) => {
                crate::pg::sessions::insert(db, &self.config, &session, now)?;
                return Ok(session);
            }
        };
        let mut table = lock(table);
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
    pub fn get(&self, id: &str, now: u64) -> Result<Option<Session>, AccountsError> {
        let table = match &self.backend {
            Backend::Memory(table) => table,
            Backend::Postgres(db) => return crate::pg::sessions::get(db, &self.config, id, now),
        };
        let mut table = lock(table);
        let Some(session) = table.get(id) else {
            return Ok(None);
        };
        if session.is_expired(&self.config, now) {
            table.remove(id);
            return Ok(None);
        }
        Ok(Some(session.clone()))
    }

    /// Like [`Sessions::get`], and records the use at `now`, which restarts
    /// the idle timeout. The console calls this once per request.
    pub fn touch(&self, id: &str, now: u64) -> Result<Option<Session>, AccountsError> {
        let table = match &self.backend {
            Backend::Memory(table) => table,
            Backend::Postgres(db) => {
                return crate::pg::sessions::touch(db, &self.config, id, now);
            }
        };
        let mut table = lock(table);
        let Some(session) = table.get_mut(id) else {
            return Ok(None);
        };
        if session.is_expired(&self.config, now) {
            table.remove(id);
            return Ok(None);
        }
        session.last_seen = session.last_seen.max(now);
        Ok(Some(session.clone()))
    }

    /// Ends a session (logout); returns whether it existed.
    pub fn destroy(&self, id: &str) -> Result<bool, AccountsError> {
        match &self.backend {
            Backend::Memory(table) => Ok(lock(table).remove(id).is_some()),
            Backend::Postgres(db) => crate::pg::sessions::delete(db, id),
        }
    }

    /// Ends every session of the account `name` (when it is removed or its
    /// password changes); returns how many there were.
    pub fn destroy_user(&self, name: &str) -> Result<usize, AccountsError> {
        match &self.backend {
            Backend::Memory(table) => {
                let mut table = lock(table);
                let before = table.len();
                table.retain(|_, s| s.name != name);
                Ok(before - table.len())
            }
            Backend::Postgres(db) => crate::pg::sessions::delete_user(db, name),
        }
    }

    /// Removes every session that is over at `now`; returns how many. Worth
    /// calling now and then (say once a minute), though the table stays
    /// bounded without it.
    pub fn prune(&self, now: u64) -> Result<usize, AccountsError> {
        match &self.backend {
            Backend::Memory(table) => {
                let mut table = lock(table);
                let before = table.len();
                table.retain(|_, s| !s.is_expired(&self.config, now));
                Ok(before - table.len())
            }
            Backend::Postgres(db) => crate::pg::sessions::prune(db, &self.config, now),
        }
    }

    /// How many sessions the table holds (some may have expired).
    pub fn len(&self) -> Result<usize, AccountsError> {
        match &self.backend {
            Backend::Memory(table) => Ok(lock(table).len()),
            Backend::Postgres(db) => crate::pg::sessions::count(db),
        }
    }

    /// Whether the table holds no session.
    pub fn is_empty(&self) -> Result<bool, AccountsError> {
        Ok(self.len()? == 0)
    }
}

fn lock(table: &Mutex<HashMap<String, Session>>) -> MutexGuard<'_, HashMap<String, Session>> {
    // Every change is a single insert, update or removal, so a panic
    // elsewhere while locked cannot leave the table half changed.
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Backing, on_every_backend};

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

    fn limited(max_sessions: usize) -> SessionConfig {
        SessionConfig {
            max_sessions,
            ..SessionConfig::default()
        }
    }

    on_every_backend!(
        a_new_session_is_found_by_its_id,
        idle_sessions_expire_and_touch_keeps_them_alive,
        busy_sessions_expire_at_the_absolute_timeout,
        destroyed_sessions_do_not_verify,
        csrf_tokens_compare,
        the_table_is_bounded_and_evicts_the_least_recently_used,
        prune_removes_only_expired_sessions,
        debug_hides_the_secrets,
    );

    fn a_new_session_is_found_by_its_id(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        assert_eq!(s.id.len(), 64);
        assert_eq!(s.csrf_token.len(), 64);
        assert_ne!(s.id, s.csrf_token);
        assert_eq!((s.name.as_str(), s.role), ("sam", Role::Officer));
        assert_eq!(sessions.get(&s.id, T0 + 1).unwrap(), Some(s.clone()));
        assert_eq!(sessions.get(&s.csrf_token, T0 + 1).unwrap(), None);
        assert_eq!(sessions.get("", T0 + 1).unwrap(), None);
        let other = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        assert_ne!(other.id, s.id);
        assert_eq!(sessions.len().unwrap(), 2);
    }

    fn idle_sessions_expire_and_touch_keeps_them_alive(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let idle = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let busy = sessions.create(&account("kim", Role::Auditor), T0).unwrap();
        let limit = DEFAULT_IDLE_TIMEOUT;
        // get alone does not count as use.
        assert!(sessions.get(&idle.id, T0 + limit - 1).unwrap().is_some());
        let touched = sessions.touch(&busy.id, T0 + limit - 1).unwrap().unwrap();
        assert_eq!(touched.last_seen, T0 + limit - 1);
        assert_eq!(sessions.get(&idle.id, T0 + limit).unwrap(), None);
        assert!(sessions.get(&busy.id, T0 + limit).unwrap().is_some());
        // Gone for good, even if the clock went back.
        assert_eq!(sessions.get(&idle.id, T0).unwrap(), None);
        // A clock gone back does not move the last use back.
        let back = sessions.touch(&busy.id, T0).unwrap().unwrap();
        assert_eq!(back.last_seen, T0 + limit - 1);
        assert_eq!(
            sessions
                .touch(&busy.id, T0 + 2 * limit - 2)
                .unwrap()
                .map(|s| s.name),
            Some("kim".into())
        );
        assert_eq!(sessions.touch(&busy.id, T0 + 3 * limit).unwrap(), None);
        assert!(sessions.is_empty().unwrap());
    }

    fn busy_sessions_expire_at_the_absolute_timeout(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let mut now = T0;
        while now + 600 < T0 + DEFAULT_ABSOLUTE_TIMEOUT {
            now += 600;
            assert!(
                sessions.touch(&s.id, now).unwrap().is_some(),
                "at {}",
                now - T0
            );
        }
        assert_eq!(
            sessions
                .touch(&s.id, T0 + DEFAULT_ABSOLUTE_TIMEOUT)
                .unwrap(),
            None
        );
        assert!(sessions.is_empty().unwrap());
    }

    fn destroyed_sessions_do_not_verify(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let sam1 = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let sam2 = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let kim = sessions.create(&account("kim", Role::Auditor), T0).unwrap();
        assert!(sessions.destroy(&sam1.id).unwrap());
        assert!(!sessions.destroy(&sam1.id).unwrap());
        assert_eq!(sessions.get(&sam1.id, T0).unwrap(), None);
        assert!(sessions.get(&sam2.id, T0).unwrap().is_some());
        assert_eq!(sessions.destroy_user("sam").unwrap(), 1);
        assert_eq!(sessions.get(&sam2.id, T0).unwrap(), None);
        assert!(sessions.get(&kim.id, T0).unwrap().is_some());
    }

    fn csrf_tokens_compare(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let created = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let other = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        // As stored and read back.
        let s = sessions.touch(&created.id, T0).unwrap().unwrap();
        assert_eq!(s.csrf_token, created.csrf_token);
        assert!(s.verify_csrf(&s.csrf_token));
        assert!(!s.verify_csrf(&other.csrf_token));
        assert!(!s.verify_csrf(&s.id));
        assert!(!s.verify_csrf(""));
        assert!(!s.verify_csrf(&s.csrf_token[..63]));
        assert!(!s.verify_csrf(&s.csrf_token.to_ascii_uppercase()));
        assert!(!s.verify_csrf(&format!("{} ", s.csrf_token)));
    }

    fn the_table_is_bounded_and_evicts_the_least_recently_used(backing: &Backing) {
        let sessions = backing.sessions(limited(3));
        let a = sessions.create(&account("a", Role::Auditor), T0).unwrap();
        let b = sessions
            .create(&account("b", Role::Auditor), T0 + 1)
            .unwrap();
        let c = sessions
            .create(&account("c", Role::Auditor), T0 + 2)
            .unwrap();
        sessions.touch(&a.id, T0 + 3).unwrap().unwrap();
        let d = sessions
            .create(&account("d", Role::Auditor), T0 + 4)
            .unwrap();
        assert_eq!(sessions.len().unwrap(), 3);
        assert_eq!(sessions.get(&b.id, T0 + 4).unwrap(), None);
        for s in [&a, &c, &d] {
            assert!(sessions.get(&s.id, T0 + 4).unwrap().is_some(), "{}", s.name);
        }
        // Expired sessions go before live ones.
        let late = T0 + 2 + DEFAULT_IDLE_TIMEOUT;
        sessions.touch(&a.id, late - 1).unwrap().unwrap();
        sessions.touch(&d.id, late - 1).unwrap().unwrap();
        let e = sessions.create(&account("e", Role::Auditor), late).unwrap();
        assert_eq!(sessions.get(&c.id, late).unwrap(), None);
        for s in [&a, &d, &e] {
            assert!(sessions.get(&s.id, late).unwrap().is_some(), "{}", s.name);
        }
        // A limit of zero still allows one session.
        let one = backing.sessions(limited(0));
        for s in [&a, &d, &e] {
            one.destroy(&s.id).unwrap();
        }
        let first = one.create(&account("a", Role::Auditor), T0).unwrap();
        let second = one.create(&account("a", Role::Auditor), T0).unwrap();
        assert_eq!(one.get(&first.id, T0).unwrap(), None);
        assert!(one.get(&second.id, T0).unwrap().is_some());
    }

    fn prune_removes_only_expired_sessions(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let old = sessions.create(&account("a", Role::Auditor), T0).unwrap();
        let new = sessions
            .create(&account("b", Role::Auditor), T0 + 600)
            .unwrap();
        assert_eq!(sessions.prune(T0 + DEFAULT_IDLE_TIMEOUT - 1).unwrap(), 0);
        assert_eq!(sessions.prune(T0 + DEFAULT_IDLE_TIMEOUT).unwrap(), 1);
        assert_eq!(sessions.get(&old.id, T0).unwrap(), None);
        assert!(
            sessions
                .get(&new.id, T0 + DEFAULT_IDLE_TIMEOUT)
                .unwrap()
                .is_some()
        );
    }

    fn debug_hides_the_secrets(backing: &Backing) {
        let sessions = backing.sessions(SessionConfig::default());
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        for shown in [format!("{s:?}"), format!("{sessions:?}")] {
            assert!(!shown.contains(&s.id), "{shown}");
            assert!(!shown.contains(&s.csrf_token), "{shown}");
        }
        assert!(format!("{s:?}").contains("sam"));
    }

    #[test]
    fn the_database_keeps_a_digest_of_the_id_not_the_id() {
        let backing = Backing::postgres();
        let sessions = backing.sessions(SessionConfig::default());
        let s = sessions.create(&account("sam", Role::Officer), T0).unwrap();
        let text = backing.stored_text();
        assert!(!text.contains(&s.id), "{text}");
        assert!(!text.contains(&s.id[..16]), "{text}");
        let digest = token::to_hex(&token::sha256(s.id.as_bytes()));
        assert!(text.contains(&digest), "{text}");
    }

    #[test]
    fn a_session_made_on_one_node_is_valid_touched_and_ended_on_another() {
        let backing = Backing::postgres();
        let node_a = backing.sessions(SessionConfig::default());
        let node_b = backing.sessions(SessionConfig::default());
        let s = node_a.create(&account("sam", Role::Officer), T0).unwrap();
        let seen = node_b.touch(&s.id, T0 + 60).unwrap().unwrap();
        assert_eq!((seen.name.as_str(), seen.role), ("sam", Role::Officer));
        assert_eq!(seen.csrf_token, s.csrf_token);
        assert_eq!(seen.password_stamp, s.password_stamp);
        assert!(seen.verify_csrf(&s.csrf_token));
        // B's use counts on A: idle time runs from B's touch.
        let idle_end = T0 + 60 + DEFAULT_IDLE_TIMEOUT;
        assert!(node_a.get(&s.id, idle_end - 1).unwrap().is_some());
        assert!(node_a.touch(&s.id, idle_end - 1).unwrap().is_some());
        // Logged out on B: gone on A.
        assert!(node_b.destroy(&s.id).unwrap());
        assert_eq!(node_a.touch(&s.id, idle_end).unwrap(), None);
        assert!(!node_a.destroy(&s.id).unwrap());
    }

    #[test]
    fn nodes_creating_sessions_at_once_keep_the_table_bounded() {
        let backing = Backing::postgres();
        let handles: Vec<_> = (0..4)
            .map(|node| {
                let sessions = backing.sessions(limited(10));
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let name = format!("n{node}-{i}");
                        sessions
                            .create(&account(&name, Role::Auditor), T0 + i)
                            .unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(backing.sessions(limited(10)).len().unwrap(), 10);
    }
}
