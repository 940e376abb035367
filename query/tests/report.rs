//! `twitter-query report`: the page parsed back (charts, counts, latest posts, nothing external),
//! and, when Chromium is installed, rendered headless to a screenshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::{CorpusPost, Env, corpus, under};
use scraper::{Html, Selector};
use time::macros::datetime;

fn select<'a>(html: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    html.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &scraper::ElementRef<'_>) -> String {
    e.text().collect::<String>()
}

const SINCE: &str = "2026-01-01T20:00:00Z";
const UNTIL: &str = "2026-01-02T14:00:00Z";

async fn write_report(env: &Env, dir: &Path) -> (std::path::PathBuf, serde_json::Value) {
    let out = dir.join("alpha.html");
    let json = env
        .run(&[
            "report",
            "alpha",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    (out, json)
}

#[tokio::test]
async fn report_is_one_self_contained_page_with_the_charts_and_latest_posts() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = write_report(&env, dir.path()).await;

    let since = datetime!(2026-01-01 20:00 UTC);
    let until = datetime!(2026-01-02 14:00 UTC);
    let in_window: Vec<&CorpusPost> = under(&corpus, "alpha")
        .into_iter()
        .filter(|p| p.created_at >= since && p.created_at < until)
        .collect();
    assert_eq!(summary["posts"], in_window.len() as u64);
    assert_eq!(summary["out"], path.to_str().unwrap());

    let page = std::fs::read_to_string(&path).unwrap();
    assert_eq!(summary["bytes"], page.len() as u64);
    let html = Html::parse_document(&page);

    // Nothing is loaded from anywhere: no script, no external resource, no src at all; the only
    // links are the posts' own, as anchors.
    for tag in [
        "script", "link", "img", "iframe", "object", "embed", "video", "audio", "source",
    ] {
        assert!(select(&html, tag).is_empty(), "<{tag}> in the page");
    }
    for element in select(&html, "*") {
        for (name, value) in element.value().attrs() {
            assert!(!["src", "srcset", "xlink:href", "action", "formaction"].contains(&name));
            if name == "href" {
                assert_eq!(element.value().name(), "a");
                assert!(value.starts_with("https://x.com/i/web/status/"), "{value}");
            }
        }
    }
    for style in select(&html, "style") {
        let css = text(&style);
        assert!(!css.contains("url(") && !css.contains("@import"), "{css}");
    }
    assert_eq!(select(&html, "head > title").len(), 1);
    assert!(text(&select(&html, "head > title")[0]).starts_with("alpha"));

    assert_eq!(
        text(&select(&html, "#total b")[0]),
        in_window.len().to_string()
    );

    // The time chart: 18 hours (too many minutes for one page), one bar per hour with posts, each
    // bar titled with its hour and count.
    let mut per_hour: BTreeMap<String, u64> = BTreeMap::new();
    for p in &in_window {
        let ts = p.timestamp();
        *per_hour
            .entry(format!("{} {}:00", &ts[..10], &ts[11..13]))
            .or_default() += 1;
    }
    let charts = select(&html, "#rate svg");
    assert_eq!(charts.len(), 1);
    let bars: BTreeMap<String, u64> = select(&html, "#rate svg rect.bar title")
        .iter()
        .map(|t| {
            let t = text(t);
            let (slot, count) = t.rsplit_once(": ").unwrap();
            (
                slot.to_owned(),
                count.trim_end_matches(" posts").parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(bars, per_hour);
    assert_eq!(text(&select(&html, "#rate h2")[0]), "Posts per hour");

    // Four breakdown charts; the language one matches the posts' languages.
    assert_eq!(select(&html, "section.breakdown svg").len(), 4);
    let mut langs: HashMap<String, u64> = HashMap::new();
    for p in &in_window {
        *langs.entry(p.lang().unwrap()).or_default() += 1;
    }
    let shown: HashMap<String, u64> = select(&html, "#by-lang rect title")
        .iter()
        .map(|t| {
            let t = text(t);
            let (k, n) = t.rsplit_once(": ").unwrap();
            (k.to_owned(), n.trim_end_matches(" posts").parse().unwrap())
        })
        .collect();
    assert_eq!(shown, langs);
    for id in ["by-country", "by-hashtag", "by-author"] {
        assert!(
            !select(&html, &format!("#{id} rect")).is_empty(),
            "{id} has bars"
        );
    }

    // The 20 latest posts of the window, newest first, with their text and link.
    let mut newest = in_window.clone();
    newest.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    let items = select(&html, "#latest li");
    assert_eq!(items.len(), 20);
    for (li, want) in items.iter().zip(&newest) {
        let a = li.select(&Selector::parse("a").unwrap()).next().unwrap();
        assert_eq!(
            a.value().attr("href").unwrap(),
            format!("https://x.com/i/web/status/{}", want.id)
        );
        let body = li
            .select(&Selector::parse(".text").unwrap())
            .next()
            .unwrap();
        assert_eq!(Some(text(&body)), want.text());
        let time = li.select(&Selector::parse("time").unwrap()).next().unwrap();
        assert_eq!(time.value().attr("datetime").unwrap(), want.timestamp());
    }
}

/// Headless Chromium renders the page to a PNG that is not one flat colour. Skipped (passing)
/// when `chromium` is not installed, unless `REQUIRE_CHROMIUM=1`: `scripts/test.sh` installs it
/// and sets that, so CI cannot pass without the screenshot.
#[tokio::test]
async fn report_renders_in_headless_chromium() {
    let Some(chromium) = find_on_path("chromium") else {
        assert!(
            std::env::var_os("REQUIRE_CHROMIUM").is_none_or(|v| v != "1"),
            "REQUIRE_CHROMIUM=1 but chromium is not on PATH"
        );
        eprintln!("chromium is not installed: screenshot test skipped");
        return;
    };
    let env = Env::start().await;
    env.seed(&corpus()).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_report(&env, dir.path()).await;
    let profile = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", path.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 2000));
    let pixel = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(pixel).collect();
    let first = pixels[0];
    let differing = pixels.iter().filter(|p| **p != first).count();
    // Charts and text cover a good part of the page, not a stray pixel.
    assert!(
        differing > pixels.len() / 20,
        "{differing} of {} pixels differ from the first",
        pixels.len()
    );
    // The bar colour of the light theme is there: the charts were drawn.
    let bar = [0x3b, 0x82, 0xf6];
    assert!(
        pixels.iter().filter(|p| p[..3] == bar).count() > 1000,
        "no chart bars in the screenshot"
    );
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
