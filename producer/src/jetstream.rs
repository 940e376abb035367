//! Bluesky's Jetstream as a [`Source`]: JSON events over a WebSocket, every post of the network,
//! matched against the keywords here (Jetstream has no text filter), resumed from a cursor so a
//! reconnect or a restart loses nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::batch::{self, Entry};
use crate::bluesky::{self, Event};
use crate::cursor::{CursorStore, RECENT_POSTS_CAPACITY, RecentPosts, Watermark};
use crate::error::{ProducerError, chain};
use crate::matcher::{Matcher, Tokens};
use crate::reconnect::Failure;
use crate::source::{ConnectionEnd, Outlet, Sent, Source, StopReason};

/// Bluesky's four public Jetstream hosts, tried in turn while `JETSTREAM_URL` is unset.
pub const PUBLIC_ENDPOINTS: [&str; 4] = [
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
];
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message (and frame) read. A Kinesis record holds at most 1 MiB, so a bigger
/// post could not be forwarded anyway; tungstenite's default of 64 MiB would let one hostile
/// message take that much memory. A bigger message breaks the connection.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;
/// The least time without an event before a connection counts as stuck. The post firehose is
/// never quiet for a minute, so a host that answers pings but sends nothing for this long has
/// lost its own upstream.
pub const MIN_EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection may go without an event: twice the stall timeout, at least
/// [`MIN_EVENT_TIMEOUT`].
pub fn event_timeout(stall_timeout: Duration) -> Duration {
    stall_timeout.saturating_mul(2).max(MIN_EVENT_TIMEOUT)
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// What the Jetstream source is made of, decided at start.
#[derive(Debug, Clone)]
pub struct JetstreamSpec {
    /// Tried in turn after a failed connection: `JETSTREAM_URL`, or [`PUBLIC_ENDPOINTS`].
    pub endpoints: Vec<String>,
    pub matcher: Matcher,
    pub cursor: CursorStore,
    /// Time without an event before the host counts as stuck; `None`: [`event_timeout`] of the
    /// stall timeout. Tests shorten it.
    pub event_timeout: Option<Duration>,
}

/// The subscription URL: always posts only, from `cursor` when there is one (else live).
pub fn subscribe_url(endpoint: &str, cursor: Option<u64>) -> String {
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{endpoint}{separator}wantedCollections={}",
        bluesky::POST_COLLECTION
    );
    if let Some(cursor) = cursor {
        url.push_str(&format!("&cursor={cursor}"));
    }
    url
}

/// TLS for `wss://` with the webpki roots (no dependence on the host's certificate store), and
/// the ring provider named explicitly: the AWS SDK brings a second one into the build.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, ProducerError> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ProducerError::Config(format!("cannot set up TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

#[derive(Debug)]
pub struct Jetstream {
    endpoints: Vec<String>,
    current: usize,
    matcher: Matcher,
    watermark: Arc<Watermark>,
    recent: RecentPosts,
    tokens: Tokens,
    stall_timeout: Duration,
    event_timeout: Duration,
    /// Endpoints that refused the handshake since the last connection that opened.
    refused: HashSet<usize>,
    tls: Arc<rustls::ClientConfig>,
}

/// What woke the reading loop.
enum Wake {
    Message(Option<Result<Message, tungstenite::Error>>),
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
        Ok(Jetstream {
            endpoints: spec.endpoints,
            current: 0,
            matcher: spec.matcher,
            watermark: spec.cursor.watermark,
            recent: RecentPosts::new(RECENT_POSTS_CAPACITY),
            tokens: Tokens::default(),
            stall_timeout,
            event_timeout: spec
                .event_timeout
                .unwrap_or_else(|| event_timeout(stall_timeout)),
            refused: HashSet::new(),
            tls: tls_config()?,
        })
    }

    async fn connect(&self, url: &str) -> Result<Socket, tungstenite::Error> {
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "user-agent",
            HeaderValue::from_static(concat!("twitter-producer/", env!("CARGO_PKG_VERSION"))),
        );
        let connector = Connector::Rustls(Arc::clone(&self.tls));
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (socket, _response) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            false,
            Some(connector),
        )
        .await?;
        Ok(socket)
    }

    async fn handle(&mut self, text: &str, outlet: &mut Outlet) -> Handled {
        outlet.stats.events_received.inc();
        let post = match bluesky::classify(text) {
            Ok(Event::PostCreate(post)) => post,
            Ok(Event::Other { time_us }) => {
                if let Some(time_us) = time_us {
                    self.watermark.observe(time_us);
                }
                return Handled::Continue;
            }
            Ok(Event::Heartbeat) => {
                outlet.stats.keep_alives.inc();
                return Handled::Continue;
            }
            Err(error) => {
                outlet.stats.malformed_lines.inc();
                tracing::warn!(%error, bytes = text.len(), "skipped a Jetstream message");
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

/// A refused handshake: a status that will not change by retrying is fatal, the rest retries.
fn handshake_failure(error: tungstenite::Error, url: &str) -> Result<ConnectionEnd, ProducerError> {
    let reconnect = |failure| {
        Ok(ConnectionEnd::Reconnect {
            failure,
            healthy: false,
        })
    };
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let detail = response
                .body()
                .as_deref()
                .map(|body| {
                    String::from_utf8_lossy(body)
                        .trim()
                        .chars()
                        .take(200)
                        .collect()
                })
                .filter(|d: &String| !d.is_empty())
                .unwrap_or_else(|| "no detail given".to_owned());
            match status {
                429 => {
                    tracing::warn!(url, status, %detail, "Jetstream is rate limiting connections");
                    reconnect(Failure::RateLimited)
                }
                408 | 500..=599 => {
                    tracing::warn!(url, status, %detail, "Jetstream unavailable");
                    reconnect(Failure::ServerError)
                }
                _ => Err(ProducerError::Jetstream {
                    url: url.to_owned(),
                    status,
                    detail,
                }),
            }
        }
        tungstenite::Error::Url(error) => Err(ProducerError::Config(format!(
            "Jetstream URL {url:?} cannot be used: {error}"
        ))),
        error => {
            tracing::warn!(url, error = %chain(&error), "cannot connect to Jetstream");
            reconnect(Failure::Network)
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
        let cursor = self.watermark.resume_cursor();
        let url = subscribe_url(&self.endpoints[self.current], cursor);
        tracing::info!(%url, "connecting to Jetstream");
        let connected = tokio::select! {
            connected = tokio::time::timeout(CONNECT_TIMEOUT, self.connect(&url)) => connected,
            () = outlet.shutdown.cancelled() => return Ok(ConnectionEnd::Stop(StopReason::Shutdown)),
        };
        let mut socket = match connected {
            Ok(Ok(socket)) => socket,
            Ok(Err(error)) => return self.refusal(handshake_failure(error, &url)),
            Err(_) => {
                tracing::warn!(%url, timeout_s = CONNECT_TIMEOUT.as_secs(), "Jetstream did not answer");
                return Ok(ConnectionEnd::Reconnect {
                    failure: Failure::Network,
                    healthy: false,
                });
            }
        };
        self.refused.clear();
        tracing::info!(%url, cursor, "connected to Jetstream");
        outlet.stats.connected.set(1);
        // Healthy means the stream moved on: a connection that only replays what came before
        // and then breaks (on a message it cannot take, say) would otherwise reconnect at once,
        // forever. The furthest event received, not the watermark: that one also waits for
        // Kinesis.
        let progress_at_start = self.watermark.furthest();
        let watermark = Arc::clone(&self.watermark);
        let healthy = move || watermark.furthest() > progress_at_start;
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
                () = tokio::time::sleep_until(events_deadline) => Wake::NoEvents,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscription_asks_for_posts_only_and_resumes_from_the_cursor() {
        assert_eq!(
            subscribe_url("wss://jetstream1.us-east.bsky.network/subscribe", None),
            "wss://jetstream1.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
        );
        assert_eq!(
            subscribe_url(
                "ws://127.0.0.1:9/subscribe?compress=false",
                Some(1725519626134432)
            ),
            "ws://127.0.0.1:9/subscribe?compress=false&wantedCollections=app.bsky.feed.post&cursor=1725519626134432"
        );
    }

    #[test]
    fn tls_is_configured_without_a_process_wide_provider() {
        assert!(tls_config().is_ok());
    }

    #[test]
    fn handshake_statuses_that_will_not_change_are_fatal() {
        let refused = |status: u16| {
            let response = tungstenite::http::Response::builder()
                .status(status)
                .body(Some(b"{\"error\":\"nope\"}".to_vec()))
                .expect("response");
            handshake_failure(
                tungstenite::Error::Http(Box::new(response)),
                "ws://h/subscribe",
            )
        };
        for status in [400, 401, 403, 404, 410] {
            let error = refused(status).expect_err("fatal");
            assert!(error.to_string().contains(&status.to_string()), "{error}");
            assert!(error.to_string().contains("nope"), "{error}");
        }
        assert!(matches!(
            refused(429),
            Ok(ConnectionEnd::Reconnect {
                failure: Failure::RateLimited,
                ..
            })
        ));
        for status in [408, 500, 502, 503] {
            assert!(matches!(
                refused(status),
                Ok(ConnectionEnd::Reconnect {
                    failure: Failure::ServerError,
                    ..
                })
            ));
        }
        assert!(matches!(
            handshake_failure(tungstenite::Error::ConnectionClosed, "ws://h"),
            Ok(ConnectionEnd::Reconnect {
                failure: Failure::Network,
                ..
            })
        ));
    }
}
