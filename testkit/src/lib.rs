//! Local stand-ins for the services the pipeline talks to, for tests, benchmarks and the offline
//! demo. Nothing here is used in production code paths.

pub mod aws_refusal;
pub mod aws_setup;
pub mod cli;
pub mod dynamodb_local;
pub mod fixtures;
pub mod jetstream;
pub mod kinesis_faults;
pub mod moto;
pub mod readback;
pub mod records;
pub mod server;
pub mod xserver;
