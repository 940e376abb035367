//! Cold start of the real bootstrap binary under a local Runtime API, with DynamoDB on moto:
//! time from process spawn to the first `/invocation/next` poll, and resident memory after the
//! first batch (100 fixture posts) has been written. A measurement, printed; not a timed test.
//!
//! `cargo bench -p twitter-consumer --bench cold_start` (the bench profile builds the binary
//! with release settings).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "support/corpus.rs"]
mod corpus;
#[path = "../tests/common/runtime_api.rs"]
mod runtime_api;

use std::process::Stdio;
use std::time::{Duration, Instant};

use runtime_api::{Report, RuntimeApi};
use testkit::moto::{Moto, unique_name};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_twitter-consumer");
const RUNS: usize = 15;
const FIRST_BATCH: usize = 100;

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn report(api: &mut RuntimeApi) -> Report {
    tokio::time::timeout(Duration::from_secs(60), api.reports.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let moto = Moto::start().await.unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = unique_name("bench");
    twitter_table::admin::create_table(&dynamodb, &table)
        .await
        .unwrap();
    let event = serde_json::to_string(&corpus::event_json(&corpus::records(FIRST_BATCH))).unwrap();

    let (mut to_next, mut rss, mut hwm, mut first_batch) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let mut api = RuntimeApi::start(vec![event.clone()]).await;
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "twitter-consumer")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("TABLE_NAME", &table)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        let Report::Next(at) = report(&mut api).await else {
            panic!("expected /next first")
        };
        to_next.push(at - started);
        let Report::Response { body, .. } = report(&mut api).await else {
            panic!("expected a response")
        };
        assert!(body.contains("\"batchItemFailures\":[]"), "{body}");
        let Report::Next(done) = report(&mut api).await else {
            panic!("expected the second /next")
        };
        first_batch.push(done - at);
        rss.push(status_kb(pid, "VmRSS:").unwrap_or(0));
        hwm.push(status_kb(pid, "VmHWM:").unwrap_or(0));
        drop(child);
    }
    to_next.sort();
    first_batch.sort();
    rss.sort_unstable();
    hwm.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("cold start over {RUNS} runs (binary {BIN})");
    println!(
        "spawn -> first /next     min {:.1} ms  median {:.1} ms  max {:.1} ms",
        ms(to_next[0]),
        ms(to_next[RUNS / 2]),
        ms(to_next[RUNS - 1])
    );
    println!(
        "first batch ({FIRST_BATCH} posts, moto) min {:.1} ms  median {:.1} ms  max {:.1} ms",
        ms(first_batch[0]),
        ms(first_batch[RUNS / 2]),
        ms(first_batch[RUNS - 1])
    );
    println!(
        "RSS after first batch    min {:.1} MB  median {:.1} MB  max {:.1} MB  (peak VmHWM median {:.1} MB)",
        rss[0] as f64 / 1024.0,
        rss[RUNS / 2] as f64 / 1024.0,
        rss[RUNS - 1] as f64 / 1024.0,
        hwm[RUNS / 2] as f64 / 1024.0
    );
}
