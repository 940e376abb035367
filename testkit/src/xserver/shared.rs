//! The state every handler shares: what the app has on X (rules, connections, rate-limit
//! windows), the stream script, and what was delivered.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use tokio_util::sync::CancellationToken;

use super::Step;
use super::connections::Slots;
use super::feed::{Delivery, Pace};
use super::limits::Windows;
use super::rules::RuleBook;

pub(super) struct Shared {
    pub bearer_token: String,
    pub consumer_credentials: Option<(String, String)>,
    pub keepalive_interval: Duration,
    /// Cancelled when the server shuts down (or is dropped): ends every open stream.
    pub shutdown: CancellationToken,
    ledger: Mutex<Ledger>,
}

impl Shared {
    pub fn new(
        bearer_token: String,
        consumer_credentials: Option<(String, String)>,
        keepalive_interval: Duration,
        shutdown: CancellationToken,
        ledger: Ledger,
    ) -> Shared {
        Shared {
            bearer_token,
            consumer_credentials,
            keepalive_interval,
            shutdown,
            ledger: Mutex::new(ledger),
        }
    }

    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panicking test thread must not turn every later call into a second panic.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            == Some(self.bearer_token.as_str())
    }
}

pub(super) struct Ledger {
    pub rules: RuleBook,
    pub script: VecDeque<Step>,
    /// The whole line a `DropMidLine` cut, owed to the next connection.
    pub resend: Option<String>,
    pub slots: Slots,
    pub windows: Windows,
    /// `Some`: posts are written at X's pace, whatever the reader does.
    pub pace: Option<Pace>,
    pub connection_attempts: usize,
    pub token_requests: usize,
    pub last_stream_query: Option<String>,
    pub delivery: Delivery,
}

impl Ledger {
    pub fn new(script: Vec<Step>, keep_delivered_lines: bool) -> Ledger {
        Ledger {
            rules: RuleBook::default(),
            script: script.into(),
            resend: None,
            slots: Slots::default(),
            windows: Windows::default(),
            pace: None,
            connection_attempts: 0,
            token_requests: 0,
            last_stream_query: None,
            delivery: Delivery::new(keep_delivered_lines),
        }
    }

    /// Every step consumed, no cut line owed, no paced post waiting in a connection's buffer.
    pub fn finished(&self) -> bool {
        self.script.is_empty() && self.resend.is_none() && self.delivery.in_flight == 0
    }
}
