//! The consumer's item builder: a Kinesis record into one EventData item per keyword.

use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::macros::datetime;
use twitter_consumer::item::{BuiltItem, ItemOptions, PoisonReason, build_items};
use twitter_consumer::post::MAX_LISTED_VALUES;
use twitter_record::{Header, Record, Source};
use twitter_table::size::MAX_ITEM_BYTES;
use twitter_table::{checked_utc_millis, payload, schema};

/// Receive times a record's writer may have put in it: an ordinary one, the edges of the
/// four-digit years, and instants the table's format cannot hold.
const RECEIVED_AT: [OffsetDateTime; 4] = [
    datetime!(2026-01-02 03:04:05.678901 UTC),
    datetime!(9999-12-31 23:59:59 -01:00),
    datetime!(0000-01-01 00:00:00 +01:00),
    datetime!(9999-12-31 23:59:59.999999999 UTC),
];

/// Keywords as a writer may list them: repeated, padded, empty.
const KEYWORDS: [&str; 5] = ["rust", " rust ", "tokio", "", "#Tokio"];

/// Any bytes, as a Kinesis record.
pub fn record_items(data: &[u8]) {
    let built = build_items(data, ItemOptions::default());
    match twitter_record::decode(data) {
        Ok(record) => check_built(&record, &built),
        Err(_) => assert!(built.is_err(), "a record that does not decode became items"),
    }
}

/// A post inside a valid record envelope. The first byte chooses the source (bit 0), the
/// receive time (bits 1-2) and a retention (bit 3); the rest is the post line.
pub fn post_items(data: &[u8]) {
    let Some((&first, line)) = data.split_first() else {
        return;
    };
    let Some(line) = crate::text(line) else {
        return;
    };
    // The producer writes only a line it parsed.
    if serde_json::from_str::<&RawValue>(line).is_err() {
        return;
    }
    let source = if first & 1 == 0 {
        Source::X
    } else {
        Source::Bluesky
    };
    let received_at = RECEIVED_AT[usize::from((first >> 1) & 3)];
    let options = ItemOptions {
        retention_days: (first & 8 != 0).then_some(u32::MAX),
    };
    let id = match source {
        Source::X => "1790124601021706634",
        Source::Bluesky => "at://did:plc:abc/app.bsky.feed.post/3k",
    };
    let header = Header {
        source,
        id,
        keywords: &KEYWORDS,
        received_at,
    };
    let data = twitter_record::encode(&header, line);
    let record = twitter_record::decode(&data).expect("an encoded record decodes");
    let built = build_items(&data, options);
    check_built(&record, &built);
    let holdable = checked_utc_millis(received_at).is_some();
    if !holdable {
        let poison = built
            .as_ref()
            .expect_err("a receive time the table cannot hold");
        // A line that is no post says so first; any other is refused for its receive time.
        assert!(
            matches!(
                poison.reason,
                PoisonReason::NotRecordFormat | PoisonReason::NotAPost
            ),
            "{poison:?}"
        );
        return;
    }
    if is_a_post(source, line) {
        let kept = match &built {
            Ok(_) => true,
            Err(poison) => poison.reason == PoisonReason::TooLarge,
        };
        assert!(kept, "a post was lost: {:?}", built.err());
    }
}

/// Whether the line is what the source calls a post, read here without the consumer's reader.
fn is_a_post(source: Source, line: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return false;
    };
    match source {
        Source::X => value.get("data").is_some_and(Value::is_object),
        Source::Bluesky => {
            let commit = &value["commit"];
            value["kind"] == "commit"
                && commit["operation"] == "create"
                && commit["collection"] == twitter_record::jetstream::POST_COLLECTION
                && commit["record"].is_object()
        }
    }
}

/// What the items of a decoded record must be: one per keyword (trimmed, each once, `(none)`
/// for none), each carrying the post whole in its payload and times the table can order.
pub(crate) fn check_built(
    record: &Record<'_>,
    built: &Result<Vec<BuiltItem>, twitter_consumer::item::Poison>,
) {
    let items = match built {
        Ok(items) => items,
        Err(poison) => {
            assert!(
                !matches!(
                    poison.reason,
                    PoisonReason::NotJson | PoisonReason::MissingId
                ),
                "a record that decodes is {:?}: {}",
                poison.reason,
                poison.detail
            );
            return;
        }
    };
    let mut keywords: Vec<&str> = Vec::new();
    for keyword in &record.keywords {
        let keyword = keyword.trim();
        if !keyword.is_empty() && !keywords.contains(&keyword) {
            keywords.push(keyword);
        }
    }
    if keywords.is_empty() {
        keywords.push(schema::NO_KEYWORD);
    }
    let made: Vec<&str> = items.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(made, keywords, "one item per keyword");
    let post = record.post.get().as_bytes();
    for item in items {
        assert_eq!(item.id, record.id);
        assert!(item.size <= MAX_ITEM_BYTES, "an item over the limit");
        let string = |name: &str| {
            item.attributes
                .get(name)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
        };
        assert_eq!(string(schema::ID), Some(record.id.as_ref()));
        assert_eq!(string(schema::KEYWORD), Some(item.keyword.as_str()));
        assert_eq!(
            string(schema::RECEIVED_AT).map(str::to_owned),
            checked_utc_millis(record.received_at),
            "ReceivedAt is the receive time in the stored form"
        );
        let timestamp = string(schema::TIMESTAMP).expect("every item has a Timestamp");
        assert!(
            twitter_query::time_format::parse_stored(timestamp)
                .is_some_and(|t| { checked_utc_millis(t).as_deref() == Some(timestamp) }),
            "Timestamp {timestamp:?} is not in the stored form"
        );
        let stored = item
            .attributes
            .get(schema::PAYLOAD)
            .and_then(|v| v.as_b().ok())
            .expect("every item has a Payload");
        assert_eq!(
            payload::decompress(stored.as_ref()).expect("the payload decompresses"),
            post,
            "the payload is not the post as sent"
        );
        for list in [schema::HASHTAGS, schema::MENTIONS] {
            if let Some(value) = item.attributes.get(list) {
                let n = value
                    .as_ss()
                    .map(Vec::len)
                    .or_else(|_| value.as_l().map(Vec::len))
                    .unwrap_or(0);
                assert!(n <= MAX_LISTED_VALUES, "{list} lists {n} values");
            }
        }
    }
}
