//! The real `twitter-query` binary against DynamoDB Local, the table seeded with the table's item
//! type from the fixture JSON; every output format parsed back and compared with values worked out
//! from that JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{CORPUS_SIZE, CorpusPost, Env, corpus, keyword_summary, under};
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A text cell as `--csv` writes one of these posts (no control characters in them): with a
/// `'` first when it starts as a formula would (`=`, `+`, `-`, `@`), so a reply, `@user ...`,
/// reads `'@user ...`.
fn csv_text(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn link(id: &str) -> String {
    format!("https://x.com/i/web/status/{id}")
}

/// `2026-01-01T20:07:13.037Z` -> `2026-01-01T20:07:13.037Z` as a time.
fn at(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

fn newest_first<'a>(posts: &[&'a CorpusPost]) -> Vec<&'a CorpusPost> {
    let mut sorted = posts.to_vec();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    sorted
}

#[tokio::test]
async fn latest_lists_the_newest_posts_newest_first_in_every_format() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let expected: Vec<&CorpusPost> = newest_first(&under(&corpus, "beta"))
        .into_iter()
        .take(12)
        .collect();

    let json = env
        .run(&["latest", "beta", "--count", "12", "--json"])
        .ok()
        .json();
    let posts = json.as_array().unwrap();
    assert_eq!(posts.len(), 12);
    for (got, want) in posts.iter().zip(&expected) {
        assert_eq!(got["id"], want.id.as_str());
        assert_eq!(got["timestamp"], want.timestamp().as_str());
        assert_eq!(got["username"].as_str(), want.username().as_deref());
        assert_eq!(got["text"].as_str(), want.text().as_deref());
        assert_eq!(got["link"], link(&want.id).as_str());
    }

    // A page of 5 items: three Query pages, the same answer.
    let paged = env.run(&[
        "latest",
        "beta",
        "--count",
        "12",
        "--json",
        "--page-size",
        "5",
        "--consumed-capacity",
    ]);
    let paged = paged.ok();
    assert_eq!(paged.json(), json);
    assert_eq!(paged.requests("Query"), 3);
    assert_eq!(paged.requests("BatchGetItem"), 1);

    let rows = env.run(&["latest", "beta", "-n", "12", "--csv"]).ok().csv();
    assert_eq!(rows.len(), 12);
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(row["id"], want.id);
        assert_eq!(row["timestamp"], want.timestamp());
        assert_eq!(row["link"], link(&want.id));
        assert_eq!(Some(row["text"].clone()), want.text().map(csv_text));
    }

    let human = env.run(&["latest", "beta", "--count", "12"]).ok().text();
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines[0], "newest 12 posts under \"beta\" (times UTC)");
    assert_eq!(lines.len(), 1 + 2 * 12, "{human}");
    for (pair, want) in lines[1..].chunks(2).zip(&expected) {
        let time = want.timestamp().replacen('T', " ", 1);
        assert!(pair[0].starts_with(&time[..19]), "{} vs {time}", pair[0]);
        assert!(
            pair[0].contains(&format!("@{}", want.username().unwrap())),
            "{}",
            pair[0]
        );
        assert!(twitter_query::render::width(pair[0]) <= 100, "{}", pair[0]);
        assert_eq!(pair[1], format!("  {}", link(&want.id)));
    }

    // More than one BatchGetItem request (100 keys each): every post still gets its text.
    let all = env
        .run(&[
            "latest",
            "alpha",
            "--count",
            "1000",
            "--json",
            "--consumed-capacity",
        ])
        .ok();
    let posts = all.json();
    let posts = posts.as_array().unwrap();
    assert_eq!(posts.len(), CORPUS_SIZE);
    assert_eq!(all.requests("BatchGetItem"), 2);
    let order: Vec<&str> = posts.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = newest_first(&under(&corpus, "alpha"))
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(order, want);
    assert!(posts.iter().all(|p| p["text"].is_string()));
}

#[tokio::test]
async fn show_prints_one_post_with_all_its_keywords_and_raw_prints_the_line_exactly() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    // A post under alpha, beta and its fixture tags.
    let post = corpus
        .iter()
        .find(|p| p.keywords.len() >= 3)
        .expect("a post with three keywords");
    let want_keywords: BTreeSet<&str> = post.keywords.iter().map(String::as_str).collect();

    let json = env.run(&["show", &post.id, "--json"]).ok().json();
    let keywords: BTreeSet<&str> = json["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keywords, want_keywords);
    assert_eq!(
        json["keywords"].as_array().unwrap().len(),
        want_keywords.len()
    );
    assert_eq!(json["id"], post.id.as_str());
    assert_eq!(json["timestamp"], post.timestamp().as_str());
    assert_eq!(json["text"].as_str(), post.text().as_deref());
    assert_eq!(json["username"].as_str(), post.username().as_deref());
    assert_eq!(json["lang"].as_str(), post.lang().as_deref());
    assert_eq!(json["link"], link(&post.id).as_str());
    let v = post.value();
    assert_eq!(
        json["like_count"].as_u64(),
        v.pointer("/data/public_metrics/like_count")
            .and_then(Value::as_u64)
    );

    let rows = env.run(&["show", &post.id, "--csv"]).ok().csv();
    assert_eq!(rows.len(), 1);
    let keywords: BTreeSet<&str> = rows[0]["keywords"].split('|').collect();
    assert_eq!(keywords, want_keywords);
    assert_eq!(Some(rows[0]["text"].clone()), post.text().map(csv_text));

    let human = env.run(&["show", &post.id]).ok().text();
    assert!(
        human.starts_with(&format!("@{}", post.username().unwrap())),
        "{human}"
    );
    assert!(human.contains(&link(&post.id)));
    let mut sorted: Vec<&str> = want_keywords.iter().copied().collect();
    sorted.sort_unstable();
    assert!(human.contains(&sorted.join(", ")), "{human}");

    // The original line, byte for byte, rebuilt from the stored payload.
    let raw = env.run(&["show", &post.id, "--raw"]).ok();
    assert_eq!(raw.stdout, post.line.as_bytes());

    let unknown = env.run(&["show", "123"]);
    assert_eq!(unknown.code, Some(2));
    assert_eq!(
        unknown.stderr,
        format!("error: no post with id \"123\" in table {}\n", env.table)
    );
    let conflict = env.run(&["show", &post.id, "--raw", "--json"]);
    assert_eq!(conflict.code, Some(2));
    assert!(
        conflict.stderr.starts_with("error: --raw"),
        "{}",
        conflict.stderr
    );
    assert_eq!(conflict.stderr.lines().count(), 1);
}

/// What `stats --by` should answer for `posts`, worked out from the corpus.
fn expected_groups(by: &str, posts: &[&CorpusPost]) -> Vec<(String, u64)> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for p in posts {
        let keys: Vec<String> = match by {
            "hour" => vec![format!("{}:00:00Z", &p.timestamp()[..13])],
            "day" => vec![p.timestamp()[..10].to_owned()],
            "lang" => vec![p.lang().unwrap_or_else(|| "(none)".into())],
            "country" => vec![p.country().unwrap_or_else(|| "(none)".into())],
            "author" => vec![p.username().unwrap_or_else(|| "(none)".into())],
            "hashtag" => {
                let tags: BTreeSet<String> =
                    p.hashtags().iter().map(|h| h.to_lowercase()).collect();
                if tags.is_empty() {
                    vec!["(none)".into()]
                } else {
                    tags.into_iter().collect()
                }
            }
            _ => unreachable!(),
        };
        for k in keys {
            *counts.entry(k).or_default() += 1;
        }
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    if by == "hour" || by == "day" {
        out.sort();
    } else {
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    out
}

fn buckets(json: &Value) -> Vec<(String, u64)> {
    json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_owned(),
                b["posts"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn stats_counts_match_the_fixture_posts_for_every_grouping() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let alpha = under(&corpus, "alpha");

    for by in ["hour", "day", "lang", "country", "hashtag", "author"] {
        let want = expected_groups(by, &alpha);
        let json = env
            .run(&["stats", "alpha", "--by", by, "--json"])
            .ok()
            .json();
        assert_eq!(json["posts"], CORPUS_SIZE as u64, "{by}");
        assert_eq!(json["by"], by);
        assert_eq!(buckets(&json), want, "--by {by}");

        let rows = env.run(&["stats", "alpha", "--by", by, "--csv"]).ok().csv();
        let got: Vec<(String, u64)> = rows
            .iter()
            .map(|r| (r[by].clone(), r["posts"].parse().unwrap()))
            .collect();
        assert_eq!(got, want, "--by {by} --csv");

        let human = env.run(&["stats", "alpha", "--by", by]).ok().text();
        let lines: Vec<&str> = human.lines().collect();
        assert!(
            lines[0].starts_with(&format!(
                "\"alpha\": {CORPUS_SIZE} posts, all time, by {by}"
            )),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len(), 2 + want.len(), "{human}");
        for line in &lines {
            assert!(twitter_query::render::width(line) <= 100, "{line}");
        }
        // Each row names its group and count, in the same order.
        for (line, (key, count)) in lines[2..].iter().zip(&want) {
            let shown = match by {
                "hour" => key[..16].replacen('T', " ", 1),
                "hashtag" if key != "(none)" => format!("#{key}"),
                "author" if key != "(none)" => format!("@{key}"),
                _ => key.clone(),
            };
            let shown: String = shown.chars().take(30).collect();
            assert!(line.starts_with(&shown), "{line} / {shown}");
            assert!(line.contains(&format!(" {count} ")), "{line} / {count}");
        }
    }
    // The day grouping crosses midnight: both days are there.
    let days = expected_groups("day", &alpha);
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].0, "2026-01-01");

    // A window: from post 20 (inclusive) to post 40 (exclusive), exact to the millisecond.
    let since = alpha[20].timestamp();
    let until = alpha[40].timestamp();
    let want = expected_groups("hour", &alpha[20..40]);
    let window = ["--since", since.as_str(), "--until", until.as_str()];
    let run = |extra: &[&str]| {
        let args = [
            &["stats", "alpha", "--by", "hour", "--json"][..],
            &window,
            extra,
        ]
        .concat();
        env.run(&args).ok()
    };
    // One request at a time: 20 items in pages of 6 are 4 pages.
    let sequential = run(&["--page-size", "6", "--parallel", "1", "--consumed-capacity"]);
    assert_eq!(sequential.requests("Query"), 4);
    let json = sequential.json();
    assert_eq!(json["posts"], 20);
    assert_eq!(buckets(&json), want);
    // Past the first page the rest is read in time slices, several at once: same answer.
    let sliced = run(&["--page-size", "6", "--consumed-capacity"]);
    assert!(sliced.requests("Query") > 4);
    assert_eq!(sliced.json(), json);
    assert_eq!(json["since"], since.replace(".000Z", "Z").as_str());
    assert_eq!(json["until"], until.replace(".000Z", "Z").as_str());

    // A millisecond before post 40 is the last instant of the window: post 40 is still out,
    // and moving the end one millisecond later takes it in.
    let until_plus = twitter_table::utc_millis(at(&until) + Duration::milliseconds(1));
    let json = env
        .run(&[
            "stats",
            "alpha",
            "--since",
            &since,
            "--until",
            &until_plus,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["posts"], 21);
}

/// Posts sharing one creation time, read in small pages: a page boundary and the first time slice
/// fall among them, and no post is lost or counted twice.
#[tokio::test]
async fn long_reads_in_time_slices_lose_and_repeat_nothing() {
    let env = Env::start().await;
    let fixtures = common::fixture_posts();
    let t0 = datetime!(2026-03-01 10:00:00.250 UTC);
    let posts: Vec<CorpusPost> = (0..60)
        .map(|i| {
            let id = format!("17{i:017}");
            // 20 posts at exactly t0, then one every 97 seconds.
            let created_at = if i < 20 {
                t0
            } else {
                t0 + Duration::seconds(97 * (i - 19))
            };
            CorpusPost {
                line: common::variant(&fixtures[i as usize % fixtures.len()].line, &id, created_at),
                id,
                created_at,
                keywords: vec!["ties".into()],
            }
        })
        .collect();
    env.seed(&posts).await;
    let mut want_minutes: BTreeMap<String, u64> = BTreeMap::new();
    for p in &posts {
        *want_minutes
            .entry(p.timestamp()[..16].to_owned())
            .or_default() += 1;
    }
    for extra in [
        &[][..],
        &["--page-size", "7"][..],
        &["--page-size", "3", "--parallel", "5"][..],
        &["--page-size", "7", "--parallel", "1"][..],
    ] {
        let args = [
            &[
                "rate",
                "ties",
                "--json",
                "--since",
                "2026-03-01T09:00:00Z",
                "--until",
                "2026-03-01T12:00:00Z",
            ][..],
            extra,
        ]
        .concat();
        let json = env.run(&args).ok().json();
        assert_eq!(json["posts"], 60, "{extra:?}");
        let got: BTreeMap<String, u64> = json["per_minute"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["posts"].as_u64().unwrap() > 0)
            .map(|m| {
                let minute = m["minute"].as_str().unwrap();
                (minute[..16].to_owned(), m["posts"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(got, want_minutes, "{extra:?}");
        // An open end: the newest entry bounds the slices.
        let args = [&["stats", "ties", "--json", "--by", "day"][..], extra].concat();
        let json = env.run(&args).ok().json();
        assert_eq!(json["posts"], 60, "{extra:?}");
    }
}

#[tokio::test]
async fn rate_counts_every_minute_with_zeros_peak_and_mean() {
    let env = Env::start().await;
    let corpus = corpus();
    // Posts near now, for the default window (the last 60 minutes): two in one minute, one
    // half an hour ago, one just outside.
    let now = OffsetDateTime::now_utc();
    let minute = now
        .replace_second(0)
        .unwrap()
        .replace_nanosecond(0)
        .unwrap();
    let fixtures = common::fixture_posts();
    let live: Vec<CorpusPost> = [
        minute - Duration::minutes(5) + Duration::seconds(10),
        minute - Duration::minutes(5) + Duration::seconds(20),
        minute - Duration::minutes(30),
        minute - Duration::minutes(75),
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| {
        let id = format!("18{i:017}");
        CorpusPost {
            line: common::variant(&fixtures[i].line, &id, *t),
            id,
            created_at: *t,
            keywords: vec!["live".into()],
        }
    })
    .collect();
    env.seed(&corpus).await;
    env.seed(&live).await;

    let json = env.run(&["rate", "live", "--json"]).ok().json();
    assert_eq!(json["minutes"], 60);
    assert_eq!(json["per_minute"].as_array().unwrap().len(), 60);
    assert_eq!(json["posts"], 3);
    assert_eq!(json["peak"]["posts"], 2);
    assert!((json["mean_per_minute"].as_f64().unwrap() - 3.0 / 60.0).abs() < 1e-9);

    // An explicit hour of the corpus: the per-minute counts worked out from the post times.
    let since = datetime!(2026-01-01 21:00 UTC);
    let until = datetime!(2026-01-01 22:00 UTC);
    let mut want = vec![0u64; 60];
    for p in under(&corpus, "alpha") {
        if p.created_at >= since && p.created_at < until {
            want[((p.created_at - since).whole_minutes()) as usize] += 1;
        }
    }
    let total: u64 = want.iter().sum();
    assert!(total >= 8, "the hour holds {total} posts");
    let args = [
        "--since",
        "2026-01-01T21:00:00Z",
        "--until",
        "2026-01-01T22:00:00Z",
    ];
    let json = env
        .run(&[&["rate", "alpha", "--json"][..], &args[..]].concat())
        .ok()
        .json();
    let got: Vec<u64> = json["per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["posts"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(json["per_minute"][0]["minute"], "2026-01-01T21:00:00Z");
    assert_eq!(json["per_minute"][59]["minute"], "2026-01-01T21:59:00Z");
    assert_eq!(json["posts"], total);
    let first_peak = want
        .iter()
        .position(|&c| c == *want.iter().max().unwrap())
        .unwrap();
    assert_eq!(
        json["peak"]["minute"],
        format!("2026-01-01T21:{first_peak:02}:00Z").as_str()
    );
    assert!((json["mean_per_minute"].as_f64().unwrap() - total as f64 / 60.0).abs() < 1e-9);

    let rows = env
        .run(&[&["rate", "alpha", "--csv"][..], &args[..]].concat())
        .ok()
        .csv();
    let got: Vec<u64> = rows.iter().map(|r| r["posts"].parse().unwrap()).collect();
    assert_eq!(got, want);

    let human = env
        .run(&[&["rate", "alpha"][..], &args[..]].concat())
        .ok()
        .text();
    let lines: Vec<&str> = human.lines().collect();
    assert!(
        lines[0].starts_with(&format!("\"alpha\": {total} posts in 60 minutes")),
        "{human}"
    );
    assert_eq!(
        lines[1].chars().count(),
        60,
        "one character a minute: {}",
        lines[1]
    );
    assert!(
        lines[3].starts_with(&format!("peak {} posts/min", want[first_peak])),
        "{human}"
    );

    // Every keyword at once: a post under alpha, beta and its tags counts once, so the answer is
    // alpha's (every corpus post is under alpha).
    let all = env
        .run(
            &[
                &["rate", "--json", "--consumed-capacity", "--parallel", "3"][..],
                &args[..],
            ]
            .concat(),
        )
        .ok();
    let json = all.json();
    assert_eq!(json["keyword"], Value::Null);
    let got: Vec<u64> = json["per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["posts"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want);
    assert!(all.requests("Scan") >= 3);

    // An empty window is an answer, not an error.
    let json = env
        .run(&[
            "rate",
            "alpha",
            "--since",
            "2030-01-01T00:00:00Z",
            "--until",
            "2030-01-01T00:10:00Z",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["posts"], 0);
    assert_eq!(json["peak"], Value::Null);
    assert_eq!(json["minutes"], 10);
}

#[tokio::test]
async fn keywords_lists_every_keyword_with_counts_first_and_last_post() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let want = keyword_summary(&corpus);
    let mut want_rows: Vec<(String, u64, String, String)> = want
        .into_iter()
        .map(|(k, (n, first, last))| (k, n, first, last))
        .collect();
    want_rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert!(want_rows.len() >= 5);

    let run = env.run(&["keywords", "--json", "--consumed-capacity"]).ok();
    let got: Vec<(String, u64, String, String)> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keyword"].as_str().unwrap().to_owned(),
                k["posts"].as_u64().unwrap(),
                k["first_seen"].as_str().unwrap().to_owned(),
                k["last_seen"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, want_rows);
    assert_eq!(run.requests("Scan"), 8, "one page per default segment");

    // Small pages across three segments: the same answer.
    let paged = env
        .run(&[
            "keywords",
            "--json",
            "--page-size",
            "10",
            "--parallel",
            "3",
            "--consumed-capacity",
        ])
        .ok();
    assert_eq!(paged.json(), run.json());
    assert!(paged.requests("Scan") > 3);

    let rows = env.run(&["keywords", "--csv"]).ok().csv();
    let got: Vec<(String, u64, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["keyword"].clone(),
                r["posts"].parse().unwrap(),
                r["first_seen"].clone(),
                r["last_seen"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want_rows);

    let human = env.run(&["keywords"]).ok().text();
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines.len(), 1 + want_rows.len());
    for (line, (k, n, first, _)) in lines[1..].iter().zip(&want_rows) {
        assert!(line.starts_with(k.as_str()), "{line}");
        assert!(line.contains(&n.to_string()), "{line}");
        assert!(line.contains(&first[..19].replacen('T', " ", 1)), "{line}");
    }
}

#[tokio::test]
async fn bad_input_gets_one_line_and_exit_2_and_an_empty_window_is_no_error() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus[..10]).await;
    let one_line = |run: &common::Run, want: &str| {
        assert_eq!(run.stderr, format!("error: {want}\n"), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    };

    let run = env.run(&["stats", "nope"]);
    assert_eq!(run.code, Some(2));
    one_line(
        &run,
        "no posts stored under keyword \"nope\" (twitter-query keywords lists the ones that have data)",
    );
    let run = env.run(&["latest", "nope"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("no posts stored under keyword \"nope\"")
    );

    let run = env.run(&["stats", "alpha", "--since", "yesterday"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .starts_with("error: cannot read --since \"yesterday\": expected "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);

    let run = env.run(&["stats", "alpha", "--since", "1h", "--until", "2h"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("is after --until"), "{}", run.stderr);

    let run = env.run(&["stats", "alpha", "--by", "planet"]);
    assert_eq!(run.code, Some(2), "clap's own usage error");

    // Years of minutes would be millions of rows: refused before any read.
    let run = env.run(&["rate", "alpha", "--since", "2000-01-01"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.starts_with("error: the window holds ")
            && run.stderr.contains("rate lists at most 100000"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);

    // The window holds nothing, the keyword has posts: empty output, exit 0.
    let run = env
        .run(&["stats", "alpha", "--since", "2030-01-01", "--json"])
        .ok();
    let json = run.json();
    assert_eq!(json["posts"], 0);
    assert_eq!(json["buckets"], Value::Array(vec![]));
    let rows = env
        .run(&["stats", "alpha", "--since", "2030-01-01", "--csv"])
        .ok();
    assert_eq!(rows.text(), "day,posts\n");

    let empty = env.empty_table().await;
    let run = env.run_on(&empty, &["stats", "alpha"]);
    assert_eq!(run.code, Some(2));
    one_line(&run, &format!("table {empty} has no posts yet"));
    let run = env.run_on(&empty, &["keywords"]);
    assert_eq!(run.code, Some(2));
    one_line(&run, &format!("table {empty} has no posts yet"));

    let run = env.run_on("no-such-table", &["latest", "alpha"]);
    assert_eq!(run.code, Some(2));
    one_line(&run, "table no-such-table does not exist");

    let mut command = common::query_command(&["keywords"]);
    command.envs(env.env());
    let run = common::Run::from(command.output().unwrap());
    assert_eq!(run.code, Some(2));
    one_line(
        &run,
        "TABLE_NAME is not set (the name of the EventData table to read)",
    );

    // Nothing listening: an AWS failure, exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut command = common::query_command(&["latest", "alpha"]);
    command
        .envs(env.env())
        .env(
            "AWS_ENDPOINT_URL_DYNAMODB",
            format!("http://127.0.0.1:{port}"),
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("TABLE_NAME", &env.table);
    let run = common::Run::from(command.output().unwrap());
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot reach DynamoDB at http://127.0.0.1:{port} (connection refused): "
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test]
async fn output_that_stops_being_read_is_not_an_error() {
    let env = Env::start().await;
    env.seed(&corpus()).await;
    let mut command = common::query_command(&["latest", "alpha", "--count", "150"]);
    command
        .envs(env.env())
        .env("TABLE_NAME", &env.table)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    // Close the pipe before the tool writes: its writes fail with EPIPE.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn corpus_is_what_the_tests_assume() {
    let corpus = corpus();
    assert_eq!(corpus.len(), CORPUS_SIZE);
    let ids: BTreeSet<&str> = corpus.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), CORPUS_SIZE);
    let times: BTreeMap<String, usize> = corpus.iter().map(|p| (p.timestamp(), 0)).collect();
    assert_eq!(
        times.len(),
        CORPUS_SIZE,
        "distinct times, so orderings are exact"
    );
    assert_eq!(under(&corpus, "beta").len(), CORPUS_SIZE.div_ceil(3));
}
