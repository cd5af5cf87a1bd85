//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong managing accounts and API tokens.
///
/// The messages are written for the administrator running `cordon users`:
/// each says what is wrong and what to do about it. A failed login is not an
/// error (it is `Ok(None)`), so none of these reveals whether a name exists
/// to someone at the login form.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// A file system operation on the users file (or its lock) failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The users file exists but is not a valid users file. Nobody can log
    /// in until it is fixed: a damaged file never falls back to "no users"
    /// or to an older copy.
    #[error(
        "the users file {} is damaged: {problem}; restore it from a backup, \
         or move it aside and add the users again with `cordon users add`",
        path.display()
    )]
    Damaged {
        /// The users file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A user name that is not allowed.
    #[error(
        "invalid user name {name:?}: use 1 to 64 characters of a-z, 0-9, `.`, `_` and `-`, \
         starting with a letter or digit"
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A new password shorter than [`crate::MIN_PASSWORD_CHARS`].
    #[error(
        "password too short: use at least {min} characters (a passphrase of several words is fine)"
    )]
    PasswordTooShort {
        /// The minimum number of characters.
        min: usize,
    },
    /// A new password made only of whitespace.
    #[error("password is only spaces: use a passphrase of several words")]
    PasswordBlank,
    /// A new password on (or made from one on) the list of the commonest
    /// passwords.
    #[error(
        "password too common: it is (or is made from) one of the passwords people use most; use a passphrase of several unrelated words"
    )]
    PasswordTooCommon,
    /// A new password longer than [`crate::MAX_PASSWORD_CHARS`].
    #[error("password too long: use at most {max} characters")]
    PasswordTooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// An API token label that is empty, too long or has control characters.
    #[error(
        "invalid token label {label:?}: use 1 to 64 characters without control characters \
         (say where the token is used, e.g. \"cli on ws-0412\")"
    )]
    InvalidLabel {
        /// The label given.
        label: String,
    },
    /// `add` of a name that is already taken.
    #[error("user `{name}` already exists; remove it first or use `cordon users passwd`")]
    UserExists {
        /// The name.
        name: String,
    },
    /// An operation on a name that has no account.
    #[error("no user `{name}`; `cordon users list` shows the users")]
    NoSuchUser {
        /// The name.
        name: String,
    },
    /// Argon2 refused to hash (it does not for valid passwords and the
    /// built-in parameters; reported rather than panicking).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    /// The PostgreSQL database that holds the accounts, sessions and login
    /// counters could not be reached, or a statement failed. The message
    /// names the database without its password.
    #[error("accounts database: {0}")]
    Database(#[from] cordon_postgres::DatabaseError),
    /// A row in the accounts database is not valid (written by something
    /// other than cordon, or damaged). Like a damaged users file, it is
    /// refused rather than read as something else.
    #[error(
        "the accounts database holds an invalid record: {problem}; \
         it was not written by cordon: correct or delete that row"
    )]
    InvalidRecord {
        /// What is wrong, and with which account or row.
        problem: String,
    },
}

impl From<postgres::Error> for AccountsError {
    fn from(error: postgres::Error) -> AccountsError {
        AccountsError::Database(cordon_postgres::DatabaseError::Query(error))
    }
}

impl AccountsError {
    /// An [`AccountsError::Io`] closure for `map_err`, naming the path.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AccountsError {
        let path = path.into();
        move |source| AccountsError::Io { path, source }
    }
}
