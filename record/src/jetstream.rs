//! The shapes of a Jetstream (Bluesky firehose) message, as the producer and the consumer read
//! them.
//!
//! Jetstream sends one JSON object per WebSocket text message:
//! `{"did":..,"time_us":..,"kind":"commit"|"identity"|"account","commit":{"operation":..,
//! "collection":..,"rkey":..,"cid":..,"record":{..}}}`. Every field is optional here: whether a
//! message is usable is the reader's decision, not the parser's. Unknown fields are ignored, and
//! so is `cid`: nobody reads it, and a parsed field of an odd type would make the producer reject
//! a message it can forward.
//!
//! The envelope is generic over the record so each side pays only for what it reads: the
//! producer keeps the record as a [`RawValue`] and parses it only for post creations (most of
//! the firehose is something else), the consumer reads it straight into a [`PostRecord`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The collection of Bluesky posts.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";
/// The facet feature that makes a word a hashtag.
pub const TAG_FEATURE: &str = "app.bsky.richtext.facet#tag";
/// The facet feature that makes a range of the text a mention of an account.
pub const MENTION_FEATURE: &str = "app.bsky.richtext.facet#mention";

/// A post's AT URI, its id everywhere downstream: `at://<did>/app.bsky.feed.post/<rkey>`.
pub fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST_COLLECTION}/{rkey}")
}

/// One Jetstream message. `R` is how the commit's record is read: [`RawValue`] (the default)
/// to defer it, or [`PostRecord`] to read a post at once.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a, R = &'a RawValue> {
    #[serde(borrow)]
    pub did: Option<Cow<'a, str>>,
    pub time_us: Option<u64>,
    /// `commit`, `identity`, `account`, or (an answer to a client heartbeat) `heartbeat`.
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub commit: Option<Commit<'a, R>>,
}

/// The repository change of a `commit` event.
#[derive(Debug, Deserialize)]
pub struct Commit<'a, R = &'a RawValue> {
    /// `create`, `update` or `delete`.
    #[serde(borrow)]
    pub operation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub collection: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub rkey: Option<Cow<'a, str>>,
    /// Absent for deletions.
    pub record: Option<R>,
}

/// The fields of an `app.bsky.feed.post` record that are read; the rest stays in the message.
#[derive(Debug, Deserialize)]
pub struct PostRecord<'a> {
    #[serde(borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "createdAt")]
    pub created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub langs: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub facets: Vec<Facet<'a>>,
    /// Hashtags written outside the text (the "outline" tags).
    #[serde(borrow, default)]
    pub tags: Vec<Cow<'a, str>>,
}

/// Rich-text annotation of a byte range of the post's text.
#[derive(Debug, Deserialize)]
pub struct Facet<'a> {
    #[serde(default)]
    pub index: Option<ByteSlice>,
    #[serde(borrow, default)]
    pub features: Vec<Feature<'a>>,
}

/// A range of the text in UTF-8 bytes, end exclusive.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub struct ByteSlice {
    #[serde(rename = "byteStart")]
    pub start: usize,
    #[serde(rename = "byteEnd")]
    pub end: usize,
}

/// What a facet says about its range: a tag ([`TAG_FEATURE`], `tag` set), a mention
/// ([`MENTION_FEATURE`], `did` set), a link...
#[derive(Debug, Deserialize)]
pub struct Feature<'a> {
    #[serde(borrow, rename = "$type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub tag: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub did: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::Value;

    use super::*;

    const GOLDEN: &str = include_str!("../../fixtures/jetstream/golden-mixed.jsonl");
    const CONTIGUOUS: &str = include_str!("../../fixtures/jetstream/contiguous-152.jsonl");

    fn lines() -> impl Iterator<Item = &'static str> {
        GOLDEN
            .lines()
            .chain(CONTIGUOUS.lines())
            .filter(|l| !l.trim().is_empty())
    }

    fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
        value.pointer(pointer).and_then(Value::as_str)
    }

    #[test]
    fn every_fixture_line_parses_with_a_deferred_record() {
        let mut with_record = 0;
        let mut count = 0;
        for line in lines() {
            count += 1;
            let v: Value = serde_json::from_str(line).expect("json");
            let e: Envelope<'_> = serde_json::from_str(line).expect(line);
            assert_eq!(e.did.as_deref(), str_at(&v, "/did"));
            assert_eq!(e.time_us, v["time_us"].as_u64());
            assert_eq!(e.kind.as_deref(), str_at(&v, "/kind"));
            assert_eq!(e.commit.is_some(), v.get("commit").is_some(), "{line}");
            let Some(commit) = e.commit else { continue };
            assert_eq!(commit.operation.as_deref(), str_at(&v, "/commit/operation"));
            assert_eq!(
                commit.collection.as_deref(),
                str_at(&v, "/commit/collection")
            );
            assert_eq!(commit.rkey.as_deref(), str_at(&v, "/commit/rkey"));
            match (commit.record, v.pointer("/commit/record")) {
                (Some(raw), Some(expected)) => {
                    with_record += 1;
                    let reparsed: Value = serde_json::from_str(raw.get()).expect("raw json");
                    assert_eq!(&reparsed, expected, "the raw record is the record");
                }
                (None, None) => {}
                (raw, expected) => panic!("record {raw:?} vs {expected:?} in {line}"),
            }
        }
        assert_eq!(count, 162);
        assert!(with_record > 0, "the fixtures have records");
    }

    #[test]
    fn every_fixture_post_parses_into_its_post_record() {
        let mut posts = 0;
        let mut tag_features = 0;
        for line in lines() {
            let v: Value = serde_json::from_str(line).expect("json");
            let is_post = str_at(&v, "/commit/collection") == Some(POST_COLLECTION)
                && str_at(&v, "/commit/operation") == Some("create");
            let e: Envelope<'_, PostRecord<'_>> = match serde_json::from_str(line) {
                Ok(e) => e,
                // Other collections' records have other shapes.
                Err(_) if !is_post => continue,
                Err(err) => panic!("{err}: {line}"),
            };
            if !is_post {
                continue;
            }
            posts += 1;
            let commit = e.commit.expect("commit");
            let record = commit.record.expect("record");
            let expected = &v["commit"]["record"];
            assert_eq!(record.text.as_deref(), expected["text"].as_str());
            assert_eq!(record.created_at.as_deref(), expected["createdAt"].as_str());
            let langs: Vec<&str> = expected["langs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(record.langs, langs);
            let facets = expected["facets"].as_array().map_or(0, Vec::len);
            assert_eq!(record.facets.len(), facets);
            for (facet, expected) in record
                .facets
                .iter()
                .zip(expected["facets"].as_array().into_iter().flatten())
            {
                let index = facet.index.expect("fixture facets have an index");
                assert_eq!(
                    Some(index.start as u64),
                    expected["index"]["byteStart"].as_u64()
                );
                assert_eq!(
                    Some(index.end as u64),
                    expected["index"]["byteEnd"].as_u64()
                );
                for (feature, expected) in facet
                    .features
                    .iter()
                    .zip(expected["features"].as_array().into_iter().flatten())
                {
                    assert_eq!(feature.kind.as_deref(), expected["$type"].as_str());
                    assert_eq!(feature.tag.as_deref(), expected["tag"].as_str());
                    assert_eq!(feature.did.as_deref(), expected["did"].as_str());
                    if feature.kind.as_deref() == Some(TAG_FEATURE) {
                        tag_features += 1;
                    }
                }
            }
        }
        assert_eq!(posts, 18, "1 in golden-mixed, 17 in contiguous-152");
        assert!(tag_features > 0, "the fixtures have tag facets");
    }

    #[test]
    fn escapes_are_decoded_and_missing_fields_are_empty() {
        let line = r#"{"did":"did:plc:a","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"text":"caf\u00e9","tags":["t"]}}}"#;
        let e: Envelope<'_, PostRecord<'_>> = serde_json::from_str(line).expect("valid");
        assert_eq!(e.did.as_deref(), Some("did:plc:a"));
        let record = e.commit.and_then(|c| c.record).expect("record");
        assert_eq!(record.text.as_deref(), Some("café"));
        assert_eq!(record.tags, ["t"]);
        assert_eq!(record.created_at, None);
        assert!(record.langs.is_empty() && record.facets.is_empty());
    }

    #[test]
    fn a_deletion_has_no_record_and_a_heartbeat_no_commit() {
        let delete = r#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"r"}}"#;
        let e: Envelope<'_> = serde_json::from_str(delete).expect("valid");
        let commit = e.commit.expect("commit");
        assert_eq!(commit.operation.as_deref(), Some("delete"));
        assert!(commit.record.is_none());
        let e: Envelope<'_> = serde_json::from_str(r#"{"kind":"heartbeat"}"#).expect("valid");
        assert_eq!(e.kind.as_deref(), Some("heartbeat"));
        assert!(e.commit.is_none() && e.time_us.is_none() && e.did.is_none());
    }

    #[test]
    fn a_field_of_the_wrong_type_is_an_error_for_the_reader_to_handle() {
        let line = r#"{"kind":"commit","commit":{"operation":"create","record":{"langs":"en"}}}"#;
        assert!(serde_json::from_str::<Envelope<'_, PostRecord<'_>>>(line).is_err());
        assert!(
            serde_json::from_str::<Envelope<'_>>(line).is_ok(),
            "a deferred record is not read"
        );
    }

    #[test]
    fn the_uri_names_the_post_collection() {
        assert_eq!(
            post_uri("did:plc:abc", "3kx"),
            "at://did:plc:abc/app.bsky.feed.post/3kx"
        );
    }
}
