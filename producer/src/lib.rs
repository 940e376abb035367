//! `twitter-producer`: the X API v2 filtered stream into an AWS Kinesis data stream.
//!
//! Pure pieces (`rules`, `decode`, `reconnect`, `batch`, `retry`) hold the decisions and are
//! tested without a network; `x` and `sink` are the adapters at the edges; `stream` and
//! `pipeline` wire them together; `main.rs` only reads the configuration and starts things.

pub mod aws;
pub mod batch;
pub mod config;
pub mod decode;
pub mod error;
pub mod pipeline;
pub mod reconnect;
pub mod retry;
pub mod rules;
pub mod sink;
pub mod stats;
pub mod status;
pub mod stream;
pub mod x;

pub use error::ProducerError;
