//! The commands: each reads through the [`Store`], counts with [`crate::aggregate`], and prints
//! one result in the chosen format.
//!
//! One file per command; this module holds what they share: the [`Context`], the output
//! [`Format`], and the small helpers that print.

mod keywords;
mod latest;
mod rate;
mod report;
mod show;
mod stats;

use std::io::Write;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Command, WindowArgs};
use crate::error::QueryError;
use crate::render::{self, Terminal};
use crate::store::Store;
use crate::window::{self, TimestampBounds, Window};

pub use latest::PostLine;
pub use rate::{MinuteCount, Peak, Rate, rate_of};
pub use report::ReportSummary;
pub use show::Post;
pub use stats::Stats;

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
        Command::Latest { keyword, count } => latest::latest(ctx, keyword.trim(), count, out).await,
        Command::Show { id, raw } => show::show(ctx, id.trim(), raw, out).await,
        Command::Stats {
            keyword,
            window,
            by,
        } => stats::stats(ctx, keyword.trim(), &window, by, out).await,
        Command::Rate { keyword, window } => {
            let keyword = keyword.as_deref().map(str::trim);
            rate::rate(ctx, keyword, &window, out).await
        }
        Command::Keywords => keywords::keywords(ctx, out).await,
        Command::Report {
            keyword,
            window,
            out: path,
            posts,
        } => report::report(ctx, keyword.trim(), &window, &path, posts, out).await,
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

fn human_time_bucket(key: &str) -> String {
    // 2024-05-13T20:00:00Z -> 2024-05-13 20:00
    match key.get(..16) {
        Some(head) if key.len() == 20 => head.replacen('T', " ", 1),
        _ => key.to_owned(),
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

/// The `--since`/`--until` window, each side open unless given.
fn parse_window(window_args: &WindowArgs, now: OffsetDateTime) -> Result<Window, QueryError> {
    Window::parse(
        window_args.since.as_deref(),
        window_args.until.as_deref(),
        now,
    )
    .map_err(QueryError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

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
