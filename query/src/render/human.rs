//! Each answer for people on a terminal: aligned tables, bars and sparklines cut to the
//! terminal's width, times as `2024-05-13 20:59:04` (UTC). Every string from the table (or the
//! command line) goes through [`sanitize`] on its way out: none reaches the terminal raw.

use std::io::Write;

use super::sanitize::{multi_line, one_line};
use super::terminal::{Style, Terminal};
use super::text::{self, Align};
use crate::aggregate::{self, Bucket, By};
use crate::error::QueryError;
use crate::time_format;
use crate::view::{self, KeywordSummary, Post, PostLine, Rate, ReportSummary, Stats};

fn line(out: &mut dyn Write, text: &str) -> Result<(), QueryError> {
    writeln!(out, "{text}").map_err(QueryError::Output)
}

fn quoted(keyword: &str) -> String {
    format!("\"{}\"", one_line(keyword))
}

/// Columns of the longest time [`time_format::human`] writes: `2024-05-13 20:59:04.120`.
const TIME_COLUMNS: usize = 23;

/// A stored time as people read it; a stored value that is no time is shown as it is, made safe
/// and cut to the width of a time.
fn when(stored: &str) -> String {
    text::truncate(&one_line(&time_format::human(stored)), TIME_COLUMNS).into_owned()
}

pub fn keywords(
    t: &Terminal,
    summaries: &[KeywordSummary],
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|k| {
            vec![
                text::truncate(&one_line(&k.keyword), 40).into_owned(),
                text::thousands(k.posts),
                when(&k.first_seen),
                when(&k.last_seen),
            ]
        })
        .collect();
    let lines = text::table(
        &["keyword", "posts", "first post (UTC)", "last post (UTC)"],
        &[Align::Left, Align::Right, Align::Left, Align::Left],
        &rows,
    );
    line(out, &t.paint(Style::Dim, &lines[0]))?;
    for l in &lines[1..] {
        line(out, l)?;
    }
    Ok(())
}

pub fn latest(
    t: &Terminal,
    keyword: &str,
    posts: &[PostLine],
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let header = format!(
        "newest {} posts under {} (times UTC)",
        posts.len(),
        quoted(keyword)
    );
    line(out, &t.paint(Style::Bold, &header))?;
    for p in posts {
        line(out, &post_line(t, p))?;
        if let Some(link) = &p.link {
            line(out, &format!("  {}", t.paint(Style::Dim, &one_line(link))))?;
        }
    }
    Ok(())
}

/// `time  @user  text…` cut to the terminal width.
fn post_line(t: &Terminal, p: &PostLine) -> String {
    let time = when(&p.timestamp);
    let user = format!("@{}", one_line(p.username.as_deref().unwrap_or("?")));
    let user = text::truncate(&user, 24).into_owned();
    let used = text::width(&time) + 2 + text::width(&user) + 2;
    let body = one_line(p.text.as_deref().unwrap_or(""));
    let body = text::truncate(&body, t.width.saturating_sub(used));
    format!(
        "{}  {}  {}",
        t.paint(Style::Dim, &time),
        t.paint(Style::Accent, &user),
        body
    )
    .trim_end()
    .to_owned()
}

pub fn show(t: &Terminal, post: &Post, out: &mut dyn Write) -> Result<(), QueryError> {
    let clean = |v: &Option<String>| v.as_deref().map(one_line);
    let mut head = format!(
        "@{}",
        clean(&post.username).unwrap_or_else(|| "?".to_owned())
    );
    if let Some(name) = clean(&post.name) {
        head.push_str(&format!(" ({name})"));
    }
    line(out, &t.paint(Style::Bold, &head))?;
    line(out, &multi_line(post.text.as_deref().unwrap_or("")))?;
    line(out, "")?;
    let mut fields: Vec<(&str, String)> = vec![
        ("id", one_line(&post.id)),
        (
            "created",
            post.timestamp.as_deref().map(when).unwrap_or_default(),
        ),
        (
            "keywords",
            post.keywords
                .iter()
                .map(|k| one_line(k))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.push((label, v));
        }
    };
    push("lang", clean(&post.lang));
    let place = match (clean(&post.country), clean(&post.country_code)) {
        (Some(c), Some(code)) => Some(format!("{c} ({code})")),
        (c, code) => c.or(code),
    };
    push("country", place);
    push("author id", clean(&post.author_id));
    push(
        "hashtags",
        Some(
            post.hashtags
                .iter()
                .map(|h| format!("#{}", one_line(h)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    push(
        "mentions",
        Some(
            post.mentions
                .iter()
                .map(|m| format!("@{}", one_line(m)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    let metrics: Vec<String> = [
        ("likes", post.like_count),
        ("reposts", post.retweet_count),
        ("replies", post.reply_count),
        ("quotes", post.quote_count),
        ("bookmarks", post.bookmark_count),
        ("views", post.impression_count),
    ]
    .iter()
    .filter_map(|(label, v)| v.map(|v| format!("{} {label}", text::thousands(v))))
    .collect();
    push("counts", Some(metrics.join(", ")));
    push("received", post.received_at.as_deref().map(when));
    push("link", clean(&post.link));
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in fields {
        let label = format!("{label:<width$}");
        line(out, &format!("{}  {value}", t.paint(Style::Dim, &label)))?;
    }
    Ok(())
}

pub fn stats(t: &Terminal, stats: &Stats, out: &mut dyn Write) -> Result<(), QueryError> {
    let by = stats.by;
    let unit = if by.is_time() { " (UTC)" } else { "" };
    let header = format!(
        "{}: {} posts, {}, by {}{unit}",
        quoted(&stats.keyword),
        text::thousands(stats.posts),
        view::window_text(stats.since.as_deref(), stats.until.as_deref()),
        by.name(),
    );
    line(out, &t.paint(Style::Bold, &header))?;
    if stats.buckets.is_empty() {
        return Ok(());
    }
    let label = |key: &str| match by {
        By::Hashtag if key != aggregate::NONE => format!("#{}", one_line(key)),
        By::Author if key != aggregate::NONE => format!("@{}", one_line(key)),
        By::Hour => one_line(&time_format::human_minute(key)),
        _ => one_line(key),
    };
    bar_table(t, by.name(), &stats.buckets, stats.posts, label, out)
}

/// Rows of `key  count  share  bar`, the bar taking what width is left.
fn bar_table(
    t: &Terminal,
    key_header: &str,
    buckets: &[Bucket],
    total: u64,
    label: impl Fn(&str) -> String,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let labels: Vec<String> = buckets
        .iter()
        .map(|b| text::truncate(&label(&b.key), 40).into_owned())
        .collect();
    let rows: Vec<Vec<String>> = buckets
        .iter()
        .zip(&labels)
        .map(|(b, l)| {
            let share = if total == 0 {
                0.0
            } else {
                b.count as f64 * 100.0 / total as f64
            };
            vec![l.clone(), text::thousands(b.count), format!("{share:.1}%")]
        })
        .collect();
    let lines = text::table(
        &[key_header, "posts", "share"],
        &[Align::Left, Align::Right, Align::Right],
        &rows,
    );
    let text_width = lines.iter().map(|l| text::width(l)).max().unwrap_or(0);
    let bar_width = t.width.saturating_sub(text_width + 2).max(10);
    line(out, &t.paint(Style::Dim, &lines[0]))?;
    for (row, b) in lines[1..].iter().zip(buckets) {
        let bar = text::bar(b.count, max, bar_width);
        line(
            out,
            format!(
                "{}  {}",
                text::pad(row, text_width),
                t.paint(Style::Bar, &bar)
            )
            .trim_end(),
        )?;
    }
    Ok(())
}

pub fn rate(t: &Terminal, rate: &Rate, out: &mut dyn Write) -> Result<(), QueryError> {
    let what = rate
        .keyword
        .as_deref()
        .map(quoted)
        .unwrap_or_else(|| "all keywords".to_owned());
    let header = format!(
        "{what}: {} posts in {} minutes, from {} to {}",
        text::thousands(rate.posts),
        rate.minutes,
        rate.since,
        rate.until
    );
    line(out, &t.paint(Style::Bold, &header))?;
    if rate.minutes == 0 {
        return Ok(());
    }
    let counts: Vec<u64> = rate.per_minute.iter().map(|m| m.posts).collect();
    let (spark, per) = text::sparkline(&counts, t.width.saturating_sub(2).max(10));
    line(out, &t.paint(Style::Bar, &spark))?;
    let first = rate
        .per_minute
        .first()
        .map(|m| m.minute.as_str())
        .unwrap_or("");
    let last = rate
        .per_minute
        .last()
        .map(|m| m.minute.as_str())
        .unwrap_or("");
    let scale = if per == 1 {
        "one character a minute".to_owned()
    } else {
        format!("one character per {per} minutes, the busiest shown")
    };
    let axis_gap = text::width(&spark)
        .saturating_sub(first.len() + last.len())
        .max(2);
    line(
        out,
        &t.paint(
            Style::Dim,
            &format!("{first}{}{last}", " ".repeat(axis_gap)),
        ),
    )?;
    let peak = match &rate.peak {
        Some(p) => format!(
            "peak {} posts/min at {}",
            text::thousands(p.posts),
            p.minute
        ),
        None => "peak -".to_owned(),
    };
    line(
        out,
        &format!(
            "{peak}   mean {:.2} posts/min   ({scale})",
            rate.mean_per_minute
        ),
    )
}

pub fn report(summary: &ReportSummary, out: &mut dyn Write) -> Result<(), QueryError> {
    line(
        out,
        &format!(
            "wrote {} ({} posts, {} bytes)",
            one_line(&summary.out),
            text::thousands(summary.posts),
            text::thousands(summary.bytes)
        ),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::window::Window;

    #[test]
    fn post_lines_fit_the_terminal_width() {
        let t = Terminal {
            width: 60,
            color: false,
        };
        let p = PostLine {
            id: "1".into(),
            timestamp: "2024-05-13T20:59:04.000Z".into(),
            username: Some("someone".into()),
            text: Some("日本語 ".repeat(40) + "\n\x1b[2Jend"),
            link: None,
        };
        let l = post_line(&t, &p);
        assert!(text::width(&l) <= 60, "{l}");
        assert!(l.starts_with("2024-05-13 20:59:04  @someone  日本語 日本語"));
        assert!(l.ends_with('…'));
        assert!(!l.contains('\x1b'));
    }

    /// Hostile text in every stored field: ESC with CSI (clear screen), OSC 8 (a link) and OSC 52
    /// (a clipboard write), BEL, NUL, DEL, C1 CSI, bidi override and isolate, CR, tab.
    const EVIL: &str = "a\u{1b}[2J\u{1b}]8;;http://e.x\u{7}\u{1b}]52;c;eA==\u{7}\u{0}\u{7f}\u{9b}1m\u{202e}b\u{2066}\rc\td";
    /// [`EVIL`] on one line, worked out by hand: the controls gone, CR and tab as spaces.
    const EVIL_LINE: &str = "a[2J]8;;http://e.x]52;c;eA==1mb c d";
    /// [`EVIL_LINE`] in a column of 23 (a time's) or 24 (`@` and a user): 22 of it and `…`.
    const EVIL_CUT: &str = "a[2J]8;;http://e.x]52;…";

    const COLOUR: Terminal = Terminal {
        width: 200,
        color: true,
    };

    /// What a renderer wrote, with our own colour codes taken out; panics if anything else that
    /// is a control or bidi character is left but line feeds.
    fn shown(f: impl FnOnce(&mut dyn Write) -> Result<(), QueryError>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        let mut text = String::from_utf8(out).unwrap();
        for code in [
            "\u{1b}[0m",
            "\u{1b}[1m",
            "\u{1b}[2m",
            "\u{1b}[32m",
            "\u{1b}[36m",
        ] {
            text = text.replace(code, "");
        }
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| {
                c != '\n'
                    && (c.is_control()
                        || ('\u{202a}'..='\u{202e}').contains(&c)
                        || ('\u{2066}'..='\u{2069}').contains(&c))
            })
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {text:?}");
        text
    }

    #[test]
    fn no_stored_control_or_bidi_character_reaches_the_terminal() {
        let summaries = [KeywordSummary {
            keyword: EVIL.into(),
            posts: 1,
            first_seen: EVIL.into(),
            last_seen: "2026-01-01T00:00:00.000Z".into(),
        }];
        let text = shown(|out| keywords(&COLOUR, &summaries, out));
        assert!(text.contains(&format!("{EVIL_LINE}  ")), "{text}");
        assert!(text.contains(&format!("  {EVIL_CUT}  ")), "{text}");

        let posts = [PostLine {
            id: "1".into(),
            timestamp: EVIL.into(),
            username: Some(EVIL.into()),
            text: Some(EVIL.into()),
            link: Some("https://x.com/i/web/status/1".into()),
        }];
        let text = shown(|out| latest(&COLOUR, EVIL, &posts, out));
        assert!(text.starts_with(&format!("newest 1 posts under \"{EVIL_LINE}\"")));
        assert!(
            text.contains(&format!("{EVIL_CUT}  @{EVIL_CUT}  {EVIL_LINE}")),
            "{text}"
        );

        let post = Post {
            id: EVIL.into(),
            keywords: vec![EVIL.into(), "k".into()],
            timestamp: Some(EVIL.into()),
            username: Some(EVIL.into()),
            name: Some(EVIL.into()),
            author_id: Some(EVIL.into()),
            lang: Some(EVIL.into()),
            country: Some(EVIL.into()),
            country_code: Some(EVIL.into()),
            hashtags: vec![EVIL.into()],
            mentions: vec![EVIL.into()],
            retweet_count: None,
            reply_count: None,
            like_count: Some(1),
            quote_count: None,
            bookmark_count: None,
            impression_count: None,
            received_at: Some(EVIL.into()),
            text: Some(EVIL.into()),
            link: None,
        };
        let text = shown(|out| show(&COLOUR, &post, out));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("@{EVIL_LINE} ({EVIL_LINE})"));
        // Several lines: the CR is a line break of its own.
        assert_eq!(lines[1], "a[2J]8;;http://e.x]52;c;eA==1mb");
        assert_eq!(lines[2], "c d");
        assert!(
            text.contains(&format!("keywords   {EVIL_LINE}, k")),
            "{text}"
        );
        assert!(text.contains(&format!("hashtags   #{EVIL_LINE}")), "{text}");

        let stats = Stats {
            keyword: "k".into(),
            by: By::Hour,
            since: None,
            until: None,
            posts: 1,
            buckets: vec![Bucket {
                key: EVIL.into(),
                count: 1,
            }],
        };
        let text = shown(|out| super::stats(&COLOUR, &stats, out));
        assert!(text.contains(&format!("{EVIL_LINE}  ")), "{text}");
        for by in [By::Lang, By::Author, By::Hashtag, By::Country] {
            let stats = Stats {
                by,
                ..stats.clone()
            };
            shown(|out| super::stats(&COLOUR, &stats, out));
        }

        let summary = ReportSummary {
            out: EVIL.into(),
            keyword: EVIL.into(),
            posts: 1,
            bytes: 1,
        };
        let text = shown(|out| report(&summary, out));
        assert_eq!(text, format!("wrote {EVIL_LINE} (1 posts, 1 bytes)\n"));
    }

    #[test]
    fn rate_output_renders_as_text_csv_and_json() {
        let window = Window {
            since: Some(datetime!(2026-01-01 10:00 UTC)),
            until: Some(datetime!(2026-01-01 11:00 UTC)),
        };
        let rate = view::rate_of(None, &window, &["2026-01-01T10:30:00.000Z"]);
        let mut out = Vec::new();
        super::rate(&Terminal::PLAIN, &rate, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("all keywords: 1 posts in 60 minutes"),
            "{text}"
        );
        assert!(
            text.contains("peak 1 posts/min at 2026-01-01T10:30:00Z"),
            "{text}"
        );
        assert!(text.contains("mean 0.02 posts/min"), "{text}");
    }
}
