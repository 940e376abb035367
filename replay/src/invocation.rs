//! What Lambda writes when its event source mapping discards a Kinesis batch: the invocation
//! record (AWS developer guide, "Retain discarded batch records for a Kinesis Data Streams event
//! source"). To an SQS or SNS destination it is metadata only, a pointer into the stream; to an S3
//! destination it also carries `payload`, the whole event as an escaped JSON string.

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use serde::Deserialize;

/// The key prefix under which Lambda writes invocation records to an S3 destination
/// (`aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`).
pub const S3_KEY_PREFIX: &str = "aws/lambda/";

/// Which records a discarded batch held: one shard, a closed range of sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    #[serde(default)]
    pub batch_size: Option<u64>,
    pub stream_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    #[serde(default)]
    condition: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationRecord {
    #[serde(rename = "KinesisBatchInfo")]
    kinesis_batch_info: BatchInfo,
    #[serde(default)]
    request_context: Option<RequestContext>,
    #[serde(default)]
    payload: Option<String>,
}

/// A batch the event source mapping gave up on, as read from its invocation record.
#[derive(Debug, Clone)]
pub struct DiscardedBatch {
    pub info: BatchInfo,
    /// Why Lambda gave up (`RetryAttemptsExhausted`, `RecordAgeExceeded`, ...), when it said.
    pub condition: Option<String>,
    /// The records themselves, when the record carried the payload (an S3 destination); else
    /// they are still in the stream, if its retention has not passed.
    pub records: Option<Vec<KinesisEventRecord>>,
}

/// Why a document is not an invocation record this tool can replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotABatch {
    /// Valid JSON of another shape: in a dead-letter queue, most likely the consumer's own
    /// message about a poison record.
    #[error("not a Kinesis invocation record (no KinesisBatchInfo)")]
    OtherMessage,
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("invocation record without a usable KinesisBatchInfo: {0}")]
    BadBatchInfo(String),
    #[error("the payload is not a Kinesis event: {0}")]
    BadPayload(String),
    #[error("the payload holds no records")]
    EmptyPayload,
}

impl DiscardedBatch {
    /// Reads an invocation record.
    pub fn parse(document: &[u8]) -> Result<DiscardedBatch, NotABatch> {
        let value: serde_json::Value =
            serde_json::from_slice(document).map_err(|e| NotABatch::NotJson(e.to_string()))?;
        if value.get("KinesisBatchInfo").is_none() {
            return Err(NotABatch::OtherMessage);
        }
        let record: InvocationRecord =
            serde_json::from_value(value).map_err(|e| NotABatch::BadBatchInfo(e.to_string()))?;
        let records = match record.payload.as_deref() {
            None | Some("") => None,
            Some(payload) => {
                let event: KinesisEvent = serde_json::from_str(payload)
                    .map_err(|e| NotABatch::BadPayload(e.to_string()))?;
                if event.records.is_empty() {
                    return Err(NotABatch::EmptyPayload);
                }
                Some(event.records)
            }
        };
        Ok(DiscardedBatch {
            info: record.kinesis_batch_info,
            condition: record.request_context.and_then(|c| c.condition),
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointer() -> serde_json::Value {
        // The documented shape of a notice sent to an SQS destination.
        json!({
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-4b3a-9a5c-0d5c1f1a0c3e",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:twitter-consumer",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 11
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-12-02T08:00:00.000Z",
            "KinesisBatchInfo": {
                "shardId": "shardId-000000000000",
                "startSequenceNumber": "49546986683135544286507457936321625675700192471156785154",
                "endSequenceNumber": "49546986683135544286507457936321625675700192471156785155",
                "approximateArrivalOfFirstRecord": "2026-12-02T07:59:00.000Z",
                "approximateArrivalOfLastRecord": "2026-12-02T07:59:01.000Z",
                "batchSize": 2,
                "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/tweets"
            }
        })
    }

    #[test]
    fn a_pointer_notice_names_its_range_and_has_no_records() {
        let batch = DiscardedBatch::parse(pointer().to_string().as_bytes()).unwrap();
        assert_eq!(batch.info.shard_id, "shardId-000000000000");
        assert_eq!(
            batch.info.end_sequence_number,
            "49546986683135544286507457936321625675700192471156785155"
        );
        assert_eq!(batch.info.batch_size, Some(2));
        assert_eq!(batch.condition.as_deref(), Some("RetryAttemptsExhausted"));
        assert!(batch.records.is_none());
    }

    #[test]
    fn an_s3_record_carries_the_event_as_an_escaped_string() {
        let event = json!({"Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "p",
                "sequenceNumber": "49546986683135544286507457936321625675700192471156785154",
                "data": "aGVsbG8=",
                "approximateArrivalTimestamp": 1_764_662_340.0
            },
            "eventSource": "aws:kinesis",
            "eventID": "shardId-000000000000:49546986683135544286507457936321625675700192471156785154",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tweets"
        }]});
        let mut record = pointer();
        record["payload"] = json!(event.to_string());
        let batch = DiscardedBatch::parse(record.to_string().as_bytes()).unwrap();
        let records = batch.records.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].kinesis.data.0, b"hello");
    }

    #[test]
    fn the_consumers_own_dead_letter_is_another_message() {
        let letter = json!({"reason": "not-json", "sequenceNumber": "1", "data": "eA=="});
        assert_eq!(
            DiscardedBatch::parse(letter.to_string().as_bytes()).unwrap_err(),
            NotABatch::OtherMessage
        );
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        assert!(matches!(
            DiscardedBatch::parse(b"{not json"),
            Err(NotABatch::NotJson(_))
        ));
        let mut missing_arn = pointer();
        missing_arn["KinesisBatchInfo"]
            .as_object_mut()
            .unwrap()
            .remove("streamArn");
        assert!(matches!(
            DiscardedBatch::parse(missing_arn.to_string().as_bytes()),
            Err(NotABatch::BadBatchInfo(_))
        ));
        let mut bad_payload = pointer();
        bad_payload["payload"] = json!("{\"Records\": 7}");
        assert!(matches!(
            DiscardedBatch::parse(bad_payload.to_string().as_bytes()),
            Err(NotABatch::BadPayload(_))
        ));
        let mut empty = pointer();
        empty["payload"] = json!("{\"Records\": []}");
        assert_eq!(
            DiscardedBatch::parse(empty.to_string().as_bytes()).unwrap_err(),
            NotABatch::EmptyPayload
        );
    }
}
