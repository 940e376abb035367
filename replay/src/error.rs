//! The crate's one error type.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use twitter_errors::aws::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Bad configuration: exit 2.
    #[error("{0}")]
    Config(String),

    #[error(transparent)]
    Consumer(#[from] twitter_consumer::ConsumerError),

    /// What the SDK error said, read once; it is no `source`, so that the cause chain `main`
    /// prints does not repeat the SDK's own.
    #[error("{}", aws.line(service, operation))]
    Aws {
        service: &'static str,
        operation: &'static str,
        aws: Box<AwsError>,
    },

    #[error("cannot shape a Lambda event: {0}")]
    Event(String),

    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
}

impl ReplayError {
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    {
        ReplayError::Aws {
            service,
            operation,
            aws: Box::new(twitter_errors::aws::describe_for(service, &err)),
        }
    }

    /// The service's error code, for an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            ReplayError::Aws { aws, .. } => aws.code.as_deref(),
            _ => None,
        }
    }

    /// The process exit code this error ends a run with: 2 for configuration, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReplayError::Config(_)
            | ReplayError::Consumer(twitter_consumer::ConsumerError::Config(_)) => 2,
            _ => 1,
        }
    }
}

/// `map_err` adapter: `.map_err(sdk("s3", "GetObject"))`.
pub fn sdk<E>(
    service: &'static str,
    operation: &'static str,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> ReplayError
where
    E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
{
    move |err| ReplayError::from_sdk(service, operation, err)
}
