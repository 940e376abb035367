//! `keywords`: every keyword with posts, its count and first and last post time.

use std::io::Write;

use super::Context;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};

pub(super) async fn keywords(ctx: &Context<'_>, out: &mut dyn Write) -> Result<(), QueryError> {
    let summaries = reads::keywords(ctx.store).await?;
    match ctx.format {
        Format::Json => render::json(out, &summaries),
        Format::Csv => render::csv::keywords(out, &summaries),
        Format::Human => render::human::keywords(&ctx.terminal, &summaries, out),
    }
}
