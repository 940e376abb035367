//! `GET /2/tweets/search/stream`: what X decides when a client connects, in X's order:
//! credentials, the connect window, the app's one connection slot, then the script's answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Step;
use super::answers::{
    BODY_503, BODY_RATE_LIMITED, BODY_TOO_MANY_CONNECTIONS, json_answer, unauthorized,
};
use super::connections::ConnCtl;
use super::feed::{Feed, Pace};
use super::limits::{Endpoint, Quota};
use super::shared::Shared;

pub(super) async fn stream(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (slot, ctl, pace, quota) = match decide(&shared, query, &headers) {
        Decision::Answer(response) => return response,
        Decision::Hang(hang, then) => return hang_before_headers(&shared, hang, then).await,
        Decision::Stream {
            slot,
            ctl,
            pace,
            quota,
        } => (slot, ctl, pace, quota),
    };
    tracing::info!(paced = pace.is_some(), "stream: connected");
    let feed = Feed::new(Arc::clone(&shared), slot, ctl, pace);
    let chunks = futures::stream::unfold(feed, |mut feed| async move {
        let chunk = feed.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), feed))
    });
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response();
    quota.stamp(&mut response);
    response
}

enum Decision {
    Answer(Response),
    /// Hold back the headers this long, then answer (to nobody, by then).
    Hang(Duration, Response),
    Stream {
        slot: u64,
        ctl: Arc<ConnCtl>,
        pace: Option<Pace>,
        quota: Quota,
    },
}

/// Everything decided under one lock, nothing awaited.
fn decide(shared: &Shared, query: Option<String>, headers: &HeaderMap) -> Decision {
    let mut ledger = shared.ledger();
    ledger.connection_attempts += 1;
    ledger.last_stream_query = query;
    if !shared.bearer_ok(headers) {
        return Decision::Answer(unauthorized());
    }
    let quota =
        match ledger
            .windows
            .take(Endpoint::StreamConnect, Instant::now(), SystemTime::now())
        {
            Ok(quota) => quota,
            Err(quota) => {
                tracing::info!("stream: connect window used up (429)");
                let mut response = json_answer(StatusCode::TOO_MANY_REQUESTS, BODY_RATE_LIMITED);
                quota.stamp(&mut response);
                return Decision::Answer(response);
            }
        };
    let answer = |status: StatusCode, body: &str| {
        let mut response = json_answer(status, body);
        quota.stamp(&mut response);
        response
    };
    if ledger.slots.full() {
        ledger.slots.too_many += 1;
        tracing::info!("stream: the app's connection is taken (429 TooManyConnections)");
        return Decision::Answer(answer(
            StatusCode::TOO_MANY_REQUESTS,
            BODY_TOO_MANY_CONNECTIONS,
        ));
    }
    let attempt_step = matches!(
        ledger.script.front(),
        Some(Step::Reject { .. } | Step::HangBeforeHeaders(_))
    );
    if attempt_step {
        let step = ledger.script.pop_front();
        if let Some(Step::Reject { status, body }) = step {
            tracing::info!(status, "stream: connection rejected by script");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Decision::Answer(answer(status, &body));
        }
        if let Some(Step::HangBeforeHeaders(hang)) = step {
            return Decision::Hang(hang, answer(StatusCode::SERVICE_UNAVAILABLE, BODY_503));
        }
    }
    let (slot, ctl) = ledger.slots.open();
    Decision::Stream {
        slot,
        ctl,
        pace: ledger.pace,
        quota,
    }
}

/// The connection is accepted and the request read, and then no response comes for `hang`.
async fn hang_before_headers(shared: &Shared, hang: Duration, then: Response) -> Response {
    tracing::info!(?hang, "stream: holding back the response headers");
    tokio::select! {
        () = tokio::time::sleep(hang) => {}
        () = shared.shutdown.cancelled() => {}
    }
    then
}
