//! The fixture corpus as benchmark input (shared by the benches through `#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use testkit::records::x_record;

pub struct Post {
    pub id: String,
    pub keywords: Vec<String>,
    pub line: String,
}

/// Every complete post line of the X stream fixtures.
pub fn posts() -> Vec<Post> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/x-stream");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut posts = Vec::new();
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        for line in std::fs::read_to_string(file).unwrap().split('\n') {
            let line = line.trim_end_matches('\r');
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(id) = v.pointer("/data/id").and_then(Value::as_str) else {
                continue;
            };
            let keywords = v["matching_rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["tag"].as_str())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            posts.push(Post {
                id: id.to_owned(),
                keywords,
                line: line.to_owned(),
            });
        }
    }
    posts
}

/// `n` records cycling through the corpus, each post given a fresh id so nothing is deduplicated.
pub fn records(n: usize) -> Vec<Vec<u8>> {
    let posts = posts();
    (0..n)
        .map(|i| {
            let p = &posts[i % posts.len()];
            let id = format!("{}{:04}", &p.id[..p.id.len() - 4], i);
            x_record(&p.line.replace(&p.id, &id), &p.keywords)
        })
        .collect()
}

/// A Lambda Kinesis event carrying `data`.
pub fn event_json(data: &[Vec<u8>]) -> Value {
    let records: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let seq = format!("4956816737333333333333333333333333333333333333333333{:04}", i);
            json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "pk", "sequenceNumber": seq,
                            "data": BASE64.encode(d), "approximateArrivalTimestamp": 1_767_322_245.678},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"), "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/LambdaRole", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tweets"
            })
        })
        .collect();
    json!({ "Records": records })
}
