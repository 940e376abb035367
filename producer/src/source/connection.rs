//! What every source shares: one connection at a time, and the loop that reconnects on the
//! source's schedule. A source only opens connections and turns what arrives into records,
//! handed to the [`Outlet`]: [`super::x::FilteredStream`] for X, [`super::bluesky::Jetstream`]
//! for Bluesky.

use std::future::Future;
use std::time::Duration;

use crate::error::ProducerError;
use crate::outlet::Outlet;
use crate::reconnect::{Failure, ReconnectBackoff, Schedule};

/// Why reading stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal asked us to stop.
    Shutdown,
    /// `--max-tweets` posts were handed to the sink.
    SpendGuard,
    /// `--monthly-budget` posts were read this month.
    MonthlyBudget,
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
    /// Connect again after exactly this long, outside every back-off schedule: the peer said
    /// when (a usage cap retried hourly), or the way is clear at once (a stale connection was
    /// ended, or the source waits for a rate-limit reset itself before connecting). The
    /// schedules are not reset: nothing was received.
    RetryIn(Duration),
}

/// A stream of posts that can be connected to again and again.
pub trait Source {
    /// Opens one connection and reads it until it ends, handing posts to `outlet`. A shutdown is
    /// only noticed between messages, so a post already read always reaches the sink; a peer
    /// that cannot send a post again (X) has what it already sent read before the close. An
    /// error is fatal: no retry can fix it.
    fn connection(
        &mut self,
        outlet: &mut Outlet,
    ) -> impl Future<Output = Result<ConnectionEnd, ProducerError>>;

    /// Called after each connection that will be followed by another.
    fn before_reconnect(&mut self, _end: ConnectionEnd) {}
}

/// Reads `source` until a signal, a spend guard, or an error no retry can fix, reconnecting
/// on `schedule` in between.
pub async fn run<S: Source>(
    mut source: S,
    mut outlet: Outlet,
    schedule: Schedule,
) -> Result<StopReason, ProducerError> {
    let mut backoff = ReconnectBackoff::new(schedule);
    let mut first = true;
    loop {
        if outlet.budget_exhausted() {
            return Ok(StopReason::MonthlyBudget);
        }
        if !first {
            outlet.stats.reconnects.inc();
        }
        first = false;
        let end = source.connection(&mut outlet).await?;
        outlet.stats.connected.set(0);
        let delay = match end {
            ConnectionEnd::Stop(reason) => return Ok(reason),
            ConnectionEnd::Reconnect { failure, healthy } => {
                source.before_reconnect(end);
                if healthy {
                    backoff.reset();
                }
                let delay = backoff.next_delay(failure);
                tracing::info!(
                    ?failure,
                    delay_ms = delay.as_millis() as u64,
                    "reconnecting to the stream"
                );
                delay
            }
            ConnectionEnd::RetryIn(delay) => {
                source.before_reconnect(end);
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "reconnecting to the stream"
                );
                delay
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = outlet.shutdown.cancelled() => return Ok(StopReason::Shutdown),
        }
    }
}
