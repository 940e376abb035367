//! The X filtered stream as a [`Source`]: `\r\n`-delimited JSON lines over a long HTTP
//! response, every post already matched by X against the synced rules.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use time::OffsetDateTime;
use tokio_util::codec::Decoder;

use super::burst::{BURST_GAP, Body, Burst, STOP_READ_MAX};
use super::client::{ConnectError, XClient};
use super::connections::TAKE_OVER_MIN_INTERVAL;
use super::decode::{self, Frame, Message};
use super::problem::Refusal;
use super::rate_limit::Endpoint;
use crate::batch::Entry;
use twitter_errors::chain;

use crate::error::ProducerError;
use crate::outlet::{Outlet, Sent};
use crate::reconnect::{Failure, Schedule};
use crate::source::connection::{self, ConnectionEnd, Source, StopReason};

/// A connection counts as healthy (backoff reset, an immediate reconnect after a drop) once it
/// stayed up this long, even without a post: a quiet rule set is not a broken stream.
pub const HEALTHY_UPTIME: Duration = Duration::from_secs(60);

/// While X answers `UsageCapExceeded`, a connect every this often: the cap lifts when the
/// monthly cycle ends, and each try is a connect out of the 15-minute window.
pub const USAGE_CAP_RETRY: Duration = Duration::from_secs(60 * 60);

/// Whether a connection that ended earned a reset of every schedule: it delivered a post, or
/// stayed up [`HEALTHY_UPTIME`]. A keep-alive or a disconnect message and a close is not
/// health: a stream that does only that is retried on the back-off schedule, not in a loop.
pub fn healthy(delivered_post: bool, up_for: Duration) -> bool {
    delivered_post || up_for >= HEALTHY_UPTIME
}

/// The X filtered stream as a [`Source`].
#[derive(Debug)]
pub struct FilteredStream {
    pub x: XClient,
    pub tags_by_rule_id: HashMap<String, String>,
    /// Also the longest wait for the response headers: X's first byte, like every later one,
    /// is due within it.
    pub stall_timeout: Duration,
}

impl Source for FilteredStream {
    async fn connection(&mut self, outlet: &mut Outlet) -> Result<ConnectionEnd, ProducerError> {
        // "A good implementation will not receive 429s": no connect the window no longer allows.
        let window_open = self
            .x
            .wait_for_window(
                Endpoint::StreamConnect,
                Some(&outlet.shutdown),
                Some(&outlet.stats),
            )
            .await;
        if !window_open {
            return Ok(ConnectionEnd::Stop(StopReason::Shutdown));
        }
        // reqwest's own timeout would also cut the endless body: only the wait for the
        // response headers is bounded here.
        let connected = tokio::select! {
            connected = tokio::time::timeout(self.stall_timeout, self.x.connect()) => connected,
            () = outlet.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
        };
        let response = match connected {
            Err(_) => {
                tracing::warn!(
                    timeout_s = self.stall_timeout.as_secs_f64(),
                    "X sent no response headers in time; reconnecting"
                );
                return Ok(ConnectionEnd::Reconnect {
                    failure: Failure::Network,
                    healthy: false,
                });
            }
            Ok(Ok(response)) => response,
            Ok(Err(ConnectError::Network(error))) => {
                tracing::warn!(error = %chain(&error), "cannot connect to the stream");
                return Ok(ConnectionEnd::Reconnect {
                    failure: Failure::Network,
                    healthy: false,
                });
            }
            Ok(Err(ConnectError::Refused {
                status,
                refusal,
                detail,
            })) => return self.refused(status, refusal, detail, outlet).await,
        };
        tracing::info!("connected to the filtered stream");
        outlet.stats.connected.set(1);
        outlet.stats.usage_capped.set(0);
        let opened = Instant::now();
        let mut body = response.bytes_stream();
        let mut read = Burst::default();
        let mut last_data = tokio::time::Instant::now();
        loop {
            // The stall clock counts from the last byte, keep-alives included.
            let first = tokio::select! {
                first = tokio::time::timeout_at(last_data + self.stall_timeout, body.next()) => first,
                () = outlet.shutdown.cancelled() => return Ok(self.stop(&mut body, &mut read, outlet).await),
            };
            let Ok(first) = first else {
                tracing::warn!(
                    stall_timeout_s = self.stall_timeout.as_secs(),
                    "stream stalled: no data, not even a keep-alive"
                );
                return Ok(self.end(Failure::Stall, read.delivered_post, opened));
            };
            last_data = tokio::time::Instant::now();
            // X writes each post on its own; whatever else is already here joins this burst, so
            // the spool and the sink see one append, not one per post.
            let backlog = read.take_ready(first, &mut body).await;
            if let Some(stop) = self.handle_burst(&mut read, outlet).await {
                return Ok(match stop {
                    BurstEnd::Stop(reason) => ConnectionEnd::Stop(reason),
                    BurstEnd::Reconnect(failure) => self.end(failure, read.delivered_post, opened),
                });
            }
            // At X's pace this gathers about a dozen posts per read instead of waking for each
            // one: every wake-up costs more than the post it handles. Kinesis sees a post at
            // most this much later; the consumer's batching window is seconds.
            if backlog {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(BURST_GAP) => {}
                () = outlet.shutdown.cancelled() => return Ok(self.stop(&mut body, &mut read, outlet).await),
            }
        }
    }
}

/// Why a burst ends the connection.
enum BurstEnd {
    Stop(StopReason),
    Reconnect(Failure),
}

impl FilteredStream {
    /// Reads until stopped by a signal or the spend guard, or until X refuses us for good.
    pub async fn run(
        self,
        outlet: Outlet,
        schedule: Schedule,
    ) -> Result<StopReason, ProducerError> {
        connection::run(self, outlet, schedule).await
    }

    /// What an error answer to a connect calls for.
    async fn refused(
        &self,
        status: u16,
        refusal: Refusal,
        detail: String,
        outlet: &Outlet,
    ) -> Result<ConnectionEnd, ProducerError> {
        let reconnect = |failure| {
            Ok(ConnectionEnd::Reconnect {
                failure,
                healthy: false,
            })
        };
        match refusal {
            Refusal::Unauthorized => Err(ProducerError::Unauthorized { status, detail }),
            Refusal::CreditsDepleted => Err(ProducerError::CreditsDepleted { detail }),
            Refusal::UsageCapped { period } => {
                if outlet.stats.usage_capped.get() == 0 {
                    tracing::error!(
                        %period,
                        %detail,
                        retry_every_s = USAGE_CAP_RETRY.as_secs(),
                        "X refused the stream: the app's {} post cap is reached (UsageCapExceeded); no posts until the cycle resets or the cap is raised; trying again every hour",
                        period.to_lowercase()
                    );
                } else {
                    tracing::info!(%period, "X still refuses the stream: the post cap is reached");
                }
                outlet.stats.usage_capped.set(1);
                Ok(ConnectionEnd::RetryIn(USAGE_CAP_RETRY))
            }
            Refusal::TooManyConnections => Ok(self.take_over(detail, outlet).await),
            // The answer's headers name the reset: the next connect waits for it.
            Refusal::RateLimited if self.x.window_wait(Endpoint::StreamConnect).is_some() => {
                Ok(ConnectionEnd::RetryIn(Duration::ZERO))
            }
            Refusal::RateLimited => {
                tracing::warn!(status, %detail, "stream refused the connection (429, no reset given)");
                reconnect(Failure::RateLimited)
            }
            Refusal::ServerError => {
                tracing::warn!(status, %detail, "stream unavailable");
                reconnect(Failure::ServerError)
            }
            Refusal::Other => Err(ProducerError::XApi {
                endpoint: "/2/tweets/search/stream",
                status,
                detail,
            }),
        }
    }

    /// The app's one connection is taken: by a stale connection of ours after a crash (end it
    /// and connect at once), or by another live consumer (the 429 schedule).
    async fn take_over(&self, detail: String, outlet: &Outlet) -> ConnectionEnd {
        let wait = ConnectionEnd::Reconnect {
            failure: Failure::RateLimited,
            healthy: false,
        };
        if !self.x.take_over() {
            tracing::warn!(%detail, "the app's stream connection is taken; --no-take-over: waiting for it to end");
            return wait;
        }
        if !self.x.take_over_allowed(Instant::now()) {
            tracing::warn!(
                %detail,
                min_interval_s = TAKE_OVER_MIN_INTERVAL.as_secs(),
                "the stream connection was taken again soon after a take-over: another live consumer of this app may be connected; backing off (stop it, or give one of them --no-take-over)"
            );
            return wait;
        }
        match self.x.end_stream_connections().await {
            Ok(kills) => {
                outlet.stats.connection_takeovers.inc();
                tracing::warn!(
                    ended = kills.successful,
                    failed = kills.failed,
                    "took the stream connection back: ended the connection that held it (DELETE /2/connections/filtered_stream)"
                );
                ConnectionEnd::RetryIn(Duration::ZERO)
            }
            Err(error) => {
                tracing::warn!(error = %chain(&error), "cannot end the connection that holds the stream; backing off");
                wait
            }
        }
    }

    /// Handles every whole line of the burst in order and spools its posts with one append;
    /// `Some` when the connection ends here.
    async fn handle_burst(&self, read: &mut Burst, outlet: &mut Outlet) -> Option<BurstEnd> {
        let mut end = None;
        loop {
            let frame = match read.codec.decode(&mut read.buffer) {
                Ok(Some(frame)) => frame,
                Ok(None) if matches!(read.ended, Some(Ok(()))) => {
                    match read.codec.decode_eof(&mut read.buffer) {
                        Ok(Some(frame)) => frame,
                        _ => break,
                    }
                }
                Ok(None) => break,
                // The codec reports no I/O of its own: the bytes are already here.
                Err(_) => break,
            };
            match frame {
                Frame::Line(line) => match self.handle_line(&line, outlet, &mut read.entries) {
                    LineOutcome::Continue => {}
                    LineOutcome::Post => read.delivered_post = true,
                    LineOutcome::Disconnect => {
                        end = Some(BurstEnd::Reconnect(Failure::Dropped));
                        break;
                    }
                },
                Frame::Oversized => {
                    outlet.stats.malformed_lines.inc();
                    tracing::warn!(
                        max_bytes = decode::MAX_LINE_BYTES,
                        "skipped an oversized stream line"
                    );
                }
                Frame::Truncated(bytes) => {
                    outlet.stats.malformed_lines.inc();
                    tracing::warn!(bytes, "connection ended in the middle of a line");
                }
            }
        }
        // What was read before a disconnect or a broken connection is kept all the same.
        if !read.entries.is_empty()
            && let Sent::Stop(reason) = outlet.send_all(&mut read.entries).await
        {
            return Some(BurstEnd::Stop(reason));
        }
        if end.is_some() {
            return end;
        }
        match read.ended.take() {
            None => None,
            Some(Ok(())) => {
                tracing::warn!("stream connection closed by X");
                Some(BurstEnd::Reconnect(Failure::Dropped))
            }
            Some(Err(error)) => {
                tracing::warn!(error = %chain(&error), "stream connection broke");
                Some(BurstEnd::Reconnect(Failure::Dropped))
            }
        }
    }

    /// Reading stops (a signal, or a sink that died): what X already sent is read and spooled
    /// before the connection closes, within [`STOP_READ_MAX`].
    async fn stop(
        &self,
        body: &mut impl Body,
        read: &mut Burst,
        outlet: &mut Outlet,
    ) -> ConnectionEnd {
        let deadline = tokio::time::Instant::now() + STOP_READ_MAX;
        let received_before = outlet.stats.posts_received.get();
        let reason = loop {
            let more = read.take_until_idle(body, deadline).await;
            if let Some(BurstEnd::Stop(reason)) = self.handle_burst(read, outlet).await {
                break reason;
            }
            if !more {
                break StopReason::Shutdown;
            }
        };
        let posts = outlet.stats.posts_received.get() - received_before;
        if posts > 0 {
            tracing::info!(
                posts,
                "read the posts X had already sent before closing the stream"
            );
        }
        ConnectionEnd::Stop(reason)
    }

    fn end(&self, failure: Failure, delivered_post: bool, opened: Instant) -> ConnectionEnd {
        ConnectionEnd::Reconnect {
            failure,
            healthy: healthy(delivered_post, opened.elapsed()),
        }
    }

    /// What one line means; a post that Kinesis can hold joins `entries`.
    fn handle_line(&self, line: &[u8], outlet: &Outlet, entries: &mut Vec<Entry>) -> LineOutcome {
        let stats = &outlet.stats;
        let message = match decode::classify(line) {
            Ok(message) => message,
            Err(error) => {
                stats.malformed_lines.inc();
                tracing::warn!(%error, bytes = line.len(), "skipped a stream line");
                return LineOutcome::Continue;
            }
        };
        match message {
            Message::KeepAlive => {
                stats.keep_alives.inc();
                LineOutcome::Continue
            }
            Message::Unknown => {
                tracing::debug!(
                    bytes = line.len(),
                    "ignored a stream message of an unknown kind"
                );
                LineOutcome::Continue
            }
            Message::System(system) => {
                stats.system_messages.inc();
                if system.disconnect {
                    tracing::warn!(title = %system.title, detail = %system.detail, "X closed the stream");
                    LineOutcome::Disconnect
                } else {
                    tracing::warn!(title = %system.title, detail = %system.detail, "system message from X");
                    LineOutcome::Continue
                }
            }
            Message::Post(post) => {
                let received_at = OffsetDateTime::now_utc();
                stats.record_post_received(received_at);
                let keywords = decode::keywords(&post.matching_rules, &self.tags_by_rule_id);
                let header = twitter_record::Header {
                    source: twitter_record::Source::X,
                    id: &post.id,
                    keywords: &keywords,
                    received_at,
                };
                let entry = Entry {
                    partition_key: post.id.to_string(),
                    data: twitter_record::encode(&header, post.json).into(),
                    position: None,
                };
                if outlet.admit(&entry) {
                    entries.push(entry);
                }
                LineOutcome::Post
            }
        }
    }
}

enum LineOutcome {
    Continue,
    /// A post arrived: the connection is healthy.
    Post,
    Disconnect,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_healthy_after_a_post_or_a_minute_up() {
        assert!(healthy(true, Duration::ZERO));
        assert!(healthy(false, Duration::from_secs(60)));
        assert!(healthy(false, Duration::from_secs(3_600)));
        // One keep-alive (or a disconnect message) and a close.
        assert!(!healthy(false, Duration::from_millis(5)));
        assert!(!healthy(false, Duration::from_millis(59_999)));
    }
}
