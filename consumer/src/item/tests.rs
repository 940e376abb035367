//! Items built from whole producer records: every attribute, both sources, every poison kind.

use aws_sdk_dynamodb::types::AttributeValue;
use testkit::records::FixtureRecord;
use time::macros::datetime;
use twitter_table::size::{INDEX_ENTRY_OVERHEAD_BYTES, MAX_ITEM_BYTES, WRITE_UNIT_BYTES};
use twitter_table::{EventItem, payload, schema};

use super::*;

const LINE: &str = r#"{"data":{"id":"1790124601021706634","text":"hello #rust @ferris","author_id":"7","created_at":"2024-05-13T20:58:58.000Z","lang":"en","entities":{"hashtags":[{"tag":"rust"}],"mentions":[{"username":"ferris"}]},"public_metrics":{"retweet_count":0,"reply_count":1,"like_count":2,"quote_count":0},"geo":{"place_id":"p"}},"includes":{"users":[{"id":"7","username":"carol","name":"Carol"}],"places":[{"id":"p","country":"Japan","country_code":"JP"}]},"matching_rules":[{"id":"1","tag":"rust"},{"id":"2","tag":"ferris"}]}"#;

fn record(keywords: &[&str]) -> Vec<u8> {
    FixtureRecord::x(LINE)
        .keywords(keywords)
        .received_at(datetime!(2024-05-13 20:59:00.123456 UTC))
        .encode()
}

#[test]
fn one_item_per_keyword_with_every_attribute() {
    let items = build_items(&record(&["rust", "ferris"]), ItemOptions::default()).expect("items");
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
    let back = EventItem::from_attributes(items[0].attributes.clone()).expect("from_item");
    assert_eq!(back.username.as_deref(), Some("carol"));
    assert_eq!(back.mentions, ["ferris"]);
    assert_eq!(back.to_attributes().expect("attrs"), items[0].attributes);
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
        kind(
            br#"{"v":1,"source":"x","keywords":[],"received_at":"2024-05-13T20:59:00Z","post":{}}"#
        ),
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
const BLUESKY_ID: &str = "at://did:plc:q235v55g5unth4zjjdpacfdr/app.bsky.feed.post/3mmoojp4cd223";

/// Under [`BLUESKY_ID`] whatever the message, so that messages no producer sends can be tried.
fn bluesky_record(message: &str, keywords: &[&str]) -> Vec<u8> {
    FixtureRecord::bluesky(message)
        .id(BLUESKY_ID)
        .keywords(keywords)
        .received_at(datetime!(2026-05-25 14:23:29.5 UTC))
        .encode()
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
    let items =
        build_items(&bluesky_record(&message, &["crab"]), ItemOptions::default()).expect("items");
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
    let poison =
        build_items(&bluesky_record(LINE, &["rust"]), ItemOptions::default()).expect_err("poison");
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
    let data = FixtureRecord::x(&line)
        .keywords(&["k"])
        .received_at(datetime!(2024-05-13 20:59:00 UTC))
        .encode();
    let poison = build_items(&data, ItemOptions::default()).expect_err("too large");
    assert_eq!(poison.reason, PoisonReason::TooLarge);
}

#[test]
fn index_entry_is_small_and_excludes_payload() {
    let items = build_items(&record(&["rust"]), ItemOptions::default()).expect("items");
    assert!(items[0].index_size < items[0].size);
    assert!(items[0].index_size < WRITE_UNIT_BYTES);
    assert!(items[0].index_size > INDEX_ENTRY_OVERHEAD_BYTES);
}

/// Times anyone with stream access can write: none of them may panic the builder (a panic fails
/// the whole batch, which Lambda retries and bisects until it discards it).
#[test]
fn a_receive_time_the_table_cannot_hold_is_poison_not_a_panic() {
    let data = FixtureRecord::x(LINE)
        .keywords(&["rust"])
        .received_at(datetime!(9999-12-31 23:59:59 -01:00))
        .encode();
    let poison = build_items(&data, ItemOptions::default()).expect_err("poison");
    assert_eq!(poison.reason, PoisonReason::NotRecordFormat);
    assert!(poison.detail.contains("received_at"), "{}", poison.detail);
}

#[test]
fn a_post_time_the_table_cannot_hold_falls_back_to_the_receive_time() {
    let line = LINE.replace("2024-05-13T20:58:58.000Z", "9999-12-31T23:59:59-01:00");
    let data = FixtureRecord::x(&line)
        .keywords(&["rust"])
        .received_at(datetime!(2024-05-13 20:59:00.123456 UTC))
        .encode();
    let items = build_items(&data, ItemOptions::default()).expect("items");
    assert_eq!(
        items[0].attributes[schema::TIMESTAMP]
            .as_s()
            .ok()
            .map(String::as_str),
        Some("2024-05-13T20:59:00.123Z")
    );
}

#[test]
fn a_firehose_time_at_the_end_of_time_does_not_overflow() {
    for time_us in [253_402_300_700_000_000_i64, 253_402_300_799_000_000] {
        let message = format!(
            r#"{{"did":"did:plc:abc","time_us":{time_us},"kind":"commit","commit":{{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{{"$type":"app.bsky.feed.post","text":"hi rust","createdAt":"2024-05-13T20:58:58.000Z","langs":["en"]}},"cid":"c"}}}}"#
        );
        let data = FixtureRecord::bluesky(&message)
            .keywords(&["rust"])
            .received_at(datetime!(2024-05-13 20:59:00 UTC))
            .encode();
        let items = build_items(&data, ItemOptions::default()).expect("items");
        assert_eq!(
            items[0].attributes[schema::TIMESTAMP]
                .as_s()
                .ok()
                .map(String::as_str),
            Some("2024-05-13T20:58:58.000Z"),
            "{time_us}"
        );
    }
}
