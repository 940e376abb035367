//! `fake-x`: the testkit X filtered-stream server as a program, for the offline demo and the
//! benchmark. Streams the post lines of the given files, each under a fresh id: as fast as the
//! client reads, or at X's pace (`--posts-per-second`, one post per write, a reader that falls
//! behind dropped).
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use testkit::cli::{announce, fail, init_tracing, parse_args, serve_until_signal};
use testkit::xserver::{
    DEFAULT_SLOW_READER_TIMEOUT, Pace, Step, XServer, XServerConfig, with_post_id,
};

/// Serves the X API v2 filtered stream on 127.0.0.1 from post lines in FILE(s).
#[derive(Debug, Parser)]
#[command(name = "fake-x")]
struct Cli {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The Bearer token clients must send.
    #[arg(long, default_value = "test-bearer-token")]
    bearer_token: String,
    /// Consumer key accepted by POST /oauth2/token.
    #[arg(long, requires = "consumer_secret")]
    consumer_key: Option<String>,
    /// Consumer secret accepted by POST /oauth2/token.
    #[arg(long, requires = "consumer_key")]
    consumer_secret: Option<String>,
    /// Posts to stream, cycling through the lines read (default: each line once).
    #[arg(long)]
    count: Option<usize>,
    /// Pause between posts in milliseconds (0 = as fast as the client reads).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Write posts at this rate, one post per write, whatever the client reads, as X does (its
    /// cap is 250 per connection); a client that takes nothing for --slow-reader-timeout-ms is
    /// dropped and what was buffered is lost. Unset: as fast as the client reads.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "interval_ms")]
    posts_per_second: Option<u32>,
    /// With --posts-per-second: how long a client may take nothing before it is dropped.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_SLOW_READER_TIMEOUT.as_millis() as u64, requires = "posts_per_second")]
    slow_reader_timeout_ms: u64,
    /// Keep-alive interval once every post is sent, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    keepalive_ms: u64,
    /// Files of post lines, one JSON object a line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Ids far above the fixtures' own, so generated posts never collide with real ones.
const FIRST_POST_ID: u64 = 2_000_000_000_000_000_000;

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match parse_args("fake-x") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_tracing();

    let lines = match read_posts(&cli.files) {
        Ok(lines) => lines,
        Err(message) => return fail("fake-x", &message),
    };
    let count = cli.count.unwrap_or(lines.len());
    let config = XServerConfig {
        bearer_token: cli.bearer_token,
        consumer_credentials: cli.consumer_key.zip(cli.consumer_secret),
        script: script(&lines, count, Duration::from_millis(cli.interval_ms)),
        keepalive_interval: Duration::from_millis(cli.keepalive_ms),
        keep_delivered_lines: false,
        ..Default::default()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, cli.port));
    let server = match XServer::start_on(config, addr).await {
        Ok(server) => server,
        Err(error) => {
            return fail(
                "fake-x",
                &format!("cannot listen on port {}: {error}", cli.port),
            );
        }
    };
    if let Some(rate) = cli.posts_per_second {
        server.set_pace(Some(Pace::per_second(rate).with_slow_reader_timeout(
            Duration::from_millis(cli.slow_reader_timeout_ms),
        )));
    }
    if let Err(code) = announce("fake-x", &server.url()) {
        return code;
    }
    tracing::info!(posts = count, distinct_lines = lines.len(), "serving");

    let report_finish = async {
        while !server.wait_until_finished(Duration::from_secs(60)).await {}
        tracing::info!(delivered = server.delivered_count(), "every post sent");
        std::future::pending::<()>().await;
    };
    if let Err(code) = serve_until_signal("fake-x", report_finish).await {
        return code;
    }
    tracing::info!(
        delivered = server.delivered_count(),
        connection_attempts = server.connection_attempts(),
        slow_reader_drops = server.slow_reader_drops(),
        lost = server.lost_count(),
        "stopping"
    );
    ExitCode::SUCCESS
}

/// Keeps the lines that are posts: JSON with a `data` object carrying a string `id`.
fn read_posts(files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut posts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
        posts.extend(
            text.lines()
                .map(|line| line.trim_end_matches('\r'))
                .filter(|line| {
                    serde_json::from_str::<Value>(line)
                        .is_ok_and(|value| value["data"]["id"].is_string())
                })
                .map(str::to_owned),
        );
    }
    if posts.is_empty() {
        return Err("no post lines (JSON with data.id) in the given files".to_owned());
    }
    Ok(posts)
}

fn script(lines: &[String], count: usize, interval: Duration) -> Vec<Step> {
    let mut steps = Vec::with_capacity(count * 2);
    for (i, line) in lines.iter().cycle().take(count).enumerate() {
        if i > 0 && !interval.is_zero() {
            steps.push(Step::Pause(interval));
        }
        let id = FIRST_POST_ID + i as u64;
        steps.push(Step::Post(with_post_id(line, &id.to_string())));
    }
    steps
}
