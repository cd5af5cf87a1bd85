//! Console sessions in `cordon_sessions`, found by the SHA-256 of the id.
//!
//! Expiry is decided in the statements themselves (idle and absolute
//! timeouts of the caller's [`SessionConfig`]), so that a session is
//! touched only while it is live, whichever node asks.

use cordon_postgres::Database;

use super::{from_db, invalid, role_from_db, to_db, transaction};
use crate::error::AccountsError;
use crate::session::{Session, SessionConfig};
use crate::token;

/// An arbitrary constant: the transaction-level advisory lock that session
/// creations take, so that nodes creating sessions at once count the table
/// one after another and it never exceeds its maximum.
const CREATE_LOCK: i64 = 0x636f_7264_0053; // "cord" 'S'

/// True for a row that is over at `$now` given the idle (`$idle`) and
/// absolute (`$absolute`) timeouts; as [`Session::is_expired`], with a
/// clock gone back counting as no time passed.
const EXPIRED: &str = "(GREATEST($now - last_seen, 0) >= $idle \
     OR GREATEST($now - created_at, 0) >= $absolute)";

/// The columns [`session_from_row`] reads.
const COLUMNS: &str = "name, role, password_stamp, csrf_token, created_at, last_seen";

/// `statement` with [`EXPIRED`] in place of `{expired}` and the timeout
/// parameters numbered from `first` (`$now`, `$idle`, `$absolute`).
fn with_expiry(statement: &str, first: usize) -> String {
    let expired = EXPIRED
        .replace("$now", &format!("${first}"))
        .replace("$idle", &format!("${}", first + 1))
        .replace("$absolute", &format!("${}", first + 2));
    statement
        .replace("{expired}", &expired)
        .replace("{columns}", COLUMNS)
}

/// The key a session is stored under: the SHA-256 of its id.
fn key(id: &str) -> [u8; 32] {
    token::sha256(id.as_bytes())
}

/// The timeout parameters: now, idle, absolute.
fn timeouts(config: &SessionConfig, now: u64) -> [i64; 3] {
    [
        to_db(now),
        to_db(config.idle_timeout),
        to_db(config.absolute_timeout),
    ]
}

/// Stores a new session; when the table is full, expired sessions go
/// first, then the least recently used.
pub(crate) fn insert(
    db: &Database,
    config: &SessionConfig,
    session: &Session,
    now: u64,
) -> Result<(), AccountsError> {
    let max = to_db(u64::try_from(config.max_sessions.max(1)).unwrap_or(u64::MAX));
    let [now_db, idle, absolute] = timeouts(config, now);
    transaction(db, |tx| {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])?;
        let mut count: i64 = tx
            .query_one("SELECT count(*) FROM cordon_sessions", &[])?
            .try_get(0)?;
        if count >= max {
            let expired = tx.execute(
                &with_expiry("DELETE FROM cordon_sessions WHERE {expired}", 1),
                &[&now_db, &idle, &absolute],
            )?;
            count = count.saturating_sub(i64::try_from(expired).unwrap_or(i64::MAX));
        }
        if count >= max {
            tx.execute(
                "DELETE FROM cordon_sessions WHERE id_sha256 IN \
                 (SELECT id_sha256 FROM cordon_sessions ORDER BY last_seen LIMIT $1)",
                &[&(count - max + 1)],
            )?;
        }
        tx.execute(
            "INSERT INTO cordon_sessions \
             (id_sha256, name, role, password_stamp, csrf_token, created_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &key(&session.id).as_slice(),
                &session.name,
                &session.role.as_str(),
                &session.password_stamp.as_slice(),
                &session.csrf_token,
                &to_db(session.created_at),
                &to_db(session.last_seen),
            ],
        )?;
        Ok(())
    })
}

/// The live session `id`; an expired one is deleted.
pub(crate) fn get(
    db: &Database,
    config: &SessionConfig,
    id: &str,
    now: u64,
) -> Result<Option<Session>, AccountsError> {
    let mut connection = db.connection()?;
    let key = key(id);
    let row = connection.query_opt(
        &format!("SELECT {COLUMNS} FROM cordon_sessions WHERE id_sha256 = $1"),
        &[&key.as_slice()],
    )?;
    let Some(row) = row else { return Ok(None) };
    let session = session_from_row(&row, id)?;
    if !session.is_expired(config, now) {
        return Ok(Some(session));
    }
    let [now_db, idle, absolute] = timeouts(config, now);
    connection.execute(
        &with_expiry(
            "DELETE FROM cordon_sessions WHERE id_sha256 = $1 AND {expired}",
            2,
        ),
        &[&key.as_slice(), &now_db, &idle, &absolute],
    )?;
    Ok(None)
}

/// The live session `id`, its last use moved to `now`; an expired one is
/// deleted.
pub(crate) fn touch(
    db: &Database,
    config: &SessionConfig,
    id: &str,
    now: u64,
) -> Result<Option<Session>, AccountsError> {
    let mut connection = db.connection()?;
    let key = key(id);
    let [now_db, idle, absolute] = timeouts(config, now);
    let params: [&(dyn postgres::types::ToSql + Sync); 4] =
        [&key.as_slice(), &now_db, &idle, &absolute];
    let row = connection.query_opt(
        &with_expiry(
            "UPDATE cordon_sessions SET last_seen = GREATEST(last_seen, $2) \
             WHERE id_sha256 = $1 AND NOT {expired} RETURNING {columns}",
            2,
        ),
        &params,
    )?;
    if let Some(row) = row {
        return Ok(Some(session_from_row(&row, id)?));
    }
    connection.execute(
        &with_expiry(
            "DELETE FROM cordon_sessions WHERE id_sha256 = $1 AND {expired}",
            2,
        ),
        &params,
    )?;
    Ok(None)
}

/// Deletes the session `id`; whether it existed.
pub(crate) fn delete(db: &Database, id: &str) -> Result<bool, AccountsError> {
    let deleted = db.connection()?.execute(
        "DELETE FROM cordon_sessions WHERE id_sha256 = $1",
        &[&key(id).as_slice()],
    )?;
    Ok(deleted > 0)
}

/// Deletes every session of `name`; how many there were.
pub(crate) fn delete_user(db: &Database, name: &str) -> Result<usize, AccountsError> {
    let deleted = db
        .connection()?
        .execute("DELETE FROM cordon_sessions WHERE name = $1", &[&name])?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

/// Deletes every session over at `now`; how many.
pub(crate) fn prune(
    db: &Database,
    config: &SessionConfig,
    now: u64,
) -> Result<usize, AccountsError> {
    let [now_db, idle, absolute] = timeouts(config, now);
    let deleted = db.connection()?.execute(
        &with_expiry("DELETE FROM cordon_sessions WHERE {expired}", 1),
        &[&now_db, &idle, &absolute],
    )?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

/// How many sessions are stored.
pub(crate) fn count(db: &Database) -> Result<usize, AccountsError> {
    let count: i64 = db
        .connection()?
        .query_one("SELECT count(*) FROM cordon_sessions", &[])?
        .try_get(0)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// The session of a row of [`COLUMNS`], whose id is `id`.
fn session_from_row(row: &postgres::Row, id: &str) -> Result<Session, AccountsError> {
    let name: String = row.try_get(0)?;
    let whose = format!("a session of `{name}`");
    let role: String = row.try_get(1)?;
    let stamp: Vec<u8> = row.try_get(2)?;
    let password_stamp: [u8; 16] = stamp
        .as_slice()
        .try_into()
        .map_err(|_| invalid(format!("{whose} has a password stamp that is not 16 bytes")))?;
    let csrf_token: String = row.try_get(3)?;
    let created_at: i64 = row.try_get(4)?;
    let last_seen: i64 = row.try_get(5)?;
    Ok(Session {
        id: id.to_owned(),
        csrf_token,
        role: role_from_db(&role, &whose)?,
        created_at: from_db(created_at, &format!("the creation time of {whose}"))?,
        last_seen: from_db(last_seen, &format!("the last use of {whose}"))?,
        password_stamp,
        name,
    })
}
