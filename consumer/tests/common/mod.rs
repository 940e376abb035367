//! Shared helpers for the consumer's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod runtime_api;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use testkit::dynamodb_local::DynamoDbLocal;
use testkit::moto::{Moto, unique_name};
use testkit::readback::{self, AfterReading};
use testkit::records::FixtureRecord;
use twitter_consumer::dlq::DeadLetterMessage;
use twitter_consumer::retry::RetryPolicy;
use twitter_consumer::{App, Config, MetricsOutput};
use twitter_table::EventItem;

pub const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/tweets";

pub use testkit::fixtures::FixturePost;

/// Every complete post line of the X stream fixtures (the producer never writes system messages
/// or the truncated line).
pub fn fixture_posts() -> Vec<FixturePost> {
    let posts = testkit::fixtures::x_posts().expect("the X stream fixtures");
    assert!(posts.len() > 50, "fixture corpus: {} posts", posts.len());
    posts
}

/// The producer's record for a post, under `post.id` (which a test may set apart from the line's).
pub fn record_for(post: &FixturePost) -> Vec<u8> {
    FixtureRecord::x(&post.line)
        .id(&post.id)
        .keywords(&post.keywords)
        .encode()
}

/// A Lambda Kinesis event (the shape of aws_lambda_events' fixture) carrying `data`, with
/// sequence numbers `first_seq`, `first_seq + 1`, ...
pub fn event(data: &[Vec<u8>], first_seq: u64) -> KinesisEvent {
    let records: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let seq = (first_seq + i as u64).to_string();
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": seq,
                    "data": BASE64.encode(d),
                    "approximateArrivalTimestamp": 1_767_322_245.678
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/LambdaRole",
                "awsRegion": "us-east-1",
                "eventSourceARN": STREAM_ARN
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_attempts: 6,
        call_timeout: Duration::from_secs(5),
        deadline_margin: Duration::from_millis(100),
    }
}

pub fn test_config(table: &str) -> Config {
    let mut config = Config::new(table);
    config.retry = fast_retry();
    config.default_budget = Duration::from_secs(20);
    config
}

pub type Sink = Arc<Mutex<Vec<String>>>;

/// The test binary's DynamoDB Local (one JVM per binary; tests keep apart by table name).
pub async fn dynamodb_local() -> &'static DynamoDbLocal {
    DynamoDbLocal::shared().await.expect("DynamoDB Local")
}

/// A table of its own, created from the schema, in the binary's DynamoDB Local.
pub async fn new_table(dynamodb: &aws_sdk_dynamodb::Client) -> String {
    let table = unique_name("events");
    twitter_table::admin::create_table(dynamodb, &table)
        .await
        .expect("table");
    table
}

/// The stand-ins a test writes to: DynamoDB Local (shared by the binary) with a table of the
/// test's own, and a moto server of the test's own for the dead-letter queue.
pub struct Env {
    pub moto: Moto,
    pub dynamodb_local: &'static DynamoDbLocal,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb_config: aws_config::SdkConfig,
    pub sqs_config: aws_config::SdkConfig,
    pub table: String,
    pub queue_url: String,
}

impl Env {
    pub async fn start() -> Env {
        let dynamodb_local = dynamodb_local().await;
        let moto = Moto::start().await.expect("moto");
        let dynamodb_config = dynamodb_local.sdk_config().await;
        let sqs_config = moto.sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&dynamodb_config);
        let sqs = aws_sdk_sqs::Client::new(&sqs_config);
        let table = new_table(&dynamodb).await;
        let queue_url = sqs
            .create_queue()
            .queue_name(unique_name("dlq"))
            .send()
            .await
            .expect("queue")
            .queue_url()
            .expect("url")
            .to_owned();
        Env {
            moto,
            dynamodb_local,
            dynamodb,
            sqs,
            dynamodb_config,
            sqs_config,
            table,
            queue_url,
        }
    }

    /// Environment for the bootstrap binary: DynamoDB calls to DynamoDB Local, the rest to moto.
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.moto.env();
        env.extend(self.dynamodb_local.env());
        env
    }

    pub fn config(&self) -> Config {
        test_config(&self.table).with_dead_letter_queue(&self.queue_url)
    }

    pub fn app(&self, config: Config) -> (App, Sink) {
        let sink: Sink = Arc::default();
        let app = App::from_sdk_configs(&self.dynamodb_config, &self.sqs_config, config)
            .with_metrics_output(MetricsOutput::Memory(sink.clone()));
        (app, sink)
    }

    pub async fn items(&self) -> Vec<EventItem> {
        let mut items: Vec<EventItem> =
            serde_dynamo::from_items(self.raw_items().await).expect("items");
        items.sort_by(|a, b| (&a.id, &a.keyword).cmp(&(&b.id, &b.keyword)));
        items
    }

    /// Every item of the table as DynamoDB holds it.
    pub async fn raw_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        readback::scan_all(&self.dynamodb, &self.table)
            .await
            .expect("scan")
    }

    pub async fn dead_letters(&self) -> Vec<DeadLetterMessage> {
        let mut out: Vec<DeadLetterMessage> =
            readback::receive_all(&self.sqs, &self.queue_url, AfterReading::Hidden)
                .await
                .expect("receive")
                .iter()
                .map(|body| serde_json::from_str(body).expect("dead letter json"))
                .collect();
        out.sort_by(|a: &DeadLetterMessage, b| {
            twitter_consumer::batch::compare_sequence_numbers(
                &a.sequence_number,
                &b.sequence_number,
            )
        });
        out
    }
}

/// An SQS `SendMessage` stand-in that keeps every message body it is sent, in order.
pub fn recording_send_message() -> (aws_smithy_mocks::Rule, Arc<Mutex<Vec<String>>>) {
    use aws_sdk_sqs::operation::send_message::SendMessageOutput;
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent = Arc::clone(&bodies);
    let rule = aws_smithy_mocks::mock!(aws_sdk_sqs::Client::send_message).then_compute_output(
        move |req| {
            sent.lock()
                .unwrap()
                .push(req.message_body().unwrap().to_owned());
            SendMessageOutput::builder().message_id("m").build()
        },
    );
    (rule, bodies)
}
