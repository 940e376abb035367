//! `twitter-producer [--source x|bluesky] <KEYWORD>...`: read the configuration, set up logging,
//! hand off to [`App`], and say how it ended in the exit code.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use twitter_producer::app::App;
use twitter_producer::config::{Cli, Env, LogFormat, Settings};
use twitter_producer::{ProducerError, signals};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let settings = match Env::from_env().and_then(|env| Settings::new(cli, env)) {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let run = async {
        // The spool first, then the signals: one during the start stops it cleanly too.
        let app = App::build(settings)?;
        app.run(signals::shutdown_on_signal()).await
    };
    match runtime.block_on(run) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal, and never with NO_COLOR.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// One line naming what is wrong, and the exit code that goes with it.
fn fail(error: &ProducerError) -> ExitCode {
    eprintln!("error: {}", twitter_producer::error::chain(error));
    error.exit_code()
}
