//! The sender activity counters ([`crate::SenderActivity`]) in PostgreSQL
//! (schema: `cordon-postgres/migrations/V7__sender_activity.sql`), shared
//! by every gateway.
//!
//! A recording is one transaction. It first takes a transaction-level
//! advisory lock on the sender (its name's hash; two senders that collide
//! only wait for each other), so that the recordings of one sender, from
//! any gateway, run one after the other: the second sees the first in its
//! totals (it reads after the first commits, at read committed), and
//! neither can miss the other even when they touch different rows (two
//! buckets, two counters). Then the marker's insert decides whether this
//! message adds anything, the amounts and members are added (one statement
//! each, keys in a fixed order), and one statement reads every total.

use super::{PostgresStore, query_error, seconds};
use crate::error::StoreError;
use crate::sender_activity::{
    ACTIVITY_BUCKET_SECS, SenderActivity, WindowMeasure, WindowQuery, bucket_of, check_queries,
};

/// The first key of the advisory locks on senders (the second is the
/// hash of the sender's address): an arbitrary constant, "sa".
const SENDER_LOCK: i32 = 0x7361;

impl PostgresStore {
    /// See [`crate::Engine::record_sender_activity`].
    pub(super) fn record_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        check_queries(queries)?;
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let at = seconds(activity.at);
        if !activity.only_reads() {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&SENDER_LOCK, &activity.sender],
            )
            .map_err(query_error)?;
            let added = tx
                .execute(
                    "INSERT INTO cordon_sender_messages (message, sender, at) VALUES ($1, $2, $3)
                     ON CONFLICT (message) DO NOTHING",
                    &[&activity.message, &activity.sender, &at],
                )
                .map_err(query_error)?;
            if added == 1 {
                add(&mut tx, activity)?;
            }
        }
        let totals = read_totals(&mut tx, activity, queries)?;
        tx.commit().map_err(query_error)?;
        Ok(totals)
    }

    /// See [`crate::Engine::prune_sender_activity`].
    pub(super) fn prune_activity(&self, before: u64) -> Result<u64, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        // Buckets whose last second is before `before`.
        let first_kept_bucket = seconds(before.saturating_sub(ACTIVITY_BUCKET_SECS - 1));
        let before = seconds(before);
        let mut pruned = tx
            .execute(
                "DELETE FROM cordon_sender_sums WHERE bucket < $1",
                &[&first_kept_bucket],
            )
            .map_err(query_error)?;
        pruned += tx
            .execute(
                "DELETE FROM cordon_sender_members WHERE last_at < $1",
                &[&before],
            )
            .map_err(query_error)?;
        pruned += tx
            .execute(
                "DELETE FROM cordon_sender_messages WHERE at < $1",
                &[&before],
            )
            .map_err(query_error)?;
        tx.commit().map_err(query_error)?;
        Ok(pruned)
    }
}

/// Adds the amounts and members of a message recorded for the first time.
fn add(
    tx: &mut cordon_postgres::Transaction<'_>,
    activity: &SenderActivity,
) -> Result<(), StoreError> {
    let at = seconds(activity.at);
    let (names, amounts): (Vec<&str>, Vec<i64>) = activity
        .amounts_by_name()
        .into_iter()
        .map(|(name, amount)| (name, i64::try_from(amount).unwrap_or(i64::MAX)))
        .unzip();
    if !names.is_empty() {
        // The sum stops at bigint's largest rather than failing.
        tx.execute(
            "INSERT INTO cordon_sender_sums AS t (sender, name, bucket, amount)
             SELECT $1, u.name, $2, u.amount FROM unnest($3::text[], $4::bigint[]) AS u(name, amount)
             ON CONFLICT (sender, name, bucket) DO UPDATE
                 SET amount = LEAST(t.amount::numeric + EXCLUDED.amount, 9223372036854775807)::bigint",
            &[
                &activity.sender,
                &seconds(bucket_of(activity.at)),
                &names,
                &amounts,
            ],
        )
        .map_err(query_error)?;
    }
    let (sets, members): (Vec<&str>, Vec<&str>) = activity.set_members().into_iter().unzip();
    if !sets.is_empty() {
        tx.execute(
            "INSERT INTO cordon_sender_members AS t (sender, name, member, last_at)
             SELECT $1, u.name, u.member, $2 FROM unnest($3::text[], $4::text[]) AS u(name, member)
             ON CONFLICT (sender, name, member) DO UPDATE
                 SET last_at = GREATEST(t.last_at, EXCLUDED.last_at)",
            &[&activity.sender, &at, &sets, &members],
        )
        .map_err(query_error)?;
    }
    Ok(())
}

/// Every total of `queries`, in order, in one statement: each reads the
/// index range of its window (`low` to `at`).
fn read_totals(
    tx: &mut cordon_postgres::Transaction<'_>,
    activity: &SenderActivity,
    queries: &[WindowQuery],
) -> Result<Vec<u64>, StoreError> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    let distinct: Vec<bool> = queries
        .iter()
        .map(|q| q.measure == WindowMeasure::Distinct)
        .collect();
    let lows: Vec<i64> = queries
        .iter()
        .map(|q| seconds(q.low(activity.at)))
        .collect();
    let rows = tx
        .query(
            "SELECT CASE WHEN q.is_distinct THEN
                     (SELECT count(*) FROM cordon_sender_members m
                       WHERE m.sender = $1 AND m.name = q.name
                         AND m.last_at >= q.low AND m.last_at <= $2)
                 ELSE
                     (SELECT LEAST(COALESCE(sum(s.amount), 0), 9223372036854775807)::bigint
                        FROM cordon_sender_sums s
                       WHERE s.sender = $1 AND s.name = q.name
                         AND s.bucket >= q.low AND s.bucket <= $2)
                 END
               FROM unnest($3::text[], $4::boolean[], $5::bigint[])
                    WITH ORDINALITY AS q(name, is_distinct, low, i)
              ORDER BY q.i",
            &[
                &activity.sender,
                &seconds(activity.at),
                &names,
                &distinct,
                &lows,
            ],
        )
        .map_err(query_error)?;
    rows.iter()
        .map(|row| {
            let total: i64 = row.try_get(0).map_err(query_error)?;
            Ok(u64::try_from(total).unwrap_or(0))
        })
        .collect()
}
