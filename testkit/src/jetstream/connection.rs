//! One accepted WebSocket: the host's script played on it, events sent from its position.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Filter, Shared, Step, stamped};

pub(super) struct Connection {
    socket: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    position: usize,
    filter: Filter,
}

enum Action {
    Send(usize),
    Steps(Step),
    Idle,
}

impl Connection {
    pub(super) fn open(
        socket: WebSocketStream<TcpStream>,
        shared: Arc<Shared>,
        index: usize,
    ) -> Connection {
        let mut ledger = shared.ledger();
        ledger.open_connections += 1;
        let record = &ledger.connections[index];
        let cursor = record.cursor;
        let filter = Filter {
            collections: if shared.filter_collections {
                record.wanted_collections.clone()
            } else {
                Vec::new()
            },
            dids: record.wanted_dids.iter().cloned().collect::<HashSet<_>>(),
            max_bytes: record
                .max_message_size_bytes
                .filter(|_| shared.honour_max_message_size),
        };
        let position = shared.firehose().start_of(cursor, shared.clock_offset_us);
        ledger.connections[index].start = Some(position);
        drop(ledger);
        Connection {
            socket,
            shared,
            position,
            filter,
        }
    }

    /// The next `limit` events this connection sends (skipping unwanted ones), stamped with the
    /// host's clock, marking them happened and sent.
    fn take_events(&mut self, limit: usize) -> Vec<String> {
        let mut ledger = self.shared.ledger();
        let mut firehose = self.shared.firehose();
        let mut lines = Vec::new();
        while lines.len() < limit && self.position < firehose.events.len() {
            let i = self.position;
            self.position += 1;
            firehose.head = firehose.head.max(i + 1);
            let event = &firehose.events[i];
            if !self.filter.wants(event) {
                continue;
            }
            let line = stamped(&event.line, self.shared.clock_offset_us);
            if self.filter.too_big(&line) {
                ledger.oversized_skipped += 1;
                continue;
            }
            ledger.sent.push(i);
            lines.push(line);
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
        let mut firehose = self.shared.firehose();
        let from = firehose.head.max(self.position);
        firehose.head = (from + missed).min(firehose.events.len());
    }

    async fn send_text(&mut self, line: String) -> bool {
        self.socket.send(Message::text(line)).await.is_ok()
    }

    async fn send_lines(&mut self, lines: Vec<String>) -> bool {
        for line in lines {
            if !self.send_text(line).await {
                return false;
            }
        }
        true
    }

    async fn ping(&mut self) -> bool {
        self.socket
            .send(Message::Ping(Default::default()))
            .await
            .is_ok()
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

    pub(super) async fn run(&mut self) {
        loop {
            let carry_on = match self.next_action() {
                Action::Send(n) => {
                    let mut remaining = n;
                    let mut ok = true;
                    while remaining > 0 && ok {
                        let lines = self.take_events(remaining.min(64));
                        if lines.is_empty() {
                            break;
                        }
                        remaining -= lines.len();
                        ok = self.send_lines(lines).await;
                    }
                    ok
                }
                Action::Steps(Step::Ping) => self.ping().await,
                Action::Steps(Step::Raw(text)) => self.send_text(text).await,
                Action::Steps(Step::Pause(duration)) => self.listen(duration).await,
                Action::Steps(Step::Quiet(duration)) => {
                    tokio::time::sleep(duration).await;
                    true
                }
                Action::Steps(Step::Stall(duration)) => {
                    tokio::time::sleep(duration).await;
                    false
                }
                Action::Steps(Step::Drop { missed }) => {
                    self.miss(missed);
                    false
                }
                Action::Steps(Step::Close { missed }) => {
                    self.miss(missed);
                    let frame = CloseFrame {
                        code: CloseCode::Error,
                        reason: "restarting".into(),
                    };
                    let _ = self.socket.close(Some(frame)).await;
                    false
                }
                Action::Steps(Step::Die { missed }) => {
                    self.miss(missed);
                    self.shared.die();
                    false
                }
                Action::Steps(Step::Events(_) | Step::Reject { .. }) => true,
                Action::Idle => {
                    let lines = self.take_events(64);
                    if lines.is_empty() {
                        let interval = self.shared.ping_interval;
                        self.listen(interval).await && self.ping().await
                    } else {
                        self.send_lines(lines).await
                    }
                }
            };
            if !carry_on {
                return;
            }
        }
    }
}
