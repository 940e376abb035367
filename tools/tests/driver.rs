//! The local driver: moto Kinesis -> handler -> moto DynamoDB, with Lambda-shaped events and the
//! partial batch response honoured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::types::WriteRequest;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use common::{Env, fixture_posts, record_for};
use serde_json::Value;
use testkit::moto::{create_stream, read_stream, unique_name};
use twitter_consumer::{App, MetricsOutput};
use twitter_tools::ToolError;
use twitter_tools::driver::{DriveOptions, drain, lambda_event};

async fn put_all(kinesis: &aws_sdk_kinesis::Client, stream: &str, records: &[(String, Vec<u8>)]) {
    for (key, data) in records {
        kinesis
            .put_record()
            .stream_name(stream)
            .partition_key(key)
            .data(Blob::new(data.clone()))
            .send()
            .await
            .expect("put record");
    }
}

fn options() -> DriveOptions {
    DriveOptions {
        batch_size: 7,
        max_attempts: 3,
        invocation_timeout: Duration::from_secs(20),
        retry_delay: Duration::from_millis(10),
        on_failure: None,
    }
}

#[tokio::test]
async fn drain_stores_every_post_from_every_shard_and_dead_letters_poison() {
    let env = Env::start().await;
    let kinesis = env.moto.kinesis().await;
    let stream = unique_name("tweets");
    create_stream(&kinesis, &stream, 2).await.unwrap();
    let posts = fixture_posts();
    let mut records: Vec<(String, Vec<u8>)> = posts
        .iter()
        .map(|p| (p.id.clone(), record_for(p)))
        .collect();
    records.insert(5, ("poison".into(), b"{not json".to_vec()));
    put_all(&kinesis, &stream, &records).await;

    let (app, _) = env.app(env.config());
    let summary = drain(&kinesis, &stream, &app, &options())
        .await
        .expect("drain");

    let stored = read_stream(&kinesis, &stream).await.unwrap();
    assert_eq!(summary.shards, 2);
    assert_eq!(summary.records, records.len());
    assert_eq!(summary.records_delivered, records.len());
    assert_eq!(summary.retries, 0);
    assert_eq!(summary.poison_records, 1);
    // Each shard's checkpoint is its last record.
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for r in &stored {
        last.insert(r.shard_id.clone(), r.sequence_number.clone());
    }
    assert_eq!(summary.checkpoints, last);

    let ids: BTreeSet<String> = env.items().await.into_iter().map(|i| i.id).collect();
    let expected: BTreeSet<String> = posts.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, expected, "every post accounted for");
    let letters = env.dead_letters().await;
    assert_eq!(letters.len(), 1);
    let poison = stored.iter().find(|r| r.partition_key == "poison").unwrap();
    assert_eq!(letters[0].sequence_number, poison.sequence_number);
    assert_eq!(
        letters[0].event_id,
        format!("{}:{}", poison.shard_id, poison.sequence_number)
    );
    assert!(
        letters[0]
            .event_source_arn
            .ends_with(&format!(":stream/{stream}"))
    );
}

#[test]
fn driver_events_have_the_shape_of_lambdas() {
    let fixture: Value = serde_json::from_str(include_str!(
        "../../consumer/tests/fixtures/example-kinesis-event.json"
    ))
    .unwrap();
    let record = aws_sdk_kinesis::types::Record::builder()
        .sequence_number("49568167373333333333333333333333333333333333333333333333")
        .partition_key("s1")
        .data(Blob::new(b"Hello World".to_vec()))
        .approximate_arrival_timestamp(DateTime::from_millis(1_480_641_523_477))
        .build()
        .unwrap();
    let event = lambda_event(
        "shardId-000000000000",
        &[record],
        "arn:aws:kinesis:us-east-1:123456789012:stream/simple-stream",
        "us-east-1",
    )
    .unwrap();
    let ours = serde_json::to_value(&event).unwrap();
    let theirs = serde_json::to_value(
        serde_json::from_value::<aws_lambda_events::event::kinesis::KinesisEvent>(fixture).unwrap(),
    )
    .unwrap();
    // Same record as the fixture's first, field for field (the fixture's role ARN is an example).
    let mut expected = theirs["Records"][0].clone();
    expected["invokeIdentityArn"] = ours["Records"][0]["invokeIdentityArn"].clone();
    assert_eq!(ours["Records"][0], expected);
}

/// Drops every item after the first `keep` from the first `faults` BatchWriteItem requests and
/// hands them back as `UnprocessedItems`, as DynamoDB does when it throttles part of a request;
/// everything else really goes to moto.
#[derive(Debug)]
struct PartialWrites {
    faults: AtomicUsize,
    keep: usize,
    dropped: Mutex<HashMap<String, Vec<WriteRequest>>>,
}

impl Intercept for PartialWrites {
    fn name(&self) -> &'static str {
        "PartialWrites"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input_mut().downcast_mut::<BatchWriteItemInput>() {
            let fault = self
                .faults
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fault {
                let mut dropped = self.dropped.lock().unwrap();
                for (table, requests) in input.request_items.iter_mut().flatten() {
                    if requests.len() > self.keep {
                        dropped.insert(table.clone(), requests.split_off(self.keep));
                    }
                }
            }
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Ok(output)) = context.output_or_error_mut()
            && let Some(output) = output.downcast_mut::<BatchWriteItemOutput>()
        {
            let dropped = std::mem::take(&mut *self.dropped.lock().unwrap());
            if !dropped.is_empty() {
                output.unprocessed_items = Some(dropped);
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn partial_batch_response_is_honoured_from_the_reported_record() {
    let env = Env::start().await;
    let kinesis = env.moto.kinesis().await;
    let stream = unique_name("tweets");
    create_stream(&kinesis, &stream, 1).await.unwrap();
    let posts: Vec<_> = fixture_posts()
        .into_iter()
        .filter(|p| p.keywords.len() == 1)
        .take(6)
        .collect();
    let records: Vec<(String, Vec<u8>)> = posts
        .iter()
        .map(|p| (p.id.clone(), record_for(p)))
        .collect();
    put_all(&kinesis, &stream, &records).await;

    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.sdk_config)
            .interceptor(PartialWrites {
                faults: AtomicUsize::new(1),
                keep: 2,
                dropped: Mutex::default(),
            })
            .build(),
    );
    let mut config = env.config();
    // One attempt per request, so the unprocessed items go back to Lambda (here: the driver).
    config.retry.max_attempts = 1;
    let app = App::new(dynamodb, aws_sdk_sqs::Client::new(&env.sdk_config), config)
        .with_metrics_output(MetricsOutput::Off);

    let summary = drain(&kinesis, &stream, &app, &options())
        .await
        .expect("drain");

    assert_eq!(summary.retries, 1);
    // 6 delivered, then 4 again from the third record.
    assert_eq!(summary.records_delivered, 10);
    assert_eq!(summary.records, 6);
    let ids: BTreeSet<String> = env.items().await.into_iter().map(|i| i.id).collect();
    assert_eq!(ids, posts.iter().map(|p| p.id.clone()).collect());
}

#[tokio::test]
async fn a_record_that_keeps_failing_makes_the_driver_give_up() {
    let env = Env::start().await;
    let kinesis = env.moto.kinesis().await;
    let stream = unique_name("tweets");
    create_stream(&kinesis, &stream, 1).await.unwrap();
    let posts = fixture_posts();
    put_all(
        &kinesis,
        &stream,
        &[(posts[0].id.clone(), record_for(&posts[0]))],
    )
    .await;
    let (app, _) = env.app(common::test_config("no-such-table"));

    let error = drain(&kinesis, &stream, &app, &options())
        .await
        .expect_err("must give up");

    let first = read_stream(&kinesis, &stream)
        .await
        .unwrap()
        .remove(0)
        .sequence_number;
    match error {
        ToolError::GaveUp {
            sequence_number,
            attempts,
        } => {
            assert_eq!(sequence_number, first);
            assert_eq!(attempts, 3);
        }
        other => panic!("unexpected error {other}"),
    }
}
