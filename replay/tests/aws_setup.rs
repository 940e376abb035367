//! The real `twitter-replay` in each broken AWS set-up a newcomer meets (nothing at the
//! endpoint, no credentials, no region, an endpoint that is no URL, credentials AWS refuses):
//! its first AWS call, listing the failed-batch bucket, ends in one line naming what failed and
//! what to do, and no Debug dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use testkit::aws_refusal::AwsRefusal;
use testkit::aws_setup::{REFUSALS, Setup, apply, assert_one_line, cases};

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
    for case in cases("S3", "AWS_ENDPOINT_URL_S3") {
        assert_fails_with(&replay(&case.setup), &case.line);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_aws_refuses() {
    for (refusal, line) in REFUSALS {
        let aws = AwsRefusal::start(refusal).await.unwrap();
        let setup = Setup::At(aws.endpoint());
        let output = tokio::task::spawn_blocking(move || replay(&setup))
            .await
            .unwrap();
        assert!(
            aws.requests() > 0,
            "{refusal:?}: never reached the endpoint"
        );
        assert_fails_with(&output, line);
    }
}
