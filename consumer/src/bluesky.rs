//! The fields of a Bluesky post (a Jetstream post-creation event) the item needs.
//!
//! A Jetstream commit names its author by DID only; the handle arrives in `identity` events,
//! which come when a handle changes, not with posts, so the item's `Username` is the DID (a
//! `bsky.app/profile/<did>` link works with it). Mentions are facets with a DID; when the facet's
//! byte range covers `@handle` in the text, the handle is kept (as X gives usernames), else the
//! DID. Hashtags come from tag facets and the record's `tags`, never from the text.
//!
//! The wire shapes are `twitter_record::jetstream`'s, shared with the producer.
//! As for X, a strict borrowing view is the fast path and a tolerant walk over a
//! `serde_json::Value` takes what it can when a client wrote a field of a surprising type.

use std::borrow::Cow;

use serde_json::Value;
use twitter_record::jetstream::{
    Commit, Envelope, MENTION_FEATURE, PostRecord, TAG_FEATURE, post_uri,
};

use crate::post::{NotAPost, PostFields, unique};

pub use twitter_record::jetstream::POST_COLLECTION;

/// The strict view: the envelope with the post record read at once.
type Event<'a> = Envelope<'a, PostRecord<'a>>;

/// Reads the post fields of one Jetstream message (already known to be valid JSON).
pub fn read(message: &str) -> Result<PostFields<'_>, NotAPost> {
    match serde_json::from_str::<Event<'_>>(message) {
        Ok(event) => strict(event),
        Err(_) => match serde_json::from_str::<Value>(message) {
            Ok(value) => tolerant(&value),
            Err(_) => Err(NotAPost::NotAPostCreation(
                "the Jetstream message is not a JSON object".into(),
            )),
        },
    }
}

/// Why an event is not a post creation, in words for the dead-letter queue.
fn not_a_creation(
    kind: Option<&str>,
    operation: Option<&str>,
    collection: Option<&str>,
) -> Option<NotAPost> {
    let describe = match (kind, operation, collection) {
        (Some("commit"), Some("create"), Some(POST_COLLECTION)) => return None,
        (Some("commit"), operation, collection) => format!(
            "a commit ({} of {})",
            operation.unwrap_or("no operation"),
            collection.unwrap_or("no collection")
        ),
        (Some(kind), ..) => format!("a {kind} event"),
        (None, ..) => "an event without a kind".to_owned(),
    };
    Some(NotAPost::NotAPostCreation(format!(
        "the Bluesky event is {describe}, not a post creation"
    )))
}

fn strict(event: Event<'_>) -> Result<PostFields<'_>, NotAPost> {
    let commit = event.commit;
    if let Some(reason) = not_a_creation(
        event.kind.as_deref(),
        commit.as_ref().and_then(|c| c.operation.as_deref()),
        commit.as_ref().and_then(|c| c.collection.as_deref()),
    ) {
        return Err(reason);
    }
    let Some(Commit {
        rkey,
        record: Some(record),
        ..
    }) = commit
    else {
        return Err(missing_record());
    };
    let text = record.text.filter(|t| !t.is_empty());
    let mut hashtags = Vec::new();
    let mut mentions = Vec::new();
    for facet in record.facets {
        for feature in facet.features {
            match feature.kind.as_deref() {
                Some(TAG_FEATURE) => hashtags.extend(feature.tag.map(without_hash)),
                Some(MENTION_FEATURE) => {
                    let handle = facet
                        .index
                        .and_then(|slice| handle_at(text.as_deref(), slice.start, slice.end));
                    mentions.extend(handle.map(Cow::Owned).or(feature.did));
                }
                _ => {}
            }
        }
    }
    hashtags.extend(record.tags.into_iter().map(without_hash));
    let id = event
        .did
        .as_deref()
        .zip(rkey.as_deref())
        .map(|(did, rkey)| Cow::Owned(post_uri(did, rkey)));
    Ok(PostFields {
        id,
        text,
        author_id: event.did.clone(),
        username: event.did,
        created_at: record.created_at,
        lang: record.langs.into_iter().next(),
        hashtags: unique(hashtags),
        mentions: unique(mentions),
        time_us: event.time_us,
        ..PostFields::default()
    })
}

fn missing_record() -> NotAPost {
    NotAPost::NotAPostCreation("the Bluesky post creation carries no record".into())
}

/// The slow path: a message whose shape surprised the strict view.
fn tolerant(value: &Value) -> Result<PostFields<'static>, NotAPost> {
    let string = |v: Option<&Value>| -> Option<Cow<'static, str>> {
        v.and_then(Value::as_str).map(|s| Cow::Owned(s.to_owned()))
    };
    let commit = value.get("commit");
    if let Some(reason) = not_a_creation(
        value.get("kind").and_then(Value::as_str),
        commit
            .and_then(|c| c.get("operation"))
            .and_then(Value::as_str),
        commit
            .and_then(|c| c.get("collection"))
            .and_then(Value::as_str),
    ) {
        return Err(reason);
    }
    let record = commit
        .and_then(|c| c.get("record"))
        .filter(|r| r.is_object())
        .ok_or_else(missing_record)?;
    let text = string(record.get("text")).filter(|t| !t.is_empty());
    let features = record
        .get("facets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|facet| {
            let slice = facet.get("index").and_then(|i| {
                Some((
                    usize::try_from(i.get("byteStart")?.as_u64()?).ok()?,
                    usize::try_from(i.get("byteEnd")?.as_u64()?).ok()?,
                ))
            });
            facet
                .get("features")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |feature| (slice, feature))
        });
    let mut hashtags = Vec::new();
    let mut mentions = Vec::new();
    for (slice, feature) in features {
        match feature.get("$type").and_then(Value::as_str) {
            Some(TAG_FEATURE) => hashtags.extend(string(feature.get("tag")).map(without_hash)),
            Some(MENTION_FEATURE) => {
                let handle = slice.and_then(|(start, end)| handle_at(text.as_deref(), start, end));
                mentions.extend(handle.map(Cow::Owned).or(string(feature.get("did"))));
            }
            _ => {}
        }
    }
    hashtags.extend(
        record
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| string(Some(t)))
            .map(without_hash),
    );
    let did = string(value.get("did"));
    let rkey = commit.and_then(|c| c.get("rkey")).and_then(Value::as_str);
    Ok(PostFields {
        id: did
            .as_deref()
            .zip(rkey)
            .map(|(did, rkey)| Cow::Owned(post_uri(did, rkey))),
        text,
        author_id: did.clone(),
        username: did,
        created_at: string(record.get("createdAt")),
        lang: record
            .get("langs")
            .and_then(Value::as_array)
            .and_then(|langs| string(langs.first())),
        hashtags: unique(hashtags),
        mentions: unique(mentions),
        time_us: value.get("time_us").and_then(Value::as_u64),
        ..PostFields::default()
    })
}

/// The handle a mention facet covers, when its byte range is `@handle` in the text.
fn handle_at(text: Option<&str>, start: usize, end: usize) -> Option<String> {
    let covered = text?.get(start..end)?;
    let handle = covered.strip_prefix('@')?;
    let plausible = handle.contains('.')
        && !handle.starts_with('.')
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    plausible.then(|| handle.to_ascii_lowercase())
}

fn without_hash(tag: Cow<'_, str>) -> Cow<'_, str> {
    match tag {
        Cow::Borrowed(t) => Cow::Borrowed(t.strip_prefix('#').unwrap_or(t)),
        Cow::Owned(t) => match t.strip_prefix('#') {
            Some(stripped) => Cow::Owned(stripped.to_owned()),
            None => Cow::Owned(t),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> impl Iterator<Item = &'static str> {
        testkit::fixtures::jetstream_events().into_iter()
    }

    fn is_post_creation(v: &Value) -> bool {
        v["kind"] == "commit"
            && v["commit"]["operation"] == "create"
            && v["commit"]["collection"] == POST_COLLECTION
    }

    #[test]
    fn every_fixture_post_is_read_field_by_field() {
        let mut posts = 0;
        for line in events() {
            let v: Value = serde_json::from_str(line).expect("json");
            if !is_post_creation(&v) {
                continue;
            }
            posts += 1;
            let f = read(line).expect("a post");
            let record = &v["commit"]["record"];
            let did = v["did"].as_str().expect("did");
            assert_eq!(
                f.id.as_deref(),
                Some(
                    format!(
                        "at://{did}/app.bsky.feed.post/{}",
                        v["commit"]["rkey"].as_str().expect("rkey")
                    )
                    .as_str()
                )
            );
            assert_eq!(
                f.text.as_deref(),
                record["text"].as_str().filter(|t| !t.is_empty())
            );
            assert_eq!(f.author_id.as_deref(), Some(did));
            assert_eq!(f.username.as_deref(), Some(did), "the handle is not known");
            assert_eq!(f.created_at.as_deref(), record["createdAt"].as_str());
            assert_eq!(f.lang.as_deref(), record["langs"][0].as_str());
            assert_eq!(f.time_us, v["time_us"].as_u64());
            let mut tags: Vec<&str> = Vec::new();
            for facet in record["facets"].as_array().into_iter().flatten() {
                for feature in facet["features"].as_array().into_iter().flatten() {
                    if feature["$type"] == TAG_FEATURE {
                        let tag = feature["tag"].as_str().expect("tag");
                        if !tags.contains(&tag) {
                            tags.push(tag);
                        }
                    }
                }
            }
            assert_eq!(f.hashtags, tags, "{line}");
            assert!(f.name.is_none() && f.country.is_none());
            assert_eq!(f.metrics, crate::post::Metrics::default(), "no X metrics");
            // The tolerant walk reads the same.
            assert_eq!(tolerant(&v).expect("a post"), f);
        }
        assert_eq!(posts, 18);
    }

    #[test]
    fn every_other_fixture_event_is_not_a_post_creation_and_says_what_it_is() {
        let mut others = 0;
        for line in events() {
            let v: Value = serde_json::from_str(line).expect("json");
            if is_post_creation(&v) {
                continue;
            }
            others += 1;
            let Err(NotAPost::NotAPostCreation(reason)) = read(line) else {
                panic!("not a post creation: {line}");
            };
            assert!(reason.contains("not a post creation"), "{reason}");
            let kind = v["kind"].as_str().expect("kind");
            assert!(reason.contains(kind), "{reason}");
            if let Some(operation) = v["commit"]["operation"].as_str() {
                assert!(reason.contains(operation), "{reason}");
            }
        }
        assert_eq!(others, 144);
        let delete = r#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"r"}}"#;
        let Err(NotAPost::NotAPostCreation(reason)) = read(delete) else {
            panic!("a delete is not a post");
        };
        assert!(reason.contains("delete of app.bsky.feed.post"), "{reason}");
    }

    #[test]
    fn mentions_keep_the_handle_their_range_covers_else_the_did() {
        let text = "hi @alice.bsky.social and @Bob.example.com! #Rust";
        let alice = text.find("@alice").expect("alice");
        let bob = text.find("@Bob").expect("bob");
        let line = serde_json::json!({
            "did": "did:plc:author", "time_us": 7, "kind": "commit",
            "commit": {"operation": "create", "collection": POST_COLLECTION, "rkey": "3k",
                "record": {"text": text, "createdAt": "2026-05-25T14:23:28.757Z", "langs": ["en", "fr"],
                    "tags": ["#Outline", "Rust"],
                    "facets": [
                        {"index": {"byteStart": alice, "byteEnd": alice + 18},
                         "features": [{"$type": MENTION_FEATURE, "did": "did:plc:alice"}]},
                        {"index": {"byteStart": bob, "byteEnd": bob + 16},
                         "features": [{"$type": MENTION_FEATURE, "did": "did:plc:bob"}]},
                        {"index": {"byteStart": 0, "byteEnd": 2},
                         "features": [{"$type": MENTION_FEATURE, "did": "did:plc:carol"}]},
                        {"index": {"byteStart": 500, "byteEnd": 520},
                         "features": [{"$type": MENTION_FEATURE, "did": "did:plc:dave"}]},
                        {"index": {"byteStart": 43, "byteEnd": 48},
                         "features": [{"$type": TAG_FEATURE, "tag": "Rust"}]}
                    ]}}
        })
        .to_string();
        let f = read(&line).expect("a post");
        assert_eq!(
            f.mentions,
            [
                "alice.bsky.social",
                "bob.example.com",
                "did:plc:carol",
                "did:plc:dave"
            ]
        );
        assert_eq!(f.hashtags, ["Rust", "Outline"], "each once, without #");
        assert_eq!(f.lang.as_deref(), Some("en"), "the first language");
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(tolerant(&value).expect("a post"), f);
    }

    #[test]
    fn odd_field_types_fall_back_to_the_tolerant_view() {
        let line = r#"{"did":"did:plc:a","time_us":9,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"text":"hello","langs":"en","tags":[5,"ok"],"createdAt":12}}}"#;
        let f = read(line).expect("a post");
        assert_eq!(f.text.as_deref(), Some("hello"));
        assert_eq!(f.lang, None);
        assert_eq!(f.hashtags, ["ok"]);
        assert_eq!(f.created_at, None);
        assert_eq!(f.time_us, Some(9));
    }

    #[test]
    fn a_post_without_text_has_no_message_and_a_creation_without_record_is_refused() {
        let line = r#"{"did":"did:plc:a","time_us":9,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"text":"","embed":{}}}}"#;
        assert_eq!(read(line).expect("a post").text, None);
        let line = r#"{"did":"did:plc:a","time_us":9,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r"}}"#;
        assert!(matches!(read(line), Err(NotAPost::NotAPostCreation(_))));
        assert!(matches!(read("[1]"), Err(NotAPost::NotAPostCreation(_))));
    }
}
