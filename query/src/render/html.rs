//! The HTML report: one self-contained page (inline CSS, inline SVG charts, no script, nothing
//! loaded from anywhere: a Content-Security-Policy says so to the browser too), readable offline.
//! Every piece of text from the table is escaped, without the characters [`sanitize`] rules out;
//! a post's link is a plain anchor whose address [`crate::link::post_link`] builds from the id
//! (`https://x.com/...` or `https://bsky.app/...`, nothing else), never one taken from elsewhere.

use std::fmt::Write as _;

use twitter_table::timestamp::utc_millis;

use super::sanitize::{self, multi_line};
use super::text;
use crate::aggregate::{Bucket, By, NONE, Series, Step};
use crate::link::post_link;
use crate::time_format;
use crate::view::{Breakdown, PostLine, ReportData};

/// Text safe inside an element or a quoted attribute: markup characters as references, unsafe
/// characters ([`sanitize::is_unsafe`]) dropped but for line feeds and tabs.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if sanitize::is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #667085; --bg: #ffffff; --panel: #f5f7fa; --bar: #3b82f6; --bar2: #94a3b8; --grid: #dde3ea; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #98a2b3; --bg: #111418; --panel: #1a1f26; --bar: #60a5fa; --bar2: #64748b; --grid: #2a313b; }
}
* { box-sizing: border-box; }
body { overflow-wrap: anywhere; margin: 0; padding: 24px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
.sub { color: var(--muted); margin: 0 0 20px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 20px; }
.card { background: var(--panel); border-radius: 8px; padding: 12px 16px; min-width: 160px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 13px; }
section { background: var(--panel); border-radius: 8px; padding: 16px; margin-bottom: 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 20px; }
.grid section { margin-bottom: 0; }
svg { display: block; width: 100%; height: auto; }
svg text { fill: var(--muted); font-size: 12px; font-family: inherit; }
svg .label { fill: var(--fg); }
svg .bar { fill: var(--bar); }
svg .other { fill: var(--bar2); }
svg .gridline { stroke: var(--grid); stroke-width: 1; }
.empty { color: var(--muted); }
ol.posts { list-style: none; margin: 0; padding: 0; }
ol.posts li { padding: 10px 0; border-top: 1px solid var(--grid); }
ol.posts li:first-child { border-top: none; }
.meta { color: var(--muted); font-size: 13px; }
.meta .user { color: var(--fg); font-weight: 600; unicode-bidi: isolate; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; }
a { color: var(--bar); }
footer { color: var(--muted); font-size: 12px; }
"#;

/// The whole page.
pub fn report(data: &ReportData) -> String {
    let keyword = escape(&data.keyword);
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{keyword}: posts report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>&ldquo;{keyword}&rdquo;</h1>\n<p class=\"sub\">{} &middot; table {} &middot; times in UTC</p>\n",
        escape(&data.window),
        escape(&data.table),
    );

    let step = data.series.step.name();
    let peak = data
        .series
        .peak()
        .map(|(t, n)| {
            (
                text::thousands(n),
                format!("busiest {step}: {}", slot_label(data.series.step, t)),
            )
        })
        .unwrap_or_else(|| ("0".to_owned(), format!("busiest {step}")));
    let _ = write!(
        html,
        "<div class=\"cards\">\n\
         <div class=\"card\" id=\"total\"><b>{}</b><span>posts</span></div>\n\
         <div class=\"card\"><b>{}</b><span>{}</span></div>\n\
         <div class=\"card\"><b>{:.2}</b><span>mean posts per {step}</span></div>\n\
         </div>\n",
        text::thousands(data.posts),
        peak.0,
        escape(&peak.1),
        data.series.mean(),
    );

    let _ = write!(
        html,
        "<section id=\"rate\">\n<h2>Posts per {step}</h2>\n{}</section>\n",
        time_chart(&data.series)
    );

    html.push_str("<div class=\"grid\">\n");
    for b in &data.breakdowns {
        let _ = write!(
            html,
            "<section class=\"breakdown\" id=\"by-{}\">\n<h2>{}</h2>\n{}</section>\n",
            b.by.name(),
            escape(b.title),
            bar_chart(b)
        );
    }
    html.push_str("</div>\n");

    let _ = write!(
        html,
        "<section id=\"latest\">\n<h2>Latest posts</h2>\n{}</section>\n",
        latest_posts(&data.latest)
    );
    let _ = write!(
        html,
        "<footer>Generated by twitter-query at {} from table {}.</footer>\n</main>\n</body>\n</html>\n",
        escape(&data.generated_at),
        escape(&data.table)
    );
    html
}

/// A slot labelled as its bucket is: `2026-01-01 20:00` for a minute or an hour, `2026-01-01`
/// for a day.
fn slot_label(step: Step, t: time::OffsetDateTime) -> String {
    match step {
        Step::Minute | Step::Hour => time_format::human_minute(&time_format::utc_minute(t)),
        Step::Day => time_format::day_key(&utc_millis(t))
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Vertical bars, one per slot, with a y grid and a few time labels. Each bar carries an SVG
/// `<title>`: the browser shows it on hover, no script needed.
fn time_chart(series: &Series) -> String {
    const W: f64 = 1000.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let n = series.counts.len();
    if n == 0 {
        return "<p class=\"empty\">The window holds no time.</p>\n".to_owned();
    }
    let max = series.counts.iter().copied().max().unwrap_or(0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let gap = if slot > 4.0 { 1.0 } else { 0.0 };
    let mut svg = format!(
        "<svg class=\"chart time\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"posts per {}\">\n",
        series.step.name()
    );
    for fraction in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - fraction);
        let value = (max as f64 * fraction).round();
        let _ = writeln!(
            svg,
            "<line class=\"gridline\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (i, &count) in series.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let h = plot_h * count as f64 / max as f64;
        let x = LEFT + slot * i as f64;
        let _ = writeln!(
            svg,
            "<rect class=\"bar\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\"><title>{}: {count} posts</title></rect>",
            TOP + plot_h - h,
            (slot - gap).max(0.5),
            escape(&slot_label(series.step, series.slot_start(i)))
        );
    }
    let ticks: Vec<usize> = if n == 1 {
        vec![0]
    } else {
        let mut t = vec![0, n / 2, n - 1];
        t.dedup();
        t
    };
    for i in ticks {
        let x = LEFT + slot * (i as f64 + 0.5);
        let anchor = if i == 0 {
            "start"
        } else if i + 1 == n {
            "end"
        } else {
            "middle"
        };
        let x = match anchor {
            "start" => LEFT,
            "end" => W - RIGHT,
            _ => x,
        };
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            H - 8.0,
            escape(&slot_label(series.step, series.slot_start(i)))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Horizontal bars, one per group, labelled, with the count at the end.
fn bar_chart(b: &Breakdown) -> String {
    const W: f64 = 520.0;
    const ROW: f64 = 24.0;
    const LABEL: f64 = 170.0;
    const COUNT: f64 = 60.0;
    let rows: Vec<(&Bucket, bool)> = b
        .buckets
        .iter()
        .map(|x| (x, false))
        .chain(b.other.iter().map(|x| (x, true)))
        .collect();
    if rows.is_empty() {
        return "<p class=\"empty\">No posts.</p>\n".to_owned();
    }
    let max = rows.iter().map(|(x, _)| x.count).max().unwrap_or(0).max(1);
    let h = ROW * rows.len() as f64 + 4.0;
    let mut svg = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\">\n",
        escape(b.title)
    );
    for (i, (bucket, other)) in rows.iter().enumerate() {
        let y = ROW * i as f64 + 2.0;
        let label = match b.by {
            By::Hashtag if !other && bucket.key != NONE => format!("#{}", bucket.key),
            By::Author if !other && bucket.key != NONE => format!("@{}", bucket.key),
            _ => bucket.key.clone(),
        };
        let label = text::truncate(&sanitize::one_line(&label), 26).into_owned();
        let width = (W - LABEL - COUNT) * bucket.count as f64 / max as f64;
        let class = if *other { "other" } else { "bar" };
        let _ = writeln!(
            svg,
            "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"{class}\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\"><title>{}: {} posts</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            LABEL - 8.0,
            y + 16.0,
            escape(&label),
            y + 3.0,
            width.max(1.0),
            ROW - 6.0,
            escape(&label),
            bucket.count,
            LABEL + width.max(1.0) + 6.0,
            y + 16.0,
            text::thousands(bucket.count),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn latest_posts(posts: &[PostLine]) -> String {
    if posts.is_empty() {
        return "<p class=\"empty\">No posts in this window.</p>\n".to_owned();
    }
    let mut html = String::from("<ol class=\"posts\">\n");
    for p in posts {
        let user = p.username.as_deref().unwrap_or("?");
        let link = post_link(&p.id)
            .map(|l| format!(" &middot; <a href=\"{}\">open</a>", escape(&l)))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<li><div class=\"meta\"><span class=\"user\">@{}</span> &middot; <time datetime=\"{}\">{}</time>{link}</div>\
             <div class=\"text\" dir=\"auto\">{}</div></li>",
            escape(&sanitize::one_line(user)),
            escape(&p.timestamp),
            escape(&time_format::human(&p.timestamp)),
            escape(&multi_line(p.text.as_deref().unwrap_or(""))),
        );
    }
    html.push_str("</ol>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn data() -> ReportData {
        ReportData {
            keyword: "<b>cats</b> & \"dogs\"".into(),
            table: "T".into(),
            window: "all time".into(),
            generated_at: "2026-01-01T00:00:00Z".into(),
            posts: 3,
            series: Series {
                start: datetime!(2026-01-01 00:00 UTC),
                step: Step::Hour,
                counts: vec![1, 0, 2],
            },
            breakdowns: vec![Breakdown {
                title: "Hashtags",
                by: By::Hashtag,
                buckets: vec![Bucket {
                    key: "<script>alert(1)</script>".into(),
                    count: 2,
                }],
                other: Some(Bucket {
                    key: "3 others".into(),
                    count: 1,
                }),
            }],
            latest: vec![PostLine {
                id: "1".into(),
                timestamp: "2026-01-01T02:00:00.000Z".into(),
                username: Some("u\"ser".into()),
                text: Some("<img src=x onerror=alert(1)> & more\x1b[31m".into()),
                link: Some("https://x.com/i/web/status/1".into()),
            }],
        }
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(escape("a\x1bb\nc"), "ab\nc");
    }

    #[test]
    fn text_from_the_table_never_becomes_markup() {
        let html = report(&data());
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>cats"));
        assert!(html.contains("&lt;b&gt;cats&lt;/b&gt; &amp; &quot;dogs&quot;"));
        assert!(html.contains("#&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("@u&quot;ser"));
        assert!(!html.contains('\x1b'));
    }

    #[test]
    fn the_page_loads_nothing_from_anywhere() {
        let html = report(&data());
        for needle in [
            "src=\"", "<link", "url(", "@import", "<script", "<iframe", "<object",
        ] {
            assert!(!html.contains(needle), "{needle}");
        }
        // The only http(s) reference is the post's own link, as an anchor.
        assert_eq!(html.matches("://").count(), 1);
        assert!(html.contains("<a href=\"https://x.com/i/web/status/1\">"));
    }

    fn post(id: &str, username: &str, text: &str, link: &str) -> PostLine {
        PostLine {
            id: id.into(),
            timestamp: "2026-01-01T02:00:00.000Z".into(),
            username: Some(username.into()),
            text: Some(text.into()),
            link: Some(link.into()),
        }
    }

    #[test]
    fn hostile_text_stays_text_and_links_go_only_where_post_link_sends_them() {
        let mut d = data();
        d.keyword = "k\u{202e}\"><script>alert(1)</script>".into();
        d.latest = vec![
            // An id that is almost a post's: no link, whatever the line's own link field says.
            post(
                "at://did:plc:abc/app.bsky.feed.post/3l3\"onmouseover=alert(1)",
                "\"><img src=x onerror=alert(2)>",
                "\"><img src=x onerror=alert(3)><script>alert(4)</script> \
                 <a href=\"javascript:alert(5)\">x</a>\u{202e}gnp.exe\u{0}\u{7f}\u{9b}2J\
                 \u{1b}]8;;javascript:alert(6)\u{7}\r\nend",
                "javascript:alert(7)",
            ),
            post(
                "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l3qo2vuowo2b",
                "\u{2066}bob\u{2069}",
                &"A".repeat(5000),
                "javascript:alert(8)",
            ),
            post("123", "carol", "hi", "https://evil.example/"),
        ];
        let page = report(&d);
        let html = scraper::Html::parse_document(&page);
        let select = |css: &str| {
            let selector = scraper::Selector::parse(css).unwrap();
            html.select(&selector).collect::<Vec<_>>()
        };
        for tag in ["script", "img", "iframe", "object", "embed"] {
            assert!(select(tag).is_empty(), "<{tag}> in the page");
        }
        let mut hrefs = Vec::new();
        for element in select("*") {
            for (name, value) in element.value().attrs() {
                assert!(!name.starts_with("on"), "{name}={value}");
                if name == "href" {
                    hrefs.push(value.to_owned());
                }
            }
        }
        assert_eq!(
            hrefs,
            [
                "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3l3qo2vuowo2b",
                "https://x.com/i/web/status/123"
            ]
        );
        let texts: Vec<String> = select("#latest .text")
            .iter()
            .map(|e| e.text().collect())
            .collect();
        assert_eq!(
            texts[0],
            "\"><img src=x onerror=alert(3)><script>alert(4)</script> \
             <a href=\"javascript:alert(5)\">x</a>gnp.exe2J]8;;javascript:alert(6)\nend"
        );
        assert_eq!(texts[1], "A".repeat(5000));
        let users: Vec<String> = select("#latest .user")
            .iter()
            .map(|e| e.text().collect())
            .collect();
        assert_eq!(
            users,
            ["@\"><img src=x onerror=alert(2)>", "@bob", "@carol"]
        );
        let h1: String = select("h1")[0].text().collect();
        assert_eq!(h1, "\u{201c}k\"><script>alert(1)</script>\u{201d}");
        // No control or bidi character anywhere in the file, but line feeds.
        let bad: Vec<char> = page
            .chars()
            .filter(|&c| {
                c != '\n'
                    && (c.is_control()
                        || ('\u{202a}'..='\u{202e}').contains(&c)
                        || ('\u{2066}'..='\u{2069}').contains(&c))
            })
            .collect();
        assert!(bad.is_empty(), "{bad:?}");
        // A token of 5,000 letters wraps instead of widening the page.
        assert!(page.contains("body { overflow-wrap: anywhere;"));
    }

    #[test]
    fn charts_have_a_bar_per_nonzero_slot_and_group() {
        let html = report(&data());
        let time = &html[html.find("class=\"chart time\"").unwrap()..];
        let time = &time[..time.find("</svg>").unwrap()];
        assert_eq!(time.matches("<rect class=\"bar\"").count(), 2);
        assert!(time.contains("2026-01-01 02:00: 2 posts"));
        assert!(html.contains("<rect class=\"other\""));
    }
}
