//! The crate's one error type.

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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

    #[error("dynamodb {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Aws {
        operation: &'static str,
        /// The service's error code, when it sent one.
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },

    #[error("table {0} did not become active")]
    NotActive(String),
}
