//! The real `twitter-query` in each broken AWS set-up a newcomer meets (nothing at the endpoint,
//! no credentials, no region, an endpoint that is no URL, credentials AWS refuses): every case
//! ends in one line naming what failed and what to do, and no Debug dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use testkit::aws_setup::{
    Setup, apply, assert_one_line, check_each_refusal, check_each_setup_without_a_server,
};

fn keywords(setup: &Setup) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_twitter-query"));
    apply(&mut command, setup, scratch.path()).unwrap();
    command
        .env("TABLE_NAME", "EventData")
        .arg("keywords")
        .output()
        .unwrap()
}

fn assert_fails_with(output: &Output, line: &str) {
    assert_eq!(output.status.code(), Some(1), "{line}");
    assert!(output.stdout.is_empty(), "{line}");
    assert_one_line(&output.stderr, &format!("error: {line}"));
}

#[test]
fn each_set_up_without_a_server() {
    check_each_setup_without_a_server(
        "DynamoDB",
        "AWS_ENDPOINT_URL_DYNAMODB",
        keywords,
        assert_fails_with,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_aws_refuses() {
    check_each_refusal(keywords, assert_fails_with).await;
}
