//! Shared helpers for the query tool's integration tests: a table in DynamoDB Local (one instance
//! per test binary, a table per test) seeded with the table's own item type, each item's attributes read from the raw JSON of a corpus made from the X stream
//! fixtures with known times, and the expected values worked out from that same raw JSON (never
//! from the code under test).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Output;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde_json::Value;
use testkit::dynamodb_local::DynamoDbLocal;
use testkit::moto::unique_name;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use twitter_table::{EventItem, payload, schema};

pub use testkit::fixtures::FixturePost;

/// Every complete post line of the X stream fixtures (the producer never writes system messages
/// or the truncated line).
pub fn fixture_posts() -> Vec<FixturePost> {
    let posts = testkit::fixtures::x_posts().expect("the X stream fixtures");
    assert!(posts.len() > 50, "fixture corpus: {} posts", posts.len());
    posts
}

/// One post of a test corpus: a fixture line under a new id and creation time, and the keywords
/// a producer would have given it.
#[derive(Debug, Clone)]
pub struct CorpusPost {
    pub id: String,
    pub created_at: OffsetDateTime,
    pub keywords: Vec<String>,
    pub line: String,
}

impl CorpusPost {
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.line).unwrap()
    }

    /// The stored timestamp, written here independently of the consumer's formatter.
    pub fn timestamp(&self) -> String {
        let t = self.created_at;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    pub fn text(&self) -> Option<String> {
        let v = self.value();
        v.pointer("/data/note_tweet/text")
            .or_else(|| v.pointer("/data/text"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    pub fn lang(&self) -> Option<String> {
        self.value()
            .pointer("/data/lang")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    pub fn username(&self) -> Option<String> {
        self.author()?["username"].as_str().map(str::to_owned)
    }

    pub fn country(&self) -> Option<String> {
        self.place()?["country"].as_str().map(str::to_owned)
    }

    /// Hashtags as X sent them (of the long form when the post has one), without the #.
    pub fn hashtags(&self) -> Vec<String> {
        self.entities("hashtags", "tag")
    }

    /// Mentioned handles as X sent them (of the long form when the post has one).
    pub fn mentions(&self) -> Vec<String> {
        self.entities("mentions", "username")
    }

    fn entities(&self, kind: &str, field: &str) -> Vec<String> {
        let v = self.value();
        let data = &v["data"];
        let entities = if data.pointer("/note_tweet/text").is_some()
            && data.pointer("/note_tweet/entities").is_some()
        {
            &data["note_tweet"]["entities"]
        } else {
            &data["entities"]
        };
        entities[kind]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h[field].as_str().map(str::to_owned))
            .collect()
    }

    /// The author's entry in `includes.users`.
    fn author(&self) -> Option<Value> {
        let v = self.value();
        let author = v.pointer("/data/author_id")?.clone();
        v["includes"]["users"]
            .as_array()?
            .iter()
            .find(|u| u["id"] == author)
            .cloned()
    }

    /// The post's entry in `includes.places`.
    fn place(&self) -> Option<Value> {
        let v = self.value();
        let place = v.pointer("/data/geo/place_id")?.clone();
        v["includes"]["places"]
            .as_array()?
            .iter()
            .find(|p| p["id"] == place)
            .cloned()
    }

    /// The items the table holds for this post, one per keyword, as the table's documented
    /// mapping from an X post (table/README.md) says: every attribute read here from the raw
    /// JSON, not by the consumer's item builder.
    pub fn items(&self) -> Vec<EventItem> {
        let v = self.value();
        let string = |pointer: &str| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let count = |name: &str| {
            v.pointer(&format!("/data/public_metrics/{name}"))
                .and_then(Value::as_u64)
        };
        let author = self.author();
        let place = self.place();
        let field = |object: &Option<Value>, name: &str| {
            object
                .as_ref()
                .and_then(|o| o[name].as_str())
                .map(str::to_owned)
        };
        let template = EventItem {
            id: self.id.clone(),
            keyword: String::new(),
            timestamp: self.timestamp(),
            username: self.username(),
            message: self.text(),
            author_id: string("/data/author_id"),
            name: field(&author, "name"),
            lang: self.lang(),
            country: self.country(),
            country_code: field(&place, "country_code"),
            hashtags: each_once(self.hashtags()),
            mentions: each_once(self.mentions()),
            retweet_count: count("retweet_count"),
            reply_count: count("reply_count"),
            like_count: count("like_count"),
            quote_count: count("quote_count"),
            bookmark_count: count("bookmark_count"),
            impression_count: count("impression_count"),
            received_at: RECEIVED_AT.to_owned(),
            payload: payload::compress(self.line.as_bytes()).unwrap(),
            expires_at: None,
        };
        let mut keywords = each_once(self.keywords.iter().map(|k| k.trim().to_owned()).collect());
        if keywords.is_empty() {
            keywords.push(schema::NO_KEYWORD.to_owned());
        }
        keywords
            .into_iter()
            .map(|keyword| EventItem {
                keyword,
                ..template.clone()
            })
            .collect()
    }
}

/// When every corpus post was received.
pub const RECEIVED_AT: &str = "2026-02-01T00:00:00.000Z";

/// The first of each value, in order, without empty ones (the table stores lists that way).
fn each_once(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// A fixture line with another post id and creation time (everything else as X sent it).
pub fn variant(line: &str, id: &str, created_at: OffsetDateTime) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    v["data"]["id"] = Value::String(id.to_owned());
    v["data"]["created_at"] = Value::String(created_at.format(&Rfc3339).unwrap());
    serde_json::to_string(&v).unwrap()
}

/// The first post of the standard corpus.
pub const CORPUS_START: OffsetDateTime = datetime!(2026-01-01 20:00:00 UTC);
/// Posts in the standard corpus.
pub const CORPUS_SIZE: usize = 150;

/// The standard corpus: [`CORPUS_SIZE`] posts made from the fixture lines in turn, 7 min 13.037 s
/// apart from 2026-01-01 20:00 UTC (so they cross midnight and many hours), every one under
/// `alpha`, every third also under `beta`, and each under its fixture line's own rule tags.
pub fn corpus() -> Vec<CorpusPost> {
    let fixtures = fixture_posts();
    (0..CORPUS_SIZE)
        .map(|i| {
            let f = &fixtures[i % fixtures.len()];
            let created_at =
                CORPUS_START + Duration::milliseconds(433_037 * i64::try_from(i).unwrap());
            let id = (1_900_000_000_000_000_000u64 + i as u64).to_string();
            let mut keywords = vec!["alpha".to_owned()];
            if i % 3 == 0 {
                keywords.push("beta".to_owned());
            }
            keywords.extend(f.keywords.iter().cloned());
            CorpusPost {
                line: variant(&f.line, &id, created_at),
                id,
                created_at,
                keywords,
            }
        })
        .collect()
}

/// The posts stored under `keyword`.
pub fn under<'a>(corpus: &'a [CorpusPost], keyword: &str) -> Vec<&'a CorpusPost> {
    corpus
        .iter()
        .filter(|p| p.keywords.iter().any(|k| k == keyword))
        .collect()
}

/// Every keyword of a corpus with its post count and first and last timestamp.
pub fn keyword_summary(corpus: &[CorpusPost]) -> BTreeMap<String, (u64, String, String)> {
    let mut out: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
    for p in corpus {
        let unique: BTreeSet<&String> = p.keywords.iter().collect();
        for k in unique {
            let ts = p.timestamp();
            let e = out.entry(k.clone()).or_insert((0, ts.clone(), ts.clone()));
            e.0 += 1;
            if ts < e.1 {
                e.1 = ts.clone();
            }
            if ts > e.2 {
                e.2 = ts;
            }
        }
    }
    out
}

/// An EventData table of its own, created from the table's schema, in the test binary's one
/// DynamoDB Local.
pub struct Env {
    pub local: &'static DynamoDbLocal,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl Env {
    pub async fn start() -> Env {
        let local = DynamoDbLocal::shared().await.expect("DynamoDB Local");
        // A client per test: its connections belong to this test's runtime.
        let dynamodb = local.dynamodb().await;
        let table = unique_name("events");
        twitter_table::admin::create_table(&dynamodb, &table)
            .await
            .expect("table");
        Env {
            local,
            dynamodb,
            table,
        }
    }

    /// Environment for the binary: credentials, and DynamoDB at DynamoDB Local.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.local.env()
    }

    /// A second, empty table on the same server.
    pub async fn empty_table(&self) -> String {
        let table = unique_name("empty");
        twitter_table::admin::create_table(&self.dynamodb, &table)
            .await
            .expect("table");
        table
    }

    /// Stores the posts' items ([`CorpusPost::items`]) with BatchWriteItem.
    pub async fn seed(&self, posts: &[CorpusPost]) {
        let items: Vec<EventItem> = posts.iter().flat_map(CorpusPost::items).collect();
        self.put(&items).await;
    }

    /// Stores `items` as they are, with BatchWriteItem (25 a request, DynamoDB's limit).
    pub async fn put(&self, items: &[EventItem]) {
        for chunk in items.chunks(25) {
            let requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.to_attributes().unwrap()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let out = self
                .dynamodb
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .expect("batch write");
            assert!(
                out.unprocessed_items().is_none_or(HashMap::is_empty),
                "DynamoDB Local left items unprocessed"
            );
        }
    }

    /// Runs the real `twitter-query` binary against this table.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_on(&self.table, args)
    }

    pub fn run_on(&self, table: &str, args: &[&str]) -> Run {
        let mut command = query_command(args);
        command.envs(self.env()).env("TABLE_NAME", table);
        Run::from(command.output().expect("run twitter-query"))
    }
}

/// The binary with a clean, predictable environment (no colour, 100 columns, no AWS settings
/// from the machine).
pub fn query_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_twitter-query"));
    command.args(args);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("AWS_") || key == "TABLE_NAME" || key == "NO_COLOR" {
            command.env_remove(key);
        }
    }
    command.env("COLUMNS", "100");
    command
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: output.stdout,
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Run {
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Succeeded; panics with what it printed otherwise.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "stderr: {}\nstdout: {}",
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.stdout)))
    }

    /// CSV rows as maps from header to value.
    pub fn csv(&self) -> Vec<BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_reader(self.stdout.as_slice());
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// The `--consumed-capacity` line's request count for one operation.
    pub fn requests(&self, operation: &str) -> u64 {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("read capacity: "))
            .unwrap_or_else(|| panic!("no capacity line in {:?}", self.stderr));
        let part = line
            .split("; ")
            .find(|p| p.starts_with(&format!("{operation}: ")))
            .unwrap_or_else(|| panic!("no {operation} in {line:?}"));
        part[operation.len() + 2..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}
