//! `twitter-producer [--source x|bluesky] <KEYWORD>...`: read the configuration once, build the
//! clients once, hand off to the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use twitter_producer::config::{Cli, Env, LogFormat, Settings, SourceSettings, XCredentials};
use twitter_producer::cursor::{CursorFile, CursorStore};
use twitter_producer::jetstream::JetstreamSpec;
use twitter_producer::matcher::Matcher;
use twitter_producer::pipeline::{self, Pipeline, SourceSpec};
use twitter_producer::reconnect::Schedule;
use twitter_producer::spool::Spool;
use twitter_producer::stats::{Stats, StatsFile};
use twitter_producer::status::{self, StatusState};
use twitter_producer::stream::StopReason;
use twitter_producer::{ProducerError, aws, x};

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
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

async fn run(settings: Settings) -> Result<(), ProducerError> {
    // First, so a second producer on the same spool stops before it touches X or Kinesis.
    let stats = Arc::new(Stats::default());
    let (spool, spool_reader) = Spool::open(&settings.spool, Arc::clone(&stats))?;
    // Before the rules sync, which can wait minutes for X's rate-limit window: a signal there
    // stops cleanly too (nothing has been read yet).
    let shutdown = CancellationToken::new();
    tokio::spawn(watch_signals(shutdown.clone()));
    let aws_config = aws::sdk_config(settings.aws_alias_credentials.as_ref()).await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws_config);
    aws::check_stream(&kinesis, &settings.stream_name).await?;

    let (source, followed, reconnect) = match settings.source {
        SourceSettings::X {
            rules,
            api_url,
            credentials,
            take_over,
        } => {
            let http = x::http_client()?;
            let token = match &credentials {
                XCredentials::Bearer(token) => token.clone(),
                XCredentials::SsmParameter(name) => aws::bearer_from_ssm(&aws_config, name).await?,
                XCredentials::ConsumerKey { key, secret } => {
                    x::bearer_from_consumer_key(&http, &api_url, key, secret).await?
                }
            };
            let x = x::XClient::new(http, &api_url, token)
                .with_take_over(take_over)
                .with_stats(Arc::clone(&stats));
            let rules = tokio::select! {
                synced = x.sync_rules(&rules) => synced?,
                () = shutdown.cancelled() => {
                    tracing::info!("stopped on signal before the stream rules were in sync");
                    return Ok(());
                }
            };
            tracing::info!(
                kept = rules.kept,
                deleted = rules.deleted,
                added = rules.added,
                rules = ?rules.rules.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(),
                "stream rules in sync"
            );
            let followed = rules.rules.iter().map(|r| r.value.clone()).collect();
            (SourceSpec::X { x, rules }, followed, Schedule::X_DOCUMENTED)
        }
        SourceSettings::Bluesky {
            keywords,
            endpoints,
            cursor_file,
        } => {
            let file = CursorFile::new(cursor_file);
            let start = file.load(time::OffsetDateTime::now_utc());
            let followed: Vec<String> = keywords.iter().map(|k| k.tag.clone()).collect();
            tracing::info!(keywords = ?followed, "matching Bluesky posts locally");
            let spec = JetstreamSpec {
                endpoints,
                matcher: Matcher::new(keywords),
                cursor: CursorStore::new(start, Some(file)),
                event_timeout: None,
            };
            (SourceSpec::Bluesky(spec), followed, Schedule::JETSTREAM)
        }
    };
    let source_kind = match source {
        SourceSpec::X { .. } => twitter_record::Source::X,
        SourceSpec::Bluesky(_) => twitter_record::Source::Bluesky,
    };

    let stats_file = Arc::new(StatsFile::open(
        settings.stats_file.clone(),
        time::OffsetDateTime::now_utc(),
    ));
    if let Some(addr) = settings.status_addr {
        let state = Arc::new(StatusState {
            source: source_kind,
            stats: Arc::clone(&stats),
            rules: followed,
        });
        status::serve(addr, state, shutdown.clone()).await?;
    }
    let progress = tokio::spawn(pipeline::report_progress(
        Arc::clone(&stats),
        Arc::clone(&stats_file),
        settings.progress_interval,
    ));

    let result = Pipeline {
        source,
        kinesis,
        stream_name: settings.stream_name,
        stats: Arc::clone(&stats),
        stall_timeout: settings.stall_timeout,
        linger: settings.linger,
        spool,
        spool_reader,
        max_posts: settings.max_posts,
        reconnect,
    }
    .run(shutdown.clone())
    .await;
    progress.abort();
    shutdown.cancel();
    pipeline::log_summary(&stats_file, stats.totals());
    match result? {
        StopReason::SpendGuard => tracing::info!(
            max_tweets = settings.max_posts,
            "spend guard reached; stopped"
        ),
        StopReason::Shutdown => tracing::info!("stopped on signal"),
    }
    Ok(())
}

/// The first SIGINT or SIGTERM starts a clean stop; a second one exits at once.
async fn watch_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot listen for signals; stop with SIGKILL");
        return;
    };
    for count in 0..2 {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if count == 0 {
            tracing::info!(
                "stopping: writing spooled posts to Kinesis (signal again to exit at once; the spool keeps what is left)"
            );
            shutdown.cancel();
        }
    }
    tracing::warn!("second signal: exiting now; unwritten posts stay in the spool");
    std::process::exit(130);
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
