//! The one place that decides which Kinesis failures are worth another try.

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};

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

/// Whether a failed call is worth another try: timeouts, connection failures and 5xx always
/// are; a service error is when its code says so.
pub fn is_retriable<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service.err().code().is_some_and(is_retriable_code),
        // Construction failures are bugs or bad configuration: no retry changes them.
        _ => false,
    }
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
