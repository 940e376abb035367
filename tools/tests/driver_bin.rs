//! The `twitter-consumer-driver` binary, as the offline demo runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kinesis::primitives::Blob;
use common::{fixture_posts, record_for};
use serde_json::Value;
use testkit::moto::{Moto, create_stream, unique_name};

#[tokio::test]
async fn driver_binary_creates_the_table_and_drains_the_stream() {
    let moto = Moto::start().await.unwrap();
    let kinesis = moto.kinesis().await;
    let stream = unique_name("tweets");
    create_stream(&kinesis, &stream, 1).await.unwrap();
    let posts = fixture_posts();
    for p in posts.iter().take(5) {
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key(&p.id)
            .data(Blob::new(record_for(p)))
            .send()
            .await
            .unwrap();
    }
    let table = unique_name("events");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitter-consumer-driver"));
    cmd.env_clear()
        .env("AWS_STREAM_NAME", &stream)
        .env("TABLE_NAME", &table)
        .env("CREATE_TABLE", "1")
        .env("RUST_LOG", "warn");
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let output = cmd.output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["records"], 5);
    assert_eq!(summary["poisonRecords"], 0);
    let expected_posts = posts
        .iter()
        .take(5)
        .map(|p| &p.id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(
        summary["postsWritten"].as_u64(),
        Some(expected_posts as u64)
    );

    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let count = dynamodb
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .count();
    let expected_items: usize = posts.iter().take(5).map(|p| p.keywords.len().max(1)).sum();
    assert_eq!(count as usize, expected_items);
}
