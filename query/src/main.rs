use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use twitter_query::cli::Cli;
use twitter_query::render::Terminal;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits 2.
    let cli = Cli::parse();
    // What `serve` logs of failed requests; RUST_LOG=twitter_query=info says more. Only this
    // crate's events: the other commands' stderr stays as it was.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("twitter_query=warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(twitter_query::error::EXIT_FAILURE);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let stderr_is_terminal = std::io::IsTerminal::is_terminal(&err);
    let result = runtime.block_on(twitter_query::run(
        cli,
        Terminal::detect(),
        stderr_is_terminal,
        &mut out,
        &mut err,
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `twitter-query ... | head`: the reader has all it wanted.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // One line, and no control character from a stored id or the command line.
            let _ = writeln!(
                err,
                "error: {}",
                twitter_query::render::one_line(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}
