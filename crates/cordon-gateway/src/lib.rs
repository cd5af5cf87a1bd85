//! The gateway: what happens to a message between the SMTP server's `250` and
//! its last recipient's final state.
//!
//! 1. **Accept** ([`Gateway`] is the SMTP server's [`MessageSink`]): the message
//!    and its envelope are written to the spool and fsynced before the server
//!    may reply `250`. The spool file is the record of acceptance.
//! 2. **Process** (worker tasks): inspect once, then hand the delivered
//!    recipients to the relay, quarantine the held ones and tell the sender
//!    about the rejected ones. A message delivered to everyone at the first try
//!    never needs a queue record: its spool file is removed once the relay has
//!    it. Anything else gets a record in the store, written before the step
//!    that depends on it.
//! 3. **Retry** (the delivery loop): deferred recipients are tried again with
//!    exponential backoff until they are delivered, fail permanently, or the
//!    message is older than the give-up age; the sender is told of failures.
//! 4. **Recover** (on start): every spooled message without a final state,
//!    and every message whose sender is still owed a notice, is processed
//!    again. A crash at any point may deliver a copy or repeat a notice,
//!    never lose one. The spool file of every message still in the store is
//!    checked; a damaged one is logged, counted in `cordon_spool_damaged`
//!    and flagged on its quarantine entry, and its release is refused.
//!
//! Each message is queued for the workers once at a time (see `work.rs`): the
//! delivery loop, decisions and notices ask for it as often as they like.

mod budget;
mod metrics;
mod notices;
mod pipeline;
mod quarantine;
mod retry;
mod sender_history;
mod stored_verdict;
mod unrecorded;
mod work;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use budget::Budget;
use cordon_audit::{AuditLog, Event};
use cordon_inspect::Inspector;
use cordon_notify::Templates;
use cordon_relay::Transport;
use cordon_smtp::{AcceptError, MessageSink};
use cordon_store::{QueueId, Spool, SpoolWriter, Store, StoreError, on_blocking_pool};
use tokio::sync::{mpsc, watch};
use unrecorded::{SpooledCopy, Unrecorded};
use work::WorkQueue;

pub use metrics::Metrics;
pub use retry::RetryPolicy;

/// How the gateway behaves; everything but the data directory has a default.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Where the spool and the store live (`DATA/spool`, `DATA/store`).
    pub data_dir: PathBuf,
    /// This gateway's host name (trace headers, notices).
    pub hostname: String,
    /// The address notices come from.
    pub postmaster: String,
    /// Retry and give-up policy for temporary delivery failures.
    pub retry: RetryPolicy,
    /// Days a held message waits in quarantine before it expires.
    pub hold_days: u64,
    /// How often the delivery loop looks for deferred recipients that are due.
    pub poll_interval: Duration,
    /// How often the quarantine is swept for entries past their expiry.
    pub expiry_interval: Duration,
    /// How long decided quarantine entries stay listed (and a shared
    /// store's tombstones are kept) before they are pruned; the audit chain
    /// keeps the record of each decision for good.
    pub retention: Duration,
    /// Messages processed at once.
    pub workers: usize,
    /// With a shared store: how long another node may be silent before this
    /// one adopts the decided messages it owns (see
    /// [`cordon_store::Engine::adopt_orphans`]).
    pub node_silence: Duration,
    /// How long a message waits before it is tried again when the shared
    /// database could not be reached (it stays in the spool meanwhile).
    pub store_retry: Duration,
    /// The most message bytes processed at once, whatever the number of
    /// workers: a message is read into memory, inspected and delivered
    /// only while its size fits in what other messages leave of this
    /// budget, so memory stays bounded when large messages arrive together.
    /// A message larger than the whole budget is processed alone.
    pub processing_budget: usize,
    /// The notice templates (`rules/notices/`) the gateway starts with;
    /// [`Gateway::reload_rules`] replaces them.
    pub notices: Arc<Templates>,
    /// The audit log every acceptance, verdict, delivery, notice and expiry
    /// is appended to (none in some tests).
    pub audit: Option<Arc<AuditLog>>,
}

impl GatewayConfig {
    /// Defaults for a data directory, with the given notice templates.
    pub fn new(data_dir: impl Into<PathBuf>, notices: Arc<Templates>) -> GatewayConfig {
        GatewayConfig {
            data_dir: data_dir.into(),
            hostname: "cordon.localdomain".into(),
            postmaster: "postmaster@localhost".into(),
            retry: RetryPolicy::default(),
            hold_days: 14,
            poll_interval: Duration::from_secs(1),
            expiry_interval: Duration::from_secs(60),
            workers: 4,
            retention: Duration::from_secs(DEFAULT_RETENTION_DAYS * 86_400),
            node_silence: Duration::from_secs(30),
            store_retry: Duration::from_secs(5),
            processing_budget: DEFAULT_PROCESSING_BUDGET,
            notices,
            audit: None,
        }
    }
}

/// The default [`GatewayConfig::processing_budget`]: 48 MiB of messages in
/// process, about 150 MiB of memory at the peak (inspection holds the message,
/// its extracted text and a working copy of it at once).
pub const DEFAULT_PROCESSING_BUDGET: usize = 48 << 20;

/// The default [`GatewayConfig::retention`], in days.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

/// Entries from an older version given their search text per expiry
/// round (a minute by default): 100,000 take about twenty minutes, each
/// round a second or so of one database connection.
const SEARCH_TEXTS_PER_ROUND: usize = 5_000;

/// The gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The spool or the store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The gateway's shared state: spool, store, inspector, relay and the queue of
/// messages waiting to be processed.
pub struct Gateway<T: Transport> {
    config: GatewayConfig,
    spool: Spool,
    store: Store,
    /// The policy applied now: replaced whole by a reload, read whole by
    /// each step, so a message never sees half of an old policy and half
    /// of a new one within a step.
    rules: ArcSwap<Rules>,
    transport: T,
    metrics: Arc<Metrics>,
    /// The messages waiting for a worker or being processed.
    work: Arc<WorkQueue>,
    /// What is left of [`GatewayConfig::processing_budget`], in KiB.
    budget: Budget,
    /// Messages whose spool file is damaged: reported once, not queued again
    /// by the delivery loop (that would only repeat the error).
    damaged: Mutex<HashSet<QueueId>>,
    /// Messages accepted (or submitted) by this run and not yet recorded in
    /// the store, with copies of the small ones' bytes.
    unrecorded: Arc<Unrecorded>,
}

/// The policy a gateway applies, loaded from one rules directory: the
/// compiled rules and the notice templates. Replaced together by
/// [`Gateway::reload_rules`].
#[derive(Debug)]
pub struct Rules {
    /// The compiled rules.
    pub inspector: Arc<Inspector>,
    /// The notice templates.
    pub notices: Arc<Templates>,
}

impl<T: Transport> std::fmt::Debug for Gateway<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub use sender_history::check_with_history;

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl<T: Transport> Gateway<T> {
    /// Opens the spool and the sled store under the data directory,
    /// reconciles them, and starts the workers and the delivery loop. They run
    /// until `shutdown` turns true.
    pub async fn start(
        config: GatewayConfig,
        inspector: Arc<Inspector>,
        transport: T,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), GatewayError> {
        let spool = Spool::open(config.data_dir.join("spool"))?;
        let store = Store::open_sled(&config.data_dir.join("store")).await?;
        Self::start_with(
            config, spool, store, inspector, transport, metrics, shutdown,
        )
        .await
    }

    /// As [`Gateway::start`], with a given spool and store (tests use the
    /// in-memory store).
    pub async fn start_with(
        config: GatewayConfig,
        spool: Spool,
        store: Store,
        inspector: Arc<Inspector>,
        transport: T,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), GatewayError> {
        let (work, queue) = WorkQueue::new(work::CHANNEL_CAPACITY);
        let budget = Budget::new(config.processing_budget);
        let rules = ArcSwap::from_pointee(Rules {
            inspector,
            notices: Arc::clone(&config.notices),
        });
        let gateway = Arc::new(Gateway {
            config,
            spool,
            store,
            rules,
            transport,
            metrics,
            work: Arc::new(work),
            budget,
            damaged: Mutex::new(HashSet::new()),
            unrecorded: Arc::new(Unrecorded::default()),
        });
        // Start-up reads the whole spool and store: off the runtime.
        let recovering = Arc::clone(&gateway);
        on_blocking_pool(move || recovering.recover()).await?;
        let runner = tokio::spawn(Arc::clone(&gateway).run(queue, shutdown));
        Ok((gateway, runner))
    }

    /// Applies `rules` from now on (`SIGHUP`): each message inspected
    /// after this call is judged by them and each notice composed after it
    /// uses their templates. A message already inspected keeps its verdict.
    pub fn reload_rules(&self, rules: Rules) {
        self.rules.store(Arc::new(rules));
    }

    /// The policy applied now.
    pub fn rules(&self) -> Arc<Rules> {
        self.rules.load_full()
    }

    /// The metrics this gateway updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The store of queue and quarantine state.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The spool of accepted messages (the console reads held ones from it).
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// Brings spool and store back into agreement after a crash, checks
    /// the spool file of every message still in the store and queues every
    /// message that still needs work (including notices a crash left owed).
    /// Blocking: runs on the blocking pool before the workers start.
    fn recover(&self) -> Result<(), GatewayError> {
        let store = self.store.engine().as_ref();
        let plan = cordon_store::reconcile(&self.spool, store)?;
        for id in &plan.disowned {
            // Finished or taken over by another node while this one was
            // down: its spool file must not be sent again.
            tracing::info!(queue_id = %id, "handled by another gateway meanwhile; removing the local copy");
            self.spool.remove(id)?;
        }
        for id in &plan.to_delete {
            self.spool.remove(id)?;
            store.remove_message(id)?;
        }
        for id in &plan.stale_records {
            store.remove_message(id)?;
        }
        for id in store.message_ids()? {
            // A message adopted from another node is spooled from the
            // store's copy before it is checked.
            cordon_store::restore_spooled(&self.spool, store, &id)?;
            match cordon_store::verify_spooled(&self.spool, store, &id) {
                Ok(()) => {}
                Err(StoreError::DamagedSpool { problem, .. }) => self.report_damaged(id, problem),
                Err(e) => return Err(e.into()),
            }
        }
        let ids: Vec<QueueId> = plan
            .to_process()
            .into_iter()
            .filter(|id| !self.is_damaged(id))
            .collect();
        if !ids.is_empty() {
            tracing::info!(
                count = ids.len(),
                "resuming messages accepted before the last stop"
            );
        }
        for id in ids {
            self.work.push(id);
        }
        Ok(())
    }

    /// Logs and counts a message whose spool file is damaged (see
    /// [`cordon_store::verify_spooled`]), once; the delivery loop leaves it
    /// alone from then on, and a release of it is refused.
    pub(crate) fn report_damaged(&self, id: QueueId, problem: String) {
        let Ok(mut damaged) = self.damaged.lock() else {
            return;
        };
        if !damaged.insert(id) {
            return;
        }
        tracing::error!(queue_id = %id, %problem, "damaged spool file: the message cannot be delivered or released; its record and quarantine entry are kept for the operator");
        self.metrics
            .spool_damaged
            .set(i64::try_from(damaged.len()).unwrap_or(i64::MAX));
    }

    /// Notes whether message `id` is one this run accepted and has not
    /// recorded in the store yet.
    pub(crate) fn note_unrecorded(&self, id: QueueId, unrecorded: bool) {
        if unrecorded {
            self.unrecorded.insert(id, None);
        } else {
            self.unrecorded.remove(&id);
        }
    }

    /// Whether message `id` is accepted by this run and not yet recorded.
    pub(crate) fn is_unrecorded(&self, id: &QueueId) -> bool {
        self.unrecorded.contains(id)
    }

    /// Whether message `id` is known to have a damaged spool file.
    fn is_damaged(&self, id: &QueueId) -> bool {
        self.damaged.lock().is_ok_and(|d| d.contains(id))
    }

    /// Runs the workers and the delivery loop until shutdown.
    async fn run(
        self: Arc<Self>,
        queue: mpsc::Receiver<QueueId>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.config.workers.max(1) {
            let gateway = Arc::clone(&self);
            let queue = Arc::clone(&queue);
            let mut stop = shutdown.clone();
            workers.spawn(async move {
                loop {
                    let next = tokio::select! {
                        id = async { queue.lock().await.recv().await } => id,
                        _ = stop.wait_for(|s| *s) => None,
                    };
                    let Some(id) = next else { break };
                    gateway.process(id).await;
                }
            });
        }
        let mut tick = tokio::time::interval(self.config.poll_interval);
        let mut expiry = tokio::time::interval(self.config.expiry_interval);
        /// What woke the loop.
        enum Wake {
            Poll,
            Expiry,
            Stop,
        }
        loop {
            let wake = tokio::select! {
                _ = tick.tick() => Wake::Poll,
                _ = expiry.tick() => Wake::Expiry,
                _ = shutdown.wait_for(|s| *s) => Wake::Stop,
            };
            match wake {
                Wake::Poll => {
                    self.poll_due().await;
                    self.sync_audit();
                }
                Wake::Expiry => {
                    tokio::spawn(Arc::clone(&self).expire_due());
                    self.prune_decided().await;
                    self.prune_sender_activity().await;
                    self.complete_search_texts().await;
                    self.sweep_owed_notices().await;
                }
                Wake::Stop => break,
            }
        }
        // Messages in flight finish their current step; all state is durable,
        // so whatever is left is resumed on the next start.
        while workers.join_next().await.is_some() {}
        if let Some(audit) = self.config.audit.clone() {
            let synced = tokio::task::spawn_blocking(move || audit.sync()).await;
            if !matches!(synced, Ok(Ok(()))) {
                tracing::error!(?synced, "cannot sync the audit log at shutdown");
            }
        }
    }

    /// Appends `event` to the audit log, if there is one; a failure is
    /// logged (the message's handling never depends on the audit log).
    /// Records a verdict reached for another front door (the milter) on a
    /// message the MTA delivers itself: counted in the decision metrics and
    /// appended to the audit chain under `reference` (the MTA's queue id),
    /// as the gateway's own verdicts are. Recipients the gateway takes over
    /// are recorded when it judges them, so leave them out.
    pub async fn record_verdict(&self, reference: &str, verdict: &cordon_inspect::Verdict) {
        for recipient in &verdict.recipients {
            self.metrics.decided(recipient.action.as_str());
        }
        self.audit(pipeline::verdict_event(reference.to_owned(), verdict))
            .await;
    }

    pub(crate) async fn audit(&self, event: Event) {
        self.audit_all(vec![event]).await;
    }

    /// Appends `events` in order, on the blocking pool: the log takes a file
    /// lock it shares with the offline commands, and may wait for it.
    pub(crate) async fn audit_all(&self, events: Vec<Event>) {
        let Some(audit) = self.config.audit.clone() else {
            return;
        };
        let appended = tokio::task::spawn_blocking(move || append_all(&audit, events)).await;
        if let Err(e) = appended {
            tracing::error!(error = %e, "cannot append to the audit log");
        }
    }

    /// Appends `events`, then deletes the spool file of `id`, in one trip
    /// to the blocking pool: the end of a message delivered at once.
    pub(crate) async fn audit_all_and_unspool(
        &self,
        events: Vec<Event>,
        id: QueueId,
    ) -> Result<bool, StoreError> {
        let (audit, spool) = (self.config.audit.clone(), self.spool.clone());
        on_blocking_pool(move || {
            if let Some(audit) = &audit {
                append_all(audit, events);
            }
            spool.remove(&id)
        })
        .await
    }

    /// Deletes the spool file of `id` (and fsyncs the directory) on the
    /// blocking pool; see [`Spool::remove`].
    pub(crate) async fn unspool(&self, id: QueueId) -> Result<bool, StoreError> {
        let spool = self.spool.clone();
        on_blocking_pool(move || spool.remove(&id)).await
    }

    /// Makes the audit entries appended so far durable.
    fn sync_audit(&self) {
        if let Some(audit) = self.config.audit.clone() {
            tokio::task::spawn_blocking(move || {
                if let Err(e) = audit.sync() {
                    tracing::error!(error = %e, "cannot sync the audit log");
                }
            });
        }
    }

    /// Queues the messages with a deferred recipient that is due (each
    /// once: one already queued or being processed is not queued again),
    /// and refreshes the queue gauges.
    async fn poll_due(&self) {
        let at = now();
        let silent_since = at.saturating_sub(self.config.node_silence.as_secs());
        match self.store.adopt_orphans(at, silent_since).await {
            Ok(adopted) => {
                for id in adopted {
                    tracing::warn!(queue_id = %id, "adopted from a gateway that has gone silent, to carry out a decision on it");
                    self.work.push(id);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot look for messages of silent gateways"),
        }
        match self.store.due_messages(at).await {
            Ok(due) => {
                for record in due.into_iter().filter(|r| !self.is_damaged(&r.id)) {
                    self.work.push(record.id);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the queue"),
        }
        self.work.refill();
        if let Ok(counts) = self.store.counts().await {
            self.metrics
                .queue_depth
                .set(i64::try_from(counts.unfinished).unwrap_or(i64::MAX));
            self.metrics
                .quarantine_held
                .set(i64::try_from(counts.quarantine_held).unwrap_or(i64::MAX));
        }
        if let Ok(oldest) = self.store.oldest_held().await {
            let age = oldest.map_or(0, |q| now().saturating_sub(q.held_at));
            self.metrics
                .quarantine_oldest_held_seconds
                .set(i64::try_from(age).unwrap_or(i64::MAX));
        }
    }

    /// Prunes the quarantine entries decided longer ago than the retention.
    async fn prune_decided(&self) {
        let before = now().saturating_sub(self.config.retention.as_secs());
        match self.store.prune_decided(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(
                pruned,
                retention_days = self.config.retention.as_secs() / 86_400,
                "decided quarantine entries past the retention pruned (the audit chain keeps their record)"
            ),
            Err(e) => tracing::error!(error = %e, "cannot prune decided quarantine entries"),
        }
    }

    /// Removes sender counters older than the behaviour rules' longest window.
    async fn prune_sender_activity(&self) {
        let keep = sender_history::retention(&self.rules.load().inspector);
        let before = now().saturating_sub(keep);
        match self.store.prune_sender_activity(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "old sender counters pruned"),
            Err(e) => tracing::error!(error = %e, "cannot prune old sender counters"),
        }
    }

    /// Gives quarantine entries held before this version their search
    /// text, a batch per round, so that an upgraded shared store's searches
    /// stop reading them whole within minutes.
    async fn complete_search_texts(&self) {
        match self
            .store
            .complete_search_texts(SEARCH_TEXTS_PER_ROUND)
            .await
        {
            Ok(0) => {}
            Ok(completed) => tracing::info!(
                completed,
                "quarantine entries from an older version given their search text"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot complete the search texts of older quarantine entries")
            }
        }
    }

    /// Queues every message whose sender is still owed a notice
    /// ([`cordon_store::notices_owed`]). Processing sends what is
    /// due; one already told is left as it is. (A notice is normally sent in
    /// the same run as the step that calls for it; this catches one whose
    /// step stopped on an error.)
    async fn sweep_owed_notices(&self) {
        match self.store.notices_owed().await {
            Ok(owed) => {
                for id in owed {
                    // An entry whose message is gone has nothing to send.
                    if !self.is_damaged(&id)
                        && matches!(self.store.get_message(&id).await, Ok(Some(_)))
                    {
                        self.work.push(id);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot look for notices owed"),
        }
    }

    /// Spools a message the gateway itself sends (a notice) and queues it:
    /// it goes through inspection and delivery like any other message.
    pub(crate) async fn submit(
        &self,
        mail_from: &str,
        rcpt_to: Vec<String>,
        message: Vec<u8>,
    ) -> Result<QueueId, StoreError> {
        let id = QueueId::new();
        let envelope = cordon_store::Envelope {
            mail_from: mail_from.to_owned(),
            rcpt_to,
            client_ip: None,
            helo: None,
            received_at: now(),
        };
        let spool = self.spool.clone();
        let copy = on_blocking_pool(move || {
            spool.append(&id, &envelope, &message)?;
            Ok::<_, StoreError>(SpooledCopy { envelope, message })
        })
        .await?;
        self.unrecorded.insert(id, Some(copy));
        self.work.push(id);
        Ok(id)
    }
}

impl<T: Transport> MessageSink for Gateway<T> {
    type Writer = Incoming;

    async fn open(&self, envelope: cordon_smtp::Envelope) -> Result<Incoming, AcceptError> {
        Ok(Incoming {
            id: QueueId::new(),
            envelope: cordon_store::Envelope {
                mail_from: envelope.mail_from,
                rcpt_to: envelope.rcpt_to,
                client_ip: Some(envelope.client_ip.to_string()),
                helo: Some(envelope.helo),
                received_at: now(),
            },
            body: Some(Body::Memory(Vec::new())),
            spool: self.spool.clone(),
            audit: self.config.audit.clone(),
            metrics: Arc::clone(&self.metrics),
            work: Arc::clone(&self.work),
            unrecorded: Arc::clone(&self.unrecorded),
        })
    }
}

/// The most bytes of one incoming message kept in memory: a larger one is
/// streamed into its spool file as it arrives.
const IN_MEMORY_MESSAGE: usize = 256 << 10;

/// A message being received into the spool: the SMTP server's
/// [`MessageWriter`](cordon_smtp::MessageWriter). A small message is kept
/// in memory and spooled in one step at the end of DATA (one trip to the
/// blocking pool), and its bytes are handed to processing with it; a
/// large one is streamed into its spool file, so memory does not grow with
/// the message. Dropped before [`commit`](cordon_smtp::MessageWriter::commit),
/// it leaves nothing.
pub struct Incoming {
    id: QueueId,
    envelope: cordon_store::Envelope,
    /// Taken while a write runs on the blocking pool, and not put back if
    /// it fails (or panics, which removes the temporary file).
    body: Option<Body>,
    spool: Spool,
    audit: Option<Arc<AuditLog>>,
    metrics: Arc<Metrics>,
    work: Arc<WorkQueue>,
    /// The gateway's messages accepted and not yet recorded.
    unrecorded: Arc<Unrecorded>,
}

/// Where an incoming message's bytes are so far.
enum Body {
    /// In memory, up to [`IN_MEMORY_MESSAGE`].
    Memory(Vec<u8>),
    /// In its temporary spool file.
    File(SpoolWriter),
}

impl cordon_smtp::MessageWriter for Incoming {
    async fn write(&mut self, chunk: Vec<u8>) -> Result<(), AcceptError> {
        let body = match self.body.take() {
            Some(Body::Memory(mut bytes)) if bytes.len() + chunk.len() <= IN_MEMORY_MESSAGE => {
                bytes.extend_from_slice(&chunk);
                self.body = Some(Body::Memory(bytes));
                return Ok(());
            }
            Some(body) => body,
            None => return Err(spool_failed(&"an earlier write failed")),
        };
        /// Where the chunk goes: the open file, or a new one that first
        /// takes what was in memory (cloning the envelope only then).
        enum Target {
            File(SpoolWriter),
            Spill(Vec<u8>, QueueId, cordon_store::Envelope, Spool),
        }
        let target = match body {
            Body::File(file) => Target::File(file),
            Body::Memory(bytes) => {
                Target::Spill(bytes, self.id, self.envelope.clone(), self.spool.clone())
            }
        };
        let written = tokio::task::spawn_blocking(move || {
            let mut file = match target {
                Target::File(file) => file,
                // Too large for memory: from here on, into the spool file.
                Target::Spill(bytes, id, envelope, spool) => {
                    let mut file = spool.create(&id, &envelope)?;
                    file.write(&bytes)?;
                    file
                }
            };
            file.write(&chunk)?;
            Ok::<Body, StoreError>(Body::File(file))
        })
        .await;
        match written {
            Ok(Ok(body)) => {
                self.body = Some(body);
                Ok(())
            }
            Ok(Err(e)) => Err(spool_failed(&e)),
            Err(e) => Err(spool_failed(&e)),
        }
    }

    async fn commit(self) -> Result<String, AcceptError> {
        // The spool file is the durable record of acceptance: the queue
        // record is written only when a message needs one (held, rejected,
        // deferred), and a spooled message without one is processed again
        // after a crash.
        let Incoming {
            id,
            envelope,
            body,
            spool,
            audit,
            metrics,
            work,
            unrecorded,
        } = self;
        let Some(body) = body else {
            return Err(spool_failed(&"an earlier write failed"));
        };
        let stored = tokio::task::spawn_blocking(move || {
            let (size, copy) = match body {
                Body::Memory(message) => {
                    spool.append(&id, &envelope, &message)?;
                    (message.len() as u64, Some(message))
                }
                Body::File(file) => {
                    let size = file.size();
                    file.commit()?;
                    (size, None)
                }
            };
            if let Some(audit) = audit {
                let event = Event::new(
                    format!("smtp:{}", envelope.client_ip.as_deref().unwrap_or("")),
                    cordon_audit::Action::Accepted,
                    id.to_string(),
                )
                .with_detail(serde_json::json!({
                    "mail_from": envelope.mail_from,
                    "rcpt_to": envelope.rcpt_to,
                    "size": size,
                    "helo": envelope.helo,
                }));
                // The spool file is the record of acceptance; an audit
                // write that fails is logged, never a reason to refuse mail.
                if let Err(e) = audit.append(event) {
                    tracing::error!(queue_id = %id, error = %e, "cannot append to the audit log");
                }
            }
            Ok::<_, StoreError>(copy.map(|message| SpooledCopy { envelope, message }))
        })
        .await;
        match stored {
            Ok(Ok(copy)) => {
                metrics.accepted.inc();
                unrecorded.insert(id, copy);
                work.push(id);
                Ok(id.to_string())
            }
            Ok(Err(e)) => Err(spool_failed(&e)),
            Err(e) => Err(spool_failed(&e)),
        }
    }
}

/// Appends `events` in order; a failure is logged, never a reason to stop
/// handling mail.
fn append_all(audit: &AuditLog, events: Vec<Event>) {
    for event in events {
        if let Err(e) = audit.append(event) {
            tracing::error!(error = %e, "cannot append to the audit log");
        }
    }
}

/// Logs why an incoming message cannot be spooled and tells the client to
/// try again later.
fn spool_failed(error: &dyn std::fmt::Display) -> AcceptError {
    tracing::error!(%error, "cannot spool an incoming message");
    AcceptError::Temporary("cannot store the message now, try again later".into())
}

#[cfg(test)]
mod tests;
