//! The crate's one error type.

use twitter_consumer::ConsumerError;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An AWS call (worded as the consumer words its own) or the handler failed.
    #[error(transparent)]
    Consumer(#[from] ConsumerError),

    #[error("driver: cannot build the Lambda event: {0}")]
    Event(String),

    #[error("kinesis record {sequence_number} was not stored after {attempts} attempts")]
    GaveUp {
        sequence_number: String,
        attempts: u32,
    },
}
