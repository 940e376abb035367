//! `twitter-producer`: keyword-matched posts from the X API v2 filtered stream or Bluesky's
//! Jetstream into an AWS Kinesis data stream.
//!
//! Pure pieces (`rules`, `decode`, `matcher`, `bluesky`, `cursor`, `reconnect`, `batch`,
//! `retry`) hold the decisions and are tested without a network; `x`, `jetstream` and `sink` are
//! the adapters at the edges; `source` is what both sources share (reconnect loop, spend guard,
//! queue), `stream` (X) and `jetstream` (Bluesky) its two implementations, and `pipeline` wires a
//! source to the sink; `main.rs` only reads the configuration and starts things.

pub mod aws;
pub mod batch;
pub mod bluesky;
pub mod config;
pub mod cursor;
pub mod decode;
pub mod error;
pub mod jetstream;
pub mod matcher;
pub mod outlet;
pub mod pipeline;
pub mod reconnect;
pub mod retry;
pub mod rules;
pub mod sink;
pub mod source;
pub mod spool;
pub mod stats;
pub mod status;
pub mod stream;
pub mod x;

pub use error::ProducerError;
