//! Development tools around the consumer, never deployed: the local [`driver`] that feeds a
//! Kinesis stream through the Lambda handler (the `twitter-consumer-driver` binary), and the
//! seeding example for `scripts/bench_query.sh` (`examples/seed.rs`).

pub mod driver;
pub mod error;

pub use error::ToolError;
