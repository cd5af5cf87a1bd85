//! Refused requests in the audit log: a request refused for want of
//! authority (API 401, a role that may not, a missing or wrong CSRF token,
//! a login form from another site) is as telling as one that succeeds.
//!
//! The handler that refuses marks its response with [`Refused`]; the
//! [`audit_refusals`] middleware writes a `refused` entry for each marked
//! response, with the path as the subject, and the client's address.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use cordon_audit::{Action, Event};
use serde_json::json;

use crate::Console;
use crate::auth::ClientIp;
use crate::runtime::blocking;

/// Marks a response as a refusal to be audited.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    /// Who was refused, as the audit log names them (`officer:NAME`), if
    /// known; otherwise the entry names the client's address.
    pub actor: Option<String>,
    /// Why, in a few words.
    pub reason: &'static str,
}

impl Refused {
    /// Marks `response` as refused for `reason`, to `actor` if known.
    pub(crate) fn mark(
        mut response: Response,
        actor: Option<String>,
        reason: &'static str,
    ) -> Response {
        response.extensions_mut().insert(Refused { actor, reason });
        response
    }
}

/// Writes a `refused` audit entry for every response marked [`Refused`];
/// a failure to write is logged (the refusal itself stands).
pub(crate) async fn audit_refusals(
    State(console): State<Arc<Console>>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path: String = request.uri().path().chars().take(512).collect();
    let response = next.run(request).await;
    if let Some(refused) = response.extensions().get::<Refused>() {
        let actor = refused
            .actor
            .clone()
            .unwrap_or_else(|| format!("client:{ip}"));
        let event = Event::new(actor, Action::Refused, path).with_detail(json!({
            "ip": ip.to_string(),
            "method": method,
            "status": response.status().as_u16(),
            "reason": refused.reason,
        }));
        let log = Arc::clone(&console.audit);
        if let Err(e) = blocking(move || log.append(event)).await {
            tracing::error!(error = %e, "cannot write a refused request to the audit log");
        }
    }
    response
}
