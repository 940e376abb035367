//! What every source shares: the reconnect loop, and the one way a post reaches the sink
//! (size check, bounded queue, spend guard). A source only opens connections and turns what
//! arrives into records: [`crate::stream::FilteredStream`] for X, [`crate::jetstream::Jetstream`]
//! for Bluesky.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batch::{self, Entry};
use crate::error::ProducerError;
use crate::reconnect::{Failure, ReconnectBackoff, Schedule};
use crate::stats::Stats;

/// Why reading stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal asked us to stop.
    Shutdown,
    /// `--max-tweets` posts were handed to the sink.
    SpendGuard,
}

/// How one connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    Stop(StopReason),
    /// Reconnect after the delay this failure calls for. `healthy`: data flowed first.
    Reconnect {
        failure: Failure,
        healthy: bool,
    },
}

/// A stream of posts that can be connected to again and again.
pub trait Source {
    /// Opens one connection and reads it until it ends, handing posts to `outlet`. A shutdown is
    /// only noticed between messages, so a post already read always reaches the sink. An error
    /// is fatal: no retry can fix it.
    fn connection(
        &mut self,
        outlet: &mut Outlet,
    ) -> impl Future<Output = Result<ConnectionEnd, ProducerError>>;

    /// Called after each connection that will be followed by another.
    fn before_reconnect(&mut self, _end: ConnectionEnd) {}
}

/// Where posts go: the sink's queue, behind the per-record size check and the spend guard.
#[derive(Debug)]
pub struct Outlet {
    output: mpsc::Sender<Entry>,
    pub stats: Arc<Stats>,
    max_posts: Option<u64>,
    forwarded: u64,
    pub shutdown: CancellationToken,
}

/// What became of a post handed to [`Outlet::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// Queued, and it was the last one: stop reading.
    Stop(StopReason),
}

impl Outlet {
    pub fn new(
        output: mpsc::Sender<Entry>,
        stats: Arc<Stats>,
        max_posts: Option<u64>,
        shutdown: CancellationToken,
    ) -> Outlet {
        Outlet {
            output,
            stats,
            max_posts,
            forwarded: 0,
            shutdown,
        }
    }

    /// Whether Kinesis can hold the record; one it cannot is logged and counted, and must not be
    /// sent (it would sink its whole PutRecords call).
    pub fn admit(&self, entry: &Entry) -> bool {
        match batch::check_entry(entry) {
            Ok(()) => true,
            Err(error) => {
                self.stats.records_skipped.inc();
                tracing::warn!(post_id = %entry.partition_key, %error, "skipped a post Kinesis cannot hold");
                false
            }
        }
    }

    /// Queues an admitted record, waiting while the queue is full (backpressure).
    pub async fn send(&mut self, entry: Entry) -> Sent {
        if self.output.send(entry).await.is_err() {
            // The sink only stops early on a fatal error, which it reports itself.
            return Sent::Stop(StopReason::Shutdown);
        }
        self.forwarded += 1;
        if self.max_posts.is_some_and(|max| self.forwarded >= max) {
            return Sent::Stop(StopReason::SpendGuard);
        }
        Sent::Queued
    }
}

/// Reads `source` until a signal, the spend guard, or an error no retry can fix, reconnecting
/// on `schedule` in between.
pub async fn run<S: Source>(
    mut source: S,
    mut outlet: Outlet,
    schedule: Schedule,
) -> Result<StopReason, ProducerError> {
    let mut backoff = ReconnectBackoff::new(schedule);
    let mut first = true;
    loop {
        if !first {
            outlet.stats.reconnects.inc();
        }
        first = false;
        let end = source.connection(&mut outlet).await;
        outlet.stats.connected.set(0);
        let (failure, healthy) = match end? {
            ConnectionEnd::Stop(reason) => return Ok(reason),
            ConnectionEnd::Reconnect { failure, healthy } => (failure, healthy),
        };
        source.before_reconnect(ConnectionEnd::Reconnect { failure, healthy });
        if healthy {
            backoff.reset();
        }
        let delay = backoff.next_delay(failure);
        tracing::info!(
            ?failure,
            delay_ms = delay.as_millis() as u64,
            "reconnecting to the stream"
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = outlet.shutdown.cancelled() => return Ok(StopReason::Shutdown),
        }
    }
}
