//! `twitter-replay`: parse, log, build, run, exit code.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use twitter_consumer::handler::MetricsOutput;
use twitter_replay::{App, ReplayError, Settings};

/// Stores every batch Lambda discarded (the stack's failed-batch bucket, and any pointer
/// notices in the dead-letter queue) through the consumer's own code, then deletes it.
///
/// One line per batch on stdout, then the totals. Exit status: 0 when every batch found was
/// replayed (or there was none), 1 when some were kept (each line says why), 2 for bad
/// configuration.
#[derive(Debug, Parser)]
#[command(
    name = "twitter-replay",
    version,
    after_help = "Environment:\n  FAILED_BATCH_BUCKET    the stack's FailedBatchBucketName output\n  DEAD_LETTER_QUEUE_URL  the stack's DeadLetterQueueUrl output (pointer notices are read\n                         there; poison records found while replaying are sent there)\n  TABLE_NAME             the stack's TableName output\n  RETENTION_DAYS         as the function has it, so replayed items expire like the rest\n  AWS_REGION, AWS_PROFILE, ... the standard AWS variables\n  RUST_LOG               log filter for stderr (default warn)"
)]
struct Args {
    /// List what would be replayed (reading pointer notices' records back from the stream);
    /// store, send and delete nothing.
    #[arg(long)]
    dry_run: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    match run(args).await {
        Ok(summary) if summary.complete() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            let code = error
                .downcast_ref::<ReplayError>()
                .map_or(1, ReplayError::exit_code);
            eprintln!("twitter-replay: {}", twitter_errors::chain(error.as_ref()));
            ExitCode::from(code)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<twitter_replay::Summary> {
    let consumer_config = twitter_consumer::Config::from_env().map_err(ReplayError::from)?;
    let settings = Settings::from_vars(std::env::vars(), &consumer_config, args.dry_run)?;
    let sdk_config = aws_config::load_from_env().await;
    let consumer = twitter_consumer::App::from_sdk_config(&sdk_config, consumer_config)
        .with_metrics_output(MetricsOutput::Off);
    let app = App::new(consumer, &sdk_config, settings);
    let mut stdout = std::io::stdout();
    app.run(&mut stdout).await.context("replay stopped")
}

/// Human logs on stderr, warnings and up unless `RUST_LOG` says otherwise: stdout is the report.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let filter = twitter_errors::hint::QUIET_SDK_LOGS
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
