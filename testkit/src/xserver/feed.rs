//! What one stream connection writes: the script's steps, and in paced mode posts at X's own
//! rate into a bounded buffer that a slow reader loses.
//!
//! Scripted (the default): posts go out as fast as the client reads them, coalesced into large
//! chunks. Paced ([`Pace`]): X writes at its own pace, one post per write, whatever the reader
//! does; posts wait in a server-side buffer, and a connection whose reader has not taken data
//! for `slow_reader_timeout` is dropped, losing what was buffered ("when this buffer is full,
//! the connection will be dropped and buffered Posts will be lost", X's
//! consuming-streaming-data guide). A line counts as delivered only once it was handed to the
//! connection (the HTTP server took it to write to the socket).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Step;
use super::answers::OPERATIONAL_DISCONNECT;
use super::connections::ConnCtl;
use super::lines::rewrite_matching_rules;
use super::shared::{Ledger, Shared};

/// Coalescing posts into chunks this big keeps a 100k-post benchmark from being bound by
/// per-chunk overhead.
const CHUNK_BYTES: usize = 64 * 1024;

/// How long a paced connection's reader may take nothing before it is dropped, unless set.
pub const DEFAULT_SLOW_READER_TIMEOUT: Duration = Duration::from_secs(5);

/// X's pace: the script's posts are written at this rate per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// X's cap per connection is 250.
    pub posts_per_second: u32,
    /// A reader that took nothing for this long while posts waited is dropped.
    pub slow_reader_timeout: Duration,
}

impl Pace {
    pub fn per_second(posts_per_second: u32) -> Pace {
        Pace {
            posts_per_second: posts_per_second.max(1),
            slow_reader_timeout: DEFAULT_SLOW_READER_TIMEOUT,
        }
    }

    pub fn with_slow_reader_timeout(self, slow_reader_timeout: Duration) -> Pace {
        Pace {
            slow_reader_timeout,
            ..self
        }
    }

    fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.posts_per_second.max(1)))
    }
}

/// What reached clients, and what was lost on the way.
pub(super) struct Delivery {
    keep_lines: bool,
    pub lines: Vec<String>,
    pub count: usize,
    /// Paced posts taken from the script and not yet handed to a connection.
    pub in_flight: usize,
    pub lost: Vec<String>,
    pub lost_count: usize,
    pub slow_reader_drops: usize,
}

impl Delivery {
    pub fn new(keep_lines: bool) -> Delivery {
        Delivery {
            keep_lines,
            lines: Vec::new(),
            count: 0,
            in_flight: 0,
            lost: Vec::new(),
            lost_count: 0,
            slow_reader_drops: 0,
        }
    }

    fn append(&mut self, chunk: &mut Vec<u8>, line: String) {
        chunk.extend_from_slice(line.as_bytes());
        chunk.extend_from_slice(b"\r\n");
        self.count += 1;
        if self.keep_lines {
            self.lines.push(line);
        }
    }

    /// Paced posts that will never reach a client.
    fn lose(&mut self, lines: Vec<String>) {
        self.in_flight -= lines.len();
        self.lost_count += lines.len();
        if self.keep_lines {
            self.lost.extend(lines);
        }
    }
}

/// One connection's stream body.
pub(super) struct Feed {
    shared: Arc<Shared>,
    slot: u64,
    ctl: Arc<ConnCtl>,
    /// The server ended this stream (as opposed to the client going away).
    ended: bool,
    paced: Option<Paced>,
}

struct Paced {
    buffer: Arc<PacedBuffer>,
    pacer: JoinHandle<()>,
}

enum Next {
    Chunk(Vec<u8>),
    Last(Vec<u8>),
    End,
    Pause(Duration),
    Stall(Duration),
    Idle,
}

enum Polled {
    Chunk(Option<Bytes>),
    Killed,
    ServerGone,
}

impl Feed {
    pub fn new(shared: Arc<Shared>, slot: u64, ctl: Arc<ConnCtl>, pace: Option<Pace>) -> Feed {
        let paced = pace.map(|pace| {
            let buffer = Arc::new(PacedBuffer::default());
            let pacer = tokio::spawn(release_posts(
                Arc::clone(&shared),
                Arc::clone(&buffer),
                Arc::clone(&ctl),
                pace,
            ));
            Paced { buffer, pacer }
        });
        Feed {
            shared,
            slot,
            ctl,
            ended: false,
            paced,
        }
    }

    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        let ctl = Arc::clone(&self.ctl);
        let shutdown = self.shared.shutdown.clone();
        let polled = tokio::select! {
            biased;
            // Only fires when the XServer shuts down or is dropped.
            () = shutdown.cancelled() => Polled::ServerGone,
            () = ctl.killed() => Polled::Killed,
            chunk = self.produce() => Polled::Chunk(chunk),
        };
        match polled {
            Polled::Chunk(chunk) => chunk,
            Polled::Killed => {
                tracing::info!("stream: connection ended by the Connections API");
                self.ended = true;
                None
            }
            Polled::ServerGone => None,
        }
    }

    async fn produce(&mut self) -> Option<Bytes> {
        while !self.ended {
            if let Some(paced) = &self.paced {
                if paced.buffer.is_dropped() {
                    self.ended = true;
                    break;
                }
                if let Some(line) = paced.buffer.take() {
                    let mut chunk = Vec::with_capacity(line.len() + 2);
                    let mut ledger = self.shared.ledger();
                    ledger.delivery.in_flight -= 1;
                    ledger.delivery.append(&mut chunk, line);
                    return Some(chunk.into());
                }
            }
            match self.take() {
                Next::Chunk(bytes) => return Some(bytes.into()),
                Next::Last(bytes) => {
                    self.ended = true;
                    return Some(bytes.into());
                }
                Next::End => self.ended = true,
                Next::Pause(pause) => tokio::time::sleep(pause).await,
                Next::Stall(stall) => {
                    tokio::time::sleep(stall).await;
                    self.ended = true;
                }
                Next::Idle => {
                    let keepalive = tokio::time::sleep(self.shared.keepalive_interval);
                    match &self.paced {
                        Some(paced) => tokio::select! {
                            () = paced.buffer.arrived.notified() => continue,
                            () = keepalive => return Some(Bytes::from_static(b"\r\n")),
                        },
                        None => {
                            keepalive.await;
                            return Some(Bytes::from_static(b"\r\n"));
                        }
                    }
                }
            }
        }
        None
    }

    /// Consumes steps under one lock, so a line is logged as delivered in the same critical
    /// section that removes it from the script (`wait_until_finished` then `delivered` never
    /// sees a gap), and nothing is taken across an `.await` a dropped body could lose. Paced,
    /// posts are the pacer's: this handles only what comes between them.
    fn take(&mut self) -> Next {
        let paced = self.paced.is_some();
        let mut ledger = self.shared.ledger();
        // Posts the pacer released go out first, in order.
        if paced && ledger.delivery.in_flight > 0 {
            return Next::Idle;
        }
        let rules = ledger.rules.rules.clone();
        let mut chunk = Vec::new();
        if let Some(line) = ledger.resend.take() {
            ledger.delivery.append(&mut chunk, line);
        }
        while chunk.len() < CHUNK_BYTES {
            let Some(step) = ledger.script.pop_front() else {
                break;
            };
            match step {
                Step::Post(line) if paced => {
                    ledger.script.push_front(Step::Post(line));
                    break;
                }
                Step::Post(line) => {
                    let line = rewrite_matching_rules(&line, &rules);
                    ledger.delivery.append(&mut chunk, line);
                }
                Step::KeepAlive => chunk.extend_from_slice(b"\r\n"),
                Step::Raw(bytes) => chunk.extend_from_slice(&bytes),
                control if !chunk.is_empty() => {
                    ledger.script.push_front(control);
                    break;
                }
                step => return control_step(&mut ledger, step, &rules),
            }
        }
        if chunk.is_empty() {
            Next::Idle
        } else {
            Next::Chunk(chunk)
        }
    }
}

/// A step that ends or pauses the connection.
fn control_step(ledger: &mut Ledger, step: Step, rules: &[super::Rule]) -> Next {
    match step {
        Step::Drop => Next::End,
        Step::DropMidLine(line) => {
            let line = rewrite_matching_rules(&line, rules);
            let half = line.as_bytes()[..line.len() / 2].to_vec();
            ledger.resend = Some(line);
            Next::Last(half)
        }
        Step::OperationalDisconnect => {
            Next::Last(format!("{OPERATIONAL_DISCONNECT}\r\n").into_bytes())
        }
        Step::Stall(stall) => Next::Stall(stall),
        Step::Pause(pause) => Next::Pause(pause),
        Step::FlapForever => {
            ledger.script.push_front(Step::FlapForever);
            Next::Last(b"\r\n".to_vec())
        }
        // Answers for a connection attempt: this connection ends and leaves it to the next.
        attempt @ (Step::Reject { .. } | Step::HangBeforeHeaders(_)) => {
            ledger.script.push_front(attempt);
            Next::End
        }
        Step::Post(_) | Step::KeepAlive | Step::Raw(_) => Next::Idle,
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let lost = match &self.paced {
            Some(paced) => {
                paced.pacer.abort();
                paced.buffer.close()
            }
            None => Vec::new(),
        };
        let mut ledger = self.shared.ledger();
        if !lost.is_empty() {
            tracing::info!(
                lost = lost.len(),
                "stream: buffered posts lost with the connection"
            );
        }
        ledger.delivery.lose(lost);
        ledger.slots.close(self.slot, !self.ended);
        tracing::info!("stream: connection closed");
    }
}

/// Paced posts released for one connection and not yet handed to it.
#[derive(Default)]
struct PacedBuffer {
    state: Mutex<BufferState>,
    arrived: Notify,
}

#[derive(Default)]
struct BufferState {
    lines: VecDeque<String>,
    /// Since when posts have waited with nothing taken.
    waiting_since: Option<Instant>,
    /// No more posts: the connection was dropped or is closing.
    closed: bool,
    /// Dropped for a slow reader: the stream ends.
    dropped: bool,
}

impl PacedBuffer {
    fn state(&self) -> std::sync::MutexGuard<'_, BufferState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err` gives the line back when the connection is closing.
    fn push(&self, line: String, now: Instant) -> Result<(), String> {
        let mut state = self.state();
        if state.closed {
            return Err(line);
        }
        state.lines.push_back(line);
        state.waiting_since.get_or_insert(now);
        drop(state);
        self.arrived.notify_one();
        Ok(())
    }

    fn take(&self) -> Option<String> {
        let mut state = self.state();
        let line = state.lines.pop_front()?;
        state.waiting_since = (!state.lines.is_empty()).then(Instant::now);
        Some(line)
    }

    fn stuck_for(&self, now: Instant) -> Duration {
        self.state()
            .waiting_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    fn is_dropped(&self) -> bool {
        self.state().dropped
    }

    /// Closes the buffer; returns what it held.
    fn close(&self) -> Vec<String> {
        let mut state = self.state();
        state.closed = true;
        state.waiting_since = None;
        state.lines.drain(..).collect()
    }

    fn drop_slow_reader(&self) -> Vec<String> {
        let lost = self.close();
        self.state().dropped = true;
        self.arrived.notify_one();
        lost
    }
}

/// Moves the script's posts into the connection's buffer at X's pace, and drops the connection
/// when its reader falls behind.
async fn release_posts(
    shared: Arc<Shared>,
    buffer: Arc<PacedBuffer>,
    ctl: Arc<ConnCtl>,
    pace: Pace,
) {
    let mut ticker = tokio::time::interval(pace.period());
    // A late tick is made up at once: X's pace does not slow down for a busy server.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        ticker.tick().await;
        if ctl.is_killed() {
            return;
        }
        let now = Instant::now();
        if buffer.stuck_for(now) > pace.slow_reader_timeout {
            let lost = buffer.drop_slow_reader();
            let mut ledger = shared.ledger();
            ledger.delivery.slow_reader_drops += 1;
            tracing::info!(
                lost = lost.len(),
                "stream: reader took nothing for the slow-reader timeout; connection dropped"
            );
            ledger.delivery.lose(lost);
            return;
        }
        let line = {
            let mut ledger = shared.ledger();
            // A cut line owed to this connection goes first, through the body.
            if ledger.resend.is_some() || !matches!(ledger.script.front(), Some(Step::Post(_))) {
                None
            } else if let Some(Step::Post(line)) = ledger.script.pop_front() {
                ledger.delivery.in_flight += 1;
                Some(rewrite_matching_rules(&line, &ledger.rules.rules))
            } else {
                None
            }
        };
        if let Some(line) = line
            && let Err(line) = buffer.push(line, now)
        {
            shared.ledger().delivery.lose(vec![line]);
            return;
        }
    }
}
