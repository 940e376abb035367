//! `twitter-query`: browse and analyse the EventData table from the terminal.
//!
//! Pure modules ([`window`], [`aggregate`], [`render`], [`report`], [`link`]) hold the logic and
//! are tested without a network; [`store`] is the only code that talks to DynamoDB; [`commands`]
//! ties them together, and `main.rs` only parses the command line and maps errors to exit codes.

pub mod aggregate;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod link;
pub mod render;
pub mod report;
pub mod store;
pub mod window;

use std::io::Write;

pub use error::QueryError;

use crate::cli::Cli;
use crate::commands::{Context, Format};
use crate::config::Config;
use crate::render::Terminal;
use crate::store::Store;

/// Runs the parsed command line: results to `out`, the `--consumed-capacity` line to `err`.
pub async fn run(
    cli: Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), QueryError> {
    let format = match (cli.global.json, cli.global.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Human,
    };
    commands::validate(&cli.command, format)?;
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)
        .with_page_size(cli.global.page_size)
        .with_parallel(cli.global.parallel);
    let ctx = Context {
        store: &store,
        format,
        terminal,
        now: time::OffsetDateTime::now_utc(),
    };
    let result = commands::execute(&ctx, cli.command, out).await;
    let flushed = out.flush().map_err(QueryError::Output);
    if cli.global.consumed_capacity {
        // Also after a failure: what was read until then was paid for.
        let _ = writeln!(err, "{}", store.usage().summary());
    }
    result.and(flushed)
}
