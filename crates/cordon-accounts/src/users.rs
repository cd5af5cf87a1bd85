//! The accounts: `users.json` in the gateway's state directory.
//!
//! # File format
//!
//! ```json
//! {
//!   "version": 1,
//!   "users": [
//!     {
//!       "name": "sam.okafor",
//!       "role": "officer",
//!       "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>",
//!       "created_at": 1760000000,
//!       "tokens": [
//!         { "label": "cli on ws-0412", "sha256": "<64 hex digits>", "created_at": 1760000100 }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! Times are Unix seconds. `password_hash` is an argon2id PHC string;
//! `sha256` is the SHA-256 of an API token as shown to its owner (the token
//! itself is never stored). Unknown fields, another `version`, duplicate
//! names and hashes that do not parse make the file damaged: nobody logs in
//! until it is fixed.
//!
//! JSON rather than TOML: the file is written by programs (`cordon users`),
//! not by hand; serde_json is already in the build, and a JSON document
//! has a single obvious shape, so a rewrite never reorders or reformats what
//! a person wrote.
//!
//! # Readers and writers
//!
//! The gateway reads the file; `cordon users` edits it, possibly while the
//! gateway runs.
//!
//! - A writer (any [`UserStore`] method that changes something) takes an
//!   exclusive lock on `users.json.lock` beside the file, re-reads the file,
//!   writes the new content to a temporary file (mode 0600), fsyncs it,
//!   renames it over `users.json` and fsyncs the directory. Two writers
//!   never lose each other's changes, and a crash leaves the old file or
//!   the new one, never half of one.
//! - Readers take no lock. Every lookup (login, token, session check) looks
//!   at the file's identity (device, inode, size, modification and change
//!   times) and re-reads it when that changed, so a user removed or a token
//!   revoked with the CLI stops working at the next request.
//!
//! # In PostgreSQL
//!
//! Gateways that share a database keep the accounts there instead
//! ([`UserStore::open_postgres`]): tables `cordon_users` and
//! `cordon_api_tokens` (migration `V3__accounts.sql` of cordon-postgres),
//! holding the same things as the file, under the same rules. Every lookup
//! is a query, so a change made through any gateway or the CLI holds
//! everywhere at the next request; every change is one statement or one
//! transaction that locks the rows it reads, so changes made at once on two
//! nodes never lose each other.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use serde::{Deserialize, Serialize};

use crate::error::AccountsError;
use crate::role::Role;
use crate::session::Session;
use crate::token;

/// The shortest password accepted, in characters (Unicode scalar values).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password accepted, in characters: generous for passphrases,
/// and a bound on the work one login makes.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The longest user name, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// The longest API token label, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// The `version` of the users file this crate reads and writes.
pub const USERS_FILE_VERSION: u32 = 1;

/// A users file larger than this is damaged (ten thousand accounts with
/// tokens fit in a few megabytes).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Salt length for new password hashes (the PHC recommendation).
const SALT_BYTES: usize = 16;

/// Argon2id parameters of every hash written outside the unit tests: the
/// argon2 crate's defaults, m = 19456 KiB, t = 2, p = 1, the OWASP
/// recommendation. Verification always uses the parameters recorded in the
/// stored hash, so raising these later keeps old hashes working.
const PRODUCTION_PARAMS: Params = Params::DEFAULT;

/// Makes temporary names unique among the writes of this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An account as the rest of the gateway sees it: everything but secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name (see [`validate_name`]).
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// When the account was added, in Unix seconds.
    pub created_at: u64,
    /// The account's API tokens (labels only; the secrets are not kept).
    pub tokens: Vec<TokenInfo>,
    /// Identifies the password hash in force, so that a session made before
    /// a password change is no longer current (see
    /// [`UserStore::session_is_current`]).
    pub(crate) password_stamp: [u8; 16],
}

/// What is known of an API token after it was shown: its label and age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Where the token is used, as given when it was issued.
    pub label: String,
    /// When it was issued, in Unix seconds.
    pub created_at: u64,
}

/// The users file as stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    /// Checked before, through [`VersionOnly`].
    #[serde(rename = "version")]
    _version: u32,
    users: Vec<StoredUser>,
}

/// The users file as written (borrowing, to write without a copy).
#[derive(Serialize)]
struct UsersFileRef<'a> {
    version: u32,
    users: &'a [StoredUser],
}

/// Just the version, read first so that a file of another version gets
/// a message about versions rather than about unknown fields.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// One account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredUser {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) password_hash: String,
    pub(crate) created_at: u64,
    #[serde(default)]
    pub(crate) tokens: Vec<StoredToken>,
}

/// One API token as stored: never the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredToken {
    pub(crate) label: String,
    /// 64 lowercase hex digits.
    pub(crate) sha256: String,
    pub(crate) created_at: u64,
}

impl StoredUser {
    pub(crate) fn account(&self) -> Account {
        let stamp = token::sha256(self.password_hash.as_bytes());
        let mut password_stamp = [0u8; 16];
        password_stamp.copy_from_slice(&stamp[..16]);
        Account {
            name: self.name.clone(),
            role: self.role,
            created_at: self.created_at,
            tokens: self
                .tokens
                .iter()
                .map(|t| TokenInfo {
                    label: t.label.clone(),
                    created_at: t.created_at,
                })
                .collect(),
            password_stamp,
        }
    }
}

/// What identifies one version of the users file on disk: a rename gives a
/// new inode, and any rewrite changes the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    unix: (u64, u64, i64, i64),
}

impl FileIdentity {
    fn of(meta: &fs::Metadata) -> FileIdentity {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            unix: (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The accounts as last read, and which version of the file that was
/// (`None`: there was no file).
struct Cache {
    users: Vec<StoredUser>,
    seen: Option<FileIdentity>,
}

/// The accounts of the console and the API: in one file (see the module
/// documentation for the format and for how the gateway and the CLI share
/// it), or in the PostgreSQL database that several gateways share (see
/// [`UserStore::open_postgres`]). Every method behaves the same on both.
///
/// Thread-safe: share it in an `Arc`. Password hashing and verification
/// (tens of milliseconds each) run outside the internal lock and without
/// holding a database connection. Every method may block (file system or
/// database): call them off the async runtime's workers.
pub struct UserStore {
    backend: Backend,
    /// A hash of a random password, verified against when a login names no
    /// account, so that such a login takes as long as one that does.
    dummy_hash: OnceLock<String>,
    /// Argon2 verifications run, for the tests to see that the dummy one is.
    #[cfg(test)]
    verifications: AtomicU64,
}

/// Where the accounts are kept.
enum Backend {
    /// `users.json`.
    File(FileUsers),
    /// The shared database (tables `cordon_users`, `cordon_api_tokens`).
    Postgres(cordon_postgres::Database),
}

/// The users file and its cache.
struct FileUsers {
    path: PathBuf,
    dir: PathBuf,
    lock_path: PathBuf,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = f.debug_struct("UserStore");
        match &self.backend {
            Backend::File(file) => shown.field("path", &file.path),
            Backend::Postgres(db) => shown.field("database", &db.url()),
        };
        shown.finish_non_exhaustive()
    }
}

impl UserStore {
    /// Opens the users file at `path` (normally `DATA/users.json`) and reads
    /// it. A missing file means no users yet; it is created, with its
    /// directory, by the first change. A damaged file is an error.
    pub fn open(path: impl Into<PathBuf>) -> Result<UserStore, AccountsError> {
        let path = path.into();
        let Some(file_name) = path.file_name() else {
            return Err(AccountsError::io(&path)(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the users file path must name a file",
            )));
        };
        let mut lock_name = file_name.to_owned();
        lock_name.push(".lock");
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file = FileUsers {
            lock_path: dir.join(lock_name),
            dir,
            path,
            cache: Mutex::new(Cache {
                users: Vec::new(),
                seen: None,
            }),
        };
        file.refresh(&mut file.lock_cache())?;
        Ok(UserStore::with_backend(Backend::File(file)))
    }

    /// The accounts in the PostgreSQL database that several gateways share
    /// (its schema applied by [`cordon_postgres::Database::connect`]), so
    /// that an account added, changed or removed through one gateway or
    /// `cordon users --store postgres://...` holds on every gateway at its
    /// next request. Checks that the database answers.
    pub fn open_postgres(db: cordon_postgres::Database) -> Result<UserStore, AccountsError> {
        crate::pg::users::check(&db)?;
        Ok(UserStore::with_backend(Backend::Postgres(db)))
    }

    fn with_backend(backend: Backend) -> UserStore {
        UserStore {
            backend,
            dummy_hash: OnceLock::new(),
            #[cfg(test)]
            verifications: AtomicU64::new(0),
        }
    }

    /// The users file; `None` when the accounts are in a database.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File(file) => Some(&file.path),
            Backend::Postgres(_) => None,
        }
    }

    /// Where the accounts are, for messages: the users file's path, or the
    /// database's URL without its password.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::File(file) => file.path.display().to_string(),
            Backend::Postgres(db) => db.url().to_owned(),
        }
    }

    /// Adds an account. Refuses an invalid name, a password outside
    /// [`MIN_PASSWORD_CHARS`]..=[`MAX_PASSWORD_CHARS`] and a name already
    /// taken.
    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<Account, AccountsError> {
        validate_name(name)?;
        validate_password(password)?;
        let user = StoredUser {
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
            created_at: unix_now(),
            tokens: Vec::new(),
        };
        let account = user.account();
        match &self.backend {
            Backend::File(file) => file.modify(|users| {
                if users.iter().any(|u| u.name == name) {
                    return Err(user_exists(name));
                }
                users.push(user);
                Ok(())
            })?,
            Backend::Postgres(db) => crate::pg::users::insert(db, &user)?,
        }
        Ok(account)
    }

    /// Removes an account and its API tokens, and returns what it was.
    /// Its console sessions stop being current at once (see
    /// [`UserStore::session_is_current`]). In a database, its sessions are
    /// deleted with it; with a users file, also call
    /// [`crate::Sessions::destroy_user`] in the same process.
    pub fn remove(&self, name: &str) -> Result<Account, AccountsError> {
        match &self.backend {
            Backend::File(file) => file.modify(|users| {
                let Some(index) = users.iter().position(|u| u.name == name) else {
                    return Err(no_such_user(name));
                };
                Ok(users.remove(index).account())
            }),
            Backend::Postgres(db) => Ok(crate::pg::users::remove(db, name)?.account()),
        }
    }

    /// Every account, by name.
    pub fn list(&self) -> Result<Vec<Account>, AccountsError> {
        let users = match &self.backend {
            Backend::File(file) => file.read(|users| users.to_vec())?,
            Backend::Postgres(db) => crate::pg::users::all(db)?,
        };
        let mut accounts: Vec<Account> = users.iter().map(StoredUser::account).collect();
        accounts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(accounts)
    }

    /// The account called `name`, if there is one.
    pub fn account(&self, name: &str) -> Result<Option<Account>, AccountsError> {
        Ok(self.user(name)?.as_ref().map(StoredUser::account))
    }

    /// Replaces the password of an account (same rules as [`UserStore::add`]).
    /// Sessions made with the old password stop being current (in a
    /// database, they are deleted).
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountsError> {
        validate_password(password)?;
        let password_hash = hash_password(password)?;
        match &self.backend {
            Backend::File(file) => file.modify(|users| {
                let user = users
                    .iter_mut()
                    .find(|u| u.name == name)
                    .ok_or_else(|| no_such_user(name))?;
                user.password_hash = password_hash;
                Ok(())
            }),
            Backend::Postgres(db) => crate::pg::users::set_password_hash(db, name, &password_hash),
        }
    }

    /// Checks a login: the account if `password` is its password, `None`
    /// otherwise. A name without an account costs the same argon2
    /// verification as a wrong password, so the time taken does not tell
    /// which names exist. `Err` only when the accounts cannot be read.
    pub fn verify_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<Account>, AccountsError> {
        match self.user(name)? {
            Some(user) => Ok(self
                .password_matches(password, &user.password_hash)
                .then(|| user.account())),
            None => {
                let dummy = self.dummy_hash()?;
                let _ = self.password_matches(password, dummy);
                Ok(None)
            }
        }
    }

    /// Issues an API token for an account and returns it: the only time
    /// it is ever available, since only its SHA-256 is kept.
    pub fn issue_token(&self, name: &str, label: &str) -> Result<String, AccountsError> {
        validate_label(label)?;
        let token = token::new_api_token()?;
        let stored = StoredToken {
            label: label.to_owned(),
            sha256: token::to_hex(&token::sha256(token.as_bytes())),
            created_at: unix_now(),
        };
        match &self.backend {
            Backend::File(file) => file.modify(|users| {
                let user = users
                    .iter_mut()
                    .find(|u| u.name == name)
                    .ok_or_else(|| no_such_user(name))?;
                user.tokens.push(stored);
                Ok(())
            })?,
            Backend::Postgres(db) => crate::pg::users::insert_token(db, name, &stored)?,
        }
        Ok(token)
    }

    /// Revokes every API token of an account; returns how many there were.
    pub fn revoke_tokens(&self, name: &str) -> Result<usize, AccountsError> {
        match &self.backend {
            Backend::File(file) => file.modify(|users| {
                let user = users
                    .iter_mut()
                    .find(|u| u.name == name)
                    .ok_or_else(|| no_such_user(name))?;
                Ok(std::mem::take(&mut user.tokens).len())
            }),
            Backend::Postgres(db) => crate::pg::users::delete_tokens(db, name),
        }
    }

    /// The account an API token belongs to, or `None` for a token that is
    /// malformed, unknown or revoked. `Err` only when the accounts cannot
    /// be read.
    pub fn verify_token(&self, token: &str) -> Result<Option<Account>, AccountsError> {
        let Some(digest) = token::api_token_digest(token) else {
            return Ok(None);
        };
        match &self.backend {
            Backend::File(file) => file.read(|users| {
                // Compare with every stored digest, without stopping at a
                // match.
                let mut owner = None;
                for user in users {
                    for stored in &user.tokens {
                        let stored = token::from_hex32(&stored.sha256).unwrap_or([0; 32]);
                        if token::secrets_equal(&stored, &digest) {
                            owner = Some(user);
                        }
                    }
                }
                owner.map(StoredUser::account)
            }),
            // An index lookup by the digest: its timing could only tell
            // which SHA-256 prefixes exist, which does not help to find a
            // token.
            Backend::Postgres(db) => {
                Ok(crate::pg::users::token_owner(db, &digest)?.map(|u| u.account()))
            }
        }
    }

    /// Whether a console session still stands for its account as it is
    /// now: the account exists, has the same role and the same password as
    /// when the session was made. The console checks this on every request
    /// (it costs a `stat` unless the file changed, or one query) and
    /// destroys a session that is no longer current, so that
    /// `cordon users remove` or `passwd` run while the gateway is up logs
    /// that user out.
    pub fn session_is_current(&self, session: &Session) -> Result<bool, AccountsError> {
        Ok(self.account(&session.name)?.is_some_and(|account| {
            account.role == session.role && account.password_stamp == session.password_stamp
        }))
    }

    /// The stored account called `name`, if there is one.
    fn user(&self, name: &str) -> Result<Option<StoredUser>, AccountsError> {
        match &self.backend {
            Backend::File(file) => {
                file.read(|users| users.iter().find(|u| u.name == name).cloned())
            }
            Backend::Postgres(db) => crate::pg::users::one(db, name),
        }
    }

    /// The dummy hash, made on first use with the same parameters as real
    /// ones.
    fn dummy_hash(&self) -> Result<&str, AccountsError> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash);
        }
        let password = token::random_secret()?;
        let _ = self.dummy_hash.set(hash_password(&password)?);
        Ok(self.dummy_hash.get().map_or("", String::as_str))
    }

    /// [`password_matches`], counted in the tests.
    fn password_matches(&self, password: &str, hash: &str) -> bool {
        #[cfg(test)]
        self.verifications.fetch_add(1, Ordering::Relaxed);
        password_matches(password, hash)
    }
}

impl FileUsers {
    /// Applies `look` to the current accounts (re-reading the file if it
    /// changed).
    fn read<T>(&self, look: impl FnOnce(&[StoredUser]) -> T) -> Result<T, AccountsError> {
        let mut cache = self.lock_cache();
        self.refresh(&mut cache)?;
        Ok(look(&cache.users))
    }

    fn lock_cache(&self) -> MutexGuard<'_, Cache> {
        // The cache is only ever replaced whole, so a panic elsewhere while
        // it was locked cannot have left it half changed.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the file if it is not the version last read. On error the
    /// cache is left as it was but not marked current, so every later call
    /// tries again (and fails again until the file is fixed).
    fn refresh(&self, cache: &mut Cache) -> Result<(), AccountsError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cache.users.clear();
                cache.seen = None;
                return Ok(());
            }
            Err(e) => return Err(AccountsError::io(&self.path)(e)),
        };
        let meta = file.metadata().map_err(AccountsError::io(&self.path))?;
        let identity = FileIdentity::of(&meta);
        if cache.seen == Some(identity) {
            return Ok(());
        }
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(AccountsError::io(&self.path))?;
        let users = parse(&bytes).map_err(|problem| AccountsError::Damaged {
            path: self.path.clone(),
            problem,
        })?;
        cache.users = users;
        cache.seen = Some(identity);
        Ok(())
    }

    /// Applies `change` to the current accounts under the writers' lock and
    /// writes the result durably; nothing changes if `change` fails.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut Vec<StoredUser>) -> Result<T, AccountsError>,
    ) -> Result<T, AccountsError> {
        let mut cache = self.lock_cache();
        let _writers_lock = self.lock_writers()?;
        self.refresh(&mut cache)?;
        let mut users = cache.users.clone();
        let out = change(&mut users)?;
        users.sort_by(|a, b| a.name.cmp(&b.name));
        let identity = self.write_file(&users)?;
        cache.users = users;
        cache.seen = Some(identity);
        Ok(out)
    }

    /// Takes the exclusive writers' lock (released when the file is
    /// dropped), creating the directory if needed.
    fn lock_writers(&self) -> Result<File, AccountsError> {
        if !self.dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(&self.dir)
                .map_err(AccountsError::io(&self.dir))?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&self.lock_path)
            .map_err(AccountsError::io(&self.lock_path))?;
        file.lock().map_err(AccountsError::io(&self.lock_path))?;
        Ok(file)
    }

    /// Replaces the users file atomically and durably; returns the identity
    /// of the new file.
    fn write_file(&self, users: &[StoredUser]) -> Result<FileIdentity, AccountsError> {
        let content = UsersFileRef {
            version: USERS_FILE_VERSION,
            users,
        };
        let mut json = serde_json::to_vec_pretty(&content)
            .map_err(|e| AccountsError::io(&self.path)(std::io::Error::other(e)))?;
        json.push(b'\n');

        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(self.path.file_name().unwrap_or_default());
        temp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = self.dir.join(temp_name);
        let result = write_synced(&temp, &json)
            .and_then(|()| fs::rename(&temp, &self.path).map_err(AccountsError::io(&self.path)));
        if let Err(e) = result {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        sync_dir(&self.dir)?;
        let meta = fs::metadata(&self.path).map_err(AccountsError::io(&self.path))?;
        Ok(FileIdentity::of(&meta))
    }
}

/// Checks a user name: 1 to [`MAX_NAME_LEN`] characters of `a-z`, `0-9`,
/// `.`, `_` and `-`, the first a letter or digit (so that a name is never
/// taken for a command-line option).
pub fn validate_name(name: &str) -> Result<(), AccountsError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
    let valid = name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(allowed);
    if valid {
        Ok(())
    } else {
        Err(AccountsError::InvalidName {
            name: name.chars().take(MAX_NAME_LEN * 2).collect(),
        })
    }
}

/// Checks a new password: [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`]
/// characters, not only whitespace, and not one of the commonest passwords
/// (a shipped list, compared case-insensitively, also with digits and
/// punctuation added at either end). Any characters are allowed: length is
/// what makes a password strong, and rules about character classes make
/// them weaker in practice.
pub fn validate_password(password: &str) -> Result<(), AccountsError> {
    let chars = password.chars().count();
    if password.chars().all(char::is_whitespace) && chars > 0 {
        Err(AccountsError::PasswordBlank)
    } else if chars < MIN_PASSWORD_CHARS {
        Err(AccountsError::PasswordTooShort {
            min: MIN_PASSWORD_CHARS,
        })
    } else if chars > MAX_PASSWORD_CHARS {
        Err(AccountsError::PasswordTooLong {
            max: MAX_PASSWORD_CHARS,
        })
    } else if crate::common_passwords::is_common(password) {
        Err(AccountsError::PasswordTooCommon)
    } else {
        Ok(())
    }
}

/// Checks an API token label: 1 to [`MAX_LABEL_CHARS`] characters, no
/// control characters (it is shown in listings and logs).
pub(crate) fn validate_label(label: &str) -> Result<(), AccountsError> {
    let chars = label.chars().count();
    if (1..=MAX_LABEL_CHARS).contains(&chars) && !label.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AccountsError::InvalidLabel {
            label: label.chars().take(MAX_LABEL_CHARS * 2).collect(),
        })
    }
}

pub(crate) fn no_such_user(name: &str) -> AccountsError {
    AccountsError::NoSuchUser {
        name: name.to_owned(),
    }
}

pub(crate) fn user_exists(name: &str) -> AccountsError {
    AccountsError::UserExists {
        name: name.to_owned(),
    }
}

/// Whether `hash` is an argon2id PHC string (what every stored password
/// hash must be).
pub(crate) fn is_argon2id_hash(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| hash.algorithm.as_str() == "argon2id")
}

/// Parses and checks the content of a users file; the error says what is
/// wrong, for [`AccountsError::Damaged`].
fn parse(bytes: &[u8]) -> Result<Vec<StoredUser>, String> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    let VersionOnly { version } =
        serde_json::from_slice(bytes).map_err(|e| format!("not a users file: {e}"))?;
    if version != USERS_FILE_VERSION {
        return Err(format!(
            "version {version}, but this cordon reads version {USERS_FILE_VERSION}"
        ));
    }
    let file: UsersFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut names = std::collections::HashSet::new();
    for user in &file.users {
        let name = &user.name;
        if let Err(e) = validate_name(name) {
            return Err(e.to_string());
        }
        if !names.insert(name.as_str()) {
            return Err(format!("user `{name}` appears twice"));
        }
        if !is_argon2id_hash(&user.password_hash) {
            return Err(format!(
                "the password hash of `{name}` is not an argon2id PHC string"
            ));
        }
        for stored in &user.tokens {
            if token::from_hex32(&stored.sha256).is_none() {
                return Err(format!(
                    "a token of `{name}` has a sha256 that is not 64 lowercase hex digits"
                ));
            }
            if validate_label(&stored.label).is_err() {
                return Err(format!("a token of `{name}` has an invalid label"));
            }
        }
    }
    Ok(file.users)
}

/// Creates `path` (which must not exist) with `content`, owner-only, and
/// fsyncs it.
fn write_synced(path: &Path, content: &[u8]) -> Result<(), AccountsError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(AccountsError::io(path))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(AccountsError::io(path))
}

/// Fsyncs a directory, making a rename in it durable. (A no-op where
/// directories cannot be opened as files.)
fn sync_dir(dir: &Path) -> Result<(), AccountsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(AccountsError::io(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The argon2 parameters for new hashes: [`PRODUCTION_PARAMS`], except in
/// this crate's unit tests, which use the cheapest valid ones to stay fast.
fn hash_params() -> Params {
    #[cfg(not(test))]
    {
        PRODUCTION_PARAMS
    }
    #[cfg(test)]
    {
        Params::new(Params::MIN_M_COST, 1, 1, None).unwrap_or(PRODUCTION_PARAMS)
    }
}

/// A new argon2id PHC string for `password`, with a random salt.
fn hash_password(password: &str) -> Result<String, AccountsError> {
    hash_password_with(hash_params(), password)
}

fn hash_password_with(params: Params, password: &str) -> Result<String, AccountsError> {
    let salt = token::random_bytes::<SALT_BYTES>()?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccountsError::Hashing(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`, verified with the
/// algorithm and parameters recorded in the hash.
fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Sessions;
    use crate::testing::{Backing, on_every_backend};

    const PASSWORD: &str = "correct horse battery";

    fn names(store: &UserStore) -> Vec<(String, Role)> {
        let accounts = store.list().unwrap();
        accounts.into_iter().map(|a| (a.name, a.role)).collect()
    }

    /// The file backend of a store.
    fn file(store: &UserStore) -> &FileUsers {
        match &store.backend {
            Backend::File(file) => file,
            Backend::Postgres(_) => panic!("not a users file"),
        }
    }

    on_every_backend!(
        no_users_at_first,
        add_list_remove_round_trip,
        invalid_and_duplicate_names_are_refused,
        password_length_rules,
        blank_and_common_passwords_are_refused,
        passwords_verify,
        unknown_user_runs_a_dummy_verification,
        set_password_replaces_the_old_one,
        tokens_verify_and_revoke,
        token_plaintext_is_not_stored,
        changes_by_another_process_are_seen_at_the_next_lookup,
        a_session_of_another_role_is_not_current,
        the_store_is_shared_between_threads,
    );

    fn no_users_at_first(backing: &Backing) {
        let store = backing.users();
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.account("sam").unwrap(), None);
        assert_eq!(store.verify_password("sam", PASSWORD).unwrap(), None);
        // Reading does not create the users file.
        if let Some(path) = store.path() {
            assert!(!path.exists());
        }
    }

    fn add_list_remove_round_trip(backing: &Backing) {
        let store = backing.users();
        let added = store.add("sam.okafor", Role::Officer, PASSWORD).unwrap();
        assert_eq!(
            (added.name.as_str(), added.role),
            ("sam.okafor", Role::Officer)
        );
        store.add("a-auditor_2", Role::Auditor, PASSWORD).unwrap();

        let reopened = backing.users();
        assert_eq!(
            names(&reopened),
            [
                ("a-auditor_2".to_owned(), Role::Auditor),
                ("sam.okafor".to_owned(), Role::Officer)
            ]
        );
        assert_eq!(reopened.account("sam.okafor").unwrap(), Some(added.clone()));

        assert_eq!(reopened.remove("sam.okafor").unwrap(), added);
        let err = reopened.remove("sam.okafor").unwrap_err();
        assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
        let again = backing.users();
        assert_eq!(names(&again), [("a-auditor_2".to_owned(), Role::Auditor)]);
    }

    #[test]
    fn file_format_is_as_documented_and_private() {
        let backing = Backing::local();
        let store = backing.users();
        let path = backing.users_file();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        store.issue_token("sam", "cli").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        let user = &json["users"][0];
        assert_eq!(user["name"], "sam");
        assert_eq!(user["role"], "officer");
        assert!(user["created_at"].as_u64().unwrap() > 1_700_000_000);
        assert_eq!(user["tokens"][0]["label"], "cli");
        assert_eq!(user["tokens"][0]["sha256"].as_str().unwrap().len(), 64);
        let hash = user["password_hash"].as_str().unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!text.contains(PASSWORD));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = file(&store);
            for path in [file.path.clone(), file.lock_path.clone()] {
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            }
            let dir_mode = fs::metadata(&file.dir).unwrap().permissions().mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

    #[test]
    fn production_hashes_use_the_argon2id_defaults() {
        assert_eq!(PRODUCTION_PARAMS, Params::default());
        assert_eq!(
            (
                PRODUCTION_PARAMS.m_cost(),
                PRODUCTION_PARAMS.t_cost(),
                PRODUCTION_PARAMS.p_cost()
            ),
            (19_456, 2, 1)
        );
        let hash = hash_password_with(PRODUCTION_PARAMS, PASSWORD).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(password_matches(PASSWORD, &hash));
        assert!(!password_matches("correct horse battery!", &hash));
    }

    fn invalid_and_duplicate_names_are_refused(backing: &Backing) {
        let store = backing.users();
        let too_long = "a".repeat(65);
        for bad in [
            "",
            "Sam",
            "sam okafor",
            "-rf",
            ".hidden",
            "_x",
            "sam@force",
            "sám",
            "a/b",
            &too_long,
        ] {
            let err = store.add(bad, Role::Officer, PASSWORD).unwrap_err();
            assert!(
                matches!(err, AccountsError::InvalidName { .. }),
                "{bad:?}: {err}"
            );
        }
        store.add(&"a".repeat(64), Role::Officer, PASSWORD).unwrap();
        store.add("0.x_y-z", Role::Auditor, PASSWORD).unwrap();
        let err = store.add("0.x_y-z", Role::Officer, PASSWORD).unwrap_err();
        assert!(matches!(err, AccountsError::UserExists { .. }), "{err}");
        assert!(err.to_string().contains("cordon users passwd"), "{err}");
        // The refused duplicate changed nothing.
        assert_eq!(
            store.account("0.x_y-z").unwrap().unwrap().role,
            Role::Auditor
        );
        if let Backend::File(file) = &store.backend {
            // Nothing but the file and its lock: no temporary files left
            // over.
            let mut entries: Vec<String> = fs::read_dir(&file.dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            entries.sort();
            assert_eq!(entries, ["users.json", "users.json.lock"]);
        }
    }

    fn password_length_rules(backing: &Backing) {
        let store = backing.users();
        for short in ["", "elevenchars", "ééééééééééé"] {
            let err = store.add("sam", Role::Officer, short).unwrap_err();
            assert!(
                matches!(err, AccountsError::PasswordTooShort { min: 12 }),
                "{err}"
            );
        }
        let err = store
            .add("sam", Role::Officer, &"x".repeat(1025))
            .unwrap_err();
        assert!(
            matches!(err, AccountsError::PasswordTooLong { .. }),
            "{err}"
        );
        assert!(store.list().unwrap().is_empty());
        store.add("sam", Role::Officer, "twelve chars").unwrap();
        store.add("kim", Role::Officer, &"ü".repeat(12)).unwrap();
    }

    fn blank_and_common_passwords_are_refused(backing: &Backing) {
        let store = backing.users();
        for blank in [" ".repeat(16), "\t".repeat(12), "\u{3000}".repeat(13)] {
            let err = store.add("sam", Role::Officer, &blank).unwrap_err();
            assert!(matches!(err, AccountsError::PasswordBlank), "{err}");
        }
        for common in [
            "password1234",
            "Password1234",
            "QAZWSXEDCRFV",
            "123456789012",
        ] {
            let err = store.add("sam", Role::Officer, common).unwrap_err();
            assert!(
                matches!(err, AccountsError::PasswordTooCommon),
                "{common}: {err}"
            );
            assert!(err.to_string().contains("too common"), "{err}");
        }
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        let err = store.set_password("sam", "PASSWORD1234").unwrap_err();
        assert!(matches!(err, AccountsError::PasswordTooCommon), "{err}");
        assert!(store.list().unwrap().len() == 1);
    }

    fn passwords_verify(backing: &Backing) {
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        store.add("kim", Role::Auditor, "another long one").unwrap();
        let sam = store.verify_password("sam", PASSWORD).unwrap().unwrap();
        assert_eq!((sam.name.as_str(), sam.role), ("sam", Role::Officer));
        for (name, password) in [
            ("sam", "correct horse batter"),
            ("sam", ""),
            ("sam", "another long one"),
            ("SAM", PASSWORD),
            ("kim", PASSWORD),
            ("sam\0", PASSWORD),
            ("", PASSWORD),
        ] {
            assert_eq!(
                store.verify_password(name, password).unwrap(),
                None,
                "{name}"
            );
        }
    }

    fn unknown_user_runs_a_dummy_verification(backing: &Backing) {
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        assert!(store.dummy_hash.get().is_none());
        assert!(
            store
                .verify_password("sam", "wrong password")
                .unwrap()
                .is_none()
        );
        assert_eq!(store.verifications.load(Ordering::Relaxed), 1);
        assert_eq!(store.verify_password("nobody", PASSWORD).unwrap(), None);
        assert_eq!(store.verifications.load(Ordering::Relaxed), 2);
        let dummy = store.dummy_hash.get().expect("dummy hash made").clone();
        assert!(dummy.starts_with("$argon2id$"), "{dummy}");
        // Same parameters as a real hash, so the same cost.
        let real = store.user("sam").unwrap().unwrap().password_hash;
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&dummy), params(&real));
    }

    fn set_password_replaces_the_old_one(backing: &Backing) {
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        store.set_password("sam", "a brand new password").unwrap();
        assert_eq!(store.verify_password("sam", PASSWORD).unwrap(), None);
        assert!(
            store
                .verify_password("sam", "a brand new password")
                .unwrap()
                .is_some()
        );
        let err = store.set_password("sam", "short").unwrap_err();
        assert!(
            matches!(err, AccountsError::PasswordTooShort { .. }),
            "{err}"
        );
        let err = store.set_password("kim", PASSWORD).unwrap_err();
        assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
    }

    fn tokens_verify_and_revoke(backing: &Backing) {
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        store.add("kim", Role::Auditor, PASSWORD).unwrap();
        let sam1 = store.issue_token("sam", "cli on ws-0412").unwrap();
        let sam2 = store.issue_token("sam", "cron").unwrap();
        let kim = store.issue_token("kim", "cli").unwrap();
        assert_ne!(sam1, sam2);
        assert_eq!(store.verify_token(&sam1).unwrap().unwrap().name, "sam");
        assert_eq!(store.verify_token(&sam2).unwrap().unwrap().name, "sam");
        assert_eq!(
            store.verify_token(&kim).unwrap().unwrap().role,
            Role::Auditor
        );
        let labels: Vec<String> = store
            .account("sam")
            .unwrap()
            .unwrap()
            .tokens
            .into_iter()
            .map(|t| t.label)
            .collect();
        assert_eq!(labels, ["cli on ws-0412", "cron"]);

        let forged = format!("cordon_{}", "0".repeat(64));
        for bad in [forged.as_str(), "", PASSWORD, &sam1[..sam1.len() - 1]] {
            assert_eq!(store.verify_token(bad).unwrap(), None, "{bad:?}");
        }

        assert_eq!(store.revoke_tokens("sam").unwrap(), 2);
        assert_eq!(store.verify_token(&sam1).unwrap(), None);
        assert_eq!(store.verify_token(&sam2).unwrap(), None);
        assert!(store.verify_token(&kim).unwrap().is_some());
        assert_eq!(store.revoke_tokens("sam").unwrap(), 0);

        // Removing a user removes its tokens.
        store.remove("kim").unwrap();
        assert_eq!(store.verify_token(&kim).unwrap(), None);
        for bad_label in ["", "tab\there", &"x".repeat(65)] {
            let err = store.issue_token("sam", bad_label).unwrap_err();
            assert!(matches!(err, AccountsError::InvalidLabel { .. }), "{err}");
        }
        let err = store.issue_token("nobody", "cli").unwrap_err();
        assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
        let err = store.revoke_tokens("nobody").unwrap_err();
        assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
        for odd in ["nul\0", "Sam"] {
            let err = store.issue_token(odd, "cli").unwrap_err();
            assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
            let err = store.remove(odd).unwrap_err();
            assert!(matches!(err, AccountsError::NoSuchUser { .. }), "{err}");
        }
    }

    fn token_plaintext_is_not_stored(backing: &Backing) {
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        let token = store.issue_token("sam", "cli").unwrap();
        let secret = token.strip_prefix(token::API_TOKEN_PREFIX).unwrap();
        let text = backing.stored_text();
        assert!(!text.contains(secret), "the token's secret is stored");
        assert!(!text.contains(&secret[..16]));
        assert!(!text.contains(PASSWORD));
        let digest = token::to_hex(&token::sha256(token.as_bytes()));
        assert!(text.contains(&digest), "the token's digest is not stored");
    }

    fn changes_by_another_process_are_seen_at_the_next_lookup(backing: &Backing) {
        let gateway = backing.users();
        // The CLI: another store on the same file or database.
        let cli = backing.users();
        cli.add("sam", Role::Officer, PASSWORD).unwrap();
        let token = cli.issue_token("sam", "cli").unwrap();
        let account = gateway.verify_password("sam", PASSWORD).unwrap().unwrap();
        assert!(gateway.verify_token(&token).unwrap().is_some());
        let sessions = Sessions::default();
        let session = sessions.create(&account, 1_000).unwrap();
        assert!(gateway.session_is_current(&session).unwrap());

        // Two writers interleaved: neither loses the other's change.
        gateway.add("kim", Role::Auditor, PASSWORD).unwrap();
        cli.add("lee", Role::Auditor, PASSWORD).unwrap();
        assert_eq!(gateway.list().unwrap().len(), 3);

        cli.set_password("sam", "a brand new password").unwrap();
        assert!(!gateway.session_is_current(&session).unwrap());
        let account = gateway
            .verify_password("sam", "a brand new password")
            .unwrap()
            .unwrap();
        let session = sessions.create(&account, 1_000).unwrap();
        assert!(gateway.session_is_current(&session).unwrap());

        cli.revoke_tokens("sam").unwrap();
        assert_eq!(gateway.verify_token(&token).unwrap(), None);
        cli.remove("sam").unwrap();
        assert_eq!(
            gateway
                .verify_password("sam", "a brand new password")
                .unwrap(),
            None
        );
        assert!(!gateway.session_is_current(&session).unwrap());

        // The file removed altogether: no users.
        if let Some(path) = gateway.path() {
            fs::remove_file(path).unwrap();
            assert!(gateway.list().unwrap().is_empty());
        }
    }

    fn a_session_of_another_role_is_not_current(backing: &Backing) {
        let store = backing.users();
        let account = store.add("sam", Role::Officer, PASSWORD).unwrap();
        let mut session = Sessions::default().create(&account, 1_000).unwrap();
        assert!(store.session_is_current(&session).unwrap());
        session.role = Role::Auditor;
        assert!(!store.session_is_current(&session).unwrap());
    }

    #[test]
    fn damaged_files_are_errors_not_empty_stores() {
        let backing = Backing::local();
        let store = backing.users();
        let path = backing.users_file();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        let good = fs::read_to_string(&path).unwrap();
        let hash = store.user("sam").unwrap().unwrap().password_hash;
        let user = |name: &str, hash: &str| {
            format!(
                r#"{{"name":"{name}","role":"officer","password_hash":"{hash}","created_at":1}}"#
            )
        };
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let cases = [
            (String::new(), "not a users file"),
            ("[]".to_owned(), "not a users file"),
            (good[..good.len() / 2].to_owned(), "not a users file"),
            (r#"{"version":2,"users":[]}"#.to_owned(), "version 2"),
            (
                r#"{"version":1,"users":[],"extra":1}"#.to_owned(),
                "unknown field",
            ),
            (
                format!(r#"{{"version":1,"users":[{}]}}"#, user("Sam", &hash)),
                "invalid user name",
            ),
            (
                format!(
                    r#"{{"version":1,"users":[{},{}]}}"#,
                    user("sam", &hash),
                    user("sam", &hash)
                ),
                "appears twice",
            ),
            (
                format!(r#"{{"version":1,"users":[{}]}}"#, user("sam", "x")),
                "not an argon2id",
            ),
            (
                format!(r#"{{"version":1,"users":[{}]}}"#, user("sam", bcrypt)),
                "not an argon2id",
            ),
            (
                good.replace("\"role\": \"officer\"", "\"role\": \"admin\""),
                "unknown variant",
            ),
        ];
        for (content, needle) in cases {
            fs::write(&path, &content).unwrap();
            let err = store.verify_password("sam", PASSWORD).unwrap_err();
            match &err {
                AccountsError::Damaged { problem, .. } => {
                    assert!(problem.contains(needle), "{problem:?} lacks {needle:?}")
                }
                other => panic!("expected a damaged file error, got {other:?}"),
            }
            assert!(UserStore::open(&path).is_err());
            // Changes refuse to overwrite a damaged file.
            assert!(store.add("kim", Role::Officer, PASSWORD).is_err());
            assert_eq!(fs::read_to_string(&path).unwrap(), content);
        }
        // Fixing the file is seen at the next lookup.
        fs::write(&path, &good).unwrap();
        assert!(store.verify_password("sam", PASSWORD).unwrap().is_some());
    }

    #[test]
    fn invalid_rows_in_the_database_are_errors_not_other_accounts() {
        let backing = Backing::postgres();
        let store = backing.users();
        store.add("sam", Role::Officer, PASSWORD).unwrap();
        store.add("kim", Role::Officer, PASSWORD).unwrap();
        let db = backing.node();
        let mut connection = db.connection().unwrap();
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        connection
            .execute(
                "UPDATE cordon_users SET password_hash = $1 WHERE name = 'sam'",
                &[&bcrypt],
            )
            .unwrap();
        let err = store.verify_password("sam", PASSWORD).unwrap_err();
        assert!(
            matches!(&err, AccountsError::InvalidRecord { problem } if problem.contains("`sam`")),
            "{err}"
        );
        assert!(store.list().is_err());
        // The other accounts still work.
        assert!(store.verify_password("kim", PASSWORD).unwrap().is_some());
        connection
            .execute(
                "UPDATE cordon_users SET created_at = -1 WHERE name = 'kim'",
                &[],
            )
            .unwrap();
        let err = store.account("kim").unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
    }

    #[test]
    fn a_user_removed_or_changed_on_one_node_is_signed_out_on_another() {
        let backing = Backing::postgres();
        let (users_a, sessions_a) = (backing.users(), backing.sessions(Default::default()));
        let (users_b, sessions_b) = (backing.users(), backing.sessions(Default::default()));
        users_a.add("sam", Role::Officer, PASSWORD).unwrap();
        users_a.add("kim", Role::Officer, PASSWORD).unwrap();
        let now = unix_now();
        let sign_in = |name: &str| {
            let account = users_a.verify_password(name, PASSWORD).unwrap().unwrap();
            sessions_a.create(&account, now).unwrap()
        };
        let (sam, kim) = (sign_in("sam"), sign_in("kim"));
        // Valid on B as made on A.
        let seen = sessions_b.touch(&sam.id, now).unwrap().unwrap();
        assert!(users_b.session_is_current(&seen).unwrap());

        // Removed on B: not current on A, and the session is gone.
        users_b.remove("sam").unwrap();
        assert!(!users_a.session_is_current(&sam).unwrap());
        assert_eq!(sessions_a.touch(&sam.id, now).unwrap(), None);

        // A new password on B: the old session is not current on A.
        users_b.set_password("kim", "a brand new password").unwrap();
        assert!(!users_a.session_is_current(&kim).unwrap());
        assert_eq!(sessions_a.touch(&kim.id, now).unwrap(), None);
        let account = users_a
            .verify_password("kim", "a brand new password")
            .unwrap()
            .unwrap();
        let fresh = sessions_a.create(&account, now).unwrap();
        let seen = sessions_b.touch(&fresh.id, now).unwrap().unwrap();
        assert!(users_b.session_is_current(&seen).unwrap());
    }

    fn the_store_is_shared_between_threads(backing: &Backing) {
        // Each thread its own store (process, or node): concurrent changes
        // lose nothing.
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let store = std::sync::Arc::new(backing.users());
                std::thread::spawn(move || {
                    let name = format!("user{i}");
                    store.add(&name, Role::Auditor, PASSWORD).unwrap();
                    store.issue_token(&name, "one").unwrap();
                    store.issue_token(&name, "two").unwrap();
                    store.verify_password(&name, PASSWORD).unwrap().is_some()
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.join().unwrap());
        }
        let accounts = backing.users().list().unwrap();
        assert_eq!(accounts.len(), 4);
        assert!(accounts.iter().all(|a| a.tokens.len() == 2), "{accounts:?}");
    }
}
