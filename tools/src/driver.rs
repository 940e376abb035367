//! A local stand-in for Lambda's Kinesis poller: reads a stream shard by shard from TRIM_HORIZON
//! to its tip and calls the consumer's handler with events shaped exactly like Lambda's, honouring
//! the partial batch response.
//!
//! A development tool for the offline demo and end-to-end tests, not a production poller: in
//! production Lambda polls (with its own checkpointing, parallelism and bisecting).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

use twitter_consumer::batch;
use twitter_consumer::handler::{App, invoke};

use crate::error::ToolError;

/// Records per Kinesis GetRecords call.
pub const MAX_GET_RECORDS: i32 = 10_000;

/// How the driver invokes the handler.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Records per invocation at most (the event source mapping's `BatchSize`).
    pub batch_size: i32,
    /// Invocations that may report the same record as failed before the driver gives up on it.
    pub max_attempts: u32,
    /// The deadline each invocation gets (the function's timeout).
    pub invocation_timeout: Duration,
    /// Pause before re-reading from a reported record, growing with each attempt.
    pub retry_delay: Duration,
    /// Where a batch goes when its attempts run out (the mapping's on-failure destination).
    /// Without one the drain fails there instead of going on.
    pub on_failure: Option<OnFailure>,
}

/// The event source mapping's on-failure destination: what Lambda does with a batch it discards.
#[derive(Debug, Clone)]
pub enum OnFailure {
    /// An S3 bucket: the invocation record with the whole event as `payload`, at
    /// `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`.
    Bucket {
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
    /// An SQS queue: the invocation record without the payload, a pointer into the stream.
    Queue {
        sqs: aws_sdk_sqs::Client,
        queue_url: String,
    },
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            batch_size: 100,
            max_attempts: 5,
            invocation_timeout: Duration::from_secs(60),
            retry_delay: Duration::from_millis(100),
            on_failure: None,
        }
    }
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriveSummary {
    pub shards: usize,
    pub invocations: usize,
    /// Records handed to the handler, redeliveries included.
    pub records_delivered: usize,
    /// Distinct records read.
    pub records: usize,
    /// Partial batch responses honoured (re-reads from a reported record).
    pub retries: usize,
    pub posts_written: u64,
    pub poison_records: u64,
    /// Batches given up on and sent to the on-failure destination, and their records.
    pub discarded_batches: usize,
    pub discarded_records: usize,
    /// The last sequence number handled, per shard.
    pub checkpoints: BTreeMap<String, String>,
}

fn kinesis_error<E>(
    operation: &'static str,
) -> impl FnOnce(
    aws_sdk_kinesis::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> ToolError
where
    E: std::error::Error
        + aws_smithy_types::error::metadata::ProvideErrorMetadata
        + Send
        + Sync
        + 'static,
{
    move |e| twitter_consumer::ConsumerError::from_sdk("kinesis", operation, e).into()
}

/// Seconds since the epoch with milliseconds, as Lambda writes `approximateArrivalTimestamp`.
fn epoch_seconds(t: Option<&aws_sdk_kinesis::primitives::DateTime>) -> f64 {
    t.map(|t| t.as_secs_f64()).unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    })
}

/// The event Lambda would send for `records` of one shard.
pub fn lambda_event(
    shard_id: &str,
    records: &[Record],
    stream_arn: &str,
    region: &str,
) -> Result<KinesisEvent, ToolError> {
    let account = stream_arn.split(':').nth(4).unwrap_or("000000000000");
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let seq = r.sequence_number();
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key(),
                    "sequenceNumber": seq,
                    "data": BASE64.encode(r.data().as_ref()),
                    // Lambda sends milliseconds; rounding keeps the float the same.
                    "approximateArrivalTimestamp": (epoch_seconds(r.approximate_arrival_timestamp()) * 1000.0).round() / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{shard_id}:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": format!("arn:aws:iam::{account}:role/twitter-consumer"),
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records }))
        .map_err(|e| ToolError::Event(e.to_string()))
}

/// Reads every shard of `stream_name` from TRIM_HORIZON to its current tip, invoking the handler
/// per batch the way Lambda would. Fails if a record is still reported after
/// `options.max_attempts` invocations.
pub async fn drain(
    kinesis: &aws_sdk_kinesis::Client,
    stream_name: &str,
    app: &App,
    options: &DriveOptions,
) -> Result<DriveSummary, ToolError> {
    let described = kinesis
        .describe_stream_summary()
        .stream_name(stream_name)
        .send()
        .await
        .map_err(kinesis_error("DescribeStreamSummary"))?;
    let stream_arn = described
        .stream_description_summary()
        .map(|s| s.stream_arn().to_owned())
        .unwrap_or_default();
    let region = kinesis
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned());

    let mut shard_ids = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let request = match &next_token {
            Some(token) => kinesis.list_shards().next_token(token),
            None => kinesis.list_shards().stream_name(stream_name),
        };
        let page = request.send().await.map_err(kinesis_error("ListShards"))?;
        shard_ids.extend(page.shards().iter().map(|s| s.shard_id().to_owned()));
        next_token = page.next_token().map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }

    let mut summary = DriveSummary {
        shards: shard_ids.len(),
        ..DriveSummary::default()
    };
    for shard_id in &shard_ids {
        drain_shard(
            kinesis,
            stream_name,
            &stream_arn,
            &region,
            shard_id,
            app,
            options,
            &mut summary,
        )
        .await?;
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
async fn drain_shard(
    kinesis: &aws_sdk_kinesis::Client,
    stream_name: &str,
    stream_arn: &str,
    region: &str,
    shard_id: &str,
    app: &App,
    options: &DriveOptions,
    summary: &mut DriveSummary,
) -> Result<(), ToolError> {
    let iterator_at = |kind: ShardIteratorType, seq: Option<String>| async move {
        kinesis
            .get_shard_iterator()
            .stream_name(stream_name)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .set_starting_sequence_number(seq)
            .send()
            .await
            .map_err(kinesis_error("GetShardIterator"))
            .map(|o| o.shard_iterator().map(str::to_owned))
    };
    let mut iterator = iterator_at(ShardIteratorType::TrimHorizon, None).await?;
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut seen_up_to: Option<String> = None;
    while let Some(current) = iterator.take() {
        let page = kinesis
            .get_records()
            .shard_iterator(current)
            .limit(options.batch_size.clamp(1, MAX_GET_RECORDS))
            .send()
            .await
            .map_err(kinesis_error("GetRecords"))?;
        let records = page.records();
        if records.is_empty() {
            // An open shard always hands back another iterator; an empty page at zero lag is the tip.
            let at_tip = page.millis_behind_latest().is_none_or(|lag| lag == 0);
            iterator = if at_tip {
                None
            } else {
                page.next_shard_iterator().map(str::to_owned)
            };
            continue;
        }
        for r in records {
            let new = seen_up_to
                .as_deref()
                .is_none_or(|s| batch::compare_sequence_numbers(r.sequence_number(), s).is_gt());
            if new {
                summary.records += 1;
                seen_up_to = Some(r.sequence_number().to_owned());
            }
        }
        let event = lambda_event(shard_id, records, stream_arn, region)?;
        let discarded_payload = options
            .on_failure
            .as_ref()
            .map(|_| serde_json::to_string(&event))
            .transpose()
            .map_err(|e| ToolError::Event(e.to_string()))?;
        let mut context = Context::default();
        summary.invocations += 1;
        context.request_id = format!("driver-{}", summary.invocations);
        context.deadline = SystemTime::now()
            .checked_add(options.invocation_timeout)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        summary.records_delivered += records.len();
        // `invoke` is `handle` (what Lambda calls) with the outcome's counts kept; it never fails
        // the invocation as a whole.
        let outcome = invoke(app, LambdaEvent::new(event, context)).await;
        summary.posts_written += outcome.metrics.posts_written;
        summary.poison_records += outcome.metrics.poison_records;
        let reported: Vec<&str> = outcome
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_deref().unwrap_or_default())
            .collect();
        let failed = match batch::lowest(reported.iter().copied()) {
            None => None,
            Some(seq) if records.iter().any(|r| r.sequence_number() == seq) => Some(seq.to_owned()),
            // An empty or unknown identifier makes Lambda retry the whole batch.
            Some(_) => records.first().map(|r| r.sequence_number().to_owned()),
        };
        match failed {
            None => {
                if let Some(last) = records.last() {
                    summary
                        .checkpoints
                        .insert(shard_id.to_owned(), last.sequence_number().to_owned());
                }
                iterator = page.next_shard_iterator().map(str::to_owned);
            }
            Some(seq) => {
                let count = attempts.entry(seq.clone()).or_insert(0);
                *count += 1;
                if *count >= options.max_attempts {
                    let Some(destination) = &options.on_failure else {
                        return Err(ToolError::GaveUp {
                            sequence_number: seq,
                            attempts: *count,
                        });
                    };
                    // As Lambda does: the batch is recorded at the destination and the shard goes on.
                    let discarded = Discarded {
                        shard_id,
                        stream_arn,
                        region,
                        records,
                        attempts: *count,
                        payload: discarded_payload.as_deref().unwrap_or_default(),
                    };
                    send_to_destination(destination, &discarded).await?;
                    summary.discarded_batches += 1;
                    summary.discarded_records += records.len();
                    if let Some(last) = records.last() {
                        summary
                            .checkpoints
                            .insert(shard_id.to_owned(), last.sequence_number().to_owned());
                    }
                    iterator = page.next_shard_iterator().map(str::to_owned);
                    continue;
                }
                summary.retries += 1;
                tokio::time::sleep(options.retry_delay * *count).await;
                iterator = iterator_at(ShardIteratorType::AtSequenceNumber, Some(seq)).await?;
            }
        }
    }
    Ok(())
}

/// A batch the driver gave up on.
struct Discarded<'a> {
    shard_id: &'a str,
    stream_arn: &'a str,
    region: &'a str,
    records: &'a [Record],
    attempts: u32,
    /// The event as the function received it, as JSON text.
    payload: &'a str,
}

fn rfc3339_millis(t: OffsetDateTime) -> String {
    twitter_table::timestamp::utc_millis(t)
}

fn arrival(record: &Record) -> String {
    let seconds = epoch_seconds(record.approximate_arrival_timestamp());
    let nanos = (seconds * 1e9) as i128;
    rfc3339_millis(
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

/// A random version-4-shaped UUID, for the request id and the object key.
fn uuid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The invocation record Lambda sends to an on-failure destination (AWS developer guide,
/// "Retain discarded batch records for a Kinesis Data Streams event source").
fn invocation_record(discarded: &Discarded<'_>, with_payload: bool) -> serde_json::Value {
    let account = discarded
        .stream_arn
        .split(':')
        .nth(4)
        .unwrap_or("000000000000");
    let first = discarded.records.first();
    let last = discarded.records.last();
    let mut record = json!({
        "requestContext": {
            "requestId": uuid(),
            "functionArn": format!("arn:aws:lambda:{}:{account}:function:twitter-consumer", discarded.region),
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": discarded.attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
        },
        "version": "1.0",
        "timestamp": rfc3339_millis(OffsetDateTime::now_utc()),
        "KinesisBatchInfo": {
            "shardId": discarded.shard_id,
            "startSequenceNumber": first.map(|r| r.sequence_number()),
            "endSequenceNumber": last.map(|r| r.sequence_number()),
            "approximateArrivalOfFirstRecord": first.map(arrival),
            "approximateArrivalOfLastRecord": last.map(arrival),
            "batchSize": discarded.records.len(),
            "streamArn": discarded.stream_arn,
        },
    });
    if with_payload {
        record["payload"] = json!(discarded.payload);
    }
    record
}

/// Lambda's object key for a discarded batch: `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`.
fn object_key(mapping_uuid: &str, shard_id: &str, at: OffsetDateTime) -> String {
    format!(
        "aws/lambda/{mapping_uuid}/{shard_id}/{:04}/{:02}/{:02}/{:04}-{:02}-{:02}T{:02}.{:02}.{:02}-{}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        uuid()
    )
}

/// The driver stands for one event source mapping per process.
fn mapping_uuid() -> &'static str {
    static UUID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    UUID.get_or_init(uuid)
}

async fn send_to_destination(
    destination: &OnFailure,
    discarded: &Discarded<'_>,
) -> Result<(), ToolError> {
    match destination {
        OnFailure::Bucket { s3, bucket } => {
            let body = invocation_record(discarded, true).to_string();
            let key = object_key(
                mapping_uuid(),
                discarded.shard_id,
                OffsetDateTime::now_utc(),
            );
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/json")
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(|e| twitter_consumer::ConsumerError::from_sdk("s3", "PutObject", e))?;
        }
        OnFailure::Queue { sqs, queue_url } => {
            let body = invocation_record(discarded, false).to_string();
            sqs.send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
                .map_err(|e| twitter_consumer::ConsumerError::from_sdk("sqs", "SendMessage", e))?;
        }
    }
    Ok(())
}
