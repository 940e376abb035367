//! Set-up for the Bluesky source's tests: a private moto and local Jetstream per test, a firehose
//! built from the fixtures, and an oracle for which posts must arrive with which keywords.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde_json::Value;
use testkit::jetstream::{JetstreamServer, JetstreamServerConfig, retimed};
use testkit::moto::StoredRecord;
use twitter_producer::config::Settings;

use super::TestBed;

#[allow(unused_imports)]
pub use twitter_producer::source::bluesky::cursor::RESUME_MARGIN_US;

/// The keywords every Bluesky test follows: two words of the fixtures' synthetic text and one
/// hashtag that only a facet carries.
pub const KEYWORDS: [&str; 3] = ["tokio", "crab", "#IndieRebellion"];
/// One second between events: with a resume margin of five, a cursor means something.
pub const STEP_US: u64 = 1_000_000;

/// A test bed with a local Jetstream.
pub struct BlueskyHarness {
    bed: TestBed,
    pub jetstream: JetstreamServer,
}

impl Deref for BlueskyHarness {
    type Target = TestBed;

    fn deref(&self) -> &TestBed {
        &self.bed
    }
}

impl BlueskyHarness {
    pub async fn start(config: JetstreamServerConfig) -> BlueskyHarness {
        let bed = TestBed::start("posts").await;
        let jetstream = JetstreamServer::start(config)
            .await
            .expect("jetstream starts");
        BlueskyHarness { bed, jetstream }
    }

    /// The binary's cursor file.
    pub fn cursor_file(&self) -> std::path::PathBuf {
        self.state.path().join("jetstream-cursor.json")
    }

    /// The producer binary with `--source bluesky`, a clean environment (no X credentials) and
    /// the keywords after `args`.
    pub fn producer(&self, args: &[&str]) -> tokio::process::Command {
        let source_env = [
            ("JETSTREAM_URL", self.jetstream.url()),
            (
                "JETSTREAM_CURSOR_FILE",
                self.cursor_file().display().to_string(),
            ),
        ];
        let mut all = vec!["--source", "bluesky", "--progress-interval", "1"];
        all.extend_from_slice(args);
        all.extend(KEYWORDS);
        self.bed.command(&source_env, &all)
    }

    /// Settings for an in-process run with `--source bluesky` on `endpoints` (`JETSTREAM_URL`),
    /// a cursor file of its own, and the keywords after `args`.
    pub fn settings(&self, endpoints: &[String], args: &[&str]) -> Settings {
        let cursor_file = self.unique_path("jetstream-cursor.json");
        let mut all = vec![
            "--source",
            "bluesky",
            "--cursor-file",
            cursor_file.to_str().expect("UTF-8 path"),
        ];
        all.extend_from_slice(args);
        all.extend(KEYWORDS);
        self.bed
            .settings_from(&[("JETSTREAM_URL", endpoints.join(","))], &all)
    }
}

/// Microseconds since the epoch, an hour ago: recent enough for a cursor file to be trusted.
pub fn an_hour_ago_us() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    u64::try_from(now.as_micros()).expect("fits") - 3_600_000_000
}

/// Replaces the first occurrence of `from` with `to`.
fn replace_first(line: &str, from: &str, to: &str) -> String {
    line.replacen(from, to, 1)
}

/// Every fixture event, plus what the fixtures lack: a matching post that is updated, a matching
/// post's record in another collection, and a matching post delivered twice. Retimed one second
/// apart from an hour ago.
pub fn firehose() -> Vec<String> {
    let mut events: Vec<String> = testkit::fixtures::jetstream_events()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let matching = events
        .iter()
        .find(|l| !expected_keywords(l).is_empty() && l.contains("\"langs\""))
        .expect("a matching fixture post")
        .clone();
    let updated = replace_first(
        &matching,
        "\"operation\":\"create\"",
        "\"operation\":\"update\"",
    );
    let elsewhere = replace_first(
        &matching,
        "\"collection\":\"app.bsky.feed.post\"",
        "\"collection\":\"com.example.feed.post\"",
    );
    assert_ne!(updated, matching);
    assert_ne!(elsewhere, matching);
    let twice = events
        .iter()
        .filter(|l| !expected_keywords(l).is_empty())
        .nth(3)
        .expect("four matching fixture posts")
        .clone();
    events.insert(30, updated);
    events.insert(70, elsewhere);
    events.insert(120, twice);
    retimed(&events, an_hour_ago_us(), STEP_US)
}

/// The keywords a Jetstream event must be stored under, by a rule independent of the producer's
/// matcher (enough for the fixtures' ASCII keywords): a post creation whose text has the word,
/// or whose tag facets have the hashtag, case aside. Empty: must not be stored.
pub fn expected_keywords(line: &str) -> Vec<String> {
    let event: Value = serde_json::from_str(line).expect("event JSON");
    let commit = &event["commit"];
    if event["kind"] != "commit"
        || commit["operation"] != "create"
        || commit["collection"] != "app.bsky.feed.post"
    {
        return Vec::new();
    }
    let text = commit["record"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
    let tags: Vec<String> = commit["record"]["facets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["features"].as_array())
        .flatten()
        .filter(|f| f["$type"] == "app.bsky.richtext.facet#tag")
        .filter_map(|f| f["tag"].as_str())
        .map(str::to_lowercase)
        .collect();
    KEYWORDS
        .iter()
        .filter(|k| match k.strip_prefix('#') {
            Some(tag) => tags.contains(&tag.to_lowercase()),
            None => words.contains(&k.to_lowercase().as_str()),
        })
        .map(|k| (*k).to_owned())
        .collect()
}

/// The AT URI of a post event.
pub fn uri(line: &str) -> String {
    let event: Value = serde_json::from_str(line).expect("event JSON");
    format!(
        "at://{}/app.bsky.feed.post/{}",
        event["did"].as_str().expect("did"),
        event["commit"]["rkey"].as_str().expect("rkey")
    )
}

/// The posts among `events` that must be stored: URI -> (every line carrying it, keywords).
pub fn expected_posts(events: &[String]) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut posts: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for line in events {
        let keywords = expected_keywords(line);
        if keywords.is_empty() {
            continue;
        }
        let entry = posts
            .entry(uri(line))
            .or_insert_with(|| (Vec::new(), keywords));
        entry.0.push(line.clone());
    }
    posts
}

/// Every expected post is stored at least once (`exactly_once`: exactly once), under its AT URI
/// as id and partition key, with source `bluesky`, the right keywords, and one of its messages
/// byte for byte; nothing else is stored.
pub fn assert_posts_stored(events: &[String], stored: &[StoredRecord], exactly_once: bool) {
    let expected = expected_posts(events);
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for record in stored {
        let decoded = twitter_record::decode(&record.data).expect("every record decodes");
        assert_eq!(decoded.source, twitter_record::Source::Bluesky);
        assert_eq!(
            record.partition_key, decoded.id,
            "partition key is the AT URI"
        );
        let Some((lines, keywords)) = expected.get(decoded.id.as_ref()) else {
            panic!("stored a post that must not be: {}", decoded.post.get());
        };
        assert!(
            lines.iter().any(|l| l == decoded.post.get()),
            "post {} is not byte for byte a message that was sent",
            decoded.id
        );
        assert_eq!(&decoded.keywords, keywords, "keywords of {}", decoded.id);
        *copies.entry(decoded.id.into_owned()).or_default() += 1;
    }
    for uri in expected.keys() {
        let n = copies.get(uri).copied().unwrap_or(0);
        assert!(n >= 1, "post {uri} is missing");
        if exactly_once {
            assert_eq!(n, 1, "post {uri} stored {n} times");
        }
    }
}
