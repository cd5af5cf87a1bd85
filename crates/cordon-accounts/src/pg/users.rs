//! Accounts and API tokens in `cordon_users` and `cordon_api_tokens`.
//!
//! Each change is one statement, or one transaction that locks the account's
//! row first, so that two nodes (or a node and the CLI) changing accounts at
//! once never lose a change: there is no read-modify-write of the whole set
//! as with the file.

use cordon_postgres::Database;
use postgres::error::SqlState;

use super::{from_db, invalid, role_from_db, to_db, transaction};
use crate::error::AccountsError;
use crate::token;
use crate::users::{
    StoredToken, StoredUser, is_argon2id_hash, no_such_user, user_exists, validate_label,
    validate_name,
};

/// The columns [`users_from_rows`] reads: each account with each of its
/// tokens (none: one row with NULL token columns), in name and issue order.
const SELECT_USERS: &str = "SELECT u.name, u.role, u.password_hash, u.created_at, \
     t.label, t.sha256, t.created_at \
     FROM cordon_users u LEFT JOIN cordon_api_tokens t ON t.name = u.name";

/// Fails unless the accounts tables are there (the migrations applied).
pub(crate) fn check(db: &Database) -> Result<(), AccountsError> {
    db.connection()?
        .execute("SELECT 1 FROM cordon_users LIMIT 1", &[])?;
    Ok(())
}

/// Adds `user` (without tokens); [`AccountsError::UserExists`] if the name
/// is taken.
pub(crate) fn insert(db: &Database, user: &StoredUser) -> Result<(), AccountsError> {
    let added = db.connection()?.execute(
        "INSERT INTO cordon_users (name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        &[
            &user.name,
            &user.role.as_str(),
            &user.password_hash,
            &to_db(user.created_at),
        ],
    )?;
    if added == 0 {
        return Err(user_exists(&user.name));
    }
    Ok(())
}

/// Every account, by name.
pub(crate) fn all(db: &Database) -> Result<Vec<StoredUser>, AccountsError> {
    let rows = db
        .connection()?
        .query(&format!("{SELECT_USERS} ORDER BY u.name, t.id"), &[])?;
    users_from_rows(&rows)
}

/// The account `name`, if there is one.
pub(crate) fn one(db: &Database, name: &str) -> Result<Option<StoredUser>, AccountsError> {
    if !could_exist(name) {
        return Ok(None);
    }
    let rows = db.connection()?.query(
        &format!("{SELECT_USERS} WHERE u.name = $1 ORDER BY t.id"),
        &[&name],
    )?;
    Ok(users_from_rows(&rows)?.pop())
}

/// The account that holds the token whose SHA-256 is `digest`, if any.
pub(crate) fn token_owner(
    db: &Database,
    digest: &[u8; 32],
) -> Result<Option<StoredUser>, AccountsError> {
    let rows = db.connection()?.query(
        &format!(
            "{SELECT_USERS} WHERE u.name = \
             (SELECT name FROM cordon_api_tokens WHERE sha256 = $1) ORDER BY t.id"
        ),
        &[&digest.as_slice()],
    )?;
    Ok(users_from_rows(&rows)?.pop())
}

/// Removes the account `name`, its tokens and its sessions, and returns
/// what it was.
pub(crate) fn remove(db: &Database, name: &str) -> Result<StoredUser, AccountsError> {
    if !could_exist(name) {
        return Err(no_such_user(name));
    }
    transaction(db, |tx| {
        let rows = tx.query(
            &format!("{SELECT_USERS} WHERE u.name = $1 ORDER BY t.id FOR UPDATE OF u"),
            &[&name],
        )?;
        let user = users_from_rows(&rows)?
            .pop()
            .ok_or_else(|| no_such_user(name))?;
        // The tokens go with the account (ON DELETE CASCADE).
        tx.execute("DELETE FROM cordon_users WHERE name = $1", &[&name])?;
        tx.execute("DELETE FROM cordon_sessions WHERE name = $1", &[&name])?;
        Ok(user)
    })
}

/// Replaces the password hash of `name` and ends its sessions.
pub(crate) fn set_password_hash(
    db: &Database,
    name: &str,
    password_hash: &str,
) -> Result<(), AccountsError> {
    if !could_exist(name) {
        return Err(no_such_user(name));
    }
    transaction(db, |tx| {
        let changed = tx.execute(
            "UPDATE cordon_users SET password_hash = $2 WHERE name = $1",
            &[&name, &password_hash],
        )?;
        if changed == 0 {
            return Err(no_such_user(name));
        }
        tx.execute("DELETE FROM cordon_sessions WHERE name = $1", &[&name])?;
        Ok(())
    })
}

/// Adds an API token to `name`.
pub(crate) fn insert_token(
    db: &Database,
    name: &str,
    stored: &StoredToken,
) -> Result<(), AccountsError> {
    if !could_exist(name) {
        return Err(no_such_user(name));
    }
    let digest = token::from_hex32(&stored.sha256)
        .ok_or_else(|| invalid("a new token's digest is not 64 hex digits".to_owned()))?;
    let added = db.connection()?.execute(
        "INSERT INTO cordon_api_tokens (sha256, name, label, created_at) \
         SELECT $1, name, $3, $4 FROM cordon_users WHERE name = $2",
        &[
            &digest.as_slice(),
            &name,
            &stored.label,
            &to_db(stored.created_at),
        ],
    );
    match added {
        Ok(0) => Err(no_such_user(name)),
        Ok(_) => Ok(()),
        // Removed by another node between the SELECT and the key check.
        Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => Err(no_such_user(name)),
        Err(e) => Err(e.into()),
    }
}

/// Deletes every API token of `name`; returns how many there were.
pub(crate) fn delete_tokens(db: &Database, name: &str) -> Result<usize, AccountsError> {
    if !could_exist(name) {
        return Err(no_such_user(name));
    }
    transaction(db, |tx| {
        let found = tx.query(
            "SELECT 1 FROM cordon_users WHERE name = $1 FOR UPDATE",
            &[&name],
        )?;
        if found.is_empty() {
            return Err(no_such_user(name));
        }
        let deleted = tx.execute("DELETE FROM cordon_api_tokens WHERE name = $1", &[&name])?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    })
}

/// Whether an account could be called `name`: names are checked when
/// added, so any other is no account, found without asking the database
/// (which would refuse some, such as one with a NUL, with an error).
fn could_exist(name: &str) -> bool {
    validate_name(name).is_ok()
}

/// The accounts in rows of [`SELECT_USERS`] (ordered by name), each checked
/// as strictly as an account in the users file.
fn users_from_rows(rows: &[postgres::Row]) -> Result<Vec<StoredUser>, AccountsError> {
    let mut users: Vec<StoredUser> = Vec::new();
    for row in rows {
        let name: String = row.try_get(0)?;
        if users.last().is_none_or(|user| user.name != name) {
            users.push(user_from_row(row, name)?);
        }
        let label: Option<String> = row.try_get(4)?;
        let Some(label) = label else { continue };
        let user = users
            .last_mut()
            .ok_or_else(|| invalid("a token without an account".to_owned()))?;
        let whose = format!("a token of `{}`", user.name);
        let sha256: Option<Vec<u8>> = row.try_get(5)?;
        let digest = sha256
            .filter(|digest| digest.len() == 32)
            .ok_or_else(|| invalid(format!("{whose} has a digest that is not 32 bytes")))?;
        if validate_label(&label).is_err() {
            return Err(invalid(format!("{whose} has an invalid label")));
        }
        let created_at: Option<i64> = row.try_get(6)?;
        let created_at = created_at.ok_or_else(|| invalid(format!("{whose} has no time")))?;
        user.tokens.push(StoredToken {
            label,
            sha256: token::to_hex(&digest),
            created_at: from_db(created_at, &format!("the time of {whose}"))?,
        });
    }
    Ok(users)
}

/// The account of one row, without tokens.
fn user_from_row(row: &postgres::Row, name: String) -> Result<StoredUser, AccountsError> {
    if let Err(e) = validate_name(&name) {
        return Err(invalid(e.to_string()));
    }
    let whose = format!("the account `{name}`");
    let role: String = row.try_get(1)?;
    let password_hash: String = row.try_get(2)?;
    if !is_argon2id_hash(&password_hash) {
        return Err(invalid(format!(
            "the password hash of {whose} is not an argon2id PHC string"
        )));
    }
    let created_at: i64 = row.try_get(3)?;
    Ok(StoredUser {
        role: role_from_db(&role, &whose)?,
        password_hash,
        created_at: from_db(created_at, &format!("the creation time of {whose}"))?,
        tokens: Vec::new(),
        name,
    })
}
