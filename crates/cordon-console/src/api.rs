//! The JSON API under `/api/`, for scripts and the command line.
//!
//! Authenticated only by `Authorization: Bearer <token>` ([`ApiUser`]); no
//! cookie is read, so no CSRF token is needed. Times are Unix seconds.
//! Errors are `{"error": "..."}` with a fitting status; internal failures
//! are logged and answered with a generic 500.
//!
//! - `GET /api/quarantine?state=&rule=&sender=&domain=&from=&to=&q=&limit=&before=`:
//!   `{"items": [...], "next": ...}`, newest first, `limit` items (default
//!   100, at most 1000); filters as on the queue page (the state defaults
//!   to `held`, `all` for every state). `next` is null on the last page,
//!   otherwise the `before` that asks for the next one.
//! - `GET /api/quarantine/{id}`: the entry with `findings`, `reasons` and
//!   `audit` (audited as a `view`); `damaged` is true for a held entry
//!   whose held copy is damaged (it cannot be released).
//! - `POST /api/quarantine/{id}/release` and `/reject` with
//!   `{"note": "..."}`: the updated entry (200), or for the first half of a
//!   four-eyes release the entry with `"waiting_for_second_officer": true`
//!   (202); 400 bad note, 403 not allowed, 404 unknown, 409 already decided
//!   or (release) the held copy is damaged.
//! - `GET /api/audit?subject=ID`: `{"entries": [...]}`, oldest first.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cordon_audit::{Action, Event};
use cordon_store::{MAX_PAGE, QueueId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Console;
use crate::auth::ApiUser;
use crate::decide::{self, Outcome, Refusal, Verb};
use crate::error::ConsoleError;
use crate::filters::Filter;
use crate::model;
use crate::refusals::Refused;
use crate::runtime::blocking;

/// Items in one answer of `GET /api/quarantine` unless `limit` says.
const DEFAULT_LIMIT: usize = 100;

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The generic answer to an internal failure (already logged).
pub(crate) fn internal_error() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Logs `e` and answers with [`internal_error`].
fn internal(e: &ConsoleError) -> Response {
    tracing::error!(error = %e, "API request failed");
    internal_error()
}

/// The answer for an unknown or malformed quarantine reference.
fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such quarantine entry")
}

/// `GET /api/quarantine`.
pub(crate) async fn list(
    State(console): State<Arc<Console>>,
    ApiUser(_user): ApiUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let filter = match Filter::from_pairs(&query) {
        Ok(filter) => filter,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let limit = match query.iter().rev().find(|(k, _)| k == "limit") {
        None => DEFAULT_LIMIT,
        Some((_, text)) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("limit must be a number from 1 to {MAX_PAGE}"),
                );
            }
        },
    };
    let page = match console
        .store
        .page_quarantine(filter.query(), filter.before, limit)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(page) => page,
        Err(e) => return internal(&e),
    };
    let items: Vec<Value> = page.records.iter().map(model::item_json).collect();
    let next = page.next.map(|cursor| cursor.to_string());
    Json(json!({ "items": items, "next": next })).into_response()
}

/// `GET /api/quarantine/{id}`.
pub(crate) async fn show(
    State(console): State<Arc<Console>>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<QueueId>() else {
        return not_found();
    };
    let record = match console
        .store
        .get_quarantine(&id)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    };
    let audit = Arc::clone(&console.audit);
    let event =
        Event::new(user.actor(), Action::View, id.to_string()).with_detail(json!({ "via": "api" }));
    let entries = match blocking(move || {
        audit.append(event)?;
        audit.entries_for(&id.to_string())
    })
    .await
    {
        Ok(entries) => entries,
        Err(e) => return internal(&e),
    };
    let mut detail = model::detail_json(&record);
    model::set_field(&mut detail, "audit", json!(entries));
    let damaged = decide::is_damaged(&console, &record).await;
    model::set_field(&mut detail, "damaged", json!(damaged));
    Json(detail).into_response()
}

/// The body of a decision.
#[derive(Debug, Deserialize)]
struct NoteBody {
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/quarantine/{id}/release`.
pub(crate) async fn release(
    State(console): State<Arc<Console>>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    decide_one(console, user, id, Verb::Release, body).await
}

/// `POST /api/quarantine/{id}/reject`.
pub(crate) async fn reject(
    State(console): State<Arc<Console>>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    decide_one(console, user, id, Verb::Reject, body).await
}

async fn decide_one(
    console: Arc<Console>,
    user: crate::auth::User,
    id: String,
    verb: Verb,
    body: Bytes,
) -> Response {
    if let Err(refusal) = decide::check_role(&user) {
        return refused(&user, &refusal);
    }
    let Ok(id) = id.parse::<QueueId>() else {
        return not_found();
    };
    let note = match serde_json::from_slice::<NoteBody>(&body) {
        Ok(body) => body.note.unwrap_or_default(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "send a JSON object with the note: {\"note\": \"why\"}",
            );
        }
    };
    match decide::decide(&console, &user, id, verb, &note).await {
        Ok(Outcome::Decided(record)) => Json(model::item_json(&record)).into_response(),
        Ok(Outcome::Proposed(record)) => {
            let mut item = model::item_json(&record);
            model::set_field(&mut item, "waiting_for_second_officer", json!(true));
            (StatusCode::ACCEPTED, Json(item)).into_response()
        }
        Err(refusal) => refused(&user, &refusal),
    }
}

/// The answer for a refused decision (a 403 is audited).
fn refused(user: &crate::auth::User, refusal: &Refusal) -> Response {
    match refusal {
        Refusal::Internal(_) => internal_error(),
        Refusal::NotFound(_) => not_found(),
        other if other.status() == StatusCode::FORBIDDEN => Refused::mark(
            error(other.status(), &other.to_string()),
            Some(user.actor()),
            other.reason(),
        ),
        other => error(other.status(), &other.to_string()),
    }
}

/// `GET /api/audit?subject=ID`.
pub(crate) async fn audit(
    State(console): State<Arc<Console>>,
    ApiUser(_user): ApiUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let Some(subject) = query
        .iter()
        .rev()
        .find(|(k, _)| k == "subject")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|s| !s.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "give the subject: /api/audit?subject=ID",
        );
    };
    let audit = Arc::clone(&console.audit);
    match blocking(move || audit.entries_for(&subject)).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(e) => internal(&e),
    }
}
