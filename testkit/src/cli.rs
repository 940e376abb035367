//! What the stand-in servers' binaries (`fake-x`, `fake-jetstream`) share: one-line usage
//! errors, logging to stderr, the "listening on" line scripts wait for, and stopping on a signal.

use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// One `NAME: message` line on stderr; exit 2 (these binaries only fail on bad input or setup).
pub fn fail(name: &str, message: &str) -> ExitCode {
    eprintln!("{name}: {message}");
    ExitCode::from(2)
}

/// The parsed command line, or the exit code: 0 after `--help`/`--version`, else 2 after one
/// line naming what is wrong (clap's usage block is left out).
pub fn parse_args<C: Parser>(name: &str) -> Result<C, ExitCode> {
    match C::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            Err(ExitCode::SUCCESS)
        }
        Err(error) => Err(fail(
            name,
            one_line(&error.to_string()).trim_start_matches("error: "),
        )),
    }
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more"))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Logs to stderr (stdout carries only the "listening on" line); `RUST_LOG` sets the level.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// Prints `NAME listening on URL` and flushes it: the line a script waits for.
#[allow(clippy::print_stdout)]
pub fn announce(name: &str, url: &str) -> Result<(), ExitCode> {
    println!("{name} listening on {url}");
    std::io::stdout()
        .flush()
        .map_err(|error| fail(name, &format!("cannot write to stdout: {error}")))
}

/// Serves until SIGINT or SIGTERM. `finished` runs alongside (to log when everything was sent);
/// it should not end on its own.
pub async fn serve_until_signal(
    name: &str,
    finished: impl Future<Output = ()>,
) -> Result<(), ExitCode> {
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|error| fail(name, &format!("cannot watch SIGTERM: {error}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        () = finished => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_is_one_line_without_the_usage_block() {
        let clap_error = "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: fake-x [OPTIONS] <FILE>...\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(clap_error),
            "error: unexpected argument '--nope' found tip: to pass '--nope' as a value, use '-- --nope'"
        );
    }
}
