//! `stats`: posts of one keyword in a window, grouped, as a bar table.

use std::io::Write;

use serde::Serialize;

use super::{
    Context, Format, csv_writer, human_time_bucket, json, line, parse_window, quoted, window_text,
};
use crate::aggregate::{self, Bucket, By, Entry};
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::render::{self, Align, Style, Terminal};
use crate::store::{Order, Store};
use crate::window::{self, Window};

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

pub(super) async fn window_entries(
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

pub(super) async fn stats(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    by: By,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = parse_window(window_args, ctx.now)?;
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
