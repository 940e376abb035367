//! End to end: the producer (its `App`, the wiring the binary runs) reads the local X server (with faults) into moto Kinesis; the
//! consumer's local driver feeds the stream, shard by shard, through the Lambda handler into
//! moto DynamoDB. Every post the server sent is accounted for, under every keyword it matched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{Harness, posts};
use testkit::moto::unique_name;
use testkit::xserver::Step;
use twitter_consumer::handler::MetricsOutput;
use twitter_consumer::{App, Config};
use twitter_producer::source::StopReason;
use twitter_table::schema;
use twitter_tools::driver::{DriveOptions, drain};

#[tokio::test]
async fn every_post_from_x_ends_up_in_the_table_under_each_keyword() {
    let posts = posts(120);
    let mut script = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        match i {
            30 => script.push(Step::Drop),
            60 => script.push(Step::OperationalDisconnect),
            90 => script.push(Step::DropMidLine(post.clone())),
            _ => {}
        }
        if i != 90 {
            script.push(Step::Post(post.clone()));
        }
    }
    let harness = Harness::start(script, &[]).await;
    let stopped = harness
        .run_producer(
            &["--max-tweets", "120", "tokio", "crab"],
            Duration::from_secs(90),
        )
        .await;
    assert_eq!(stopped, StopReason::SpendGuard);

    // A record no consumer can store, between the good ones: it must not block its shard.
    harness
        .kinesis
        .put_record()
        .stream_name(&harness.stream)
        .partition_key("poison")
        .data(aws_sdk_kinesis::primitives::Blob::new(
            b"not a record".to_vec(),
        ))
        .send()
        .await
        .expect("put poison");

    let sdk_config = harness.moto.sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
    let sqs = aws_sdk_sqs::Client::new(&sdk_config);
    let table = unique_name("EventData");
    twitter_table::admin::create_table(&dynamodb, &table)
        .await
        .expect("create table");
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("dlq"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let app = App::new(
        dynamodb.clone(),
        sqs.clone(),
        Config::new(&table).with_dead_letter_queue(&queue_url),
    )
    .with_metrics_output(MetricsOutput::Off);

    let summary = drain(
        &harness.kinesis,
        &harness.stream,
        &app,
        &DriveOptions::default(),
    )
    .await
    .expect("drain");
    assert_eq!(summary.poison_records, 1);
    assert_eq!(summary.records, 121);

    // What the server sent: post id -> the keywords its rules carried.
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    let mut text_by_id = BTreeMap::new();
    for line in harness.x.delivered() {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let id = value["data"]["id"].as_str().unwrap().to_owned();
        for rule in value["matching_rules"].as_array().unwrap() {
            expected.insert((id.clone(), rule["tag"].as_str().unwrap().to_owned()));
        }
        let text = value["data"]["note_tweet"]["text"]
            .as_str()
            .or(value["data"]["text"].as_str())
            .unwrap()
            .to_owned();
        text_by_id.insert(id, text);
    }
    assert_eq!(
        text_by_id.len(),
        120,
        "the server delivered every post once"
    );

    let mut stored: BTreeSet<(String, String)> = BTreeSet::new();
    let mut pages = dynamodb
        .scan()
        .table_name(&table)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item = item.expect("scan");
        let id = item[schema::ID].as_s().unwrap().clone();
        let keyword = item[schema::KEYWORD].as_s().unwrap().clone();
        assert_eq!(
            item[schema::MESSAGE].as_s().unwrap(),
            &text_by_id[&id],
            "message of {id}"
        );
        assert!(
            stored.insert((id, keyword)),
            "one item per post and keyword"
        );
    }
    assert_eq!(stored, expected);
    assert_eq!(
        summary.posts_written, 120,
        "posts written (each under one or more keywords)"
    );

    // The keyword index answers "how many posts for this keyword" without a scan.
    let crab = expected.iter().filter(|(_, k)| k == "crab").count();
    let counted = dynamodb
        .query()
        .table_name(&table)
        .index_name(schema::BY_KEYWORD_INDEX)
        .key_condition_expression("#k = :k")
        .expression_attribute_names("#k", schema::KEYWORD)
        .expression_attribute_values(":k", AttributeValue::S("crab".into()))
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("query")
        .count;
    assert_eq!(counted as usize, crab);
    assert!(crab > 0, "the fixture mentions crab");

    let letters = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    assert_eq!(
        letters.messages().len(),
        1,
        "the poison record is in the dead-letter queue"
    );
}
