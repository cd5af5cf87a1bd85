//! The server-rendered pages, one module per page, and what they share:
//! the signed-in user as the layout shows them, and error pages.

pub(crate) mod assets;
pub(crate) mod decisions;
pub(crate) mod login;
pub(crate) mod message;
pub(crate) mod overview;
pub(crate) mod queue;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cordon_accounts::Session;
use minijinja::Value;
use serde::Serialize;

use crate::Console;
use crate::error::ConsoleError;

/// The signed-in user as the layout and the forms need them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UserView {
    /// The account name.
    pub name: String,
    /// `officer` or `auditor`.
    pub role: String,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// Whether decision forms are shown.
    pub can_decide: bool,
}

impl UserView {
    /// The view of `session`.
    pub(crate) fn of(session: &Session) -> UserView {
        UserView {
            name: session.name.clone(),
            role: session.role.to_string(),
            csrf: session.csrf_token.clone(),
            can_decide: session.role.can_decide(),
        }
    }
}

/// Renders `template` with `context` as a response with `status`; an
/// internal error page if rendering fails.
pub(crate) fn render(
    console: &Console,
    status: StatusCode,
    template: &str,
    context: Value,
) -> Response {
    match console.templates.render(template, context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => internal(console, None, &e),
    }
}

/// A page saying what went wrong and what to do, with `status`.
pub(crate) fn problem(
    console: &Console,
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    message: &str,
    back: Option<String>,
) -> Response {
    let context = minijinja::context! {
        user => session.map(UserView::of),
        title => title,
        message => message,
        back => back,
    };
    match console.templates.render("problem.html", context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the problem page");
            (status, message.to_owned()).into_response()
        }
    }
}

/// Logs `error` and answers with a generic error page (500): internals are
/// never shown.
pub(crate) fn internal(
    console: &Console,
    session: Option<&Session>,
    error: &ConsoleError,
) -> Response {
    tracing::error!(error = %error, "console request failed");
    problem(
        console,
        session,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The console could not complete this request. The error has been logged; try again, and tell the administrator if it keeps happening.",
        None,
    )
}

/// The page for a quarantine reference that does not exist.
pub(crate) fn not_found(console: &Console, session: Option<&Session>) -> Response {
    problem(
        console,
        session,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no quarantined message with this reference.",
        Some("/quarantine".to_owned()),
    )
}

/// The value of form field `name` (the first one given).
pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
