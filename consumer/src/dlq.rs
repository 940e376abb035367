//! The dead-letter queue: where a record that can never be stored goes, whole, with where it came
//! from, so it can be inspected and replayed.
//!
//! One message per record, a JSON object:
//! `{"reason","detail","eventID","shardId","sequenceNumber","partitionKey",
//!   "approximateArrivalTimestamp","eventSourceARN","encoding","data","part","parts"}`.
//! `data` is the record's bytes in base64 (`encoding: "base64"`), or DEFLATE-compressed first
//! (`"deflate+base64"`) when that is what it takes to fit SQS's message limit. A record still too
//! large (a Kinesis record can be four times an SQS message) is split over several messages with
//! the same `sequenceNumber` and `part` 1..=`parts`: concatenating their `data` in part order gives
//! the encoded record back.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::error::ConsumerError;
use crate::item::PoisonReason;
use crate::limits::MAX_SQS_MESSAGE_BYTES;
use crate::retry::{self, Deadline, RetryPolicy};

/// A poison record and where it came from.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    pub reason: PoisonReason,
    pub detail: &'a str,
    pub event_id: &'a str,
    pub sequence_number: &'a str,
    pub partition_key: &'a str,
    /// Seconds since the epoch, as Lambda's event has it.
    pub approximate_arrival: f64,
    pub event_source_arn: &'a str,
    pub data: &'a [u8],
}

impl DeadLetter<'_> {
    /// Lambda's eventID is `<shardId>:<sequenceNumber>`.
    pub fn shard_id(&self) -> &str {
        self.event_id
            .rsplit_once(':')
            .map(|(shard, _)| shard)
            .unwrap_or_default()
    }
}

/// One dead-letter message body, as sent and as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterMessage {
    pub reason: String,
    pub detail: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub approximate_arrival_timestamp: f64,
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
    pub encoding: String,
    pub data: String,
    pub part: usize,
    pub parts: usize,
}

pub const ENCODING_BASE64: &str = "base64";
pub const ENCODING_DEFLATE_BASE64: &str = "deflate+base64";

/// Room kept in each message for the JSON framing around `data` that [`messages`] measures, plus
/// digits of `part`/`parts` growing.
const FRAME_SLACK: usize = 64;

/// Longest `detail` kept: the error text is for people, the record is what matters.
const MAX_DETAIL_CHARS: usize = 1000;

/// SQS accepts only XML-legal characters in a body.
fn sqs_safe(text: &str) -> String {
    text.chars()
        .take(MAX_DETAIL_CHARS)
        .map(|c| match c {
            '\t'
            | '\n'
            | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'..='\u{10FFFF}' => c,
            _ => '\u{FFFD}',
        })
        .collect()
}

/// The message bodies for one dead letter: one, unless the record is too large for a message.
pub fn messages(letter: &DeadLetter<'_>) -> Vec<String> {
    let mut template = DeadLetterMessage {
        reason: letter.reason.as_str().to_owned(),
        detail: sqs_safe(letter.detail),
        event_id: sqs_safe(letter.event_id),
        shard_id: sqs_safe(letter.shard_id()),
        sequence_number: sqs_safe(letter.sequence_number),
        partition_key: sqs_safe(letter.partition_key),
        approximate_arrival_timestamp: if letter.approximate_arrival.is_finite() {
            letter.approximate_arrival
        } else {
            0.0
        },
        event_source_arn: sqs_safe(letter.event_source_arn),
        encoding: ENCODING_BASE64.to_owned(),
        data: String::new(),
        part: 1,
        parts: 1,
    };
    let frame = serde_json::to_string(&template)
        .map(|s| s.len())
        .unwrap_or(4096);
    let room = MAX_SQS_MESSAGE_BYTES
        .saturating_sub(frame + FRAME_SLACK)
        .max(1024);

    let mut data = BASE64.encode(letter.data);
    if data.len() > room {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let compressed = encoder
            .write_all(letter.data)
            .and_then(|()| encoder.finish());
        if let Ok(compressed) = compressed {
            data = BASE64.encode(compressed);
            template.encoding = ENCODING_DEFLATE_BASE64.to_owned();
        }
    }
    // Base64 is ASCII, so any byte offset is a character boundary.
    let pieces: Vec<&str> = data
        .as_bytes()
        .chunks(room)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let parts = pieces.len().max(1);
    if pieces.is_empty() {
        return serde_json::to_string(&template).into_iter().collect();
    }
    pieces
        .into_iter()
        .enumerate()
        .filter_map(|(i, piece)| {
            let mut message = template.clone();
            message.data = piece.to_owned();
            message.part = i + 1;
            message.parts = parts;
            serde_json::to_string(&message).ok()
        })
        .collect()
}

/// Rebuilds a record's bytes from all its messages (any order). For tests and replay tools.
pub fn reassemble(messages: &[DeadLetterMessage]) -> Result<Vec<u8>, ConsumerError> {
    let mut sorted: Vec<&DeadLetterMessage> = messages.iter().collect();
    sorted.sort_by_key(|m| m.part);
    let parts = sorted.first().map(|m| m.parts).unwrap_or(0);
    if sorted.len() != parts || sorted.iter().enumerate().any(|(i, m)| m.part != i + 1) {
        return Err(ConsumerError::Payload(format!(
            "dead letter has {} of {parts} parts",
            sorted.len()
        )));
    }
    let data: String = sorted.iter().map(|m| m.data.as_str()).collect();
    let bytes = BASE64
        .decode(data)
        .map_err(|e| ConsumerError::Payload(format!("dead letter data is not base64: {e}")))?;
    match sorted.first().map(|m| m.encoding.as_str()) {
        Some(ENCODING_DEFLATE_BASE64) => {
            let mut decoder = flate2::write::DeflateDecoder::new(Vec::new());
            decoder
                .write_all(&bytes)
                .and_then(|()| decoder.finish())
                .map_err(|e| {
                    ConsumerError::Payload(format!("dead letter data does not inflate: {e}"))
                })
        }
        _ => Ok(bytes),
    }
}

/// Sends dead letters to one SQS queue.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    policy: RetryPolicy,
}

impl DeadLetterQueue {
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        policy: RetryPolicy,
    ) -> Self {
        DeadLetterQueue {
            client,
            queue_url: queue_url.into(),
            policy,
        }
    }

    /// Sends every message of one dead letter; an error means the record is not safe yet.
    pub async fn send(
        &self,
        letter: &DeadLetter<'_>,
        deadline: &Deadline,
    ) -> Result<(), ConsumerError> {
        for body in messages(letter) {
            retry::call(&self.policy, deadline, "sqs", "SendMessage", || {
                let request = self
                    .client
                    .send_message()
                    .queue_url(&self.queue_url)
                    .message_body(body.clone());
                async move {
                    request
                        .send()
                        .await
                        .map_err(|e| ConsumerError::from_sdk("sqs", "SendMessage", e))
                }
            })
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(data: &[u8]) -> DeadLetter<'_> {
        DeadLetter {
            reason: PoisonReason::NotJson,
            detail: "expected value at line 1 column 1",
            event_id: "shardId-000000000003:49568167373333333333333333333333333333333333333333333333",
            sequence_number: "49568167373333333333333333333333333333333333333333333333",
            partition_key: "1790124601021706634",
            approximate_arrival: 1_480_641_523.477,
            event_source_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/tweets",
            data,
        }
    }

    fn parse(bodies: &[String]) -> Vec<DeadLetterMessage> {
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).expect("json"))
            .collect()
    }

    #[test]
    fn small_record_is_one_base64_message_with_its_origin() {
        let bodies = messages(&letter(b"not json \xff"));
        assert_eq!(bodies.len(), 1);
        let m = &parse(&bodies)[0];
        assert_eq!(m.reason, "not-json");
        assert_eq!(m.shard_id, "shardId-000000000003");
        assert_eq!(
            m.sequence_number,
            "49568167373333333333333333333333333333333333333333333333"
        );
        assert_eq!(m.partition_key, "1790124601021706634");
        assert_eq!(m.encoding, ENCODING_BASE64);
        assert_eq!((m.part, m.parts), (1, 1));
        assert_eq!(
            reassemble(&parse(&bodies)).expect("reassemble"),
            b"not json \xff"
        );
    }

    #[test]
    fn large_compressible_record_is_deflated_into_one_message() {
        let data = vec![b'a'; 900 * 1024];
        let bodies = messages(&letter(&data));
        assert_eq!(bodies.len(), 1);
        assert!(bodies[0].len() <= MAX_SQS_MESSAGE_BYTES);
        let parsed = parse(&bodies);
        assert_eq!(parsed[0].encoding, ENCODING_DEFLATE_BASE64);
        assert_eq!(reassemble(&parsed).expect("reassemble"), data);
    }

    #[test]
    fn megabyte_of_noise_is_split_and_every_part_fits() {
        let mut x: u64 = 1;
        let data: Vec<u8> = (0..1024 * 1024)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        let bodies = messages(&letter(&data));
        assert!(bodies.len() >= 5, "{}", bodies.len());
        assert!(bodies.iter().all(|b| b.len() <= MAX_SQS_MESSAGE_BYTES));
        let mut parsed = parse(&bodies);
        parsed.reverse();
        assert_eq!(reassemble(&parsed).expect("reassemble"), data);
        parsed.pop();
        assert!(reassemble(&parsed).is_err());
    }

    #[test]
    fn detail_is_made_sqs_safe() {
        let mut l = letter(b"x");
        l.detail = "bad \u{0}\u{FFFF} char";
        let m = &parse(&messages(&l))[0];
        assert_eq!(m.detail, "bad \u{FFFD}\u{FFFD} char");
    }
}
