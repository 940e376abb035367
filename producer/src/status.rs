//! `--status-addr`: `/healthz` (JSON) and `/metrics` (Prometheus text), what the earlier
//! systems' `/stream/status` endpoints gave.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::ProducerError;
use crate::redact::redact;
use crate::stats::{Stats, Totals};

#[derive(Debug)]
pub struct StatusState {
    pub source: twitter_record::Source,
    pub stats: Arc<Stats>,
    /// X: the stream rules; Bluesky: the keywords matched locally.
    pub rules: Vec<String>,
}

#[derive(Serialize)]
struct Health<'a> {
    /// `ok`, `degraded` (connected, but something needs a look) or `disconnected`.
    status: &'static str,
    /// What makes the status `degraded` or keeps the source's posts away, in words.
    problems: Vec<&'static str>,
    source: twitter_record::Source,
    connected: bool,
    usage_capped: bool,
    /// A rule may name a URL (X's `url:` operator): printed redacted, as everywhere.
    rules: Vec<Cow<'a, str>>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_post_at: Option<time::OffsetDateTime>,
    queue_depth: i64,
    spool: SpoolHealth,
    totals: Totals,
}

#[derive(Serialize)]
struct SpoolHealth {
    bytes: i64,
    posts: i64,
    oldest_age_s: i64,
    full: bool,
}

/// Who can reach the status endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// This machine only.
    Loopback,
    /// The network: allowed with `--allow-remote`, and said at start.
    Remote,
}

/// Whether `/healthz` and `/metrics` may be served on `addr`: on loopback always; anywhere else
/// (all interfaces, a LAN address) only with `--allow-remote`, since they show the followed
/// keywords and the counters to whoever connects. The refusal is one line naming the address
/// and the flag.
pub fn exposure(addr: SocketAddr, allow_remote: bool) -> Result<Exposure, String> {
    // `::ffff:127.0.0.1` is loopback too, though `Ipv6Addr::is_loopback` says no.
    if addr.ip().to_canonical().is_loopback() {
        return Ok(Exposure::Loopback);
    }
    if allow_remote {
        return Ok(Exposure::Remote);
    }
    Err(format!(
        "--status-addr {addr} is not a loopback address: /healthz and /metrics would show the followed keywords and the counters to the network; pass --allow-remote (TWITTER_PRODUCER_ALLOW_REMOTE=true) to serve there anyway, or use 127.0.0.1:{}",
        addr.port()
    ))
}

/// The one line said at start when the status endpoints are open to the network.
pub fn remote_warning(addr: SocketAddr) -> String {
    format!(
        "--allow-remote: serving /healthz and /metrics on {addr}, which is not a loopback address: anyone who can reach it sees the followed keywords and the counters"
    )
}

pub fn router(state: Arc<StatusState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Binds now, so a bad address fails the start rather than later; serves until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<StatusState>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, ProducerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProducerError::StatusServer {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(%addr, "serving /healthz and /metrics");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, router(state))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "status server stopped");
        }
    }))
}

/// 200 while connected and healthy, 503 otherwise (disconnected, or degraded: the spool is full
/// so reading waits, or X's monthly cap stops the stream), so a probe can act on it.
async fn healthz(State(state): State<Arc<StatusState>>) -> impl IntoResponse {
    let stats = &state.stats;
    let connected = stats.is_connected();
    let spool_full = stats.spool_full.get() > 0;
    let usage_capped = stats.usage_capped.get() > 0;
    let mut problems = Vec::new();
    if spool_full {
        problems.push("the spool is full: reading waits until Kinesis takes posts");
    }
    if usage_capped {
        problems.push("X's monthly post cap is reached: the stream resumes when the cycle renews");
    }
    let status = match (connected, problems.is_empty()) {
        (false, _) => "disconnected",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    let health = Health {
        status,
        problems,
        source: state.source,
        connected,
        usage_capped,
        rules: state.rules.iter().map(|rule| redact(rule)).collect(),
        last_post_at: stats.last_post_at(),
        queue_depth: stats.queue_depth.get(),
        spool: SpoolHealth {
            bytes: stats.spool_bytes.get(),
            posts: stats.spool_records.get(),
            oldest_age_s: stats.spool_oldest_age_seconds.get(),
            full: spool_full,
        },
        totals: stats.totals(),
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

async fn metrics(State(state): State<Arc<StatusState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.stats.prometheus_text(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_always_served_and_anything_else_only_when_allowed() {
        for addr in [
            "127.0.0.1:9090",
            "127.8.9.10:1",
            "[::1]:9090",
            "[::ffff:127.0.0.1]:9090",
        ] {
            let addr: SocketAddr = addr.parse().expect("address");
            assert_eq!(exposure(addr, false), Ok(Exposure::Loopback), "{addr}");
            assert_eq!(exposure(addr, true), Ok(Exposure::Loopback), "{addr}");
        }
        for addr in [
            "0.0.0.0:9090",
            "[::]:9090",
            "192.168.1.5:9090",
            "[::ffff:10.0.0.1]:9090",
        ] {
            let addr: SocketAddr = addr.parse().expect("address");
            assert_eq!(exposure(addr, true), Ok(Exposure::Remote), "{addr}");
            let refusal = exposure(addr, false).expect_err("refused");
            assert!(refusal.contains(&addr.to_string()), "{refusal}");
            assert!(refusal.contains("--allow-remote"), "{refusal}");
            assert!(!refusal.contains('\n'), "{refusal}");
            let warning = remote_warning(addr);
            assert!(
                warning.contains(&addr.to_string()) && !warning.contains('\n'),
                "{warning}"
            );
        }
    }

    #[tokio::test]
    async fn a_url_in_a_rule_is_shown_redacted() {
        let state = Arc::new(StatusState {
            source: twitter_record::Source::X,
            stats: Arc::new(Stats::default()),
            rules: vec!["url:\"https://example.com/?token=t0k3n\"".to_owned()],
        });
        let response = healthz(State(state)).await.into_response();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let body = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(
            !body.contains("t0k3n") && body.contains("token=***"),
            "{body}"
        );
    }

    async fn health(stats: Arc<Stats>) -> (StatusCode, serde_json::Value) {
        let state = Arc::new(StatusState {
            source: twitter_record::Source::X,
            stats,
            rules: vec!["rust".to_owned()],
        });
        let response = healthz(State(state)).await.into_response();
        let code = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (code, serde_json::from_slice(&body).expect("json"))
    }

    #[tokio::test]
    async fn a_full_spool_or_a_usage_cap_degrades_health() {
        let stats = Arc::new(Stats::default());
        let (code, body) = health(Arc::clone(&stats)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "disconnected");

        stats.connected.set(1);
        stats.spool_records.set(12);
        stats.spool_bytes.set(34_000);
        stats.spool_oldest_age_seconds.set(7);
        let (code, body) = health(Arc::clone(&stats)).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["problems"], serde_json::json!([]));
        assert_eq!(
            body["spool"],
            serde_json::json!({"bytes": 34_000, "posts": 12, "oldest_age_s": 7, "full": false})
        );

        stats.spool_full.set(1);
        let (code, body) = health(Arc::clone(&stats)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["spool"]["full"], true);
        assert!(
            body["problems"][0]
                .as_str()
                .unwrap()
                .contains("spool is full")
        );

        stats.spool_full.set(0);
        stats.connected.set(0);
        stats.usage_capped.set(1);
        let (_, body) = health(stats).await;
        assert_eq!(body["status"], "disconnected");
        assert_eq!(body["usage_capped"], true);
        assert!(body["problems"][0].as_str().unwrap().contains("monthly"));
    }
}
