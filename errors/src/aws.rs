//! What an AWS SDK error says: the line a user reads, and the facts a retry decision needs.

use std::error::Error;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::hint::{Endpoint, Problem};

/// How an AWS call failed, as far as deciding what to do next is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request was never sent (bad input, missing region or credentials).
    Construction,
    /// The request could not be delivered (DNS, connect, TLS, reset connection).
    Dispatch,
    /// The request or its response took longer than allowed.
    Timeout,
    /// A response came back that could not be read.
    Response,
    /// The service answered with an error.
    Service,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Construction => "request not built",
            Failure::Dispatch => "request not delivered",
            Failure::Timeout => "timed out",
            Failure::Response => "unreadable response",
            Failure::Service => "service error",
        })
    }
}

/// An SDK error, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub failure: Failure,
    /// The service's error code (`ResourceNotFoundException`, ...), when it sent one.
    pub code: Option<String>,
    /// The HTTP status of a service error.
    pub status: Option<u16>,
    /// The service's own message when it sent one, else the error and its causes on one line
    /// (the SDK's Display alone says only "service error" or "dispatch failure").
    pub message: String,
    /// What the user can fix, when the failure is about their set-up (see [`crate::hint`]).
    pub problem: Option<Problem>,
    /// The line that says how, worded for the endpoint the call went to.
    pub hint: Option<String>,
}

/// The line a user reads: the hint, when there is one; else the service's code, when it sent
/// one, and the message.
impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(hint) = &self.hint {
            return f.write_str(hint);
        }
        match &self.code {
            Some(code) if !self.message.starts_with(code.as_str()) => {
                write!(f, "{code}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl AwsError {
    /// An error read from something other than an SDK error (a response body that broke off).
    pub fn other(failure: Failure, message: String) -> AwsError {
        AwsError {
            failure,
            code: None,
            status: None,
            message,
            problem: None,
            hint: None,
        }
    }

    /// The line a user reads for a failed `operation` of `service`: the hint alone when there is
    /// one (what the user must change matters more than which call met it), else
    /// "`service` `operation` failed: " and what the service said.
    pub fn line(&self, service: &str, operation: &str) -> String {
        match &self.hint {
            Some(hint) => hint.clone(),
            None => format!("{service} {operation} failed: {self}"),
        }
    }

    /// Whether the failure may go away by itself: timeouts, connection failures and unreadable
    /// responses always may; a service error may when its code is one of the caller's
    /// `transient_codes` (each service has its own), or when its HTTP status is a 5xx or 429 (a
    /// proxy or load balancer in front of the service answers those with no error code at all).
    /// A request that was never built will fail the same way every time, and so will one whose
    /// credentials or region are missing (the SDK reports those as undelivered).
    pub fn is_transient(&self, transient_codes: &[&str]) -> bool {
        if self.problem.as_ref().is_some_and(Problem::is_configuration) {
            return false;
        }
        match self.failure {
            Failure::Timeout | Failure::Dispatch | Failure::Response => true,
            Failure::Construction => false,
            Failure::Service => {
                self.code
                    .as_deref()
                    .is_some_and(|code| transient_codes.contains(&code))
                    || self.status.is_some_and(is_transient_status)
            }
        }
    }
}

/// Whether an HTTP status means "not now" whatever the body says.
pub fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Reads what `error` says, worded for an endpoint the environment names (any service).
pub fn describe<E>(error: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    describe_at(&Endpoint::from_env(""), error)
}

/// Reads what an error of `service_id` (`dynamodb`, `kinesis`, `s3`, `sqs`, `ssm`) says, worded
/// for the endpoint the environment gives that service.
pub fn describe_for<E>(service_id: &str, error: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    describe_at(&Endpoint::from_env(service_id), error)
}

/// Reads what `error`, met calling `endpoint`, says.
pub fn describe_at<E>(endpoint: &Endpoint, error: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let (failure, status) = match error {
        SdkError::ConstructionFailure(_) => (Failure::Construction, None),
        SdkError::TimeoutError(_) => (Failure::Timeout, None),
        SdkError::DispatchFailure(d) if d.is_timeout() => (Failure::Timeout, None),
        SdkError::DispatchFailure(_) => (Failure::Dispatch, None),
        SdkError::ResponseError(_) => (Failure::Response, None),
        SdkError::ServiceError(e) => (Failure::Service, Some(e.raw().status().as_u16())),
        _ => (Failure::Response, None),
    };
    let code = error.code().map(str::to_owned);
    let message = error
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| crate::chain(error));
    let problem = crate::hint::classify(code.as_deref(), error);
    let hint = problem
        .as_ref()
        .map(|problem| crate::hint::explain(problem, endpoint, &message));
    AwsError {
        failure,
        code,
        status,
        message,
        problem,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    type Error = SdkError<ErrorMetadata, HttpResponse>;

    /// DynamoDB Local on a port nothing listens on, as a test would set it.
    fn local() -> Endpoint {
        Endpoint::from_vars("dynamodb", |name| {
            (name == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:1".to_owned())
        })
    }

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            StatusCode::try_from(status).expect("a valid status"),
            SdkBody::empty(),
        )
    }

    #[test]
    fn a_service_error_keeps_its_code_status_and_message() {
        let metadata = ErrorMetadata::builder()
            .code("ResourceNotFoundException")
            .message("Requested resource not found")
            .build();
        let error: Error = SdkError::service_error(metadata, response(400));
        assert_eq!(
            describe_at(&local(), &error),
            AwsError {
                failure: Failure::Service,
                code: Some("ResourceNotFoundException".to_owned()),
                status: Some(400),
                message: "Requested resource not found".to_owned(),
                problem: None,
                hint: None,
            }
        );
        assert_eq!(
            describe_at(&local(), &error).to_string(),
            "ResourceNotFoundException: Requested resource not found"
        );
    }

    #[test]
    fn a_connection_refused_reads_as_its_causes_without_a_debug_dump() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        let error: Error = SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let described = describe_at(&local(), &error);
        assert_eq!(described.failure, Failure::Dispatch);
        assert_eq!(described.code, None);
        assert_eq!(
            described.message,
            "dispatch failure: io error: Connection refused (os error 111)"
        );
        assert_eq!(
            described.to_string(),
            "cannot reach DynamoDB at http://127.0.0.1:1 (connection refused): \
             check AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL or the network"
        );
        assert_eq!(
            described.line("dynamodb", "Scan"),
            described.to_string(),
            "the hint alone: the operation is noise beside it"
        );
    }

    fn service(code: Option<&str>, status: Option<u16>) -> AwsError {
        AwsError {
            failure: Failure::Service,
            code: code.map(str::to_owned),
            status,
            message: String::new(),
            problem: None,
            hint: None,
        }
    }

    #[test]
    fn a_service_error_is_transient_by_its_code_or_its_status() {
        let codes = ["ThrottlingException"];
        assert!(service(Some("ThrottlingException"), Some(400)).is_transient(&codes));
        assert!(!service(Some("AccessDeniedException"), Some(400)).is_transient(&codes));
        for status in [429, 500, 502, 503, 504, 599] {
            assert!(service(None, Some(status)).is_transient(&codes), "{status}");
        }
        for status in [200, 400, 403, 404, 413, 600] {
            assert!(
                !service(None, Some(status)).is_transient(&codes),
                "{status}"
            );
        }
    }

    #[test]
    fn delivery_failures_are_transient_and_unbuilt_requests_are_not() {
        for (failure, transient) in [
            (Failure::Timeout, true),
            (Failure::Dispatch, true),
            (Failure::Response, true),
            (Failure::Construction, false),
        ] {
            let error = AwsError::other(failure, String::new());
            assert_eq!(error.is_transient(&[]), transient, "{failure:?}");
        }
    }

    #[test]
    fn an_error_without_a_hint_names_the_call_and_the_service_code() {
        let metadata = ErrorMetadata::builder()
            .code("ValidationException")
            .message("One or more parameter values were invalid")
            .build();
        let error: Error = SdkError::service_error(metadata, response(400));
        assert_eq!(
            describe_at(&local(), &error).line("dynamodb", "Query"),
            "dynamodb Query failed: ValidationException: One or more parameter values were invalid"
        );
    }

    #[test]
    fn missing_credentials_are_not_transient_though_undelivered() {
        let missing = aws_credential_types::provider::error::CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        );
        let error: Error =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(missing), None));
        let described = describe_at(&local(), &error);
        assert_eq!(described.failure, Failure::Dispatch);
        assert_eq!(described.problem, Some(Problem::NoCredentials));
        assert!(!described.is_transient(&[]));
    }

    #[test]
    fn a_connector_timeout_is_a_timeout() {
        let slow = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
        let error: Error = SdkError::dispatch_failure(ConnectorError::timeout(Box::new(slow)));
        assert_eq!(describe_at(&local(), &error).failure, Failure::Timeout);
    }

    #[test]
    fn a_request_never_built_is_a_construction_failure() {
        let error: Error = SdkError::construction_failure("no region configured");
        let described = describe_at(&local(), &error);
        assert_eq!(described.failure, Failure::Construction);
        assert_eq!(
            described.message,
            "failed to construct request: no region configured"
        );
    }
}
