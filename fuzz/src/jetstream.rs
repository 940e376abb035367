//! One Jetstream message: decoded, matched against keywords, and taken the producer's way into
//! a record, a Kinesis entry and the spool, then the consumer's way into items.

use time::macros::datetime;
use twitter_consumer::item::{ItemOptions, build_items};
use twitter_producer::batch::{self, Entry, MAX_PARTITION_KEY_CHARS};
use twitter_producer::keyword::Keyword;
use twitter_producer::source::bluesky::decode::{self, Event};
use twitter_producer::source::bluesky::matcher::{Matcher, Pattern, Tokens};

/// Keywords of every kind the matcher tells apart: words, a phrase, a hyphenated word,
/// hashtags, emoji, ideographs, and the two letters whose lowercase is ASCII only in Unicode
/// (`İ` and the Kelvin sign), which the matcher's ASCII prefilter must not miss.
const KEYWORDS: [&str; 11] = [
    "tokio",
    "crab",
    "#IndieRebellion",
    "rust lang",
    "coca-cola",
    "🦀",
    "❤",
    "東京",
    "#Ünïcode",
    "k",
    "i",
];

pub fn jetstream(data: &[u8]) {
    let Some(message) = crate::text(data) else {
        return;
    };
    let post = match decode::classify(message) {
        Ok(Event::PostCreate(post)) => post,
        Ok(Event::Other { .. } | Event::Heartbeat) => return,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert_eq!(post.json, message, "the post is the message as sent");
    let uri = post.uri();
    assert_eq!(
        uri,
        format!("at://{}/app.bsky.feed.post/{}", post.did, post.rkey)
    );
    let hashtags: Vec<&str> = post.hashtags.iter().map(AsRef::as_ref).collect();
    let mut keywords: Vec<String> = KEYWORDS.iter().map(|k| (*k).to_owned()).collect();
    keywords.extend(own_keywords(&post.text, &hashtags));
    let parsed: Vec<Keyword> = keywords
        .iter()
        .filter_map(|k| Keyword::parse(k).ok())
        .filter(|k| Pattern::of(k).is_ok())
        .collect();
    let matcher = Matcher::new(parsed.clone()).expect("the keywords are matchable");
    let mut scratch = Tokens::default();
    let matched = matcher.matching(&post.text, &hashtags, &mut scratch);
    let mut expected: Vec<&str> = Vec::new();
    for keyword in &parsed {
        if !expected.contains(&keyword.tag()) && occurs(keyword, &post.text, &hashtags) {
            expected.push(keyword.tag());
        }
    }
    assert_eq!(
        matched, expected,
        "the matcher disagrees with tokenizing the whole text"
    );
    // The same scratch, reused for a second post as the producer reuses it.
    assert_eq!(
        matcher.matching(&post.text, &hashtags, &mut scratch),
        expected
    );

    let header = twitter_record::Header {
        source: twitter_record::Source::Bluesky,
        id: &uri,
        keywords: &matched,
        received_at: datetime!(2026-01-02 03:04:05.678901 UTC),
    };
    let data = twitter_record::encode(&header, post.json);
    crate::record::round_trip(&data, &header, post.json);
    let key = batch::partition_key(&uri);
    assert!(!key.is_empty() && key.chars().count() <= MAX_PARTITION_KEY_CHARS);
    let record = twitter_record::decode(&data).expect("decodes");
    crate::items::check_built(&record, &build_items(&data, ItemOptions::default()));
    crate::x_stream::entry_spooled(Entry {
        partition_key: key,
        data: data.into(),
        position: post.time_us,
    });
}

/// Keywords the post must match, made of the post itself: its first two tokens as a phrase,
/// and its first hashtag.
fn own_keywords(text: &str, hashtags: &[&str]) -> Vec<String> {
    let mut tokens = Tokens::default();
    tokens.tokenize(text);
    let words: Vec<&str> = tokens.iter().take(2).collect();
    let mut own = Vec::new();
    if !words.is_empty() {
        own.push(words.join(" "));
    }
    if let Some(tag) = hashtags.first() {
        own.push(format!("#{}", tag.trim_start_matches('#')));
    }
    own
}

/// Whether `keyword` occurs in the post, read without the matcher's shortcuts: the whole text
/// tokenized, every hashtag compared.
fn occurs(keyword: &Keyword, text: &str, hashtags: &[&str]) -> bool {
    match Pattern::of(keyword) {
        Ok(Pattern::Phrase(phrase)) => {
            let mut tokens = Tokens::default();
            tokens.tokenize(text);
            tokens.contains_phrase(&phrase)
        }
        Ok(Pattern::Hashtag(wanted)) => hashtags.iter().any(|tag| {
            let tag = tag.strip_prefix('#').unwrap_or(tag);
            tag.chars().flat_map(char::to_lowercase).eq(wanted.chars())
        }),
        Err(_) => false,
    }
}
