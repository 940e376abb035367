//! Throttling, `UnprocessedItems`, rejected items and queue failures, injected at the SDK boundary
//! with aws-smithy-mocks (no emulator produces them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity, WriteRequest};
use aws_sdk_sqs::Client as Sqs;
use aws_sdk_sqs::operation::send_message::{SendMessageError, SendMessageOutput};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use common::{event, test_config};
use lambda_runtime::{Context, LambdaEvent};
use testkit::records::FixtureRecord;
use time::macros::datetime;
use twitter_consumer::{App, BatchOutcome, Config, MetricsOutput, invoke};
use twitter_table::schema;

const TABLE: &str = "EventData";
const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq";

fn post(id: u64) -> Vec<u8> {
    let id = id.to_string();
    let line = format!(
        r#"{{"data":{{"id":"{id}","text":"post {id}","created_at":"2026-01-02T03:04:05.000Z","lang":"en"}}}}"#
    );
    FixtureRecord::x(&line)
        .keywords(&["rust"])
        .received_at(datetime!(2026-01-02 03:04:06 UTC))
        .encode()
}

fn dynamodb(rules: &[&Rule]) -> DynamoDb {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn sqs(rules: &[&Rule]) -> Sqs {
    mock_client!(aws_sdk_sqs, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn sqs_ok() -> Rule {
    mock!(Sqs::send_message).then_output(|| SendMessageOutput::builder().message_id("m").build())
}

fn config() -> Config {
    test_config(TABLE).with_dead_letter_queue(QUEUE)
}

async fn run(app: &App, event: KinesisEvent, budget: Option<Duration>) -> BatchOutcome {
    let mut context = Context::default();
    if let Some(budget) = budget {
        let deadline = SystemTime::now() + budget;
        context.deadline = deadline
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
    }
    invoke(app, LambdaEvent::new(event, context)).await
}

fn ids(requests: &[WriteRequest]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| r.put_request())
        .map(|p| p.item()[schema::ID].as_s().unwrap().clone())
        .collect()
}

fn throttled() -> BatchWriteItemError {
    BatchWriteItemError::ProvisionedThroughputExceededException(
        ProvisionedThroughputExceededException::builder()
            .message("rate exceeded")
            .meta(
                ErrorMetadata::builder()
                    .code("ProvisionedThroughputExceededException")
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn unprocessed_items_are_resent_until_stored() {
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let log = seen.clone();
    let rule = mock!(DynamoDb::batch_write_item).then_compute_output(move |req| {
        let requests = req.request_items().unwrap()[TABLE].clone();
        let mut log = log.lock().unwrap();
        let first_time = log.is_empty();
        log.push(ids(&requests));
        // The first call leaves its last three items unprocessed, as DynamoDB does under load.
        let unprocessed = if first_time {
            requests[requests.len() - 3..].to_vec()
        } else {
            Vec::new()
        };
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, unprocessed)
            .build()
    });
    let sqs_rule = sqs_ok();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..10).map(|i| post(500 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(
        outcome.response.batch_item_failures.is_empty(),
        "{:?}",
        outcome.response
    );
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].len(), 10);
    assert_eq!(calls[1], calls[0][7..].to_vec());
    assert_eq!(outcome.metrics.items_written, 10);
    assert_eq!(sqs_rule.num_calls(), 0);
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_succeeds() {
    let rule = mock!(DynamoDb::batch_write_item)
        .sequence()
        .error(throttled)
        .times(2)
        .output(|| BatchWriteItemOutput::builder().build())
        .build();
    let sqs_rule = sqs_ok();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..5).map(|i| post(600 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(outcome.metrics.items_written, 5);
}

#[tokio::test]
async fn persistent_throttling_reports_the_lowest_unstored_record_and_keeps_later_poison_for_the_retry()
 {
    // Records 1..=60 (sequence numbers 1..=60); record 10 is poison, so the second request of 25
    // holds records 27..=51, and it is always throttled.
    let throttled_ids: BTreeSet<String> = (27..=51).map(|seq| (1000 + seq).to_string()).collect();
    let rule = mock!(DynamoDb::batch_write_item).then_compute_response(move |req| {
        let requests = &req.request_items().unwrap()[TABLE];
        if ids(requests).iter().any(|id| throttled_ids.contains(id)) {
            MockResponse::Error(throttled())
        } else {
            MockResponse::Output(BatchWriteItemOutput::builder().build())
        }
    });
    let (sqs_rule, bodies) = common::recording_send_message();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let mut data: Vec<Vec<u8>> = (1..=60).map(|seq| post(1000 + seq)).collect();
    data[9] = b"poison before the failure".to_vec(); // sequence number 10
    data[54] = b"poison after the failure".to_vec(); // sequence number 55

    let outcome = run(&app, event(&data, 1), Some(Duration::from_millis(1500))).await;

    let failures: Vec<_> = outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, [Some("27".to_owned())]);
    assert_eq!(outcome.metrics.retried_records, 34);
    // The requests on either side of the throttled one went through (25 + 8 items); the retry
    // rewrites the later ones, which is harmless since writes are idempotent.
    assert_eq!(outcome.metrics.items_written, 33);
    // Retried until the deadline drew near, not once.
    assert!(rule.num_calls() > 3, "{}", rule.num_calls());
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(
        bodies.len(),
        1,
        "only the poison before the retry point is sent now"
    );
    assert!(
        bodies[0].contains("\"sequenceNumber\":\"10\""),
        "{}",
        bodies[0]
    );
}

#[tokio::test]
async fn items_left_unprocessed_past_the_deadline_are_reported() {
    let rule = mock!(DynamoDb::batch_write_item).then_compute_output(|req| {
        let requests = req.request_items().unwrap()[TABLE].clone();
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, requests)
            .build()
    });
    let sqs_rule = sqs_ok();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..3).map(|i| post(700 + i)).collect();

    let outcome = run(&app, event(&data, 41), Some(Duration::from_millis(800))).await;

    assert_eq!(outcome.retry_from.as_deref(), Some("41"));
    assert_eq!(outcome.metrics.items_written, 0);
}

#[tokio::test]
async fn a_rejected_batch_is_split_and_only_the_bad_record_is_dead_lettered() {
    let batch_rule = mock!(DynamoDb::batch_write_item).then_error(|| {
        BatchWriteItemError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Item size has exceeded the maximum allowed size")
                .build(),
        )
    });
    let put_rule = mock!(DynamoDb::put_item).then_compute_response(|req| {
        if req.item().unwrap()[schema::ID].as_s().unwrap() == "802" {
            MockResponse::Error(PutItemError::generic(
                ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("Item size has exceeded the maximum allowed size")
                    .build(),
            ))
        } else {
            MockResponse::Output(PutItemOutput::builder().build())
        }
    });
    let (sqs_rule, bodies) = common::recording_send_message();
    let app = App::new(
        dynamodb(&[&batch_rule, &put_rule]),
        sqs(&[&sqs_rule]),
        config(),
    )
    .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..5).map(|i| post(800 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(
        outcome.response.batch_item_failures.is_empty(),
        "{:?}",
        outcome.response
    );
    assert_eq!(put_rule.num_calls(), 5);
    assert_eq!(outcome.metrics.items_written, 4);
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let letter: twitter_consumer::dlq::DeadLetterMessage =
        serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(letter.reason, "rejected-by-table");
    assert_eq!(letter.sequence_number, "3");
    assert_eq!(
        twitter_consumer::dlq::reassemble(&[letter]).unwrap(),
        data[2]
    );
}

#[tokio::test]
async fn dead_letter_queue_throttling_is_retried_but_access_denied_reports_the_record() {
    let ok =
        mock!(DynamoDb::batch_write_item).then_output(|| BatchWriteItemOutput::builder().build());
    let data = vec![post(900), b"poison".to_vec(), post(901)];

    let flaky = mock!(Sqs::send_message)
        .sequence()
        .http_status(503, None)
        .output(|| SendMessageOutput::builder().message_id("m").build())
        .build();
    let app = App::new(dynamodb(&[&ok]), sqs(&[&flaky]), config())
        .with_metrics_output(MetricsOutput::Off);
    let outcome = run(&app, event(&data, 1), None).await;
    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(flaky.num_calls(), 2);
    assert_eq!(outcome.dead_lettered, ["2"]);

    let denied = mock!(Sqs::send_message).then_error(|| {
        SendMessageError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("no")
                .build(),
        )
    });
    let app = App::new(dynamodb(&[&ok]), sqs(&[&denied]), config())
        .with_metrics_output(MetricsOutput::Off);
    let outcome = run(&app, event(&data, 1), None).await;
    let failures: Vec<_> = outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, [Some("2".to_owned())]);
    assert_eq!(denied.num_calls(), 1, "a permanent error is not retried");
}

#[tokio::test]
async fn large_batches_are_chunked_by_25() {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let log = sizes.clone();
    let rule = mock!(DynamoDb::batch_write_item).then_compute_output(move |req| {
        log.lock()
            .unwrap()
            .push(req.request_items().unwrap()[TABLE].len());
        BatchWriteItemOutput::builder().build()
    });
    let sqs_rule = sqs_ok();
    let mut config = config();
    config.max_concurrent_writes = 3;
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config)
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..501).map(|i| post(10_000 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(outcome.response.batch_item_failures.is_empty());
    let mut sizes = sizes.lock().unwrap().clone();
    sizes.sort_unstable();
    assert_eq!(sizes.len(), 21);
    assert_eq!(sizes[0], 1);
    assert!(sizes[1..].iter().all(|s| *s == 25));
    assert_eq!(outcome.metrics.items_written, 501);
}

fn capacity(units: f64) -> ConsumedCapacity {
    ConsumedCapacity::builder()
        .table_name(TABLE)
        .capacity_units(units)
        .build()
}

#[tokio::test]
async fn write_units_are_dynamodbs_figure_summed_over_resends() {
    let calls: Arc<Mutex<Vec<Option<ReturnConsumedCapacity>>>> = Arc::default();
    let log = calls.clone();
    let rule = mock!(DynamoDb::batch_write_item).then_compute_output(move |req| {
        let requests = req.request_items().unwrap()[TABLE].clone();
        let mut log = log.lock().unwrap();
        log.push(req.return_consumed_capacity().cloned());
        if log.len() == 1 {
            // 7 of 10 written, for 9.5 units (a figure no size estimate gives); 3 left over.
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, requests[7..].to_vec())
                .consumed_capacity(capacity(9.5))
                .build()
        } else {
            BatchWriteItemOutput::builder()
                .consumed_capacity(capacity(3.0))
                .build()
        }
    });
    let sqs_rule = sqs_ok();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..10).map(|i| post(1500 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(
        *calls.lock().unwrap(),
        [
            Some(ReturnConsumedCapacity::Total),
            Some(ReturnConsumedCapacity::Total)
        ]
    );
    assert_eq!(outcome.metrics.items_written, 10);
    // 12.5 reported, rounded up to whole units.
    assert_eq!(outcome.metrics.write_units, 13);
}

#[tokio::test]
async fn items_stored_by_a_response_without_consumed_capacity_are_estimated() {
    // The first request reports its units, the resend of its last three does not.
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    let rule = mock!(DynamoDb::batch_write_item).then_compute_output(move |req| {
        let requests = req.request_items().unwrap()[TABLE].clone();
        let mut count = count.lock().unwrap();
        *count += 1;
        if *count == 1 {
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, requests[7..].to_vec())
                .consumed_capacity(capacity(14.0))
                .build()
        } else {
            BatchWriteItemOutput::builder().build()
        }
    });
    let sqs_rule = sqs_ok();
    let app = App::new(dynamodb(&[&rule]), sqs(&[&sqs_rule]), config())
        .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..10).map(|i| post(1600 + i)).collect();
    // Each post is far below 1 KB, so its item is one unit and its index entry another.
    assert!(data.iter().all(|d| d.len() < 512));

    let outcome = run(&app, event(&data, 1), None).await;

    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(outcome.metrics.write_units, 14 + 3 * 2);
}

#[tokio::test]
async fn single_puts_after_a_rejected_batch_report_their_units_too() {
    let batch_rule = mock!(DynamoDb::batch_write_item).then_error(|| {
        BatchWriteItemError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Item size has exceeded the maximum allowed size")
                .build(),
        )
    });
    let asked: Arc<Mutex<Vec<Option<ReturnConsumedCapacity>>>> = Arc::default();
    let log = asked.clone();
    let put_rule = mock!(DynamoDb::put_item).then_compute_response(move |req| {
        log.lock()
            .unwrap()
            .push(req.return_consumed_capacity().cloned());
        if req.item().unwrap()[schema::ID].as_s().unwrap() == "1702" {
            MockResponse::Error(PutItemError::generic(
                ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("Item size has exceeded the maximum allowed size")
                    .build(),
            ))
        } else {
            MockResponse::Output(
                PutItemOutput::builder()
                    .consumed_capacity(capacity(3.0))
                    .build(),
            )
        }
    });
    let (sqs_rule, _) = common::recording_send_message();
    let app = App::new(
        dynamodb(&[&batch_rule, &put_rule]),
        sqs(&[&sqs_rule]),
        config(),
    )
    .with_metrics_output(MetricsOutput::Off);
    let data: Vec<Vec<u8>> = (0..4).map(|i| post(1700 + i)).collect();

    let outcome = run(&app, event(&data, 1), None).await;

    assert_eq!(outcome.metrics.items_written, 3);
    assert_eq!(outcome.metrics.write_units, 9);
    assert_eq!(
        *asked.lock().unwrap(),
        vec![Some(ReturnConsumedCapacity::Total); 4]
    );
}
