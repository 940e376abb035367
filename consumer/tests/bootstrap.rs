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
    for (k, v) in env.moto.env() {
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

#[tokio::test]
async fn missing_table_name_fails_init_with_one_clear_line() {
    let api = RuntimeApi::start(Vec::new()).await;
    let mut cmd = Command::new(BIN);
    lambda_env(&mut cmd, &api.address);
    let output = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TABLE_NAME is not set"), "{stderr}");
}
