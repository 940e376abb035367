//! The app's stream connections: one slot (pay-per-use and Pro allow one connection), which a
//! stale connection can hold after a client crashed, and the Connections API that ends them
//! (`DELETE /2/connections/filtered_stream`, `DELETE /2/connections/all`, `GET /2/connections`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::answers::{now, unauthorized};
use super::shared::Shared;

/// Connections one app may hold on the filtered stream below Enterprise.
const MAX_CONNECTIONS: usize = 1;

/// How the server tells one live connection to end.
#[derive(Debug, Default)]
pub(super) struct ConnCtl {
    killed: AtomicBool,
    notify: Notify,
}

impl ConnCtl {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Resolves once [`ConnCtl::kill`] was called.
    pub async fn killed(&self) {
        while !self.is_killed() {
            self.notify.notified().await;
        }
    }
}

struct Slot {
    id: u64,
    uuid: String,
    connected_at: String,
    /// `None`: stale, no client behind it, held until the Connections API ends it.
    live: Option<Arc<ConnCtl>>,
}

#[derive(Default)]
pub(super) struct Slots {
    entries: Vec<Slot>,
    next_id: u64,
    /// A client that vanished without the server ending its stream leaves a stale connection
    /// (as after a crash: X does not notice at once).
    pub keep_vanished: bool,
    /// Calls to the Connections API's DELETE endpoints.
    pub deletes: usize,
    /// Connects answered 429 `TooManyConnections`.
    pub too_many: usize,
}

impl Slots {
    pub fn full(&self) -> bool {
        self.entries.len() >= MAX_CONNECTIONS
    }

    pub fn open(&mut self) -> (u64, Arc<ConnCtl>) {
        let ctl = Arc::new(ConnCtl::default());
        let id = self.push(Some(Arc::clone(&ctl)));
        (id, ctl)
    }

    /// The stream of connection `id` is over: by the server (`vanished: false`) or because its
    /// client went away.
    pub fn close(&mut self, id: u64, vanished: bool) {
        let keep = vanished && self.keep_vanished;
        if let Some(at) = self.entries.iter().position(|slot| slot.id == id) {
            if keep {
                tracing::info!("stream: client vanished; its connection stays, stale");
                self.entries[at].live = None;
            } else {
                self.entries.remove(at);
            }
        }
    }

    pub fn hold_stale(&mut self) {
        self.push(None);
    }

    /// Ends every connection, live or stale; returns their uuids.
    pub fn kill_all(&mut self) -> Vec<String> {
        self.entries
            .drain(..)
            .map(|slot| {
                if let Some(ctl) = slot.live {
                    ctl.kill();
                }
                slot.uuid
            })
            .collect()
    }

    pub fn count(&self) -> usize {
        self.entries.len()
    }

    pub fn stale(&self) -> usize {
        self.entries
            .iter()
            .filter(|slot| slot.live.is_none())
            .count()
    }

    fn push(&mut self, live: Option<Arc<ConnCtl>>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.entries.push(Slot {
            id,
            uuid: format!("00000000-0000-4000-8000-{id:012x}"),
            connected_at: now(),
            live,
        });
        id
    }

    fn list(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|slot| {
                json!({
                    "uuid": slot.uuid,
                    "endpoint_name": "filtered_stream",
                    "connected_at": slot.connected_at,
                    "client_ip": "127.0.0.1",
                })
            })
            .collect()
    }
}

/// `DELETE /2/connections/filtered_stream` and `/2/connections/all` (the app has no other
/// streaming endpoint here).
pub(super) async fn delete_connections(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    let mut ledger = shared.ledger();
    ledger.slots.deletes += 1;
    let killed = ledger.slots.kill_all();
    drop(ledger);
    tracing::info!(
        killed = killed.len(),
        "connections: ended by the Connections API"
    );
    let results: Vec<Value> = killed
        .iter()
        .map(|uuid| json!({"uuid": uuid, "success": true}))
        .collect();
    Json(json!({"data": {
        "successful_kills": killed.len(),
        "failed_kills": 0,
        "results": results,
    }}))
    .into_response()
}

/// `GET /2/connections`: the app's open streaming connections.
pub(super) async fn get_connections(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    let open = shared.ledger().slots.list();
    let mut answer = json!({"meta": {"result_count": open.len()}});
    if !open.is_empty() {
        answer["data"] = Value::Array(open);
    }
    Json(answer).into_response()
}
