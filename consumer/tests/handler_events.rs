//! The handler on real-shaped Lambda event JSON: the aws_lambda_events Kinesis fixture, and events
//! built from the X stream fixture lines. DynamoDB and SQS are mocked: no network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{fixture_posts, record_for, test_config};
use lambda_runtime::{Context, LambdaEvent};
use twitter_consumer::{App, MetricsOutput, handle, invoke};
use twitter_table::schema;

const FIXTURE: &str = include_str!("fixtures/example-kinesis-event.json");

struct Mocks {
    writes: Rule,
    written_ids: Arc<Mutex<Vec<String>>>,
    sends: Rule,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn mocks() -> Mocks {
    let written_ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = written_ids.clone();
    let writes = mock!(DynamoDb::batch_write_item).then_compute_output(move |req| {
        for requests in req.request_items().unwrap().values() {
            for r in requests {
                let item = r.put_request().unwrap().item();
                log.lock()
                    .unwrap()
                    .push(item[schema::ID].as_s().unwrap().clone());
            }
        }
        BatchWriteItemOutput::builder().build()
    });
    let (sends, bodies) = common::recording_send_message();
    Mocks {
        writes,
        written_ids,
        sends,
        bodies,
    }
}

fn app(m: &Mocks, with_queue: bool) -> App {
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&m.writes], |c| c
        .retry_config(RetryConfig::disabled()));
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&m.sends], |c| c
        .retry_config(RetryConfig::disabled()));
    let mut config = test_config("EventData");
    if with_queue {
        config =
            config.with_dead_letter_queue("https://sqs.us-east-1.amazonaws.com/123456789012/dlq");
    }
    App::new(dynamodb, sqs, config).with_metrics_output(MetricsOutput::Off)
}

#[tokio::test]
async fn lambda_fixture_event_with_non_post_data_is_dead_lettered_not_failed() {
    // The fixture's records carry "Hello World": not the record format, so poison.
    let event: KinesisEvent = serde_json::from_str(FIXTURE).unwrap();
    let m = mocks();
    let response = handle(&app(&m, true), LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(m.writes.num_calls(), 0);
    let bodies = m.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let letter: twitter_consumer::dlq::DeadLetterMessage =
        serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(letter.reason, "not-json");
    assert_eq!(
        letter.sequence_number,
        "49568167373333333333333333333333333333333333333333333333"
    );
    assert_eq!(letter.partition_key, "s1");
    assert_eq!(letter.approximate_arrival_timestamp, 1480641523.477);
    assert_eq!(
        twitter_consumer::dlq::reassemble(&[letter]).unwrap(),
        b"Hello World"
    );
}

#[tokio::test]
async fn without_a_queue_poison_is_logged_and_still_not_failed() {
    let event: KinesisEvent = serde_json::from_str(FIXTURE).unwrap();
    let m = mocks();
    let outcome = invoke(&app(&m, false), LambdaEvent::new(event, Context::default())).await;
    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(outcome.metrics.poison_records, 2);
    assert_eq!(m.sends.num_calls(), 0);
}

#[tokio::test]
async fn lambda_fixture_event_carrying_producer_records_is_written() {
    // The fixture's exact JSON, with each record's data swapped for a producer record.
    let posts = fixture_posts();
    let mut json: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    for (i, record) in json["Records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        record["kinesis"]["data"] = BASE64.encode(record_for(&posts[i])).into();
    }
    let event: KinesisEvent = serde_json::from_value(json).unwrap();
    let m = mocks();
    let response = handle(&app(&m, true), LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let mut written = m.written_ids.lock().unwrap().clone();
    written.sort();
    written.dedup();
    let mut expected = vec![posts[0].id.clone(), posts[1].id.clone()];
    expected.sort();
    expected.dedup();
    assert_eq!(written, expected);
    assert_eq!(m.sends.num_calls(), 0);
}

#[tokio::test]
async fn every_fixture_stream_line_as_a_record_is_stored_or_dead_lettered() {
    // Every non-empty line of every fixture file, as if a producer had forwarded it blindly:
    // posts are written; the system message is not a post and the truncated line is not JSON.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/x-stream");
    let mut data = Vec::new();
    let mut expected_posts = std::collections::BTreeSet::new();
    let mut expected_poison = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().split('\n') {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Option<serde_json::Value> = serde_json::from_str(line).ok();
            let id = parsed
                .as_ref()
                .and_then(|v| v.pointer("/data/id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let record = match (&parsed, &id) {
                (Some(_), Some(id)) => {
                    expected_posts.insert(id.clone());
                    record_for(&common::FixturePost {
                        id: id.clone(),
                        keywords: vec!["rust".into()],
                        line: line.to_owned(),
                    })
                }
                (Some(_), None) => {
                    expected_poison += 1;
                    record_for(&common::FixturePost {
                        id: "0".into(),
                        keywords: vec!["rust".into()],
                        line: line.to_owned(),
                    })
                }
                (None, _) => {
                    expected_poison += 1;
                    line.as_bytes().to_vec()
                }
            };
            data.push(record);
        }
    }
    assert!(
        expected_poison >= 2,
        "fixtures hold a system line and a truncated line"
    );
    let m = mocks();
    let outcome = invoke(
        &app(&m, true),
        LambdaEvent::new(common::event(&data, 1), Context::default()),
    )
    .await;
    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(outcome.metrics.poison_records, expected_poison);
    let written: std::collections::BTreeSet<String> =
        m.written_ids.lock().unwrap().iter().cloned().collect();
    assert_eq!(written, expected_posts);
    let reasons: std::collections::BTreeSet<String> = m
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            serde_json::from_str::<twitter_consumer::dlq::DeadLetterMessage>(b)
                .unwrap()
                .reason
        })
        .collect();
    assert_eq!(
        reasons,
        ["not-a-post".to_owned(), "not-json".to_owned()]
            .into_iter()
            .collect()
    );
}
