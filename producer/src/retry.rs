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

/// Whether a failed call is worth another try: timeouts, connection failures and responses
/// that cannot be read always are; a service error is when its code says so, or when its HTTP
/// status is a 5xx or 429 (a proxy or load balancer in front of Kinesis answers those with no
/// error code at all).
pub fn is_retriable<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            service.err().code().is_some_and(is_retriable_code)
                || is_retriable_status(service.raw().status_code())
        }
        // Construction failures are bugs or bad configuration: no retry changes them.
        _ => false,
    }
}

/// Whether an HTTP status means "not now" whatever the body says.
pub fn is_retriable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The HTTP status of a raw response, so [`is_retriable`] can read it from the SDK's.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
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
    fn a_5xx_or_429_is_retriable_whatever_its_body() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retriable_status(status), "{status}");
        }
        for status in [200, 400, 403, 404, 413] {
            assert!(!is_retriable_status(status), "{status}");
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
