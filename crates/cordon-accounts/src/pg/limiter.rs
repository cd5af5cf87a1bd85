//! The login limiter's counters in `cordon_login_limits`: one row per
//! account name (`kind` 'name') and per client address (`kind` 'ip').
//!
//! Every change locks the rows it reads (`SELECT ... FOR UPDATE`, the
//! address's row before the name's, always, so that two changes never wait
//! for each other), applies the same [`Record`] logic as the in-memory
//! limiter and writes the rows back in the same transaction: a reservation
//! on one node is counted before another node's check of the same name or
//! address can run.

use std::net::IpAddr;

use cordon_postgres::{Database, Transaction};

use super::{from_db, to_db, transaction};
use crate::error::AccountsError;
use crate::limiter::{LimiterConfig, Record};

/// True for a row with nothing left to remember at `$now` (`$window` the
/// window), as [`Record::is_stale`].
const STALE: &str = "(locked_until <= $now AND cardinality(pending) = 0 \
     AND (last_failure IS NULL OR GREATEST($now - last_failure, 0) >= $window))";

/// The rows of the address `$1` and the name `$2` (either may be NULL).
const WHERE_KEYS: &str = "(kind = 'ip' AND key = $1) OR (kind = 'name' AND key = $2)";

/// [`STALE`] with its parameters numbered `$now` = `now`, `$window` =
/// `window`.
fn stale(now: usize, window: usize) -> String {
    STALE
        .replace("$now", &format!("${now}"))
        .replace("$window", &format!("${window}"))
}

/// How long the address `ip` or the name `name_key` stays locked after
/// `now`, if either is.
pub(crate) fn retry_after(
    db: &Database,
    name_key: &str,
    ip: IpAddr,
    now: u64,
) -> Result<Option<u64>, AccountsError> {
    let row = db.connection()?.query_one(
        &format!("SELECT max(locked_until) FROM cordon_login_limits WHERE {WHERE_KEYS}"),
        &[&ip.to_string(), &text_key(name_key)],
    )?;
    let locked_until: Option<i64> = row.try_get(0)?;
    let locked_until = match locked_until {
        Some(time) => from_db(time, "a lock's end")?,
        None => return Ok(None),
    };
    Ok((locked_until > now).then(|| locked_until - now))
}

/// Applies `change` to the records of the name `name` and the address `ip`
/// (each `Some` when asked for: made empty if there is none), under row
/// locks, and stores the result.
pub(crate) fn update<T>(
    db: &Database,
    config: &LimiterConfig,
    name: Option<&str>,
    ip: Option<IpAddr>,
    now: u64,
    change: impl FnOnce(Option<&mut Record>, Option<&mut Record>) -> T,
) -> Result<T, AccountsError> {
    transaction(db, |tx| update_in(tx, config, name, ip, now, change))
}

/// A reserved attempt succeeded: it is no longer pending for the address,
/// and the name's record is forgotten.
pub(crate) fn succeed(
    db: &Database,
    config: &LimiterConfig,
    name_key: &str,
    ip: IpAddr,
    reserved_at: u64,
) -> Result<(), AccountsError> {
    transaction(db, |tx| {
        // The address's row first, as everywhere.
        update_in(tx, config, None, Some(ip), reserved_at, |_, record| {
            if let Some(record) = record {
                record.settle(reserved_at);
            }
        })?;
        delete_name(tx, name_key)
    })
}

/// Forgets the record of the name `name_key`.
pub(crate) fn forget_name(db: &Database, name_key: &str) -> Result<(), AccountsError> {
    transaction(db, |tx| delete_name(tx, name_key))
}

/// Deletes every row with nothing left to remember at `now`; how many.
pub(crate) fn prune(db: &Database, now: u64, window: u64) -> Result<usize, AccountsError> {
    let deleted = db.connection()?.execute(
        &format!(
            "DELETE FROM cordon_login_limits WHERE (kind, key) IN \
             (SELECT kind, key FROM cordon_login_limits WHERE {} FOR UPDATE SKIP LOCKED)",
            stale(1, 2)
        ),
        &[&to_db(now), &to_db(window)],
    )?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

fn delete_name(tx: &mut Transaction<'_>, name_key: &str) -> Result<(), AccountsError> {
    tx.execute(
        "DELETE FROM cordon_login_limits WHERE kind = 'name' AND key = $1",
        &[&text_key(name_key)],
    )?;
    Ok(())
}

/// A name key as stored: `text` cannot hold NUL, which becomes U+FFFD (both
/// are in no account's name, so nothing is confused).
fn text_key(name_key: &str) -> String {
    name_key.replace('\0', "\u{fffd}")
}

/// [`update`] inside the transaction `tx`.
fn update_in<T>(
    tx: &mut Transaction<'_>,
    config: &LimiterConfig,
    name: Option<&str>,
    ip: Option<IpAddr>,
    now: u64,
    change: impl FnOnce(Option<&mut Record>, Option<&mut Record>) -> T,
) -> Result<T, AccountsError> {
    let ip_key = ip.map(|ip| ip.to_string());
    let name_key = name.map(text_key);
    let name = name_key.as_deref();
    let wanted = usize::from(ip_key.is_some()) + usize::from(name.is_some());
    let mut inserted: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    // A row can be deleted (pruned, evicted, a success) between the insert
    // that makes sure it exists and the select that locks it; then the
    // insert is tried again. Rows are written back with an upsert, so even
    // a row still missing after that is stored.
    for _ in 0..3 {
        for row in tx.query(
            "INSERT INTO cordon_login_limits (kind, key) \
             SELECT kind, key FROM (VALUES ('ip', $1::text), ('name', $2::text)) AS wanted (kind, key) \
             WHERE key IS NOT NULL ORDER BY kind ON CONFLICT DO NOTHING RETURNING kind",
            &[&ip_key, &name],
        )? {
            inserted.push(row.try_get(0)?);
        }
        rows = tx.query(
            &format!(
                "SELECT kind, failures, pending, locked_until FROM cordon_login_limits \
                 WHERE {WHERE_KEYS} ORDER BY kind FOR UPDATE"
            ),
            &[&ip_key, &name],
        )?;
        if rows.len() >= wanted {
            break;
        }
    }
    let mut name_record = name.map(|_| Record::default());
    let mut ip_record = ip_key.as_ref().map(|_| Record::default());
    for row in &rows {
        let kind: String = row.try_get(0)?;
        let slot = match kind.as_str() {
            "name" => &mut name_record,
            _ => &mut ip_record,
        };
        if let Some(record) = slot {
            *record = record_from_row(row)?;
        }
    }
    let out = change(name_record.as_mut(), ip_record.as_mut());
    let stored = [
        ("ip", ip_key.as_deref(), &ip_record),
        ("name", name, &name_record),
    ];
    for (kind, key, record) in stored {
        if let (Some(key), Some(record)) = (key, record) {
            store(tx, kind, key, record, config, now)?;
        }
    }
    for (kind, key) in [("ip", ip_key.as_deref()), ("name", name)] {
        if let Some(key) = key
            && inserted.iter().any(|k| k == kind)
        {
            evict(tx, kind, key, config, now)?;
        }
    }
    Ok(out)
}

/// Writes `record` back (deletes it if it has nothing left to remember).
fn store(
    tx: &mut Transaction<'_>,
    kind: &str,
    key: &str,
    record: &Record,
    config: &LimiterConfig,
    now: u64,
) -> Result<(), AccountsError> {
    if record.is_stale(now, config.window) {
        tx.execute(
            "DELETE FROM cordon_login_limits WHERE kind = $1 AND key = $2",
            &[&kind, &key],
        )?;
        return Ok(());
    }
    let failures: Vec<i64> = record.failures.iter().copied().map(to_db).collect();
    let pending: Vec<i64> = record.pending.iter().copied().map(to_db).collect();
    let last_failure = record.last_failure().map(to_db);
    let last_activity = to_db(record.eviction_order(now).1);
    tx.execute(
        "INSERT INTO cordon_login_limits \
         (kind, key, failures, pending, locked_until, last_failure, last_activity) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (kind, key) DO UPDATE SET failures = EXCLUDED.failures, \
         pending = EXCLUDED.pending, locked_until = EXCLUDED.locked_until, \
         last_failure = EXCLUDED.last_failure, last_activity = EXCLUDED.last_activity",
        &[
            &kind,
            &key,
            &failures,
            &pending,
            &to_db(record.locked_until),
            &last_failure,
            &last_activity,
        ],
    )?;
    Ok(())
}

/// Keeps at most [`LimiterConfig::max_entries`] rows of `kind` after a new
/// one (`key`, which stays): rows with nothing to remember go first, then
/// unlocked before locked, the least recently active first. Rows other
/// transactions hold are left alone.
fn evict(
    tx: &mut Transaction<'_>,
    kind: &str,
    key: &str,
    config: &LimiterConfig,
    now: u64,
) -> Result<(), AccountsError> {
    let capacity = to_db(u64::try_from(config.max_entries.max(1)).unwrap_or(u64::MAX));
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM cordon_login_limits WHERE kind = $1",
            &[&kind],
        )?
        .try_get(0)?;
    if count <= capacity {
        return Ok(());
    }
    let pruned = tx.execute(
        &format!(
            "DELETE FROM cordon_login_limits WHERE (kind, key) IN \
             (SELECT kind, key FROM cordon_login_limits WHERE kind = $1 AND key <> $2 AND {} \
              FOR UPDATE SKIP LOCKED)",
            stale(3, 4)
        ),
        &[&kind, &key, &to_db(now), &to_db(config.window)],
    )?;
    let count = count.saturating_sub(i64::try_from(pruned).unwrap_or(i64::MAX));
    if count <= capacity {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM cordon_login_limits WHERE (kind, key) IN \
         (SELECT kind, key FROM cordon_login_limits WHERE kind = $1 AND key <> $2 \
          ORDER BY (locked_until > $3), last_activity LIMIT $4 FOR UPDATE SKIP LOCKED)",
        &[&kind, &key, &to_db(now), &(count - capacity)],
    )?;
    Ok(())
}

/// The record of a row (`kind, failures, pending, locked_until`).
fn record_from_row(row: &postgres::Row) -> Result<Record, AccountsError> {
    let failures: Vec<i64> = row.try_get(1)?;
    let pending: Vec<i64> = row.try_get(2)?;
    let locked_until: i64 = row.try_get(3)?;
    Ok(Record {
        failures: failures
            .into_iter()
            .map(|t| from_db(t, "a failure's time"))
            .collect::<Result<_, _>>()?,
        pending: pending
            .into_iter()
            .map(|t| from_db(t, "a pending attempt's time"))
            .collect::<Result<_, _>>()?,
        locked_until: from_db(locked_until, "a lock's end")?,
    })
}
