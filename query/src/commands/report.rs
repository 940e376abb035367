//! `report`: one keyword's window as a self-contained HTML file.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use twitter_consumer::schema;

use super::latest::with_messages;
use super::stats::window_entries;
use super::{Context, Format, csv_writer, json, line, parse_window, window_text};
use crate::aggregate::{self, By, Entry, Series, Step};
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::render;
use crate::report::{self, Breakdown, ReportData};
use crate::window;

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

pub(super) async fn report(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    path: &Path,
    latest_count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = parse_window(window_args, ctx.now)?;
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
