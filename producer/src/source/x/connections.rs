//! Taking the app's one stream connection back from a stale one: after a crash X keeps the
//! dead connection for a while and answers every connect with 429 `TooManyConnections`; the
//! Connections API (`DELETE /2/connections/filtered_stream`, Bearer) ends it.
//!
//! A stale connection is ended once and is gone. A connection that comes back at once is a live
//! consumer of the same app that reconnects too: taking over from it again and again would
//! have the two of them knock each other off, so a take-over is allowed at most once per
//! [`TAKE_OVER_MIN_INTERVAL`], and the 429 schedule applies in between.

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::client::{REQUEST_TIMEOUT, XClient};
use super::problem::problem_detail;
use crate::error::ProducerError;

const CONNECTIONS_PATH: &str = "/2/connections/filtered_stream";

/// The shortest time between two take-overs.
pub const TAKE_OVER_MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Whether a take-over may happen now.
#[derive(Debug, Default, Clone)]
pub struct TakeOverGuard {
    last: Option<Instant>,
}

impl TakeOverGuard {
    /// `true`, and remembered, unless the last take-over was less than
    /// [`TAKE_OVER_MIN_INTERVAL`] before `now`.
    pub fn allow(&mut self, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < TAKE_OVER_MIN_INTERVAL)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// What the Connections API ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Kills {
    #[serde(default, rename = "successful_kills")]
    pub successful: u64,
    #[serde(default, rename = "failed_kills")]
    pub failed: u64,
}

#[derive(Deserialize)]
struct KillsResponse {
    #[serde(default)]
    data: Kills,
}

impl XClient {
    /// Ends every connection of this app to the filtered stream.
    pub async fn end_stream_connections(&self) -> Result<Kills, ProducerError> {
        let response = self
            .http
            .delete(self.url(CONNECTIONS_PATH))
            .bearer_auth(self.token.expose_secret())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|source| ProducerError::x_unreachable(CONNECTIONS_PATH, source))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(ProducerError::XApi {
                endpoint: CONNECTIONS_PATH,
                status,
                detail: problem_detail(&text),
            });
        }
        serde_json::from_str::<KillsResponse>(&text)
            .map(|answer| answer.data)
            .map_err(|error| ProducerError::XApi {
                endpoint: CONNECTIONS_PATH,
                status,
                detail: format!("unexpected response: {error}"),
            })
    }

    /// Whether this 429 `TooManyConnections` may be answered by a take-over now.
    pub fn take_over_allowed(&self, now: Instant) -> bool {
        self.take_over && self.state().take_over.allow(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_take_over_per_interval() {
        let start = Instant::now();
        let mut guard = TakeOverGuard::default();
        assert!(guard.allow(start), "the first one");
        assert!(!guard.allow(start + Duration::from_secs(1)));
        assert!(!guard.allow(start + TAKE_OVER_MIN_INTERVAL - Duration::from_millis(1)));
        assert!(guard.allow(start + TAKE_OVER_MIN_INTERVAL));
        assert!(
            !guard.allow(start + TAKE_OVER_MIN_INTERVAL + Duration::from_secs(60)),
            "counted from the last take-over"
        );
    }

    #[test]
    fn reads_the_connections_api_answer() {
        let answer: KillsResponse = serde_json::from_str(
            r#"{"data":{"successful_kills":1,"failed_kills":0,"results":[{"uuid":"a","success":true}]}}"#,
        )
        .expect("parses");
        assert_eq!(
            answer.data,
            Kills {
                successful: 1,
                failed: 0
            }
        );
    }
}
