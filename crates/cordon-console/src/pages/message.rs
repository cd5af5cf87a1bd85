//! `GET /quarantine/{id}`: one message, as escaped text with its findings
//! highlighted, with its envelope, reasons, attachments, audit trail and
//! (for officers, while held) the decision forms; and
//! `GET /quarantine/{id}/attachments/{n}`: an attachment, as a file only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use cordon_audit::{Action, Entry, Event};
use cordon_extract::{PartKind, TextPart};
use cordon_notify::describe_location;
use cordon_store::{QuarantineRecord, QuarantineState, QueueId, StoreError};
use serde::Serialize;
use serde_json::json;

use super::{UserView, internal, not_found, problem, render};
use crate::Console;
use crate::auth::PageUser;
use crate::decide::{MAX_NOTE_CHARS, capitalised, four_eyes_rules};
use crate::error::ConsoleError;
use crate::highlight::{highlight, is_highlighted, pattern};
use crate::message::{self, Loaded};
use crate::model::{self, Finding};
use crate::runtime::blocking;

/// Most bytes of one text part shown (the rest is cut, and said to be).
const MAX_PART_BYTES: usize = 256 * 1024;

/// Most bytes of text shown in all (later parts are left out).
const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;

/// The page's view of the message.
#[derive(Debug, Serialize)]
struct MessageView {
    id: String,
    subject: Option<String>,
    sender: String,
    recipients: Vec<String>,
    held_at: u64,
    expires_at: u64,
    state: String,
    decided_by: Option<String>,
    decided_at: Option<u64>,
    note: Option<String>,
    proposal: Option<ProposalView>,
    four_eyes: bool,
    four_eyes_rules: Vec<String>,
    can_decide: bool,
    own_proposal: bool,
    release_label: &'static str,
    markings: Vec<String>,
    findings: Vec<FindingView>,
    reasons: Vec<RecipientView>,
    attachments: Vec<AttachmentView>,
    stored: bool,
    unreadable: bool,
    /// The held copy is damaged: it cannot be released.
    damaged: bool,
    headers: String,
    headers_cut: bool,
    parts: Vec<PartView>,
    problems: Vec<String>,
    audit: Vec<AuditView>,
}

#[derive(Debug, Serialize)]
struct ProposalView {
    by: String,
    at: u64,
    note: String,
}

#[derive(Debug, Serialize)]
struct FindingView {
    what: String,
    detector: String,
    category: String,
    place: String,
    count: u64,
    sample: String,
    highlighted: bool,
}

#[derive(Debug, Serialize)]
struct RecipientView {
    address: String,
    domain_class: String,
    action: String,
    reasons: Vec<ReasonView>,
}

#[derive(Debug, Serialize)]
struct ReasonView {
    rule: String,
    action: String,
    policy: String,
    explanation: String,
    evidence: Vec<String>,
}

#[derive(Debug, Serialize)]
struct AttachmentView {
    name: String,
    place: String,
    file_type: String,
    size: String,
    executable: Option<String>,
    download: Option<usize>,
}

#[derive(Debug, Serialize)]
struct PartView {
    title: String,
    /// Escaped text with `<mark>`s: built by [`highlight`], never raw.
    html: String,
    cut: bool,
}

#[derive(Debug, Serialize)]
struct AuditView {
    at: u64,
    actor: String,
    action: String,
    detail: String,
}

/// `GET /quarantine/{id}`.
pub(crate) async fn show(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Path(id): Path<String>,
) -> Response {
    let session = &user.session;
    let Ok(id) = id.parse::<QueueId>() else {
        return not_found(&console, Some(session));
    };
    let record = match console
        .store
        .get_quarantine(&id)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(&console, Some(session)),
        Err(e) => return internal(&console, Some(session), &e),
    };
    let who = user.user();
    let audit = Arc::clone(&console.audit);
    let event = Event::new(who.actor(), Action::View, id.to_string())
        .with_detail(json!({ "via": "console" }));
    let entries = blocking(move || {
        audit.append(event)?;
        audit.entries_for(&id.to_string())
    })
    .await;
    let entries = match entries {
        Ok(entries) => entries,
        // Nothing is shown that could not be audited.
        Err(e) => return internal(&console, Some(session), &e),
    };
    let (loaded, unreadable) = match load(&console, &record).await {
        Ok(loaded) => (loaded, false),
        Err(e) => {
            tracing::error!(quarantine_id = %id, error = %e, "cannot read a held message");
            (None, true)
        }
    };
    let mut view = view(&console, &record, &user, loaded, entries);
    view.unreadable = unreadable;
    view.damaged = crate::decide::is_damaged(&console, &record).await;
    render(
        &console,
        StatusCode::OK,
        "message.html",
        minijinja::context! {
            user => UserView::of(session),
            title => view.subject.clone().unwrap_or_else(|| "(no subject)".to_owned()),
            m => view,
            max_note => MAX_NOTE_CHARS,
        },
    )
}

/// The message's bytes, read and extracted on the blocking pool: `Ok(None)`
/// if the spool file is gone (removed once a decision is carried out),
/// `Err` with the reason (logged) if it cannot be read, so that the page
/// still shows the record and the forms.
async fn load(
    console: &Arc<Console>,
    record: &QuarantineRecord,
) -> Result<Option<Loaded>, ConsoleError> {
    let limits = console.rules.load().limits.clone();
    let bytes = match console
        .store
        .read_message(&console.spool, &record.message_id)
        .await
    {
        Ok((_, bytes)) => bytes,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    blocking(move || Ok::<_, ConsoleError>(Some(message::load(&bytes, &limits)))).await
}

/// Builds the page's view.
fn view(
    console: &Console,
    record: &QuarantineRecord,
    user: &PageUser,
    loaded: Option<Loaded>,
    entries: Vec<Entry>,
) -> MessageView {
    let findings = model::findings(record);
    let held = record.state == QuarantineState::Held;
    let rules = four_eyes_rules(console, record);
    let own_proposal = record
        .release_proposal
        .as_ref()
        .is_some_and(|p| p.by == user.session.name);
    let release_label = match (&record.release_proposal, rules.is_empty()) {
        (_, true) => "Release",
        (None, false) => "Propose release (a second officer must confirm)",
        (Some(_), false) => "Confirm release (second officer)",
    };
    let mut view = MessageView {
        id: record.id.to_string(),
        subject: record.subject.clone(),
        sender: record.sender.clone(),
        recipients: record.recipients.clone(),
        held_at: record.held_at,
        expires_at: record.expires_at,
        state: record.state.to_string(),
        decided_by: record.decided_by.clone(),
        decided_at: record.decided_at,
        note: record.note.clone(),
        proposal: record.release_proposal.as_ref().map(|p| ProposalView {
            by: p.by.clone(),
            at: p.at,
            note: p.note.clone(),
        }),
        four_eyes: !rules.is_empty(),
        four_eyes_rules: rules,
        can_decide: held && user.session.role.can_decide(),
        own_proposal,
        release_label,
        markings: findings
            .iter()
            .filter(|f| f.detector == "marking")
            .map(|f| format!("{} {}", f.sample, describe_location(&f.location)))
            .collect(),
        findings: findings.iter().map(|f| finding_view(console, f)).collect(),
        reasons: reasons_view(console, record),
        attachments: Vec::new(),
        stored: loaded.is_some(),
        unreadable: false,
        damaged: false,
        headers: String::new(),
        headers_cut: false,
        parts: Vec::new(),
        problems: Vec::new(),
        audit: entries.into_iter().map(audit_view).collect(),
    };
    if let Some(loaded) = loaded {
        view.attachments = attachments_view(&loaded);
        view.parts = parts_view(&loaded, &findings);
        view.problems = loaded
            .extraction
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    capitalised(&describe_location(&p.location)),
                    p.reason
                )
            })
            .collect();
        view.headers = loaded.headers;
        view.headers_cut = loaded.headers_cut;
    }
    view
}

fn finding_view(console: &Console, f: &Finding) -> FindingView {
    let count = usize::try_from(f.count).unwrap_or(usize::MAX);
    let what = console
        .rules
        .load()
        .detector_nouns
        .describe_detector(&f.detector, count);
    FindingView {
        what: capitalised(&what),
        detector: f.detector.clone(),
        category: f.category.clone(),
        place: describe_location(&f.location),
        count: f.count,
        sample: f.sample.clone(),
        highlighted: is_highlighted(&f.detector),
    }
}

fn reasons_view(console: &Console, record: &QuarantineRecord) -> Vec<RecipientView> {
    let rules = console.rules.load();
    model::reasons(record)
        .into_iter()
        .map(|r| RecipientView {
            address: r.address,
            domain_class: r
                .domain_class
                .map_or_else(String::new, |c| c.as_str().to_owned()),
            action: r.action.as_str().to_owned(),
            reasons: r
                .reasons
                .into_iter()
                .map(|reason| ReasonView {
                    evidence: reason
                        .evidence
                        .iter()
                        .map(|e| {
                            let count = usize::try_from(e.count).unwrap_or(usize::MAX).max(1);
                            capitalised(&rules.detector_nouns.describe_evidence(
                                &e.detector,
                                &e.location,
                                &e.sample,
                                count,
                            ))
                        })
                        .collect(),
                    rule: reason.rule,
                    action: reason.action.as_str().to_owned(),
                    policy: reason.policy,
                    explanation: reason.explanation,
                })
                .collect(),
        })
        .collect()
}

/// Every file the extractor found, the message's own attachments with
/// their download index; attachments the extractor did not reach are
/// listed too.
fn attachments_view(loaded: &Loaded) -> Vec<AttachmentView> {
    let mut used = vec![false; loaded.attachments.len()];
    let mut out = Vec::new();
    for file in &loaded.extraction.attachments {
        let download = if file.depth == 0 {
            loaded
                .attachments
                .iter()
                .enumerate()
                .find(|(i, a)| {
                    !used.get(*i).copied().unwrap_or(true) && a.location == file.location
                })
                .map(|(i, a)| {
                    if let Some(slot) = used.get_mut(i) {
                        *slot = true;
                    }
                    a.index
                })
        } else {
            None
        };
        out.push(AttachmentView {
            name: file.name.clone().unwrap_or_else(|| "(unnamed)".to_owned()),
            place: if file.depth == 0 {
                String::new()
            } else {
                describe_location(&file.location)
            },
            file_type: serde_json::to_value(file.file_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
                .replace('_', " "),
            size: size(file.size),
            executable: file.executable.clone(),
            download,
        });
    }
    for (i, a) in loaded.attachments.iter().enumerate() {
        if !used.get(i).copied().unwrap_or(true) {
            out.push(AttachmentView {
                name: a.name.clone().unwrap_or_else(|| "(unnamed)".to_owned()),
                place: String::new(),
                file_type: "not inspected".to_owned(),
                size: size(a.size),
                executable: None,
                download: Some(a.index),
            });
        }
    }
    out
}

/// The extracted text parts, escaped and highlighted, within the size
/// limits.
fn parts_view(loaded: &Loaded, findings: &[Finding]) -> Vec<PartView> {
    let mut budget = MAX_TEXT_BYTES;
    let mut out = Vec::new();
    for part in &loaded.extraction.parts {
        if budget == 0 {
            break;
        }
        let limit = MAX_PART_BYTES.min(budget);
        let (text, cut) = truncate(&part.text, limit);
        budget = budget.saturating_sub(text.len());
        let patterns: Vec<_> = findings
            .iter()
            .filter(|f| f.location == part.location)
            .filter_map(pattern)
            .collect();
        out.push(PartView {
            title: part_title(part),
            html: highlight(text, &patterns),
            cut,
        });
    }
    out
}

/// The heading of a text part: where it stands, in words ("The message
/// body", "Name of the attachment notes.txt").
fn part_title(part: &TextPart) -> String {
    let place = describe_location(&part.location);
    let place = place.strip_prefix("in ").unwrap_or(&place);
    match part.kind {
        PartKind::FileName => format!("Name of {place}"),
        _ => capitalised(place),
    }
}

/// `text` cut to at most `max` bytes at a character boundary, and whether
/// it was cut.
fn truncate(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    (text.get(..end).unwrap_or_default(), true)
}

/// A size in words: "512 bytes", "12.3 KB", "4.1 MB".
fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

fn audit_view(entry: Entry) -> AuditView {
    let detail = match entry.detail.get("note").and_then(|n| n.as_str()) {
        Some(note) if entry.detail.len() == 1 => note.to_owned(),
        _ if entry.detail.is_empty() => String::new(),
        _ => serde_json::Value::Object(entry.detail).to_string(),
    };
    AuditView {
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        detail,
    }
}

/// `GET /quarantine/{id}/attachments/{n}`: the attachment's bytes as an
/// opaque file download (never displayed by the browser), audited.
pub(crate) async fn download(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let session = &user.session;
    let (Ok(id), Ok(index)) = (id.parse::<QueueId>(), n.parse::<usize>()) else {
        return not_found(&console, Some(session));
    };
    let record = match console
        .store
        .get_quarantine(&id)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(&console, Some(session)),
        Err(e) => return internal(&console, Some(session), &e),
    };
    let found = match console
        .store
        .read_message(&console.spool, &record.message_id)
        .await
    {
        Ok((_, bytes)) => {
            blocking(move || Ok::<_, ConsoleError>(Some(message::attachment(&bytes, index)))).await
        }
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    };
    let (name, bytes) = match found {
        Ok(Some(Some(file))) => file,
        Ok(Some(None)) => {
            return problem(
                &console,
                Some(session),
                StatusCode::NOT_FOUND,
                "Not found",
                "This message has no such attachment.",
                Some(format!("/quarantine/{id}")),
            );
        }
        Ok(None) => {
            return problem(
                &console,
                Some(session),
                StatusCode::NOT_FOUND,
                "No longer stored",
                "The message itself is no longer stored: it is removed once a decision has been carried out.",
                Some(format!("/quarantine/{id}")),
            );
        }
        Err(e) => return internal(&console, Some(session), &e),
    };
    let audit = Arc::clone(&console.audit);
    let event = Event::new(user.user().actor(), Action::Download, id.to_string())
        .with_detail(json!({ "attachment": name, "index": index, "bytes": bytes.len() }));
    if let Err(e) = blocking(move || audit.append(event)).await {
        // Nothing leaves that could not be audited.
        return internal(&console, Some(session), &e);
    }
    (
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("abc", 5), ("abc", false));
        assert_eq!(truncate("aéb", 2), ("a", true));
        assert_eq!(truncate("aéb", 3), ("aé", true));
        assert_eq!(truncate("é", 0), ("", true));
    }

    #[test]
    fn sizes_read_as_words() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(12_345), "12.3 KB");
        assert_eq!(size(4_100_000), "4.1 MB");
    }
}
