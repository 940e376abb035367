//! A local server speaking the X API v2 filtered-stream protocol: bearer auth, the OAuth2
//! app-only token exchange, stream rules, the Connections API, and a scripted
//! `GET /2/tweets/search/stream`, true to what X does (see `shared/REAL-PEERS.md`):
//!
//! - every stream and rules response carries `x-rate-limit-limit/remaining/reset`, counted down
//!   per endpoint over a window (X: 15 minutes; 50 connects, 450 rules GETs, 100 rules POSTs),
//!   and the request past the limit gets a 429 with `remaining: 0` ([`RateLimits`]);
//! - one stream connection per app: a second gets 429 `TooManyConnections`, and so does every
//!   connect while a stale connection holds the slot, until `DELETE
//!   /2/connections/filtered_stream` ([`XServer::hold_stale_connection`]);
//! - a rule add answers `201 Created`, an invalid rule `200` with `errors[]`, a rule over the
//!   access level's length (1,024 characters by default) is refused with X's own reason;
//! - scripted faults ([`Step`]): drops, stalls, operational disconnects, responses whose headers
//!   never come, a stream that flaps forever, 429 `UsageCapExceeded`, 402 `CreditsDepleted`;
//! - a paced feed ([`Pace`]): posts written at X's rate, one post per write, whatever the
//!   reader does, and a reader that has not taken data for a few seconds is dropped, losing
//!   what was buffered ([`XServer::slow_reader_drops`], [`XServer::lost`]).
//!
//! Tests drive the stream with a [`Step`] script shared by all connections, so reconnect
//! behaviour is reproducible, then inspect what the server saw and delivered.

mod answers;
mod connections;
mod feed;
mod lifecycle;
mod limits;
mod lines;
mod rules;
mod shared;
mod stream;
mod token;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use feed::{DEFAULT_SLOW_READER_TIMEOUT, Pace};
pub use lifecycle::XServer;
pub use limits::{Endpoint, RateLimits};
pub use lines::{rewrite_matching_rules, with_post_id};

/// What the access level allows a rule (pay-per-use and Pro: 1,024; Enterprise: 2,048).
pub const DEFAULT_MAX_RULE_CHARS: usize = 1024;

#[derive(Debug, Clone)]
pub struct XServerConfig {
    /// The only Bearer token accepted on `/2/...` endpoints.
    pub bearer_token: String,
    /// `(key, secret)` accepted by `POST /oauth2/token` (HTTP Basic); it answers `bearer_token`.
    pub consumer_credentials: Option<(String, String)>,
    /// `(value, tag)` rules already on the app at start, as if left over from earlier runs.
    pub initial_rules: Vec<(String, String)>,
    /// What the stream does, consumed in order across connections.
    pub script: Vec<Step>,
    /// Once the script is exhausted, the connection stays open sending `\r\n` this often.
    pub keepalive_interval: Duration,
    /// Keep every delivered line for [`XServer::delivered`]. A long benchmark run turns this off
    /// so memory stays flat; [`XServer::delivered_count`] still counts.
    pub keep_delivered_lines: bool,
}

impl Default for XServerConfig {
    fn default() -> Self {
        XServerConfig {
            bearer_token: "test-bearer-token".to_owned(),
            consumer_credentials: None,
            initial_rules: Vec::new(),
            script: Vec::new(),
            keepalive_interval: Duration::from_secs(1),
            keep_delivered_lines: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A post line (JSON, no line ending), written with `\r\n` after its `matching_rules` are
    /// rewritten to the current rules (see [`rewrite_matching_rules`]).
    Post(String),
    /// Writes `\r\n`.
    KeepAlive,
    /// Writes these bytes as they are.
    Raw(Vec<u8>),
    /// Ends the current connection cleanly (end of body).
    Drop,
    /// Rewrites like `Post`, writes the first half of the line's bytes and ends the connection;
    /// the whole line is the first thing the next connection delivers.
    DropMidLine(String),
    /// Writes X's in-stream `operational-disconnect` message, then ends the connection.
    OperationalDisconnect,
    /// Writes nothing for this long, then ends the connection: a client should give up first.
    Stall(Duration),
    /// Writes nothing for this long and carries on with the same connection.
    Pause(Duration),
    /// Answers the next connection attempt with this status and JSON body instead of a stream.
    /// A connection that reaches a `Reject` mid-script ends, leaving it for the next attempt.
    Reject { status: u16, body: String },
    /// The next connection attempt is accepted and then gets no response headers for this long
    /// (then a 503, to nobody by then). Consumed by that attempt.
    HangBeforeHeaders(Duration),
    /// Every connection from here on gets one keep-alive and is closed: never consumed, so the
    /// steps after it are never reached.
    FlapForever,
}

impl Step {
    pub fn reject_503() -> Step {
        Step::Reject {
            status: 503,
            body: answers::BODY_503.to_owned(),
        }
    }

    /// X's answer while the app's one connection is taken (a recorded response).
    pub fn reject_429_too_many() -> Step {
        Step::Reject {
            status: 429,
            body: answers::BODY_TOO_MANY_CONNECTIONS.to_owned(),
        }
    }

    /// X's answer once the app's monthly post cap is reached.
    pub fn reject_usage_capped() -> Step {
        Step::Reject {
            status: 429,
            body: answers::BODY_USAGE_CAPPED.to_owned(),
        }
    }

    /// X's answer when the pay-per-use balance is empty.
    pub fn reject_credits_depleted() -> Step {
        Step::Reject {
            status: 402,
            body: answers::BODY_CREDITS_DEPLETED.to_owned(),
        }
    }

    pub fn reject_401() -> Step {
        Step::Reject {
            status: 401,
            body: answers::BODY_401.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub value: String,
    pub tag: String,
}

/// One `POST /2/tweets/search/stream/rules` call as the server understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRequest {
    pub dry_run: bool,
    pub add: Vec<(String, String)>,
    pub delete_ids: Vec<String>,
}
