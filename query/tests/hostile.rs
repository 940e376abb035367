//! The real `twitter-query` binary against DynamoDB Local, over a table holding what a hostile
//! writer could store: control characters, escape sequences, bidi overrides, markup and formula
//! starts in every text attribute (the keyword too), and a post at the table format's last
//! instant. Every expected value is written out here from the raw strings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, Run};
use serde_json::Value;
use twitter_table::EventItem;

const KEYWORD: &str = "k\u{1b}[2J\u{202e}";
/// [`KEYWORD`] as a terminal shows it.
const KEYWORD_SHOWN: &str = "k[2J";
/// Clear screen, an OSC 8 link, an OSC 52 clipboard write, BEL, NUL, DEL, C1 CSI, a bidi
/// override and isolate, CR LF, a tab, markup, and a formula start.
const TEXT: &str = "=HYPERLINK(\"http://e.x\")\u{1b}[2J\u{1b}]8;;http://e.x\u{7}link\u{1b}]8;;\u{7}\
                    \u{1b}]52;c;eA==\u{7}\u{0}\u{7f}\u{9b}31m\u{202e}gnp.exe\u{2066}\r\n\
                    <script>alert(1)</script>\tend";
/// [`TEXT`] on one line of a terminal.
const TEXT_LINE: &str = "=HYPERLINK(\"http://e.x\")[2J]8;;http://e.xlink]8;;]52;c;eA==31mgnp.exe <script>alert(1)</script> end";
const USERNAME: &str = "@evil\u{1b}]0;title\u{7}\u{202e}";
const USERNAME_SHOWN: &str = "@evil]0;title";
const ID: &str = "1999999999999999999";
const LAST_INSTANT: &str = "9999-12-31T23:59:59.999Z";

fn hostile_items() -> Vec<EventItem> {
    let item = |id: &str, timestamp: &str| EventItem {
        id: id.to_owned(),
        keyword: KEYWORD.to_owned(),
        timestamp: timestamp.to_owned(),
        username: Some(USERNAME.to_owned()),
        message: Some(TEXT.to_owned()),
        name: Some("\u{9d}name\u{7}".to_owned()),
        lang: Some("-en".to_owned()),
        hashtags: vec!["+tag\u{1b}[31m".to_owned()],
        like_count: Some(3),
        received_at: "2026-02-01T00:00:00.000Z".to_owned(),
        payload: twitter_table::payload::compress(b"{}").unwrap(),
        ..EventItem::default()
    };
    vec![
        item(ID, "2026-01-01T10:00:00.000Z"),
        // An id no link can be made from, at the last instant the format holds.
        item(
            "at://did:plc:abc/app.bsky.feed.post/x\"onmouseover=alert(1)",
            LAST_INSTANT,
        ),
    ]
}

/// Anything a terminal would act on, but line feeds: control characters and bidi controls.
fn terminal_unsafe(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            c != '\n'
                && (c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c))
        })
        .collect()
}

fn clean(run: Run) -> String {
    let run = run.ok();
    let text = run.text();
    assert_eq!(terminal_unsafe(&text), Vec::<char>::new(), "{text:?}");
    text
}

#[tokio::test]
async fn stored_control_characters_never_reach_the_terminal() {
    let env = Env::start().await;
    env.put(&hostile_items()).await;

    let keywords = clean(env.run(&["keywords"]));
    assert!(
        keywords.contains(&format!("\n{KEYWORD_SHOWN}  ")),
        "{keywords}"
    );

    let latest = clean(env.run(&["latest", KEYWORD]));
    let lines: Vec<&str> = latest.lines().collect();
    assert_eq!(
        lines[0],
        format!("newest 2 posts under \"{KEYWORD_SHOWN}\" (times UTC)")
    );
    // Time, user, and the text's start cut to the terminal's 100 columns: 23 + 2 + 14 + 2 columns
    // before it, 58 of it and the ellipsis.
    assert_eq!(
        lines[1],
        format!(
            "9999-12-31 23:59:59.999  @{USERNAME_SHOWN}  {}…",
            &TEXT_LINE[..58]
        )
    );
    assert_eq!(lines[3], format!("  https://x.com/i/web/status/{ID}"));

    let show = clean(env.run(&["show", ID]));
    let lines: Vec<&str> = show.lines().collect();
    assert_eq!(lines[0], format!("@{USERNAME_SHOWN} (name)"));
    assert_eq!(
        lines[1],
        "=HYPERLINK(\"http://e.x\")[2J]8;;http://e.xlink]8;;]52;c;eA==31mgnp.exe"
    );
    assert_eq!(lines[2], "<script>alert(1)</script> end");
    assert!(
        show.contains(&format!("keywords  {KEYWORD_SHOWN}\n")),
        "{show}"
    );
    assert!(show.contains("hashtags  #+tag[31m\n"), "{show}");

    for by in ["hashtag", "author", "lang", "hour", "day"] {
        let stats = clean(env.run(&["stats", KEYWORD, "--by", by]));
        assert!(
            stats.starts_with(&format!("\"{KEYWORD_SHOWN}\": 2 posts")),
            "{stats}"
        );
    }
    let hour = clean(env.run(&["stats", KEYWORD, "--by", "hour"]));
    assert!(hour.contains("\n9999-12-31 23:00  "), "{hour}");

    // Errors name what the user typed, made safe too.
    let run = env.run(&["show", "\u{1b}]0;x\u{7}1"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        format!("error: no post with id \"]0;x1\" in table {}\n", env.table)
    );
}

#[tokio::test]
async fn csv_cells_are_quoted_cleaned_and_defused_and_json_is_lossless() {
    let env = Env::start().await;
    env.put(&hostile_items()).await;

    let run = env.run(&["latest", KEYWORD, "--csv"]).ok();
    let rows = run.csv();
    let want_text = "'=HYPERLINK(\"http://e.x\")[2J]8;;http://e.xlink]8;;]52;c;eA==31mgnp.exe\r\n\
                     <script>alert(1)</script> end";
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["text"], want_text);
        assert_eq!(row["username"], "'@evil]0;title");
    }
    assert_eq!(rows[0]["timestamp"], LAST_INSTANT);
    assert_eq!(rows[0]["link"], "");
    assert_eq!(rows[1]["link"], format!("https://x.com/i/web/status/{ID}"));
    // RFC 4180 on the wire: the text cell is quoted, its quotes doubled.
    let raw = run.text();
    assert!(
        raw.contains("\"'=HYPERLINK(\"\"http://e.x\"\")[2J"),
        "{raw:?}"
    );
    assert_eq!(
        terminal_unsafe(&raw.replace("\r\n", "\n")),
        Vec::<char>::new()
    );

    let rows = env.run(&["show", ID, "--csv"]).ok().csv();
    assert_eq!(rows[0]["keywords"], KEYWORD_SHOWN);
    assert_eq!(rows[0]["hashtags"], "'+tag[31m");
    assert_eq!(rows[0]["lang"], "'-en");
    assert_eq!(rows[0]["name"], "name");
    assert_eq!(rows[0]["like_count"], "3");

    let rows = env
        .run(&["stats", KEYWORD, "--by", "lang", "--csv"])
        .ok()
        .csv();
    assert_eq!(rows[0]["lang"], "'-en");
    let rows = env.run(&["keywords", "--csv"]).ok().csv();
    assert_eq!(rows[0]["keyword"], KEYWORD_SHOWN);

    // JSON carries the stored text exactly, every control and bidi character escaped.
    let run = env.run(&["show", ID, "--json"]).ok();
    assert_eq!(terminal_unsafe(&run.text()), Vec::<char>::new());
    let json = run.json();
    assert_eq!(json["text"], TEXT);
    assert_eq!(json["username"], USERNAME);
    assert_eq!(json["keywords"], serde_json::json!([KEYWORD]));
    let run = env.run(&["keywords", "--json"]).ok();
    assert_eq!(terminal_unsafe(&run.text()), Vec::<char>::new());
    assert_eq!(run.json()[0]["keyword"], KEYWORD);
}

#[tokio::test]
async fn the_report_holds_hostile_text_as_text_and_charts_the_last_instant() {
    let env = Env::start().await;
    env.put(&hostile_items()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let summary = env
        .run(&["report", KEYWORD, "--out", out.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(summary["posts"], 2);
    let page = std::fs::read_to_string(&out).unwrap();
    assert_eq!(terminal_unsafe(&page), Vec::<char>::new());
    let html = scraper::Html::parse_document(&page);
    let select = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        html.select(&selector).collect::<Vec<_>>()
    };
    assert!(select("script").is_empty());
    let hrefs: Vec<&str> = select("a[href]")
        .iter()
        .map(|a| a.value().attr("href").unwrap())
        .collect();
    assert_eq!(hrefs, [format!("https://x.com/i/web/status/{ID}")]);
    for element in select("*") {
        for (name, _) in element.value().attrs() {
            assert!(!name.starts_with("on"), "{name}");
        }
    }
    let texts: Vec<String> = select("#latest .text")
        .iter()
        .map(|e| e.text().collect())
        .collect();
    let want = "=HYPERLINK(\"http://e.x\")[2J]8;;http://e.xlink]8;;]52;c;eA==31mgnp.exe\n\
                <script>alert(1)</script> end";
    assert_eq!(texts, [want, want]);
    // Two posts eight thousand years apart: one bar a day, the last on the format's last day.
    let bars: Vec<String> = select("#rate rect.bar title")
        .iter()
        .map(|t| t.text().collect())
        .collect();
    assert_eq!(bars, ["2026-01-01: 1 posts", "9999-12-31: 1 posts"]);

    // A window ending at the last instant: the post at it is outside (the end is exclusive).
    let run = env.run(&[
        "report",
        KEYWORD,
        "--since",
        "9999-12-31T23:00:00Z",
        "--until",
        LAST_INSTANT,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.ok().json()["posts"], 0);
    // Open-ended from an hour before it: the post is in, in the last minute's bar.
    let run = env.run(&[
        "report",
        KEYWORD,
        "--since",
        "9999-12-31T23:00:00Z",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.ok().json()["posts"], 1);
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(
        page.contains("<title>9999-12-31 23:59: 1 posts</title>"),
        "{page}"
    );
}

#[tokio::test]
async fn rate_and_stats_windows_reach_the_last_instant() {
    let env = Env::start().await;
    env.put(&hostile_items()).await;
    let rate = env
        .run(&[
            "rate",
            KEYWORD,
            "--since",
            "9999-12-31T23:00:00Z",
            "--until",
            LAST_INSTANT,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(rate["minutes"], 60);
    assert_eq!(rate["posts"], 0, "the end of a window is outside it");
    assert_eq!(rate["until"], LAST_INSTANT);
    // The default hour before an end at the last instant.
    let rate = env
        .run(&["rate", "--until", LAST_INSTANT, "--json"])
        .ok()
        .json();
    assert_eq!(rate["since"], "9999-12-31T23:00:00Z");
    assert_eq!(rate["keyword"], Value::Null);

    for by in ["hour", "day"] {
        let stats = env
            .run(&[
                "stats",
                KEYWORD,
                "--by",
                by,
                "--since",
                "9999-12-31",
                "--json",
            ])
            .ok()
            .json();
        assert_eq!(stats["posts"], 1, "{by}");
        let key = stats["buckets"][0]["key"].as_str().unwrap().to_owned();
        let want = if by == "hour" {
            "9999-12-31T23:00:00Z"
        } else {
            "9999-12-31"
        };
        assert_eq!(key, want);
    }
}
