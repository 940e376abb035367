//! Every way an answer is printed: for people on a terminal ([`human`], drawing with
//! [`terminal`] and [`text`]), as CSV ([`csv`]), as JSON ([`json`]), and the report's HTML page
//! ([`html`]). Pure: each takes a [`crate::view`] type and writes it. What of stored text each
//! of them may write is [`sanitize`]'s one definition.

pub mod csv;
pub mod html;
pub mod human;
pub mod sanitize;
pub mod terminal;
pub mod text;

use std::io::Write;

use serde::Serialize;

use crate::error::QueryError;

pub use sanitize::{multi_line, one_line};
pub use terminal::{DEFAULT_WIDTH, Style, Terminal};
pub use text::{Align, bar, pad, pad_left, sparkline, table, thousands, truncate, width};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Csv,
}

/// Any answer as `--json` prints it: pretty, with a final newline, and no raw control or bidi
/// character even inside strings ([`sanitize::json_text`]: the values read back are the same).
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), QueryError> {
    let text = sanitize::json_text(&serde_json::to_string_pretty(value)?);
    writeln!(out, "{text}").map_err(QueryError::Output)
}
