//! The one place that decides which Kinesis failures are worth another try.

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

/// Error codes that mean "not now": the record is kept and sent again after a back-off.
/// Everything else (stream gone, access denied, KMS key disabled...) will not get better by
/// waiting, and the producer stops rather than spin.
const RETRIABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "InternalFailure",
    "InternalFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "LimitExceededException",
    "KMSThrottlingException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether a Kinesis error code (of a whole call or of one PutRecords entry) is retriable.
pub fn is_retriable_code(code: &str) -> bool {
    RETRIABLE_CODES.contains(&code)
}

/// Whether a failed call is worth another try: by the rule every AWS call in the workspace
/// follows ([`twitter_errors::aws::AwsError::is_transient`]), with Kinesis's codes.
pub fn is_retriable<E>(error: &SdkError<E, Response>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    twitter_errors::aws::describe(error).is_transient(RETRIABLE_CODES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_internal_failures_are_retriable() {
        for code in [
            "ProvisionedThroughputExceededException",
            "InternalFailure",
            "KMSThrottlingException",
        ] {
            assert!(is_retriable_code(code), "{code}");
        }
    }

    #[test]
    fn configuration_failures_are_not() {
        for code in [
            "ResourceNotFoundException",
            "AccessDeniedException",
            "KMSAccessDeniedException",
            "KMSDisabledException",
            "ValidationException",
            "",
        ] {
            assert!(!is_retriable_code(code), "{code}");
        }
    }
}
