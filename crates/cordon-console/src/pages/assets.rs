//! What is served without a session: the stylesheet, the metrics and the
//! not-found answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Console;
use crate::auth::current_session;

/// The console's stylesheet.
const STYLESHEET: &str = include_str!("../static/console.css");

/// `GET /static/console.css`.
pub(crate) async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response()
}

/// `GET /metrics`: the gateway's Prometheus metrics. Deliberately served
/// without authentication, so that Prometheus can scrape it: it holds
/// counts only (messages, decisions, queue sizes), never addresses,
/// subjects or content.
pub(crate) async fn metrics(State(console): State<Arc<Console>>) -> Response {
    let metrics = Arc::clone(&console.metrics);
    match tokio::task::spawn_blocking(move || metrics()).await {
        Ok(text) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Anything else: 404, as JSON under `/api/`, as a page otherwise.
pub(crate) async fn not_found(
    State(console): State<Arc<Console>>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if uri.path().starts_with("/api/") {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response();
    }
    let session = current_session(&headers, &console).await;
    super::problem(
        &console,
        session.as_ref(),
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
        Some("/".to_owned()),
    )
}
