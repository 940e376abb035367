//! The crate's one error type.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use twitter_errors::aws::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("configuration: {0}")]
    Config(String),

    /// What the SDK error said, read once; it is no `source`, so that a cause chain printed
    /// after it does not repeat the SDK's own.
    #[error("{}", aws.line(service, operation))]
    Aws {
        service: &'static str,
        operation: &'static str,
        aws: Box<AwsError>,
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

    #[error("runtime API: {0}")]
    RuntimeApi(String),
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
        ConsumerError::Aws {
            service,
            operation,
            aws: Box::new(twitter_errors::aws::describe_for(service, &err)),
        }
    }

    /// The service's error code, for an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            ConsumerError::Aws { aws, .. } => aws.code.as_deref(),
            _ => None,
        }
    }
}

impl From<ConsumerError> for lambda_runtime::Diagnostic {
    fn from(error: ConsumerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "ConsumerError".to_owned(),
            error_message: error.to_string(),
        }
    }
}
