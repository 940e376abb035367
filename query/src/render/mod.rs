//! Every way an answer is printed: for people on a terminal ([`human`], drawing with
//! [`terminal`] and [`text`]), as CSV ([`csv`]), as JSON ([`json`]), and the report's HTML page
//! ([`html`]). Pure: each takes a [`crate::view`] type and writes it.

pub mod csv;
pub mod html;
pub mod human;
pub mod terminal;
pub mod text;

use std::io::Write;

use serde::Serialize;

use crate::error::QueryError;

pub use terminal::{DEFAULT_WIDTH, Style, Terminal};
pub use text::{
    Align, bar, one_line, pad, pad_left, safe_text, sparkline, table, thousands, truncate, width,
};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Csv,
}

/// Any answer as `--json` prints it: pretty, with a final newline.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), QueryError> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out).map_err(QueryError::Output)
}
