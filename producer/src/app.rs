//! The composition root: everything a run is made of, built in the order that keeps a start
//! safe. [`App::build`] opens the spool, before anything else, so a second producer on the same
//! spool stops before it touches the source or Kinesis. [`App::run`] then loads the AWS
//! configuration, checks the Kinesis stream (a wrong name fails before X's rules change), makes
//! the source ready, starts the status server and the progress line, and runs the pipeline
//! until a stop. `main.rs` only reads the configuration and maps the outcome to an exit code;
//! tests start the same wiring in-process through [`App::builder`].

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::aws;
use crate::budget::MonthlyBudget;
use crate::config::Settings;
use crate::error::ProducerError;
use crate::pipeline::Pipeline;
use crate::progress;
use crate::reconnect::Schedule;
use crate::source::bluesky::cursor::CursorStore;
use crate::source::{StopReason, Timing};
use crate::spool::{Spool, SpoolReader};
use crate::stats::{Stats, StatsFile};
use crate::status::{self, StatusState};

/// An [`App`] with what tests change about a run; [`App::build`] is this with nothing changed.
#[derive(Debug)]
pub struct AppBuilder {
    settings: Settings,
    aws_config: Option<aws_config::SdkConfig>,
    reconnect: Option<Schedule>,
    event_timeout: Option<Duration>,
}

impl AppBuilder {
    /// This AWS configuration instead of the standard chain's (tests: a local emulator).
    pub fn aws_config(mut self, config: aws_config::SdkConfig) -> AppBuilder {
        self.aws_config = Some(config);
        self
    }

    /// This reconnect schedule instead of the source's own.
    pub fn reconnect(mut self, schedule: Schedule) -> AppBuilder {
        self.reconnect = Some(schedule);
        self
    }

    /// Bluesky: this long without an event before a host counts as stuck, instead of twice the
    /// stall timeout (at least a minute).
    pub fn event_timeout(mut self, timeout: Duration) -> AppBuilder {
        self.event_timeout = Some(timeout);
        self
    }

    /// Opens the spool: what an earlier run left in it is written first.
    pub fn build(self) -> Result<App, ProducerError> {
        let stats = Arc::new(Stats::default());
        let (spool, spool_reader) = Spool::open(&self.settings.spool, Arc::clone(&stats))?;
        // Read under the spool's lock: one producer counts a spool's month.
        let budget = self
            .settings
            .monthly_budget
            .map(|limit| {
                MonthlyBudget::open(
                    &self.settings.spool.dir,
                    limit,
                    time::OffsetDateTime::now_utc(),
                )
            })
            .transpose()?;
        Ok(App {
            settings: self.settings,
            stats,
            spool,
            spool_reader,
            budget,
            aws_config: self.aws_config,
            reconnect: self.reconnect,
            event_timeout: self.event_timeout,
        })
    }
}

/// One run of the producer, its spool open.
#[derive(Debug)]
pub struct App {
    settings: Settings,
    stats: Arc<Stats>,
    spool: Spool,
    spool_reader: SpoolReader,
    budget: Option<MonthlyBudget>,
    aws_config: Option<aws_config::SdkConfig>,
    reconnect: Option<Schedule>,
    event_timeout: Option<Duration>,
}

impl App {
    /// Opens the spool; nothing else is touched until [`App::run`].
    pub fn build(settings: Settings) -> Result<App, ProducerError> {
        App::builder(settings).build()
    }

    pub fn builder(settings: Settings) -> AppBuilder {
        AppBuilder {
            settings,
            aws_config: None,
            reconnect: None,
            event_timeout: None,
        }
    }

    /// The run's counters, the ones `/metrics`, the progress line and the stats file show.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Starts, then runs until `shutdown` (what Kinesis takes within the flush deadline is
    /// written, the rest waits in the spool), the spend guard, or an error no retry can fix.
    /// `shutdown` should be watching the signals already: X's rule sync can wait minutes.
    pub async fn run(self, shutdown: CancellationToken) -> Result<StopReason, ProducerError> {
        match self.start(&shutdown).await? {
            Some(started) => started.run(shutdown).await,
            None => Ok(StopReason::Shutdown),
        }
    }

    /// The AWS configuration, a first look at the Kinesis stream, and the source made ready.
    /// `None`: `shutdown` came before the source was ready, and nothing was read.
    pub async fn start(
        self,
        shutdown: &CancellationToken,
    ) -> Result<Option<Started>, ProducerError> {
        let App {
            settings,
            stats,
            spool,
            spool_reader,
            budget,
            aws_config,
            reconnect,
            event_timeout,
        } = self;
        let aws_config = match aws_config {
            Some(config) => config,
            None => aws::sdk_config(settings.aws_alias_credentials.as_ref()).await,
        };
        let kinesis = aws_sdk_kinesis::Client::new(&aws_config);
        aws::check_stream(&kinesis, &settings.stream_name).await?;
        let kind = settings.source.kind();
        let Some(source) = settings
            .source
            .prepare(&aws_config, &stats, shutdown)
            .await?
        else {
            return Ok(None);
        };
        let timing = Timing {
            stall_timeout: settings.stall_timeout,
            reconnect: reconnect.unwrap_or_else(|| kind.reconnect_schedule()),
            event_timeout,
        };
        Ok(Some(Started {
            pipeline: Pipeline {
                source,
                kinesis,
                stream_name: settings.stream_name,
                stats,
                timing,
                linger: settings.linger,
                spool,
                spool_reader,
                max_posts: settings.max_posts,
                budget,
            },
            stats_file: settings.stats_file,
            status_addr: settings.status_addr,
            progress_interval: settings.progress_interval,
        }))
    }
}

/// A run whose source is ready to read.
#[derive(Debug)]
pub struct Started {
    pipeline: Pipeline,
    stats_file: std::path::PathBuf,
    status_addr: Option<std::net::SocketAddr>,
    progress_interval: Duration,
}

impl Started {
    /// The resume position, for a source that has one.
    pub fn cursor(&self) -> Option<&CursorStore> {
        self.pipeline.source.cursor()
    }

    /// Serves the status endpoints and logs progress while the pipeline runs; logs the summary
    /// and why it stopped.
    pub async fn run(self, shutdown: CancellationToken) -> Result<StopReason, ProducerError> {
        let Started {
            pipeline,
            stats_file,
            status_addr,
            progress_interval,
        } = self;
        let stats = Arc::clone(&pipeline.stats);
        let max_posts = pipeline.max_posts;
        let stats_file = Arc::new(StatsFile::open(stats_file, time::OffsetDateTime::now_utc()));
        if let Some(addr) = status_addr {
            let state = Arc::new(StatusState {
                source: pipeline.source.kind().record_source(),
                stats: Arc::clone(&stats),
                rules: pipeline.source.followed().to_vec(),
            });
            status::serve(addr, state, shutdown.clone()).await?;
        }
        let progress = tokio::spawn(progress::report_progress(
            Arc::clone(&stats),
            Arc::clone(&stats_file),
            progress_interval,
        ));
        let result = pipeline.run(shutdown.clone()).await;
        progress.abort();
        shutdown.cancel();
        progress::log_summary(&stats_file, stats.totals());
        let stop = result?;
        match stop {
            StopReason::SpendGuard => {
                tracing::info!(max_tweets = max_posts, "spend guard reached; stopped")
            }
            StopReason::Shutdown => tracing::info!("stopped on signal"),
            // The budget said why when it stopped the source.
            StopReason::MonthlyBudget => {}
        }
        Ok(stop)
    }
}
