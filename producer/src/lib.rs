//! `twitter-producer`: keyword-matched posts from a source (the X API v2 filtered stream or
//! Bluesky's Jetstream) into an AWS Kinesis data stream.
//!
//! [`app`] is the composition root, [`config`] reads the command line and the environment.
//! [`source`] is where posts come from: one folder per source, and the loop they share. Every
//! post leaves its source through the [`outlet`] into the on-disk [`spool`], which the
//! [`sink`] writes to Kinesis in [`batch`]es; [`pipeline`] wires the two halves. Pure pieces
//! ([`keyword`], [`reconnect`], [`batch`], [`retry`], and in each source its decoding, rules or
//! matcher) hold the decisions and are tested without a network; the clients are at the edges
//! (`source::x`'s client, `source::bluesky`'s connection, [`sink`], [`aws`]). [`stats`],
//! [`status`], [`progress`] and [`logging`] say how a run goes, and [`redact`] keeps the
//! secrets a configured URL carries out of all of it; [`signals`] stops it.

pub mod app;
pub mod aws;
pub mod batch;
pub mod budget;
pub mod config;
pub mod error;
pub mod keyword;
pub mod logging;
pub mod outlet;
pub mod pipeline;
pub mod progress;
pub mod reconnect;
pub mod redact;
pub mod retry;
pub mod signals;
pub mod sink;
pub mod source;
pub mod spool;
pub mod stats;
pub mod status;

pub use error::ProducerError;
