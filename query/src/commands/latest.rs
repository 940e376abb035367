//! `latest`: the newest posts under one keyword, with their text.

use std::io::Write;

use super::Context;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};

pub(super) async fn latest(
    ctx: &Context<'_>,
    keyword: &str,
    count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let posts = reads::latest(ctx.store, keyword, count as usize).await?;
    match ctx.format {
        Format::Json => render::json(out, &posts),
        Format::Csv => render::csv::latest(out, &posts),
        Format::Human => render::human::latest(&ctx.terminal, keyword, &posts, out),
    }
}
