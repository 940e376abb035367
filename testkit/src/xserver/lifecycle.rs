//! Starting and stopping the server, what a test can ask it, and the behaviours a test can
//! switch on before (or while) a client connects.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{delete, get, post};
use tokio_util::sync::CancellationToken;

use super::answers::not_found;
use super::connections::{delete_connections, get_connections};
use super::feed::Pace;
use super::limits::{Endpoint, RateLimits};
use super::rules::{get_rules, post_rules};
use super::shared::{Ledger, Shared};
use super::stream::stream;
use super::token::token;
use super::{Rule, RuleRequest, XServerConfig};
use crate::server::{LocalServer, wait_until};

/// A running server; dropping it stops it, open streams included.
pub struct XServer {
    server: LocalServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for XServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XServer")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl XServer {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: XServerConfig) -> std::io::Result<XServer> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts on `addr` (port 0: a free one).
    pub async fn start_on(config: XServerConfig, addr: SocketAddr) -> std::io::Result<XServer> {
        let shutdown = CancellationToken::new();
        let mut ledger = Ledger::new(config.script, config.keep_delivered_lines);
        for (value, tag) in config.initial_rules {
            ledger.rules.seed(value, tag);
        }
        let shared = Arc::new(Shared::new(
            config.bearer_token,
            config.consumer_credentials,
            config.keepalive_interval.max(Duration::from_millis(1)),
            shutdown.clone(),
            ledger,
        ));
        let router = Router::new()
            .route("/2/tweets/search/stream", get(stream))
            .route(
                "/2/tweets/search/stream/rules",
                get(get_rules).post(post_rules),
            )
            .route("/2/connections", get(get_connections))
            .route("/2/connections/filtered_stream", delete(delete_connections))
            .route("/2/connections/all", delete(delete_connections))
            .route("/oauth2/token", post(token))
            .fallback(not_found)
            .with_state(shared.clone());
        let server = LocalServer::start(addr, shutdown, |listener| async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "fake X server stopped");
            }
        })
        .await?;
        Ok(XServer { server, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the API's base URL, what `TWITTER_API_URL`
    /// should say.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Ends every open stream and stops listening; on return the port is free again.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    // --- Behaviours. Set them before the client connects; they hold until changed. ---

    /// Rate limits other than X's (a short window and small limits, for tests). Every window
    /// starts afresh.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.shared.ledger().windows.set_limits(limits);
    }

    /// Uses up the endpoint's current window, as another client of the same app would: the
    /// next request gets a 429 with `x-rate-limit-remaining: 0` until the window resets.
    pub fn exhaust_window(&self, endpoint: Endpoint) {
        self.shared
            .ledger()
            .windows
            .exhaust(endpoint, Instant::now());
    }

    /// A stale connection of this app holds the one slot (as after a crash): every connect gets
    /// 429 `TooManyConnections` until `DELETE /2/connections/filtered_stream`.
    pub fn hold_stale_connection(&self) {
        self.shared.ledger().slots.hold_stale();
    }

    /// When on, a client that goes away without the server ending its stream (a crash, a kill)
    /// leaves its connection holding the slot, stale, until the Connections API ends it.
    pub fn keep_vanished_connections(&self, keep: bool) {
        self.shared.ledger().slots.keep_vanished = keep;
    }

    /// Posts written at X's pace into a per-connection buffer, one post per write, and a reader
    /// that falls behind dropped (`None`: as fast as the client reads, the default). Applies to
    /// connections opened afterwards.
    pub fn set_pace(&self, pace: Option<Pace>) {
        self.shared.ledger().pace = pace;
    }

    /// More steps at the end of the script, for the next connection or a later part of this one.
    pub fn append_script(&self, steps: impl IntoIterator<Item = super::Step>) {
        self.shared.ledger().script.extend(steps);
    }

    /// The longest rule the access level allows (1,024 by default; Enterprise 2,048).
    pub fn set_max_rule_chars(&self, max: usize) {
        self.shared.ledger().rules.max_chars = max;
    }

    // --- What the server saw. ---

    pub fn rules(&self) -> Vec<Rule> {
        self.shared.ledger().rules.rules.clone()
    }

    /// Every rules POST, in order, dry runs included.
    pub fn rule_requests(&self) -> Vec<RuleRequest> {
        self.shared.ledger().rules.requests.clone()
    }

    /// Stream GETs, rejected ones included.
    pub fn connection_attempts(&self) -> usize {
        self.shared.ledger().connection_attempts
    }

    /// Requests answered 429 because the endpoint's window was used up.
    pub fn rate_limited(&self, endpoint: Endpoint) -> usize {
        self.shared.ledger().windows.refused(endpoint)
    }

    /// Connects answered 429 `TooManyConnections` because the slot was taken.
    pub fn too_many_connections(&self) -> usize {
        self.shared.ledger().slots.too_many
    }

    /// Calls to `DELETE /2/connections/...`.
    pub fn connection_deletes(&self) -> usize {
        self.shared.ledger().slots.deletes
    }

    /// Connections holding the app's slot now, stale ones included.
    pub fn open_connections(&self) -> usize {
        self.shared.ledger().slots.count()
    }

    /// Connections holding the slot with no client behind them.
    pub fn stale_connections(&self) -> usize {
        self.shared.ledger().slots.stale()
    }

    pub fn token_requests(&self) -> usize {
        self.shared.ledger().token_requests
    }

    /// The raw query string of the last stream GET (`None` when it had none).
    pub fn last_stream_query(&self) -> Option<String> {
        self.shared.ledger().last_stream_query.clone()
    }

    /// Every post line handed whole (with its `\r\n`) to a connection, as sent, in order.
    /// Paced posts still in a connection's buffer are not in it, and lost ones never will be.
    pub fn delivered(&self) -> Vec<String> {
        self.shared.ledger().delivery.lines.clone()
    }

    pub fn delivered_count(&self) -> usize {
        self.shared.ledger().delivery.count
    }

    /// Paced posts released to a connection that never reached it: buffered when the reader was
    /// dropped for falling behind, or when the connection closed.
    pub fn lost(&self) -> Vec<String> {
        self.shared.ledger().delivery.lost.clone()
    }

    pub fn lost_count(&self) -> usize {
        self.shared.ledger().delivery.lost_count
    }

    /// Connections dropped because their reader took nothing for the slow-reader timeout.
    pub fn slow_reader_drops(&self) -> usize {
        self.shared.ledger().delivery.slow_reader_drops
    }

    /// Every step consumed, no cut line waiting to be delivered again, and no paced post
    /// waiting in a connection's buffer.
    pub fn finished(&self) -> bool {
        self.shared.ledger().finished()
    }

    /// Waits until [`XServer::finished`]; `false` if it is not after `timeout`.
    pub async fn wait_until_finished(&self, timeout: Duration) -> bool {
        wait_until(|| self.finished(), timeout).await
    }
}
