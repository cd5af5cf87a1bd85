//! A database of its own for each test, on the server named by the
//! environment variable `CORDON_TEST_POSTGRES` (a URL of a role that may
//! create databases). `scripts/with-postgres` starts a throwaway server and
//! sets it; so does `.ci/run`.

use crate::database::{Database, DatabaseConfig};

/// The variable naming the test server.
pub const TEST_SERVER_VARIABLE: &str = "CORDON_TEST_POSTGRES";

/// A fresh, empty database, dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    server: String,
    name: String,
}

impl TestDatabase {
    /// Creates the database; panics (failing the test) with how to get a
    /// server when none is configured: a test that needs PostgreSQL never
    /// passes without one.
    pub fn create() -> TestDatabase {
        let server = std::env::var(TEST_SERVER_VARIABLE).unwrap_or_else(|_| {
            panic!(
                "this test needs PostgreSQL: run it through `scripts/with-postgres` \
                 (or set {TEST_SERVER_VARIABLE} to a postgres:// URL of a role that may create databases)"
            )
        });
        let name = format!(
            "cordon_test_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot reach the test server {server}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("{TEST_SERVER_VARIABLE} must end in /DATABASE: {server}"),
        };
        TestDatabase { url, server, name }
    }

    /// Connects to it (applying the migrations), with a small pool.
    pub fn connect(&self) -> Database {
        let mut config = DatabaseConfig::new(format!("{}?sslmode=disable", self.url));
        config.pool_size = 4;
        Database::connect(&config).unwrap_or_else(|e| panic!("cannot connect: {e}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_again_without_harm() {
        let test = TestDatabase::create();
        let first = test.connect();
        let second = test.connect();
        let mut connection = second.connection().unwrap();
        let row = connection
            .query_one("SELECT count(*) FROM cordon_quarantine", &[])
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 0);
        drop(first);
    }
}
