//! `show`: one post in full, merged from the items of every keyword it matched, or `--raw`.

use std::io::Write;

use super::Context;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};

pub(super) async fn show(
    ctx: &Context<'_>,
    id: &str,
    raw: bool,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    if raw {
        let line = reads::original_line(ctx.store, id).await?;
        // Byte for byte as the stream sent it: no newline added, nothing re-encoded.
        return out.write_all(&line).map_err(QueryError::Output);
    }
    let post = reads::post(ctx.store, id).await?;
    match ctx.format {
        Format::Json => render::json(out, &post),
        Format::Csv => render::csv::show(out, &post),
        Format::Human => render::human::show(&ctx.terminal, &post, out),
    }
}
