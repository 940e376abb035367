//! Bluesky records through the handler into DynamoDB Local: every post creation of the Jetstream
//! fixtures is stored field by field, an event that is not a post creation goes to the
//! dead-letter queue (on moto) with its reason, and text is kept as Bluesky sent it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, event};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use twitter_consumer::{handle, invoke};
use twitter_table::{EventItem, payload};

use testkit::fixtures::jetstream_events as events;
use testkit::records::FixtureRecord;

fn is_post_creation(v: &Value) -> bool {
    v["kind"] == "commit"
        && v["commit"]["operation"] == "create"
        && v["commit"]["collection"] == "app.bsky.feed.post"
}

fn at_uri(v: &Value) -> String {
    format!(
        "at://{}/app.bsky.feed.post/{}",
        v["did"].as_str().unwrap(),
        v["commit"]["rkey"].as_str().unwrap()
    )
}

/// The producer's record for a Jetstream message.
fn record(message: &str, keywords: &[&str]) -> Vec<u8> {
    FixtureRecord::bluesky(message)
        .keywords(keywords)
        .received_at(datetime!(2026-07-04 14:40:00.123 UTC))
        .encode()
}

/// What the item should hold, worked out from the raw message independently of the crate.
fn check_item(item: &EventItem, message: &str) {
    let v: Value = serde_json::from_str(message).unwrap();
    let post = &v["commit"]["record"];
    let did = v["did"].as_str().unwrap();
    assert_eq!(item.id, at_uri(&v));
    assert_eq!(item.username.as_deref(), Some(did));
    assert_eq!(item.author_id.as_deref(), Some(did));
    assert_eq!(
        item.message.as_deref(),
        post["text"].as_str().filter(|t| !t.is_empty())
    );
    assert_eq!(item.lang.as_deref(), post["langs"][0].as_str());
    let created = OffsetDateTime::parse(post["createdAt"].as_str().unwrap(), &Rfc3339).unwrap();
    let created = created.to_offset(time::UtcOffset::UTC);
    assert_eq!(
        item.timestamp,
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            created.year(),
            u8::from(created.month()),
            created.day(),
            created.hour(),
            created.minute(),
            created.second(),
            created.millisecond()
        ),
        "post {}",
        item.id
    );
    let mut tags: Vec<String> = Vec::new();
    for facet in post["facets"].as_array().into_iter().flatten() {
        for feature in facet["features"].as_array().into_iter().flatten() {
            if feature["$type"] == "app.bsky.richtext.facet#tag" {
                let tag = feature["tag"].as_str().unwrap().to_owned();
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
    }
    assert_eq!(item.hashtags, tags, "post {}", item.id);
    assert_eq!(item.name, None);
    assert_eq!(item.country, None);
    assert_eq!(item.like_count, None);
    assert_eq!(item.retweet_count, None);
    assert_eq!(item.received_at, "2026-07-04T14:40:00.123Z");
    assert_eq!(
        payload::decompress(&item.payload).unwrap(),
        message.as_bytes(),
        "the message byte for byte"
    );
}

#[tokio::test]
async fn every_fixture_post_creation_is_stored_and_other_events_are_dead_lettered() {
    let env = Env::start().await;
    let (app, _) = env.app(env.config());
    let posts: Vec<(&str, String)> = events()
        .into_iter()
        .filter_map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            is_post_creation(&v).then(|| (line, at_uri(&v)))
        })
        .collect();
    assert_eq!(posts.len(), 18);
    let mut data: Vec<Vec<u8>> = posts
        .iter()
        .map(|(line, _)| record(line, &["bluesky", "crab"]))
        .collect();
    // A post update that reached the stream anyway (an older or broken producer).
    let update = posts[0]
        .0
        .replacen("\"operation\":\"create\"", "\"operation\":\"update\"", 1);
    data.push(record(&update, &["crab"]));

    let outcome = invoke(
        &app,
        LambdaEvent::new(event(&data, 100), Context::default()),
    )
    .await;
    assert!(
        outcome.response.batch_item_failures.is_empty(),
        "{:?}",
        outcome.response
    );
    assert_eq!(outcome.metrics.poison_records, 1);

    let items = env.items().await;
    assert_eq!(items.len(), 2 * posts.len(), "one item per (post, keyword)");
    for (line, id) in &posts {
        let mine: Vec<&EventItem> = items.iter().filter(|i| &i.id == id).collect();
        let mut keywords: Vec<&str> = mine.iter().map(|i| i.keyword.as_str()).collect();
        keywords.sort_unstable();
        assert_eq!(keywords, ["bluesky", "crab"], "{id}");
        for item in mine {
            check_item(item, line);
        }
    }

    let letters = env.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "not-a-post");
    assert!(
        letters[0].detail.contains("update of app.bsky.feed.post"),
        "{}",
        letters[0].detail
    );
    assert_eq!(letters[0].sequence_number, "118");

    // Redelivery changes nothing.
    let response = handle(
        &app,
        LambdaEvent::new(event(&data[..18], 100), Context::default()),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(env.items().await, items);
}

#[tokio::test]
async fn bluesky_text_is_kept_as_sent_entities_and_all() {
    // X escapes `&`, `<` and `>` in its text; Bluesky does not, so every `&amp;` in a Bluesky
    // post is one its author typed.
    let env = Env::start().await;
    let (app, _) = env.app(env.config());
    let message = include_str!("fixtures/jetstream-raw-text.jsonl").trim_end();
    let v: Value = serde_json::from_str(message).unwrap();
    let text = v["commit"]["record"]["text"].as_str().unwrap();
    assert!(
        text.contains("&amp;") && text.contains("&lt;") && text.contains(" & "),
        "{text}"
    );

    let outcome = invoke(
        &app,
        LambdaEvent::new(event(&[record(message, &["crab"])], 1), Context::default()),
    )
    .await;
    assert!(outcome.response.batch_item_failures.is_empty());
    let items = env.items().await;
    assert_eq!(items.len(), 1);
    check_item(&items[0], message);
    assert_eq!(items[0].message.as_deref(), Some(text));
}
