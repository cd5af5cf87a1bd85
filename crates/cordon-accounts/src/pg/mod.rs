//! The PostgreSQL side of the accounts, sessions and login counters: the
//! statements behind the `Postgres` backends of [`crate::UserStore`],
//! [`crate::Sessions`] and [`crate::LoginLimiter`]. The tables are created
//! by cordon-postgres's migration `V3__accounts.sql`.
//!
//! Times are Unix seconds in `bigint` columns; a `u64` beyond `i64::MAX`
//! (no real clock) is stored as `i64::MAX`, and a negative value read back
//! is an invalid record.

pub(crate) mod limiter;
pub(crate) mod sessions;
pub(crate) mod users;

use cordon_postgres::{Database, Transaction};

use crate::error::AccountsError;
use crate::role::Role;

/// A time or count as stored: saturated at `i64::MAX`.
pub(crate) fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A time or count read back; negative is invalid (`what` names it).
pub(crate) fn from_db(value: i64, what: &str) -> Result<u64, AccountsError> {
    u64::try_from(value).map_err(|_| invalid(format!("{what} is negative ({value})")))
}

/// A role as stored.
pub(crate) fn role_from_db(role: &str, whose: &str) -> Result<Role, AccountsError> {
    Role::ALL
        .into_iter()
        .find(|known| known.as_str() == role)
        .ok_or_else(|| invalid(format!("{whose} has the unknown role {role:?}")))
}

/// An [`AccountsError::InvalidRecord`].
pub(crate) fn invalid(problem: String) -> AccountsError {
    AccountsError::InvalidRecord { problem }
}

/// Runs `work` in a transaction on a pooled connection and commits it if
/// `work` succeeds (rolled back otherwise, when the transaction is
/// dropped).
pub(crate) fn transaction<T>(
    db: &Database,
    work: impl FnOnce(&mut Transaction<'_>) -> Result<T, AccountsError>,
) -> Result<T, AccountsError> {
    let mut connection = db.connection()?;
    let mut transaction = connection.transaction()?;
    let out = work(&mut transaction)?;
    transaction.commit()?;
    Ok(out)
}
