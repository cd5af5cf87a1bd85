//! Security headers, set on every response by a middleware layer.

use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::Response;

/// The Content-Security-Policy of every response: nothing but the console's
/// own stylesheet and images; no script at all, no framing, forms post only
/// to the console. Inline SVG charts are markup, so they are allowed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to `response` (replacing any set before).
pub(crate) async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CSP, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_header_is_set_and_replaces_earlier_values() {
        let mut response = Response::new(axum::body::Body::empty());
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
        let response = secure(response).await;
        let h = response.headers();
        assert_eq!(h[CSP], CONTENT_SECURITY_POLICY);
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[REFERRER_POLICY], "no-referrer");
        assert_eq!(h[CACHE_CONTROL], "no-store");
        assert_eq!(h.get_all(CACHE_CONTROL).iter().count(), 1);
    }
}
