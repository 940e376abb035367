//! The record format: what the consumer decodes, and what the producer encodes.

use twitter_record::{Header, Record};

/// A Kinesis record's bytes, decoded; a record that decodes encodes back to one that decodes
/// to the same fields.
pub fn record(data: &[u8]) {
    let record = match twitter_record::decode(data) {
        Ok(record) => record,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert!(!record.id.is_empty(), "a record without an id decoded");
    assert_eq!(record.v, twitter_record::CURRENT_VERSION);
    let keywords: Vec<&str> = record.keywords.iter().map(AsRef::as_ref).collect();
    let header = Header {
        source: record.source,
        id: &record.id,
        keywords: &keywords,
        received_at: record.received_at,
    };
    let encoded = twitter_record::encode(&header, record.post.get());
    round_trip(&encoded, &header, record.post.get());
}

/// `data`, encoded from `header` and `post`, decodes to exactly them (the post without the
/// JSON whitespace around it, which a record does not keep).
pub(crate) fn round_trip(data: &[u8], header: &Header<'_>, post: &str) {
    let post = post.trim_matches([' ', '\t', '\n', '\r']);
    let back: Record<'_> = twitter_record::decode(data)
        .unwrap_or_else(|e| panic!("an encoded record does not decode: {e}"));
    assert_eq!(back.source, header.source);
    assert_eq!(back.id, header.id);
    assert_eq!(back.keywords, header.keywords);
    assert_eq!(back.received_at, header.received_at);
    assert_eq!(back.post.get(), post, "the post changed on its way through");
}
