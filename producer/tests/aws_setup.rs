//! The real `twitter-producer` in each broken AWS set-up a newcomer meets (nothing at the
//! endpoint, no credentials, no region, an endpoint that is no URL, credentials AWS refuses):
//! its first AWS call, the stream check at start, ends in one line naming what failed and what
//! to do, and no Debug dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use testkit::aws_setup::{
    Setup, apply, assert_one_line, check_each_refusal, check_each_setup_without_a_server,
};

/// With `--source bluesky`: no X credentials to set, and Kinesis is checked before the source
/// is touched.
fn start(setup: &Setup) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_twitter-producer"));
    apply(&mut command, setup, scratch.path()).unwrap();
    command
        .env("AWS_STREAM_NAME", "posts")
        .env("TWITTER_PRODUCER_SPOOL_DIR", scratch.path().join("spool"))
        .env(
            "TWITTER_PRODUCER_STATS_FILE",
            scratch.path().join("stats.json"),
        )
        .env("JETSTREAM_URL", "ws://127.0.0.1:1/subscribe")
        .args(["--source", "bluesky", "rust"])
        .output()
        .unwrap()
}

fn assert_fails_with(output: &Output, line: &str) {
    assert_eq!(output.status.code(), Some(1), "{line}");
    assert_one_line(
        &output.stderr,
        &format!("error: kinesis stream \"posts\" cannot be written: {line}"),
    );
}

#[test]
fn each_set_up_without_a_server() {
    check_each_setup_without_a_server(
        "Kinesis",
        "AWS_ENDPOINT_URL_KINESIS",
        start,
        assert_fails_with,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_aws_refuses() {
    check_each_refusal(start, assert_fails_with).await;
}
