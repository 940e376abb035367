//! X posts through the handler into DynamoDB Local (the dead-letter queue on moto): items read
//! back field by field against the raw lines, the EMF lines, and the write units DynamoDB
//! reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use common::{Env, event, fixture_posts, record_for};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use twitter_consumer::{MetricKeywords, handle, invoke};
use twitter_table::{EventItem, payload};

/// X's HTML escapes undone, written apart from the crate's decoder: replacing `&amp;` last means
/// no entity can be formed by a replacement, which is what one left-to-right pass gives.
fn as_written(x_text: &str) -> String {
    x_text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn call(
    event: aws_lambda_events::event::kinesis::KinesisEvent,
) -> LambdaEvent<aws_lambda_events::event::kinesis::KinesisEvent> {
    LambdaEvent::new(event, Context::default())
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// What the item should hold, worked out from the raw line independently of the crate's parser.
fn check_item(item: &EventItem, line: &str) {
    let v: Value = serde_json::from_str(line).expect("fixture json");
    let data = &v["data"];
    assert_eq!(Some(item.id.clone()), text(data, "/id"));
    let created = text(data, "/created_at").expect("created_at");
    // X sends milliseconds already; the item keeps the same instant, in the same form.
    assert_eq!(item.timestamp, created, "post {}", item.id);
    let full_text = text(data, "/note_tweet/text").or_else(|| text(data, "/text"));
    assert_eq!(
        item.message,
        full_text.as_deref().map(as_written),
        "post {}",
        item.id
    );
    assert_eq!(item.author_id, text(data, "/author_id"));
    assert_eq!(item.lang, text(data, "/lang"));
    let author = v["includes"]["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["id"] == data["author_id"]));
    assert_eq!(
        item.username,
        author.and_then(|u| text(u, "/username")),
        "post {}",
        item.id
    );
    assert_eq!(item.name, author.and_then(|u| text(u, "/name")));
    let place = data.pointer("/geo/place_id").and_then(|pid| {
        v["includes"]["places"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| &p["id"] == pid))
    });
    assert_eq!(
        item.country,
        place.and_then(|p| text(p, "/country")),
        "post {}",
        item.id
    );
    assert_eq!(
        item.country_code,
        place.and_then(|p| text(p, "/country_code"))
    );
    let entities = if data.pointer("/note_tweet/text").is_some()
        && data.pointer("/note_tweet/entities").is_some()
    {
        &data["note_tweet"]["entities"]
    } else {
        &data["entities"]
    };
    let mut hashtags: Vec<String> = Vec::new();
    for t in entities["hashtags"].as_array().into_iter().flatten() {
        let tag = t["tag"].as_str().expect("tag").to_owned();
        if !hashtags.contains(&tag) {
            hashtags.push(tag);
        }
    }
    assert_eq!(item.hashtags, hashtags);
    let mut mentions: Vec<String> = Vec::new();
    for m in entities["mentions"].as_array().into_iter().flatten() {
        let name = m["username"].as_str().expect("username").to_owned();
        if !mentions.contains(&name) {
            mentions.push(name);
        }
    }
    assert_eq!(item.mentions, mentions, "post {}", item.id);
    assert_eq!(
        item.like_count,
        data.pointer("/public_metrics/like_count")
            .and_then(Value::as_u64)
    );
    assert_eq!(
        item.retweet_count,
        data.pointer("/public_metrics/retweet_count")
            .and_then(Value::as_u64)
    );
    assert_eq!(item.received_at, "2026-01-02T03:04:05.678Z");
    assert_eq!(
        payload::decompress(&item.payload).expect("payload"),
        line.as_bytes()
    );
}

#[tokio::test]
async fn fixture_posts_are_stored_field_by_field_and_redelivery_changes_nothing() {
    let env = Env::start().await;
    let posts = fixture_posts();
    // The metrics follow three of the fixture's keywords; the others count under (other).
    let mut all_keywords: Vec<String> = Vec::new();
    for k in posts.iter().flat_map(|p| &p.keywords) {
        if !all_keywords.contains(k) {
            all_keywords.push(k.clone());
        }
    }
    assert!(all_keywords.len() > 3, "{all_keywords:?}");
    let listed = &all_keywords[..3];
    let config = env
        .config()
        .with_metric_keywords(MetricKeywords::new(listed).unwrap());
    let (app, sink) = env.app(config);
    let data: Vec<Vec<u8>> = posts.iter().map(record_for).collect();

    let response = handle(&app, call(event(&data, 1))).await.expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let items = env.items().await;
    // One item per (post, keyword); the fixture repeats no (id, keyword) pair across distinct lines
    // except true repeats, which collapse.
    let mut expected_keys = BTreeSet::new();
    for p in &posts {
        let keywords: Vec<String> = if p.keywords.is_empty() {
            vec!["(none)".into()]
        } else {
            p.keywords.clone()
        };
        for k in keywords {
            expected_keys.insert((p.id.clone(), k));
        }
    }
    let stored_keys: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| (i.id.clone(), i.keyword.clone()))
        .collect();
    assert_eq!(stored_keys, expected_keys);
    for item in &items {
        // The last line in the batch with this id wins, as in the batch.
        let post = posts.iter().rev().find(|p| p.id == item.id).expect("post");
        check_item(item, &post.line);
    }
    // A post that matched two keywords is stored under both.
    let multi = posts
        .iter()
        .find(|p| p.keywords.len() > 1)
        .expect("a multi-keyword fixture post");
    assert_eq!(
        items.iter().filter(|i| i.id == multi.id).count(),
        multi.keywords.len()
    );

    // Redelivery of the same batch (Kinesis is at-least-once) leaves the table as it was.
    let response = handle(&app, call(event(&data, 1))).await.expect("handler");
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(env.items().await, items);

    // And the invocation printed EMF totals matching what it wrote, and one line per listed
    // keyword plus (other), which together hold every item.
    let lines = sink.lock().unwrap().clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("emf"))
        .collect();
    // The first invocation's lines: up to the redelivery's totals line.
    let end = parsed
        .iter()
        .skip(1)
        .position(|v| v.get("Records").is_some())
        .map_or(parsed.len(), |p| p + 1);
    let first = &parsed[..end];
    let totals = &first[0];
    assert_eq!(totals["ItemsWritten"].as_u64(), Some(items.len() as u64));
    assert_eq!(totals["Records"].as_u64(), Some(posts.len() as u64));
    let mut by_value: BTreeMap<String, u64> = BTreeMap::new();
    for line in first {
        assert_eq!(line["FunctionName"], "twitter-consumer", "{line}");
        if let Some(keyword) = line["Keyword"].as_str() {
            by_value.insert(keyword.to_owned(), line["PostsWritten"].as_u64().unwrap());
        }
    }
    let mut expected_values: BTreeSet<String> = listed.iter().cloned().collect();
    expected_values.insert("(other)".to_owned());
    assert_eq!(
        by_value.keys().cloned().collect::<BTreeSet<_>>(),
        expected_values
    );
    assert_eq!(by_value.values().sum::<u64>(), items.len() as u64);
    for keyword in listed {
        let under = items.iter().filter(|i| &i.keyword == keyword).count() as u64;
        assert_eq!(by_value[keyword], under, "{keyword}");
    }
    assert!(env.dead_letters().await.is_empty());
}

/// What DynamoDB itself charges for writing `items` into a table of the same schema, one put
/// each: the oracle for the function's `WriteUnits`.
async fn charged(
    env: &Env,
    table: &str,
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> f64 {
    let mut units = 0.0;
    for item in items {
        let output = env
            .dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        units += output
            .consumed_capacity()
            .unwrap()
            .capacity_units()
            .unwrap();
    }
    units
}

#[tokio::test]
async fn write_units_are_the_ones_dynamodb_reports() {
    let env = Env::start().await;
    let (app, sink) = env.app(env.config());
    let posts = fixture_posts();
    // More than one request of 25.
    let data: Vec<Vec<u8>> = posts.iter().take(40).map(record_for).collect();

    let first = invoke(&app, call(event(&data, 1))).await;
    assert!(first.response.batch_item_failures.is_empty());
    let stored = env.raw_items().await;
    assert_eq!(first.metrics.items_written, stored.len() as u64);
    let oracle = common::new_table(&env.dynamodb).await;
    let first_time = charged(&env, &oracle, &stored).await;
    assert_eq!(first.metrics.write_units as f64, first_time);

    // Redelivery rewrites identical items: DynamoDB charges the items again but no index entry
    // (nothing the index holds changed), which no estimate from the items' sizes can know.
    let again = invoke(&app, call(event(&data, 1))).await;
    let second_time = charged(&env, &oracle, &stored).await;
    assert_eq!(again.metrics.write_units as f64, second_time);
    assert!(second_time < first_time, "{second_time} vs {first_time}");

    let lines = sink.lock().unwrap().clone();
    let totals: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("Records").is_some())
        .collect();
    assert_eq!(totals[0]["WriteUnits"].as_f64(), Some(first_time));
    assert_eq!(totals[1]["WriteUnits"].as_f64(), Some(second_time));
}

#[tokio::test]
async fn x_html_escapes_are_undone_in_the_message_and_kept_in_the_payload() {
    let env = Env::start().await;
    let (app, _) = env.app(env.config());
    let lines: Vec<&str> = include_str!("fixtures/x-escaped-text.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let posts: Vec<common::FixturePost> = lines
        .iter()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            common::FixturePost {
                id: v["data"]["id"].as_str().unwrap().to_owned(),
                keywords: v["matching_rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["tag"].as_str().unwrap().to_owned())
                    .collect(),
                line: (*line).to_owned(),
            }
        })
        .collect();
    let data: Vec<Vec<u8>> = posts.iter().map(record_for).collect();
    let outcome = invoke(&app, call(event(&data, 1))).await;
    assert!(outcome.response.batch_item_failures.is_empty());
    assert_eq!(outcome.metrics.poison_records, 0);

    let items = env.items().await;
    for post in &posts {
        let mine: Vec<&EventItem> = items.iter().filter(|i| i.id == post.id).collect();
        assert_eq!(mine.len(), post.keywords.len(), "{}", post.id);
        for item in mine {
            check_item(item, &post.line);
        }
    }
    let message = |id: &str| {
        items
            .iter()
            .find(|i| i.id == id)
            .and_then(|i| i.message.clone())
            .unwrap()
    };
    assert_eq!(
        message("1790124900000000001"),
        "Rust & Tokio: Vec<u8> -> String <3 #rust"
    );
    // What the author typed as an entity is kept as one, and what X does not escape is left.
    assert_eq!(
        message("1790124900000000002"),
        "@Crab to write &lt; in HTML type &amp;lt; and &quot;as typed&quot; stays &#39;as is&#39; &amp"
    );
    let long = message("1790124900000000003");
    assert!(
        long.starts_with("#long post & more: a <b>bold</b> claim > 280 #html"),
        "{long}"
    );
    assert!(long.ends_with("<end>"), "{long}");
}

#[tokio::test]
async fn duplicates_in_one_batch_are_written_once_with_the_later_copy() {
    let env = Env::start().await;
    let (app, _) = env.app(env.config());
    let posts = fixture_posts();
    let mut first = posts[0].clone();
    let mut second = posts[0].clone();
    // Same post id and keyword, different content: the later record is the newer copy.
    first.line = first.line.replacen("\"lang\":\"en\"", "\"lang\":\"fr\"", 1);
    second.line = second
        .line
        .replacen("\"lang\":\"en\"", "\"lang\":\"de\"", 1);
    assert_ne!(first.line, second.line, "fixture must carry lang en");
    let data = vec![
        record_for(&first),
        record_for(&posts[1]),
        record_for(&second),
        record_for(&posts[1]),
    ];

    let outcome = invoke(&app, call(event(&data, 100))).await;
    assert!(outcome.response.batch_item_failures.is_empty());
    let keywords = |p: &common::FixturePost| p.keywords.len().max(1) as u64;
    assert_eq!(
        outcome.metrics.duplicates,
        keywords(&posts[0]) + keywords(&posts[1])
    );
    assert_eq!(outcome.metrics.posts_written, 2);

    let items = env.items().await;
    assert_eq!(
        items.len() as u64,
        keywords(&posts[0]) + keywords(&posts[1])
    );
    for item in items.iter().filter(|i| i.id == posts[0].id) {
        assert_eq!(item.lang.as_deref(), Some("de"));
    }
}

#[tokio::test]
async fn every_kind_of_poison_goes_to_the_dead_letter_queue_and_good_records_around_it_are_stored()
{
    let env = Env::start().await;
    let (app, _) = env.app(env.config());
    let posts = fixture_posts();
    let not_json = b"\x00\x01 definitely not json".to_vec();
    let not_format = br#"{"hello":"world"}"#.to_vec();
    let missing_id = br#"{"v":1,"source":"x","keywords":["rust"],"received_at":"2026-01-02T03:04:05Z","post":{"data":{"text":"t"}}}"#.to_vec();
    // An uncompressible post too large for a 400 KB item (Kinesis takes up to 1 MiB).
    let mut x: u64 = 99;
    let noise: String = (0..700_000)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'!' + ((x >> 40) % 90) as u8)
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let huge_line = format!(r#"{{"data":{{"id":"777","text":"{noise}"}}}}"#);
    let huge = common::record_for(&common::FixturePost {
        id: "777".into(),
        keywords: vec!["k".into()],
        line: huge_line,
    });
    assert!(huge.len() < 1024 * 1024);

    let data = vec![
        record_for(&posts[0]),
        not_json.clone(),
        record_for(&posts[1]),
        not_format.clone(),
        missing_id.clone(),
        huge.clone(),
        record_for(&posts[2]),
    ];
    let outcome = invoke(&app, call(event(&data, 10))).await;
    assert!(
        outcome.response.batch_item_failures.is_empty(),
        "poison must not block the shard: {:?}",
        outcome.response
    );
    assert_eq!(outcome.metrics.poison_records, 4);

    let stored: BTreeSet<String> = env.items().await.into_iter().map(|i| i.id).collect();
    let expected: BTreeSet<String> = [&posts[0], &posts[1], &posts[2]]
        .iter()
        .map(|p| p.id.clone())
        .collect();
    assert_eq!(stored, expected);

    let letters = env.dead_letters().await;
    let mut by_seq: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for l in letters {
        by_seq.entry(l.sequence_number.clone()).or_default().push(l);
    }
    let expect = [
        ("11", "not-json", &not_json),
        ("13", "not-record-format", &not_format),
        ("14", "missing-id", &missing_id),
        ("15", "too-large", &huge),
    ];
    assert_eq!(by_seq.len(), expect.len());
    for (seq, reason, bytes) in expect {
        let parts = by_seq
            .get(seq)
            .unwrap_or_else(|| panic!("no dead letter for {seq}"));
        assert_eq!(parts[0].reason, reason);
        assert_eq!(parts[0].shard_id, "shardId-000000000000");
        assert_eq!(parts[0].event_id, format!("shardId-000000000000:{seq}"));
        assert_eq!(parts[0].event_source_arn, common::STREAM_ARN);
        assert_eq!(
            &twitter_consumer::dlq::reassemble(parts).expect("whole record"),
            bytes
        );
    }
}

#[tokio::test]
async fn unreachable_dead_letter_queue_reports_the_poison_record_as_failed() {
    let env = Env::start().await;
    let missing_queue = format!("{}/123456789012/no-such-queue", env.moto.endpoint());
    let config = common::test_config(&env.table).with_dead_letter_queue(missing_queue);
    let (app, _) = env.app(config);
    let posts = fixture_posts();
    let data = vec![
        record_for(&posts[0]),
        b"poison".to_vec(),
        record_for(&posts[1]),
    ];
    let outcome = invoke(&app, call(event(&data, 1))).await;
    let failures: Vec<_> = outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, [Some("2".to_owned())]);
    // The good records were still written; the retry from 2 rewrites 3, which is harmless.
    assert_eq!(
        env.items()
            .await
            .iter()
            .map(|i| i.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        2
    );
}

#[tokio::test]
async fn retention_days_sets_the_ttl_attribute() {
    let env = Env::start().await;
    let (app, _) = env.app(env.config().with_retention_days(7));
    let posts = fixture_posts();
    handle(&app, call(event(&[record_for(&posts[0])], 1)))
        .await
        .expect("handler");
    let items = env.items().await;
    let received = time::macros::datetime!(2026-01-02 03:04:05 UTC).unix_timestamp();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|i| i.expires_at == Some(received + 7 * 86_400))
    );
}

#[tokio::test]
async fn missing_table_is_reported_not_dead_lettered() {
    let env = Env::start().await;
    let (app, _) =
        env.app(common::test_config("no-such-table").with_dead_letter_queue(&env.queue_url));
    let posts = fixture_posts();
    let data = vec![record_for(&posts[0]), record_for(&posts[1])];
    let outcome = invoke(&app, call(event(&data, 5))).await;
    assert_eq!(outcome.retry_from.as_deref(), Some("5"));
    assert_eq!(outcome.metrics.retried_records, 2);
    assert!(env.dead_letters().await.is_empty());
}
