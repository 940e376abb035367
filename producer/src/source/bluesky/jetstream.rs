//! Reading Jetstream as a [`Source`]: JSON events over a WebSocket, every post of the network,
//! matched against the keywords here (Jetstream has no text filter), resumed from a cursor so a
//! reconnect or a restart loses nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{self, handshake_failure, tls_config};
use super::cursor::{CursorStore, RECENT_POSTS_CAPACITY, RecentPosts, Watermark, resume_margin};
use super::decode::{self, Event};
use super::endpoint::{Endpoint, rotation_start};
use super::matcher::{Matcher, Tokens};
use crate::batch::{self, Entry};
use twitter_errors::chain;

use crate::error::ProducerError;
use crate::outlet::{Outlet, Sent};
use crate::reconnect::Failure;
use crate::redact::redact;
use crate::source::connection::{ConnectionEnd, Source, StopReason};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message (and frame) read, and the `maxMessageSizeBytes` asked for. A Kinesis
/// record holds at most 1 MiB, so a bigger post could not be forwarded anyway; tungstenite's
/// default of 64 MiB would let one hostile message take that much memory. A bigger message
/// breaks the connection (the 2026 server skips it instead of sending it).
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;
/// The least time without an event before a connection counts as stuck. The post firehose is
/// never quiet for a minute, so a host that answers pings but sends nothing for this long has
/// lost its own upstream. Not applied to an endpoint that follows some accounts only
/// (`wantedDids`): that stream may well be quiet for hours.
pub const MIN_EVENT_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection that stayed up this long was healthy even if it brought nothing new (a quiet
/// `wantedDids` stream): when it drops, reconnect at once, to the same host.
pub const HEALTHY_UPTIME: Duration = Duration::from_secs(60);

/// How long a connection may go without an event: twice the stall timeout, at least
/// [`MIN_EVENT_TIMEOUT`].
pub fn event_timeout(stall_timeout: Duration) -> Duration {
    stall_timeout.saturating_mul(2).max(MIN_EVENT_TIMEOUT)
}

/// What the Jetstream source is made of, decided at start.
#[derive(Debug, Clone)]
pub struct JetstreamSpec {
    /// Tried in turn after a failed connection: `JETSTREAM_URL`, or the public hosts. The
    /// rotation starts on the host the saved position came from, when it is one of them.
    pub endpoints: Vec<Endpoint>,
    pub matcher: Matcher,
    pub cursor: CursorStore,
    /// Time without an event before the host counts as stuck; `None`: [`event_timeout`] of the
    /// stall timeout. Tests shorten it.
    pub event_timeout: Option<Duration>,
}

#[derive(Debug)]
pub struct Jetstream {
    endpoints: Vec<Endpoint>,
    current: usize,
    matcher: Matcher,
    watermark: Arc<Watermark>,
    recent: RecentPosts,
    tokens: Tokens,
    stall_timeout: Duration,
    event_timeout: Duration,
    /// Endpoints that refused the handshake since the last connection that opened.
    refused: HashSet<usize>,
    /// The connection's host and cursor, when its positions are on another clock than the
    /// watermark's: applied at its first positioned event, so that a connection that brings
    /// nothing leaves the position exactly as it was.
    pending_switch: Option<(String, Option<u64>)>,
    tls: Arc<rustls::ClientConfig>,
}

/// What woke the reading loop.
enum Wake {
    Message(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Ping,
    Stall,
    NoEvents,
    Shutdown,
}

enum Handled {
    Continue,
    Stop(StopReason),
}

impl Jetstream {
    pub fn new(spec: JetstreamSpec, stall_timeout: Duration) -> Result<Jetstream, ProducerError> {
        if spec.endpoints.is_empty() {
            return Err(ProducerError::Config("no Jetstream endpoint".into()));
        }
        let watermark = spec.cursor.watermark;
        let current = rotation_start(&spec.endpoints, watermark.host().as_deref());
        if current > 0 {
            tracing::info!(endpoint = %spec.endpoints[current], "starting on the host the saved position came from");
        }
        Ok(Jetstream {
            endpoints: spec.endpoints,
            current,
            matcher: spec.matcher,
            watermark,
            recent: RecentPosts::new(RECENT_POSTS_CAPACITY),
            tokens: Tokens::default(),
            stall_timeout,
            event_timeout: spec
                .event_timeout
                .unwrap_or_else(|| event_timeout(stall_timeout)),
            refused: HashSet::new(),
            pending_switch: None,
            tls: tls_config()?,
        })
    }

    /// The connection's first event with a position: from here on positions are its host's.
    fn enter_host(&mut self) {
        if let Some((host, from)) = self.pending_switch.take() {
            tracing::info!(%host, cursor = from, "positions now come from this host's clock");
            self.watermark.switch_host(&host, from);
        }
    }

    async fn handle(&mut self, text: &str, outlet: &mut Outlet) -> Handled {
        outlet.stats.events_received.inc();
        let event = match decode::classify(text) {
            Ok(event) => event,
            Err(error) => {
                outlet.stats.malformed_lines.inc();
                tracing::warn!(%error, bytes = text.len(), "skipped a Jetstream message");
                return Handled::Continue;
            }
        };
        let position = match &event {
            Event::PostCreate(post) => post.time_us,
            Event::Other { time_us } => *time_us,
            Event::Heartbeat => None,
        };
        if position.is_some() {
            self.enter_host();
        }
        let post = match event {
            Event::PostCreate(post) => post,
            Event::Other { time_us } => {
                if let Some(time_us) = time_us {
                    self.watermark.observe(time_us);
                }
                return Handled::Continue;
            }
            Event::Heartbeat => {
                outlet.stats.keep_alives.inc();
                return Handled::Continue;
            }
        };
        let done = |watermark: &Watermark| {
            if let Some(time_us) = post.time_us {
                watermark.observe(time_us);
            }
        };
        let hashtags: Vec<&str> = post.hashtags.iter().map(AsRef::as_ref).collect();
        let keywords = self
            .matcher
            .matching(&post.text, &hashtags, &mut self.tokens);
        if keywords.is_empty() {
            done(&self.watermark);
            return Handled::Continue;
        }
        let received_at = OffsetDateTime::now_utc();
        outlet.stats.record_post_received(received_at);
        let uri = post.uri();
        if !self.recent.insert(&uri) {
            outlet.stats.duplicates_skipped.inc();
            tracing::debug!(post_id = %uri, "skipped a post forwarded moments ago");
            done(&self.watermark);
            return Handled::Continue;
        }
        let header = twitter_record::Header {
            source: twitter_record::Source::Bluesky,
            id: &uri,
            keywords: &keywords,
            received_at,
        };
        let data = twitter_record::encode(&header, post.json).into();
        let entry = Entry {
            partition_key: batch::partition_key(&uri),
            data,
            position: post.time_us,
        };
        if !outlet.admit(&entry) {
            done(&self.watermark);
            return Handled::Continue;
        }
        if let Some(time_us) = post.time_us {
            self.watermark.dispatch(time_us);
        }
        match outlet.send(entry).await {
            Sent::Queued => Handled::Continue,
            Sent::Stop(reason) => Handled::Stop(reason),
        }
    }
}

impl Jetstream {
    /// With several hosts, one refusing may be the only one that blocks us: try the others,
    /// and give up only when every host refused since a connection last opened.
    fn refusal(
        &mut self,
        end: Result<ConnectionEnd, ProducerError>,
    ) -> Result<ConnectionEnd, ProducerError> {
        match end {
            Err(error @ ProducerError::Jetstream { .. }) if self.endpoints.len() > 1 => {
                self.refused.insert(self.current);
                if self.refused.len() >= self.endpoints.len() {
                    return Err(error);
                }
                tracing::warn!(%error, "a Jetstream host refused us; trying the others");
                Ok(ConnectionEnd::Reconnect {
                    failure: Failure::ServerError,
                    healthy: false,
                })
            }
            end => end,
        }
    }
}

impl Source for Jetstream {
    async fn connection(&mut self, outlet: &mut Outlet) -> Result<ConnectionEnd, ProducerError> {
        let endpoint = self.endpoints[self.current].clone();
        let host = endpoint.host();
        let position_host = self.watermark.host();
        let cursor = self.watermark.resume_cursor(host);
        let url = endpoint.subscribe_url(cursor);
        self.pending_switch = None;
        if position_host.as_deref() != Some(host) {
            self.pending_switch = Some((host.to_owned(), cursor));
            if cursor.is_some() {
                tracing::info!(
                    position_host = position_host.as_deref().unwrap_or("unknown"),
                    %host,
                    rewind_s = resume_margin(position_host.as_deref(), host) / 1_000_000,
                    "resuming on another host than the one that stamped the position: rewinding further"
                );
            }
        }
        tracing::info!(url = %redact(&url), "connecting to Jetstream");
        let connected = tokio::select! {
            connected = tokio::time::timeout(CONNECT_TIMEOUT, connect::connect(&url, &self.tls)) => connected,
            () = outlet.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
        };
        let mut socket = match connected {
            Ok(Ok(socket)) => socket,
            Ok(Err(error)) => return self.refusal(handshake_failure(error, &url)),
            Err(_) => {
                tracing::warn!(url = %redact(&url), timeout_s = CONNECT_TIMEOUT.as_secs(), "Jetstream did not answer");
                return Ok(ConnectionEnd::Reconnect {
                    failure: Failure::Network,
                    healthy: false,
                });
            }
        };
        self.refused.clear();
        tracing::info!(url = %redact(&url), cursor, "connected to Jetstream");
        outlet.stats.connected.set(1);
        // Healthy means the stream moved on: a connection that only replays what came before
        // and then breaks (on a message it cannot take, say) would otherwise reconnect at once,
        // forever. The furthest event received, not the watermark: that one also waits for
        // Kinesis.
        let progress_at_start = self.watermark.furthest();
        let watermark = Arc::clone(&self.watermark);
        let opened = Instant::now();
        let healthy =
            move || watermark.furthest() > progress_at_start || opened.elapsed() >= HEALTHY_UPTIME;
        // A stream of some accounts only may be quiet for hours: pings and pongs alone say
        // whether it is alive.
        let watch_events = !endpoint.follows_dids();
        // Our pings make the host answer with pongs, so a quiet stream still shows it is alive;
        // the host pings us too.
        let ping_every = (self.stall_timeout / 3).max(Duration::from_millis(10));
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut deadline = Instant::now() + self.stall_timeout;
        let mut events_deadline = Instant::now() + self.event_timeout;
        loop {
            let wake = tokio::select! {
                biased;
                () = outlet.shutdown.cancelled() => Wake::Shutdown,
                message = socket.next() => Wake::Message(message),
                () = tokio::time::sleep_until(deadline) => Wake::Stall,
                () = tokio::time::sleep_until(events_deadline), if watch_events => Wake::NoEvents,
                _ = ping.tick() => Wake::Ping,
            };
            let message = match wake {
                Wake::Shutdown => {
                    // Best effort: the host learns we left on purpose.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
                    return Ok(ConnectionEnd::Stop(StopReason::Shutdown));
                }
                Wake::Stall => {
                    tracing::warn!(
                        stall_timeout_s = self.stall_timeout.as_secs_f64(),
                        "Jetstream stalled: no message, ping or pong"
                    );
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Stall,
                        healthy: healthy(),
                    });
                }
                Wake::NoEvents => {
                    // Unhealthy whatever came before, so the next host is tried.
                    tracing::warn!(
                        event_timeout_s = self.event_timeout.as_secs_f64(),
                        "Jetstream answers but sends no events: the host lost its upstream"
                    );
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Stall,
                        healthy: false,
                    });
                }
                Wake::Ping => {
                    let sent = tokio::time::timeout(
                        self.stall_timeout,
                        socket.send(Message::Ping(Default::default())),
                    )
                    .await;
                    if let Ok(Err(error)) = sent {
                        tracing::warn!(error = %chain(&error), "Jetstream connection broke");
                        return Ok(ConnectionEnd::Reconnect {
                            failure: Failure::Dropped,
                            healthy: healthy(),
                        });
                    }
                    continue;
                }
                Wake::Message(message) => message,
            };
            deadline = Instant::now() + self.stall_timeout;
            match message {
                Some(Ok(Message::Text(text))) => {
                    events_deadline = Instant::now() + self.event_timeout;
                    if let Handled::Stop(reason) = self.handle(text.as_str(), outlet).await {
                        return Ok(ConnectionEnd::Stop(reason));
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    outlet.stats.keep_alives.inc();
                }
                Some(Ok(Message::Binary(bytes))) => {
                    // Compressed messages are only sent to clients that ask for them.
                    outlet.stats.malformed_lines.inc();
                    tracing::warn!(bytes = bytes.len(), "skipped a binary Jetstream message");
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or_default();
                    tracing::warn!(code, %reason, "Jetstream closed the connection");
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy: healthy(),
                    });
                }
                Some(Ok(Message::Frame(_))) => {}
                Some(Err(error)) => {
                    tracing::warn!(error = %chain(&error), max_message_bytes = MAX_MESSAGE_BYTES, "Jetstream connection broke");
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy: healthy(),
                    });
                }
                None => {
                    tracing::warn!("Jetstream connection closed");
                    return Ok(ConnectionEnd::Reconnect {
                        failure: Failure::Dropped,
                        healthy: healthy(),
                    });
                }
            }
        }
    }

    /// A host that gave nothing is left for the next one; one that delivered is tried again.
    fn before_reconnect(&mut self, end: ConnectionEnd) {
        if let ConnectionEnd::Reconnect { healthy: false, .. } = end
            && self.endpoints.len() > 1
        {
            self.current = (self.current + 1) % self.endpoints.len();
            tracing::info!(next = %self.endpoints[self.current], "trying the next Jetstream host");
        }
    }
}
