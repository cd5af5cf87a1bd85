//! Login rate limiting: too many failed logins lock out the account name
//! and, separately, the client address.
//!
//! Per name, so that a password cannot be guessed from many addresses; per
//! address, so that one client cannot try password after password across
//! many names. The address limit is higher by default, because a force's
//! officers may all reach the console through one proxy address.
//!
//! The lock on a name is also a way for anyone who can reach the login page
//! to keep an officer out for a while; that is the usual price, and the
//! console is only reachable from the force network.
//!
//! The counters are kept in memory ([`LoginLimiter::new`]) or, for gateways
//! that share a database, in PostgreSQL ([`LoginLimiter::postgres`]), so
//! that guesses spread over several gateways count together. Both apply
//! the same rules, through the same [`Record`] logic.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::AccountsError;
use crate::users::MAX_NAME_LEN;

/// Failed logins for one name within the window that lock it.
pub const DEFAULT_MAX_FAILURES_PER_NAME: u32 = 5;

/// Failed logins from one address within the window that lock it.
pub const DEFAULT_MAX_FAILURES_PER_IP: u32 = 20;

/// The window failures are counted in, in seconds: 15 minutes.
pub const DEFAULT_WINDOW: u64 = 15 * 60;

/// How long a lock lasts, in seconds: 15 minutes.
pub const DEFAULT_LOCKOUT: u64 = 15 * 60;

/// The most names, and separately addresses, remembered at once.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// A reserved attempt still unsettled this long after its reservation (in
/// seconds) counts as a failure and no longer as pending: its gateway
/// stopped, or could not reach the database to settle it. A real password
/// check settles within seconds.
pub const PENDING_TIMEOUT: u64 = 2 * 60;

/// The limits of a [`LoginLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Failures for one name within `window` that lock the name (at least 1).
    pub max_failures_per_name: u32,
    /// Failures from one address within `window` that lock the address (at
    /// least 1).
    pub max_failures_per_ip: u32,
    /// Seconds over which failures are counted.
    pub window: u64,
    /// Seconds a lock lasts.
    pub lockout: u64,
    /// The most names, and separately addresses, remembered (at least 1).
    pub max_entries: usize,
}

impl Default for LimiterConfig {
    fn default() -> LimiterConfig {
        LimiterConfig {
            max_failures_per_name: DEFAULT_MAX_FAILURES_PER_NAME,
            max_failures_per_ip: DEFAULT_MAX_FAILURES_PER_IP,
            window: DEFAULT_WINDOW,
            lockout: DEFAULT_LOCKOUT,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// A refused login attempt: the name or the address is locked for this
/// many more seconds (at least 1; the console sends it as `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins: try again in {0} seconds")]
pub struct RetryAfter(pub u64);

/// Counts failed logins per account name and per client address and
/// refuses attempts while either is locked. Memory is bounded: each table
/// holds at most [`LimiterConfig::max_entries`] keys. Thread-safe: share it
/// in an `Arc`. Time is passed in (`now`, Unix seconds).
///
/// The console's login handler: [`LoginLimiter::reserve`] first (refuse
/// with the [`RetryAfter`] if locked or if every remaining attempt is
/// already being checked, without looking at the password), then check the
/// password and settle the [`Attempt`]: [`Attempt::failed`] or
/// [`Attempt::succeeded`]. The attempt is counted when it is reserved,
/// under the same lock as the check (a mutex in memory, row locks in
/// PostgreSQL), so that concurrent guesses, on one gateway or several,
/// cannot all pass the check before any of them is counted.
///
/// Every method returns `Err` only when the database cannot be used (never
/// in memory); a refusal is the inner `Err(RetryAfter)`. With PostgreSQL
/// every method blocks on the database: call them (and drop an unsettled
/// [`Attempt`]) off the async runtime's workers.
pub struct LoginLimiter {
    config: LimiterConfig,
    backend: Backend,
}

/// Where the counters are.
#[derive(Clone)]
enum Backend {
    /// In this process only.
    Memory(Arc<Mutex<Tables>>),
    /// In the shared database (table `cordon_login_limits`).
    Postgres(cordon_postgres::Database),
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Memory(_) => "memory".to_owned(),
            Backend::Postgres(db) => db.url().to_owned(),
        };
        f.debug_struct("LoginLimiter")
            .field("config", &self.config)
            .field("backend", &backend)
            .finish()
    }
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter::new(LimiterConfig::default())
    }
}

#[derive(Debug, Default)]
struct Tables {
    names: Table<String>,
    ips: Table<IpAddr>,
}

impl LoginLimiter {
    /// A limiter with these limits and nothing recorded, in memory: each
    /// gateway counts for itself and a restart forgets.
    pub fn new(config: LimiterConfig) -> LoginLimiter {
        LoginLimiter {
            config,
            backend: Backend::Memory(Arc::default()),
        }
    }

    /// A limiter with these limits whose counters are in the PostgreSQL
    /// database that several gateways share, so that failures on any of
    /// them count together (and survive a restart). Every gateway should
    /// use the same limits.
    pub fn postgres(db: cordon_postgres::Database, config: LimiterConfig) -> LoginLimiter {
        LoginLimiter {
            config,
            backend: Backend::Postgres(db),
        }
    }

    /// The limiter's limits.
    pub fn config(&self) -> LimiterConfig {
        self.config
    }

    /// Whether a login for `name` from `ip` may be attempted at `now`; if
    /// not, for how long not (the longer of the two locks).
    pub fn check(
        &self,
        name: &str,
        ip: IpAddr,
        now: u64,
    ) -> Result<Result<(), RetryAfter>, AccountsError> {
        let (name_key, ip_key) = (name_key(name), ip_key(ip));
        let retry = match &self.backend {
            Backend::Memory(tables) => {
                let tables = lock(tables);
                let by_name = tables.names.retry_after(&name_key, now);
                let by_ip = tables.ips.retry_after(&ip_key, now);
                by_name.max(by_ip)
            }
            Backend::Postgres(db) => crate::pg::limiter::retry_after(db, &name_key, ip_key, now)?,
        };
        Ok(match retry {
            Some(seconds) => Err(RetryAfter(seconds)),
            None => Ok(()),
        })
    }

    /// Reserves a login attempt for `name` from `ip` at `now`: refused
    /// while either is locked, or while the failures within the window plus
    /// the attempts still being checked have reached either limit (then
    /// for a second: an attempt in flight settles quickly). Settle the
    /// attempt when the password has been checked; an attempt dropped
    /// unsettled (say, the client went away) counts as a failure, and so
    /// does one left unsettled for [`PENDING_TIMEOUT`].
    pub fn reserve(
        &self,
        name: &str,
        ip: IpAddr,
        now: u64,
    ) -> Result<Result<Attempt, RetryAfter>, AccountsError> {
        let config = self.config;
        let (name_key, ip_key) = (name_key(name), ip_key(ip));
        let reserved = match &self.backend {
            Backend::Memory(tables) => {
                let mut tables = lock(tables);
                let Tables { names, ips } = &mut *tables;
                let name_record = names.records.get_mut(&name_key);
                let ip_record = ips.records.get_mut(&ip_key);
                let decision = reserve_in(name_record, ip_record, now, &config);
                if decision.is_ok() {
                    names.entry(name_key.clone(), now, &config).reserve(now);
                    ips.entry(ip_key, now, &config).reserve(now);
                }
                decision
            }
            Backend::Postgres(db) => crate::pg::limiter::update(
                db,
                &config,
                Some(&name_key),
                Some(ip_key),
                now,
                |mut name_record, mut ip_record| {
                    let decision = reserve_in(
                        name_record.as_deref_mut(),
                        ip_record.as_deref_mut(),
                        now,
                        &config,
                    );
                    if decision.is_ok() {
                        for record in [name_record, ip_record].into_iter().flatten() {
                            record.reserve(now);
                        }
                    }
                    decision
                },
            )?,
        };
        Ok(reserved.map(|()| Attempt {
            config,
            backend: self.backend.clone(),
            name_key,
            ip_key,
            now,
            settled: false,
        }))
    }

    /// Records a failed login for `name` from `ip` at `now` (a wrong
    /// password or an unknown name alike) that was not reserved.
    pub fn record_failure(&self, name: &str, ip: IpAddr, now: u64) -> Result<(), AccountsError> {
        let config = self.config;
        let (name_key, ip_key) = (name_key(name), ip_key(ip));
        match &self.backend {
            Backend::Memory(tables) => {
                let mut tables = lock(tables);
                tables
                    .names
                    .fail(name_key, now, config.max_failures_per_name, &config);
                tables
                    .ips
                    .fail(ip_key, now, config.max_failures_per_ip, &config);
            }
            Backend::Postgres(db) => crate::pg::limiter::update(
                db,
                &config,
                Some(&name_key),
                Some(ip_key),
                now,
                |name_record, ip_record| {
                    if let Some(record) = name_record {
                        record.fail(now, config.max_failures_per_name, &config);
                    }
                    if let Some(record) = ip_record {
                        record.fail(now, config.max_failures_per_ip, &config);
                    }
                },
            )?,
        }
        Ok(())
    }

    /// Records a successful login for `name`: its failures are forgotten.
    /// The address's are not, so that an attacker with one working login
    /// cannot use it to go on guessing other names' passwords.
    pub fn record_success(&self, name: &str) -> Result<(), AccountsError> {
        let name_key = name_key(name);
        match &self.backend {
            Backend::Memory(tables) => {
                lock(tables).names.records.remove(&name_key);
            }
            Backend::Postgres(db) => crate::pg::limiter::forget_name(db, &name_key)?,
        }
        Ok(())
    }

    /// Forgets everything that no longer matters at `now` (no lock, no
    /// attempt pending, no failure within the window); returns how many
    /// entries went. Optional: full tables prune themselves.
    pub fn prune(&self, now: u64) -> Result<usize, AccountsError> {
        let window = self.config.window;
        match &self.backend {
            Backend::Memory(tables) => {
                let mut tables = lock(tables);
                Ok(tables.names.prune(now, window) + tables.ips.prune(now, window))
            }
            Backend::Postgres(db) => crate::pg::limiter::prune(db, now, window),
        }
    }

    /// The in-memory tables (for the tests).
    #[cfg(test)]
    fn lock(&self) -> MutexGuard<'_, Tables> {
        match &self.backend {
            Backend::Memory(tables) => lock(tables),
            Backend::Postgres(_) => panic!("not an in-memory limiter"),
        }
    }
}

fn lock(tables: &Mutex<Tables>) -> MutexGuard<'_, Tables> {
    // Each change is to a single record or a whole-table prune, and a
    // half-updated count only loosens or tightens one limit a little.
    tables.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether an attempt may be reserved, given the records of the name and
/// the address (`None`: nothing recorded). First turns attempts pending
/// for longer than [`PENDING_TIMEOUT`] into failures.
fn reserve_in(
    name: Option<&mut Record>,
    ip: Option<&mut Record>,
    now: u64,
    config: &LimiterConfig,
) -> Result<(), RetryAfter> {
    let limits = [config.max_failures_per_name, config.max_failures_per_ip];
    let records = [name, ip];
    let mut locked = None;
    let mut full = false;
    for (record, max_failures) in records.into_iter().zip(limits) {
        let Some(record) = record else { continue };
        record.expire_pending(now, max_failures, config);
        locked = locked.max(record.retry_after(now));
        full |= record.is_full(now, max_failures, config.window);
    }
    match locked {
        Some(seconds) => Err(RetryAfter(seconds)),
        None if full => Err(RetryAfter(1)),
        None => Ok(()),
    }
}

/// A login attempt reserved by [`LoginLimiter::reserve`]: it counts
/// against the name and the address until settled. Dropped unsettled, it
/// counts as a failure (with PostgreSQL, dropping it writes to the
/// database: drop it off the async runtime's workers).
#[derive(Debug)]
#[must_use = "settle the attempt with `failed` or `succeeded`"]
pub struct Attempt {
    config: LimiterConfig,
    backend: Backend,
    name_key: String,
    ip_key: IpAddr,
    /// When it was reserved (also the time its failure counts at).
    now: u64,
    settled: bool,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Memory(_) => f.write_str("Memory"),
            Backend::Postgres(db) => f.debug_tuple("Postgres").field(&db.url()).finish(),
        }
    }
}

impl Attempt {
    /// The password was wrong (or the name unknown): the attempt becomes a
    /// failure of the name and of the address, which may lock them.
    pub fn failed(mut self) -> Result<(), AccountsError> {
        self.fail()
    }

    /// The password was right: the name's failures are forgotten and the
    /// attempt no longer counts against the address (its earlier failures
    /// still do, see [`LoginLimiter::record_success`]).
    pub fn succeeded(mut self) -> Result<(), AccountsError> {
        self.settled = true;
        let reserved_at = self.now;
        match &self.backend {
            Backend::Memory(tables) => {
                let mut tables = lock(tables);
                tables.names.records.remove(&self.name_key);
                if let Some(record) = tables.ips.records.get_mut(&self.ip_key) {
                    record.settle(reserved_at);
                }
                Ok(())
            }
            Backend::Postgres(db) => crate::pg::limiter::succeed(
                db,
                &self.config,
                &self.name_key,
                self.ip_key,
                reserved_at,
            ),
        }
    }

    fn fail(&mut self) -> Result<(), AccountsError> {
        if std::mem::replace(&mut self.settled, true) {
            return Ok(());
        }
        let (config, now) = (self.config, self.now);
        match &self.backend {
            Backend::Memory(tables) => {
                let mut tables = lock(tables);
                tables
                    .names
                    .entry(self.name_key.clone(), now, &config)
                    .settle_failure(now, config.max_failures_per_name, &config);
                tables.ips.entry(self.ip_key, now, &config).settle_failure(
                    now,
                    config.max_failures_per_ip,
                    &config,
                );
            }
            Backend::Postgres(db) => crate::pg::limiter::update(
                db,
                &config,
                Some(&self.name_key),
                Some(self.ip_key),
                now,
                |name_record, ip_record| {
                    if let Some(record) = name_record {
                        record.settle_failure(now, config.max_failures_per_name, &config);
                    }
                    if let Some(record) = ip_record {
                        record.settle_failure(now, config.max_failures_per_ip, &config);
                    }
                },
            )?,
        }
        Ok(())
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        // Nowhere to report a database error to: the reservation then
        // stays pending and counts as a failure after PENDING_TIMEOUT.
        let _ = self.fail();
    }
}

/// The failures of one name or address.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Times of the failures within the window, oldest first (never more
    /// than the limit).
    pub(crate) failures: VecDeque<u64>,
    /// Reservation times of the attempts reserved and not yet settled.
    pub(crate) pending: Vec<u64>,
    /// Locked while `now < locked_until`.
    pub(crate) locked_until: u64,
}

impl Record {
    fn retry_after(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }

    /// Whether the failures within the window and the pending attempts
    /// together have reached `max_failures`.
    fn is_full(&self, now: u64, max_failures: u32, window: u64) -> bool {
        let recent = self
            .failures
            .iter()
            .filter(|&&t| now.saturating_sub(t) < window)
            .count();
        recent.saturating_add(self.pending.len()) >= max_failures.max(1) as usize
    }

    /// An attempt reserved at `now`.
    pub(crate) fn reserve(&mut self, now: u64) {
        self.pending.push(now);
    }

    /// The attempt reserved at `reserved_at` is no longer pending (if it
    /// still was: it may have timed out, or a success for the name may
    /// have cleared the record).
    pub(crate) fn settle(&mut self, reserved_at: u64) {
        if let Some(index) = self.pending.iter().position(|&t| t == reserved_at) {
            self.pending.swap_remove(index);
        }
    }

    /// A reserved attempt failed: it is pending no more, and a failure.
    pub(crate) fn settle_failure(
        &mut self,
        reserved_at: u64,
        max_failures: u32,
        config: &LimiterConfig,
    ) {
        self.settle(reserved_at);
        self.fail(reserved_at, max_failures, config);
    }

    /// Attempts pending for [`PENDING_TIMEOUT`] or longer become failures
    /// at `now`.
    pub(crate) fn expire_pending(&mut self, now: u64, max_failures: u32, config: &LimiterConfig) {
        let before = self.pending.len();
        self.pending
            .retain(|&t| now.saturating_sub(t) < PENDING_TIMEOUT);
        for _ in self.pending.len()..before {
            self.fail(now, max_failures, config);
        }
    }

    pub(crate) fn fail(&mut self, now: u64, max_failures: u32, config: &LimiterConfig) {
        if self.locked_until > now {
            return;
        }
        self.failures
            .retain(|&t| now.saturating_sub(t) < config.window);
        self.failures.push_back(now);
        if self.failures.len() >= max_failures.max(1) as usize {
            self.locked_until = now.saturating_add(config.lockout);
            self.failures.clear();
        }
    }

    /// Nothing left to remember: not locked, nothing pending, no failure
    /// within the window.
    pub(crate) fn is_stale(&self, now: u64, window: u64) -> bool {
        self.locked_until <= now
            && self.pending.is_empty()
            && self
                .failures
                .iter()
                .all(|&t| now.saturating_sub(t) >= window)
    }

    /// The time of the last failure, if any.
    pub(crate) fn last_failure(&self) -> Option<u64> {
        self.failures.back().copied()
    }

    /// What is evicted first from a full table: unlocked before locked, then
    /// the one whose last failure is oldest.
    pub(crate) fn eviction_order(&self, now: u64) -> (bool, u64) {
        let last = self.last_failure().unwrap_or(0);
        (self.locked_until > now, last.max(self.locked_until))
    }
}

/// Records by key, at most `max_entries` of them.
#[derive(Debug)]
struct Table<K> {
    records: HashMap<K, Record>,
}

impl<K> Default for Table<K> {
    fn default() -> Table<K> {
        Table {
            records: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn retry_after(&self, key: &K, now: u64) -> Option<u64> {
        self.records.get(key)?.retry_after(now)
    }

    fn fail(&mut self, key: K, now: u64, max_failures: u32, config: &LimiterConfig) {
        self.entry(key, now, config).fail(now, max_failures, config);
    }

    /// The record of `key`, made (evicting another if the table is full)
    /// if there is none.
    fn entry(&mut self, key: K, now: u64, config: &LimiterConfig) -> &mut Record {
        let capacity = config.max_entries.max(1);
        if !self.records.contains_key(&key) && self.records.len() >= capacity {
            self.prune(now, config.window);
            while self.records.len() >= capacity {
                let victim = self
                    .records
                    .iter()
                    .min_by_key(|(_, record)| record.eviction_order(now))
                    .map(|(key, _)| key.clone());
                match victim {
                    Some(victim) => self.records.remove(&victim),
                    None => break,
                };
            }
        }
        self.records.entry(key).or_default()
    }

    fn prune(&mut self, now: u64, window: u64) -> usize {
        let before = self.records.len();
        self.records
            .retain(|_, record| !record.is_stale(now, window));
        before - self.records.len()
    }
}

/// The name as counted: ASCII lowercase (account names are lowercase, so
/// `Sam` and `sam` are the same target) and cut short, so that a huge name
/// does not take a huge key.
fn name_key(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_LEN + 1)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The address as counted: IPv4 (also when mapped into IPv6) as it is, an
/// IPv6 address by its /64, the block one subscriber usually has.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Backing, on_every_backend};

    const T0: u64 = 1_760_000_000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// `check` of a limiter whose backend works.
    fn check(
        limiter: &LoginLimiter,
        name: &str,
        client: IpAddr,
        now: u64,
    ) -> Result<(), RetryAfter> {
        limiter.check(name, client, now).unwrap()
    }

    /// `reserve` of a limiter whose backend works.
    fn reserve(
        limiter: &LoginLimiter,
        name: &str,
        client: IpAddr,
        now: u64,
    ) -> Result<Attempt, RetryAfter> {
        limiter.reserve(name, client, now).unwrap()
    }

    /// How many names and addresses the limiter remembers.
    fn entries(backing: &Backing, limiter: &LoginLimiter) -> usize {
        match backing {
            Backing::Local(_) => {
                let tables = limiter.lock();
                tables.names.records.len() + tables.ips.records.len()
            }
            Backing::Postgres(_) => {
                let db = backing.node();
                let count: i64 = db
                    .connection()
                    .unwrap()
                    .query_one("SELECT count(*) FROM cordon_login_limits", &[])
                    .unwrap()
                    .get(0);
                usize::try_from(count).unwrap()
            }
        }
    }

    on_every_backend!(
        a_name_is_locked_after_five_failures_and_freed_after_the_lockout,
        attempts_count_from_their_reservation_so_concurrent_guesses_cannot_pass_the_limit,
        a_successful_attempt_frees_its_slot_and_the_name,
        attempts_left_pending_count_as_failures_after_a_while,
        failures_older_than_the_window_do_not_count,
        success_resets_the_name_but_not_the_address,
        an_address_is_locked_after_failures_across_names,
        ipv6_counts_by_64_and_mapped_ipv4_as_ipv4,
        tables_are_bounded_and_keep_locks_longest,
        prune_forgets_what_no_longer_matters,
    );

    fn a_name_is_locked_after_five_failures_and_freed_after_the_lockout(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        for i in 0..4 {
            limiter.record_failure("sam", client, T0 + i).unwrap();
            assert_eq!(check(&limiter, "sam", client, T0 + i), Ok(()));
        }
        limiter.record_failure("sam", client, T0 + 4).unwrap();
        assert_eq!(
            check(&limiter, "sam", client, T0 + 4),
            Err(RetryAfter(DEFAULT_LOCKOUT))
        );
        // From any address, and whatever the case of the name.
        assert_eq!(
            check(&limiter, "Sam", ip("192.0.2.1"), T0 + 5),
            Err(RetryAfter(DEFAULT_LOCKOUT - 1))
        );
        assert_eq!(
            check(&limiter, "sam", client, T0 + 4 + DEFAULT_LOCKOUT - 1),
            Err(RetryAfter(1))
        );
        assert_eq!(
            check(&limiter, "sam", client, T0 + 4 + DEFAULT_LOCKOUT),
            Ok(())
        );
        // Other names from the same address were never locked.
        assert_eq!(check(&limiter, "kim", client, T0 + 5), Ok(()));
        // After the lock the count starts again.
        let later = T0 + 4 + DEFAULT_LOCKOUT;
        limiter.record_failure("sam", client, later).unwrap();
        assert_eq!(check(&limiter, "sam", client, later), Ok(()));
    }

    fn attempts_count_from_their_reservation_so_concurrent_guesses_cannot_pass_the_limit(
        backing: &Backing,
    ) {
        let limiter = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        // Five guesses for one name in flight at once: the sixth is refused
        // before any of them has been settled.
        let name_attempts: Vec<_> = (0..5)
            .map(|_| reserve(&limiter, "sam", client, T0).unwrap())
            .collect();
        assert_eq!(
            reserve(&limiter, "sam", ip("192.0.2.1"), T0).err(),
            Some(RetryAfter(1))
        );
        for attempt in name_attempts {
            attempt.failed().unwrap();
        }
        assert_eq!(
            reserve(&limiter, "sam", client, T0).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT))
        );
        // Twenty names from one address in flight: the twenty-first name
        // is refused; an attempt dropped unsettled counts as a failure.
        let attacker = ip("198.51.100.9");
        let mut ip_attempts: Vec<_> = (0..DEFAULT_MAX_FAILURES_PER_IP)
            .map(|i| reserve(&limiter, &format!("user{i}"), attacker, T0).unwrap())
            .collect();
        assert!(reserve(&limiter, "other", attacker, T0).is_err());
        ip_attempts.pop().unwrap().succeeded().unwrap();
        let last = reserve(&limiter, "other", attacker, T0).unwrap();
        drop(ip_attempts);
        drop(last);
        assert_eq!(
            reserve(&limiter, "kim", attacker, T0 + 1).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT - 1))
        );
    }

    fn a_successful_attempt_frees_its_slot_and_the_name(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        for _ in 0..4 {
            reserve(&limiter, "sam", client, T0)
                .unwrap()
                .failed()
                .unwrap();
        }
        reserve(&limiter, "sam", client, T0)
            .unwrap()
            .succeeded()
            .unwrap();
        assert_eq!(check(&limiter, "sam", client, T0), Ok(()));
        for _ in 0..4 {
            reserve(&limiter, "sam", client, T0)
                .unwrap()
                .failed()
                .unwrap();
        }
        assert_eq!(check(&limiter, "sam", client, T0), Ok(()));
        assert!(limiter.prune(T0 + DEFAULT_WINDOW).unwrap() > 0);
    }

    fn attempts_left_pending_count_as_failures_after_a_while(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        // Five reservations never settled (their gateway died: forgotten,
        // not dropped).
        for _ in 0..5 {
            std::mem::forget(reserve(&limiter, "sam", client, T0).unwrap());
        }
        assert_eq!(
            reserve(&limiter, "sam", client, T0 + PENDING_TIMEOUT - 1).err(),
            Some(RetryAfter(1))
        );
        // Then they are failures, which lock the name.
        let now = T0 + PENDING_TIMEOUT;
        assert_eq!(
            reserve(&limiter, "sam", client, now).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT))
        );
        // Not pending any more: once the lock is over, the name is free.
        let attempt = reserve(&limiter, "sam", client, now + DEFAULT_LOCKOUT).unwrap();
        attempt.succeeded().unwrap();
    }

    fn failures_older_than_the_window_do_not_count(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        limiter.record_failure("sam", client, T0).unwrap();
        for _ in 0..3 {
            limiter.record_failure("sam", client, T0 + 100).unwrap();
        }
        // The first failure has left the window when the fifth comes.
        limiter
            .record_failure("sam", client, T0 + DEFAULT_WINDOW)
            .unwrap();
        assert_eq!(check(&limiter, "sam", client, T0 + DEFAULT_WINDOW), Ok(()));
        limiter
            .record_failure("sam", client, T0 + DEFAULT_WINDOW + 1)
            .unwrap();
        assert!(check(&limiter, "sam", client, T0 + DEFAULT_WINDOW + 1).is_err());
    }

    fn success_resets_the_name_but_not_the_address(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig {
            max_failures_per_ip: 6,
            ..LimiterConfig::default()
        });
        let client = ip("10.0.0.7");
        for i in 0..4 {
            limiter.record_failure("sam", client, T0 + i).unwrap();
        }
        limiter.record_success("sam").unwrap();
        limiter.record_failure("sam", client, T0 + 10).unwrap();
        assert_eq!(check(&limiter, "sam", client, T0 + 10), Ok(()));
        // ...but the address has 5 failures now, and a 6th locks it.
        limiter.record_failure("kim", client, T0 + 11).unwrap();
        assert_eq!(
            check(&limiter, "lee", client, T0 + 11),
            Err(RetryAfter(DEFAULT_LOCKOUT))
        );
    }

    fn an_address_is_locked_after_failures_across_names(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        let attacker = ip("198.51.100.9");
        for i in 0..u64::from(DEFAULT_MAX_FAILURES_PER_IP) {
            assert_eq!(check(&limiter, &format!("user{i}"), attacker, T0), Ok(()));
            limiter
                .record_failure(&format!("user{i}"), attacker, T0)
                .unwrap();
        }
        assert!(check(&limiter, "sam", attacker, T0 + 1).is_err());
        assert_eq!(check(&limiter, "sam", ip("10.0.0.7"), T0 + 1), Ok(()));
    }

    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4(backing: &Backing) {
        assert_eq!(
            ip_key(ip("2001:db8:1:2:aaaa::1")),
            ip_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_key(ip("::ffff:10.0.0.7")), ip("10.0.0.7"));
        let limiter = backing.limiter(LimiterConfig {
            max_failures_per_ip: 2,
            ..LimiterConfig::default()
        });
        limiter.record_failure("a", ip("2001:db8::1"), T0).unwrap();
        limiter
            .record_failure("b", ip("2001:db8::ffff"), T0)
            .unwrap();
        assert!(check(&limiter, "c", ip("2001:db8::42"), T0).is_err());
        assert_eq!(check(&limiter, "c", ip("2001:db8:0:1::42"), T0), Ok(()));
        limiter
            .record_failure("d", ip("::ffff:10.0.0.7"), T0)
            .unwrap();
        limiter.record_failure("e", ip("10.0.0.7"), T0).unwrap();
        assert!(check(&limiter, "f", ip("10.0.0.7"), T0).is_err());
    }

    fn tables_are_bounded_and_keep_locks_longest(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig {
            max_failures_per_name: 2,
            max_failures_per_ip: 1000,
            max_entries: 3,
            ..LimiterConfig::default()
        });
        let client = ip("10.0.0.7");
        limiter.record_failure("target", client, T0).unwrap();
        limiter.record_failure("target", client, T0 + 1).unwrap();
        assert!(check(&limiter, "target", client, T0 + 1).is_err());
        for i in 0..40 {
            limiter
                .record_failure(&format!("junk{i}"), ip(&format!("10.1.0.{i}")), T0 + 2 + i)
                .unwrap();
        }
        // At most three names and three addresses.
        assert!(entries(backing, &limiter) <= 6);
        assert!(check(&limiter, "target", client, T0 + 200).is_err());
        // Any name is counted, even one no account could have.
        for _ in 0..2 {
            limiter.record_failure("nul\0", client, T0 + 300).unwrap();
        }
        assert!(check(&limiter, "nul\0", client, T0 + 300).is_err());
        assert_eq!(check(&limiter, "nul", client, T0 + 300), Ok(()));
        // Huge names take bounded keys.
        limiter
            .record_failure(&"x".repeat(100_000), client, T0)
            .unwrap();
        let longest = match backing {
            Backing::Local(_) => limiter.lock().names.records.keys().map(String::len).max(),
            Backing::Postgres(_) => {
                let db = backing.node();
                let row = db
                    .connection()
                    .unwrap()
                    .query_one(
                        "SELECT max(length(key))::bigint FROM cordon_login_limits WHERE kind = 'name'",
                        &[],
                    )
                    .unwrap();
                row.get::<_, Option<i64>>(0)
                    .map(|n| usize::try_from(n).unwrap())
            }
        };
        assert_eq!(longest, Some(MAX_NAME_LEN + 1));
    }

    fn prune_forgets_what_no_longer_matters(backing: &Backing) {
        let limiter = backing.limiter(LimiterConfig::default());
        limiter.record_failure("sam", ip("10.0.0.7"), T0).unwrap();
        assert_eq!(limiter.prune(T0 + DEFAULT_WINDOW - 1).unwrap(), 0);
        assert_eq!(entries(backing, &limiter), 2);
        assert_eq!(limiter.prune(T0 + DEFAULT_WINDOW).unwrap(), 2);
        assert_eq!(entries(backing, &limiter), 0);
    }

    #[test]
    fn failures_on_two_nodes_count_together() {
        let backing = Backing::postgres();
        let node_a = backing.limiter(LimiterConfig::default());
        let node_b = backing.limiter(LimiterConfig::default());
        let client = ip("10.0.0.7");
        // Five failures for one name, alternating between the nodes (and
        // settled through both APIs).
        for i in 0..5 {
            let node = if i % 2 == 0 { &node_a } else { &node_b };
            if i < 3 {
                reserve(node, "sam", client, T0 + i)
                    .unwrap()
                    .failed()
                    .unwrap();
            } else {
                node.record_failure("sam", ip("192.0.2.1"), T0 + i).unwrap();
            }
            let locked = i == 4;
            assert_eq!(
                check(&node_a, "sam", client, T0 + i).is_err(),
                locked,
                "{i}"
            );
            assert_eq!(
                check(&node_b, "sam", client, T0 + i).is_err(),
                locked,
                "{i}"
            );
        }
        assert_eq!(
            reserve(&node_a, "sam", client, T0 + 5).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT - 1))
        );
        // A success on one node frees the name on the other.
        let later = T0 + 4 + DEFAULT_LOCKOUT;
        node_b.record_failure("sam", client, later).unwrap();
        reserve(&node_a, "sam", client, later)
            .unwrap()
            .succeeded()
            .unwrap();
        for _ in 0..4 {
            reserve(&node_b, "sam", client, later)
                .unwrap()
                .failed()
                .unwrap();
        }
        assert_eq!(check(&node_a, "sam", client, later), Ok(()));
    }

    #[test]
    fn concurrent_guesses_on_two_nodes_cannot_pass_the_limit() {
        let backing = Backing::postgres();
        let nodes = [
            std::sync::Arc::new(backing.limiter(LimiterConfig::default())),
            std::sync::Arc::new(backing.limiter(LimiterConfig::default())),
        ];
        let guesses = 12;
        let start = std::sync::Arc::new(std::sync::Barrier::new(guesses));
        let tried = std::sync::Arc::new(std::sync::Barrier::new(guesses));
        let handles: Vec<_> = (0..guesses)
            .map(|i| {
                let node = std::sync::Arc::clone(&nodes[i % 2]);
                let (start, tried) = (std::sync::Arc::clone(&start), std::sync::Arc::clone(&tried));
                std::thread::spawn(move || {
                    start.wait();
                    let client = ip(&format!("192.0.2.{i}"));
                    let attempt = node.reserve("sam", client, T0).unwrap();
                    // Every guess is in flight before any is settled.
                    tried.wait();
                    match attempt {
                        Ok(attempt) => {
                            attempt.failed().unwrap();
                            true
                        }
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let allowed = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&allowed| allowed)
            .count();
        assert_eq!(allowed, DEFAULT_MAX_FAILURES_PER_NAME as usize);
        assert_eq!(
            check(&nodes[1], "sam", ip("10.0.0.7"), T0),
            Err(RetryAfter(DEFAULT_LOCKOUT))
        );
    }
}
