//! `twitter-query`: browse and analyse the EventData table from the terminal.
//!
//! In layers, each using only those below it:
//!
//! - [`serve`]: the same reads over HTTP (`twitter-query serve`): a JSON API, its OpenAPI
//!   document, and a dashboard.
//! - [`commands`]: one per subcommand: arguments in, a read, the answer printed in the chosen
//!   format. `main.rs` only parses the command line and maps errors to exit codes.
//! - [`reads`]: what each answer reads over the store, returned as [`view`] types (the `--json`
//!   shapes), never printed; [`view`]: those types, built by pure functions; [`render`]: each
//!   of them for the terminal, as CSV, as JSON, and the report's HTML page.
//! - [`store`]: the only code that talks to DynamoDB; [`aggregate`]: counting; [`window`]: the
//!   `--since`/`--until` window.
//! - [`time_format`]: every form an instant is written in; [`link`]: where a post opens;
//!   [`progress`]: the progress line of a long read on a terminal.
//!
//! Everything but [`store`], [`serve`] and the line [`progress`] draws is pure and tested without
//! a network.

pub mod aggregate;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod link;
pub mod progress;
pub mod reads;
pub mod render;
pub mod serve;
pub mod store;
pub mod time_format;
pub mod view;
pub mod window;

use std::io::Write;
use std::sync::Arc;

pub use error::QueryError;

use crate::cli::Cli;
use crate::commands::Context;
use crate::config::Config;
use crate::progress::ProgressLine;
use crate::render::{Format, Terminal};
use crate::store::{ReadObserver, Store};

/// Runs the parsed command line: results to `out`; warnings and the `--consumed-capacity` line
/// to `err`; the progress line of a long read to the process's stderr when
/// `stderr_is_terminal` ([`progress`]).
pub async fn run(
    cli: Cli,
    terminal: Terminal,
    stderr_is_terminal: bool,
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
    let mut store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)
        .with_page_size(cli.global.page_size)
        .with_parallel(cli.global.parallel);
    let progress = progress::shows_progress(&cli.command, format, stderr_is_terminal)
        .then(|| Arc::new(ProgressLine::on_stderr(progress::describe(&cli.command))));
    if let Some(line) = &progress {
        store = store.with_observer(Arc::clone(line) as Arc<dyn ReadObserver>);
    }
    let store = Arc::new(store);
    let ctx = Context {
        store: &store,
        format,
        terminal,
        now: time::OffsetDateTime::now_utc(),
    };
    let result = commands::execute(&ctx, cli.command, out, err).await;
    // Before anything else reaches the terminal: the answer, a warning, an error line.
    if let Some(line) = &progress {
        line.finish();
    }
    let flushed = out.flush().map_err(QueryError::Output);
    if cli.global.consumed_capacity {
        // Also after a failure: what was read until then was paid for.
        let _ = writeln!(err, "{}", store.usage().summary());
    }
    result.and(flushed)
}
