//! Wires a source to the Kinesis sink and runs them until a stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cursor::{self, CursorStore};
use crate::error::ProducerError;
use crate::jetstream::{Jetstream, JetstreamSpec};
use crate::reconnect::Schedule;
use crate::sink::KinesisSink;
use crate::source::{self, Outlet, StopReason};
use crate::stats::{Stats, StatsFile, Totals};
use crate::stream::FilteredStream;
use crate::x::{SyncedRules, XClient};

/// After a stop signal, buffered records get this long to reach Kinesis.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(9);

/// Where posts come from.
#[derive(Debug)]
pub enum SourceSpec {
    /// The X filtered stream, its rules already synced.
    X { x: XClient, rules: SyncedRules },
    /// Bluesky's Jetstream, matched against keywords here.
    Bluesky(JetstreamSpec),
}

impl SourceSpec {
    /// The resume position, for a source that has one.
    pub fn cursor(&self) -> Option<&CursorStore> {
        match self {
            SourceSpec::X { .. } => None,
            SourceSpec::Bluesky(spec) => Some(&spec.cursor),
        }
    }
}

#[derive(Debug)]
pub struct Pipeline {
    pub source: SourceSpec,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream_name: String,
    pub stats: Arc<Stats>,
    pub stall_timeout: Duration,
    pub linger: Duration,
    pub queue_capacity: usize,
    pub max_posts: Option<u64>,
    /// The source's schedule in production ([`Schedule::X_DOCUMENTED`], [`Schedule::JETSTREAM`]);
    /// tests shorten it.
    pub reconnect: Schedule,
}

impl Pipeline {
    /// Runs until `shutdown` (then flushes within [`FLUSH_DEADLINE`]), the spend guard, or a
    /// fatal error. A resume position is saved every few seconds and once more at the end,
    /// whatever the end: the watermark only ever names posts Kinesis has.
    pub async fn run(self, shutdown: CancellationToken) -> Result<StopReason, ProducerError> {
        let stats = Arc::clone(&self.stats);
        let cursor = self.source.cursor().cloned();
        let saver = cursor
            .clone()
            .map(|cursor| tokio::spawn(cursor.save_every(cursor::SAVE_INTERVAL)));
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(FLUSH_DEADLINE).await;
        };
        let result = tokio::select! {
            result = self.run_to_completion(shutdown.clone()) => result,
            () = deadline => Err(ProducerError::FlushTimeout {
                records: usize::try_from(stats.queue_depth.get()).unwrap_or(0),
            }),
        };
        if let Some(saver) = saver {
            saver.abort();
        }
        if let Some(cursor) = cursor {
            cursor.save();
        }
        result
    }

    async fn run_to_completion(
        self,
        shutdown: CancellationToken,
    ) -> Result<StopReason, ProducerError> {
        let (sender, receiver) = mpsc::channel(self.queue_capacity);
        // The reader also stops when the sink dies, instead of reading posts nobody will write.
        let stop_reading = shutdown.child_token();
        let mut sink = KinesisSink::new(
            self.kinesis,
            self.stream_name,
            self.linger,
            Arc::clone(&self.stats),
        );
        if let Some(cursor) = self.source.cursor() {
            sink = sink.with_acknowledgements(cursor.watermark.clone());
        }
        let sink_stop = stop_reading.clone();
        let sink = tokio::spawn(async move {
            let result = sink.run(receiver).await;
            if result.is_err() {
                sink_stop.cancel();
            }
            result
        });
        let outlet = Outlet::new(
            sender,
            Arc::clone(&self.stats),
            self.max_posts,
            stop_reading,
        );
        // The reader owns the only sender: when it returns, the sink drains what is left and ends.
        let read = match self.source {
            SourceSpec::X { x, rules } => {
                let reader = FilteredStream {
                    x,
                    tags_by_rule_id: rules.tags_by_id(),
                    stall_timeout: self.stall_timeout,
                };
                source::run(reader, outlet, self.reconnect).await
            }
            SourceSpec::Bluesky(spec) => match Jetstream::new(spec, self.stall_timeout) {
                Ok(reader) => source::run(reader, outlet, self.reconnect).await,
                Err(error) => Err(error),
            },
        };
        let written = sink.await.map_err(|e| ProducerError::Kinesis {
            stream: String::new(),
            detail: format!("the Kinesis writer task failed: {e}"),
        })?;
        written?;
        read
    }
}

/// Logs one progress line every `every`, and saves the run's totals to the stats file.
pub async fn report_progress(stats: Arc<Stats>, stats_file: Arc<StatsFile>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let mut last = Totals::default();
    loop {
        ticker.tick().await;
        let now = stats.totals();
        log_progress(&stats, last, now, every);
        save(&stats_file, now);
        last = now;
    }
}

fn log_progress(stats: &Stats, last: Totals, now: Totals, every: Duration) {
    let posts_per_second = (now.posts_written - last.posts_written) as f64 / every.as_secs_f64();
    tracing::info!(
        posts_per_second = format_args!("{posts_per_second:.1}"),
        posts_received = now.posts_received,
        posts_written = now.posts_written,
        bytes_written = now.bytes_written,
        put_records_calls = now.put_records_calls,
        retries = now.put_records_retries,
        reconnects = now.reconnects,
        malformed = now.malformed_lines,
        events_received = now.events_received,
        duplicates = now.duplicates_skipped,
        queue_depth = stats.queue_depth.get(),
        connected = stats.is_connected(),
        "progress"
    );
}

/// The summary at exit: this run, and all runs together.
pub fn log_summary(stats_file: &StatsFile, run: Totals) {
    let all = stats_file.with_run(run);
    tracing::info!(
        posts_received = run.posts_received,
        posts_written = run.posts_written,
        bytes_written = run.bytes_written,
        put_records_calls = run.put_records_calls,
        retries = run.put_records_retries,
        reconnects = run.reconnects,
        malformed = run.malformed_lines,
        skipped = run.records_skipped,
        events_received = run.events_received,
        duplicates = run.duplicates_skipped,
        all_runs = all.runs,
        all_runs_posts_written = all.totals.posts_written,
        "summary"
    );
    save(stats_file, run);
}

/// A stats file that cannot be written costs the history, not the run: warn and go on.
fn save(stats_file: &StatsFile, run: Totals) {
    if let Err(error) = stats_file.save(run) {
        tracing::warn!(path = %stats_file.path().display(), %error, "cannot save the stats file");
    }
}
