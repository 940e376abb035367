//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A `Payload` that cannot be written or read back.
    #[error("payload: {0}")]
    Payload(String),

    #[error("cannot build the item for post {id}: {source}")]
    Encode {
        id: String,
        #[source]
        source: serde_dynamo::Error,
    },

    /// A stored item whose attributes do not have the schema's types.
    #[error("{} does not fit the table's schema: {source}", id.as_deref().map(|id| format!("the item of post {id}")).unwrap_or_else(|| "an item".to_owned()))]
    Decode {
        id: Option<String>,
        #[source]
        source: serde_dynamo::Error,
    },

    /// What the SDK error said, read once (only `admin` calls AWS); it is no `source`, so that the line a user reads is
    /// the hint alone, not the hint followed by the SDK's chain.
    #[cfg(feature = "admin")]
    #[error("{}", aws.line("dynamodb", operation))]
    Aws {
        operation: &'static str,
        aws: Box<twitter_errors::aws::AwsError>,
    },

    #[error("table {0} did not become active")]
    NotActive(String),
}
