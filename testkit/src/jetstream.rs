//! A local server speaking Bluesky's Jetstream protocol: `GET /subscribe` upgraded to a
//! WebSocket, one JSON event per text message, `wantedCollections` and `cursor` honoured.
//!
//! The server holds a **firehose**: a list of events in the order they happen. A connection
//! without `cursor` is live: it starts at the firehose's head, the first event nobody has seen.
//! A connection with `cursor` replays from the first event that has happened with
//! `time_us >= cursor` (a cursor beyond every event that has happened is live, as Jetstream
//! does). Events happen when a connection first sends them, or while nobody listens (the
//! `missed` count of [`Step::Drop`] and [`Step::Close`]): a client that resumes without a good
//! cursor never sees those.
//!
//! Tests drive connections with a [`Step`] script shared by all connections (drops after N
//! messages, stalls, pings, refused handshakes), then inspect every connection's query string
//! and what was sent.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub use crate::fixtures::{CONTIGUOUS, GOLDEN_MIXED};

#[derive(Debug, Clone)]
pub struct JetstreamServerConfig {
    /// The firehose, in the order it happens: one JSON event a line, sent as it is.
    pub events: Vec<String>,
    /// What connections do, consumed in order across connections. When it runs out, a
    /// connection sends every event left and then idles, pinging every `ping_interval`.
    pub script: Vec<Step>,
    /// Send only the commits of `wantedCollections` (identity and account events always go), as
    /// Jetstream does; `false` sends every event, to check that a client filters for itself.
    pub filter_collections: bool,
    pub ping_interval: Duration,
}

impl Default for JetstreamServerConfig {
    fn default() -> Self {
        JetstreamServerConfig {
            events: Vec::new(),
            script: Vec::new(),
            filter_collections: true,
            ping_interval: Duration::from_secs(1),
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
    /// Refused by a [`Step::Reject`].
    pub rejected: bool,
    /// Firehose position the connection started from (after the handshake).
    pub start: Option<usize>,
}

#[derive(Debug, Clone)]
struct FirehoseEvent {
    line: String,
    time_us: Option<u64>,
    /// The commit's collection; `None` for identity and account events.
    collection: Option<String>,
}

struct Ledger {
    events: Vec<FirehoseEvent>,
    /// Events that have happened: `events[..head]`.
    head: usize,
    script: VecDeque<Step>,
    connections: Vec<ConnectionRecord>,
    /// Index of every event sent, in order, repeats included.
    sent: Vec<usize>,
    open_connections: usize,
}

impl Ledger {
    fn start_of(&self, cursor: Option<u64>) -> usize {
        let Some(cursor) = cursor else {
            return self.head;
        };
        self.events[..self.head]
            .iter()
            .position(|e| e.time_us.is_some_and(|t| t >= cursor))
            .unwrap_or(self.head)
    }
}

struct Shared {
    filter_collections: bool,
    ping_interval: Duration,
    shutdown: watch::Receiver<()>,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running server; dropping it stops it, open connections included.
pub struct JetstreamServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    _shutdown: watch::Sender<()>,
}

impl std::fmt::Debug for JetstreamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetstreamServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for JetstreamServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl JetstreamServer {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: JetstreamServerConfig) -> std::io::Result<JetstreamServer> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    pub async fn start_on(
        config: JetstreamServerConfig,
        addr: SocketAddr,
    ) -> std::io::Result<JetstreamServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let events = config
            .events
            .into_iter()
            .map(|line| {
                let head = event_head(&line);
                FirehoseEvent {
                    time_us: head.as_ref().and_then(|h| h.time_us),
                    collection: head.and_then(|h| h.commit).and_then(|c| c.collection),
                    line,
                }
            })
            .collect();
        let shared = Arc::new(Shared {
            filter_collections: config.filter_collections,
            ping_interval: config.ping_interval.max(Duration::from_millis(1)),
            shutdown: shutdown_rx,
            ledger: Mutex::new(Ledger {
                events,
                head: 0,
                script: config.script.into(),
                connections: Vec::new(),
                sent: Vec::new(),
                open_connections: 0,
            }),
        });
        let accepting = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(socket, Arc::clone(&accepting)));
            }
        });
        Ok(JetstreamServer {
            addr,
            shared,
            task,
            _shutdown: shutdown_tx,
        })
    }

    /// `ws://127.0.0.1:PORT/subscribe`: what `JETSTREAM_URL` should say.
    pub fn url(&self) -> String {
        format!("ws://{}/subscribe", self.addr)
    }

    /// Every handshake, refused ones included, in order.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.ledger().connections.clone()
    }

    /// Every event line sent, in order, repeats included.
    pub fn sent(&self) -> Vec<String> {
        let ledger = self.shared.ledger();
        ledger
            .sent
            .iter()
            .map(|i| ledger.events[*i].line.clone())
            .collect()
    }

    /// The events that have happened so far, in order: what a client that loses nothing must
    /// have seen (filtered by its collections).
    pub fn happened(&self) -> Vec<String> {
        let ledger = self.shared.ledger();
        ledger.events[..ledger.head]
            .iter()
            .map(|e| e.line.clone())
            .collect()
    }

    /// Every step consumed and every event happened.
    pub fn finished(&self) -> bool {
        let ledger = self.shared.ledger();
        ledger.script.is_empty() && ledger.head == ledger.events.len()
    }

    pub async fn wait_until_finished(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.finished() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// `n` more events happen now, whoever listens: as while a client is stopped.
    pub fn advance(&self, n: usize) {
        let mut ledger = self.shared.ledger();
        ledger.head = (ledger.head + n).min(ledger.events.len());
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.ledger().open_connections
    }
}

#[derive(Deserialize)]
struct EventHead {
    time_us: Option<u64>,
    commit: Option<CommitHead>,
}

#[derive(Deserialize)]
struct CommitHead {
    collection: Option<String>,
}

fn event_head(line: &str) -> Option<EventHead> {
    serde_json::from_str(line).ok()
}

/// The `time_us` of an event line.
pub fn time_us(line: &str) -> Option<u64> {
    event_head(line)?.time_us
}

/// Replaces the first `"<key>":<old>` (a number) with `new`; every other byte stays.
fn replace_number(line: &str, key: &str, new: u64) -> String {
    let pattern = format!("\"{key}\":");
    let Some(at) = line.find(&pattern) else {
        return line.to_owned();
    };
    let start = at + pattern.len();
    let end = start
        + line[start..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(line.len() - start);
    format!("{}{new}{}", &line[..start], &line[end..])
}

/// The events with `time_us` rewritten to `start_us`, `start_us + step_us`, ...: the fixtures'
/// times are milliseconds apart, too close for a cursor margin of seconds to mean anything.
pub fn retimed(lines: &[String], start_us: u64, step_us: u64) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| replace_number(line, "time_us", start_us + step_us * i as u64))
        .collect()
}

/// The event with its commit's `rkey` replaced: a new post from an old one.
pub fn with_rkey(line: &str, rkey: &str) -> String {
    let pattern = "\"rkey\":\"";
    let Some(at) = line.find(pattern) else {
        return line.to_owned();
    };
    let start = at + pattern.len();
    let Some(len) = line[start..].find('"') else {
        return line.to_owned();
    };
    format!("{}{rkey}{}", &line[..start], &line[start + len..])
}

/// The non-empty lines of a fixture file.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn query_values(query: Option<&str>, name: &str) -> Vec<String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.replace("%2E", ".").replace("%2e", "."))
        .collect()
}

/// One TCP connection: the handshake (maybe refused by the script), then the script.
// The handshake callback's error type is tungstenite's HTTP response: not ours to shrink.
#[allow(clippy::result_large_err)]
async fn serve(socket: TcpStream, shared: Arc<Shared>) {
    let record_shared = Arc::clone(&shared);
    let index = Arc::new(Mutex::new(None::<usize>));
    let index_in_callback = Arc::clone(&index);
    let callback = move |request: &Request, response: Response| {
        let query = request.uri().query().map(str::to_owned);
        let mut ledger = record_shared.ledger();
        let mut record = ConnectionRecord {
            cursor: query_values(query.as_deref(), "cursor")
                .first()
                .and_then(|c| c.parse().ok()),
            wanted_collections: query_values(query.as_deref(), "wantedCollections"),
            query,
            rejected: false,
            start: None,
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
    let mut shutdown = shared.shutdown.clone();
    tokio::select! {
        _ = shutdown.changed() => {}
        () = connection.run() => {}
    }
    shared.ledger().open_connections -= 1;
}

fn error_response(status: u16, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

struct Connection {
    socket: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    position: usize,
    wanted: Vec<String>,
}

enum Action {
    Send(usize),
    Steps(Step),
    Idle,
}

impl Connection {
    fn open(socket: WebSocketStream<TcpStream>, shared: Arc<Shared>, index: usize) -> Connection {
        let mut ledger = shared.ledger();
        ledger.open_connections += 1;
        let cursor = ledger.connections[index].cursor;
        let position = ledger.start_of(cursor);
        ledger.connections[index].start = Some(position);
        let wanted = if shared.filter_collections {
            ledger.connections[index].wanted_collections.clone()
        } else {
            Vec::new()
        };
        drop(ledger);
        Connection {
            socket,
            shared,
            position,
            wanted,
        }
    }

    fn wanted(&self, event: &FirehoseEvent) -> bool {
        match &event.collection {
            Some(collection) => self.wanted.is_empty() || self.wanted.contains(collection),
            None => true,
        }
    }

    /// The next `limit` events this connection sends (skipping unwanted ones), marking them
    /// happened and sent under one lock.
    fn take_events(&mut self, limit: usize) -> Vec<String> {
        let mut ledger = self.shared.ledger();
        let mut lines = Vec::new();
        while lines.len() < limit && self.position < ledger.events.len() {
            let i = self.position;
            self.position += 1;
            ledger.head = ledger.head.max(i + 1);
            if self.wanted(&ledger.events[i]) {
                ledger.sent.push(i);
                lines.push(ledger.events[i].line.clone());
            }
        }
        lines
    }

    fn next_action(&mut self) -> Action {
        let mut ledger = self.shared.ledger();
        match ledger.script.pop_front() {
            Some(Step::Events(n)) => Action::Send(n),
            // A refusal is for the next handshake: leave it there and end this connection.
            Some(step @ Step::Reject { .. }) => {
                ledger.script.push_front(step);
                Action::Steps(Step::Drop { missed: 0 })
            }
            Some(step) => Action::Steps(step),
            None => Action::Idle,
        }
    }

    fn miss(&mut self, missed: usize) {
        let mut ledger = self.shared.ledger();
        let from = ledger.head.max(self.position);
        ledger.head = (from + missed).min(ledger.events.len());
    }

    async fn send_text(&mut self, line: String) -> bool {
        self.socket.send(Message::text(line)).await.is_ok()
    }

    /// Reads (answering pings) for `duration`; false when the client went away.
    async fn listen(&mut self, duration: Duration) -> bool {
        let until = tokio::time::Instant::now() + duration;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                message = self.socket.next() => match message {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    async fn run(&mut self) {
        loop {
            match self.next_action() {
                Action::Send(n) => {
                    let mut remaining = n;
                    while remaining > 0 {
                        let lines = self.take_events(remaining.min(64));
                        if lines.is_empty() {
                            break;
                        }
                        remaining -= lines.len();
                        for line in lines {
                            if !self.send_text(line).await {
                                return;
                            }
                        }
                    }
                }
                Action::Steps(Step::Ping) => {
                    if self
                        .socket
                        .send(Message::Ping(Default::default()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Action::Steps(Step::Raw(text)) => {
                    if !self.send_text(text).await {
                        return;
                    }
                }
                Action::Steps(Step::Pause(duration)) => {
                    if !self.listen(duration).await {
                        return;
                    }
                }
                Action::Steps(Step::Quiet(duration)) => tokio::time::sleep(duration).await,
                Action::Steps(Step::Stall(duration)) => {
                    tokio::time::sleep(duration).await;
                    return;
                }
                Action::Steps(Step::Drop { missed }) => {
                    self.miss(missed);
                    return;
                }
                Action::Steps(Step::Close { missed }) => {
                    self.miss(missed);
                    let frame = CloseFrame {
                        code: CloseCode::Error,
                        reason: "restarting".into(),
                    };
                    let _ = self.socket.close(Some(frame)).await;
                    return;
                }
                Action::Steps(Step::Events(_) | Step::Reject { .. }) => {}
                Action::Idle => {
                    let lines = self.take_events(64);
                    if !lines.is_empty() {
                        for line in lines {
                            if !self.send_text(line).await {
                                return;
                            }
                        }
                        continue;
                    }
                    let interval = self.shared.ping_interval;
                    if !self.listen(interval).await {
                        return;
                    }
                    if self
                        .socket
                        .send(Message::Ping(Default::default()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retiming_and_new_rkeys_change_only_those_bytes() {
        let line = r#"{"did":"did:plc:a","time_us":1783175888090631,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"3mmo","record":{"text":"x"}}}"#;
        let retimed = retimed(&[line.to_owned(), line.to_owned()], 5_000_000, 1_000_000);
        assert_eq!(retimed[0], line.replace("1783175888090631", "5000000"));
        assert_eq!(time_us(&retimed[1]), Some(6_000_000));
        assert_eq!(with_rkey(line, "new1"), line.replace("3mmo", "new1"));
        let identity = r#"{"did":"did:plc:a","time_us":7,"kind":"identity"}"#;
        assert_eq!(with_rkey(identity, "x"), identity);
    }

    #[test]
    fn a_cursor_replays_from_the_first_event_at_or_after_it() {
        let events: Vec<FirehoseEvent> = [10, 30, 20, 40]
            .iter()
            .map(|t| FirehoseEvent {
                line: String::new(),
                time_us: Some(*t),
                collection: None,
            })
            .collect();
        let mut ledger = Ledger {
            events,
            head: 4,
            script: VecDeque::new(),
            connections: Vec::new(),
            sent: Vec::new(),
            open_connections: 0,
        };
        assert_eq!(ledger.start_of(Some(5)), 0);
        assert_eq!(ledger.start_of(Some(25)), 1);
        assert_eq!(ledger.start_of(Some(40)), 3);
        assert_eq!(ledger.start_of(Some(41)), 4, "a future cursor is live");
        assert_eq!(ledger.start_of(None), 4);
        ledger.head = 2;
        assert_eq!(
            ledger.start_of(Some(35)),
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
