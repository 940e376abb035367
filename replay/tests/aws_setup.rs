//! The real `twitter-replay` in each broken AWS set-up a newcomer meets (nothing at the
//! endpoint, no credentials, no region, an endpoint that is no URL, credentials AWS refuses):
//! its first AWS call, listing the failed-batch bucket, ends in one line naming what failed and
//! what to do, and no Debug dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use testkit::aws_setup::{
    Setup, apply, assert_one_line, check_each_refusal, check_each_setup_without_a_server,
};

fn replay(setup: &Setup) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_twitter-replay"));
    apply(&mut command, setup, scratch.path()).unwrap();
    command
        .env("FAILED_BATCH_BUCKET", "failed-batches")
        .env("TABLE_NAME", "EventData")
        .output()
        .unwrap()
}

fn assert_fails_with(output: &Output, line: &str) {
    assert_eq!(output.status.code(), Some(1), "{line}");
    assert_one_line(
        &output.stderr,
        &format!("twitter-replay: replay stopped: {line}"),
    );
}

#[test]
fn each_set_up_without_a_server() {
    check_each_setup_without_a_server("S3", "AWS_ENDPOINT_URL_S3", replay, assert_fails_with);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_aws_refuses() {
    check_each_refusal(replay, assert_fails_with).await;
}
