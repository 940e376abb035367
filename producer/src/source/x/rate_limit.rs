//! X's rate limits as its answers state them: every stream and rules response carries
//! `x-rate-limit-limit`, `x-rate-limit-remaining` and `x-rate-limit-reset` (Unix seconds), per
//! endpoint, per 15-minute window. "A good implementation will not receive 429s": a request the
//! window no longer allows waits for the reset instead of being sent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// X's window is 15 minutes, so a reset further away than this is not to be believed: the wait
/// is cut here and the next answer says again.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(16 * 60);
/// The reset is given in whole seconds and X's clock is not ours.
pub const RESET_MARGIN: Duration = Duration::from_secs(1);
/// Spread on top of the margin, so that clients sharing an app do not all come back in the same
/// second.
pub const RESET_JITTER: Duration = Duration::from_secs(2);

/// An endpoint with a window of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    StreamConnect,
    RulesGet,
    RulesPost,
}

impl Endpoint {
    /// How the logs name it.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::StreamConnect => "stream connect",
            Endpoint::RulesGet => "rules GET",
            Endpoint::RulesPost => "rules POST",
        }
    }
}

/// One answer's rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds.
    pub reset: u64,
}

impl RateLimit {
    /// `None` unless all three headers are there and numbers.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(RateLimit {
            limit: number("x-rate-limit-limit")?,
            remaining: number("x-rate-limit-remaining")?,
            reset: number("x-rate-limit-reset")?,
        })
    }

    /// How long the next request must wait: `None` while the window has requests left or has
    /// already reset. `unit` in [0, 1) draws the jitter.
    pub fn wait(&self, now: SystemTime, unit: f64) -> Option<Duration> {
        if self.remaining > 0 {
            return None;
        }
        let reset = UNIX_EPOCH + Duration::from_secs(self.reset);
        let until_reset = reset.duration_since(now).ok().filter(|d| !d.is_zero())?;
        let jitter = RESET_JITTER.mul_f64(unit.clamp(0.0, 1.0));
        Some((until_reset + RESET_MARGIN + jitter).min(MAX_RATE_LIMIT_WAIT))
    }
}

/// What the last answer of each endpoint said.
#[derive(Debug, Default, Clone)]
pub struct RateLimits {
    stream_connect: Option<RateLimit>,
    rules_get: Option<RateLimit>,
    rules_post: Option<RateLimit>,
}

impl RateLimits {
    pub fn observe(&mut self, endpoint: Endpoint, limit: RateLimit) {
        *self.slot(endpoint) = Some(limit);
    }

    pub fn get(&self, endpoint: Endpoint) -> Option<RateLimit> {
        match endpoint {
            Endpoint::StreamConnect => self.stream_connect,
            Endpoint::RulesGet => self.rules_get,
            Endpoint::RulesPost => self.rules_post,
        }
    }

    /// The wait before the endpoint's next request, and the answer that calls for it.
    pub fn wait_before(
        &self,
        endpoint: Endpoint,
        now: SystemTime,
        unit: f64,
    ) -> Option<(Duration, RateLimit)> {
        let limit = self.get(endpoint)?;
        limit.wait(now, unit).map(|wait| (wait, limit))
    }

    fn slot(&mut self, endpoint: Endpoint) -> &mut Option<RateLimit> {
        match endpoint {
            Endpoint::StreamConnect => &mut self.stream_connect,
            Endpoint::RulesGet => &mut self.rules_get,
            Endpoint::RulesPost => &mut self.rules_post,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_the_three_headers_or_nothing() {
        let read = RateLimit::from_headers(&headers(&[
            ("x-rate-limit-limit", "50"),
            ("x-rate-limit-remaining", "47"),
            ("x-rate-limit-reset", "1705420800"),
        ]));
        assert_eq!(
            read,
            Some(RateLimit {
                limit: 50,
                remaining: 47,
                reset: 1_705_420_800
            })
        );
        assert_eq!(
            RateLimit::from_headers(&headers(&[
                ("x-rate-limit-limit", "50"),
                ("x-rate-limit-remaining", "47"),
            ])),
            None
        );
        assert_eq!(
            RateLimit::from_headers(&headers(&[
                ("x-rate-limit-limit", "50"),
                ("x-rate-limit-remaining", "many"),
                ("x-rate-limit-reset", "1705420800"),
            ])),
            None
        );
    }

    #[test]
    fn a_window_with_requests_left_or_already_reset_needs_no_wait() {
        let left = RateLimit {
            limit: 50,
            remaining: 1,
            reset: 2_000,
        };
        assert_eq!(left.wait(at(1_000, 0), 0.5), None);
        let used_up = RateLimit {
            remaining: 0,
            ..left
        };
        assert_eq!(used_up.wait(at(2_000, 0), 0.5), None, "reset now");
        assert_eq!(used_up.wait(at(2_003, 0), 0.5), None, "reset past");
    }

    #[test]
    fn a_used_up_window_waits_until_its_reset_plus_margin_and_jitter() {
        let used_up = RateLimit {
            limit: 50,
            remaining: 0,
            reset: 1_300,
        };
        // 299.75 s to the reset, then 1 s of margin, then up to 2 s of jitter.
        assert_eq!(
            used_up.wait(at(1_000, 250), 0.0),
            Some(Duration::from_millis(300_750))
        );
        assert_eq!(
            used_up.wait(at(1_000, 250), 0.5),
            Some(Duration::from_millis(301_750))
        );
        assert_eq!(
            used_up.wait(at(1_000, 250), 7.0),
            Some(Duration::from_millis(302_750)),
            "the draw is clamped"
        );
    }

    #[test]
    fn a_reset_beyond_the_window_is_cut_at_16_minutes() {
        let far = RateLimit {
            limit: 50,
            remaining: 0,
            reset: 100_000,
        };
        assert_eq!(far.wait(at(1_000, 0), 0.9), Some(MAX_RATE_LIMIT_WAIT));
    }

    #[test]
    fn each_endpoint_keeps_its_own_last_answer() {
        let mut limits = RateLimits::default();
        let used_up = RateLimit {
            limit: 100,
            remaining: 0,
            reset: 1_010,
        };
        limits.observe(Endpoint::RulesPost, used_up);
        limits.observe(
            Endpoint::StreamConnect,
            RateLimit {
                limit: 50,
                remaining: 3,
                reset: 1_010,
            },
        );
        assert_eq!(
            limits.wait_before(Endpoint::RulesPost, at(1_000, 0), 0.0),
            Some((Duration::from_secs(11), used_up))
        );
        assert_eq!(
            limits.wait_before(Endpoint::StreamConnect, at(1_000, 0), 0.0),
            None
        );
        assert_eq!(
            limits.wait_before(Endpoint::RulesGet, at(1_000, 0), 0.0),
            None,
            "nothing known"
        );
    }
}
