//! `stats`: posts of one keyword in a window, grouped, as a bar table.

use std::io::Write;

use super::{Context, parse_window};
use crate::aggregate::By;
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};

pub(super) async fn stats(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    by: By,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = parse_window(window_args, ctx.now)?;
    let stats = reads::stats(ctx.store, keyword, &window, by).await?;
    match ctx.format {
        Format::Json => render::json(out, &stats),
        Format::Csv => render::csv::stats(out, &stats),
        Format::Human => render::human::stats(&ctx.terminal, &stats, out),
    }
}
