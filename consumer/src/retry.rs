//! What is worth retrying, and how long the invocation still has to do it.

use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Deserialize;

use crate::error::ConsumerError;

/// Service error codes that mean "try again later", across DynamoDB and SQS.
const RETRIABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    "KMSThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "SlowDown",
];

/// The one place that decides whether a failure may go away by itself.
///
/// Anything not listed here is treated as permanent: retrying it would only burn the invocation's
/// time, and the caller decides whether the record is poison or the batch must be reported.
pub fn is_retriable(error: &ConsumerError) -> bool {
    match error {
        ConsumerError::Aws { aws, .. } => aws.is_transient(RETRIABLE_CODES),
        ConsumerError::CallTimeout { .. } | ConsumerError::DeadlineNear => true,
        ConsumerError::Config(_) | ConsumerError::Payload(_) | ConsumerError::RuntimeApi(_) => {
            false
        }
    }
}

/// The error DynamoDB returns for a request it will never accept as it is (an item too large, an
/// empty key, duplicate keys in one batch).
pub fn is_validation(error: &ConsumerError) -> bool {
    error.aws_code() == Some("ValidationException")
}

/// Backoff between attempts: exponential with full jitter on top, so that the concurrent batches of
/// one invocation (and the invocations of other shards) do not retry in step.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    #[serde(with = "millis")]
    pub min_delay: Duration,
    #[serde(with = "millis")]
    pub max_delay: Duration,
    /// Upper bound on attempts for one request; the deadline usually ends retrying first.
    pub max_attempts: usize,
    /// Upper bound on one call; a hung connection must not eat the whole invocation.
    #[serde(with = "millis")]
    pub call_timeout: Duration,
    /// Time kept back at the end of the invocation to answer Lambda with the partial batch response.
    #[serde(with = "millis")]
    pub deadline_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_attempts: 10,
            call_timeout: Duration::from_secs(5),
            deadline_margin: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    pub fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build()
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The point by which the invocation must have answered.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    margin: Duration,
}

impl Deadline {
    /// From the Lambda context's deadline (milliseconds since the epoch). Zero means "not set"
    /// (a test's `Context::default()`): `fallback` from now is used instead.
    pub fn from_epoch_millis(deadline_ms: u64, fallback: Duration, margin: Duration) -> Self {
        let now = Instant::now();
        let at = if deadline_ms == 0 {
            now + fallback
        } else {
            let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
            let left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            now + left
        };
        Deadline { at, margin }
    }

    pub fn after(budget: Duration, margin: Duration) -> Self {
        Deadline {
            at: Instant::now() + budget,
            margin,
        }
    }

    /// Time left for work, the answer's margin already taken off.
    pub fn remaining(&self) -> Duration {
        self.at
            .saturating_duration_since(Instant::now())
            .saturating_sub(self.margin)
    }

    /// Whether waiting `delay` and then making a call of at least `min_call` still fits.
    pub fn allows(&self, delay: Duration, min_call: Duration) -> bool {
        self.remaining() > delay + min_call
    }

    /// The time one call may take: the policy's bound, or less when the deadline is closer.
    pub fn call_budget(&self, policy: &RetryPolicy) -> Option<Duration> {
        let remaining = self.remaining();
        if remaining < MIN_CALL {
            None
        } else {
            Some(remaining.min(policy.call_timeout))
        }
    }
}

/// Below this, an AWS call is not worth starting: it would most likely time out.
pub const MIN_CALL: Duration = Duration::from_millis(100);

/// Runs one AWS call until it succeeds, fails for good, or the deadline leaves no room: each
/// attempt bounded by the call budget, retriable failures (per [`is_retriable`]) retried after a
/// jittered backoff.
pub async fn call<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: &Deadline,
    service: &'static str,
    operation: &'static str,
    mut attempt: F,
) -> Result<T, ConsumerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ConsumerError>>,
{
    let mut backoff = policy.backoff();
    loop {
        let Some(budget) = deadline.call_budget(policy) else {
            return Err(ConsumerError::DeadlineNear);
        };
        let error = match tokio::time::timeout(budget, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => ConsumerError::CallTimeout {
                service,
                operation,
                after_ms: budget.as_millis(),
            },
        };
        if !is_retriable(&error) {
            return Err(error);
        }
        match backoff.next() {
            Some(delay) if deadline.allows(delay, MIN_CALL) => {
                tracing::warn!(service, operation, error = %error, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
            }
            _ => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> ConsumerError {
        let err = aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError::generic(
            ErrorMetadata::builder().code(code).message("m").build(),
        );
        let raw = HttpResponse::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::empty(),
        );
        ConsumerError::from_sdk(
            "dynamodb",
            "BatchWriteItem",
            SdkError::service_error(err, raw),
        )
    }

    #[test]
    fn throttling_and_server_errors_are_retriable() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalServerError",
        ] {
            assert!(is_retriable(&service_error(code, 400)), "{code}");
        }
        assert!(is_retriable(&service_error("Whatever", 503)));
        assert!(is_retriable(&service_error("Whatever", 429)));
    }

    #[test]
    fn client_errors_are_not_retriable() {
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDeniedException",
            "UnrecognizedClientException",
        ] {
            let err = service_error(code, 400);
            assert!(!is_retriable(&err), "{code}");
            assert_eq!(err.aws_code(), Some(code));
        }
        assert!(is_validation(&service_error("ValidationException", 400)));
        assert!(!is_validation(&service_error("ThrottlingException", 400)));
    }

    #[test]
    fn timeouts_and_the_deadline_are_retriable() {
        let timeout: SdkError<
            aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError,
            HttpResponse,
        > = SdkError::timeout_error("slow");
        assert!(is_retriable(&ConsumerError::from_sdk(
            "dynamodb",
            "BatchWriteItem",
            timeout
        )));
        assert!(is_retriable(&ConsumerError::DeadlineNear));
        assert!(is_retriable(&ConsumerError::CallTimeout {
            service: "sqs",
            operation: "SendMessage",
            after_ms: 5
        }));
        assert!(!is_retriable(&ConsumerError::Payload("x".into())));
    }

    #[test]
    fn backoff_grows_jittered_and_stops() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(80),
            max_attempts: 6,
            ..RetryPolicy::default()
        };
        let delays: Vec<Duration> = policy.backoff().collect();
        assert_eq!(delays.len(), 5);
        for d in &delays {
            // Jitter adds up to one more delay on top of the capped one.
            assert!(
                *d >= Duration::from_millis(10) && *d <= Duration::from_millis(160),
                "{d:?}"
            );
        }
        assert!(delays[4] >= Duration::from_millis(80));
    }

    #[test]
    fn deadline_accounts_for_margin() {
        let d = Deadline::after(Duration::from_millis(300), Duration::from_millis(250));
        assert!(d.remaining() <= Duration::from_millis(50));
        assert!(!d.allows(Duration::from_millis(10), MIN_CALL));
        assert!(d.call_budget(&RetryPolicy::default()).is_none());

        let roomy = Deadline::after(Duration::from_secs(60), Duration::from_millis(500));
        assert_eq!(
            roomy.call_budget(&RetryPolicy::default()),
            Some(RetryPolicy::default().call_timeout)
        );
        assert!(roomy.allows(Duration::from_secs(1), MIN_CALL));
    }

    #[test]
    fn deadline_from_context_zero_uses_fallback_and_past_is_zero() {
        let d = Deadline::from_epoch_millis(0, Duration::from_secs(10), Duration::ZERO);
        assert!(d.remaining() > Duration::from_secs(9));
        let past = Deadline::from_epoch_millis(1, Duration::from_secs(10), Duration::ZERO);
        assert_eq!(past.remaining(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_hung_call_times_out_and_is_retried() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            call_timeout: Duration::from_millis(150),
            ..RetryPolicy::default()
        };
        let deadline = Deadline::after(Duration::from_secs(10), Duration::ZERO);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result = call(&policy, &deadline, "test", "Op", || {
            let n = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n == 0 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Ok::<u32, ConsumerError>(n)
            }
        })
        .await;
        assert_eq!(result.expect("second attempt"), 1);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried_and_the_deadline_stops_retries() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let deadline = Deadline::after(Duration::from_secs(10), Duration::ZERO);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result: Result<(), _> = call(&policy, &deadline, "test", "Op", || {
            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Err(service_error("AccessDeniedException", 400)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);

        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result: Result<(), _> = call(&policy, &deadline, "test", "Op", || {
            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Err(service_error("ThrottlingException", 400)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(
            attempts.load(std::sync::atomic::Ordering::SeqCst),
            policy.max_attempts as u32
        );

        let past = Deadline::after(Duration::ZERO, Duration::ZERO);
        let result: Result<(), _> = call(&policy, &past, "test", "Op", || async { Ok(()) }).await;
        assert!(matches!(result, Err(ConsumerError::DeadlineNear)));
    }
}
