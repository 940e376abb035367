//! A private moto and X server per test, and the producer binary pointed at them (the part of the
//! producer's own test harness the end-to-end test needs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use testkit::moto::{self, Moto};
use testkit::xserver::{Step, XServer, XServerConfig, with_post_id};

pub const TOKEN: &str = "integration-bearer-token-s3cr3t";

pub const FIXTURE: &str =
    include_str!("../../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");

/// The fixture's posts, each with a distinct id so every one can be accounted for.
pub fn posts(count: usize) -> Vec<String> {
    let lines: Vec<&str> = FIXTURE.lines().filter(|l| !l.trim().is_empty()).collect();
    (0..count)
        .map(|i| {
            with_post_id(
                lines[i % lines.len()],
                &(1_900_000_000_000_000_000u64 + i as u64).to_string(),
            )
        })
        .collect()
}

pub struct Harness {
    pub moto: Moto,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream: String,
    pub x: XServer,
    pub state: tempfile::TempDir,
}

impl Harness {
    pub async fn start(script: Vec<Step>, initial_rules: &[(&str, &str)]) -> Harness {
        let moto = Moto::start().await.expect("moto starts");
        let kinesis = moto.kinesis().await;
        let stream = moto::unique_name("tweets");
        moto::create_stream(&kinesis, &stream, 2)
            .await
            .expect("stream");
        let x = XServer::start(XServerConfig {
            bearer_token: TOKEN.to_owned(),
            consumer_credentials: Some(("consumer-key".to_owned(), "consumer-secret".to_owned())),
            initial_rules: initial_rules
                .iter()
                .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
                .collect(),
            script,
            keepalive_interval: Duration::from_millis(200),
        })
        .await
        .expect("x server starts");
        Harness {
            moto,
            kinesis,
            stream,
            x,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The producer binary (built from the producer's own `main.rs`, see Cargo.toml), configured
    /// for this harness with a clean environment and its own stats file and spool.
    pub fn producer(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitter-producer-e2e"));
        command
            .env_clear()
            .envs(self.moto.env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_STREAM_NAME", &self.stream)
            .env("TWITTER_BEARER_TOKEN", TOKEN)
            .env("TWITTER_API_URL", self.x.base_url())
            .env(
                "TWITTER_PRODUCER_STATS_FILE",
                self.state.path().join("stats.json"),
            )
            .env(
                "TWITTER_PRODUCER_SPOOL_DIR",
                self.state.path().join("spool"),
            )
            .env("RUST_LOG", "info")
            .args(["--progress-interval", "1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }
}

/// Waits for the child with a deadline, returning its exit code and stderr.
pub async fn finish(child: tokio::process::Child, within: Duration) -> (i32, String) {
    let output = tokio::time::timeout(within, child.wait_with_output())
        .await
        .expect("producer exits in time")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}
