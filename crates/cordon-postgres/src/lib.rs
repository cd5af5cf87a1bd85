//! cordon-postgres: the PostgreSQL database that several gateways share.
//!
//! A force runs two or more gateways behind its smart-host list; they share
//! one quarantine, one audit chain and one set of accounts in PostgreSQL
//! (chosen with `--store postgres://USER:PASS@HOST:PORT/DB`). This crate
//! opens the connection pool (TLS with the system's roots or a given CA,
//! whenever the server offers it, or always with `sslmode=require`),
//! applies the schema's migrations (in `migrations/`, in order, once, under
//! an advisory lock so that nodes starting together do not race) and hands
//! out connections. The stores built on it (queue and quarantine, audit,
//! accounts) are synchronous and run on the blocking pool like the
//! embedded ones.

#![warn(missing_docs)]

mod database;
mod error;
#[cfg(feature = "testing")]
pub mod testing;

pub use database::{Connection, DEFAULT_POOL_SIZE, Database, DatabaseConfig, is_postgres_url};
pub use error::DatabaseError;
pub use postgres::{Client, Error, Row, Transaction, types};
