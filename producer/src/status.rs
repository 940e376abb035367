//! `--status-addr`: `/healthz` (JSON) and `/metrics` (Prometheus text), what the earlier
//! systems' `/stream/status` endpoints gave.

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
    rules: &'a [String],
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
        rules: &state.rules,
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
