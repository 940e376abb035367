//! Errors as RFC 9457 problem details (`application/problem+json`): the status each
//! [`QueryError`] answers with, decided in one place ([`status_of`]), and the CLI's own one-line
//! message as the `detail`.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::QueryError;
use crate::render;

/// The media type of a problem body (RFC 9457, section 3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One failed request, as RFC 9457 words it. `type` is always `about:blank`: the status says
/// what kind of failure it is, and `title` is then that status's phrase (RFC 9457, 4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404, minimum = 400, maximum = 599)]
    pub status: u16,
    /// The same one line the command line prints after `error:`.
    #[schema(
        example = "no posts stored under keyword \"rust\" (twitter-query keywords lists the ones that have data)"
    )]
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: &str) -> Problem {
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            // No control character from a stored id or the request, as on the terminal.
            detail: render::one_line(detail),
        }
    }

    pub fn from_error(error: &QueryError) -> Problem {
        Problem::new(status_of(error), &error.to_string())
    }

    /// A read that took longer than `limit`: answered rather than left hanging.
    pub fn timeout(limit: Duration) -> Problem {
        Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "dynamodb did not answer within {} s; try a shorter window or again later",
                limit.as_secs_f64()
            ),
        )
    }

    pub fn bad_request(detail: &str) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The status of each failure: the client's mistake is 4xx (never a 500), DynamoDB's a 502.
pub fn status_of(error: &QueryError) -> StatusCode {
    match error {
        QueryError::Window(_) | QueryError::Usage(_) => StatusCode::BAD_REQUEST,
        // An empty table has no keyword or post to find either.
        QueryError::UnknownKeyword(_)
        | QueryError::UnknownPost { .. }
        | QueryError::EmptyTable(_) => StatusCode::NOT_FOUND,
        // The table the server was started on is gone, DynamoDB refused or could not be
        // reached, or sent an item that does not read: the upstream failed, not the request.
        QueryError::TableNotFound(_)
        | QueryError::Aws { .. }
        | QueryError::Unprocessed { .. }
        | QueryError::Payload { .. }
        | QueryError::Table(_) => StatusCode::BAD_GATEWAY,
        // Not reached by a read: the server has a table name before it listens, and writes no
        // file.
        QueryError::MissingTableName
        | QueryError::WriteFile { .. }
        | QueryError::Output(_)
        | QueryError::Listen { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status_code(), body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_status() {
        let window =
            crate::window::Window::parse(Some("soon"), None, time::OffsetDateTime::UNIX_EPOCH)
                .unwrap_err();
        assert_eq!(
            status_of(&QueryError::Window(window)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(&QueryError::Usage("x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(&QueryError::UnknownKeyword("k".into())),
            StatusCode::NOT_FOUND
        );
        let post = QueryError::UnknownPost {
            id: "1".into(),
            table: "T".into(),
        };
        assert_eq!(status_of(&post), StatusCode::NOT_FOUND);
        assert_eq!(
            status_of(&QueryError::TableNotFound("T".into())),
            StatusCode::BAD_GATEWAY
        );
        let unprocessed = QueryError::Unprocessed {
            operation: "BatchGetItem",
            keys: 3,
            attempts: 5,
        };
        assert_eq!(status_of(&unprocessed), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn a_problem_carries_the_cli_line_and_the_status_phrase() {
        let problem = Problem::from_error(&QueryError::UnknownKeyword("a\u{1b}[31mb".into()));
        assert_eq!(problem.status, 404);
        assert_eq!(problem.title, "Not Found");
        assert_eq!(problem.kind, "about:blank");
        assert!(!problem.detail.contains('\u{1b}'), "{}", problem.detail);
        assert!(problem.detail.starts_with("no posts stored under keyword"));
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "about:blank");
        let timeout = Problem::timeout(Duration::from_millis(1500));
        assert_eq!(timeout.status, 504);
        assert!(timeout.detail.contains("1.5 s"), "{}", timeout.detail);
    }
}
