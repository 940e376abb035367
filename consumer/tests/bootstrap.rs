//! The real `twitter-consumer` binary under a Runtime API server, as Lambda runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::runtime_api::{Report, RuntimeApi};
use common::{Env, fixture_posts, record_for};
use serde_json::Value;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_twitter-consumer");

fn lambda_env(cmd: &mut Command, runtime_api: &str) {
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "twitter-consumer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdin(Stdio::null())
        .kill_on_drop(true);
}

async fn next_report(api: &mut RuntimeApi) -> Report {
    tokio::time::timeout(Duration::from_secs(30), api.reports.recv())
        .await
        .expect("runtime report in time")
        .expect("report")
}

#[tokio::test]
async fn bootstrap_serves_invocations_through_the_runtime_api() {
    let env = Env::start().await;
    let posts = fixture_posts();
    let data: Vec<Vec<u8>> = posts.iter().take(4).map(record_for).collect();
    let mut poison_batch = data.clone();
    poison_batch.push(b"not json".to_vec());
    let events = vec![
        serde_json::to_string(&common::event(&data, 1)).unwrap(),
        serde_json::to_string(&common::event(&poison_batch, 10)).unwrap(),
    ];
    let mut api = RuntimeApi::start(events).await;
    let mut cmd = Command::new(BIN);
    lambda_env(&mut cmd, &api.address);
    for (k, v) in env.child_env() {
        cmd.env(k, v);
    }
    cmd.env("TABLE_NAME", &env.table)
        .env("DEAD_LETTER_QUEUE_URL", &env.queue_url);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    assert!(matches!(next_report(&mut api).await, Report::Next(_)));
    for _ in 0..2 {
        match next_report(&mut api).await {
            Report::Response { body, .. } => {
                let response: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(
                    response["batchItemFailures"],
                    serde_json::json!([]),
                    "{body}"
                );
            }
            other => panic!("expected a response, got {other:?}"),
        }
        assert!(matches!(next_report(&mut api).await, Report::Next(_)));
    }
    drop(child);

    let ids: std::collections::BTreeSet<String> =
        env.items().await.into_iter().map(|i| i.id).collect();
    assert_eq!(ids, posts.iter().take(4).map(|p| p.id.clone()).collect());
    assert_eq!(env.dead_letters().await.len(), 1);
}

/// Runs the binary with `vars` (beside the Lambda ones) under a Runtime API that has no
/// invocation for it, and returns its exit, its stderr and what it told the Runtime API.
async fn failed_init(vars: &[(&str, &str)]) -> (std::process::Output, Vec<Report>) {
    let mut api = RuntimeApi::start(Vec::new()).await;
    let mut cmd = Command::new(BIN);
    lambda_env(&mut cmd, &api.address);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let mut reports = Vec::new();
    while let Ok(report) = api.reports.try_recv() {
        reports.push(report);
    }
    (output, reports)
}

/// The one `/init/error` request among `reports`: its error type header and its body.
fn init_error(reports: &[Report]) -> (String, Value) {
    let errors: Vec<&Report> = reports
        .iter()
        .filter(|r| matches!(r, Report::Error { .. }))
        .collect();
    assert_eq!(errors.len(), 1, "{reports:?}");
    let Report::Error {
        path,
        headers,
        body,
    } = errors[0]
    else {
        unreachable!("filtered to errors")
    };
    assert_eq!(path, "/2018-06-01/runtime/init/error");
    let error_type = headers
        .iter()
        .find(|(name, _)| name == "lambda-runtime-function-error-type")
        .map(|(_, value)| value.clone())
        .expect("the error type header");
    (error_type, serde_json::from_str(body).expect("a JSON body"))
}

#[tokio::test]
async fn missing_table_name_fails_init_with_one_clear_line_reported_to_lambda() {
    let (output, reports) = failed_init(&[]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TABLE_NAME is not set"), "{stderr}");

    let (error_type, body) = init_error(&reports);
    assert_eq!(error_type, "Runtime.InitError");
    assert_eq!(
        body,
        serde_json::json!({
            "errorMessage": "configuration: TABLE_NAME is not set",
            "errorType": "Runtime.InitError"
        })
    );
    // Nothing was polled: the function never got as far as asking for work.
    assert!(
        !reports.iter().any(|r| matches!(r, Report::Next(_))),
        "{reports:?}"
    );
}

#[tokio::test]
async fn unreadable_configuration_is_reported_with_its_one_line() {
    let too_many = (0..=twitter_consumer::metric_keywords::MAX_METRIC_KEYWORDS)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (name, value, says) in [
        ("RETENTION_DAYS", "soon", "RETENTION_DAYS"),
        (
            "METRIC_KEYWORDS",
            too_many.as_str(),
            "METRIC_KEYWORDS names",
        ),
    ] {
        let (output, reports) = failed_init(&[("TABLE_NAME", "EventData"), (name, value)]).await;
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        let (error_type, body) = init_error(&reports);
        assert_eq!(error_type, "Runtime.InitError");
        assert_eq!(body["errorType"], "Runtime.InitError");
        let message = body["errorMessage"].as_str().unwrap();
        // The same line Lambda logs on stderr, without the program's name.
        assert_eq!(
            stderr.trim_end(),
            format!("twitter-consumer: {message}"),
            "{name}"
        );
        assert!(message.starts_with("configuration: "), "{message}");
    }
}

#[tokio::test]
async fn outside_lambda_a_configuration_error_is_the_line_and_the_exit_status() {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(BIN)
            .env_clear()
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        "twitter-consumer: configuration: TABLE_NAME is not set"
    );
}
