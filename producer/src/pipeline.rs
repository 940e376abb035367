//! Wires a source to the Kinesis sink through the spool, and runs them until a stop.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::budget::MonthlyBudget;
use crate::error::ProducerError;
use crate::outlet::Outlet;
use crate::sink::KinesisSink;
use crate::source::bluesky::cursor;
use crate::source::{Prepared, StopReason, Timing};
use crate::spool::{Spool, SpoolReader};
use crate::stats::Stats;

/// After a stop signal, spooled records get this long to reach Kinesis; what is left waits in
/// the spool for the next start.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(9);

#[derive(Debug)]
pub struct Pipeline {
    pub source: Prepared,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream_name: String,
    pub stats: Arc<Stats>,
    pub timing: Timing,
    pub linger: Duration,
    /// The spool, opened before anything else so a second producer on it stops at once; what an
    /// earlier run left in it is written first.
    pub spool: Spool,
    pub spool_reader: SpoolReader,
    pub max_posts: Option<u64>,
    pub budget: Option<MonthlyBudget>,
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
            timing,
            linger,
            spool,
            spool_reader,
            max_posts,
            budget,
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
        let outlet = Outlet::new(
            spool.clone(),
            stats,
            max_posts,
            budget,
            stop_reading.clone(),
        );
        let read = async {
            let result = source.read(outlet, timing).await;
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
