//! The commands: each reads through the [`Store`], counts with [`crate::aggregate`], and prints
//! one result in the chosen format.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use twitter_consumer::{payload, schema};

use crate::aggregate::{self, Bucket, By, Entry, KeywordSummary, KeywordTally, Series, Step};
use crate::cli::{Command, WindowArgs};
use crate::error::QueryError;
use crate::link::post_link;
use crate::render::{self, Align, Style, Terminal};
use crate::report::{self, Breakdown, ReportData};
use crate::store::{Order, Store};
use crate::window::{self, TimestampBounds, Window};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Csv,
}

/// What every command needs.
#[derive(Debug)]
pub struct Context<'a> {
    pub store: &'a Store,
    pub format: Format,
    pub terminal: Terminal,
    pub now: OffsetDateTime,
}

/// Runs one command, printing to `out`.
pub async fn execute(
    ctx: &Context<'_>,
    command: Command,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    match command {
        Command::Latest { keyword, count } => latest(ctx, keyword.trim(), count, out).await,
        Command::Show { id, raw } => show(ctx, id.trim(), raw, out).await,
        Command::Stats {
            keyword,
            window,
            by,
        } => stats(ctx, keyword.trim(), &window, by, out).await,
        Command::Rate { keyword, window } => {
            let keyword = keyword.as_deref().map(str::trim);
            rate(ctx, keyword, &window, out).await
        }
        Command::Keywords => keywords(ctx, out).await,
        Command::Report {
            keyword,
            window,
            out: path,
            posts,
        } => report(ctx, keyword.trim(), &window, &path, posts, out).await,
    }
}

/// Checks that need no AWS call, so bad input fails before any request.
pub fn validate(command: &Command, format: Format) -> Result<(), QueryError> {
    if let Command::Show { raw: true, .. } = command
        && format != Format::Human
    {
        return Err(QueryError::Usage(
            "--raw prints the original line as it is; it cannot be combined with --json or --csv"
                .to_owned(),
        ));
    }
    let keyword = match command {
        Command::Latest { keyword, .. }
        | Command::Stats { keyword, .. }
        | Command::Report { keyword, .. } => Some(keyword.as_str()),
        Command::Rate { keyword, .. } => keyword.as_deref(),
        Command::Show { id, .. } => {
            if id.trim().is_empty() {
                return Err(QueryError::Usage("the post id is empty".to_owned()));
            }
            None
        }
        Command::Keywords => None,
    };
    if keyword.is_some_and(|k| k.trim().is_empty()) {
        return Err(QueryError::Usage("the keyword is empty".to_owned()));
    }
    Ok(())
}

const ALL_TIME: TimestampBounds = TimestampBounds {
    from: None,
    to: None,
};

fn csv_writer(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::Writer::from_writer(out)
}

fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), QueryError> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out).map_err(QueryError::Output)
}

fn line(out: &mut dyn Write, text: &str) -> Result<(), QueryError> {
    writeln!(out, "{text}").map_err(QueryError::Output)
}

/// `2024-05-13 20:59:04` from the stored `2024-05-13T20:59:04.000Z` (milliseconds kept when
/// there are some); anything else as it is.
pub fn human_time(stored: &str) -> String {
    match stored.get(..19) {
        Some(head) if stored.len() == 24 && stored.ends_with('Z') => {
            let ms = &stored[19..23];
            let head = head.replacen('T', " ", 1);
            if ms == ".000" {
                head
            } else {
                format!("{head}{ms}")
            }
        }
        _ => stored.to_owned(),
    }
}

fn window_text(window: &Window) -> String {
    match (window.since, window.until) {
        (None, None) => "all time".to_owned(),
        (Some(s), None) => format!("since {}", window::format_utc(s)),
        (None, Some(u)) => format!("before {}", window::format_utc(u)),
        (Some(s), Some(u)) => format!(
            "from {} to {}",
            window::format_utc(s),
            window::format_utc(u)
        ),
    }
}

fn quoted(keyword: &str) -> String {
    format!("\"{}\"", render::one_line(keyword))
}

// ----- latest ---------------------------------------------------------------------------------

/// One post as `latest` and `report` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostLine {
    pub id: String,
    pub timestamp: String,
    pub username: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
}

/// The newest `count` posts among `entries`' keys, with their text from the base table.
async fn with_messages(
    store: &Store,
    keyword: &str,
    entries: Vec<Entry>,
) -> Result<Vec<PostLine>, QueryError> {
    let keys: Vec<(String, String)> = entries
        .iter()
        .filter_map(|e| e.id.clone().map(|id| (id, keyword.to_owned())))
        .collect();
    let mut messages = store.messages(&keys).await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let id = e.id?;
            let text = messages.remove(&(id.clone(), keyword.to_owned()));
            Some(PostLine {
                link: post_link(&id),
                id,
                timestamp: e.timestamp.unwrap_or_default(),
                username: e.username,
                text,
            })
        })
        .collect())
}

async fn latest(
    ctx: &Context<'_>,
    keyword: &str,
    count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let entries = ctx
        .store
        .query_keyword(
            keyword,
            &ALL_TIME,
            &[schema::ID, schema::TIMESTAMP, schema::USERNAME],
            Order::NewestFirst,
            Some(count as usize),
        )
        .await?;
    if entries.is_empty() {
        ctx.store.explain_empty(keyword).await?;
    }
    let posts = with_messages(ctx.store, keyword, entries).await?;
    match ctx.format {
        Format::Json => json(out, &posts),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["timestamp", "username", "id", "link", "text"])?;
            for p in &posts {
                w.write_record([
                    p.timestamp.as_str(),
                    p.username.as_deref().unwrap_or(""),
                    &p.id,
                    p.link.as_deref().unwrap_or(""),
                    p.text.as_deref().unwrap_or(""),
                ])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => {
            let t = ctx.terminal;
            let header = format!(
                "newest {} posts under {} (times UTC)",
                posts.len(),
                quoted(keyword)
            );
            line(out, &t.paint(Style::Bold, &header))?;
            for p in &posts {
                line(out, &post_line(&t, p))?;
                if let Some(link) = &p.link {
                    line(out, &format!("  {}", t.paint(Style::Dim, link)))?;
                }
            }
            Ok(())
        }
    }
}

/// `time  @user  text…` cut to the terminal width.
fn post_line(t: &Terminal, p: &PostLine) -> String {
    let time = human_time(&p.timestamp);
    let user = format!(
        "@{}",
        render::one_line(p.username.as_deref().unwrap_or("?"))
    );
    let user = render::truncate(&user, 24).into_owned();
    let used = render::width(&time) + 2 + render::width(&user) + 2;
    let text = render::one_line(p.text.as_deref().unwrap_or(""));
    let text = render::truncate(&text, t.width.saturating_sub(used));
    format!(
        "{}  {}  {}",
        t.paint(Style::Dim, &time),
        t.paint(Style::Accent, &user),
        text
    )
    .trim_end()
    .to_owned()
}

// ----- show -----------------------------------------------------------------------------------

/// One post in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub id: String,
    pub keywords: Vec<String>,
    pub timestamp: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub author_id: Option<String>,
    pub lang: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub bookmark_count: Option<u64>,
    pub impression_count: Option<u64>,
    pub received_at: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
}

/// Every attribute `show` prints: all but the payload.
const SHOW_ATTRIBUTES: &[&str] = &[
    schema::ID,
    schema::KEYWORD,
    schema::TIMESTAMP,
    schema::USERNAME,
    schema::NAME,
    schema::AUTHOR_ID,
    schema::LANG,
    schema::COUNTRY,
    schema::COUNTRY_CODE,
    schema::HASHTAGS,
    schema::MENTIONS,
    schema::RETWEET_COUNT,
    schema::REPLY_COUNT,
    schema::LIKE_COUNT,
    schema::QUOTE_COUNT,
    schema::BOOKMARK_COUNT,
    schema::IMPRESSION_COUNT,
    schema::RECEIVED_AT,
    schema::MESSAGE,
];

type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

fn s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn list(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(aws_sdk_dynamodb::types::AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        Some(aws_sdk_dynamodb::types::AttributeValue::Ss(values)) => values.clone(),
        _ => Vec::new(),
    }
}

/// The item last written (latest `ReceivedAt`): a redelivered post refreshes the items of the
/// keywords it matched then, and those carry the newest counts.
fn newest_item(items: &[Item]) -> Option<&Item> {
    items
        .iter()
        .max_by(|a, b| s(a, schema::RECEIVED_AT).cmp(&s(b, schema::RECEIVED_AT)))
}

fn post_from_items(id: &str, items: &[Item]) -> Option<Post> {
    let item = newest_item(items)?;
    let mut keywords: Vec<String> = items.iter().filter_map(|i| s(i, schema::KEYWORD)).collect();
    keywords.sort();
    keywords.dedup();
    Some(Post {
        id: id.to_owned(),
        keywords,
        timestamp: s(item, schema::TIMESTAMP),
        username: s(item, schema::USERNAME),
        name: s(item, schema::NAME),
        author_id: s(item, schema::AUTHOR_ID),
        lang: s(item, schema::LANG),
        country: s(item, schema::COUNTRY),
        country_code: s(item, schema::COUNTRY_CODE),
        hashtags: list(item, schema::HASHTAGS),
        mentions: list(item, schema::MENTIONS),
        retweet_count: n(item, schema::RETWEET_COUNT),
        reply_count: n(item, schema::REPLY_COUNT),
        like_count: n(item, schema::LIKE_COUNT),
        quote_count: n(item, schema::QUOTE_COUNT),
        bookmark_count: n(item, schema::BOOKMARK_COUNT),
        impression_count: n(item, schema::IMPRESSION_COUNT),
        received_at: s(item, schema::RECEIVED_AT),
        text: s(item, schema::MESSAGE),
        link: post_link(id),
    })
}

async fn show(
    ctx: &Context<'_>,
    id: &str,
    raw: bool,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let unknown = || QueryError::UnknownPost {
        id: id.to_owned(),
        table: ctx.store.table().to_owned(),
    };
    if raw {
        let items = ctx
            .store
            .post_items(id, &[schema::KEYWORD, schema::RECEIVED_AT, schema::PAYLOAD])
            .await?;
        let item = newest_item(&items).ok_or_else(unknown)?;
        let stored = item
            .get(schema::PAYLOAD)
            .and_then(|v| v.as_b().ok())
            .ok_or_else(|| QueryError::Payload {
                id: id.to_owned(),
                source: Box::new(twitter_consumer::ConsumerError::Payload(
                    "no payload stored".to_owned(),
                )),
            })?;
        let line = payload::decompress(stored.as_ref()).map_err(|source| QueryError::Payload {
            id: id.to_owned(),
            source: Box::new(source),
        })?;
        // Byte for byte as the stream sent it: no newline added, nothing re-encoded.
        return out.write_all(&line).map_err(QueryError::Output);
    }
    let items = ctx.store.post_items(id, SHOW_ATTRIBUTES).await?;
    let post = post_from_items(id, &items).ok_or_else(unknown)?;
    match ctx.format {
        Format::Json => json(out, &post),
        Format::Csv => {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
            let mut w = csv_writer(out);
            w.write_record([
                "id",
                "keywords",
                "timestamp",
                "username",
                "name",
                "author_id",
                "lang",
                "country",
                "country_code",
                "hashtags",
                "mentions",
                "retweet_count",
                "reply_count",
                "like_count",
                "quote_count",
                "bookmark_count",
                "impression_count",
                "received_at",
                "link",
                "text",
            ])?;
            w.write_record([
                post.id.clone(),
                post.keywords.join("|"),
                opt(&post.timestamp),
                opt(&post.username),
                opt(&post.name),
                opt(&post.author_id),
                opt(&post.lang),
                opt(&post.country),
                opt(&post.country_code),
                post.hashtags.join(" "),
                post.mentions.join(" "),
                num(post.retweet_count),
                num(post.reply_count),
                num(post.like_count),
                num(post.quote_count),
                num(post.bookmark_count),
                num(post.impression_count),
                opt(&post.received_at),
                opt(&post.link),
                opt(&post.text),
            ])?;
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => show_human(&ctx.terminal, &post, out),
    }
}

fn show_human(t: &Terminal, post: &Post, out: &mut dyn Write) -> Result<(), QueryError> {
    let clean = |v: &Option<String>| v.as_deref().map(render::one_line);
    let mut head = format!(
        "@{}",
        clean(&post.username).unwrap_or_else(|| "?".to_owned())
    );
    if let Some(name) = clean(&post.name) {
        head.push_str(&format!(" ({name})"));
    }
    line(out, &t.paint(Style::Bold, &head))?;
    line(out, &render::safe_text(post.text.as_deref().unwrap_or("")))?;
    line(out, "")?;
    let mut fields: Vec<(&str, String)> = vec![
        ("id", post.id.clone()),
        (
            "created",
            post.timestamp
                .as_deref()
                .map(human_time)
                .unwrap_or_default(),
        ),
        ("keywords", post.keywords.join(", ")),
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
                .map(|h| format!("#{}", render::one_line(h)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    push(
        "mentions",
        Some(
            post.mentions
                .iter()
                .map(|m| format!("@{}", render::one_line(m)))
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
    .filter_map(|(label, v)| v.map(|v| format!("{} {label}", render::thousands(v))))
    .collect();
    push("counts", Some(metrics.join(", ")));
    push("received", post.received_at.as_deref().map(human_time));
    push("link", post.link.clone());
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in fields {
        let label = format!("{label:<width$}");
        line(out, &format!("{}  {value}", t.paint(Style::Dim, &label)))?;
    }
    Ok(())
}

// ----- stats ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub keyword: String,
    pub by: By,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Posts in the window (a post with two hashtags is one post, in two buckets).
    pub posts: u64,
    pub buckets: Vec<Bucket>,
}

async fn window_entries(
    store: &Store,
    keyword: &str,
    window: &Window,
    attributes: &[&str],
) -> Result<Vec<Entry>, QueryError> {
    let entries = match window.timestamp_bounds() {
        Some(bounds) => {
            store
                .query_keyword(keyword, &bounds, attributes, Order::OldestFirst, None)
                .await?
        }
        None => Vec::new(),
    };
    if entries.is_empty() {
        // An empty window is an answer; a keyword with nothing at all is a mistake to report.
        store.explain_empty(keyword).await?;
    }
    Ok(entries)
}

async fn stats(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    by: By,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = Window::parse(
        window_args.since.as_deref(),
        window_args.until.as_deref(),
        ctx.now,
    )?;
    let entries = window_entries(ctx.store, keyword, &window, &[by.attribute()]).await?;
    let stats = Stats {
        keyword: keyword.to_owned(),
        by,
        since: window.since.map(window::format_utc),
        until: window.until.map(window::format_utc),
        posts: entries.len() as u64,
        buckets: aggregate::group(by, &entries),
    };
    match ctx.format {
        Format::Json => json(out, &stats),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record([by.name(), "posts"])?;
            for b in &stats.buckets {
                w.write_record([b.key.as_str(), &b.count.to_string()])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => {
            let t = &ctx.terminal;
            let unit = if by.is_time() { " (UTC)" } else { "" };
            let header = format!(
                "{}: {} posts, {}, by {}{unit}",
                quoted(keyword),
                render::thousands(stats.posts),
                window_text(&window),
                by.name(),
            );
            line(out, &t.paint(Style::Bold, &header))?;
            if stats.buckets.is_empty() {
                return Ok(());
            }
            let label = |key: &str| match by {
                By::Hashtag if key != aggregate::NONE => format!("#{}", render::one_line(key)),
                By::Author if key != aggregate::NONE => format!("@{}", render::one_line(key)),
                By::Hour => human_time_bucket(key),
                _ => render::one_line(key),
            };
            bar_table(t, by.name(), &stats.buckets, stats.posts, label, out)
        }
    }
}

fn human_time_bucket(key: &str) -> String {
    // 2024-05-13T20:00:00Z -> 2024-05-13 20:00
    match key.get(..16) {
        Some(head) if key.len() == 20 => head.replacen('T', " ", 1),
        _ => key.to_owned(),
    }
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
        .map(|b| render::truncate(&label(&b.key), 40).into_owned())
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
            vec![
                l.clone(),
                render::thousands(b.count),
                format!("{share:.1}%"),
            ]
        })
        .collect();
    let lines = render::table(
        &[key_header, "posts", "share"],
        &[Align::Left, Align::Right, Align::Right],
        &rows,
    );
    let text_width = lines.iter().map(|l| render::width(l)).max().unwrap_or(0);
    let bar_width = t.width.saturating_sub(text_width + 2).max(10);
    line(out, &t.paint(Style::Dim, &lines[0]))?;
    for (text, b) in lines[1..].iter().zip(buckets) {
        let bar = render::bar(b.count, max, bar_width);
        line(
            out,
            format!(
                "{}  {}",
                render::pad(text, text_width),
                t.paint(Style::Bar, &bar)
            )
            .trim_end(),
        )?;
    }
    Ok(())
}

// ----- rate -----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    /// `None`: every keyword, each post once.
    pub keyword: Option<String>,
    pub since: String,
    pub until: String,
    pub posts: u64,
    pub minutes: usize,
    pub peak: Option<Peak>,
    pub mean_per_minute: f64,
    pub per_minute: Vec<MinuteCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peak {
    pub minute: String,
    pub posts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinuteCount {
    pub minute: String,
    pub posts: u64,
}

/// `2026-01-02T03:04Z`: a minute in UTC.
fn minute_text(t: OffsetDateTime) -> String {
    let full = window::format_utc(t);
    format!("{}Z", &full[..16])
}

pub fn rate_of(keyword: Option<&str>, window: &Window, timestamps: &[&str]) -> Rate {
    let (since, until) = (
        window.since.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        window.until.unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    let series = Series::count(timestamps.iter().copied(), since, until, Step::Minute);
    Rate {
        keyword: keyword.map(str::to_owned),
        since: window::format_utc(since),
        until: window::format_utc(until),
        posts: series.total(),
        minutes: series.counts.len(),
        peak: series.peak().map(|(minute, posts)| Peak {
            minute: minute_text(minute),
            posts,
        }),
        mean_per_minute: series.mean(),
        per_minute: series
            .counts
            .iter()
            .enumerate()
            .map(|(i, &posts)| MinuteCount {
                minute: minute_text(series.slot_start(i)),
                posts,
            })
            .collect(),
    }
}

async fn rate(
    ctx: &Context<'_>,
    keyword: Option<&str>,
    window_args: &WindowArgs,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = Window::parse_or(
        window_args.since.as_deref(),
        window_args.until.as_deref(),
        ctx.now,
        window::last_hour,
    )?;
    let entries = match keyword {
        Some(k) => window_entries(ctx.store, k, &window, &[schema::TIMESTAMP]).await?,
        None => {
            let entries = match window.timestamp_bounds() {
                // No key lists every post of a time range across keywords: this is a Scan of
                // the index, filtered on Timestamp, projecting only what dedupe and counting need.
                Some(bounds) => ctx
                    .store
                    .scan_index(
                        &[schema::ID, schema::TIMESTAMP],
                        &bounds,
                        Vec::new,
                        |v, e| {
                            v.push(e);
                        },
                    )
                    .await?
                    .concat(),
                None => Vec::new(),
            };
            if entries.is_empty() && !ctx.store.table_has_posts().await? {
                return Err(QueryError::EmptyTable(ctx.store.table().to_owned()));
            }
            aggregate::dedupe_by_id(entries)
        }
    };
    let timestamps: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.timestamp.as_deref())
        .collect();
    let rate = rate_of(keyword, &window, &timestamps);
    match ctx.format {
        Format::Json => json(out, &rate),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["minute", "posts"])?;
            for m in &rate.per_minute {
                w.write_record([m.minute.as_str(), &m.posts.to_string()])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => rate_human(&ctx.terminal, &rate, out),
    }
}

fn rate_human(t: &Terminal, rate: &Rate, out: &mut dyn Write) -> Result<(), QueryError> {
    let what = rate
        .keyword
        .as_deref()
        .map(quoted)
        .unwrap_or_else(|| "all keywords".to_owned());
    let header = format!(
        "{what}: {} posts in {} minutes, from {} to {}",
        render::thousands(rate.posts),
        rate.minutes,
        rate.since,
        rate.until
    );
    line(out, &t.paint(Style::Bold, &header))?;
    if rate.minutes == 0 {
        return Ok(());
    }
    let counts: Vec<u64> = rate.per_minute.iter().map(|m| m.posts).collect();
    let (spark, per) = render::sparkline(&counts, t.width.saturating_sub(2).max(10));
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
    let axis_gap = render::width(&spark)
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
            render::thousands(p.posts),
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

// ----- keywords -------------------------------------------------------------------------------

async fn keywords(ctx: &Context<'_>, out: &mut dyn Write) -> Result<(), QueryError> {
    // No key lists the distinct keywords (each is the partition key of its own part of the
    // index), so this reads the whole index once, in parallel segments, two small attributes per
    // entry.
    let tallies = ctx
        .store
        .scan_index(
            &[schema::KEYWORD, schema::TIMESTAMP],
            &ALL_TIME,
            KeywordTally::default,
            |tally, entry| {
                if let (Some(k), Some(t)) = (&entry.keyword, &entry.timestamp) {
                    tally.add(k, t);
                }
            },
        )
        .await?;
    let mut all = KeywordTally::default();
    for t in tallies {
        all.merge(t);
    }
    if all.is_empty() {
        return Err(QueryError::EmptyTable(ctx.store.table().to_owned()));
    }
    let summaries: Vec<KeywordSummary> = all.summaries();
    match ctx.format {
        Format::Json => json(out, &summaries),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["keyword", "posts", "first_seen", "last_seen"])?;
            for k in &summaries {
                w.write_record([
                    k.keyword.as_str(),
                    &k.posts.to_string(),
                    &k.first_seen,
                    &k.last_seen,
                ])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => {
            let t = &ctx.terminal;
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|k| {
                    vec![
                        render::truncate(&render::one_line(&k.keyword), 40).into_owned(),
                        render::thousands(k.posts),
                        human_time(&k.first_seen),
                        human_time(&k.last_seen),
                    ]
                })
                .collect();
            let lines = render::table(
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
    }
}

// ----- report ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub out: String,
    pub keyword: String,
    pub posts: u64,
    pub bytes: u64,
}

/// Slots in the report's time chart at most: the finest of minute, hour, day that fits.
const REPORT_MAX_SLOTS: usize = 400;
/// Groups each breakdown chart shows; the rest are summed into one bar.
const REPORT_TOP: usize = 12;

fn parse_stored(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

async fn report(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    path: &Path,
    latest_count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = Window::parse(
        window_args.since.as_deref(),
        window_args.until.as_deref(),
        ctx.now,
    )?;
    // One Query serves every chart: the attributes of all groupings, and the keys of the latest.
    let attributes = [
        schema::ID,
        schema::TIMESTAMP,
        schema::LANG,
        schema::COUNTRY,
        schema::USERNAME,
        schema::HASHTAGS,
    ];
    let entries = window_entries(ctx.store, keyword, &window, &attributes).await?;
    let latest: Vec<Entry> = entries
        .iter()
        .rev()
        .take(latest_count as usize)
        .cloned()
        .collect();
    let latest = with_messages(ctx.store, keyword, latest).await?;

    // The chart spans the window; an open side ends at the first post, or now.
    let first = entries
        .first()
        .and_then(|e| e.timestamp.as_deref())
        .and_then(parse_stored);
    let last = entries
        .last()
        .and_then(|e| e.timestamp.as_deref())
        .and_then(parse_stored);
    let since = window.since.or(first).unwrap_or(ctx.now);
    let until = window
        .until
        .unwrap_or_else(|| match last {
            Some(l) if l >= ctx.now => l + Duration::milliseconds(1),
            _ => ctx.now,
        })
        .max(since);
    let step = Step::fitting(since, until, REPORT_MAX_SLOTS);
    let series = Series::count(
        entries.iter().filter_map(|e| e.timestamp.as_deref()),
        since,
        until,
        step,
    );
    let breakdown = |title: &'static str, by: By| {
        let (top, other) = aggregate::top(&aggregate::group(by, &entries), REPORT_TOP);
        Breakdown {
            title,
            by,
            buckets: top,
            other,
        }
    };
    let data = ReportData {
        keyword: keyword.to_owned(),
        table: ctx.store.table().to_owned(),
        window: window_text(&window),
        generated_at: window::format_utc(window::millis(ctx.now)),
        posts: entries.len() as u64,
        series,
        breakdowns: vec![
            breakdown("Languages", By::Lang),
            breakdown("Countries", By::Country),
            breakdown("Hashtags", By::Hashtag),
            breakdown("Authors", By::Author),
        ],
        latest,
    };
    let html = report::render(&data);
    std::fs::write(path, &html).map_err(|source| QueryError::WriteFile {
        path: path.display().to_string(),
        source,
    })?;
    let summary = ReportSummary {
        out: path.display().to_string(),
        keyword: keyword.to_owned(),
        posts: data.posts,
        bytes: html.len() as u64,
    };
    match ctx.format {
        Format::Json => json(out, &summary),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["out", "keyword", "posts", "bytes"])?;
            w.write_record([
                summary.out.as_str(),
                &summary.keyword,
                &summary.posts.to_string(),
                &summary.bytes.to_string(),
            ])?;
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => line(
            out,
            &format!(
                "wrote {} ({} posts, {} bytes)",
                summary.out,
                render::thousands(summary.posts),
                render::thousands(summary.bytes)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_times_read_well() {
        assert_eq!(
            human_time("2024-05-13T20:59:04.000Z"),
            "2024-05-13 20:59:04"
        );
        assert_eq!(
            human_time("2024-05-13T20:59:04.120Z"),
            "2024-05-13 20:59:04.120"
        );
        assert_eq!(human_time("garbage"), "garbage");
        assert_eq!(
            human_time_bucket("2024-05-13T20:00:00Z"),
            "2024-05-13 20:00"
        );
    }

    #[test]
    fn rate_counts_every_minute_of_the_window() {
        let window = Window {
            since: Some(datetime!(2026-01-01 10:00 UTC)),
            until: Some(datetime!(2026-01-01 10:03 UTC)),
        };
        let rate = rate_of(
            Some("k"),
            &window,
            &[
                "2026-01-01T10:00:10.000Z",
                "2026-01-01T10:02:00.000Z",
                "2026-01-01T10:02:59.999Z",
            ],
        );
        assert_eq!(rate.minutes, 3);
        assert_eq!(rate.posts, 3);
        let per: Vec<(&str, u64)> = rate
            .per_minute
            .iter()
            .map(|m| (m.minute.as_str(), m.posts))
            .collect();
        assert_eq!(
            per,
            [
                ("2026-01-01T10:00Z", 1),
                ("2026-01-01T10:01Z", 0),
                ("2026-01-01T10:02Z", 2)
            ]
        );
        assert_eq!(
            rate.peak,
            Some(Peak {
                minute: "2026-01-01T10:02Z".into(),
                posts: 2
            })
        );
        assert!((rate.mean_per_minute - 1.0).abs() < 1e-12);
        let json = serde_json::to_value(&rate).unwrap();
        assert_eq!(json["per_minute"][2]["posts"], 2);
        assert_eq!(json["peak"]["minute"], "2026-01-01T10:02Z");
    }

    #[test]
    fn rate_output_renders_as_text_csv_and_json() {
        let window = Window {
            since: Some(datetime!(2026-01-01 10:00 UTC)),
            until: Some(datetime!(2026-01-01 11:00 UTC)),
        };
        let rate = rate_of(None, &window, &["2026-01-01T10:30:00.000Z"]);
        let mut out = Vec::new();
        rate_human(&Terminal::PLAIN, &rate, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("all keywords: 1 posts in 60 minutes"),
            "{text}"
        );
        assert!(
            text.contains("peak 1 posts/min at 2026-01-01T10:30Z"),
            "{text}"
        );
        assert!(text.contains("mean 0.02 posts/min"), "{text}");
    }

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
        assert!(render::width(&l) <= 60, "{l}");
        assert!(l.starts_with("2024-05-13 20:59:04  @someone  日本語 日本語"));
        assert!(l.ends_with('…'));
        assert!(!l.contains('\x1b'));
    }

    #[test]
    fn show_merges_the_items_of_every_keyword() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let item = |keyword: &str, received: &str, likes: &str| -> Item {
            HashMap::from([
                (schema::KEYWORD.to_owned(), A::S(keyword.into())),
                (schema::RECEIVED_AT.to_owned(), A::S(received.into())),
                (schema::LIKE_COUNT.to_owned(), A::N(likes.into())),
                (schema::MESSAGE.to_owned(), A::S("hi".into())),
            ])
        };
        let items = [
            item("rust", "2026-01-01T00:00:00.000Z", "1"),
            item("cats", "2026-01-02T00:00:00.000Z", "5"),
            item("rust", "2026-01-01T00:00:00.000Z", "1"),
        ];
        let post = post_from_items("123", &items).unwrap();
        assert_eq!(post.keywords, ["cats", "rust"]);
        assert_eq!(post.like_count, Some(5));
        assert_eq!(post.link.as_deref(), Some("https://x.com/i/web/status/123"));
        assert_eq!(post_from_items("123", &[]), None);
    }

    #[test]
    fn raw_cannot_be_combined_with_json() {
        let show = Command::Show {
            id: "1".into(),
            raw: true,
        };
        assert!(matches!(
            validate(&show, Format::Json),
            Err(QueryError::Usage(_))
        ));
        assert!(validate(&show, Format::Human).is_ok());
        let empty = Command::Latest {
            keyword: "  ".into(),
            count: 1,
        };
        assert!(validate(&empty, Format::Human).is_err());
    }
}
