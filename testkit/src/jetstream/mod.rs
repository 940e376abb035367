//! A local server speaking Bluesky's Jetstream protocol: `GET /subscribe` upgraded to a
//! WebSocket, one JSON event per text message; `wantedCollections`, `wantedDids`, `cursor` and
//! `maxMessageSizeBytes` honoured, the query string read as Jetstream's Go servers read it.
//!
//! The server holds a **firehose**: a list of events in the order they happen. A connection
//! without `cursor` is live: it starts at the firehose's head, the first event nobody has seen.
//! A connection with `cursor` replays from the first event that has happened with
//! `time_us >= cursor` (a cursor beyond every event that has happened is live, as Jetstream
//! does). Events happen when a connection first sends them, or while nobody listens (the
//! `missed` count of [`Step::Drop`] and [`Step::Close`]): a client that resumes without a good
//! cursor never sees those.
//!
//! Several **hosts** can serve one firehose ([`JetstreamServer::start_mirror`]): the same events
//! happen on all of them, and each stamps `time_us` with its own clock
//! ([`JetstreamServerConfig::clock_offset_us`]), as Bluesky's hosts do (a host catching up on a
//! backlog stamps late). A cursor replays against the stamps of the host it is sent to. A host
//! can die mid-stream ([`Step::Die`], [`JetstreamServer::die`]).
//!
//! Tests drive connections with a [`Step`] script shared by all connections of a host (drops
//! after N messages, stalls, pings, refused handshakes), then inspect every connection's query
//! string and what was sent.

mod connection;
mod lines;
mod query;
mod subscription;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;

use connection::Connection;
pub use lines::{lines, retimed, shifted, stamped, time_us, with_rkey};
use subscription::{Filter, read_query};

use crate::server::{LocalServer, wait_until};

pub use crate::fixtures::{CONTIGUOUS, GOLDEN_MIXED};

#[derive(Debug, Clone)]
pub struct JetstreamServerConfig {
    /// The firehose, in the order it happens: one JSON event a line, sent as it is (but for
    /// `time_us`, stamped with this host's clock). Empty for a mirror: it serves the firehose of
    /// the host it mirrors.
    pub events: Vec<String>,
    /// What connections do, consumed in order across connections. When it runs out, a
    /// connection sends every event left and then idles, pinging every `ping_interval`.
    pub script: Vec<Step>,
    /// Send only the commits of `wantedCollections` (identity and account events always go), as
    /// Jetstream does; `false` sends every event, to check that a client filters for itself.
    pub filter_collections: bool,
    pub ping_interval: Duration,
    /// How far this host's clock is ahead of the events' own `time_us` (negative: behind). Every
    /// event goes out stamped `time_us + clock_offset_us`, and cursors are read against those
    /// stamps.
    pub clock_offset_us: i64,
    /// Skip events longer than the connection's `maxMessageSizeBytes`, as Jetstream's 2026
    /// server does; `false`: send them anyway, as the original server does (it ignores the
    /// parameter). Raw messages ([`Step::Raw`]) are never skipped.
    pub honour_max_message_size: bool,
}

impl Default for JetstreamServerConfig {
    fn default() -> Self {
        JetstreamServerConfig {
            events: Vec::new(),
            script: Vec::new(),
            filter_collections: true,
            ping_interval: Duration::from_secs(1),
            clock_offset_us: 0,
            honour_max_message_size: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Sends the next `n` events (messages) from this connection's position.
    Events(usize),
    /// Sends a WebSocket ping.
    Ping,
    /// Sends this text message as it is, outside the firehose (a malformed line, a heartbeat).
    Raw(String),
    /// Sends nothing for this long, still answering pings: a quiet stream.
    Pause(Duration),
    /// Sends nothing and reads nothing (so answers no ping) for this long, and carries on: only
    /// the server's own pings, if the script sends them, show the connection is alive.
    Quiet(Duration),
    /// Sends nothing and answers nothing for this long, then drops the connection: a client
    /// should give up first.
    Stall(Duration),
    /// Ends the connection abruptly (no close frame); `missed` events happen before the next
    /// connection.
    Drop { missed: usize },
    /// Ends the connection with a close frame (1011, internal error), as a restarting host does;
    /// `missed` events happen before the next connection.
    Close { missed: usize },
    /// Refuses the next handshake with this HTTP status and body.
    Reject { status: u16, body: String },
    /// The host dies: every open connection drops at once (no close frame) and every later one
    /// is closed before its handshake; `missed` events happen meanwhile (on the firehose, so a
    /// mirror has them).
    Die { missed: usize },
}

impl Step {
    pub fn drop_after(events: usize) -> [Step; 2] {
        [Step::Events(events), Step::Drop { missed: 0 }]
    }
}

/// One handshake, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// The raw query string (`None` without one).
    pub query: Option<String>,
    pub cursor: Option<u64>,
    pub wanted_collections: Vec<String>,
    pub wanted_dids: Vec<String>,
    /// `maxMessageSizeBytes`, when given as a number.
    pub max_message_size_bytes: Option<u64>,
    /// Refused: by a [`Step::Reject`], or for a query the 2026 server refuses.
    pub rejected: bool,
    /// Firehose position the connection started from (after the handshake).
    pub start: Option<usize>,
}

#[derive(Debug, Clone)]
struct FirehoseEvent {
    line: String,
    time_us: Option<u64>,
    did: Option<String>,
    /// The commit's collection; `None` for identity and account events.
    collection: Option<String>,
}

/// The events of the network and how many have happened: shared by every host serving them.
#[derive(Debug)]
struct Firehose {
    events: Vec<FirehoseEvent>,
    /// Events that have happened: `events[..head]`.
    head: usize,
}

impl Firehose {
    fn new(lines: Vec<String>) -> Firehose {
        let events = lines
            .into_iter()
            .map(|line| {
                let head = lines::event_head(&line);
                FirehoseEvent {
                    time_us: head.as_ref().and_then(|h| h.time_us),
                    did: head.as_ref().and_then(|h| h.did.clone()),
                    collection: head.and_then(|h| h.commit).and_then(|c| c.collection),
                    line,
                }
            })
            .collect();
        Firehose { events, head: 0 }
    }

    /// Where a connection with `cursor` starts, on a host whose clock is `offset_us` ahead.
    fn start_of(&self, cursor: Option<u64>, offset_us: i64) -> usize {
        let Some(cursor) = cursor else {
            return self.head;
        };
        self.events[..self.head]
            .iter()
            .position(|e| e.time_us.is_some_and(|t| shifted(t, offset_us) >= cursor))
            .unwrap_or(self.head)
    }
}

/// One host's own record.
struct Ledger {
    script: VecDeque<Step>,
    connections: Vec<ConnectionRecord>,
    /// Index of every event sent, in order, repeats included.
    sent: Vec<usize>,
    open_connections: usize,
    /// Events not sent for being over a connection's `maxMessageSizeBytes`.
    oversized_skipped: usize,
    /// TCP connections closed unanswered because the host was dead.
    attempts_while_dead: usize,
}

struct Shared {
    filter_collections: bool,
    ping_interval: Duration,
    clock_offset_us: i64,
    honour_max_message_size: bool,
    /// Cancelled once the host is dead: by [`Step::Die`], or with the server's shutdown token,
    /// of which it is a child.
    dead: CancellationToken,
    firehose: Arc<Mutex<Firehose>>,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn firehose(&self) -> MutexGuard<'_, Firehose> {
        self.firehose.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn die(&self) {
        self.dead.cancel();
    }

    fn is_dead(&self) -> bool {
        self.dead.is_cancelled()
    }
}

/// A running host; dropping it stops it, open connections included.
pub struct JetstreamServer {
    server: LocalServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JetstreamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetstreamServer")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl JetstreamServer {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: JetstreamServerConfig) -> std::io::Result<JetstreamServer> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts on `addr` (port 0: a free one).
    pub async fn start_on(
        config: JetstreamServerConfig,
        addr: SocketAddr,
    ) -> std::io::Result<JetstreamServer> {
        let firehose = Arc::new(Mutex::new(Firehose::new(config.events.clone())));
        Self::start_host(config, firehose, addr).await
    }

    /// Another host of this server's firehose, on 127.0.0.1 with a free port: the same events
    /// happen on both, each stamped with its host's clock. `config.events` must be empty.
    pub async fn start_mirror(
        &self,
        config: JetstreamServerConfig,
    ) -> std::io::Result<JetstreamServer> {
        if !config.events.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a mirror serves the firehose of the host it mirrors: give it no events",
            ));
        }
        let firehose = Arc::clone(&self.shared.firehose);
        Self::start_host(config, firehose, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    async fn start_host(
        config: JetstreamServerConfig,
        firehose: Arc<Mutex<Firehose>>,
        addr: SocketAddr,
    ) -> std::io::Result<JetstreamServer> {
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            filter_collections: config.filter_collections,
            ping_interval: config.ping_interval.max(Duration::from_millis(1)),
            clock_offset_us: config.clock_offset_us,
            honour_max_message_size: config.honour_max_message_size,
            dead: shutdown.child_token(),
            firehose,
            ledger: Mutex::new(Ledger {
                script: config.script.into(),
                connections: Vec::new(),
                sent: Vec::new(),
                open_connections: 0,
                oversized_skipped: 0,
                attempts_while_dead: 0,
            }),
        });
        let accepting = Arc::clone(&shared);
        // A dead host keeps its port, so that no other server of a parallel test can take it,
        // and closes every connection before the handshake.
        let server = LocalServer::start(addr, shutdown, |listener| async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                if accepting.is_dead() {
                    accepting.ledger().attempts_while_dead += 1;
                    drop(socket);
                    continue;
                }
                tokio::spawn(serve(socket, Arc::clone(&accepting)));
            }
        })
        .await?;
        Ok(JetstreamServer { server, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `ws://127.0.0.1:PORT/subscribe`: the subscription endpoint's WebSocket URL, what
    /// `JETSTREAM_URL` should say.
    pub fn url(&self) -> String {
        format!("ws://{}/subscribe", self.addr())
    }

    /// `127.0.0.1:PORT`: the host as a client names it (in the position it saves), which tells
    /// two hosts of one firehose apart.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    /// Closes every open connection and stops listening; on return the port is free again.
    /// Unlike [`JetstreamServer::die`], nothing is left holding the port.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// Every handshake, refused ones included, in order.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.ledger().connections.clone()
    }

    /// Every event line sent, in order, repeats included, as this host stamped it.
    pub fn sent(&self) -> Vec<String> {
        let ledger = self.shared.ledger();
        let firehose = self.shared.firehose();
        ledger
            .sent
            .iter()
            .map(|i| stamped(&firehose.events[*i].line, self.shared.clock_offset_us))
            .collect()
    }

    /// The events that have happened so far, in order, as this host stamps them: what a client
    /// that loses nothing must have seen (filtered by its collections).
    pub fn happened(&self) -> Vec<String> {
        let firehose = self.shared.firehose();
        firehose.events[..firehose.head]
            .iter()
            .map(|e| stamped(&e.line, self.shared.clock_offset_us))
            .collect()
    }

    /// Every step consumed and every event happened.
    pub fn finished(&self) -> bool {
        let script_done = self.shared.ledger().script.is_empty();
        let firehose = self.shared.firehose();
        script_done && firehose.head == firehose.events.len()
    }

    /// Waits until [`JetstreamServer::finished`]; `false` if it is not after `timeout`.
    pub async fn wait_until_finished(&self, timeout: Duration) -> bool {
        wait_until(|| self.finished(), timeout).await
    }

    /// `n` more events happen now, whoever listens: as while a client is stopped.
    pub fn advance(&self, n: usize) {
        let mut firehose = self.shared.firehose();
        firehose.head = (firehose.head + n).min(firehose.events.len());
    }

    /// The host dies now, as [`Step::Die`] with nothing missed.
    pub fn die(&self) {
        self.shared.die();
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.ledger().open_connections
    }

    /// Connections tried (and closed unanswered) since the host died.
    pub fn attempts_while_dead(&self) -> usize {
        self.shared.ledger().attempts_while_dead
    }

    /// Events left unsent for being over a connection's `maxMessageSizeBytes`.
    pub fn oversized_skipped(&self) -> usize {
        self.shared.ledger().oversized_skipped
    }
}

/// One TCP connection: the handshake (maybe refused by the script), then the script.
// The handshake callback's error type is tungstenite's HTTP response: not ours to shrink.
#[allow(clippy::result_large_err)]
async fn serve(socket: TcpStream, shared: Arc<Shared>) {
    let record_shared = Arc::clone(&shared);
    let index = Arc::new(Mutex::new(None::<usize>));
    let index_in_callback = Arc::clone(&index);
    let callback = move |request: &Request, response: Response| {
        let query = request.uri().query();
        let mut ledger = record_shared.ledger();
        let mut record = match read_query(query) {
            Ok(record) => record,
            Err(reason) => {
                ledger.connections.push(ConnectionRecord {
                    query: query.map(str::to_owned),
                    cursor: None,
                    wanted_collections: Vec::new(),
                    wanted_dids: Vec::new(),
                    max_message_size_bytes: None,
                    rejected: true,
                    start: None,
                });
                return Err(error_response(400, &reason));
            }
        };
        if request.uri().path() != "/subscribe" {
            record.rejected = true;
            ledger.connections.push(record);
            return Err(error_response(404, "{\"error\":\"not found\"}"));
        }
        if let Some(Step::Reject { .. }) = ledger.script.front()
            && let Some(Step::Reject { status, body }) = ledger.script.pop_front()
        {
            record.rejected = true;
            ledger.connections.push(record);
            return Err(error_response(status, &body));
        }
        ledger.connections.push(record);
        *index_in_callback
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(ledger.connections.len() - 1);
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(socket, callback).await else {
        return;
    };
    let Some(index) = *index.lock().unwrap_or_else(PoisonError::into_inner) else {
        return;
    };
    let mut connection = Connection::open(socket, Arc::clone(&shared), index);
    let dead = shared.dead.clone();
    tokio::select! {
        () = dead.cancelled() => {}
        () = connection.run() => {}
    }
    shared.ledger().open_connections -= 1;
}

fn error_response(status: u16, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(time_us: u64) -> String {
        format!(r#"{{"did":"did:plc:a","time_us":{time_us},"kind":"identity"}}"#)
    }

    #[test]
    fn a_cursor_replays_from_the_first_event_at_or_after_it_on_the_hosts_clock() {
        let mut firehose = Firehose::new([10, 30, 20, 40].map(event).to_vec());
        firehose.head = 4;
        assert_eq!(firehose.start_of(Some(5), 0), 0);
        assert_eq!(firehose.start_of(Some(25), 0), 1);
        assert_eq!(firehose.start_of(Some(40), 0), 3);
        assert_eq!(firehose.start_of(Some(41), 0), 4, "a future cursor is live");
        assert_eq!(firehose.start_of(None, 0), 4);
        // A host 15 ahead stamps 25, 45, 35, 55.
        assert_eq!(firehose.start_of(Some(40), 15), 1);
        assert_eq!(firehose.start_of(Some(55), 15), 3);
        // A host 15 behind stamps 0 (not -5), 15, 5, 25.
        assert_eq!(firehose.start_of(Some(10), -15), 1);
        firehose.head = 2;
        assert_eq!(
            firehose.start_of(Some(35), 0),
            2,
            "only events that happened replay"
        );
    }

    #[test]
    fn the_fixtures_are_bundled() {
        assert_eq!(lines(GOLDEN_MIXED).len(), 10);
        assert_eq!(lines(CONTIGUOUS).len(), 152);
    }
}
