//! `rate`: posts per minute over a window, with peak and mean, for one keyword or all.

use std::io::Write;

use serde::Serialize;
use time::OffsetDateTime;
use twitter_table::schema;

use super::stats::window_entries;
use super::{Context, Format, csv_writer, json, line, quoted};
use crate::aggregate::{self, Series, Step};
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::render::{self, Style, Terminal};
use crate::window::{self, Window};

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

/// `2026-01-02T03:04:00Z`: a minute in UTC, as RFC 3339 (scripts parse it).
fn minute_text(t: OffsetDateTime) -> String {
    let full = window::format_utc(t);
    format!("{}:00Z", &full[..16])
}

/// Minutes `rate` lists at most (69 days): one row each, so a window of years would be millions
/// of rows; `stats --by hour|day` is the tool for long spans.
pub const MAX_RATE_MINUTES: i64 = 100_000;

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

pub(super) async fn rate(
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
    if let (Some(since), Some(until)) = (window.since, window.until) {
        let minutes = (until - since).whole_minutes();
        if minutes > MAX_RATE_MINUTES {
            return Err(QueryError::Usage(format!(
                "the window holds {minutes} minutes; rate lists at most {MAX_RATE_MINUTES} (use stats --by hour or --by day for longer spans)"
            )));
        }
    }
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
#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
                ("2026-01-01T10:00:00Z", 1),
                ("2026-01-01T10:01:00Z", 0),
                ("2026-01-01T10:02:00Z", 2)
            ]
        );
        assert_eq!(
            rate.peak,
            Some(Peak {
                minute: "2026-01-01T10:02:00Z".into(),
                posts: 2
            })
        );
        assert!((rate.mean_per_minute - 1.0).abs() < 1e-12);
        let json = serde_json::to_value(&rate).unwrap();
        assert_eq!(json["per_minute"][2]["posts"], 2);
        assert_eq!(json["peak"]["minute"], "2026-01-01T10:02:00Z");
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
            text.contains("peak 1 posts/min at 2026-01-01T10:30:00Z"),
            "{text}"
        );
        assert!(text.contains("mean 0.02 posts/min"), "{text}");
    }
}
