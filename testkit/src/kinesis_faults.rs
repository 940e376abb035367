//! A fault layer in front of moto for Kinesis: an HTTP proxy that forwards every request, and
//! answers `PutRecords` the way a struggling Kinesis (or what stands before it) does, which no
//! emulator does: per-entry throttling, a 5xx with no error code at all, slowness, or nothing.
//!
//! The SDK is pointed at the proxy with `AWS_ENDPOINT_URL`, exactly as at moto; the fault can
//! change while a test runs.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::server::LocalServer;

const PUT_RECORDS_TARGET: &str = "Kinesis_20131202.PutRecords";

/// What the proxy does with each `PutRecords` call. Every other call is forwarded as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward.
    None,
    /// Answer 200 with every entry failed `ProvisionedThroughputExceededException`, as a shard
    /// over its 1 MB/s or 1,000 records/s does; nothing is written.
    ThrottleEveryEntry,
    /// Forward, then fail every `nth` entry of the answer with
    /// `ProvisionedThroughputExceededException` (those entries are not written: the proxy
    /// forwards only the others).
    ThrottleEveryNth(usize),
    /// Answer HTTP 500 with an empty body and no error type: a load balancer's answer.
    ServerErrorWithoutCode,
    /// Answer HTTP 503 with an empty body.
    Unavailable,
    /// Wait this long, then forward.
    Slow(Duration),
}

/// A running proxy; dropping it stops it.
#[derive(Debug)]
pub struct KinesisFaults {
    server: LocalServer,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    state: Mutex<Ledger>,
}

#[derive(Debug)]
struct Ledger {
    fault: Fault,
    put_records_calls: usize,
    faulted_calls: usize,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KinesisFaults {
    /// Starts on a free loopback port, forwarding to `upstream` (moto's endpoint).
    pub async fn start(upstream: &str) -> std::io::Result<KinesisFaults> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            state: Mutex::new(Ledger {
                fault: Fault::None,
                put_records_calls: 0,
                faulted_calls: 0,
            }),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server =
            LocalServer::start(any_port, CancellationToken::new(), |listener| async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::warn!(%error, "Kinesis fault proxy stopped");
                }
            })
            .await?;
        Ok(KinesisFaults { server, shared })
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    pub fn set(&self, fault: Fault) {
        self.shared.ledger().fault = fault;
    }

    /// `PutRecords` calls received, faulted or not.
    pub fn put_records_calls(&self) -> usize {
        self.shared.ledger().put_records_calls
    }

    /// `PutRecords` calls answered with a fault.
    pub fn faulted_calls(&self) -> usize {
        self.shared.ledger().faulted_calls
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_put_records =
        headers.get("x-amz-target").and_then(|v| v.to_str().ok()) == Some(PUT_RECORDS_TARGET);
    let fault = if is_put_records {
        let mut ledger = shared.ledger();
        ledger.put_records_calls += 1;
        if ledger.fault != Fault::None {
            ledger.faulted_calls += 1;
        }
        ledger.fault
    } else {
        Fault::None
    };
    match fault {
        Fault::None => forward(&shared, method, &uri, &headers, body).await,
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            forward(&shared, method, &uri, &headers, body).await
        }
        Fault::ServerErrorWithoutCode => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Fault::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Fault::ThrottleEveryEntry => {
            let entries = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["Records"].as_array().map(Vec::len))
                .unwrap_or(0);
            json_response(throttled_answer(&vec![None; entries]))
        }
        Fault::ThrottleEveryNth(nth) => {
            throttle_every_nth(&shared, method, &uri, &headers, body, nth).await
        }
    }
}

/// Forwards the entries that are not throttled, then answers for all of them in their order.
async fn throttle_every_nth(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    nth: usize,
) -> Response {
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return forward(shared, method, uri, headers, body).await;
    };
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    let throttled = |i: usize| nth > 0 && i % nth == nth - 1;
    let kept: Vec<Value> = (0..records.len())
        .filter(|i| !throttled(*i))
        .map(|i| records[i].clone())
        .collect();
    let mut results: Vec<Option<Value>> = vec![None; records.len()];
    if !kept.is_empty() {
        request["Records"] = Value::Array(kept);
        let forwarded = forward(
            shared,
            method,
            uri,
            headers,
            Bytes::from(request.to_string()),
        )
        .await;
        if forwarded.status() != StatusCode::OK {
            return forwarded;
        }
        let Ok(bytes) = axum::body::to_bytes(forwarded.into_body(), 16 << 20).await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let mut written = answer["Records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter();
        for (i, slot) in results.iter_mut().enumerate() {
            if !throttled(i) {
                *slot = written.next();
            }
        }
    }
    json_response(throttled_answer(&results))
}

/// A PutRecords answer: the given results, and Kinesis's throttling error for every `None`.
fn throttled_answer(results: &[Option<Value>]) -> Value {
    let records: Vec<Value> = results
        .iter()
        .map(|result| {
            result.clone().unwrap_or_else(|| {
                json!({
                    "ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream tweets under account 123456789012.",
                })
            })
        })
        .collect();
    let failed = records
        .iter()
        .filter(|r| r.get("ErrorCode").is_some())
        .count();
    json!({"FailedRecordCount": failed, "Records": records})
}

fn json_response(body: Value) -> Response {
    (
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

async fn forward(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" && !is_hop_by_hop(name.as_str()) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                // moto's `Connection: close` is about its hop, not the client's: the client's
                // connection stays open, as Kinesis keeps it.
                if name != "content-length" && !is_hop_by_hop(name.as_str()) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => {
            tracing::warn!(%error, "Kinesis fault proxy cannot reach moto");
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}

/// Headers that describe one connection, which a proxy does not pass on (RFC 9110 section 7.6.1).
fn is_hop_by_hop(name: &str) -> bool {
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
    ];
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_headers_stay_on_their_hop() {
        for name in ["Connection", "keep-alive", "Transfer-Encoding", "upgrade"] {
            assert!(is_hop_by_hop(name), "{name}");
        }
        for name in ["content-type", "x-amz-target", "x-amzn-requestid"] {
            assert!(!is_hop_by_hop(name), "{name}");
        }
    }

    #[test]
    fn a_throttled_answer_fails_exactly_the_missing_entries() {
        let answer = throttled_answer(&[
            Some(json!({"SequenceNumber": "1", "ShardId": "shardId-000000000000"})),
            None,
            None,
        ]);
        assert_eq!(answer["FailedRecordCount"], 2);
        assert_eq!(answer["Records"][0]["SequenceNumber"], "1");
        assert_eq!(
            answer["Records"][1]["ErrorCode"],
            "ProvisionedThroughputExceededException"
        );
        assert_eq!(answer["Records"].as_array().map(Vec::len), Some(3));
    }
}
