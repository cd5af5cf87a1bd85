//! [`Store`]: the async face of the queue and quarantine index.
//!
//! The engines ([`SledStore`], [`MemoryStore`]) are synchronous and may
//! wait on the disk (every change is flushed before it returns). Callers on
//! the async runtime reach them only through this handle, which runs each
//! call on the runtime's blocking pool, so that no caller can stall the
//! runtime's workers (and with them SMTP sessions) by forgetting to.
//! [`Store::engine`] hands out the engine itself only for code that already
//! runs off the runtime.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use crate::error::StoreError;
use crate::id::QueueId;
use crate::listing::{
    QuarantineCount, QuarantineCursor, QuarantinePage, QuarantineQuery, QuarantineSearch,
};
use crate::memory_store::MemoryStore;
use crate::postgres_store::PostgresStore;
use crate::record::{
    Decision, MessageRecord, QuarantineRecord, QuarantineState, RecipientStatus, ReleaseProposal,
};
use crate::sender_activity::{SenderActivity, WindowQuery};
use crate::sled_store::SledStore;
use crate::spool::{Envelope, Spool};
use crate::store::{Engine, Reconciliation, StoreCounts};
use crate::tally::QuarantineTally;

/// The queue and quarantine index: a cheap, clonable handle to one engine
/// whose methods never block the calling task's thread. Each method does
/// what the [`Engine`] method of the same name documents.
#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// A handle to `engine`.
    pub fn new(engine: Arc<dyn Engine>) -> Store {
        Store { engine }
    }

    /// The durable store in directory `path` (see [`SledStore::open`]).
    /// Opening reads the database, so it too runs off the runtime's workers.
    pub async fn open_sled(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_owned();
        let engine = on_blocking_pool(move || SledStore::open(path)).await?;
        Ok(Store::new(Arc::new(engine)))
    }

    /// The shared store in PostgreSQL as node `node` (see
    /// [`PostgresStore`]); `database` is already connected.
    pub fn postgres(database: cordon_postgres::Database, node: impl Into<String>) -> Store {
        Store::new(Arc::new(PostgresStore::new(database, node)))
    }

    /// An empty store in memory, for tests.
    pub fn memory() -> Store {
        Store::new(Arc::new(MemoryStore::new()))
    }

    /// The engine itself, for code that already runs off the runtime
    /// (start-up before the runtime, offline commands, tests).
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Runs `call` on the engine on the blocking pool.
    async fn run<R, F>(&self, call: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Engine) -> Result<R, StoreError> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        on_blocking_pool(move || call(engine.as_ref())).await
    }

    /// See [`Engine::put_message`].
    pub async fn put_message(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.run(move |e| e.put_message(&record)).await
    }

    /// See [`Engine::get_message`].
    pub async fn get_message(&self, id: &QueueId) -> Result<Option<MessageRecord>, StoreError> {
        let id = *id;
        self.run(move |e| e.get_message(&id)).await
    }

    /// See [`Engine::message_ids`].
    pub async fn message_ids(&self) -> Result<Vec<QueueId>, StoreError> {
        self.run(|e| e.message_ids()).await
    }

    /// See [`Engine::unfinished_messages`].
    pub async fn unfinished_messages(&self) -> Result<Vec<MessageRecord>, StoreError> {
        self.run(|e| e.unfinished_messages()).await
    }

    /// See [`Engine::due_messages`].
    pub async fn due_messages(&self, now: u64) -> Result<Vec<MessageRecord>, StoreError> {
        self.run(move |e| e.due_messages(now)).await
    }

    /// See [`Engine::set_recipient_status`].
    pub async fn set_recipient_status(
        &self,
        id: &QueueId,
        address: &str,
        status: RecipientStatus,
    ) -> Result<MessageRecord, StoreError> {
        let (id, address) = (*id, address.to_owned());
        self.run(move |e| e.set_recipient_status(&id, &address, status))
            .await
    }

    /// See [`Engine::remove_message`].
    pub async fn remove_message(&self, id: &QueueId) -> Result<bool, StoreError> {
        let id = *id;
        self.run(move |e| e.remove_message(&id)).await
    }

    /// See [`Engine::put_quarantine`].
    pub async fn put_quarantine(&self, record: &QuarantineRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.run(move |e| e.put_quarantine(&record)).await
    }

    /// See [`Engine::get_quarantine`].
    pub async fn get_quarantine(
        &self,
        id: &QueueId,
    ) -> Result<Option<QuarantineRecord>, StoreError> {
        let id = *id;
        self.run(move |e| e.get_quarantine(&id)).await
    }

    /// See [`Engine::list_quarantine`].
    pub async fn list_quarantine(
        &self,
        state: Option<QuarantineState>,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.run(move |e| e.list_quarantine(state)).await
    }

    /// See [`Engine::page_quarantine`].
    pub async fn page_quarantine(
        &self,
        query: QuarantineQuery,
        before: Option<QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantinePage, StoreError> {
        self.run(move |e| e.page_quarantine(&query, before.as_ref(), limit))
            .await
    }

    /// See [`Engine::count_quarantine`].
    pub async fn count_quarantine(
        &self,
        query: QuarantineQuery,
    ) -> Result<QuarantineCount, StoreError> {
        self.run(move |e| e.count_quarantine(&query)).await
    }

    /// See [`Engine::search_quarantine`].
    pub async fn search_quarantine(
        &self,
        query: QuarantineQuery,
        before: Option<QuarantineCursor>,
        limit: usize,
    ) -> Result<QuarantineSearch, StoreError> {
        self.run(move |e| e.search_quarantine(&query, before.as_ref(), limit))
            .await
    }

    /// See [`Engine::quarantine_tally`].
    pub async fn quarantine_tally(&self) -> Result<QuarantineTally, StoreError> {
        self.run(|e| e.quarantine_tally()).await
    }

    /// See [`Engine::oldest_held`].
    pub async fn oldest_held(&self) -> Result<Option<QuarantineRecord>, StoreError> {
        self.run(|e| e.oldest_held()).await
    }

    /// See [`Engine::expiring`].
    pub async fn expiring(
        &self,
        now: u64,
        limit: usize,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.run(move |e| e.expiring(now, limit)).await
    }

    /// See [`Engine::decide_quarantine`].
    pub async fn decide_quarantine(
        &self,
        id: &QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
        at: u64,
    ) -> Result<QuarantineRecord, StoreError> {
        let (id, by, note) = (*id, by.to_owned(), note.map(str::to_owned));
        self.run(move |e| e.decide_quarantine(&id, decision, &by, note.as_deref(), at))
            .await
    }

    /// See [`Engine::propose_release`].
    pub async fn propose_release(
        &self,
        id: &QueueId,
        proposal: ReleaseProposal,
    ) -> Result<QuarantineRecord, StoreError> {
        let id = *id;
        self.run(move |e| e.propose_release(&id, proposal)).await
    }

    /// See [`Engine::set_quarantine_notified`].
    pub async fn set_quarantine_notified(
        &self,
        id: &QueueId,
        state: QuarantineState,
    ) -> Result<bool, StoreError> {
        let id = *id;
        self.run(move |e| e.set_quarantine_notified(&id, state))
            .await
    }

    /// See [`Engine::counts`].
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.run(|e| e.counts()).await
    }

    /// See [`crate::reconcile`]: it reads the spool too, so it runs with the
    /// engine on the blocking pool.
    pub async fn reconcile(&self, spool: &Spool) -> Result<Reconciliation, StoreError> {
        let spool = spool.clone();
        self.run(move |e| crate::store::reconcile(&spool, e)).await
    }

    /// See [`crate::verify_spooled`]: it reads the whole spool file.
    pub async fn verify_spooled(&self, spool: &Spool, id: &QueueId) -> Result<(), StoreError> {
        let (spool, id) = (spool.clone(), *id);
        self.run(move |e| crate::store::verify_spooled(&spool, e, &id))
            .await
    }

    /// The envelope and bytes of a spooled or held message: from the spool
    /// when this node has it, else the store's copy (a message held on
    /// another node, see [`Engine::held_content`]).
    /// [`StoreError::NotFound`] when neither has it.
    pub async fn read_message(
        &self,
        spool: &Spool,
        id: &QueueId,
    ) -> Result<(Envelope, Vec<u8>), StoreError> {
        let (spool, id) = (spool.clone(), *id);
        self.run(move |e| match spool.read(&id) {
            Err(StoreError::NotFound { .. }) => {
                e.held_content(&id)?.ok_or_else(|| StoreError::NotFound {
                    what: "message",
                    key: id.to_string(),
                })
            }
            read => read,
        })
        .await
    }

    /// Checks that held message `id` can still be delivered: the store's
    /// copy when it keeps one (any node can deliver from it), else its spool
    /// file ([`crate::verify_spooled`]).
    pub async fn verify_releasable(&self, spool: &Spool, id: &QueueId) -> Result<(), StoreError> {
        let (spool, id) = (spool.clone(), *id);
        self.run(move |e| {
            if let Some((_, content)) = e.held_content(&id)? {
                if let Some(record) = e.get_message(&id)?
                    && u64::try_from(content.len()).ok() != Some(record.size)
                {
                    return Err(StoreError::DamagedSpool {
                        id,
                        problem: format!(
                            "the stored copy is {} bytes, but {} were accepted",
                            content.len(),
                            record.size
                        ),
                    });
                }
                return Ok(());
            }
            crate::store::verify_spooled(&spool, e, &id)
        })
        .await
    }

    /// See [`crate::restore_spooled`].
    pub async fn restore_spooled(&self, spool: &Spool, id: &QueueId) -> Result<bool, StoreError> {
        let (spool, id) = (spool.clone(), *id);
        self.run(move |e| crate::store::restore_spooled(&spool, e, &id))
            .await
    }

    /// See [`Engine::put_held_content`].
    pub async fn put_held_content(
        &self,
        message_id: &QueueId,
        envelope: &Envelope,
        content: Arc<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let (id, envelope) = (*message_id, envelope.clone());
        self.run(move |e| e.put_held_content(&id, &envelope, &content))
            .await
    }

    /// See [`Engine::complete_search_texts`].
    pub async fn complete_search_texts(&self, limit: usize) -> Result<u64, StoreError> {
        self.run(move |e| e.complete_search_texts(limit)).await
    }

    /// See [`Engine::prune_decided`].
    pub async fn prune_decided(&self, decided_before: u64) -> Result<u64, StoreError> {
        self.run(move |e| e.prune_decided(decided_before)).await
    }

    /// See [`Engine::record_sender_activity`].
    pub async fn record_sender_activity(
        &self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        let (activity, queries) = (activity.clone(), queries.to_vec());
        self.run(move |e| e.record_sender_activity(&activity, &queries))
            .await
    }

    /// See [`Engine::prune_sender_activity`].
    pub async fn prune_sender_activity(&self, before: u64) -> Result<u64, StoreError> {
        self.run(move |e| e.prune_sender_activity(before)).await
    }

    /// See [`Engine::heartbeat`].
    pub async fn heartbeat(&self, now: u64) -> Result<(), StoreError> {
        self.run(move |e| e.heartbeat(now)).await
    }

    /// See [`Engine::adopt_orphans`].
    pub async fn adopt_orphans(
        &self,
        now: u64,
        silent_since: u64,
    ) -> Result<Vec<QueueId>, StoreError> {
        self.run(move |e| e.adopt_orphans(now, silent_since)).await
    }

    /// See [`Engine::is_mine`].
    pub async fn is_mine(&self, id: &QueueId) -> Result<bool, StoreError> {
        let id = *id;
        self.run(move |e| e.is_mine(&id)).await
    }

    /// See [`crate::notices_owed`].
    pub async fn notices_owed(&self) -> Result<BTreeSet<QueueId>, StoreError> {
        self.run(crate::store::notices_owed).await
    }
}

/// Runs blocking store or spool work on the runtime's blocking pool, for
/// callers on the runtime. A panic in it becomes [`StoreError::Backend`]
/// (the engine's state is unchanged by a panic before its commit, and the
/// caller retries as for any store error).
pub async fn on_blocking_pool<R, E>(
    work: impl FnOnce() -> Result<R, E> + Send + 'static,
) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(StoreError::backend(e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::Envelope;

    fn envelope() -> Envelope {
        Envelope {
            mail_from: "a@northshire.police.uk".into(),
            rcpt_to: vec!["b@kent.police.uk".into()],
            client_ip: None,
            helo: None,
            received_at: 1,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn calls_return_what_the_engine_does() {
        let store = Store::memory();
        let record = MessageRecord::new(QueueId::new(), envelope(), 10);
        store.put_message(&record).await.unwrap();
        assert_eq!(
            store.get_message(&record.id).await.unwrap().as_ref(),
            Some(&record)
        );
        assert_eq!(store.message_ids().await.unwrap(), vec![record.id]);
        let updated = store
            .set_recipient_status(
                &record.id,
                "b@kent.police.uk",
                RecipientStatus::Delivered { at: 2 },
            )
            .await
            .unwrap();
        assert_eq!(
            updated.recipients[0].status,
            RecipientStatus::Delivered { at: 2 }
        );
        assert!(store.remove_message(&record.id).await.unwrap());
        assert!(store.get_message(&record.id).await.unwrap().is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sender_activity_is_recorded_and_pruned_through_the_handle() {
        let store = Store::memory();
        let activity = SenderActivity {
            sender: "pc.jones@northshire.police.uk".into(),
            message: QueueId::new().to_string(),
            at: 1_000,
            amounts: vec![("attachments_to_personal".into(), 2)],
            members: vec![("external_recipients".into(), vec!["a@x.com".into()])],
        };
        let queries = [
            WindowQuery::sum("attachments_to_personal", 86_400),
            WindowQuery::distinct("external_recipients", 3_600),
        ];
        let totals = store
            .record_sender_activity(&activity, &queries)
            .await
            .unwrap();
        assert_eq!(totals, vec![2, 1]);
        assert_eq!(store.prune_sender_activity(2_000).await.unwrap(), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_durable_store_opens_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sled(&dir.path().join("db")).await.unwrap();
        assert_eq!(store.counts().await.unwrap(), StoreCounts::default());
    }
}
