//! The shared [`Engine`] over PostgreSQL, for several gateways with one
//! quarantine (schema: `cordon-postgres/migrations/V1__store.sql`).
//!
//! Each message row has an owner: the node whose local spool holds the
//! message. A node lists, polls, counts and reconciles only its own messages
//! (its spool is what it can deliver from); the quarantine is everyone's.
//! When a message is held its bytes are copied into the database, so that an
//! officer on any node can read and decide it. The owner carries a decision
//! out: its delivery loop finds its messages with a decision not yet acted
//! on. If the owner is down (no heartbeat for a while), another node adopts
//! the message (`FOR UPDATE SKIP LOCKED`, so never two), spools the
//! database's copy and carries the decision out itself. A message its owner
//! has finished stays as a tombstone, so that a node coming back with an old
//! spool file does not send it again.
//!
//! The sender activity counters live in tables of their own; see
//! [`sender_activity`].
//!
//! Every change is one transaction; rows are locked (`FOR UPDATE`) where a
//! change reads before it writes, so two nodes never decide one entry twice
//! nor lose a recipient's update.

use std::collections::BTreeSet;

use cordon_postgres::{Connection, Database, DatabaseError, Row};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::id::QueueId;
use crate::listing::{
    QuarantineCount, QuarantineCursor, QuarantinePage, QuarantineQuery, QuarantineSearch,
    QuarantineSummary, Scan,
};
use crate::prefilter::{SummaryPrefilter, search_text};
use crate::record::{
    Decision, MessageRecord, QuarantineRecord, QuarantineState, RecipientStatus, ReleaseProposal,
};
use crate::sender_activity::{SenderActivity, WindowQuery};
use crate::spool::Envelope;
use crate::store::{
    Engine, StoreCounts, apply_decision, decide_record, mark_held, propose_record, set_status,
};
use crate::tally::{QuarantineTally, TallyKey, tally_delta};

mod sender_activity;

/// Rows read at a time when a listing or count reads entries a query may
/// pass over.
const SCAN_BATCH: i64 = 2000;

/// The tally row that says the counts are complete (see migration V4).
const TALLY_BUILT: &str = "#built";

/// The shared [`Engine`]: queue state and quarantine in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    db: Database,
    node: String,
}

impl PostgresStore {
    /// The store in `db`, as node `node` (stable across restarts, unique
    /// among the gateways sharing the database).
    pub fn new(db: Database, node: impl Into<String>) -> PostgresStore {
        PostgresStore {
            db,
            node: node.into(),
        }
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        self.db.connection().map_err(database_error)
    }

    /// Reads one message row (not a tombstone), locking it in `tx`.
    fn locked_message(
        tx: &mut cordon_postgres::Transaction<'_>,
        id: &QueueId,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let row = tx
            .query_opt(
                "SELECT record FROM cordon_messages WHERE id = $1 AND NOT finished FOR UPDATE",
                &[&id.to_string()],
            )
            .map_err(query_error)?;
        row.map(|row| decode_row(&row, "cordon_messages", id))
            .transpose()
    }

    /// Reads one quarantine row, locking it in `tx`.
    fn locked_quarantine(
        tx: &mut cordon_postgres::Transaction<'_>,
        id: &QueueId,
    ) -> Result<QuarantineRecord, StoreError> {
        let row = tx
            .query_opt(
                "SELECT record FROM cordon_quarantine WHERE id = $1 FOR UPDATE",
                &[&id.to_string()],
            )
            .map_err(query_error)?
            .ok_or_else(|| StoreError::NotFound {
                what: "quarantine",
                key: id.to_string(),
            })?;
        decode_row(&row, "cordon_quarantine", id)
    }

    fn messages_where(
        &self,
        condition: &str,
        now: Option<u64>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut connection = self.connection()?;
        let sql = format!(
            "SELECT id, record FROM cordon_messages WHERE owner = $1 AND NOT finished AND {condition} ORDER BY id"
        );
        let rows = match now {
            Some(now) => connection.query(&sql, &[&self.node, &seconds(now)]),
            None => connection.query(&sql, &[&self.node]),
        }
        .map_err(query_error)?;
        rows.iter()
            .map(|row| decode_keyed(row, "cordon_messages"))
            .collect()
    }
}

impl PostgresStore {
    /// The entries with these ids that are still there, in that order.
    fn load_quarantines(&self, ids: &[QueueId]) -> Result<Vec<QuarantineRecord>, StoreError> {
        let keys: Vec<String> = ids.iter().map(QueueId::to_string).collect();
        let mut connection = self.connection()?;
        let rows = connection
            .query(
                "SELECT id, record FROM cordon_quarantine WHERE id = ANY($1)",
                &[&keys],
            )
            .map_err(query_error)?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let record: QuarantineRecord = decode_keyed(row, "cordon_quarantine")?;
            found.insert(record.id, record);
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Hands `visit` the summaries of the entries in `query`'s state and
    /// time range, newest first, after `before`, read `batch` rows at a
    /// time, until it returns false. The database leaves out the rows the
    /// [`SummaryPrefilter`] rules out; the other parts of the query are the
    /// caller's to check.
    fn scan_listing(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        batch: i64,
        visit: Scan<'_>,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        let state = query.state.map(|s| s.as_str());
        let from = query.held_from.map(seconds);
        let until = query.held_until.map(seconds);
        let mut position = before.map(|c| (seconds(c.held_at), c.id.to_string()));
        let prefilter = SummaryPrefilter::of(query);
        loop {
            let mut sql = String::from(
                "SELECT id, COALESCE(summary, record) FROM cordon_quarantine WHERE true",
            );
            let mut params: Vec<&(dyn cordon_postgres::types::ToSql + Sync)> = Vec::new();
            if let Some(state) = &state {
                params.push(state);
                sql.push_str(&format!(" AND state = ${}", params.len()));
            }
            if let Some(from) = &from {
                params.push(from);
                sql.push_str(&format!(" AND held_at >= ${}", params.len()));
            }
            if let Some(until) = &until {
                params.push(until);
                sql.push_str(&format!(" AND held_at < ${}", params.len()));
            }
            for needle in prefilter.needles() {
                params.push(needle);
                // strpos compares code points, whatever the locale
                sql.push_str(&format!(
                    " AND (search_text IS NULL OR strpos(search_text, ${}) > 0)",
                    params.len(),
                ));
            }
            if let Some((held_at, id)) = &position {
                params.push(held_at);
                params.push(id);
                sql.push_str(&format!(
                    " AND (held_at, id) < (${}, ${})",
                    params.len() - 1,
                    params.len()
                ));
            }
            params.push(&batch);
            sql.push_str(&format!(
                " ORDER BY held_at DESC, id DESC LIMIT ${}",
                params.len()
            ));
            let rows = connection.query(&sql, &params).map_err(query_error)?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= batch;
            let mut last = None;
            for row in &rows {
                let summary: QuarantineSummary = decode_keyed(row, "cordon_quarantine")?;
                last = Some((seconds(summary.held_at), summary.id.to_string()));
                if !visit(summary) {
                    return Ok(());
                }
            }
            match last {
                Some(last) if full => position = Some(last),
                _ => return Ok(()),
            }
        }
    }
}

/// Counts the whole quarantine into the tally of a database from before it
/// was kept (see migration V4), with writers held off meanwhile, unless
/// another gateway did so first.
fn build_tally(connection: &mut Connection) -> Result<QuarantineTally, StoreError> {
    let mut tx = connection.transaction().map_err(query_error)?;
    // Self-exclusive, and excludes every writer of entries.
    tx.batch_execute("LOCK TABLE cordon_quarantine IN SHARE ROW EXCLUSIVE MODE")
        .map_err(query_error)?;
    let built = tx
        .query_opt(
            "SELECT 1 FROM cordon_quarantine_tally WHERE key = $1",
            &[&TALLY_BUILT],
        )
        .map_err(query_error)?
        .is_some();
    let rows = tx
        .query("SELECT id, record FROM cordon_quarantine", &[])
        .map_err(query_error)?;
    let records = rows
        .iter()
        .map(|row| decode_keyed::<QuarantineRecord>(row, "cordon_quarantine"))
        .collect::<Result<Vec<_>, _>>()?;
    let tally = QuarantineTally::of(records.iter());
    if built {
        // Another gateway built it while this one waited: the same counts.
        tx.commit().map_err(query_error)?;
        return Ok(tally);
    }
    let (mut keys, mut counts): (Vec<String>, Vec<i64>) = tally
        .counts()
        .iter()
        .map(|(key, n)| (key.encode(), i64::try_from(*n).unwrap_or(i64::MAX)))
        .unzip();
    keys.push(TALLY_BUILT.to_owned());
    counts.push(1);
    tx.execute("DELETE FROM cordon_quarantine_tally", &[])
        .map_err(query_error)?;
    tx.execute(
        "INSERT INTO cordon_quarantine_tally (key, count) SELECT * FROM unnest($1::text[], $2::bigint[])",
        &[&keys, &counts],
    )
    .map_err(query_error)?;
    tx.commit().map_err(query_error)?;
    Ok(tally)
}

/// Writes a message row's record and the columns queries select on.
fn write_message(
    tx: &mut cordon_postgres::Transaction<'_>,
    record: &MessageRecord,
    owner: &str,
) -> Result<(), StoreError> {
    let unfinished = !record.is_finished();
    let next_attempt_at = if unfinished {
        record.next_attempt_at().map(seconds)
    } else {
        None
    };
    let owes_notice = record.recipients.iter().any(|r| r.status.owes_notice());
    tx.execute(
        "INSERT INTO cordon_messages (id, owner, unfinished, next_attempt_at, owes_notice, record)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET unfinished = EXCLUDED.unfinished,
             next_attempt_at = EXCLUDED.next_attempt_at, owes_notice = EXCLUDED.owes_notice,
             record = EXCLUDED.record, finished = false, finished_at = NULL",
        &[
            &record.id.to_string(),
            &owner,
            &unfinished,
            &next_attempt_at,
            &owes_notice,
            &encode(record)?,
        ],
    )
    .map_err(query_error)?;
    Ok(())
}

/// Adds to the tally what each change (old, new) of an entry does to it,
/// in one statement, keys in a fixed order so that two transactions never
/// wait for each other's rows.
fn apply_tally(
    tx: &mut cordon_postgres::Transaction<'_>,
    changes: &[(Option<&QuarantineRecord>, Option<&QuarantineRecord>)],
) -> Result<(), StoreError> {
    let mut total: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (old, new) in changes {
        for (key, n) in tally_delta(*old, *new) {
            *total.entry(key.encode()).or_default() += n;
        }
    }
    total.retain(|_, n| *n != 0);
    if total.is_empty() {
        return Ok(());
    }
    let (keys, counts): (Vec<String>, Vec<i64>) = total.into_iter().unzip();
    tx.execute(
        "INSERT INTO cordon_quarantine_tally (key, count)
         SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (key) DO UPDATE SET count = cordon_quarantine_tally.count + EXCLUDED.count",
        &[&keys, &counts],
    )
    .map_err(query_error)?;
    if counts.iter().any(|n| *n < 0) {
        tx.execute(
            "DELETE FROM cordon_quarantine_tally WHERE key = ANY($1) AND count <= 0",
            &[&keys],
        )
        .map_err(query_error)?;
    }
    Ok(())
}

/// Writes a quarantine row's record and the columns queries select on, and
/// moves the tally from `old` (the row as it was, if any) to `record`.
fn write_quarantine(
    tx: &mut cordon_postgres::Transaction<'_>,
    old: Option<&QuarantineRecord>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    apply_tally(tx, &[(old, Some(record))])?;
    let summary = QuarantineSummary::of(record);
    tx.execute(
        "INSERT INTO cordon_quarantine (id, message_id, state, held_at, expires_at, decided_at, sender_notified, record, summary, search_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET message_id = EXCLUDED.message_id, state = EXCLUDED.state,
             held_at = EXCLUDED.held_at, expires_at = EXCLUDED.expires_at,
             decided_at = EXCLUDED.decided_at, sender_notified = EXCLUDED.sender_notified,
             record = EXCLUDED.record, summary = EXCLUDED.summary,
             search_text = EXCLUDED.search_text",
        &[
            &record.id.to_string(),
            &record.message_id.to_string(),
            &record.state.as_str(),
            &seconds(record.held_at),
            &seconds(record.expires_at),
            &record.decided_at.map(seconds),
            &record.sender_notified,
            &encode(record)?,
            &encode(&summary)?,
            &search_text(&summary),
        ],
    )
    .map_err(query_error)?;
    Ok(())
}

impl Engine for PostgresStore {
    fn put_message(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        write_message(&mut tx, record, &self.node)?;
        tx.commit().map_err(query_error)
    }

    fn get_message(&self, id: &QueueId) -> Result<Option<MessageRecord>, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_opt(
                "SELECT record FROM cordon_messages WHERE id = $1 AND NOT finished",
                &[&id.to_string()],
            )
            .map_err(query_error)?;
        row.map(|row| decode_row(&row, "cordon_messages", id))
            .transpose()
    }

    fn message_ids(&self) -> Result<Vec<QueueId>, StoreError> {
        let mut connection = self.connection()?;
        let rows = connection
            .query(
                "SELECT id FROM cordon_messages WHERE owner = $1 AND NOT finished ORDER BY id",
                &[&self.node],
            )
            .map_err(query_error)?;
        rows.iter()
            .map(|row| parse_id(row, "cordon_messages"))
            .collect()
    }

    fn unfinished_messages(&self) -> Result<Vec<MessageRecord>, StoreError> {
        self.messages_where("unfinished", None)
    }

    fn due_messages(&self, now: u64) -> Result<Vec<MessageRecord>, StoreError> {
        // Due: a deferred recipient to retry, or a decision made (on any
        // node) that this node, the owner, has not yet carried out.
        self.messages_where(
            "((unfinished AND next_attempt_at <= $2) OR EXISTS (
                SELECT 1 FROM cordon_quarantine q WHERE q.message_id = cordon_messages.id
                AND q.state <> 'held' AND NOT q.sender_notified))",
            Some(now),
        )
    }

    fn set_recipient_status(
        &self,
        id: &QueueId,
        address: &str,
        status: RecipientStatus,
    ) -> Result<MessageRecord, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let mut record =
            Self::locked_message(&mut tx, id)?.ok_or_else(|| StoreError::NotFound {
                what: "message",
                key: id.to_string(),
            })?;
        set_status(&mut record, address, &status)?;
        tx.execute(
            "UPDATE cordon_messages SET unfinished = $2, next_attempt_at = $3, owes_notice = $4, record = $5 WHERE id = $1",
            &[
                &id.to_string(),
                &!record.is_finished(),
                &(if record.is_finished() { None } else { record.next_attempt_at().map(seconds) }),
                &record.recipients.iter().any(|r| r.status.owes_notice()),
                &encode(&record)?,
            ],
        )
        .map_err(query_error)?;
        tx.commit().map_err(query_error)?;
        Ok(record)
    }

    fn remove_message(&self, id: &QueueId) -> Result<bool, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let removed = tx
            .execute(
                "UPDATE cordon_messages SET finished = true, finished_at = $2, unfinished = false,
                     next_attempt_at = NULL, owes_notice = false WHERE id = $1 AND NOT finished",
                &[&id.to_string(), &seconds(unix_now())],
            )
            .map_err(query_error)?;
        tx.execute(
            "DELETE FROM cordon_held_messages WHERE message_id = $1",
            &[&id.to_string()],
        )
        .map_err(query_error)?;
        tx.commit().map_err(query_error)?;
        Ok(removed > 0)
    }

    fn put_quarantine(&self, record: &QuarantineRecord) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let old = match Self::locked_quarantine(&mut tx, &record.id) {
            Ok(old) => Some(old),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        write_quarantine(&mut tx, old.as_ref(), record)?;
        if record.state == QuarantineState::Held
            && let Some(mut message) = Self::locked_message(&mut tx, &record.message_id)?
            && mark_held(&mut message, record)
        {
            let owner = owner_of(&mut tx, &record.message_id)?.unwrap_or_else(|| self.node.clone());
            write_message(&mut tx, &message, &owner)?;
        }
        tx.commit().map_err(query_error)
    }

    fn get_quarantine(&self, id: &QueueId) -> Result<Option<QuarantineRecord>, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_opt(
                "SELECT record FROM cordon_quarantine WHERE id = $1",
                &[&id.to_string()],
            )
            .map_err(query_error)?;
        row.map(|row| decode_row(&row, "cordon_quarantine", id))
            .transpose()
    }

    fn list_quarantine(
        &self,
        state: Option<QuarantineState>,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut connection = self.connection()?;
        let rows = match state {
            Some(state) => connection.query(
                "SELECT id, record FROM cordon_quarantine WHERE state = $1 ORDER BY held_at DESC, id DESC",
                &[&state.as_str()],
            ),
            None => connection.query(
                "SELECT id, record FROM cordon_quarantine ORDER BY held_at DESC, id DESC",
                &[],
            ),
        }
        .map_err(query_error)?;
        rows.iter()
            .map(|row| decode_keyed(row, "cordon_quarantine"))
            .collect()
    }

    fn decide_quarantine(
        &self,
        id: &QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
        at: u64,
    ) -> Result<QuarantineRecord, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        // Locked: a second decision, on this node or another, waits for
        // this one and then finds the entry decided.
        let old = Self::locked_quarantine(&mut tx, id)?;
        let mut record = old.clone();
        decide_record(&mut record, decision, by, note, at)?;
        write_quarantine(&mut tx, Some(&old), &record)?;
        if let Some(mut message) = Self::locked_message(&mut tx, &record.message_id)?
            && apply_decision(&mut message, &record.id, decision, at)
        {
            let owner = owner_of(&mut tx, &record.message_id)?.unwrap_or_else(|| self.node.clone());
            write_message(&mut tx, &message, &owner)?;
        }
        tx.commit().map_err(query_error)?;
        Ok(record)
    }

    fn propose_release(
        &self,
        id: &QueueId,
        proposal: ReleaseProposal,
    ) -> Result<QuarantineRecord, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let old = Self::locked_quarantine(&mut tx, id)?;
        let mut record = old.clone();
        propose_record(&mut record, proposal)?;
        write_quarantine(&mut tx, Some(&old), &record)?;
        tx.commit().map_err(query_error)?;
        Ok(record)
    }

    fn set_quarantine_notified(
        &self,
        id: &QueueId,
        state: QuarantineState,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let mut record = match Self::locked_quarantine(&mut tx, id) {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        if record.state != state {
            return Ok(false);
        }
        let old = record.clone();
        record.sender_notified = true;
        write_quarantine(&mut tx, Some(&old), &record)?;
        tx.commit().map_err(query_error)?;
        Ok(true)
    }

    fn record_sender_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        self.record_activity(activity, queries)
    }

    fn prune_sender_activity(&self, before: u64) -> Result<u64, StoreError> {
        self.prune_activity(before)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_one(
                "SELECT
                    (SELECT count(*) FROM cordon_messages WHERE owner = $1 AND NOT finished AND unfinished),
                    (SELECT count(*) FROM cordon_messages WHERE owner = $1 AND NOT finished AND unfinished
                        AND next_attempt_at IS NOT NULL),
                    (SELECT count(*) FROM cordon_quarantine WHERE state = 'held')",
                &[&self.node],
            )
            .map_err(query_error)?;
        let count = |i: usize| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(i).map_err(query_error)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(StoreCounts {
            unfinished: count(0)?,
            deferred: count(1)?,
            quarantine_held: count(2)?,
        })
    }

    fn complete_search_texts(&self, limit: usize) -> Result<u64, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        // Rows another node is completing, or a writer holds, are skipped:
        // the next round takes them if they still lack one.
        let rows = tx
            .query(
                "SELECT id, record FROM cordon_quarantine WHERE search_text IS NULL
                  LIMIT $1 FOR UPDATE SKIP LOCKED",
                &[&i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(query_error)?;
        let mut completed = 0u64;
        for row in &rows {
            // A damaged record is left as it is, for the next rows to get
            // theirs: reading it (a search, its page) reports the damage.
            let Ok(record) = decode_keyed::<QuarantineRecord>(row, "cordon_quarantine") else {
                continue;
            };
            let summary = QuarantineSummary::of(&record);
            tx.execute(
                "UPDATE cordon_quarantine SET summary = $2, search_text = $3 WHERE id = $1",
                &[
                    &record.id.to_string(),
                    &encode(&summary)?,
                    &search_text(&summary),
                ],
            )
            .map_err(query_error)?;
            completed += 1;
        }
        tx.commit().map_err(query_error)?;
        Ok(completed)
    }

    fn prune_decided(&self, decided_before: u64) -> Result<u64, StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.transaction().map_err(query_error)?;
        let rows = tx
            .query(
                "DELETE FROM cordon_quarantine q
                  WHERE q.state <> 'held' AND q.decided_at < $1
                    AND NOT EXISTS (SELECT 1 FROM cordon_messages m
                                     WHERE m.id = q.message_id AND NOT m.finished)
                  RETURNING q.id, q.record",
                &[&seconds(decided_before)],
            )
            .map_err(query_error)?;
        let removed = rows
            .iter()
            .map(|row| decode_keyed::<QuarantineRecord>(row, "cordon_quarantine"))
            .collect::<Result<Vec<_>, _>>()?;
        let changes: Vec<_> = removed.iter().map(|r| (Some(r), None)).collect();
        apply_tally(&mut tx, &changes)?;
        let pruned = u64::try_from(removed.len()).unwrap_or(u64::MAX);
        tx.execute(
            "DELETE FROM cordon_messages WHERE finished AND finished_at < $1",
            &[&seconds(decided_before)],
        )
        .map_err(query_error)?;
        // Copies whose message is gone (a crash between keeping the copy
        // and recording the entry).
        tx.execute(
            "DELETE FROM cordon_held_messages h WHERE NOT EXISTS (
                 SELECT 1 FROM cordon_messages m WHERE m.id = h.message_id AND NOT m.finished)
               AND NOT EXISTS (SELECT 1 FROM cordon_quarantine q WHERE q.message_id = h.message_id)",
            &[],
        )
        .map_err(query_error)?;
        tx.commit().map_err(query_error)?;
        Ok(pruned)
    }

    fn page_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantinePage, StoreError> {
        let limit = limit.clamp(1, crate::MAX_PAGE);
        // A query of state and time alone matches every row read: read one
        // more than the page, to know whether another follows.
        let batch = if query.sender.is_none()
            && query.domain.is_none()
            && query.text.is_none()
            && query.rule.is_none()
        {
            i64::try_from(limit + 1).unwrap_or(SCAN_BATCH)
        } else {
            SCAN_BATCH
        };
        QuarantinePage::by_scan(
            query,
            limit,
            |visit| self.scan_listing(query, before, batch, visit),
            |ids| self.load_quarantines(ids),
        )
    }

    fn count_quarantine(&self, query: &QuarantineQuery) -> Result<QuarantineCount, StoreError> {
        QuarantineCount::by_tally_or_scan(
            query,
            || self.quarantine_tally(),
            |visit| self.scan_listing(query, None, SCAN_BATCH, visit),
        )
    }

    fn search_quarantine(
        &self,
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantineSearch, StoreError> {
        QuarantineSearch::by_tally_or_scan(
            query,
            before,
            limit,
            || self.quarantine_tally(),
            || self.page_quarantine(query, before, limit),
            |visit| self.scan_listing(query, None, SCAN_BATCH, visit),
            |ids| self.load_quarantines(ids),
        )
    }

    fn quarantine_tally(&self) -> Result<QuarantineTally, StoreError> {
        let mut connection = self.connection()?;
        let rows = connection
            .query("SELECT key, count FROM cordon_quarantine_tally", &[])
            .map_err(query_error)?;
        let mut built = false;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let key: String = row.try_get(0).map_err(query_error)?;
            let count: i64 = row.try_get(1).map_err(query_error)?;
            if key == TALLY_BUILT {
                built = true;
            } else if let Some(key) = TallyKey::decode(&key) {
                counts.push((key, u64::try_from(count).unwrap_or(0)));
            }
        }
        if built {
            Ok(QuarantineTally::from_counts(counts.into_iter()))
        } else {
            build_tally(&mut connection)
        }
    }

    fn oldest_held(&self) -> Result<Option<QuarantineRecord>, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_opt(
                "SELECT id, record FROM cordon_quarantine WHERE state = 'held'
                  ORDER BY held_at, id LIMIT 1",
                &[],
            )
            .map_err(query_error)?;
        row.map(|row| decode_keyed(&row, "cordon_quarantine"))
            .transpose()
    }

    fn expiring(&self, now: u64, limit: usize) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut connection = self.connection()?;
        let rows = connection
            .query(
                "SELECT id, record FROM cordon_quarantine WHERE state = 'held' AND expires_at <= $1
                  ORDER BY expires_at, id LIMIT $2",
                &[&seconds(now), &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(query_error)?;
        rows.iter()
            .map(|row| decode_keyed(row, "cordon_quarantine"))
            .collect()
    }

    fn notices_owed(&self) -> Result<BTreeSet<QueueId>, StoreError> {
        let mut connection = self.connection()?;
        let rows = connection
            .query(
                "SELECT q.message_id FROM cordon_quarantine q
                   JOIN cordon_messages m ON m.id = q.message_id AND NOT m.finished
                  WHERE NOT q.sender_notified AND m.owner = $1
                 UNION
                 SELECT id FROM cordon_messages WHERE owner = $1 AND NOT finished AND owes_notice",
                &[&self.node],
            )
            .map_err(query_error)?;
        rows.iter()
            .map(|row| parse_id(row, "cordon_messages"))
            .collect()
    }

    fn put_held_content(
        &self,
        message_id: &QueueId,
        envelope: &Envelope,
        content: &[u8],
    ) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        connection
            .execute(
                "INSERT INTO cordon_held_messages (message_id, envelope, content) VALUES ($1, $2, $3)
                 ON CONFLICT (message_id) DO UPDATE SET envelope = EXCLUDED.envelope, content = EXCLUDED.content",
                &[&message_id.to_string(), &encode(envelope)?, &content],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn held_content(
        &self,
        message_id: &QueueId,
    ) -> Result<Option<(Envelope, Vec<u8>)>, StoreError> {
        let mut connection = self.connection()?;
        let Some(row) = connection
            .query_opt(
                "SELECT envelope, content FROM cordon_held_messages WHERE message_id = $1",
                &[&message_id.to_string()],
            )
            .map_err(query_error)?
        else {
            return Ok(None);
        };
        let envelope: String = row.try_get(0).map_err(query_error)?;
        let envelope = decode(&envelope, "cordon_held_messages", message_id)?;
        let content: Vec<u8> = row.try_get(1).map_err(query_error)?;
        Ok(Some((envelope, content)))
    }

    fn disowned(&self, id: &QueueId) -> Result<bool, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_opt(
                "SELECT finished OR owner <> $2 FROM cordon_messages WHERE id = $1",
                &[&id.to_string(), &self.node],
            )
            .map_err(query_error)?;
        match row {
            Some(row) => row.try_get(0).map_err(query_error),
            None => Ok(false),
        }
    }

    fn heartbeat(&self, now: u64) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        connection
            .execute(
                "INSERT INTO cordon_nodes (node, seen_at) VALUES ($1, $2)
                 ON CONFLICT (node) DO UPDATE SET seen_at = EXCLUDED.seen_at",
                &[&self.node, &seconds(now)],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn adopt_orphans(&self, now: u64, silent_since: u64) -> Result<Vec<QueueId>, StoreError> {
        // Heard of now: an adopter is never itself taken for silent.
        self.heartbeat(now)?;
        let mut connection = self.connection()?;
        let rows = connection
            .query(
                "UPDATE cordon_messages SET owner = $1 WHERE id IN (
                    SELECT m.id FROM cordon_messages m
                      JOIN cordon_held_messages h ON h.message_id = m.id
                      LEFT JOIN cordon_nodes n ON n.node = m.owner
                     WHERE NOT m.finished AND m.owner <> $1
                       AND (n.seen_at IS NULL OR n.seen_at < $2)
                       AND (m.unfinished OR m.owes_notice OR EXISTS (
                            SELECT 1 FROM cordon_quarantine q
                             WHERE q.message_id = m.id AND NOT q.sender_notified))
                     ORDER BY m.id
                     LIMIT 100
                     FOR UPDATE OF m SKIP LOCKED)
                 RETURNING id",
                &[&self.node, &seconds(silent_since)],
            )
            .map_err(query_error)?;
        let mut ids: Vec<QueueId> = rows
            .iter()
            .map(|row| parse_id(row, "cordon_messages"))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    fn is_mine(&self, id: &QueueId) -> Result<bool, StoreError> {
        let mut connection = self.connection()?;
        let row = connection
            .query_opt(
                "SELECT owner FROM cordon_messages WHERE id = $1 AND NOT finished",
                &[&id.to_string()],
            )
            .map_err(query_error)?;
        match row {
            Some(row) => Ok(row.try_get::<_, String>(0).map_err(query_error)? == self.node),
            None => Ok(true),
        }
    }
}

/// The owner of a message row, if there is one.
fn owner_of(
    tx: &mut cordon_postgres::Transaction<'_>,
    id: &QueueId,
) -> Result<Option<String>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT owner FROM cordon_messages WHERE id = $1",
            &[&id.to_string()],
        )
        .map_err(query_error)?;
    row.map(|row| row.try_get(0).map_err(query_error))
        .transpose()
}

/// Unix seconds as PostgreSQL's bigint (times past year 292 billion clamp).
fn seconds(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn encode(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn decode<T: DeserializeOwned>(
    text: &str,
    table: &'static str,
    key: &QueueId,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::DamagedRecord {
        table,
        key: key.to_string(),
        problem: e.to_string(),
    })
}

/// The record in column 0 of `row`, the row of `key`.
fn decode_row<T: DeserializeOwned>(
    row: &Row,
    table: &'static str,
    key: &QueueId,
) -> Result<T, StoreError> {
    let text: String = row.try_get(0).map_err(query_error)?;
    decode(&text, table, key)
}

/// The record in column 1 of `row`, whose column 0 is its id.
fn decode_keyed<T: DeserializeOwned>(row: &Row, table: &'static str) -> Result<T, StoreError> {
    let id = parse_id(row, table)?;
    let text: String = row.try_get(1).map_err(query_error)?;
    decode(&text, table, &id)
}

/// The queue id in column 0 of `row`.
fn parse_id(row: &Row, table: &'static str) -> Result<QueueId, StoreError> {
    let text: String = row.try_get(0).map_err(query_error)?;
    text.parse()
        .map_err(|e: crate::id::InvalidQueueId| StoreError::DamagedRecord {
            table,
            key: text.clone(),
            problem: e.to_string(),
        })
}

fn database_error(e: DatabaseError) -> StoreError {
    match e {
        DatabaseError::Unavailable { .. } => StoreError::Unavailable(e.to_string()),
        other => StoreError::backend(other),
    }
}

/// A failed statement: a lost connection is [`StoreError::Unavailable`].
fn query_error(e: cordon_postgres::Error) -> StoreError {
    if e.is_closed()
        || e.code().is_none()
            && std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
    {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::backend(e)
    }
}

#[cfg(test)]
mod tests {
    //! What only a shared store does: two nodes on one database.

    use super::*;
    use crate::record::PlannedAction;
    use crate::spool::Spool;
    use crate::store::tests::quarantine;
    use cordon_postgres::testing::TestDatabase;

    fn two_nodes(test: &TestDatabase) -> (PostgresStore, PostgresStore) {
        (
            PostgresStore::new(test.connect(), "node-a"),
            PostgresStore::new(test.connect(), "node-b"),
        )
    }

    fn envelope() -> Envelope {
        Envelope {
            mail_from: "pc.jones@northshire.police.uk".into(),
            rcpt_to: vec!["x@gmail.com".into()],
            client_ip: None,
            helo: None,
            received_at: 1_700_000_000,
        }
    }

    /// A message held on `node` for its one recipient, with its bytes kept.
    fn held_on(node: &PostgresStore) -> (MessageRecord, QuarantineRecord) {
        let content = b"Subject: case file\r\n\r\nNI number JM 41 29 87 B\r\n";
        let mut message = MessageRecord::new(QueueId::new(), envelope(), content.len() as u64);
        message.inspected = true;
        message.recipients[0].action = Some(PlannedAction::Hold);
        node.put_message(&message).unwrap();
        node.put_held_content(&message.id, &message.envelope, content)
            .unwrap();
        let mut entry = quarantine(&message, &["x@gmail.com"], 100);
        entry.id = message.id;
        node.put_quarantine(&entry).unwrap();
        node.set_quarantine_notified(&entry.id, QuarantineState::Held)
            .unwrap();
        (node.get_message(&message.id).unwrap().unwrap(), entry)
    }

    #[test]
    fn the_tally_of_a_database_from_before_it_is_counted_once_when_first_read() {
        let test = TestDatabase::create();
        let (a, b) = two_nodes(&test);
        let (_, first) = held_on(&a);
        let (_, second) = held_on(&b);
        a.decide_quarantine(&second.id, Decision::Reject, "o", None, 7_200)
            .unwrap();
        let expected = QuarantineTally::of(a.list_quarantine(None).unwrap().iter());
        assert_eq!(a.quarantine_tally().unwrap(), expected);
        // As the tally of a database migrated from before it was kept.
        let mut connection = a.connection().unwrap();
        connection
            .execute("DELETE FROM cordon_quarantine_tally", &[])
            .unwrap();
        assert_eq!(b.quarantine_tally().unwrap(), expected);
        assert_eq!(a.quarantine_tally().unwrap(), expected);
        // And kept from then on.
        b.decide_quarantine(&first.id, Decision::Release, "o", None, 9_000)
            .unwrap();
        let expected = QuarantineTally::of(a.list_quarantine(None).unwrap().iter());
        assert_eq!(a.quarantine_tally().unwrap(), expected);
        assert_eq!(expected.in_state(QuarantineState::Held), 0);
    }

    #[test]
    fn entries_written_before_summaries_are_found_by_searches() {
        let test = TestDatabase::create();
        let (a, _) = two_nodes(&test);
        let (_, entry) = held_on(&a);
        // As a row from before V5 and V6 and before entries kept their
        // rules: no summary or search text, and the rules only in the
        // reasons.
        let mut old = a.get_quarantine(&entry.id).unwrap().unwrap();
        old.reasons_json = r#"[{"address":"x@gmail.com","reasons":[{"rule":"r-old"}]}]"#.into();
        a.put_quarantine(&old).unwrap();
        let mut connection = a.connection().unwrap();
        connection
            .execute(
                "UPDATE cordon_quarantine SET summary = NULL, search_text = NULL",
                &[],
            )
            .unwrap();
        let query = QuarantineQuery {
            rule: Some("r-old".into()),
            text: Some("CASE FILE".into()),
            ..QuarantineQuery::default()
        };
        let page = a.page_quarantine(&query, None, 10).unwrap();
        assert_eq!(page.records, vec![old.clone()]);
        assert_eq!(a.count_quarantine(&query).unwrap().total, 1);
        let search = a.search_quarantine(&query, None, 10).unwrap();
        assert_eq!(
            (search.page.records, search.count.total),
            (vec![old.clone()], 1)
        );
        // completed in rounds, after which the row has both again
        assert_eq!(a.complete_search_texts(10).unwrap(), 1);
        assert_eq!(a.complete_search_texts(10).unwrap(), 0);
        let row = connection
            .query_one(
                "SELECT summary IS NOT NULL, search_text FROM cordon_quarantine",
                &[],
            )
            .unwrap();
        let (has_summary, text): (bool, String) = (row.get(0), row.get(1));
        assert!(has_summary);
        assert!(text.contains("case file"), "{text}");
        let search = a.search_quarantine(&query, None, 10).unwrap();
        assert_eq!((search.page.records, search.count.total), (vec![old], 1));
    }

    #[test]
    fn a_damaged_row_does_not_stop_the_others_getting_their_search_text() {
        let test = TestDatabase::create();
        let (a, _) = two_nodes(&test);
        let (_, entry) = held_on(&a);
        let mut connection = a.connection().unwrap();
        connection
            .batch_execute(
                "UPDATE cordon_quarantine SET summary = NULL, search_text = NULL;
                 INSERT INTO cordon_quarantine
                     (id, message_id, state, held_at, expires_at, sender_notified, record)
                     VALUES ('DAMAGED', 'DAMAGED', 'held', 1, 2, false, 'not a record')",
            )
            .unwrap();
        assert_eq!(a.complete_search_texts(10).unwrap(), 1);
        let text: Option<String> = connection
            .query_one(
                "SELECT search_text FROM cordon_quarantine WHERE id = $1",
                &[&entry.id.to_string()],
            )
            .unwrap()
            .get(0);
        assert!(text.is_some_and(|t| t.contains("case file")));
        // the damaged one stays without, round after round
        assert_eq!(a.complete_search_texts(10).unwrap(), 0);
    }

    #[test]
    fn each_node_works_on_its_own_messages_and_shares_the_quarantine() {
        let test = TestDatabase::create();
        let (a, b) = two_nodes(&test);
        let (message, entry) = held_on(&a);
        assert_eq!(a.message_ids().unwrap(), vec![message.id]);
        assert!(b.message_ids().unwrap().is_empty(), "not b's to process");
        assert!(a.is_mine(&message.id).unwrap());
        assert!(!b.is_mine(&message.id).unwrap());
        assert_eq!(
            b.list_quarantine(None).unwrap(),
            vec![a.get_quarantine(&entry.id).unwrap().unwrap()]
        );
        assert_eq!(b.counts().unwrap().quarantine_held, 1);
        assert_eq!(b.counts().unwrap().unfinished, 0);
        let (envelope, content) = b.held_content(&message.id).unwrap().expect("b reads it");
        assert_eq!(envelope, message.envelope);
        assert!(String::from_utf8_lossy(&content).contains("JM 41 29 87 B"));

        // A decision on b is due on a, the owner, at once.
        assert!(a.due_messages(0).unwrap().is_empty());
        b.decide_quarantine(&entry.id, Decision::Release, "j.smith", None, 200)
            .unwrap();
        let due: Vec<QueueId> = a.due_messages(0).unwrap().iter().map(|m| m.id).collect();
        assert_eq!(due, vec![message.id]);
        assert!(b.due_messages(0).unwrap().is_empty());
        assert_eq!(a.notices_owed().unwrap(), BTreeSet::from([message.id]));
        assert!(b.notices_owed().unwrap().is_empty());
        // Deciding again, on either node, is refused.
        for node in [&a, &b] {
            let again = node.decide_quarantine(&entry.id, Decision::Reject, "k.lee", None, 201);
            assert!(
                matches!(
                    again,
                    Err(StoreError::AlreadyDecided {
                        state: QuarantineState::Released,
                        ..
                    })
                ),
                "{again:?}"
            );
        }
    }

    #[test]
    fn two_nodes_deciding_at_once_decide_once() {
        let test = TestDatabase::create();
        let (a, b) = two_nodes(&test);
        for _ in 0..10 {
            let (_, entry) = held_on(&a);
            let outcomes: Vec<bool> = std::thread::scope(|scope| {
                let handles: Vec<_> = [&a, &b, &a, &b]
                    .into_iter()
                    .map(|node| {
                        scope.spawn(move || {
                            node.decide_quarantine(
                                &entry.id,
                                Decision::Release,
                                "j.smith",
                                None,
                                300,
                            )
                            .is_ok()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
        }
    }

    #[test]
    fn a_silent_nodes_decided_messages_are_adopted_once() {
        let test = TestDatabase::create();
        let (a, b) = two_nodes(&test);
        let c = PostgresStore::new(test.connect(), "node-c");
        a.heartbeat(1_000).unwrap();
        let (message, entry) = held_on(&a);
        // Held and not decided: nothing to do, nothing to adopt.
        assert!(b.adopt_orphans(3_000, 2_000).unwrap().is_empty());
        b.decide_quarantine(&entry.id, Decision::Release, "j.smith", None, 1_500)
            .unwrap();
        // a was heard of after the cut-off: still a's.
        assert!(b.adopt_orphans(3_000, 900).unwrap().is_empty());
        // Silent since before it: b and c race, one of them takes it.
        let (by_b, by_c) = std::thread::scope(|scope| {
            let b = scope.spawn(|| b.adopt_orphans(3_000, 2_000).unwrap());
            let c = scope.spawn(|| c.adopt_orphans(3_000, 2_000).unwrap());
            (b.join().unwrap(), c.join().unwrap())
        });
        assert_eq!(by_b.len() + by_c.len(), 1, "{by_b:?} {by_c:?}");
        let adopter = if by_b.is_empty() { &c } else { &b };
        assert_eq!(adopter.message_ids().unwrap(), vec![message.id]);
        assert!(a.message_ids().unwrap().is_empty());

        // The adopter spools the stored copy and delivers from it.
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        assert!(crate::restore_spooled(&spool, adopter, &message.id).unwrap());
        assert!(!crate::restore_spooled(&spool, adopter, &message.id).unwrap());
        let (_, content) = spool.read(&message.id).unwrap();
        assert_eq!(content.len() as u64, message.size);

        // a comes back with its old spool file: not its own any more.
        let a_dir = tempfile::tempdir().unwrap();
        let a_spool = Spool::open(a_dir.path().join("spool")).unwrap();
        a_spool
            .write(&message.id, &message.envelope, &content)
            .unwrap();
        let plan = crate::reconcile(&a_spool, &a).unwrap();
        assert_eq!(plan.disowned, vec![message.id]);
        assert!(plan.to_process().is_empty(), "{plan:?}");

        // Finished by the adopter: a tombstone tells a the same, and the
        // stored copy is gone.
        adopter
            .set_recipient_status(
                &message.id,
                "x@gmail.com",
                RecipientStatus::Delivered { at: 1_600 },
            )
            .unwrap();
        assert!(adopter.remove_message(&message.id).unwrap());
        assert!(a.disowned(&message.id).unwrap());
        assert!(a.get_message(&message.id).unwrap().is_none());
        assert!(adopter.held_content(&message.id).unwrap().is_none());
        let plan = crate::reconcile(&a_spool, &a).unwrap();
        assert_eq!(plan.disowned, vec![message.id]);
    }

    #[test]
    fn an_owned_record_without_a_spool_file_is_restored_from_the_stored_copy() {
        let test = TestDatabase::create();
        let (a, _) = two_nodes(&test);
        let (message, entry) = held_on(&a);
        a.decide_quarantine(&entry.id, Decision::Release, "j.smith", None, 200)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let plan = crate::reconcile(&spool, &a).unwrap();
        assert_eq!(plan.unfinished, vec![message.id]);
        assert!(plan.missing_spool.is_empty());
    }

    #[test]
    fn two_nodes_recording_for_one_sender_at_once_both_count() {
        use crate::sender_activity::WindowQuery;
        use crate::store::tests::activity;

        let test = TestDatabase::create();
        let (a, b) = two_nodes(&test);
        let sender = "pc.jones@northshire.police.uk";
        let queries = [
            WindowQuery::sum("attachments_to_personal", 86_400),
            WindowQuery::distinct("external_recipients", 86_400),
        ];
        const EACH: u64 = 10;
        let mut seen: Vec<u64> = std::thread::scope(|s| {
            let workers: Vec<_> = [&a, &b]
                .into_iter()
                .enumerate()
                .map(|(n, node)| {
                    let queries = &queries;
                    s.spawn(move || {
                        (0..EACH)
                            .map(|i| {
                                // Different buckets and recipients on each node.
                                let own = format!("n{n}-{i}@gmail.com");
                                let message = activity(
                                    sender,
                                    1_700_000_000 + i * 600 + n as u64 * 300,
                                    &[("attachments_to_personal", 1)],
                                    &[("external_recipients", &[own.as_str()])],
                                );
                                node.record_sender_activity(&message, queries).unwrap()[0]
                            })
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        seen.sort_unstable();
        seen.dedup();
        // Times go forward on each node but interleave between them, so a
        // total may leave out a later-stamped message of the other node;
        // the final reading, at the last time, has every one.
        assert!(seen.len() > 1, "{seen:?}");
        let read = activity(sender, 1_700_000_000 + EACH * 600, &[], &[]);
        assert_eq!(
            b.record_sender_activity(&read, &queries).unwrap(),
            vec![2 * EACH, 2 * EACH]
        );
        assert_eq!(
            a.record_sender_activity(&read, &queries).unwrap(),
            vec![2 * EACH, 2 * EACH]
        );
    }

    #[test]
    fn an_unreachable_database_is_unavailable_not_damage() {
        let test = TestDatabase::create();
        let (a, _) = two_nodes(&test);
        drop(test); // drops the database, with force
        let err = a.message_ids().unwrap_err();
        assert!(!matches!(err, StoreError::DamagedRecord { .. }), "{err}");
    }
}
