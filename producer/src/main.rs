//! `twitter-producer [--source x|bluesky] <KEYWORD>...`: read the configuration, set up logging,
//! hand off to [`App`], and say how it ended in the exit code.

use std::process::ExitCode;

use clap::Parser;
use twitter_producer::app::App;
use twitter_producer::config::{Cli, Env, Settings};
use twitter_producer::{ProducerError, logging, signals};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let settings = match Env::from_env().and_then(|env| Settings::new(cli, env)) {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    // One thread: the work is one connection and one sink, and on a multi-thread runtime every
    // post woke a second thread (futex wake-ups and task switches were half of the CPU).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
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

/// One line naming what is wrong, and the exit code that goes with it.
fn fail(error: &ProducerError) -> ExitCode {
    eprintln!(
        "error: {}",
        twitter_producer::redact::redact(&twitter_errors::chain(error))
    );
    error.exit_code()
}
