//! The decision forms: release or reject one message, or several at once.
//! Every form must carry the session's CSRF token; the rest is checked in
//! [`crate::decide`].

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cordon_store::QueueId;
use serde::Serialize;

use super::{UserView, field, problem, render};
use crate::Console;
use crate::auth::PageUser;
use crate::decide::{self, Refusal, Verb, capitalised};
use crate::refusals::Refused;

/// The most messages one bulk form may decide.
const MAX_BULK: usize = 500;

/// `POST /quarantine/{id}/release` (form: `note`, `csrf`).
pub(crate) async fn release(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    one(console, user, id, Verb::Release, form).await
}

/// `POST /quarantine/{id}/reject` (form: `note`, `csrf`).
pub(crate) async fn reject(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    one(console, user, id, Verb::Reject, form).await
}

/// Decides one message, then goes back to it (303), or explains why not.
async fn one(
    console: Arc<Console>,
    user: PageUser,
    id: String,
    verb: Verb,
    form: Vec<(String, String)>,
) -> Response {
    if !user
        .session
        .verify_csrf(field(&form, "csrf").unwrap_or_default())
    {
        return csrf_refused(&console, &user);
    }
    let Ok(id) = id.parse::<QueueId>() else {
        return super::not_found(&console, Some(&user.session));
    };
    let note = field(&form, "note").unwrap_or_default();
    match decide::decide(&console, &user.user(), id, verb, note).await {
        Ok(_) => Redirect::to(&format!("/quarantine/{id}")).into_response(),
        Err(refusal) => refused(&console, &user, &refusal, Some(format!("/quarantine/{id}"))),
    }
}

/// The page for a refused decision.
fn refused(
    console: &Console,
    user: &PageUser,
    refusal: &Refusal,
    back: Option<String>,
) -> Response {
    if let Refusal::Internal(e) = refusal {
        return super::internal(console, Some(&user.session), e);
    }
    let message = capitalised(&refusal.to_string()) + ".";
    let page = problem(
        console,
        Some(&user.session),
        refusal.status(),
        "Nothing was decided",
        &message,
        back,
    );
    if refusal.status() == StatusCode::FORBIDDEN {
        Refused::mark(page, Some(user.user().actor()), refusal.reason())
    } else {
        page
    }
}

/// The page for a form without this session's CSRF token (403, audited):
/// nothing was changed.
pub(crate) fn csrf_refused(console: &Console, user: &PageUser) -> Response {
    tracing::warn!(user = %user.session.name, "form refused: missing or wrong CSRF token");
    let page = problem(
        console,
        Some(&user.session),
        StatusCode::FORBIDDEN,
        "Form not accepted",
        "This form was not sent from your current console session, so nothing was changed. Reload the page and try again.",
        Some("/quarantine".to_owned()),
    );
    Refused::mark(
        page,
        Some(user.user().actor()),
        "missing or wrong CSRF token",
    )
}

/// One line of the bulk result page.
#[derive(Debug, Serialize)]
struct BulkResult {
    /// The reference as given.
    id: String,
    /// Whether the reference is a valid one (and so worth a link).
    link: bool,
    /// Whether it was decided (or proposed).
    ok: bool,
    /// What happened.
    text: String,
}

/// `POST /quarantine/bulk` (form: `id` repeated, `action` = `release` or
/// `reject`, `note`, `csrf`): the same decision for each message, one after
/// the other, each reported.
pub(crate) async fn bulk(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !user
        .session
        .verify_csrf(field(&form, "csrf").unwrap_or_default())
    {
        return csrf_refused(&console, &user);
    }
    let back = Some("/quarantine".to_owned());
    let who = user.user();
    let checks = decide::check_role(&who)
        .and_then(|()| decide::check_note(field(&form, "note").unwrap_or_default()).map(|_| ()));
    if let Err(refusal) = checks {
        return refused(&console, &user, &refusal, back);
    }
    let Some(verb) = field(&form, "action").and_then(Verb::parse) else {
        return problem(
            &console,
            Some(&user.session),
            StatusCode::BAD_REQUEST,
            "Nothing was decided",
            "Choose release or reject.",
            back,
        );
    };
    let mut ids: Vec<&str> = Vec::new();
    for (key, value) in &form {
        if key == "id" && !ids.contains(&value.as_str()) {
            ids.push(value);
        }
    }
    if ids.is_empty() {
        return problem(
            &console,
            Some(&user.session),
            StatusCode::BAD_REQUEST,
            "Nothing was decided",
            "No messages were selected: tick the messages to decide.",
            back,
        );
    }
    if ids.len() > MAX_BULK {
        return problem(
            &console,
            Some(&user.session),
            StatusCode::BAD_REQUEST,
            "Nothing was decided",
            &format!(
                "Too many messages selected ({}): decide at most {MAX_BULK} at once.",
                ids.len()
            ),
            back,
        );
    }
    let note = field(&form, "note").unwrap_or_default();
    let mut results = Vec::with_capacity(ids.len());
    for text in ids {
        let shown: String = text.chars().take(40).collect();
        let Ok(id) = text.parse::<QueueId>() else {
            results.push(BulkResult {
                id: shown,
                link: false,
                ok: false,
                text: "Not a quarantine reference.".into(),
            });
            continue;
        };
        let result = match decide::decide(&console, &who, id, verb, note).await {
            Ok(outcome) => BulkResult {
                id: id.to_string(),
                link: true,
                ok: true,
                text: outcome.describe(),
            },
            Err(Refusal::Internal(_)) => BulkResult {
                id: id.to_string(),
                link: true,
                ok: false,
                text: "The console could not complete this one (the error has been logged).".into(),
            },
            Err(refusal) => BulkResult {
                id: id.to_string(),
                link: true,
                ok: false,
                text: capitalised(&refusal.to_string()) + ".",
            },
        };
        results.push(result);
    }
    let done = results.iter().filter(|r| r.ok).count();
    let title = match verb {
        Verb::Release => "Release selected messages",
        Verb::Reject => "Reject selected messages",
    };
    render(
        &console,
        StatusCode::OK,
        "bulk.html",
        minijinja::context! {
            user => UserView::of(&user.session),
            title => title,
            done => done,
            results => results,
        },
    )
}
