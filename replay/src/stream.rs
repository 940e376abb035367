//! Reads a pointer's records back from the stream, exactly the batch or nothing.

use std::time::SystemTime;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use serde_json::json;

use crate::error::{ReplayError, sdk};
use crate::invocation::BatchInfo;
use crate::range::{self, Gap, Place};

/// Records per GetRecords call (Kinesis's maximum; a batch holds at most 10,000).
const GET_RECORDS_LIMIT: i32 = 10_000;
/// GetRecords calls for one batch before giving up: a shard can answer empty pages for a while
/// when the batch lies far behind its tip, but never forever.
const MAX_GET_RECORDS_CALLS: usize = 1_000;
/// Codes that mean the stream no longer has what the pointer names, rather than a failure.
const NOT_IN_STREAM: &[&str] = &["ResourceNotFoundException", "InvalidArgumentException"];

#[derive(Debug, Clone)]
pub struct Stream {
    client: Client,
}

impl Stream {
    pub fn new(client: Client) -> Self {
        Stream { client }
    }

    /// The batch's records in shard order, shaped as Lambda delivered them, or why they cannot
    /// all be had.
    pub async fn read_batch(
        &self,
        info: &BatchInfo,
    ) -> Result<Result<Vec<KinesisEventRecord>, Gap>, ReplayError> {
        // By name, in the client's account and region (the stack's): the name is the ARN's
        // last part. (moto's iterators from an ARN lose the stream; AWS takes either.)
        let stream_name = stream_name_of(&info.stream_arn);
        let iterator = self
            .client
            .get_shard_iterator()
            .stream_name(stream_name)
            .shard_id(&info.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(&info.start_sequence_number)
            .send()
            .await
            .map_err(sdk("kinesis", "GetShardIterator"));
        let mut iterator = match iterator {
            Ok(answer) => answer.shard_iterator().map(str::to_owned),
            Err(error) if error.aws_code().is_some_and(|c| NOT_IN_STREAM.contains(&c)) => {
                return Ok(Err(Gap::NotInStream(match error {
                    ReplayError::Aws { aws, .. } => aws.to_string(),
                    other => other.to_string(),
                })));
            }
            Err(error) => return Err(error),
        };
        let region = region_of(&info.stream_arn);
        let mut records = Vec::new();
        let mut calls = 0;
        'read: while let Some(current) = iterator.take() {
            calls += 1;
            if calls > MAX_GET_RECORDS_CALLS {
                // What was read is checked below and reported as a batch without its end.
                break;
            }
            let page = self
                .client
                .get_records()
                .shard_iterator(current)
                .limit(GET_RECORDS_LIMIT)
                .send()
                .await
                .map_err(sdk("kinesis", "GetRecords"))?;
            for record in page.records() {
                match range::place(info, record.sequence_number()) {
                    Place::Before => {}
                    Place::Inside => records.push(event_record(record, info, region)?),
                    Place::After => break 'read,
                }
            }
            let at_tip =
                page.records().is_empty() && page.millis_behind_latest().is_none_or(|lag| lag == 0);
            if !at_tip {
                iterator = page.next_shard_iterator().map(str::to_owned);
            }
        }
        let read = records.iter().map(|r| r.kinesis.sequence_number.as_str());
        Ok(range::check_whole(info, read).map(|()| records))
    }
}

/// `arn:aws:kinesis:<region>:<account>:stream/<name>` → `<name>`.
fn stream_name_of(arn: &str) -> &str {
    arn.rsplit_once(":stream/").map_or(arn, |(_, name)| name)
}

fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// A record as the event source mapping hands it to the function.
fn event_record(
    record: &Record,
    info: &BatchInfo,
    region: &str,
) -> Result<KinesisEventRecord, ReplayError> {
    let arrival = record
        .approximate_arrival_timestamp()
        .map(|t| t.as_secs_f64())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        });
    let sequence_number = record.sequence_number();
    let mut event: KinesisEventRecord = serde_json::from_value(json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key(),
            "sequenceNumber": sequence_number,
            "data": "",
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{}:{sequence_number}", info.shard_id),
        "eventName": "aws:kinesis:record",
        "awsRegion": region,
        "eventSourceARN": info.stream_arn,
    }))
    .map_err(|e| ReplayError::Event(format!("record {sequence_number}: {e}")))?;
    // Set directly rather than through base64 and back.
    event.kinesis.data.0 = record.data().as_ref().to_vec();
    Ok(event)
}
