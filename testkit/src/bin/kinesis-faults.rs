//! `kinesis-faults`: the testkit's Kinesis proxy as a program, forwarding every call to moto.
//!
//! moto answers every request with `Connection: close`, so a client pays a new TCP connection per
//! call; Kinesis keeps connections open and the SDKs pool them. The producer bench goes through
//! this proxy, which keeps its client's connection open as Kinesis does, so what is measured is
//! the producer's cost against the real service, not moto's connection handling.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::Parser;
use testkit::cli::{announce, fail, init_tracing, parse_args, serve_until_signal};
use testkit::kinesis_faults::KinesisFaults;

/// Forwards Kinesis calls to UPSTREAM over kept-alive client connections.
#[derive(Debug, Parser)]
#[command(name = "kinesis-faults")]
struct Cli {
    /// moto's endpoint, e.g. http://127.0.0.1:5000
    #[arg(long)]
    upstream: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match parse_args("kinesis-faults") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_tracing();
    if !cli.upstream.starts_with("http://") && !cli.upstream.starts_with("https://") {
        return fail(
            "kinesis-faults",
            &format!("--upstream {:?} is not an http:// URL", cli.upstream),
        );
    }
    let proxy = match KinesisFaults::start(&cli.upstream).await {
        Ok(proxy) => proxy,
        Err(error) => return fail("kinesis-faults", &format!("cannot listen: {error}")),
    };
    if let Err(code) = announce("kinesis-faults", &proxy.endpoint()) {
        return code;
    }
    if let Err(code) = serve_until_signal("kinesis-faults", std::future::pending()).await {
        return code;
    }
    tracing::info!(put_records_calls = proxy.put_records_calls(), "stopping");
    ExitCode::SUCCESS
}
