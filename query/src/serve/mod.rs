//! `twitter-query serve`: the same answers over HTTP, read-only. A JSON API under `/api` whose
//! bodies are the `--json` shapes ([`api`], one handler per question, each a read of
//! [`crate::reads`]), its OpenAPI 3.1 document generated from those handlers at
//! `/openapi.json`, and a dashboard at `/` that reads that API ([`dashboard`]).
//!
//! Safe by default: loopback unless `--allow-remote` ([`exposure`]); on loopback only requests
//! for a loopback name, against DNS rebinding; no CORS, a strict Content-Security-Policy
//! ([`guard`]); parameters bounded as on the command line ([`params`]); every read limited in
//! time, a 504 past it; every failure an RFC 9457 problem ([`problem`]).

pub mod api;
pub mod dashboard;
pub mod guard;
pub mod params;
pub mod problem;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::QueryError;
use crate::store::Store;
use problem::Problem;

/// How long one request may wait for DynamoDB before it is answered with a 504: a page that
/// refreshes itself must not pile up requests behind a stuck read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Who can reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// This machine only.
    Loopback,
    /// The network: allowed with `--allow-remote`, and said at start.
    Remote,
}

/// Whether the server may listen on `addr`: on loopback always; anywhere else (all interfaces,
/// a LAN address) only with `--allow-remote`, since nothing authenticates a reader. The
/// refusal is one line naming the address and the flag (the wording of the producer's
/// `--status-addr`).
pub fn exposure(addr: SocketAddr, allow_remote: bool) -> Result<Exposure, String> {
    // `::ffff:127.0.0.1` is loopback too, though `Ipv6Addr::is_loopback` says no.
    if addr.ip().to_canonical().is_loopback() {
        return Ok(Exposure::Loopback);
    }
    if allow_remote {
        return Ok(Exposure::Remote);
    }
    Err(format!(
        "--addr {addr} is not a loopback address: the API and the dashboard would show the table's posts to the network, with no authentication; pass --allow-remote to serve there anyway (behind a proxy that authenticates), or use 127.0.0.1:{} and an SSH tunnel",
        addr.port()
    ))
}

/// The one line said at start when the server is open to the network.
pub fn remote_warning(addr: SocketAddr) -> String {
    format!(
        "--allow-remote: serving the API and the dashboard on {addr}, which is not a loopback address: anyone who can reach it reads the table's posts (no authentication is built in: put a proxy that authenticates in front, or use an SSH tunnel)"
    )
}

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub exposure: Exposure,
    /// Seconds between the dashboard's refreshes.
    pub refresh_seconds: u32,
    /// [`READ_TIMEOUT`] but in tests.
    pub read_timeout: Duration,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub store: Arc<Store>,
    pub read_timeout: Duration,
}

/// The OpenAPI document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "twitter-query",
        description = "The EventData table, read-only: the answers of `twitter-query --json` over HTTP. Every failure is an RFC 9457 problem (application/problem+json) whose detail is the command line's one-line message."
    ),
    tags((name = "reads", description = "One question each, as the command of the same name answers it"))
)]
struct ApiDoc;

/// The API's routes, each with its entry in the OpenAPI document.
fn api_routes() -> OpenApiRouter<State> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::keywords))
        .routes(routes!(api::posts))
        .routes(routes!(api::post))
        .routes(routes!(api::stats))
        .routes(routes!(api::rate))
}

/// The OpenAPI document, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// The whole server: API, document, dashboard, and what guards them.
pub fn app(store: Arc<Store>, settings: Settings) -> Router {
    let (api, openapi) = api_routes().split_for_parts();
    let api = api.with_state(State {
        store,
        read_timeout: settings.read_timeout,
    });
    let document: Arc<str> = openapi.to_json().unwrap_or_else(|_| "{}".to_owned()).into();
    let page: Arc<str> = dashboard::index_html(settings.refresh_seconds).into();
    let exposure = settings.exposure;
    api.route(
        "/openapi.json",
        get(move || {
            let document = Arc::clone(&document);
            async move { json_document(&document) }
        }),
    )
    .route(
        "/",
        get(move || {
            let page = Arc::clone(&page);
            async move { dashboard::page(&page) }
        }),
    )
    .route("/app.js", get(dashboard::script))
    .route("/style.css", get(dashboard::style))
    .route("/icon.svg", get(dashboard::icon))
    .fallback(not_found)
    .layer(axum::middleware::from_fn(move |request, next| {
        guard::check_host(exposure, request, next)
    }))
    .layer(axum::middleware::from_fn(guard::security_headers))
}

fn json_document(document: &str) -> Response {
    let mut response = document.to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "nothing here: the dashboard is at /, the API under /api (see /openapi.json)",
    )
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), QueryError> {
    let addr = listener.local_addr().map_err(|source| QueryError::Listen {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| QueryError::Listen { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_always_served_and_anything_else_only_when_allowed() {
        for addr in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:8080",
            "127.3.4.5:0",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(exposure(addr, false), Ok(Exposure::Loopback), "{addr}");
            assert_eq!(exposure(addr, true), Ok(Exposure::Loopback), "{addr}");
        }
        for addr in ["0.0.0.0:8080", "[::]:8080", "192.168.1.2:8080"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(exposure(addr, true), Ok(Exposure::Remote), "{addr}");
            let refusal = exposure(addr, false).expect_err("refused");
            assert!(refusal.contains(&addr.to_string()), "{refusal}");
            assert!(refusal.contains("--allow-remote"), "{refusal}");
            assert!(refusal.contains("127.0.0.1:8080"), "{refusal}");
            assert!(!refusal.contains('\n'));
            let warning = remote_warning(addr);
            assert!(warning.contains(&addr.to_string()) && !warning.contains('\n'));
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_bounds_count_as_the_cli_does() {
        let document = serde_json::to_value(openapi()).unwrap();
        assert!(
            document["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            document["openapi"]
        );
        let paths = document["paths"].as_object().unwrap();
        let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "/api/keywords",
                "/api/posts",
                "/api/posts/{id}",
                "/api/rate",
                "/api/stats"
            ]
        );
        let count = paths["/api/posts"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "count")
            .unwrap();
        assert_eq!(count["schema"]["maximum"], crate::cli::MAX_LATEST);
        assert_eq!(count["schema"]["default"], crate::cli::DEFAULT_LATEST);
    }
}
