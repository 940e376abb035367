//! `rate`: posts per minute over a window (default: the last 60 minutes), with peak and mean,
//! for one keyword or all.

use std::io::Write;

use super::Context;
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};
use crate::window::{self, Window};

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
    let rate = reads::rate(ctx.store, keyword, &window).await?;
    match ctx.format {
        Format::Json => render::json(out, &rate),
        Format::Csv => render::csv::rate(out, &rate),
        Format::Human => render::human::rate(&ctx.terminal, &rate, out),
    }
}
