//! What every response carries and every request must show: the security headers, and on
//! loopback a `Host` that names loopback.
//!
//! The Host check is the defence against DNS rebinding: a page elsewhere that gets its own name
//! resolved to 127.0.0.1 could otherwise read this unauthenticated API from the user's browser.
//! With `--allow-remote` the server is reached under names it cannot know (a proxy's), so the
//! check is off there.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Exposure;
use super::problem::Problem;

/// Everything the dashboard loads comes from here; no page may frame it, no form post away.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Adds the headers every response carries. No CORS header is ever sent: a page elsewhere may
/// not read these answers.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Answers change with every post stored; nothing is worth caching.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Refuses, on loopback, a request whose `Host` names anything but loopback.
pub async fn check_host(exposure: Exposure, request: Request, next: Next) -> Response {
    if exposure == Exposure::Loopback && !host_allowed(request.headers()) {
        return Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this server listens on loopback and answers only requests for localhost, 127.0.0.1 or [::1]",
        )
        .into_response();
    }
    next.run(request).await
}

fn host_allowed(headers: &HeaderMap) -> bool {
    match headers.get(header::HOST) {
        // HTTP/1.0 has no Host; a rebinding browser always sends one.
        None => true,
        Some(value) => value.to_str().is_ok_and(is_loopback_host),
    }
}

/// Whether a `Host` value (`name[:port]`, `[v6][:port]`) names this machine's loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inner, port)) if port.is_empty() || is_port(port) => inner,
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .unwrap_or(text)
        .parse::<u16>()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_pass() {
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "0.0.0.0:8080",
            "[::]:8080",
            "127.0.0.1:notaport",
            "[::1]x",
            "",
        ] {
            assert!(!is_loopback_host(refused), "{refused}");
        }
    }
}
