//! Reads the filtered stream, reconnecting as X documents, and hands every post to the sink.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::io::StreamReader;
use tokio_util::sync::CancellationToken;

use crate::batch::{self, Entry};
use crate::decode::{self, Frame, LineCodec, Message};
use crate::error::{ProducerError, chain};
use crate::reconnect::{Failure, ReconnectBackoff, Schedule};
use crate::stats::Stats;
use crate::x::{ConnectError, XClient};

/// Why reading stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal asked us to stop.
    Shutdown,
    /// `--max-tweets` posts were handed to the sink.
    SpendGuard,
}

#[derive(Debug)]
pub struct FilteredStream {
    pub x: XClient,
    pub output: mpsc::Sender<Entry>,
    pub tags_by_rule_id: HashMap<String, String>,
    pub stats: Arc<Stats>,
    pub stall_timeout: Duration,
    pub max_posts: Option<u64>,
    pub reconnect: Schedule,
    pub shutdown: CancellationToken,
}

/// How one connection ended.
enum ConnectionEnd {
    Stop(StopReason),
    /// Reconnect after the delay this failure calls for. `healthy`: data flowed first.
    Reconnect {
        failure: Failure,
        healthy: bool,
    },
}

impl FilteredStream {
    /// Reads until stopped by a signal or the spend guard, or until X refuses us for good.
    pub async fn run(self) -> Result<StopReason, ProducerError> {
        let mut backoff = ReconnectBackoff::new(self.reconnect);
        let mut forwarded = 0u64;
        let mut first = true;
        loop {
            if !first {
                self.stats.reconnects.inc();
            }
            first = false;
            let end = self.connection(&mut forwarded).await?;
            self.stats.connected.set(0);
            let (failure, healthy) = match end {
                ConnectionEnd::Stop(reason) => return Ok(reason),
                ConnectionEnd::Reconnect { failure, healthy } => (failure, healthy),
            };
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
                () = self.shutdown.cancelled() => return Ok(StopReason::Shutdown),
            }
        }
    }

    /// One connection, from the request to its end. A shutdown is only noticed between lines,
    /// so a post already read always reaches the sink.
    async fn connection(&self, forwarded: &mut u64) -> Result<ConnectionEnd, ProducerError> {
        let connected = tokio::select! {
            connected = self.x.connect() => connected,
            () = self.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
        };
        let response = match connected {
            Ok(response) => response,
            Err(ConnectError::Network(error)) => {
                tracing::warn!(error = %chain(&error), "cannot connect to the stream");
                return Ok(ConnectionEnd::Reconnect {
                    failure: Failure::Network,
                    healthy: false,
                });
            }
            Err(ConnectError::Status { status, detail }) => {
                return match status {
                    401 | 403 => Err(ProducerError::Unauthorized { status, detail }),
                    429 => {
                        tracing::warn!(status, %detail, "stream refused the connection");
                        Ok(ConnectionEnd::Reconnect {
                            failure: Failure::RateLimited,
                            healthy: false,
                        })
                    }
                    500..=599 => {
                        tracing::warn!(status, %detail, "stream unavailable");
                        Ok(ConnectionEnd::Reconnect {
                            failure: Failure::ServerError,
                            healthy: false,
                        })
                    }
                    _ => Err(ProducerError::XApi {
                        endpoint: "/2/tweets/search/stream",
                        status,
                        detail,
                    }),
                };
            }
        };
        tracing::info!("connected to the filtered stream");
        self.stats.connected.set(1);
        let mut frames = FramedRead::new(
            StreamReader::new(Box::pin(stall_guard(
                response.bytes_stream(),
                self.stall_timeout,
            ))),
            LineCodec::default(),
        );
        let mut healthy = false;
        loop {
            let frame = tokio::select! {
                frame = frames.next() => frame,
                () = self.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
            };
            let Some(frame) = frame else { break };
            let line = match frame {
                Ok(Frame::Line(line)) => line,
                Ok(Frame::Oversized) => {
                    self.stats.malformed_lines.inc();
                    tracing::warn!(
                        max_bytes = decode::MAX_LINE_BYTES,
                        "skipped an oversized stream line"
                    );
                    continue;
                }
                Ok(Frame::Truncated(bytes)) => {
                    self.stats.malformed_lines.inc();
                    tracing::warn!(bytes, "connection ended in the middle of a line");
                    continue;
                }
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                    tracing::warn!(
                        stall_timeout_s = self.stall_timeout.as_secs(),
                        "stream stalled: no data, not even a keep-alive"
                    );
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Stall,
                        healthy,
                    });
                }
                Err(error) => {
                    tracing::warn!(error = %chain(&error), "stream connection broke");
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy,
                    });
                }
            };
            healthy = true;
            match self.handle_line(&line).await {
                LineOutcome::Continue => {}
                LineOutcome::Forwarded => {
                    *forwarded += 1;
                    if self.max_posts.is_some_and(|max| *forwarded >= max) {
                        return Ok(ConnectionEnd::Stop(StopReason::SpendGuard));
                    }
                }
                LineOutcome::Disconnect => {
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy,
                    });
                }
                LineOutcome::SinkGone => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
            }
        }
        tracing::warn!("stream connection closed by X");
        Ok(ConnectionEnd::Reconnect {
            failure: Failure::Dropped,
            healthy,
        })
    }

    async fn handle_line(&self, line: &Bytes) -> LineOutcome {
        let message = match decode::classify(line) {
            Ok(message) => message,
            Err(error) => {
                self.stats.malformed_lines.inc();
                tracing::warn!(%error, bytes = line.len(), "skipped a stream line");
                return LineOutcome::Continue;
            }
        };
        match message {
            Message::KeepAlive => {
                self.stats.keep_alives.inc();
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
                self.stats.system_messages.inc();
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
                self.stats.record_post_received(received_at);
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
                };
                if let Err(error) = batch::check_entry(&entry) {
                    self.stats.records_skipped.inc();
                    tracing::warn!(post_id = %post.id, %error, "skipped a post Kinesis cannot hold");
                    return LineOutcome::Continue;
                }
                match self.output.send(entry).await {
                    Ok(()) => LineOutcome::Forwarded,
                    // The sink only stops early on a fatal error, which it reports itself.
                    Err(_) => LineOutcome::SinkGone,
                }
            }
        }
    }
}

enum LineOutcome {
    Continue,
    Forwarded,
    Disconnect,
    SinkGone,
}

/// Turns the body into an `AsyncRead` source that fails with `TimedOut` when no chunk (a
/// keep-alive is a chunk too) arrives within `stall_timeout`.
fn stall_guard(
    body: impl Stream<Item = reqwest::Result<Bytes>> + Unpin,
    stall_timeout: Duration,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(stall_timeout, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(error))) => Some((Err(std::io::Error::other(error)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "stream stalled",
                )),
                None,
            )),
        }
    })
}
