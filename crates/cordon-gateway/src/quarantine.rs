//! Decisions on held messages: an officer's release or reject, or expiry.
//! The store records the decision and moves the held recipients on in one
//! atomic change; the queue then carries it out (deliver, or tell the
//! sender), also after a crash.

use std::sync::Arc;

use cordon_audit::{Action as AuditAction, Event};
use cordon_relay::Transport;
use cordon_store::{Decision, QuarantineRecord, QuarantineState, QueueId, StoreError};

use crate::{Gateway, now};

/// Who expiry is recorded as having been decided by.
pub const EXPIRY_ACTOR: &str = "gateway (quarantine expiry)";

impl<T: Transport> Gateway<T> {
    /// Decides held entry `id` and queues its message so that the decision
    /// is carried out and the sender told. [`StoreError::AlreadyDecided`] if
    /// someone decided first: a decision is made once. A release of a
    /// message whose spool file is damaged is refused with
    /// [`StoreError::DamagedSpool`] and the entry stays held: nothing could
    /// be delivered.
    pub async fn decide(
        self: &Arc<Self>,
        id: QueueId,
        decision: Decision,
        by: &str,
        note: Option<&str>,
    ) -> Result<QuarantineRecord, StoreError> {
        if decision == Decision::Release {
            self.check_releasable(id).await?;
        }
        let record = self
            .store
            .decide_quarantine(&id, decision, by, note, now())
            .await?;
        tracing::info!(
            quarantine_id = %id,
            decision = record.state.as_str(),
            by = record.decided_by.as_deref().unwrap_or(""),
            "quarantine decision"
        );
        if decision == Decision::Expire {
            // Officers' decisions are audited by the console, which knows
            // who and why; expiry is the gateway's own.
            self.audit(
                Event::new(
                    EXPIRY_ACTOR,
                    AuditAction::Expire,
                    record.message_id.to_string(),
                )
                .with_detail(serde_json::json!({ "recipients": record.recipients })),
            )
            .await;
        }
        self.work.push(record.message_id);
        Ok(record)
    }

    /// Checks that held entry `id` can be released: its message's spool
    /// file is whole. An entry that is unknown or no longer held passes
    /// here and is refused by the decision itself.
    async fn check_releasable(self: &Arc<Self>, id: QueueId) -> Result<(), StoreError> {
        let Some(entry) = self.store.get_quarantine(&id).await? else {
            return Ok(());
        };
        if entry.state != QuarantineState::Held {
            return Ok(());
        }
        let checked = self
            .store
            .verify_releasable(&self.spool, &entry.message_id)
            .await;
        if let Err(StoreError::DamagedSpool { problem, .. }) = &checked {
            self.report_damaged(entry.message_id, problem.clone());
        }
        if let Err(StoreError::DamagedSpool { problem, .. }) = &checked {
            tracing::error!(quarantine_id = %id, %problem, "release refused: the spool file is damaged; the message stays held");
        }
        checked
    }

    /// Expires every held entry past its expiry time, a batch at a time
    /// from the store's expiry index.
    pub(crate) async fn expire_due(self: Arc<Self>) {
        const BATCH: usize = 200;
        let at = now();
        loop {
            let due = match self.store.expiring(at, BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the quarantine");
                    return;
                }
            };
            let mut progressed = false;
            for entry in &due {
                match self
                    .decide(entry.id, Decision::Expire, EXPIRY_ACTOR, None)
                    .await
                {
                    Ok(_) | Err(StoreError::AlreadyDecided { .. }) => progressed = true,
                    Err(e) => {
                        tracing::error!(quarantine_id = %entry.id, error = %e, "cannot expire");
                    }
                }
            }
            // A full batch all decided: there may be more. Otherwise the
            // next tick tries again (an entry that could not be expired
            // stays first in the index).
            if due.len() < BATCH || !progressed {
                return;
            }
        }
    }
}
