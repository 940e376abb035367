//! The record the producer writes to Kinesis and the consumer reads back.
//!
//! One Kinesis record carries one post, as a JSON object:
//!
//! ```json
//! {"v":1,"source":"x","id":"1790124601021706634","keywords":["rust"],
//!  "received_at":"2026-11-23T16:40:00.123456789Z","post":{ ...the line exactly as X sent it... }}
//! ```
//!
//! `post` holds the original stream line byte for byte, so nothing the source sent is lost and
//! fields this code does not know yet stay available to whoever reads the table later.
//! `v` is the format version. A reader accepts every version it knows; a new version is added
//! beside the old ones (never in place of them), so records already in a stream or a table stay
//! readable after an upgrade.
//!
//! A Bluesky record has the same shape: `source` is `"bluesky"`, `id` the post's AT URI
//! (`at://<did>/app.bsky.feed.post/<rkey>`), and `post` the Jetstream message exactly as received.
//! A new [`Source`] value is not a new format version (no field changed), but a reader built before
//! the value existed cannot decode such a record: deploy the consumer before a producer that writes
//! `bluesky` records, or the old consumer sends them to its dead-letter queue.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

pub mod jetstream;

/// The version this crate writes.
pub const CURRENT_VERSION: u32 = 1;

/// Where a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The X API v2 filtered stream.
    X,
    /// Bluesky's Jetstream (the public firehose, JSON over WebSocket).
    Bluesky,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::X => "x",
            Source::Bluesky => "bluesky",
        }
    }
}

/// A decoded record. Borrows from the bytes it was decoded from, so decoding copies nothing
/// but the keyword list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record<'a> {
    pub v: u32,
    pub source: Source,
    /// The post id: the partition key in Kinesis and the item key in DynamoDB. For Bluesky, the
    /// post's AT URI.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Every keyword whose rule the post matched (at least one for a filtered stream).
    #[serde(borrow)]
    pub keywords: Vec<Cow<'a, str>>,
    /// When the producer read the post off the stream.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The stream line exactly as the source sent it.
    #[serde(borrow)]
    pub post: &'a RawValue,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record is not a JSON object of the expected shape: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(
        "record format version {0} is not supported (this build reads version {CURRENT_VERSION})"
    )]
    UnsupportedVersion(u32),
    #[error("record has an empty post id")]
    EmptyId,
}

/// The fields the producer knows about a post before it writes the record.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub source: Source,
    pub id: &'a str,
    pub keywords: &'a [&'a str],
    pub received_at: OffsetDateTime,
}

/// Appends the encoded record to `out`.
///
/// `post_json` must be one complete JSON value: the producer only calls this with a line it has
/// already parsed successfully, and copying it in as it is (rather than parsing it a second time
/// into a `RawValue`) is what keeps the producer's cost per post low.
pub fn encode_into(header: &Header<'_>, post_json: &str, out: &mut Vec<u8>) {
    debug_assert!(serde_json::from_str::<&RawValue>(post_json).is_ok());
    #[derive(Serialize)]
    struct Prefix<'a> {
        v: u32,
        source: Source,
        id: &'a str,
        keywords: &'a [&'a str],
        #[serde(with = "time::serde::rfc3339")]
        received_at: OffsetDateTime,
    }
    let prefix = Prefix {
        v: CURRENT_VERSION,
        source: header.source,
        id: header.id,
        keywords: header.keywords,
        received_at: header.received_at,
    };
    // Serializing a struct of strings, numbers and a date into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &prefix).is_ok() {
        out.pop(); // the closing brace: the post follows inside the same object
        out.extend_from_slice(b",\"post\":");
        out.extend_from_slice(post_json.as_bytes());
        out.push(b'}');
    }
}

/// Encodes one record into a fresh buffer.
pub fn encode(header: &Header<'_>, post_json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(post_json.len() + 160);
    encode_into(header, post_json, &mut out);
    out
}

/// Decodes a record of any supported version.
pub fn decode(bytes: &[u8]) -> Result<Record<'_>, RecordError> {
    let record: Record<'_> = serde_json::from_slice(bytes)?;
    if record.v != CURRENT_VERSION {
        return Err(RecordError::UnsupportedVersion(record.v));
    }
    if record.id.is_empty() {
        return Err(RecordError::EmptyId);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const LINE: &str = r#"{"data":{"id":"42","text":"caf\u00e9 \"quoted\" 🚀","extra":{"kept":[1,2.50,null]}},"matching_rules":[{"id":7,"tag":"rust"}]}"#;

    fn header<'a>(keywords: &'a [&'a str]) -> Header<'a> {
        Header {
            source: Source::X,
            id: "42",
            keywords,
            received_at: datetime!(2026-11-23 16:40:00.123 UTC),
        }
    }

    #[test]
    fn round_trip_keeps_the_post_byte_for_byte() {
        let bytes = encode(&header(&["rust", "tokio stream"]), LINE);
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.v, CURRENT_VERSION);
        assert_eq!(record.source, Source::X);
        assert_eq!(record.id, "42");
        assert_eq!(record.keywords, ["rust", "tokio stream"]);
        assert_eq!(record.received_at, datetime!(2026-11-23 16:40:00.123 UTC));
        assert_eq!(record.post.get(), LINE);
    }

    #[test]
    fn encoded_record_is_plain_json_with_documented_fields() {
        let bytes = encode(&header(&["rust"]), LINE);
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(value["v"], 1);
        assert_eq!(value["source"], "x");
        assert_eq!(value["received_at"], "2026-11-23T16:40:00.123Z");
        assert_eq!(value["post"]["data"]["extra"]["kept"][1], 2.5);
    }

    #[test]
    fn a_bluesky_record_round_trips_with_its_source_and_at_uri() {
        let message = r#"{"did":"did:plc:abc","time_us":1783175888090631,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3mmo","record":{"text":"caf\u00e9 🚀"}}}"#;
        let id = "at://did:plc:abc/app.bsky.feed.post/3mmo";
        let bytes = encode(
            &Header {
                source: Source::Bluesky,
                id,
                keywords: &["rust"],
                received_at: datetime!(2026-11-23 16:40:00 UTC),
            },
            message,
        );
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(value["source"], "bluesky");
        assert_eq!(value["v"], CURRENT_VERSION);
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.source, Source::Bluesky);
        assert_eq!(record.source.as_str(), "bluesky");
        assert_eq!(record.id, id);
        assert_eq!(record.post.get(), message);
    }

    #[test]
    fn an_unknown_source_is_malformed() {
        let bytes = br#"{"v":1,"source":"mastodon","id":"1","keywords":[],"received_at":"2026-11-23T16:40:00Z","post":{}}"#;
        assert!(matches!(decode(bytes), Err(RecordError::Malformed(_))));
    }

    #[test]
    fn unknown_version_is_rejected_by_name() {
        let bytes = encode(&header(&["rust"]), LINE);
        let text = String::from_utf8(bytes)
            .expect("utf8")
            .replacen("\"v\":1", "\"v\":9", 1);
        let err = decode(text.as_bytes()).expect_err("must reject");
        assert!(matches!(err, RecordError::UnsupportedVersion(9)), "{err}");
    }

    #[test]
    fn garbage_and_missing_fields_are_malformed() {
        assert!(matches!(
            decode(b"not json"),
            Err(RecordError::Malformed(_))
        ));
        assert!(matches!(
            decode(br#"{"v":1,"source":"x","keywords":[],"received_at":"2026-11-23T16:40:00Z","post":{}}"#),
            Err(RecordError::Malformed(_))
        ));
        assert!(matches!(
            decode(br#"{"v":1,"source":"x","id":"","keywords":[],"received_at":"2026-11-23T16:40:00Z","post":{}}"#),
            Err(RecordError::EmptyId)
        ));
    }
}
