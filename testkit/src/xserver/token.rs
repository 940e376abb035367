//! `POST /oauth2/token`: the app-only bearer token for a consumer key and secret (HTTP Basic,
//! `grant_type=client_credentials`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::answers::json_answer;
use super::shared::Shared;

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.ledger().token_requests += 1;
    if !body
        .split(|byte| *byte == b'&')
        .any(|pair| pair == b"grant_type=client_credentials")
    {
        return json_answer(
            StatusCode::FORBIDDEN,
            r#"{"errors":[{"code":170,"message":"Missing required parameter: grant_type","label":"forbidden_missing_parameter"}]}"#,
        );
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let expected = shared
        .consumer_credentials
        .as_ref()
        .map(|(key, secret)| format!("{key}:{secret}"));
    if given.is_none() || given != expected {
        return json_answer(
            StatusCode::FORBIDDEN,
            r#"{"errors":[{"code":99,"message":"Unable to verify your credentials","label":"authenticity_token_error"}]}"#,
        );
    }
    Json(json!({"token_type": "bearer", "access_token": shared.bearer_token})).into_response()
}
