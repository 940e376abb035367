//! What a Jetstream message means.
//!
//! Jetstream sends one JSON object per WebSocket text message:
//! `{"did":..,"time_us":..,"kind":"commit"|"identity"|"account","commit":{"operation":..,
//! "collection":..,"rkey":..,"record":{..}}}`. Only the creation of a post
//! (`kind=commit`, `operation=create`, `collection=app.bsky.feed.post`) can become a record;
//! everything else only moves the stream position on. Unknown fields are ignored here and kept
//! in the record, which carries the message as it came. The wire shapes are
//! `twitter_record::jetstream`'s, shared with the consumer; the record is read only for post
//! creations.

use std::borrow::Cow;

use serde_json::Value;
use twitter_record::jetstream::{Envelope, PostRecord, TAG_FEATURE, post_uri};

pub use twitter_record::jetstream::POST_COLLECTION;

/// What one message means.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A new post: the only event that can be forwarded.
    PostCreate(PostCreate<'a>),
    /// Anything else with a place in the stream (likes, updates, deletes, identity, account...).
    Other { time_us: Option<u64> },
    /// The answer to a client heartbeat: liveness, no place in the stream.
    Heartbeat,
}

#[derive(Debug, PartialEq, Eq)]
pub struct PostCreate<'a> {
    pub did: Cow<'a, str>,
    pub rkey: Cow<'a, str>,
    /// Jetstream's position of the event; the resume cursor is made of these.
    pub time_us: Option<u64>,
    pub text: Cow<'a, str>,
    /// Facet tags and the record's `tags`, as written (without matching, nothing is removed).
    pub hashtags: Vec<Cow<'a, str>>,
    /// The message exactly as received: the record carries it unchanged.
    pub json: &'a str,
}

impl PostCreate<'_> {
    /// The post's AT URI, its id everywhere downstream.
    pub fn uri(&self) -> String {
        post_uri(&self.did, &self.rkey)
    }
}

/// Why a message could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("message is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("post has no {0}")]
    Missing(&'static str),
}

/// Classifies one text message.
pub fn classify(message: &str) -> Result<Event<'_>, EventError> {
    let wire: Envelope<'_> = serde_json::from_str(message)?;
    let Some(commit) = wire
        .commit
        .filter(|_| wire.kind.as_deref() == Some("commit"))
    else {
        return Ok(match wire.kind.as_deref() {
            Some("heartbeat") if wire.time_us.is_none() => Event::Heartbeat,
            _ => Event::Other {
                time_us: wire.time_us,
            },
        });
    };
    let is_post_create = commit.operation.as_deref() == Some("create")
        && commit.collection.as_deref() == Some(POST_COLLECTION);
    if !is_post_create {
        return Ok(Event::Other {
            time_us: wire.time_us,
        });
    }
    let did = wire
        .did
        .filter(|d| d.starts_with("did:") && !d.contains('/'))
        .ok_or(EventError::Missing("did"))?;
    let rkey = commit
        .rkey
        .filter(|r| !r.is_empty() && !r.contains('/'))
        .ok_or(EventError::Missing("rkey"))?;
    let record = commit.record.ok_or(EventError::Missing("record"))?;
    let (text, hashtags) = post_text_and_hashtags(record.get())?;
    Ok(Event::PostCreate(PostCreate {
        did,
        rkey,
        time_us: wire.time_us,
        text,
        hashtags,
        json: message,
    }))
}

/// The post's text and hashtags. Records are written by many clients: a field of a surprising
/// type costs that field, never the post.
fn post_text_and_hashtags(record: &str) -> Result<(Cow<'_, str>, Vec<Cow<'_, str>>), EventError> {
    if let Ok(post) = serde_json::from_str::<PostRecord<'_>>(record) {
        let mut hashtags: Vec<Cow<'_, str>> = post
            .facets
            .into_iter()
            .flat_map(|f| f.features)
            .filter(|f| f.kind.as_deref() == Some(TAG_FEATURE))
            .filter_map(|f| f.tag)
            .collect();
        hashtags.extend(post.tags);
        return Ok((post.text.unwrap_or_default(), hashtags));
    }
    let value: Value = serde_json::from_str(record)?;
    let text = value
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut hashtags: Vec<Cow<'_, str>> = Vec::new();
    let tag_features = value
        .get("facets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("features")?.as_array())
        .flatten()
        .filter(|f| f.get("$type").and_then(Value::as_str) == Some(TAG_FEATURE));
    hashtags.extend(
        tag_features
            .filter_map(|f| f.get("tag")?.as_str())
            .map(|t| Cow::Owned(t.to_owned())),
    );
    hashtags.extend(
        value
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|t| Cow::Owned(t.to_owned())),
    );
    Ok((Cow::Owned(text), hashtags))
}

#[cfg(test)]
mod tests {
    use super::*;

    use testkit::fixtures::CONTIGUOUS;

    fn lines() -> impl Iterator<Item = &'static str> {
        testkit::fixtures::jetstream_events().into_iter()
    }

    #[test]
    fn only_post_creations_are_posts_and_every_fixture_line_classifies() {
        let (mut posts, mut others) = (0, 0);
        for line in lines() {
            let value: Value = serde_json::from_str(line).expect("json");
            let expected_post = value["kind"] == "commit"
                && value["commit"]["operation"] == "create"
                && value["commit"]["collection"] == POST_COLLECTION;
            match classify(line).expect("every fixture line is valid") {
                Event::PostCreate(post) => {
                    assert!(expected_post, "{line}");
                    posts += 1;
                    assert_eq!(post.json, line, "the message is kept byte for byte");
                    assert_eq!(post.did, value["did"].as_str().expect("did"));
                    assert_eq!(post.rkey, value["commit"]["rkey"].as_str().expect("rkey"));
                    assert_eq!(post.time_us, value["time_us"].as_u64());
                    assert_eq!(
                        post.text,
                        value["commit"]["record"]["text"].as_str().expect("text")
                    );
                    assert_eq!(
                        post.uri(),
                        format!(
                            "at://{}/app.bsky.feed.post/{}",
                            value["did"].as_str().expect("did"),
                            value["commit"]["rkey"].as_str().expect("rkey")
                        )
                    );
                }
                Event::Other { time_us } => {
                    assert!(!expected_post, "{line}");
                    assert_eq!(time_us, value["time_us"].as_u64());
                    others += 1;
                }
                Event::Heartbeat => panic!("no heartbeat in the fixtures"),
            }
        }
        assert_eq!(posts, 18, "1 in golden-mixed, 17 in contiguous-152");
        assert_eq!(posts + others, 162);
    }

    #[test]
    fn hashtags_come_from_tag_facets_not_from_the_text() {
        let line = CONTIGUOUS
            .lines()
            .find(|l| l.contains("IndieRebellion"))
            .expect("fixture post with tag facets");
        let Ok(Event::PostCreate(post)) = classify(line) else {
            panic!("a post");
        };
        assert_eq!(post.hashtags, ["HowToTellAiToShutUp", "IndieRebellion"]);
        assert!(post.text.contains("#batch"), "the text has other #words");
        let line = CONTIGUOUS
            .lines()
            .find(|l| l.contains("youtube.com"))
            .expect("fixture post with a link facet");
        let Ok(Event::PostCreate(post)) = classify(line) else {
            panic!("a post");
        };
        assert!(post.hashtags.is_empty(), "a link facet is no hashtag");
    }

    #[test]
    fn outline_tags_are_hashtags_and_odd_shapes_fall_back() {
        let line = r#"{"did":"did:plc:a","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r1","record":{"text":"caf\u00e9","tags":["Outline"],"facets":[{"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"Facet"}]}]}}}"#;
        let Ok(Event::PostCreate(post)) = classify(line) else {
            panic!("a post");
        };
        assert_eq!(post.text, "café");
        assert_eq!(post.hashtags, ["Facet", "Outline"]);
        // A number where a tag should be, facets that are not a list: the rest still counts.
        let line = r#"{"did":"did:plc:a","time_us":6,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r2","record":{"text":"hello","tags":[7,"ok"],"facets":{"odd":true}}}}"#;
        let Ok(Event::PostCreate(post)) = classify(line) else {
            panic!("a post");
        };
        assert_eq!(post.text, "hello");
        assert_eq!(post.hashtags, ["ok"]);
        let line = r#"{"did":"did:plc:a","time_us":7,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r3","record":{"embed":{}}}}"#;
        let Ok(Event::PostCreate(post)) = classify(line) else {
            panic!("a post without text is still a post");
        };
        assert_eq!(post.text, "");
    }

    #[test]
    fn heartbeats_and_unknown_kinds_are_not_errors() {
        assert_eq!(
            classify(r#"{"kind":"heartbeat","payload":""}"#).expect("valid"),
            Event::Heartbeat
        );
        assert_eq!(
            classify(r#"{"did":"did:plc:a","time_us":9,"kind":"sync"}"#).expect("valid"),
            Event::Other { time_us: Some(9) }
        );
        assert_eq!(
            classify(r#"{"time_us":3,"kind":"commit"}"#).expect("valid"),
            Event::Other { time_us: Some(3) }
        );
    }

    #[test]
    fn a_post_creation_without_its_identity_is_an_error_not_a_panic() {
        let post = |did: &str, rkey: &str| {
            format!(
                r#"{{"did":{did},"time_us":1,"kind":"commit","commit":{{"operation":"create","collection":"app.bsky.feed.post","rkey":{rkey},"record":{{"text":"t"}}}}}}"#
            )
        };
        assert!(matches!(
            classify(&post("null", "\"r\"")),
            Err(EventError::Missing("did"))
        ));
        assert!(matches!(
            classify(&post("\"not-a-did\"", "\"r\"")),
            Err(EventError::Missing("did"))
        ));
        assert!(matches!(
            classify(&post("\"did:plc:a\"", "\"\"")),
            Err(EventError::Missing("rkey"))
        ));
        assert!(matches!(
            classify(&post("\"did:plc:a\"", "\"a/b\"")),
            Err(EventError::Missing("rkey"))
        ));
        assert!(matches!(classify("{\"did\":"), Err(EventError::Json(_))));
        assert!(matches!(classify("[1]"), Err(EventError::Json(_))));
    }
}
