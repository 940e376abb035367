//! `report`: one keyword's window as a self-contained HTML file.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use twitter_table::schema;

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

/// The time chart's span: the window's sides where given. An open end is now when the window
/// has a start (`--since 24h`: the quiet minutes up to now are part of the answer), else the last
/// post, so an all-time report of last year's posts is not squeezed against eleven empty months.
/// An open start is the first post.
fn chart_span(
    window: &window::Window,
    first: Option<OffsetDateTime>,
    last: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime) {
    let since = window.since.or(first).unwrap_or(now);
    // The window is half-open: the last post's own millisecond is inside it.
    let after_last = last.map(|l| l + Duration::milliseconds(1));
    let until = match (window.until, window.since) {
        (Some(until), _) => until,
        (None, Some(_)) => after_last.map_or(now, |l| l.max(now)),
        (None, None) => after_last.unwrap_or(now),
    };
    (since, until.max(since))
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

    let first = entries
        .first()
        .and_then(|e| e.timestamp.as_deref())
        .and_then(parse_stored);
    let last = entries
        .last()
        .and_then(|e| e.timestamp.as_deref())
        .and_then(parse_stored);
    let (since, until) = chart_span(&window, first, last, ctx.now);
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
    use time::macros::datetime;

    use super::*;

    fn window(since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> window::Window {
        window::Window { since, until }
    }

    #[test]
    fn an_all_time_chart_spans_the_posts_not_up_to_now() {
        let (first, last) = (
            datetime!(2026-01-06 00:00 UTC),
            datetime!(2026-01-07 23:54 UTC),
        );
        let now = datetime!(2026-11-23 20:00 UTC);
        assert_eq!(
            chart_span(&window(None, None), Some(first), Some(last), now),
            (first, last + Duration::milliseconds(1))
        );
    }

    #[test]
    fn a_chart_with_a_start_runs_to_now_and_given_sides_are_kept() {
        let now = datetime!(2026-11-23 20:00 UTC);
        let since = now - Duration::hours(24);
        let last = now - Duration::hours(3);
        assert_eq!(
            chart_span(&window(Some(since), None), Some(since), Some(last), now),
            (since, now)
        );
        let until = now - Duration::hours(1);
        assert_eq!(
            chart_span(&window(Some(since), Some(until)), None, None, now),
            (since, until)
        );
        // Nothing stored and no window: an empty chart at now, never a reversed span.
        assert_eq!(chart_span(&window(None, None), None, None, now), (now, now));
    }
}
