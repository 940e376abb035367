//! The dashboard in a real browser: Debian's Chromium driven by playwright-core
//! (`tests/browser/dashboard.cjs`) over a table of posts from the last hour. The page must show
//! the counts worked out here from the raw posts (and the same as the API), show posts stored
//! after it loaded without a reload, show stored markup as text, be usable with the keyboard,
//! have a dark scheme, and log no console error. The screenshots go to the target folder, and
//! with `UPDATE_SCREENSHOT=1` to `docs/dashboard.png` for the README.
//!
//! `scripts/test.sh` installs Chromium and playwright-core (`ensure_chromium`,
//! `ensure_playwright`); without them the test fails, unless `ALLOW_MISSING_TOOLS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod serve_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{CorpusPost, Env, fixture_posts, variant};
use serde_json::{Value, json};
use serve_support::{find_on_path, settings, start, tool};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const KEYWORD: &str = "live";
/// How long the whole browser run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// A post whose text is markup: the page must show it as text.
const HOSTILE_TEXT: &str =
    "<b>bold?</b> <img src=x onerror=\"document.title='pwned'\"> & <script>alert(1)</script>";

/// The folder playwright-core was installed into, as `scripts/lib.sh` does.
fn playwright_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PLAYWRIGHT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            cache.join("twitter-pipeline/playwright")
        }
    };
    dir.join("node_modules/playwright-core/package.json")
        .is_file()
        .then_some(dir)
}

/// `count` posts made from the fixture lines under [`KEYWORD`], `spacing` apart back from
/// `newest`; ids from `first_id`.
fn posts(
    newest: OffsetDateTime,
    count: usize,
    spacing: time::Duration,
    first_id: u64,
) -> Vec<CorpusPost> {
    let fixtures = fixture_posts();
    (0..count)
        .map(|i| {
            let created_at = newest - spacing * i32::try_from(i).unwrap();
            let id = (first_id + i as u64).to_string();
            CorpusPost {
                line: variant(&fixtures[i % fixtures.len()].line, &id, created_at),
                id,
                created_at: common_millis(created_at),
                keywords: vec![KEYWORD.to_owned()],
            }
        })
        .collect()
}

fn common_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap()
}

/// A post whose text (short form, no long form) is [`HOSTILE_TEXT`].
fn hostile(post: &CorpusPost) -> CorpusPost {
    let mut value = post.value();
    value["data"]["text"] = Value::String(HOSTILE_TEXT.to_owned());
    value["data"].as_object_mut().unwrap().remove("note_tweet");
    CorpusPost {
        line: serde_json::to_string(&value).unwrap(),
        ..post.clone()
    }
}

fn group_or_none(value: Option<String>) -> String {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "(none)".to_owned(),
    }
}

/// What the page must show for `posts`, worked out from their raw JSON.
fn expected(phase: u32, posts: &[CorpusPost], last: bool) -> Value {
    let mut lang: BTreeMap<String, u64> = BTreeMap::new();
    let mut hashtag: BTreeMap<String, u64> = BTreeMap::new();
    for p in posts {
        *lang.entry(group_or_none(p.lang())).or_default() += 1;
        let tags: BTreeSet<String> = p.hashtags().iter().map(|h| h.to_lowercase()).collect();
        if tags.is_empty() {
            *hashtag.entry("(none)".to_owned()).or_default() += 1;
        }
        for tag in tags {
            *hashtag.entry(tag).or_default() += 1;
        }
    }
    let newest = posts.iter().max_by_key(|p| p.created_at).unwrap();
    let hostile = posts
        .iter()
        .find(|p| p.text().as_deref() == Some(HOSTILE_TEXT))
        .unwrap();
    json!({
        "phase": phase,
        "last": last,
        "total": posts.len(),
        "lang": lang,
        "hashtag_total": hashtag.values().sum::<u64>(),
        "hashtag": hashtag,
        "newest": newest.id,
        "hostile": { "id": hostile.id, "text": HOSTILE_TEXT },
    })
}

#[tokio::test]
async fn the_dashboard_shows_the_counts_updates_itself_and_logs_no_error() {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()));
    let Some(chromium) = tool(
        chromium,
        "chromium",
        "apt-get install chromium, or scripts/test.sh",
    ) else {
        return;
    };
    let Some(node) = tool(find_on_path("node"), "node", "apt-get install nodejs") else {
        return;
    };
    let Some(playwright) = tool(
        playwright_dir(),
        "playwright-core",
        "scripts/lib.sh's ensure_playwright, or scripts/test.sh",
    ) else {
        return;
    };

    let env = Env::start().await;
    let now = OffsetDateTime::now_utc();
    // 30 posts over the last 48 minutes, well inside the page's last hour.
    let mut stored = posts(
        now - time::Duration::minutes(1),
        30,
        time::Duration::seconds(97),
        1_950_000_000_000_000_000,
    );
    stored[7] = hostile(&stored[7]);
    env.seed(&stored).await;
    let mut fast = settings();
    fast.refresh_seconds = 2;
    let base = start(env.dynamodb.clone(), &env.table, fast).await;

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (light, dark) = (out.join("dashboard.png"), out.join("dashboard-dark.png"));
    let _ = std::fs::remove_file(&light);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.cjs");
    let mut child = tokio::process::Command::new(node)
        .arg(&script)
        .arg(&base)
        .arg(&light)
        .arg(&dark)
        .env("NODE_PATH", playwright.join("node_modules"))
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("browser: {line}");
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    let run = async {
        let mut said = Vec::new();
        let mut expect_line = async |want: &str, said: &mut Vec<String>| {
            while let Some(line) = stdout.next_line().await.unwrap() {
                said.push(line.clone());
                if line == want {
                    return true;
                }
            }
            false
        };
        // Phase 1: the first load.
        let line = format!("{}\n", expected(1, &stored, false));
        stdin.write_all(line.as_bytes()).await.unwrap();
        if !expect_line("ok 1", &mut said).await {
            return said;
        }
        // Phase 2: new posts arrive; the page shows them at its next refresh.
        let newer = posts(
            OffsetDateTime::now_utc() - time::Duration::seconds(2),
            4,
            time::Duration::seconds(5),
            1_960_000_000_000_000_000,
        );
        env.seed(&newer).await;
        stored.extend(newer);
        let line = format!("{}\n", expected(2, &stored, true));
        stdin.write_all(line.as_bytes()).await.unwrap();
        drop(stdin);
        if !expect_line("ok 2", &mut said).await {
            return said;
        }
        expect_line("done", &mut said).await;
        said
    };
    let said = tokio::time::timeout(RUN_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| vec!["(timed out)".to_owned()]);
    let status = match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            // Hung: stop it, or its stderr never ends.
            let _ = child.start_kill();
            None
        }
    };
    let stderr = tokio::time::timeout(Duration::from_secs(10), stderr)
        .await
        .map(Result::unwrap)
        .unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()) && said.last().is_some_and(|l| l == "done"),
        "the browser run failed: {status:?}\nstdout: {said:?}\nstderr:\n{stderr}"
    );
    for png in [&light, &dark] {
        let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 20_000, "{}: {size} bytes", png.display());
    }
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&light, docs.join("dashboard.png")).unwrap();
        std::fs::copy(&dark, docs.join("dashboard-dark.png")).unwrap();
    }
}
