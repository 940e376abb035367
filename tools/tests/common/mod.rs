//! Shared helpers for the driver's tests: the consumer's test environment (a moto table created
//! from the schema, a dead-letter queue) and producer records of the X stream fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use testkit::moto::{Moto, unique_name};
use testkit::readback::{self, AfterReading};
use testkit::records::FixtureRecord;
use twitter_consumer::dlq::DeadLetterMessage;
use twitter_consumer::retry::RetryPolicy;
use twitter_consumer::{App, Config, MetricsOutput};
use twitter_table::EventItem;

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

/// A moto-backed environment: the table created from the schema, a dead-letter queue.
pub struct Env {
    pub moto: Moto,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sdk_config: aws_config::SdkConfig,
    pub table: String,
    pub queue_url: String,
}

impl Env {
    pub async fn start() -> Env {
        let moto = Moto::start().await.expect("moto");
        let sdk_config = moto.sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
        let sqs = aws_sdk_sqs::Client::new(&sdk_config);
        let table = unique_name("events");
        twitter_table::admin::create_table(&dynamodb, &table)
            .await
            .expect("table");
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
            dynamodb,
            sqs,
            sdk_config,
            table,
            queue_url,
        }
    }

    pub fn config(&self) -> Config {
        test_config(&self.table).with_dead_letter_queue(&self.queue_url)
    }

    pub fn app(&self, config: Config) -> (App, Sink) {
        let sink: Sink = Arc::default();
        let app = App::from_sdk_config(&self.sdk_config, config)
            .with_metrics_output(MetricsOutput::Memory(sink.clone()));
        (app, sink)
    }

    pub async fn items(&self) -> Vec<EventItem> {
        let mut items: Vec<EventItem> = readback::scan_all(&self.dynamodb, &self.table)
            .await
            .expect("scan")
            .into_iter()
            .map(|attributes| EventItem::from_attributes(attributes).expect("item"))
            .collect();
        items.sort_by(|a, b| (&a.id, &a.keyword).cmp(&(&b.id, &b.keyword)));
        items
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
