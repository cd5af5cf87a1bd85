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

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};

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
/// with the error if locked or if every remaining attempt is already being
/// checked, without looking at the password), then check the password and
/// settle the [`Attempt`]: [`Attempt::failed`] or [`Attempt::succeeded`].
/// The attempt is counted when it is reserved, under the same lock as the
/// check, so that concurrent guesses cannot all pass the check before any
/// of them is counted.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    config: LimiterConfig,
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    names: Table<String>,
    ips: Table<IpAddr>,
}

impl LoginLimiter {
    /// A limiter with these limits and nothing recorded.
    pub fn new(config: LimiterConfig) -> LoginLimiter {
        LoginLimiter {
            config,
            tables: Mutex::default(),
        }
    }

    /// Whether a login for `name` from `ip` may be attempted at `now`; if
    /// not, for how long not (the longer of the two locks).
    pub fn check(&self, name: &str, ip: IpAddr, now: u64) -> Result<(), RetryAfter> {
        let tables = self.lock();
        let by_name = tables.names.retry_after(&name_key(name), now);
        let by_ip = tables.ips.retry_after(&ip_key(ip), now);
        match by_name.max(by_ip) {
            Some(seconds) => Err(RetryAfter(seconds)),
            None => Ok(()),
        }
    }

    /// Reserves a login attempt for `name` from `ip` at `now`: refused
    /// while either is locked, or while the failures within the window plus
    /// the attempts still being checked have reached either limit (then
    /// for a second: an attempt in flight settles quickly). Settle the
    /// attempt when the password has been checked; an attempt dropped
    /// unsettled (say, the client went away) counts as a failure.
    pub fn reserve(&self, name: &str, ip: IpAddr, now: u64) -> Result<Attempt<'_>, RetryAfter> {
        let config = self.config;
        let (name_key, ip_key) = (name_key(name), ip_key(ip));
        let mut tables = self.lock();
        let by_name = tables.names.retry_after(&name_key, now);
        let by_ip = tables.ips.retry_after(&ip_key, now);
        if let Some(seconds) = by_name.max(by_ip) {
            return Err(RetryAfter(seconds));
        }
        let name_full = tables
            .names
            .is_full(&name_key, now, config.max_failures_per_name, &config);
        let ip_full = tables
            .ips
            .is_full(&ip_key, now, config.max_failures_per_ip, &config);
        if name_full || ip_full {
            return Err(RetryAfter(1));
        }
        tables.names.reserve(name_key.clone(), now, &config);
        tables.ips.reserve(ip_key, now, &config);
        Ok(Attempt {
            limiter: self,
            name_key,
            ip_key,
            now,
            settled: false,
        })
    }

    /// Records a failed login for `name` from `ip` at `now` (a wrong
    /// password or an unknown name alike) that was not reserved.
    pub fn record_failure(&self, name: &str, ip: IpAddr, now: u64) {
        let config = self.config;
        let mut tables = self.lock();
        tables
            .names
            .fail(name_key(name), now, config.max_failures_per_name, &config);
        tables
            .ips
            .fail(ip_key(ip), now, config.max_failures_per_ip, &config);
    }

    /// Records a successful login for `name`: its failures are forgotten.
    /// The address's are not, so that an attacker with one working login
    /// cannot use it to go on guessing other names' passwords.
    pub fn record_success(&self, name: &str) {
        self.lock().names.records.remove(&name_key(name));
    }

    /// Forgets everything that no longer matters at `now` (no lock, no
    /// failure within the window); returns how many entries went. Optional:
    /// full tables prune themselves.
    pub fn prune(&self, now: u64) -> usize {
        let window = self.config.window;
        let mut tables = self.lock();
        tables.names.prune(now, window) + tables.ips.prune(now, window)
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Each change is to a single record or a whole-table prune, and a
        // half-updated count only loosens or tightens one limit a little.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A login attempt reserved by [`LoginLimiter::reserve`]: it counts
/// against the name and the address until settled. Dropped unsettled, it
/// counts as a failure.
#[derive(Debug)]
#[must_use = "settle the attempt with `failed` or `succeeded`"]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    name_key: String,
    ip_key: IpAddr,
    now: u64,
    settled: bool,
}

impl Attempt<'_> {
    /// The password was wrong (or the name unknown): the attempt becomes a
    /// failure of the name and of the address, which may lock them.
    pub fn failed(mut self) {
        self.fail();
    }

    /// The password was right: the name's failures are forgotten and the
    /// attempt no longer counts against the address (its earlier failures
    /// still do, see [`LoginLimiter::record_success`]).
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut tables = self.limiter.lock();
        tables.names.records.remove(&self.name_key);
        if let Some(record) = tables.ips.records.get_mut(&self.ip_key) {
            record.pending = record.pending.saturating_sub(1);
        }
    }

    fn fail(&mut self) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let config = self.limiter.config;
        let mut tables = self.limiter.lock();
        tables.names.settle_failure(
            self.name_key.clone(),
            self.now,
            config.max_failures_per_name,
            &config,
        );
        tables
            .ips
            .settle_failure(self.ip_key, self.now, config.max_failures_per_ip, &config);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.fail();
    }
}

/// The failures of one name or address.
#[derive(Debug, Default)]
struct Record {
    /// Times of the failures within the window, oldest first (never more
    /// than the limit).
    failures: VecDeque<u64>,
    /// Attempts reserved and not yet settled.
    pending: u32,
    /// Locked while `now < locked_until`.
    locked_until: u64,
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
        recent.saturating_add(self.pending as usize) >= max_failures.max(1) as usize
    }

    fn fail(&mut self, now: u64, max_failures: u32, config: &LimiterConfig) {
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
    fn is_stale(&self, now: u64, window: u64) -> bool {
        self.locked_until <= now
            && self.pending == 0
            && self
                .failures
                .iter()
                .all(|&t| now.saturating_sub(t) >= window)
    }

    /// What is evicted first from a full table: unlocked before locked, then
    /// the one whose last failure is oldest.
    fn eviction_order(&self, now: u64) -> (bool, u64) {
        let last = self.failures.back().copied().unwrap_or(0);
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

    fn is_full(&self, key: &K, now: u64, max_failures: u32, config: &LimiterConfig) -> bool {
        self.records
            .get(key)
            .is_some_and(|record| record.is_full(now, max_failures, config.window))
    }

    fn reserve(&mut self, key: K, now: u64, config: &LimiterConfig) {
        let record = self.entry(key, now, config);
        record.pending = record.pending.saturating_add(1);
    }

    /// A reserved attempt failed: it is pending no more, and a failure.
    fn settle_failure(&mut self, key: K, now: u64, max_failures: u32, config: &LimiterConfig) {
        let record = self.entry(key, now, config);
        record.pending = record.pending.saturating_sub(1);
        record.fail(now, max_failures, config);
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

    const T0: u64 = 1_760_000_000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_name_is_locked_after_five_failures_and_freed_after_the_lockout() {
        let limiter = LoginLimiter::default();
        let client = ip("10.0.0.7");
        for i in 0..4 {
            limiter.record_failure("sam", client, T0 + i);
            assert_eq!(limiter.check("sam", client, T0 + i), Ok(()));
        }
        limiter.record_failure("sam", client, T0 + 4);
        assert_eq!(
            limiter.check("sam", client, T0 + 4),
            Err(RetryAfter(DEFAULT_LOCKOUT))
        );
        // From any address, and whatever the case of the name.
        assert_eq!(
            limiter.check("Sam", ip("192.0.2.1"), T0 + 5),
            Err(RetryAfter(DEFAULT_LOCKOUT - 1))
        );
        assert_eq!(
            limiter.check("sam", client, T0 + 4 + DEFAULT_LOCKOUT - 1),
            Err(RetryAfter(1))
        );
        assert_eq!(
            limiter.check("sam", client, T0 + 4 + DEFAULT_LOCKOUT),
            Ok(())
        );
        // Other names from the same address were never locked.
        assert_eq!(limiter.check("kim", client, T0 + 5), Ok(()));
        // After the lock the count starts again.
        let later = T0 + 4 + DEFAULT_LOCKOUT;
        limiter.record_failure("sam", client, later);
        assert_eq!(limiter.check("sam", client, later), Ok(()));
    }

    #[test]
    fn attempts_count_from_their_reservation_so_concurrent_guesses_cannot_pass_the_limit() {
        let limiter = LoginLimiter::default();
        let client = ip("10.0.0.7");
        // Five guesses for one name in flight at once: the sixth is refused
        // before any of them has been settled.
        let name_attempts: Vec<_> = (0..5)
            .map(|_| limiter.reserve("sam", client, T0).unwrap())
            .collect();
        assert_eq!(
            limiter.reserve("sam", ip("192.0.2.1"), T0).err(),
            Some(RetryAfter(1))
        );
        name_attempts.into_iter().for_each(Attempt::failed);
        assert_eq!(
            limiter.reserve("sam", client, T0).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT))
        );
        // Twenty names from one address in flight: the twenty-first name
        // is refused; an attempt dropped unsettled counts as a failure.
        let attacker = ip("198.51.100.9");
        let mut ip_attempts: Vec<_> = (0..DEFAULT_MAX_FAILURES_PER_IP)
            .map(|i| limiter.reserve(&format!("user{i}"), attacker, T0).unwrap())
            .collect();
        assert!(limiter.reserve("other", attacker, T0).is_err());
        ip_attempts.pop().unwrap().succeeded();
        let last = limiter.reserve("other", attacker, T0).unwrap();
        drop(ip_attempts);
        drop(last);
        assert_eq!(
            limiter.reserve("kim", attacker, T0 + 1).err(),
            Some(RetryAfter(DEFAULT_LOCKOUT - 1))
        );
    }

    #[test]
    fn a_successful_attempt_frees_its_slot_and_the_name() {
        let limiter = LoginLimiter::default();
        let client = ip("10.0.0.7");
        for _ in 0..4 {
            limiter.reserve("sam", client, T0).unwrap().failed();
        }
        limiter.reserve("sam", client, T0).unwrap().succeeded();
        assert_eq!(limiter.check("sam", client, T0), Ok(()));
        for _ in 0..4 {
            limiter.reserve("sam", client, T0).unwrap().failed();
        }
        assert_eq!(limiter.check("sam", client, T0), Ok(()));
        assert!(limiter.prune(T0 + DEFAULT_WINDOW) > 0);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let limiter = LoginLimiter::default();
        let client = ip("10.0.0.7");
        limiter.record_failure("sam", client, T0);
        for _ in 0..3 {
            limiter.record_failure("sam", client, T0 + 100);
        }
        // The first failure has left the window when the fifth comes.
        limiter.record_failure("sam", client, T0 + DEFAULT_WINDOW);
        assert_eq!(limiter.check("sam", client, T0 + DEFAULT_WINDOW), Ok(()));
        limiter.record_failure("sam", client, T0 + DEFAULT_WINDOW + 1);
        assert!(
            limiter
                .check("sam", client, T0 + DEFAULT_WINDOW + 1)
                .is_err()
        );
    }

    #[test]
    fn success_resets_the_name_but_not_the_address() {
        let limiter = LoginLimiter::new(LimiterConfig {
            max_failures_per_ip: 6,
            ..LimiterConfig::default()
        });
        let client = ip("10.0.0.7");
        for i in 0..4 {
            limiter.record_failure("sam", client, T0 + i);
        }
        limiter.record_success("sam");
        limiter.record_failure("sam", client, T0 + 10);
        assert_eq!(limiter.check("sam", client, T0 + 10), Ok(()));
        // ...but the address has 5 failures now, and a 6th locks it.
        limiter.record_failure("kim", client, T0 + 11);
        assert_eq!(
            limiter.check("lee", client, T0 + 11),
            Err(RetryAfter(DEFAULT_LOCKOUT))
        );
    }

    #[test]
    fn an_address_is_locked_after_failures_across_names() {
        let limiter = LoginLimiter::default();
        let attacker = ip("198.51.100.9");
        for i in 0..u64::from(DEFAULT_MAX_FAILURES_PER_IP) {
            assert_eq!(limiter.check(&format!("user{i}"), attacker, T0), Ok(()));
            limiter.record_failure(&format!("user{i}"), attacker, T0);
        }
        assert!(limiter.check("sam", attacker, T0 + 1).is_err());
        assert_eq!(limiter.check("sam", ip("10.0.0.7"), T0 + 1), Ok(()));
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            ip_key(ip("2001:db8:1:2:aaaa::1")),
            ip_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_key(ip("::ffff:10.0.0.7")), ip("10.0.0.7"));
        let limiter = LoginLimiter::new(LimiterConfig {
            max_failures_per_ip: 2,
            ..LimiterConfig::default()
        });
        limiter.record_failure("a", ip("2001:db8::1"), T0);
        limiter.record_failure("b", ip("2001:db8::ffff"), T0);
        assert!(limiter.check("c", ip("2001:db8::42"), T0).is_err());
    }

    #[test]
    fn tables_are_bounded_and_keep_locks_longest() {
        let limiter = LoginLimiter::new(LimiterConfig {
            max_failures_per_name: 2,
            max_failures_per_ip: 1000,
            max_entries: 3,
            ..LimiterConfig::default()
        });
        let client = ip("10.0.0.7");
        limiter.record_failure("target", client, T0);
        limiter.record_failure("target", client, T0 + 1);
        assert!(limiter.check("target", client, T0 + 1).is_err());
        for i in 0..100 {
            limiter.record_failure(&format!("junk{i}"), ip(&format!("10.1.0.{i}")), T0 + 2 + i);
        }
        let tables = limiter.lock();
        assert!(tables.names.records.len() <= 3);
        assert!(tables.ips.records.len() <= 3);
        drop(tables);
        assert!(limiter.check("target", client, T0 + 200).is_err());
        // Huge names take bounded keys.
        limiter.record_failure(&"x".repeat(100_000), client, T0);
        let longest = limiter.lock().names.records.keys().map(String::len).max();
        assert_eq!(longest, Some(MAX_NAME_LEN + 1));
    }

    #[test]
    fn prune_forgets_what_no_longer_matters() {
        let limiter = LoginLimiter::default();
        limiter.record_failure("sam", ip("10.0.0.7"), T0);
        assert_eq!(limiter.prune(T0 + DEFAULT_WINDOW - 1), 0);
        assert_eq!(limiter.prune(T0 + DEFAULT_WINDOW), 2);
        assert!(limiter.lock().names.records.is_empty());
    }
}
