//! Producer records (the Kinesis record format of `twitter-record`) built from post lines, as
//! test fixtures: under the id a producer gives the post, read from the post itself.
//!
//! `x_record(line, keywords)` and `bluesky_record(message, keywords)` cover most tests; a test
//! that checks the receive time, or needs a record no producer writes (an id the post does not
//! carry), sets them on a [`FixtureRecord`].

use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::datetime;
use twitter_record::jetstream::{Envelope, post_uri};
use twitter_record::{Header, Source};

/// When a fixture record was received, unless the test sets its own time.
pub const RECEIVED_AT: OffsetDateTime = datetime!(2026-01-02 03:04:05.678 UTC);

/// The record of an X stream line, under its `data.id`, received at [`RECEIVED_AT`].
///
/// Panics when the line has no string `data.id` (a test with such a line sets the id).
pub fn x_record(line: &str, keywords: &[impl AsRef<str>]) -> Vec<u8> {
    FixtureRecord::x(line).keywords(keywords).encode()
}

/// The record of a Jetstream message, under the post's AT URI (its `did` and `commit.rkey`, as
/// the producer builds it), received at [`RECEIVED_AT`].
///
/// Panics when the message has no `did` or `commit.rkey` (a test with such a message sets the
/// id).
pub fn bluesky_record(message: &str, keywords: &[impl AsRef<str>]) -> Vec<u8> {
    FixtureRecord::bluesky(message).keywords(keywords).encode()
}

/// A record being built: a post, no keywords, received at [`RECEIVED_AT`], under the id its
/// source gives the post unless [`FixtureRecord::id`] says otherwise.
#[derive(Debug, Clone)]
pub struct FixtureRecord<'a> {
    source: Source,
    post: &'a str,
    id: Option<String>,
    keywords: Vec<&'a str>,
    received_at: OffsetDateTime,
}

impl<'a> FixtureRecord<'a> {
    /// An X stream line (one JSON object).
    pub fn x(line: &'a str) -> FixtureRecord<'a> {
        Self::new(Source::X, line)
    }

    /// A Jetstream message (one JSON object).
    pub fn bluesky(message: &'a str) -> FixtureRecord<'a> {
        Self::new(Source::Bluesky, message)
    }

    fn new(source: Source, post: &'a str) -> FixtureRecord<'a> {
        FixtureRecord {
            source,
            post,
            id: None,
            keywords: Vec::new(),
            received_at: RECEIVED_AT,
        }
    }

    pub fn keywords(mut self, keywords: &'a [impl AsRef<str>]) -> FixtureRecord<'a> {
        self.keywords = keywords.iter().map(AsRef::as_ref).collect();
        self
    }

    pub fn received_at(mut self, received_at: OffsetDateTime) -> FixtureRecord<'a> {
        self.received_at = received_at;
        self
    }

    /// Another id than the post's own.
    pub fn id(mut self, id: &str) -> FixtureRecord<'a> {
        self.id = Some(id.to_owned());
        self
    }

    /// The record's bytes, as the producer puts them on the stream.
    pub fn encode(&self) -> Vec<u8> {
        let id = self.id.clone().unwrap_or_else(|| self.post_id());
        twitter_record::encode(
            &Header {
                source: self.source,
                id: &id,
                keywords: &self.keywords,
                received_at: self.received_at,
            },
            self.post,
        )
    }

    fn post_id(&self) -> String {
        let id = match self.source {
            Source::X => x_post_id(self.post),
            Source::Bluesky => bluesky_post_uri(self.post),
        };
        id.unwrap_or_else(|| {
            panic!(
                "a {} fixture post without the id its source gives it (set one): {}",
                self.source.as_str(),
                self.post
            )
        })
    }
}

#[derive(Deserialize)]
struct XLine {
    data: XData,
}

#[derive(Deserialize)]
struct XData {
    id: String,
}

fn x_post_id(line: &str) -> Option<String> {
    serde_json::from_str::<XLine>(line).ok().map(|l| l.data.id)
}

fn bluesky_post_uri(message: &str) -> Option<String> {
    let envelope: Envelope<'_> = serde_json::from_str(message).ok()?;
    let rkey = envelope.commit?.rkey?;
    Some(post_uri(&envelope.did?, &rkey))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const X_LINE: &str = r#"{"data":{"id":"1790124601021706634","text":"hello"},"matching_rules":[{"id":"1","tag":"rust"}]}"#;
    const JETSTREAM_POST: &str = r#"{"did":"did:plc:abc","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k2a","record":{"text":"crab"}}}"#;

    #[test]
    fn an_x_record_is_under_the_lines_id_with_the_post_byte_for_byte() {
        let bytes = x_record(X_LINE, &["rust", "go"]);
        let record = twitter_record::decode(&bytes).unwrap();
        assert_eq!(record.source, Source::X);
        assert_eq!(record.id, "1790124601021706634");
        assert_eq!(record.keywords, ["rust", "go"]);
        assert_eq!(record.received_at, datetime!(2026-01-02 03:04:05.678 UTC));
        assert_eq!(record.post.get(), X_LINE);
    }

    #[test]
    fn a_bluesky_record_is_under_the_posts_at_uri() {
        let keywords = vec!["crab".to_owned()];
        let bytes = bluesky_record(JETSTREAM_POST, &keywords);
        let record = twitter_record::decode(&bytes).unwrap();
        assert_eq!(record.source, Source::Bluesky);
        assert_eq!(record.id, "at://did:plc:abc/app.bsky.feed.post/3k2a");
        assert_eq!(record.keywords, ["crab"]);
        assert_eq!(record.post.get(), JETSTREAM_POST);
    }

    #[test]
    fn a_record_can_carry_its_own_id_and_time() {
        let identity = r#"{"did":"did:plc:abc","time_us":1,"kind":"identity"}"#;
        let bytes = FixtureRecord::bluesky(identity)
            .id("at://elsewhere")
            .received_at(datetime!(2024-05-13 20:59:00 UTC))
            .encode();
        let record = twitter_record::decode(&bytes).unwrap();
        assert_eq!(record.id, "at://elsewhere");
        assert!(record.keywords.is_empty());
        assert_eq!(record.received_at, datetime!(2024-05-13 20:59:00 UTC));
    }

    #[test]
    #[should_panic(expected = "without the id")]
    fn a_post_without_its_id_is_a_test_mistake() {
        x_record(r#"{"data":{"text":"no id"}}"#, &["k"]);
    }
}
