//! Releasing and rejecting held messages: the one place that checks who may
//! decide, the note and the four-eyes rule, asks [`crate::Decisions`] to
//! carry the decision out and writes the audit entry. The pages (single and
//! bulk) and the API all come here.

use std::sync::Arc;

use axum::http::StatusCode;
use cordon_audit::{Action, Event};
use cordon_store::{
    Decision, QuarantineRecord, QuarantineState, QueueId, ReleaseProposal, StoreError,
};
use serde_json::json;

use crate::Console;
use crate::auth::User;
use crate::error::ConsoleError;
use crate::model;
use crate::runtime::{blocking, now};

/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What an officer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    /// Deliver to the held recipients (with four eyes where required).
    Release,
    /// Do not deliver; tell the sender.
    Reject,
}

impl Verb {
    /// `release` or `reject`.
    pub(crate) fn parse(text: &str) -> Option<Verb> {
        match text {
            "release" => Some(Verb::Release),
            "reject" => Some(Verb::Reject),
            _ => None,
        }
    }

    fn action(self) -> Action {
        match self {
            Verb::Release => Action::Release,
            Verb::Reject => Action::Reject,
        }
    }

    fn decision(self) -> Decision {
        match self {
            Verb::Release => Decision::Release,
            Verb::Reject => Decision::Reject,
        }
    }
}

/// What came of a request to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Decided: the entry as it now stands.
    Decided(QuarantineRecord),
    /// The first half of a four-eyes release: still held, waiting for a
    /// second officer.
    Proposed(QuarantineRecord),
}

impl Outcome {
    /// One line for a person: what happened.
    pub(crate) fn describe(&self) -> String {
        match self {
            Outcome::Decided(record) => format!("{}.", capitalised(record.state.as_str())),
            Outcome::Proposed(_) => {
                "Release proposed: waiting for a second officer to confirm it.".to_owned()
            }
        }
    }
}

/// Why nothing was decided. The text is written for the officer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// The note is missing or too long.
    #[error("{0}")]
    BadNote(String),
    /// The role may not decide.
    #[error("your role ({0}) may view messages but not release or reject them")]
    NotAllowed(cordon_accounts::Role),
    /// The officer tried to confirm their own release proposal.
    #[error("you proposed this release yourself: a second officer must confirm it (four eyes)")]
    OwnProposal,
    /// No such entry.
    #[error("there is no quarantined message {0}")]
    NotFound(String),
    /// The held copy is damaged: a release could deliver nothing. (What is
    /// wrong is in the gateway's log, as for any damaged spool file.)
    #[error(
        "the stored copy of this message is damaged: it cannot be released and stays held; reject it and ask the sender to send it again"
    )]
    Damaged,
    /// Someone decided first.
    #[error("this message has already been {state} by {by}; nothing was changed")]
    AlreadyDecided {
        /// The state it is in.
        state: QuarantineState,
        /// Who decided.
        by: String,
    },
    /// Something behind the console failed (logged; not shown).
    #[error("internal error")]
    Internal(#[from] ConsoleError),
}

impl Refusal {
    /// Why, in a few words, for the audit log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::BadNote(_) => "bad note",
            Refusal::NotAllowed(_) => "role may not decide",
            Refusal::OwnProposal => "confirming own release proposal",
            Refusal::NotFound(_) => "no such message",
            Refusal::Damaged => "stored copy damaged",
            Refusal::AlreadyDecided { .. } => "already decided",
            Refusal::Internal(_) => "internal error",
        }
    }

    /// The HTTP status that goes with it.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::BadNote(_) => StatusCode::BAD_REQUEST,
            Refusal::NotAllowed(_) | Refusal::OwnProposal => StatusCode::FORBIDDEN,
            Refusal::NotFound(_) => StatusCode::NOT_FOUND,
            Refusal::AlreadyDecided { .. } | Refusal::Damaged => StatusCode::CONFLICT,
            Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The note, trimmed, if it is acceptable: not empty, at most
/// [`MAX_NOTE_CHARS`] characters.
pub(crate) fn check_note(note: &str) -> Result<String, Refusal> {
    let note = note.trim();
    if note.is_empty() {
        return Err(Refusal::BadNote(
            "a note is required: say why the message may or may not go".to_owned(),
        ));
    }
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(Refusal::BadNote(format!(
            "the note is too long ({chars} characters): at most {MAX_NOTE_CHARS}"
        )));
    }
    Ok(note.to_owned())
}

/// Checks that `user` may decide at all (before any note or entry is looked
/// at).
pub(crate) fn check_role(user: &User) -> Result<(), Refusal> {
    if user.role.can_decide() {
        Ok(())
    } else {
        Err(Refusal::NotAllowed(user.role))
    }
}

/// The rules of `record` that require four eyes for a release.
pub(crate) fn four_eyes_rules(console: &Console, record: &QuarantineRecord) -> Vec<String> {
    let rules = console.rules.load();
    model::rules(record)
        .into_iter()
        .filter(|rule| rules.four_eyes_rules.contains(rule))
        .collect()
}

/// Releases or rejects entry `id` as `user` with `note` (see the module
/// documentation). A release of an entry held by a four-eyes rule is first
/// proposed, then carried out when a different officer confirms it.
pub(crate) async fn decide(
    console: &Arc<Console>,
    user: &User,
    id: QueueId,
    verb: Verb,
    note: &str,
) -> Result<Outcome, Refusal> {
    check_role(user)?;
    let note = check_note(note)?;
    let record = console
        .store
        .get_quarantine(&id)
        .await
        .map_err(ConsoleError::from)?
        .ok_or_else(|| Refusal::NotFound(id.to_string()))?;
    if record.state != QuarantineState::Held {
        return Err(already_decided(&record));
    }
    // Refused before any proposal: a second officer could not release it either.
    if verb == Verb::Release && is_damaged(console, &record).await {
        return Err(Refusal::Damaged);
    }
    let four_eyes = verb == Verb::Release && !four_eyes_rules(console, &record).is_empty();
    let mut detail = json!({ "note": note });
    if four_eyes {
        match &record.release_proposal {
            None => {
                let proposal = ReleaseProposal {
                    by: user.name.clone(),
                    at: now(),
                    note: note.clone(),
                };
                let proposed = match console
                    .store
                    .propose_release(&id, proposal)
                    .await
                    .map_err(ConsoleError::from)
                {
                    Ok(record) => record,
                    Err(e) => return Err(refusal(e, id, console).await),
                };
                model::set_field(&mut detail, "four_eyes", json!("proposed"));
                record_audit(console, user, verb, id, detail).await;
                return Ok(Outcome::Proposed(proposed));
            }
            Some(proposal) if proposal.by == user.name => return Err(Refusal::OwnProposal),
            Some(proposal) => {
                model::set_field(&mut detail, "four_eyes", json!("confirmed"));
                model::set_field(&mut detail, "proposed_by", json!(proposal.by));
            }
        }
    }
    let decided = console
        .decisions
        .decide(id, verb.decision(), user.name.clone(), Some(note))
        .await;
    match decided {
        Ok(record) => {
            record_audit(console, user, verb, id, detail).await;
            Ok(Outcome::Decided(record))
        }
        Err(e) => Err(refusal(ConsoleError::Store(e), id, console).await),
    }
}

/// Whether entry `record` is held and its held copy is damaged
/// ([`cordon_store::Store::verify_releasable`]; what is wrong is in the gateway's
/// log): the entry is flagged, and a release would be refused. A failure to
/// check is logged and flags nothing.
pub(crate) async fn is_damaged(console: &Arc<Console>, record: &QuarantineRecord) -> bool {
    if record.state != QuarantineState::Held {
        return false;
    }
    match console
        .store
        .verify_releasable(&console.spool, &record.message_id)
        .await
    {
        Ok(()) => false,
        Err(StoreError::DamagedSpool { .. }) => true,
        Err(e) => {
            tracing::error!(quarantine_id = %record.id, error = %e, "cannot check a held message's copy");
            false
        }
    }
}

/// The refusal for an entry that is no longer held.
fn already_decided(record: &QuarantineRecord) -> Refusal {
    Refusal::AlreadyDecided {
        state: record.state,
        by: record
            .decided_by
            .clone()
            .unwrap_or_else(|| "someone else".to_owned()),
    }
}

/// The refusal for a failed store call: someone decided first (looked up,
/// to say who), the entry is gone, or an internal error (logged).
async fn refusal(error: ConsoleError, id: QueueId, console: &Arc<Console>) -> Refusal {
    match error {
        ConsoleError::Store(StoreError::AlreadyDecided { state, .. }) => {
            match console
                .store
                .get_quarantine(&id)
                .await
                .map_err(ConsoleError::from)
            {
                Ok(Some(record)) => already_decided(&record),
                _ => Refusal::AlreadyDecided {
                    state,
                    by: "someone else".to_owned(),
                },
            }
        }
        ConsoleError::Store(StoreError::DamagedSpool { .. }) => Refusal::Damaged,
        ConsoleError::Store(e) if e.is_not_found() => Refusal::NotFound(id.to_string()),
        e => {
            tracing::error!(quarantine_id = %id, error = %e, "a decision failed");
            Refusal::Internal(e)
        }
    }
}

/// Writes the decision's audit entry durably. The decision stands either
/// way (the store records who and when); a failure is logged loudly.
async fn record_audit(
    console: &Arc<Console>,
    user: &User,
    verb: Verb,
    id: QueueId,
    detail: serde_json::Value,
) {
    let audit = Arc::clone(&console.audit);
    let event = Event::new(user.actor(), verb.action(), id.to_string()).with_detail(detail);
    if let Err(e) = blocking(move || audit.append_durable(event)).await {
        tracing::error!(quarantine_id = %id, error = %e, "cannot write the audit entry of a decision");
    }
}

/// `text` with its first letter in upper case.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_required_and_bounded() {
        assert!(matches!(check_note(""), Err(Refusal::BadNote(_))));
        assert!(matches!(check_note(" \n\t "), Err(Refusal::BadNote(_))));
        assert_eq!(check_note("  ok \n").unwrap(), "ok");
        assert!(check_note(&"é".repeat(MAX_NOTE_CHARS)).is_ok());
        let err = check_note(&"x".repeat(MAX_NOTE_CHARS + 1)).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("at most 2000"), "{err}");
    }

    #[test]
    fn only_officers_decide() {
        let officer = User {
            name: "a".into(),
            role: cordon_accounts::Role::Officer,
        };
        let auditor = User {
            name: "b".into(),
            role: cordon_accounts::Role::Auditor,
        };
        assert!(check_role(&officer).is_ok());
        assert_eq!(
            check_role(&auditor).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn verbs_and_statuses() {
        assert_eq!(Verb::parse("release"), Some(Verb::Release));
        assert_eq!(Verb::parse("reject"), Some(Verb::Reject));
        assert_eq!(Verb::parse("expire"), None);
        assert_eq!(Refusal::OwnProposal.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Refusal::NotFound("x".into()).status(),
            StatusCode::NOT_FOUND
        );
        let err = Refusal::AlreadyDecided {
            state: QuarantineState::Released,
            by: "officer.k".into(),
        };
        assert_eq!(err.status(), StatusCode::CONFLICT);
        assert_eq!(
            err.to_string(),
            "this message has already been released by officer.k; nothing was changed"
        );
        assert_eq!(capitalised("rejected"), "Rejected");
        let damaged = Refusal::Damaged;
        assert_eq!(damaged.status(), StatusCode::CONFLICT);
        assert!(
            damaged
                .to_string()
                .contains("damaged: it cannot be released and stays held"),
            "{damaged}"
        );
    }
}
