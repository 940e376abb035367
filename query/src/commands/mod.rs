//! The commands: each turns its arguments into a read ([`crate::reads`]) and prints the answer
//! in the chosen [`Format`] ([`crate::render`]).
//!
//! One file per command, each used only from here; this module holds what they share: the
//! [`Context`], and checks and parsing of arguments.

mod keywords;
mod latest;
mod rate;
mod report;
mod serve;
mod show;
mod stats;

use std::io::Write;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::cli::{Command, WindowArgs};
use crate::error::QueryError;
use crate::render::{Format, Terminal};
use crate::store::Store;
use crate::window::Window;

/// What every command needs.
#[derive(Debug)]
pub struct Context<'a> {
    /// Shared: `serve` hands it to every request.
    pub store: &'a Arc<Store>,
    pub format: Format,
    pub terminal: Terminal,
    pub now: OffsetDateTime,
}

/// Runs one command, printing to `out` (and a warning, if any, to `err`).
pub async fn execute(
    ctx: &Context<'_>,
    command: Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
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
        Command::Serve {
            addr,
            allow_remote,
            refresh,
        } => serve::serve(ctx, addr, allow_remote, refresh, out, err).await,
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
    if let Command::Serve {
        addr, allow_remote, ..
    } = command
    {
        if format != Format::Human {
            return Err(QueryError::Usage(
                "serve answers JSON over HTTP; --json and --csv do not apply to it".to_owned(),
            ));
        }
        crate::serve::exposure(*addr, *allow_remote).map_err(QueryError::Usage)?;
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
        Command::Keywords | Command::Serve { .. } => None,
    };
    if keyword.is_some_and(|k| k.trim().is_empty()) {
        return Err(QueryError::Usage("the keyword is empty".to_owned()));
    }
    Ok(())
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
