//! The X filtered stream as a [`Source`]: `\r\n`-delimited JSON lines over a long HTTP
//! response, every post already matched by X against the synced rules.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use time::OffsetDateTime;
use tokio_util::codec::FramedRead;
use tokio_util::io::StreamReader;

use crate::batch::Entry;
use crate::decode::{self, Frame, LineCodec, Message};
use crate::error::{ProducerError, chain};
use crate::reconnect::{Failure, Schedule};
use crate::source::{self, ConnectionEnd, Outlet, Sent, Source};
use crate::x::{ConnectError, XClient};

pub use crate::source::StopReason;

/// The X filtered stream as a [`Source`].
#[derive(Debug)]
pub struct FilteredStream {
    pub x: XClient,
    pub tags_by_rule_id: HashMap<String, String>,
    pub stall_timeout: Duration,
}

impl Source for FilteredStream {
    async fn connection(&mut self, outlet: &mut Outlet) -> Result<ConnectionEnd, ProducerError> {
        let connected = tokio::select! {
            connected = self.x.connect() => connected,
            () = outlet.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
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
        outlet.stats.connected.set(1);
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
                () = outlet.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
            };
            let Some(frame) = frame else { break };
            let line = match frame {
                Ok(Frame::Line(line)) => line,
                Ok(Frame::Oversized) => {
                    outlet.stats.malformed_lines.inc();
                    tracing::warn!(
                        max_bytes = decode::MAX_LINE_BYTES,
                        "skipped an oversized stream line"
                    );
                    continue;
                }
                Ok(Frame::Truncated(bytes)) => {
                    outlet.stats.malformed_lines.inc();
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
            match self.handle_line(&line, outlet).await {
                LineOutcome::Continue => {}
                LineOutcome::Disconnect => {
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy,
                    });
                }
                LineOutcome::Stop(reason) => return Ok(ConnectionEnd::Stop(reason)),
            }
        }
        tracing::warn!("stream connection closed by X");
        Ok(ConnectionEnd::Reconnect {
            failure: Failure::Dropped,
            healthy,
        })
    }
}

impl FilteredStream {
    /// Reads until stopped by a signal or the spend guard, or until X refuses us for good.
    pub async fn run(
        self,
        outlet: Outlet,
        schedule: Schedule,
    ) -> Result<StopReason, ProducerError> {
        source::run(self, outlet, schedule).await
    }

    async fn handle_line(&self, line: &Bytes, outlet: &mut Outlet) -> LineOutcome {
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
                if !outlet.admit(&entry) {
                    return LineOutcome::Continue;
                }
                match outlet.send(entry).await {
                    Sent::Queued => LineOutcome::Continue,
                    Sent::Stop(reason) => LineOutcome::Stop(reason),
                }
            }
        }
    }
}

enum LineOutcome {
    Continue,
    Disconnect,
    Stop(StopReason),
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
