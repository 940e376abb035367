//! The `twitter-consumer` Lambda function: Kinesis batches of posts into the DynamoDB EventData
//! table, with no record lost and no shard ever blocked.
//!
//! The pure core ([`item`], [`post`], [`bluesky`], [`batch`], [`retry`], [`emf`],
//! [`metric_keywords`]) is tested without a network; the adapters ([`store`], [`dlq`]) are the
//! only code that talks to AWS, and [`runtime_api`] the only code that talks to Lambda itself
//! (an init failure; invocations go through `lambda_runtime`);
//! [`handler`] ties them together and is what Lambda (through `main.rs`) and the local driver (in
//! the development tools crate) both call. What the table is (schema, item types, payload codec,
//! size rules) is the `twitter-table` crate's.

pub mod batch;
pub mod bluesky;
pub mod config;
pub mod dlq;
pub mod emf;
pub mod error;
pub mod handler;
pub mod item;
pub mod limits;
pub mod metric_keywords;
pub mod post;
pub mod retry;
pub mod runtime_api;
pub mod store;

pub use config::Config;
pub use error::ConsumerError;
pub use handler::{App, BatchOutcome, MetricsOutput, handle, invoke};
pub use metric_keywords::MetricKeywords;

/// JSON logs on stdout, filtered by `RUST_LOG` (default `info`), as CloudWatch Logs expects them.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = twitter_errors::hint::QUIET_SDK_LOGS
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .try_init();
}
