//! `report`: one keyword's window as a self-contained HTML file.

use std::io::Write;
use std::path::Path;

use super::{Context, parse_window};
use crate::cli::WindowArgs;
use crate::error::QueryError;
use crate::reads;
use crate::render::{self, Format};
use crate::view::ReportSummary;

pub(super) async fn report(
    ctx: &Context<'_>,
    keyword: &str,
    window_args: &WindowArgs,
    path: &Path,
    latest_count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let window = parse_window(window_args, ctx.now)?;
    let data = reads::report(ctx.store, keyword, &window, latest_count as usize, ctx.now).await?;
    let html = render::html::report(&data);
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
        Format::Json => render::json(out, &summary),
        Format::Csv => render::csv::report(out, &summary),
        Format::Human => render::human::report(&summary, out),
    }
}
