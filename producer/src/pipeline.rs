//! Wires a source to the Kinesis sink and runs them until a stop.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cursor::{self, CursorStore};
use crate::error::ProducerError;
use crate::jetstream::{Jetstream, JetstreamSpec};
use crate::reconnect::Schedule;
use crate::sink::KinesisSink;
use crate::source::{self, Outlet, StopReason};
use crate::spool::{Spool, SpoolReader};
use crate::stats::{Stats, StatsFile, Totals};
use crate::stream::FilteredStream;
use crate::x::{SyncedRules, XClient};

/// After a stop signal, spooled records get this long to reach Kinesis; what is left waits in
/// the spool for the next start.
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
    /// The spool, opened before anything else so a second producer on it stops at once; what an
    /// earlier run left in it is written first.
    pub spool: Spool,
    pub spool_reader: SpoolReader,
    pub max_posts: Option<u64>,
    /// The source's schedule in production ([`Schedule::X_DOCUMENTED`], [`Schedule::JETSTREAM`]);
    /// tests shorten it.
    pub reconnect: Schedule,
}

impl Pipeline {
    /// Runs until `shutdown` (then writes what Kinesis takes within [`FLUSH_DEADLINE`]; the rest
    /// stays in the spool for the next start), the spend guard, or a fatal error. A resume
    /// position is saved every few seconds and once more at the end, whatever the end: it only
    /// ever names posts the spool has made durable.
    pub async fn run(self, shutdown: CancellationToken) -> Result<StopReason, ProducerError> {
        let spool = self.spool.clone();
        let cursor = self.source.cursor().cloned();
        if let Some(cursor) = &cursor {
            spool.acknowledge_positions_to(cursor.watermark.clone());
        }
        let saver = cursor
            .clone()
            .map(|cursor| tokio::spawn(cursor.save_every(cursor::SAVE_INTERVAL)));
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(FLUSH_DEADLINE).await;
        };
        let result = tokio::select! {
            result = self.run_to_completion(shutdown.clone()) => result,
            () = deadline => {
                let left = spool.state();
                tracing::warn!(
                    posts = left.records,
                    bytes = left.bytes,
                    deadline_s = FLUSH_DEADLINE.as_secs(),
                    "Kinesis did not take every post before the shutdown deadline; the rest stay in the spool and go first at the next start"
                );
                Ok(StopReason::Shutdown)
            }
        };
        // The last sync first: the final resume position may then count every spooled post.
        spool.finish();
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
        let Pipeline {
            source,
            kinesis,
            stream_name,
            stats,
            stall_timeout,
            linger,
            spool,
            spool_reader,
            max_posts,
            reconnect,
        } = self;
        // The reader also stops when the sink dies, instead of spooling posts nobody will write.
        let stop_reading = shutdown.child_token();
        let sink = KinesisSink::new(
            kinesis,
            stream_name,
            linger,
            Arc::clone(&stats),
            spool.clone(),
        );
        let write = async {
            let result = sink.run(spool_reader).await;
            if result.is_err() {
                stop_reading.cancel();
            }
            result
        };
        let outlet = Outlet::new(spool.clone(), stats, max_posts, stop_reading.clone());
        let read = async {
            let result = match source {
                SourceSpec::X { x, rules } => {
                    let reader = FilteredStream {
                        x,
                        tags_by_rule_id: rules.tags_by_id(),
                        stall_timeout,
                    };
                    source::run(reader, outlet, reconnect).await
                }
                SourceSpec::Bluesky(spec) => match Jetstream::new(spec, stall_timeout) {
                    Ok(reader) => source::run(reader, outlet, reconnect).await,
                    Err(error) => Err(error),
                },
            };
            // Nothing more comes: the sink writes what is left and ends.
            spool.close();
            result
        };
        // One task for both halves: a shutdown deadline that drops this future stops both.
        let (written, read) = tokio::join!(write, read);
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
        spool_posts = stats.spool_records.get(),
        spool_bytes = stats.spool_bytes.get(),
        spool_oldest_age_s = stats.spool_oldest_age_seconds.get(),
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
        spool_replayed = run.spool_replayed,
        spool_corrupt = run.spool_corrupt,
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
