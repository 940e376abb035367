//! An AWS endpoint that refuses every request the way AWS refuses credentials it will not take:
//! an expired session token, an access key it does not know, a signature that does not match.
//! No emulator does this (moto and DynamoDB Local take any credentials), and a test cannot make
//! a real token expire, so a binary's error line for these is checked against this.
//!
//! The answer is in the protocol of the request: the JSON protocols (DynamoDB, Kinesis, SQS,
//! SSM: an `X-Amz-Target` header) get `{"__type": ..., "message": ...}`, the REST-XML one (S3)
//! gets `<Error><Code>...`. Codes and messages are AWS's own (see [`Refusal`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use crate::server::LocalServer;

/// Which refusal every request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session token has expired (DynamoDB, Kinesis: `ExpiredTokenException`; S3:
    /// `ExpiredToken`).
    ExpiredToken,
    /// The access key id is unknown (`UnrecognizedClientException`; S3: `InvalidAccessKeyId`).
    UnknownAccessKey,
    /// The signature does not match (`InvalidSignatureException`; S3: `SignatureDoesNotMatch`).
    BadSignature,
}

impl Refusal {
    /// Status, code and message as the JSON-protocol services answer.
    fn json(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Refusal::ExpiredToken => (
                StatusCode::BAD_REQUEST,
                "com.amazon.coral.service#ExpiredTokenException",
                "The security token included in the request is expired",
            ),
            Refusal::UnknownAccessKey => (
                StatusCode::BAD_REQUEST,
                "com.amazon.coral.service#UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            Refusal::BadSignature => (
                StatusCode::BAD_REQUEST,
                "com.amazon.coral.service#InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.",
            ),
        }
    }

    /// Status, code and message as S3 answers.
    fn xml(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Refusal::ExpiredToken => (
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "The provided token has expired.",
            ),
            Refusal::UnknownAccessKey => (
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            Refusal::BadSignature => (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method.",
            ),
        }
    }
}

/// A running endpoint; dropping it stops it.
#[derive(Debug)]
pub struct AwsRefusal {
    server: LocalServer,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    refusal: Refusal,
    requests: AtomicUsize,
}

impl AwsRefusal {
    /// Listens on a free loopback port.
    pub async fn start(refusal: Refusal) -> std::io::Result<AwsRefusal> {
        let shared = Arc::new(Shared {
            refusal,
            requests: AtomicUsize::new(0),
        });
        let router = Router::new()
            .fallback(refuse)
            .with_state(Arc::clone(&shared));
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server =
            LocalServer::start(any_port, CancellationToken::new(), |listener| async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::warn!(%error, "AWS refusal endpoint stopped");
                }
            })
            .await?;
        Ok(AwsRefusal { server, shared })
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Requests refused so far: a test can tell its binary reached this endpoint.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

async fn refuse(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let request_id = [("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")];
    if headers.contains_key("x-amz-target") {
        let (status, code, message) = shared.refusal.json();
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        let short_code = code.rsplit('#').next().unwrap_or(code);
        (
            status,
            request_id,
            [
                (header::CONTENT_TYPE, "application/x-amz-json-1.0"),
                // SQS's JSON protocol reads the code from here first.
                (
                    header::HeaderName::from_static("x-amzn-query-error"),
                    &*format!("{short_code};Sender"),
                ),
            ],
            body,
        )
            .into_response()
    } else {
        let (status, code, message) = shared.refusal.xml();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>0000000000000000</RequestId></Error>"
        );
        (
            status,
            request_id,
            [(header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response()
    }
}
