//! Test fixtures: the behaviour tests of the accounts, sessions and the
//! login limiter run on the local backends (the users file, the in-memory
//! tables) and on PostgreSQL alike, through [`on_every_backend!`].

use std::path::PathBuf;

use cordon_postgres::Database;
use cordon_postgres::testing::TestDatabase;

use crate::{LimiterConfig, LoginLimiter, SessionConfig, Sessions, UserStore};

/// Where a test's accounts, sessions and counters are.
pub(crate) enum Backing {
    /// A users file in a temporary directory; sessions and counters in
    /// memory.
    Local(tempfile::TempDir),
    /// A database of the test's own.
    Postgres(TestDatabase),
}

impl Backing {
    /// The local backends.
    pub(crate) fn local() -> Backing {
        Backing::Local(tempfile::tempdir().unwrap())
    }

    /// A fresh database (the test fails without a test server: see
    /// `scripts/with-postgres`).
    pub(crate) fn postgres() -> Backing {
        Backing::Postgres(TestDatabase::create())
    }

    /// A new pool on the test's database: what another gateway has.
    pub(crate) fn node(&self) -> Database {
        match self {
            Backing::Postgres(test) => test.connect(),
            Backing::Local(_) => panic!("only a database has nodes"),
        }
    }

    /// The users file of a local backing.
    pub(crate) fn users_file(&self) -> PathBuf {
        match self {
            Backing::Local(dir) => dir.path().join("state/users.json"),
            Backing::Postgres(_) => panic!("no users file in a database"),
        }
    }

    /// A store of the accounts: each call another process on the same file,
    /// or another node (its own pool) on the same database.
    pub(crate) fn users(&self) -> UserStore {
        match self {
            Backing::Local(_) => UserStore::open(self.users_file()).unwrap(),
            Backing::Postgres(_) => UserStore::open_postgres(self.node()).unwrap(),
        }
    }

    /// A session table: a new one in memory, or another node's view of the
    /// database's.
    pub(crate) fn sessions(&self, config: SessionConfig) -> Sessions {
        match self {
            Backing::Local(_) => Sessions::new(config),
            Backing::Postgres(_) => Sessions::postgres(self.node(), config),
        }
    }

    /// A login limiter: a new one in memory, or another node's view of
    /// the database's counters.
    pub(crate) fn limiter(&self, config: LimiterConfig) -> LoginLimiter {
        match self {
            Backing::Local(_) => LoginLimiter::new(config),
            Backing::Postgres(_) => LoginLimiter::postgres(self.node(), config),
        }
    }

    /// Everything stored about the accounts, as text: the users file, or
    /// every row of the accounts tables as JSON (`bytea` as `\x` and hex).
    pub(crate) fn stored_text(&self) -> String {
        match self {
            Backing::Local(_) => std::fs::read_to_string(self.users_file()).unwrap(),
            Backing::Postgres(_) => {
                let db = self.node();
                let mut connection = db.connection().unwrap();
                let mut text = String::new();
                for table in ["cordon_users", "cordon_api_tokens", "cordon_sessions"] {
                    for row in connection
                        .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                        .unwrap()
                    {
                        text.push_str(&row.get::<_, String>(0));
                        text.push('\n');
                    }
                }
                text
            }
        }
    }
}

/// Runs each named behaviour test (a function of the enclosing module that
/// takes a `&Backing`) once on the local backends (module `local`) and once
/// on PostgreSQL (module `postgres`).
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod local {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::testing::Backing::local())
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::testing::Backing::postgres())
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;
