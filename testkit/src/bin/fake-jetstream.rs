//! `fake-jetstream`: the testkit Jetstream server as a program, for the offline demo. Replays
//! the events of the given files (default: the bundled fixtures) as a firehose, each post under a
//! fresh rkey and every event at a fresh, rising `time_us`, so a producer can resume from a cursor.
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use testkit::cli::{announce, fail, init_tracing, parse_args, serve_until_signal};
use testkit::fixtures::jetstream_events;
use testkit::jetstream::{JetstreamServer, JetstreamServerConfig, Step, lines, retimed, with_rkey};

/// Serves Bluesky Jetstream events on ws://127.0.0.1:PORT/subscribe.
#[derive(Debug, Parser)]
#[command(name = "fake-jetstream")]
struct Cli {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Events to serve, cycling through the lines read (default: each line once).
    #[arg(long)]
    count: Option<usize>,
    /// Pause between events in milliseconds (0 = as fast as the client reads).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Send every event, not only the `wantedCollections` the client asked for (as if the
    /// filter were broken), to show the client filters for itself.
    #[arg(long)]
    all_collections: bool,
    /// How far this host's clock is ahead of the events' times, in milliseconds (negative:
    /// behind): every `time_us` is stamped that much later, and cursors are read against those
    /// stamps. Two instances with different offsets act as two Jetstream hosts.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_ms: i64,
    /// Send events over a client's `maxMessageSizeBytes` anyway, as Jetstream's original server
    /// does (the 2026 one skips them).
    #[arg(long)]
    ignore_max_message_size: bool,
    /// Files of Jetstream events, one JSON object a line [default: the bundled fixtures].
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Times far from the fixtures' own and ten milliseconds apart: unique, rising positions.
const FIRST_TIME_US: u64 = 1_800_000_000_000_000;
const TIME_STEP_US: u64 = 10_000;

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match parse_args("fake-jetstream") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_tracing();

    let events = match read_events(&cli.files) {
        Ok(events) => events,
        Err(message) => return fail("fake-jetstream", &message),
    };
    let count = cli.count.unwrap_or(events.len());
    let firehose: Vec<String> = events
        .iter()
        .cycle()
        .take(count)
        .enumerate()
        .map(|(i, line)| with_rkey(line, &format!("3fake{i:010}")))
        .collect();
    let firehose = retimed(&firehose, FIRST_TIME_US, TIME_STEP_US);
    let script = if cli.interval_ms == 0 {
        Vec::new()
    } else {
        (0..count)
            .flat_map(|_| {
                [
                    Step::Events(1),
                    Step::Pause(Duration::from_millis(cli.interval_ms)),
                ]
            })
            .collect()
    };
    let config = JetstreamServerConfig {
        events: firehose,
        script,
        filter_collections: !cli.all_collections,
        ping_interval: Duration::from_secs(10),
        clock_offset_us: cli.clock_offset_ms.saturating_mul(1000),
        honour_max_message_size: !cli.ignore_max_message_size,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, cli.port));
    let server = match JetstreamServer::start_on(config, addr).await {
        Ok(server) => server,
        Err(error) => {
            return fail(
                "fake-jetstream",
                &format!("cannot listen on port {}: {error}", cli.port),
            );
        }
    };
    if let Err(code) = announce("fake-jetstream", &server.url()) {
        return code;
    }
    tracing::info!(events = count, "serving");

    let report_finish = async {
        while !server.wait_until_finished(Duration::from_secs(60)).await {}
        tracing::info!(sent = server.sent().len(), "every event sent");
        std::future::pending::<()>().await;
    };
    if let Err(code) = serve_until_signal("fake-jetstream", report_finish).await {
        return code;
    }
    tracing::info!(
        sent = server.sent().len(),
        connections = server.connections().len(),
        "stopping"
    );
    ExitCode::SUCCESS
}

/// Keeps the lines that are Jetstream events: JSON objects with a `kind`.
fn read_events(files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut events = Vec::new();
    if files.is_empty() {
        events.extend(jetstream_events().into_iter().map(str::to_owned));
        return Ok(events);
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
        events.extend(lines(&text).into_iter().filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|value| value["kind"].is_string())
        }));
    }
    if events.is_empty() {
        return Err("no Jetstream events (JSON with a kind) in the given files".to_owned());
    }
    Ok(events)
}
