//! The replay's test environment: moto for Kinesis, S3 and SQS; DynamoDB Local for the table
//! (moto accepts batches and keys that DynamoDB rejects); the X stream fixtures as records.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use testkit::dynamodb_local::DynamoDbLocal;
use testkit::moto::{Moto, create_stream, free_port, unique_name};
use testkit::readback::{self, AfterReading};
use testkit::records::FixtureRecord;
use twitter_consumer::retry::RetryPolicy;
use twitter_consumer::{App, Config, MetricsOutput};
use twitter_replay::Settings;
use twitter_tools::driver::{DriveOptions, DriveSummary, OnFailure, drain};

pub use testkit::fixtures::FixturePost;

/// Bytes no producer writes: the consumer's poison.
pub const POISON: &[u8] = b"not a record";

pub struct Env {
    pub moto: Moto,
    pub moto_config: aws_config::SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    pub stream: String,
    pub bucket: String,
    pub queue_url: String,
    pub posts: Vec<FixturePost>,
}

impl Env {
    /// A stream of two shards holding every fixture post (and one poison record last on its
    /// shard), an empty table, bucket and queue.
    pub async fn start() -> Env {
        let moto = Moto::start().await.expect("moto");
        let moto_config = moto.sdk_config().await;
        let local = DynamoDbLocal::shared().await.expect("DynamoDB Local");
        let dynamodb = local.dynamodb().await;
        let table = unique_name("events");
        twitter_table::admin::create_table(&dynamodb, &table)
            .await
            .expect("table");
        let kinesis = aws_sdk_kinesis::Client::new(&moto_config);
        let stream = unique_name("tweets");
        create_stream(&kinesis, &stream, 2).await.expect("stream");
        let s3 = aws_sdk_s3::Client::new(&moto_config);
        let bucket = unique_name("failed").to_lowercase();
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let sqs = aws_sdk_sqs::Client::new(&moto_config);
        let queue_url = sqs
            .create_queue()
            .queue_name(unique_name("dlq"))
            .send()
            .await
            .expect("queue")
            .queue_url()
            .expect("url")
            .to_owned();
        let posts = testkit::fixtures::x_posts().expect("fixtures");
        assert!(posts.len() > 50, "fixture corpus: {} posts", posts.len());
        let env = Env {
            moto,
            moto_config,
            dynamodb,
            kinesis,
            s3,
            sqs,
            table,
            stream,
            bucket,
            queue_url,
            posts,
        };
        for post in &env.posts {
            let record = FixtureRecord::x(&post.line)
                .id(&post.id)
                .keywords(&post.keywords)
                .encode();
            env.put(&post.id, record).await;
        }
        env.put("poison", POISON.to_vec()).await;
        env
    }

    async fn put(&self, key: &str, data: Vec<u8>) {
        self.kinesis
            .put_record()
            .stream_name(&self.stream)
            .partition_key(key)
            .data(Blob::new(data))
            .send()
            .await
            .expect("put record");
    }

    /// Every (post, keyword) pair the fixtures hold: what the table must end up with. A post
    /// matched under no tagged rule is stored under the table's `(none)` keyword.
    pub fn expected_items(&self) -> BTreeSet<(String, String)> {
        self.posts
            .iter()
            .flat_map(|p| {
                let keywords = if p.keywords.is_empty() {
                    vec![twitter_table::schema::NO_KEYWORD.to_owned()]
                } else {
                    p.keywords.clone()
                };
                keywords.into_iter().map(|k| (p.id.clone(), k))
            })
            .collect()
    }

    pub fn config(&self) -> Config {
        let mut config = Config::new(&self.table).with_dead_letter_queue(&self.queue_url);
        config.retry = RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            max_attempts: 4,
            call_timeout: Duration::from_secs(5),
            deadline_margin: Duration::from_millis(100),
        };
        config
    }

    /// The consumer as it runs when the table is reachable.
    pub async fn consumer(&self) -> App {
        let local = DynamoDbLocal::shared().await.expect("DynamoDB Local");
        App::new(local.dynamodb().await, self.sqs.clone(), self.config())
            .with_metrics_output(MetricsOutput::Off)
    }

    /// The consumer while DynamoDB is unreachable (nothing listens on its endpoint).
    pub fn consumer_without_dynamodb(&self) -> App {
        let closed = format!("http://127.0.0.1:{}", free_port().expect("port"));
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&self.moto_config)
            .endpoint_url(closed)
            .build();
        App::new(
            aws_sdk_dynamodb::Client::from_conf(dynamodb),
            self.sqs.clone(),
            self.config(),
        )
        .with_metrics_output(MetricsOutput::Off)
    }

    /// Lambda's poller giving up on every batch (the table is down), each sent to `on_failure`.
    pub async fn discard_everything(&self, on_failure: OnFailure) -> DriveSummary {
        let options = DriveOptions {
            batch_size: 100,
            max_attempts: 2,
            invocation_timeout: Duration::from_millis(800),
            retry_delay: Duration::from_millis(10),
            on_failure: Some(on_failure),
        };
        let summary = drain(
            &self.kinesis,
            &self.stream,
            &self.consumer_without_dynamodb(),
            &options,
        )
        .await
        .expect("drain");
        assert_eq!(summary.posts_written, 0, "the table was down: {summary:?}");
        assert_eq!(
            summary.discarded_records,
            self.posts.len() + 1,
            "every record discarded: {summary:?}"
        );
        summary
    }

    pub fn to_bucket(&self) -> OnFailure {
        OnFailure::Bucket {
            s3: self.s3.clone(),
            bucket: self.bucket.clone(),
        }
    }

    pub fn to_queue(&self) -> OnFailure {
        OnFailure::Queue {
            sqs: self.sqs.clone(),
            queue_url: self.queue_url.clone(),
        }
    }

    pub fn settings(&self, bucket: bool, queue: bool, dry_run: bool) -> Settings {
        Settings {
            bucket: bucket.then(|| self.bucket.clone()),
            queue_url: queue.then(|| self.queue_url.clone()),
            dry_run,
        }
    }

    /// Runs a replay and returns its summary and its lines.
    pub async fn replay(&self, settings: Settings) -> (twitter_replay::Summary, Vec<String>) {
        let app = twitter_replay::App::new(self.consumer().await, &self.moto_config, settings);
        let mut out = Vec::new();
        let summary = app.run(&mut out).await.expect("replay run");
        let lines = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(str::to_owned)
            .collect();
        (summary, lines)
    }

    /// The (Id, Keyword) of every item in the table.
    pub async fn stored(&self) -> BTreeSet<(String, String)> {
        readback::scan_all(&self.dynamodb, &self.table)
            .await
            .expect("scan")
            .into_iter()
            .map(|attributes| {
                let item = twitter_table::EventItem::from_attributes(attributes).expect("item");
                (item.id, item.keyword)
            })
            .collect()
    }

    pub async fn object_keys(&self) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("list");
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    pub async fn object(&self, key: &str) -> serde_json::Value {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("get");
        let bytes = object.body.collect().await.expect("body").into_bytes();
        serde_json::from_slice(&bytes).expect("json")
    }

    /// Every message body in the queue (each received once, then made visible again).
    pub async fn queue_bodies(&self) -> Vec<serde_json::Value> {
        readback::receive_all(&self.sqs, &self.queue_url, AfterReading::Visible)
            .await
            .expect("receive")
            .iter()
            .map(|body| serde_json::from_str(body).expect("json body"))
            .collect()
    }
}

/// The consumer's own message about a poison record (not a pointer notice).
pub fn is_dead_letter(body: &serde_json::Value) -> bool {
    body.get("KinesisBatchInfo").is_none()
}
