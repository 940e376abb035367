//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How an AWS call failed, as far as deciding what to do next is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFailure {
    /// The request was never sent (bad input, missing region or credentials).
    Construction,
    /// The request could not be delivered (DNS, connect, TLS, reset connection).
    Dispatch,
    /// The request or its response took longer than allowed.
    Timeout,
    /// A response came back that could not be read.
    Response,
    /// The service answered with an error code.
    Service,
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AwsFailure::Construction => "request not built",
            AwsFailure::Dispatch => "request not delivered",
            AwsFailure::Timeout => "timed out",
            AwsFailure::Response => "unreadable response",
            AwsFailure::Service => "service error",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("configuration: {0}")]
    Config(String),

    #[error("{service} {operation} failed ({kind}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Aws {
        service: &'static str,
        operation: &'static str,
        kind: AwsFailure,
        /// The service's error code (`ProvisionedThroughputExceededException`, ...), when it sent one.
        code: Option<String>,
        /// The HTTP status, when a response came back.
        status: Option<u16>,
        message: String,
        #[source]
        source: BoxError,
    },

    #[error("{service} {operation} did not answer within {after_ms} ms")]
    CallTimeout {
        service: &'static str,
        operation: &'static str,
        after_ms: u128,
    },

    #[error("the invocation deadline is too close to start another attempt")]
    DeadlineNear,

    #[error("payload: {0}")]
    Payload(String),
}

impl ConsumerError {
    /// Converts an SDK error, keeping what [`crate::retry::is_retriable`] needs to decide.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let (kind, status) = match &err {
            SdkError::ConstructionFailure(_) => (AwsFailure::Construction, None),
            SdkError::TimeoutError(_) => (AwsFailure::Timeout, None),
            SdkError::DispatchFailure(d) if d.is_timeout() => (AwsFailure::Timeout, None),
            SdkError::DispatchFailure(_) => (AwsFailure::Dispatch, None),
            SdkError::ResponseError(_) => (AwsFailure::Response, None),
            SdkError::ServiceError(e) => (AwsFailure::Service, Some(e.raw().status().as_u16())),
            _ => (AwsFailure::Response, None),
        };
        let code = err.code().map(str::to_owned);
        let message = err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| source_chain(&err));
        ConsumerError::Aws {
            service,
            operation,
            kind,
            code,
            status,
            message,
            source: Box::new(err),
        }
    }

    /// The service's error code, for an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            ConsumerError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// The SDK's own Display is terse ("dispatch failure"); the cause is further down the chain.
fn source_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

impl From<ConsumerError> for lambda_runtime::Diagnostic {
    fn from(error: ConsumerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "ConsumerError".to_owned(),
            error_message: error.to_string(),
        }
    }
}
