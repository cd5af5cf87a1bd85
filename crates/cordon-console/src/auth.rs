//! Who is asking: the session cookie for pages, the bearer token for the
//! API, and the client's address for the login limiter.
//!
//! [`PageUser`] and [`ApiUser`] are extractors: a handler that takes one
//! cannot run for an unauthenticated request. Pages then redirect to
//! `/login` (saying nothing about what was asked for); the API answers 401.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cordon_accounts::{AccountsError, Role, Session};
use serde_json::json;

use crate::Console;
use crate::runtime::{blocking, now};

/// The name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "cordon_session";

/// A signed-in person, whichever way they signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    /// The account name.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl User {
    /// How the audit log names them: `officer:NAME` or `auditor:NAME`.
    pub(crate) fn actor(&self) -> String {
        format!("{}:{}", self.role, self.name)
    }
}

/// A page request with a current session.
#[derive(Debug, Clone)]
pub(crate) struct PageUser {
    /// The session (its CSRF token goes into every form).
    pub session: Session,
}

impl PageUser {
    /// The person.
    pub(crate) fn user(&self) -> User {
        User {
            name: self.session.name.clone(),
            role: self.session.role,
        }
    }
}

impl FromRequestParts<Arc<Console>> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<PageUser, Response> {
        current_session(&parts.headers, console)
            .await
            .map(|session| PageUser { session })
            .ok_or_else(|| Redirect::to("/login").into_response())
    }
}

/// The session named by the request's cookie, if it exists, has not timed
/// out and still stands for its account (a session whose account was
/// removed, or whose password or role changed, is destroyed). The session
/// table and the accounts are read on the blocking pool (either may be a
/// database).
pub(crate) async fn current_session(headers: &HeaderMap, console: &Console) -> Option<Session> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let (sessions, users) = (Arc::clone(&console.sessions), Arc::clone(&console.users));
    let checked = blocking(move || -> Result<Option<Session>, AccountsError> {
        let Some(session) = sessions.touch(&id, now())? else {
            return Ok(None);
        };
        if users.session_is_current(&session)? {
            return Ok(Some(session));
        }
        sessions.destroy(&session.id)?;
        Ok(None)
    })
    .await;
    checked.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the sessions or accounts to check a session");
        None
    })
}

/// The value of cookie `name`, if the request sent it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that starts a session.
pub(crate) fn session_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// Whether a form was sent from a console page. Browsers say so in
/// `Sec-Fetch-Site` (`same-origin`), whatever the referrer policy; where a
/// browser sends no such header, the `Origin` (or else the `Referer`) must
/// name the host the request was sent to (`Host`). The console's own pages
/// send `Referrer-Policy: no-referrer`, under which a browser sends
/// `Origin: null`, so that value proves nothing either way. A request with
/// none of them, or from another site, is refused, so that another site
/// cannot sign a browser in to the console (login CSRF) or use it to guess
/// passwords.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(site) = header(axum::http::HeaderName::from_static("sec-fetch-site")) {
        return site.eq_ignore_ascii_case("same-origin");
    }
    let Some(host) = header(axum::http::header::HOST).filter(|h| !h.is_empty()) else {
        return false;
    };
    let source = header(axum::http::header::ORIGIN)
        .filter(|origin| *origin != "null")
        .or_else(|| header(axum::http::header::REFERER));
    source
        .and_then(|url| url.split_once("://"))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        })
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// An API request with a valid bearer token.
#[derive(Debug, Clone)]
pub(crate) struct ApiUser(pub User);

impl FromRequestParts<Arc<Console>> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<ApiUser, Response> {
        let Some(token) = bearer(&parts.headers) else {
            return Err(unauthorized());
        };
        let users = Arc::clone(&console.users);
        match blocking(move || users.verify_token(&token)).await {
            Ok(Some(account)) => Ok(ApiUser(User {
                name: account.name,
                role: account.role,
            })),
            Ok(None) => Err(unauthorized()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the users file to check a token");
                Err(crate::api::internal_error())
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The API's answer to a request without a valid token (audited).
fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "authentication required: send Authorization: Bearer <token>" })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    crate::refusals::Refused::mark(response, None, "no valid API token")
}

/// The client's IP address: the connection's peer, or, when the peer is
/// a trusted proxy, the address it forwarded (see [`client_address`]).
/// Unspecified if the router is not served with connect info.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub IpAddr);

impl FromRequestParts<Arc<Console>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<ClientIp, Self::Rejection> {
        let peer = match ConnectInfo::<SocketAddr>::from_request_parts(parts, console).await {
            Ok(ConnectInfo(addr)) => addr.ip(),
            Err(_) => {
                tracing::warn!("no client address: serve the console with connect info");
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
        };
        Ok(ClientIp(client_address(
            peer,
            &parts.headers,
            &console.config.trusted_proxies,
        )))
    }
}

/// The client's address for a request from `peer`: `peer` itself unless it
/// is one of the `trusted` proxies; then the right-most `X-Forwarded-For`
/// entry that is not a trusted proxy (each trusted proxy appends the
/// address it received from, so entries to the left of the first untrusted
/// one could have been written by the client). An entry that is not an
/// address ends the walk at the last trusted hop.
pub(crate) fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let peer = peer.to_canonical();
    if !is_trusted(peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = forwarded_ip(entry) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// The address of one `X-Forwarded-For` entry: an IP address, optionally
/// with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in list {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn reads_the_session_cookie() {
        let h = headers(&[("cookie", "a=1; cordon_session=abc ; b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        let h = headers(&[("cookie", "a=1"), ("cookie", "cordon_session=xyz")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(
            cookie(&headers(&[("cookie", "xcordon_session=1")]), SESSION_COOKIE),
            None
        );
        assert_eq!(
            cookie(&headers(&[("cookie", "cordon_session=")]), SESSION_COOKIE),
            None
        );
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn cookie_attributes() {
        let c = session_cookie("abc", false);
        assert_eq!(c, "cordon_session=abc; HttpOnly; SameSite=Strict; Path=/");
        assert!(session_cookie("abc", true).ends_with("; Secure"));
        assert!(cleared_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer cordon_x")])).as_deref(),
            Some("cordon_x")
        );
        assert_eq!(
            bearer(&headers(&[("authorization", "bearer  cordon_x ")])).as_deref(),
            Some("cordon_x")
        );
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(bearer(&headers(&[("authorization", "Bearer ")])), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn forms_must_come_from_the_console_itself() {
        let host = ("host", "console.force.police.uk");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "https://console.force.police.uk")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "https://CONSOLE.force.police.uk")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("referer", "https://console.force.police.uk/login?x=1")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("referer", "https://console.force.police.uk/login")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://console.force.police.uk.evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("referer", "https://evil.example/console.force.police.uk")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[host])));
        // What Chromium sends from a page with `Referrer-Policy: no-referrer`.
        assert!(same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://console.force.police.uk"),
            ("sec-fetch-site", "same-site")
        ])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "https://console.force.police.uk"
        )])));
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/24".parse().unwrap(),
            "2001:db8:feed::/48".parse().unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = ip("10.0.0.5");
        let xff = |v: &str| headers(&[("x-forwarded-for", v)]);
        // From the proxy: the right-most entry that is not a proxy.
        assert_eq!(
            client_address(proxy, &xff("192.0.2.7"), &trusted),
            ip("192.0.2.7")
        );
        assert_eq!(
            client_address(proxy, &xff("6.6.6.6, 192.0.2.7, 10.0.0.9"), &trusted),
            ip("192.0.2.7")
        );
        assert_eq!(
            client_address(
                proxy,
                &headers(&[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "[2001:db8::7]:4711")
                ]),
                &trusted
            ),
            ip("2001:db8::7")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client_address(proxy, &xff("192.0.2.7, junk"), &trusted),
            proxy
        );
        assert_eq!(
            client_address(proxy, &xff("192.0.2.7, junk, 10.0.0.9"), &trusted),
            ip("10.0.0.9")
        );
        // No header: the proxy itself.
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        // A mapped IPv4 peer is the IPv4 address.
        assert_eq!(
            client_address(ip("::ffff:10.0.0.5"), &xff("192.0.2.8"), &trusted),
            ip("192.0.2.8")
        );
        // From anyone else, or with no trusted proxies, the header is ignored.
        let stranger = ip("192.0.2.66");
        assert_eq!(
            client_address(stranger, &xff("192.0.2.7"), &trusted),
            stranger
        );
        assert_eq!(client_address(proxy, &xff("192.0.2.7"), &[]), proxy);
    }

    #[test]
    fn actors_name_the_role() {
        let user = User {
            name: "j.smith".into(),
            role: Role::Auditor,
        };
        assert_eq!(user.actor(), "auditor:j.smith");
    }
}
