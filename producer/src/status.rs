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
    source: twitter_record::Source,
    connected: bool,
    rules: &'a [String],
    #[serde(with = "time::serde::rfc3339::option")]
    last_post_at: Option<time::OffsetDateTime>,
    queue_depth: i64,
    totals: Totals,
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

/// 200 while connected to the stream, 503 otherwise, so a load balancer or a probe can act on it.
async fn healthz(State(state): State<Arc<StatusState>>) -> impl IntoResponse {
    let connected = state.stats.is_connected();
    let health = Health {
        source: state.source,
        connected,
        rules: &state.rules,
        last_post_at: state.stats.last_post_at(),
        queue_depth: state.stats.queue_depth.get(),
        totals: state.stats.totals(),
    };
    let status = if connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
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
