//! Building the EventData items for one Kinesis record, and what they cost.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use twitter_record::{Record, RecordError, Source};

use crate::bluesky;
use crate::error::ConsumerError;
use crate::limits::{INDEX_ENTRY_OVERHEAD_BYTES, MAX_ITEM_BYTES, WRITE_UNIT_BYTES};
use crate::payload;
use crate::post::{self, NotAPost};
use crate::schema;

/// One EventData item. Field names serialize to the names in [`crate::schema`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventItem {
    pub id: String,
    pub keyword: String,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashtags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweet_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impression_count: Option<u64>,
    pub received_at: String,
    /// See [`crate::payload`].
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// Why a record can never become an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoisonReason {
    /// The bytes are not JSON at all.
    NotJson,
    /// JSON, but not the producer's record format (wrong shape, unknown version).
    NotRecordFormat,
    /// A record without a post id.
    MissingId,
    /// The post is not a post (X: no `data` object; Bluesky: not a post creation).
    NotAPost,
    /// The item would be larger than DynamoDB's 400 KB.
    TooLarge,
    /// DynamoDB refused the item itself (ValidationException on a single put).
    RejectedByTable,
}

impl PoisonReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PoisonReason::NotJson => "not-json",
            PoisonReason::NotRecordFormat => "not-record-format",
            PoisonReason::MissingId => "missing-id",
            PoisonReason::NotAPost => "not-a-post",
            PoisonReason::TooLarge => "too-large",
            PoisonReason::RejectedByTable => "rejected-by-table",
        }
    }
}

/// A record that can never be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub reason: PoisonReason,
    pub detail: String,
}

impl Poison {
    fn new(reason: PoisonReason, detail: impl Into<String>) -> Self {
        Poison {
            reason,
            detail: detail.into(),
        }
    }
}

/// Item settings that come from the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemOptions {
    pub retention_days: Option<u32>,
}

/// An item ready to write, with what it costs.
#[derive(Debug, Clone)]
pub struct BuiltItem {
    pub id: String,
    pub keyword: String,
    pub attributes: HashMap<String, AttributeValue>,
    /// DynamoDB's size of the base table item.
    pub size: usize,
    /// DynamoDB's size of the item's entry in the keyword index.
    pub index_size: usize,
}

impl BuiltItem {
    /// Write units of one put: the base item plus its index entry.
    pub fn write_units(&self) -> u64 {
        write_units(self.size) + write_units(self.index_size)
    }
}

/// Write units DynamoDB charges for writing an item (or index entry) of `size` bytes.
pub fn write_units(size: usize) -> u64 {
    size.div_ceil(WRITE_UNIT_BYTES).max(1) as u64
}

/// Decodes one record and builds one item per matched keyword.
pub fn build_items(data: &[u8], options: ItemOptions) -> Result<Vec<BuiltItem>, Poison> {
    let record = twitter_record::decode(data).map_err(|e| classify(data, &e))?;
    let (template, keywords) = event_template(&record, options)?;
    // The items of one post differ only in `Keyword`: serialize the post once and give each
    // keyword a copy of the attributes (the last one takes them).
    let attributes = to_attributes(&template)
        .map_err(|e| Poison::new(PoisonReason::NotRecordFormat, e.to_string()))?;
    let mut built = Vec::with_capacity(keywords.len());
    let (last, rest) = keywords.split_last().unwrap_or((&schema::NO_KEYWORD, &[]));
    for keyword in rest {
        built.push(built_item(&template.id, keyword, attributes.clone())?);
    }
    built.push(built_item(&template.id, last, attributes)?);
    Ok(built)
}

fn built_item(
    id: &str,
    keyword: &str,
    mut attributes: HashMap<String, AttributeValue>,
) -> Result<BuiltItem, Poison> {
    let value = serde_dynamo::to_attribute_value(keyword)
        .map_err(|e| Poison::new(PoisonReason::NotRecordFormat, e.to_string()))?;
    attributes.insert(schema::KEYWORD.to_owned(), value);
    let size = item_size(&attributes);
    if size > MAX_ITEM_BYTES {
        return Err(Poison::new(
            PoisonReason::TooLarge,
            format!("item for post {id} is {size} bytes, the limit is {MAX_ITEM_BYTES}"),
        ));
    }
    Ok(BuiltItem {
        index_size: index_entry_size(&attributes),
        id: id.to_owned(),
        keyword: keyword.to_owned(),
        attributes,
        size,
    })
}

pub fn to_attributes(item: &EventItem) -> Result<HashMap<String, AttributeValue>, ConsumerError> {
    serde_dynamo::to_item(item).map_err(|source| ConsumerError::Item {
        id: item.id.clone(),
        source,
    })
}

/// The decoder's error says what failed; the dead-letter queue wants to know which of the
/// documented kinds it is. Only runs for records that already failed, so a second parse is fine
/// (and needed: serde reports some shape errors as syntax errors).
fn classify(data: &[u8], error: &RecordError) -> Poison {
    let reason = match error {
        RecordError::EmptyId => PoisonReason::MissingId,
        RecordError::UnsupportedVersion(_) => PoisonReason::NotRecordFormat,
        RecordError::Malformed(_) => match serde_json::from_slice::<serde_json::Value>(data) {
            Err(_) => PoisonReason::NotJson,
            Ok(serde_json::Value::Object(map)) if map.contains_key("post") => {
                let has_id = map
                    .get("id")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                if has_id {
                    PoisonReason::NotRecordFormat
                } else {
                    PoisonReason::MissingId
                }
            }
            Ok(_) => PoisonReason::NotRecordFormat,
        },
    };
    Poison::new(reason, error.to_string())
}

/// The items of one decoded record, one per keyword (at least one).
pub fn event_items(record: &Record<'_>, options: ItemOptions) -> Result<Vec<EventItem>, Poison> {
    let (template, keywords) = event_template(record, options)?;
    // Every item but the last gets a copy of the template; the last takes it.
    let (last, rest) = keywords.split_last().unwrap_or((&schema::NO_KEYWORD, &[]));
    let mut items: Vec<EventItem> = rest
        .iter()
        .map(|keyword| EventItem {
            keyword: (*keyword).to_owned(),
            ..template.clone()
        })
        .collect();
    items.push(EventItem {
        keyword: (*last).to_owned(),
        ..template
    });
    Ok(items)
}

/// The item of one decoded record without its keyword (empty), and the keywords it is stored
/// under: trimmed, each once, `(none)` when there is none.
fn event_template<'r>(
    record: &'r Record<'_>,
    options: ItemOptions,
) -> Result<(EventItem, Vec<&'r str>), Poison> {
    let line = record.post.get();
    let fields = match record.source {
        Source::X => post::read(line),
        Source::Bluesky => bluesky::read(line),
    }
    .map_err(|e| match e {
        NotAPost::NoData => Poison::new(PoisonReason::NotAPost, "the post line has no data object"),
        NotAPost::NotAPostCreation(reason) => Poison::new(PoisonReason::NotAPost, reason),
    })?;
    let received_at = utc_millis(record.received_at);
    let created_at = fields
        .created_at
        .as_deref()
        .and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok());
    let firehose_time = fields
        .time_us
        .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1000).ok());
    let timestamp = post_time(created_at, firehose_time)
        .map(utc_millis)
        // Without a creation time the post still needs an index sort key: the receive time is the
        // closest known.
        .unwrap_or_else(|| received_at.clone());
    let payload = payload::compress(line.as_bytes())
        .map_err(|e| Poison::new(PoisonReason::NotRecordFormat, e.to_string()))?;
    let expires_at = options
        .retention_days
        .map(|days| record.received_at.unix_timestamp() + i64::from(days) * 86_400);
    let owned = |v: Option<std::borrow::Cow<'_, str>>| v.map(std::borrow::Cow::into_owned);
    let template = EventItem {
        id: record.id.clone().into_owned(),
        keyword: String::new(),
        timestamp,
        username: owned(fields.username),
        message: owned(fields.text),
        author_id: owned(fields.author_id),
        name: owned(fields.name),
        lang: owned(fields.lang),
        country: owned(fields.country),
        country_code: owned(fields.country_code),
        hashtags: fields
            .hashtags
            .into_iter()
            .map(std::borrow::Cow::into_owned)
            .collect(),
        mentions: fields
            .mentions
            .into_iter()
            .map(std::borrow::Cow::into_owned)
            .collect(),
        retweet_count: fields.metrics.retweet_count,
        reply_count: fields.metrics.reply_count,
        like_count: fields.metrics.like_count,
        quote_count: fields.metrics.quote_count,
        bookmark_count: fields.metrics.bookmark_count,
        impression_count: fields.metrics.impression_count,
        received_at,
        payload,
        expires_at,
    };
    let mut keywords: Vec<&str> = Vec::with_capacity(record.keywords.len());
    for k in &record.keywords {
        let k = k.trim();
        if !k.is_empty() && !keywords.contains(&k) {
            keywords.push(k);
        }
    }
    if keywords.is_empty() {
        keywords.push(schema::NO_KEYWORD);
    }
    Ok((template, keywords))
}

/// How far a Bluesky post's `createdAt` may run ahead of Jetstream's `time_us` and still be
/// believed: clocks drift a little, and a client may post a moment after composing.
pub const CREATED_AT_FUTURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// When a post was made. A Bluesky client writes any `createdAt` it likes: one later than the
/// firehose saw the post (plus [`CREATED_AT_FUTURE_TOLERANCE`]) is not a time it happened, and
/// would sit in the future of the time index, so the firehose's time stands instead. A backdated
/// `createdAt` stays: that is what the author said. Without `createdAt` the firehose's time is
/// the next best; an X post has no firehose time and keeps its own.
fn post_time(
    created_at: Option<OffsetDateTime>,
    firehose_time: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    match (created_at, firehose_time) {
        (Some(created), Some(seen)) if created > seen + CREATED_AT_FUTURE_TOLERANCE => Some(seen),
        (Some(created), _) => Some(created),
        (None, seen) => seen,
    }
}

/// ISO 8601 UTC with exactly three fraction digits, so that lexical order is time order.
pub fn utc_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// DynamoDB's size of an item: attribute names plus values, by its documented rules.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// The size of the item's entry in the keyword index: its keys, the base table's keys, the
/// projected attributes, and the index's per-entry overhead.
pub fn index_entry_size(item: &HashMap<String, AttributeValue>) -> usize {
    let keys = [schema::ID, schema::KEYWORD, schema::TIMESTAMP];
    let projected = keys.iter().chain(schema::BY_KEYWORD_PROJECTION.iter());
    INDEX_ENTRY_OVERHEAD_BYTES
        + projected
            .filter_map(|name| item.get(*name).map(|v| name.len() + value_size(v)))
            .sum::<usize>()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// "Approximately (1 byte per two significant digits) + 1 byte".
fn number_size(n: &str) -> usize {
    let mut digits = n.bytes().filter(u8::is_ascii_digit);
    // Significant digits: from the first non-zero digit to the last non-zero one.
    let Some(_first) = digits.by_ref().find(|d| *d != b'0') else {
        return 1;
    };
    let (mut significant, mut since_last_nonzero) = (1usize, 0usize);
    for d in digits {
        since_last_nonzero += 1;
        if d != b'0' {
            significant += since_last_nonzero;
            since_last_nonzero = 0;
        }
    }
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use twitter_record::{Header, Source};

    const LINE: &str = r#"{"data":{"id":"1790124601021706634","text":"hello #rust @ferris","author_id":"7","created_at":"2024-05-13T20:58:58.000Z","lang":"en","entities":{"hashtags":[{"tag":"rust"}],"mentions":[{"username":"ferris"}]},"public_metrics":{"retweet_count":0,"reply_count":1,"like_count":2,"quote_count":0},"geo":{"place_id":"p"}},"includes":{"users":[{"id":"7","username":"carol","name":"Carol"}],"places":[{"id":"p","country":"Japan","country_code":"JP"}]},"matching_rules":[{"id":"1","tag":"rust"},{"id":"2","tag":"ferris"}]}"#;

    fn record(keywords: &[&str]) -> Vec<u8> {
        twitter_record::encode(
            &Header {
                source: Source::X,
                id: "1790124601021706634",
                keywords,
                received_at: datetime!(2024-05-13 20:59:00.123456 UTC),
            },
            LINE,
        )
    }

    #[test]
    fn one_item_per_keyword_with_every_attribute() {
        let items =
            build_items(&record(&["rust", "ferris"]), ItemOptions::default()).expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].keyword, "rust");
        assert_eq!(items[1].keyword, "ferris");
        let a = &items[0].attributes;
        let s = |name: &str| a.get(name).and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(s(schema::ID).as_deref(), Some("1790124601021706634"));
        assert_eq!(s(schema::KEYWORD).as_deref(), Some("rust"));
        assert_eq!(s(schema::USERNAME).as_deref(), Some("carol"));
        assert_eq!(s(schema::NAME).as_deref(), Some("Carol"));
        assert_eq!(
            s(schema::TIMESTAMP).as_deref(),
            Some("2024-05-13T20:58:58.000Z")
        );
        assert_eq!(s(schema::MESSAGE).as_deref(), Some("hello #rust @ferris"));
        assert_eq!(s(schema::AUTHOR_ID).as_deref(), Some("7"));
        assert_eq!(s(schema::LANG).as_deref(), Some("en"));
        assert_eq!(s(schema::COUNTRY).as_deref(), Some("Japan"));
        assert_eq!(s(schema::COUNTRY_CODE).as_deref(), Some("JP"));
        assert_eq!(
            s(schema::RECEIVED_AT).as_deref(),
            Some("2024-05-13T20:59:00.123Z")
        );
        assert_eq!(
            a.get(schema::LIKE_COUNT)
                .and_then(|v| v.as_n().ok())
                .map(String::as_str),
            Some("2")
        );
        assert!(a.get(schema::BOOKMARK_COUNT).is_none());
        assert_eq!(
            a.get(schema::HASHTAGS),
            Some(&AttributeValue::L(vec![AttributeValue::S("rust".into())]))
        );
        assert!(a.get(schema::EXPIRES_AT).is_none());
        let payload = a
            .get(schema::PAYLOAD)
            .and_then(|v| v.as_b().ok())
            .expect("binary payload");
        assert_eq!(
            payload::decompress(payload.as_ref()).expect("payload"),
            LINE.as_bytes()
        );
    }

    #[test]
    fn serialized_names_are_the_schema_names() {
        let items = build_items(
            &record(&["rust"]),
            ItemOptions {
                retention_days: Some(1),
            },
        )
        .expect("items");
        let mut names: Vec<&str> = items[0].attributes.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = vec![
            schema::ID,
            schema::KEYWORD,
            schema::TIMESTAMP,
            schema::USERNAME,
            schema::MESSAGE,
            schema::AUTHOR_ID,
            schema::NAME,
            schema::LANG,
            schema::COUNTRY,
            schema::COUNTRY_CODE,
            schema::HASHTAGS,
            schema::MENTIONS,
            schema::RETWEET_COUNT,
            schema::REPLY_COUNT,
            schema::LIKE_COUNT,
            schema::QUOTE_COUNT,
            schema::RECEIVED_AT,
            schema::PAYLOAD,
            schema::EXPIRES_AT,
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn retention_sets_expiry_from_receive_time() {
        let items = build_items(
            &record(&["rust"]),
            ItemOptions {
                retention_days: Some(30),
            },
        )
        .expect("items");
        let received = datetime!(2024-05-13 20:59:00 UTC).unix_timestamp();
        let expires = items[0]
            .attributes
            .get(schema::EXPIRES_AT)
            .and_then(|v| v.as_n().ok())
            .cloned();
        assert_eq!(expires, Some((received + 30 * 86_400).to_string()));
    }

    #[test]
    fn item_round_trips_through_serde_dynamo() {
        let items = build_items(&record(&["rust"]), ItemOptions::default()).expect("items");
        let back: EventItem =
            serde_dynamo::from_item(items[0].attributes.clone()).expect("from_item");
        assert_eq!(back.username.as_deref(), Some("carol"));
        assert_eq!(back.mentions, ["ferris"]);
        assert_eq!(to_attributes(&back).expect("attrs"), items[0].attributes);
    }

    #[test]
    fn duplicate_and_blank_keywords_collapse_and_none_falls_back() {
        let items =
            build_items(&record(&["rust", " rust ", ""]), ItemOptions::default()).expect("items");
        assert_eq!(items.len(), 1);
        let items = build_items(&record(&[]), ItemOptions::default()).expect("items");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].keyword, schema::NO_KEYWORD);
    }

    #[test]
    fn poison_kinds_are_classified() {
        let kind = |data: &[u8]| {
            build_items(data, ItemOptions::default())
                .map(|_| ())
                .map_err(|p| p.reason)
        };
        assert_eq!(kind(b"\x00\xffnot json"), Err(PoisonReason::NotJson));
        assert_eq!(kind(b"{\"v\":1,"), Err(PoisonReason::NotJson));
        assert_eq!(kind(b"[1,2,3]"), Err(PoisonReason::NotRecordFormat));
        assert_eq!(
            kind(br#"{"v":2,"source":"x","id":"1","keywords":[],"received_at":"2024-05-13T20:59:00Z","post":{}}"#),
            Err(PoisonReason::NotRecordFormat)
        );
        assert_eq!(
            kind(br#"{"v":1,"source":"x","keywords":[],"received_at":"2024-05-13T20:59:00Z","post":{}}"#),
            Err(PoisonReason::MissingId)
        );
        assert_eq!(
            kind(br#"{"v":1,"source":"x","id":"","keywords":[],"received_at":"2024-05-13T20:59:00Z","post":{}}"#),
            Err(PoisonReason::MissingId)
        );
        assert_eq!(
            kind(br#"{"v":1,"source":"x","id":"1","keywords":["k"],"received_at":"2024-05-13T20:59:00Z","post":{"errors":[]}}"#),
            Err(PoisonReason::NotAPost)
        );
    }

    const BLUESKY_POST: &str = r#"{"did":"did:plc:q235v55g5unth4zjjdpacfdr","time_us":1779719009157119,"kind":"commit","commit":{"rev":"3mmoojpaqkn2z","operation":"create","collection":"app.bsky.feed.post","rkey":"3mmoojp4cd223","record":{"$type":"app.bsky.feed.post","createdAt":"2026-05-25T16:23:28.757+02:00","langs":["ja","en"],"facets":[{"index":{"byteStart":0,"byteEnd":5},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"Rust"}]}],"text":"Latency #Rust crab"},"cid":"bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzfys72r5grvskxoswy4"}}"#;
    const BLUESKY_ID: &str =
        "at://did:plc:q235v55g5unth4zjjdpacfdr/app.bsky.feed.post/3mmoojp4cd223";

    fn bluesky_record(message: &str, keywords: &[&str]) -> Vec<u8> {
        twitter_record::encode(
            &Header {
                source: Source::Bluesky,
                id: BLUESKY_ID,
                keywords,
                received_at: datetime!(2026-05-25 14:23:29.5 UTC),
            },
            message,
        )
    }

    #[test]
    fn a_bluesky_post_becomes_items_under_its_at_uri() {
        let items = build_items(
            &bluesky_record(BLUESKY_POST, &["crab", "#rust"]),
            ItemOptions::default(),
        )
        .expect("items");
        assert_eq!(items.len(), 2);
        let a = &items[1].attributes;
        let s = |name: &str| a.get(name).and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(s(schema::ID).as_deref(), Some(BLUESKY_ID));
        assert_eq!(s(schema::KEYWORD).as_deref(), Some("#rust"));
        assert_eq!(
            s(schema::USERNAME).as_deref(),
            Some("did:plc:q235v55g5unth4zjjdpacfdr"),
            "the handle is unknown: the DID"
        );
        assert_eq!(
            s(schema::AUTHOR_ID).as_deref(),
            Some("did:plc:q235v55g5unth4zjjdpacfdr")
        );
        assert_eq!(s(schema::MESSAGE).as_deref(), Some("Latency #Rust crab"));
        assert_eq!(s(schema::LANG).as_deref(), Some("ja"));
        assert_eq!(
            s(schema::TIMESTAMP).as_deref(),
            Some("2026-05-25T14:23:28.757Z"),
            "createdAt normalised to UTC"
        );
        assert_eq!(
            a.get(schema::HASHTAGS),
            Some(&AttributeValue::L(vec![AttributeValue::S("Rust".into())]))
        );
        for absent in [
            schema::NAME,
            schema::COUNTRY,
            schema::LIKE_COUNT,
            schema::RETWEET_COUNT,
            schema::MENTIONS,
        ] {
            assert!(a.get(absent).is_none(), "{absent}");
        }
        let payload = a
            .get(schema::PAYLOAD)
            .and_then(|v| v.as_b().ok())
            .expect("payload");
        assert_eq!(
            payload::decompress(payload.as_ref()).expect("payload"),
            BLUESKY_POST.as_bytes()
        );
    }

    #[test]
    fn an_unreadable_created_at_falls_back_to_the_firehose_time() {
        let message = BLUESKY_POST.replace("2026-05-25T16:23:28.757+02:00", "yesterday-ish");
        let items = build_items(&bluesky_record(&message, &["crab"]), ItemOptions::default())
            .expect("items");
        let timestamp = items[0]
            .attributes
            .get(schema::TIMESTAMP)
            .and_then(|v| v.as_s().ok())
            .cloned();
        // time_us 1779719009157119 µs.
        assert_eq!(timestamp.as_deref(), Some("2026-05-25T14:23:29.157Z"));
    }

    #[test]
    fn a_future_created_at_gives_way_to_the_firehose_time_and_a_backdated_one_stays() {
        let timestamp = |created_at: &str| {
            let message = BLUESKY_POST.replace("2026-05-25T16:23:28.757+02:00", created_at);
            let items = build_items(&bluesky_record(&message, &["crab"]), ItemOptions::default())
                .expect("items");
            items[0]
                .attributes
                .get(schema::TIMESTAMP)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .expect("timestamp")
        };
        // time_us is 2026-05-25T14:23:29.157Z.
        assert_eq!(
            timestamp("2099-01-01T00:00:00Z"),
            "2026-05-25T14:23:29.157Z",
            "far in the future"
        );
        assert_eq!(
            timestamp("2026-05-25T14:28:29.158Z"),
            "2026-05-25T14:23:29.157Z",
            "just past the tolerance"
        );
        assert_eq!(
            timestamp("2026-05-25T14:28:29.157Z"),
            "2026-05-25T14:28:29.157Z",
            "within the tolerance"
        );
        assert_eq!(
            timestamp("2020-01-01T00:00:00Z"),
            "2020-01-01T00:00:00.000Z",
            "backdated"
        );
    }

    #[test]
    fn a_bluesky_event_that_is_not_a_post_creation_is_poison_with_its_reason() {
        let update = BLUESKY_POST.replace("\"operation\":\"create\"", "\"operation\":\"update\"");
        let poison = build_items(&bluesky_record(&update, &["crab"]), ItemOptions::default())
            .expect_err("poison");
        assert_eq!(poison.reason, PoisonReason::NotAPost);
        assert!(
            poison.detail.contains("update of app.bsky.feed.post"),
            "{}",
            poison.detail
        );
        let identity = r#"{"did":"did:plc:a","time_us":1,"kind":"identity","identity":{"did":"did:plc:a","handle":"a.bsky.social"}}"#;
        let poison = build_items(&bluesky_record(identity, &["crab"]), ItemOptions::default())
            .expect_err("poison");
        assert!(
            poison.detail.contains("identity event"),
            "{}",
            poison.detail
        );
        // An X line under the bluesky source is not a Bluesky post either.
        let poison = build_items(&bluesky_record(LINE, &["rust"]), ItemOptions::default())
            .expect_err("poison");
        assert_eq!(poison.reason, PoisonReason::NotAPost);
    }

    #[test]
    fn oversized_item_is_poison() {
        // Random-looking text does not compress, so the payload alone exceeds the item limit.
        let mut x: u64 = 7;
        let text: String = (0..MAX_ITEM_BYTES)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + ((x >> 33) % 26) as u8)
            })
            .collect();
        let line = format!(r#"{{"data":{{"id":"1","text":"{text}"}}}}"#);
        let data = twitter_record::encode(
            &Header {
                source: Source::X,
                id: "1",
                keywords: &["k"],
                received_at: datetime!(2024-05-13 20:59:00 UTC),
            },
            &line,
        );
        let poison = build_items(&data, ItemOptions::default()).expect_err("too large");
        assert_eq!(poison.reason, PoisonReason::TooLarge);
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let mut item = HashMap::new();
        item.insert("Id".to_owned(), AttributeValue::S("abc".into()));
        item.insert("N".to_owned(), AttributeValue::N("12300".into()));
        item.insert(
            "L".to_owned(),
            AttributeValue::L(vec![AttributeValue::S("xy".into())]),
        );
        item.insert("B".to_owned(), AttributeValue::B(vec![1u8, 2, 3, 4].into()));
        // Id:2+3, N:1+(3 digits -> 2)+1, L:1+3+1+2, B:1+4
        assert_eq!(item_size(&item), 5 + 4 + 7 + 5);
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
    }

    #[test]
    fn number_sizes_count_significant_digits() {
        for (n, size) in [
            ("0", 1),
            ("7", 2),
            ("12300", 3),
            ("-12.5", 3),
            ("1000000", 2),
            ("1790124601", 6),
            ("0.00102", 3),
        ] {
            assert_eq!(number_size(n), size, "{n}");
        }
    }

    #[test]
    fn index_entry_is_small_and_excludes_payload() {
        let items = build_items(&record(&["rust"]), ItemOptions::default()).expect("items");
        assert!(items[0].index_size < items[0].size);
        assert!(items[0].index_size < WRITE_UNIT_BYTES);
        assert!(items[0].index_size > INDEX_ENTRY_OVERHEAD_BYTES);
    }

    #[test]
    fn created_at_is_normalised_to_utc_millis() {
        assert_eq!(
            utc_millis(datetime!(2024-05-13 22:58:58.5 +02:00)),
            "2024-05-13T20:58:58.500Z"
        );
    }
}
