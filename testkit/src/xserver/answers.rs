//! X's answer bodies, as recorded or documented, and the helpers that send them.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) const OPERATIONAL_DISCONNECT: &str = r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect","detail":"This stream has been disconnected for operational reasons.","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#;
pub(super) const BODY_503: &str = r#"{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}"#;
pub(super) const BODY_TOO_MANY_CONNECTIONS: &str = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}"#;
/// A plain rate limit: the window's requests are used up.
pub(super) const BODY_RATE_LIMITED: &str = r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#;
pub(super) const BODY_USAGE_CAPPED: &str = r#"{"account_id":1790000000000000000,"product_name":"pay-per-use","title":"UsageCapExceeded","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.x.com/2/problems/usage-capped"}"#;
pub(super) const BODY_CREDITS_DEPLETED: &str = r#"{"title":"CreditsDepleted","detail":"Your enrolled account [1790000000000000000] does not have any credits to fulfill this request.","type":"https://api.x.com/2/problems/credits"}"#;
pub(super) const BODY_401: &str =
    r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;

pub(super) fn json_answer(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

pub(super) fn unauthorized() -> Response {
    json_answer(StatusCode::UNAUTHORIZED, BODY_401)
}

/// X's 400: a generic `detail`, the specific reason in `errors[].message`.
pub(super) fn invalid_request(message: String) -> Response {
    let body = json!({
        "errors": [{"message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

pub(super) async fn not_found() -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        r#"{"title":"Not Found Error","detail":"No such endpoint on the fake X server.","type":"about:blank","status":404}"#,
    )
}

/// Now in X's `meta.sent` format.
pub(super) fn now() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

pub(super) fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}
