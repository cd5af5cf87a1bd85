//! Signing in and out.
//!
//! `POST /login` reserves an attempt with the limiter first (a locked name
//! or address is refused without looking at the password; the attempt
//! counts from then on, so concurrent guesses cannot outrun the limit),
//! then checks the password (argon2, on the blocking pool, at most one
//! check per core at once; the limiter and the session table are used on
//! the blocking pool too, since either may be a database); every failure counts against the name and the
//! address and is audited as `login-failed`, every success as `login`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cordon_accounts::{Attempt, MAX_NAME_LEN, MAX_PASSWORD_CHARS};
use cordon_audit::{Action, Event};
use serde_json::json;

use super::{UserView, field, internal, render};
use crate::Console;
use crate::auth::{
    ClientIp, PageUser, cleared_cookie, current_session, same_origin, session_cookie,
};
use crate::refusals::Refused;
use crate::runtime::{blocking, now};

/// The one message for a wrong name or password: it does not say which.
const WRONG: &str = "The user name or password is not right. Check them and try again.";

/// The answer to a login form not sent from the console's own page.
const FOREIGN: &str = "This sign-in form was not sent from the console's own page, so it was not accepted. Open the console's address and sign in there.";

/// The answer when every password check slot stayed busy for [`HASH_WAIT`].
const BUSY: &str = "The console is busy signing people in. Try again in a moment.";

/// How long a login waits for a password check slot before it is answered
/// 503.
const HASH_WAIT: Duration = Duration::from_secs(10);

/// `GET /login`: the sign-in form (or the overview, if already signed in).
pub(crate) async fn form(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if current_session(&headers, &console).await.is_some() {
        return Redirect::to("/").into_response();
    }
    login_page(&console, StatusCode::OK, "", None)
}

/// The sign-in page with `name` filled in and `error` shown.
fn login_page(console: &Console, status: StatusCode, name: &str, error: Option<&str>) -> Response {
    render(
        console,
        status,
        "login.html",
        minijinja::context! {
            user => None::<UserView>,
            title => "Sign in",
            name => name,
            error => error,
        },
    )
}

/// `POST /login` (form: `name`, `password`).
pub(crate) async fn submit(
    State(console): State<Arc<Console>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let name = field(&form, "name").unwrap_or_default().trim().to_owned();
    let password = field(&form, "password").unwrap_or_default().to_owned();
    // What the audit log records of the name given: bounded.
    let shown: String = name.chars().take(MAX_NAME_LEN).collect();
    if !same_origin(&headers) {
        return Refused::mark(
            login_page(&console, StatusCode::FORBIDDEN, "", Some(FOREIGN)),
            None,
            "login form not sent from the console's own page (Sec-Fetch-Site/Origin/Referer)",
        );
    }
    let now = now();
    let (limiter, reserved_name) = (Arc::clone(&console.limiter), name.clone());
    let attempt = match blocking(move || limiter.reserve(&reserved_name, ip, now)).await {
        Ok(Ok(attempt)) => HeldAttempt(Some(attempt)),
        Ok(Err(retry)) => return locked_out(&console, ip, &shown, retry.0).await,
        Err(e) => return internal(&console, None, &e),
    };
    let account = if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || password.is_empty()
        || password.chars().count() > MAX_PASSWORD_CHARS
    {
        None
    } else {
        // At most one argon2 check per core at once (each takes ~19 MiB and
        // a core for a while): later logins wait their turn, and are
        // answered 503 if the wait is long.
        let permit =
            match tokio::time::timeout(HASH_WAIT, Arc::clone(&console.hash_slots).acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => {
                    drop(attempt);
                    return login_page(
                        &console,
                        StatusCode::SERVICE_UNAVAILABLE,
                        &shown,
                        Some(BUSY),
                    );
                }
            };
        let users = Arc::clone(&console.users);
        let (n, p) = (name.clone(), password);
        let checked = blocking(move || {
            let result = users.verify_password(&n, &p);
            drop(permit);
            result
        })
        .await;
        match checked {
            Ok(account) => account,
            Err(e) => return internal(&console, None, &e),
        }
    };
    let Some(account) = account else {
        attempt.settle(false).await;
        audit(
            &console,
            Event::new(format!("client:{ip}"), Action::LoginFailed, shown.clone())
                .with_detail(json!({ "ip": ip.to_string(), "reason": "wrong name or password" })),
        )
        .await;
        return login_page(&console, StatusCode::UNAUTHORIZED, &shown, Some(WRONG));
    };
    attempt.settle(true).await;
    let (sessions, signed_in) = (Arc::clone(&console.sessions), account.clone());
    let session = match blocking(move || sessions.create(&signed_in, now)).await {
        Ok(session) => session,
        Err(e) => return internal(&console, None, &e),
    };
    audit(
        &console,
        Event::new(
            format!("{}:{}", account.role, account.name),
            Action::Login,
            account.name.clone(),
        )
        .with_detail(json!({ "ip": ip.to_string() })),
    )
    .await;
    let cookie = session_cookie(&session.id, console.config.secure_cookies);
    ([(SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// The answer to a login refused by the limiter (audited).
async fn locked_out(console: &Arc<Console>, ip: IpAddr, shown: &str, seconds: u64) -> Response {
    let minutes = seconds.div_ceil(60).max(1);
    audit(
        console,
        Event::new(
            format!("client:{ip}"),
            Action::LoginFailed,
            shown.to_owned(),
        )
        .with_detail(json!({ "ip": ip.to_string(), "reason": "too many failed attempts" })),
    )
    .await;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    let mut response = login_page(
        console,
        StatusCode::TOO_MANY_REQUESTS,
        shown,
        Some(&format!(
            "Too many failed attempts to sign in. Try again in {minutes} {unit}."
        )),
    );
    if let Ok(value) = seconds.to_string().parse() {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

/// `POST /logout` (form: `csrf`).
pub(crate) async fn logout(
    State(console): State<Arc<Console>>,
    user: PageUser,
    ClientIp(ip): ClientIp,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !user
        .session
        .verify_csrf(field(&form, "csrf").unwrap_or_default())
    {
        return super::decisions::csrf_refused(&console, &user);
    }
    let (sessions, id) = (Arc::clone(&console.sessions), user.session.id.clone());
    if let Err(e) = blocking(move || sessions.destroy(&id)).await {
        return internal(&console, Some(&user.session), &e);
    }
    let who = user.user();
    audit(
        &console,
        Event::new(who.actor(), Action::Logout, who.name.clone())
            .with_detail(json!({ "ip": ip.to_string() })),
    )
    .await;
    let cookie = cleared_cookie(console.config.secure_cookies);
    ([(SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// A login attempt reserved with the limiter, held across the handler's
/// awaits. It is settled on the blocking pool (the limiter may be a
/// database); if the handler is dropped first (the client went away), the
/// attempt is dropped on the blocking pool too, where it counts as a
/// failure.
struct HeldAttempt(Option<Attempt>);

impl HeldAttempt {
    /// Records the attempt's outcome. A failure to record it is logged:
    /// the attempt then stays pending and counts as a failure after
    /// [`cordon_accounts::PENDING_TIMEOUT`].
    async fn settle(mut self, succeeded: bool) {
        let Some(attempt) = self.0.take() else {
            return;
        };
        let settled = blocking(move || {
            if succeeded {
                attempt.succeeded()
            } else {
                attempt.failed()
            }
        })
        .await;
        if let Err(e) = settled {
            tracing::error!(error = %e, "cannot record a login attempt with the limiter");
        }
    }
}

impl Drop for HeldAttempt {
    fn drop(&mut self) {
        let Some(attempt) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || drop(attempt));
            }
            Err(_) => drop(attempt),
        }
    }
}

/// Appends a sign-in event to the audit log; a failure is logged (signing
/// in goes on: the log's failure is an operational alarm, not a reason to
/// lock officers out).
async fn audit(console: &Arc<Console>, event: Event) {
    let log = Arc::clone(&console.audit);
    if let Err(e) = blocking(move || log.append(event)).await {
        tracing::error!(error = %e, "cannot write a sign-in event to the audit log");
    }
}
