//! X's per-app rate limits: each endpoint counts its requests over a window, every answer says
//! how many are left and when the window resets, and the request past the limit gets a 429.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;
use axum::response::Response;

/// An endpoint X limits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /2/tweets/search/stream`
    StreamConnect,
    /// `GET /2/tweets/search/stream/rules`
    RulesGet,
    /// `POST /2/tweets/search/stream/rules` (dry runs too)
    RulesPost,
}

/// Requests allowed per window, per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub window: Duration,
    pub stream_connects: u32,
    pub rules_get: u32,
    pub rules_post: u32,
}

impl RateLimits {
    /// X's figures per app (Bearer token) per 15 minutes.
    pub const X: RateLimits = RateLimits {
        window: Duration::from_secs(15 * 60),
        stream_connects: 50,
        rules_get: 450,
        rules_post: 100,
    };

    pub fn limit(&self, endpoint: Endpoint) -> u32 {
        match endpoint {
            Endpoint::StreamConnect => self.stream_connects,
            Endpoint::RulesGet => self.rules_get,
            Endpoint::RulesPost => self.rules_post,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::X
    }
}

/// What the `x-rate-limit-*` headers of one answer say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds, rounded up: a client that waits until then finds the window reset.
    pub reset: u64,
}

impl Quota {
    pub fn stamp(&self, response: &mut Response) {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-rate-limit-limit", u64::from(self.limit)),
            ("x-rate-limit-remaining", u64::from(self.remaining)),
            ("x-rate-limit-reset", self.reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    /// The first request of the current window; `None` before any.
    started: Option<Instant>,
    used: u32,
}

/// The windows of every endpoint.
#[derive(Debug)]
pub(super) struct Windows {
    limits: RateLimits,
    windows: [Window; 3],
    refused: [usize; 3],
}

impl Default for Windows {
    fn default() -> Self {
        Windows::new(RateLimits::X)
    }
}

fn index(endpoint: Endpoint) -> usize {
    match endpoint {
        Endpoint::StreamConnect => 0,
        Endpoint::RulesGet => 1,
        Endpoint::RulesPost => 2,
    }
}

impl Windows {
    pub fn new(limits: RateLimits) -> Windows {
        Windows {
            limits,
            windows: [Window::default(); 3],
            refused: [0; 3],
        }
    }

    /// New limits; every window starts afresh.
    pub fn set_limits(&mut self, limits: RateLimits) {
        *self = Windows {
            refused: self.refused,
            ..Windows::new(limits)
        };
    }

    /// Counts one request: `Ok` with what is left, or `Err` (answer 429) when the window's
    /// requests are used up.
    pub fn take(
        &mut self,
        endpoint: Endpoint,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Quota, Quota> {
        let limit = self.limits.limit(endpoint);
        let window = self.current(endpoint, now);
        if window.used >= limit {
            self.refused[index(endpoint)] += 1;
            return Err(self.quota(endpoint, now, wall));
        }
        window.used += 1;
        Ok(self.quota(endpoint, now, wall))
    }

    /// Uses up the endpoint's current window, as another client of the same app would.
    pub fn exhaust(&mut self, endpoint: Endpoint, now: Instant) {
        let limit = self.limits.limit(endpoint);
        self.current(endpoint, now).used = limit;
    }

    /// 429s answered because the endpoint's window was used up.
    pub fn refused(&self, endpoint: Endpoint) -> usize {
        self.refused[index(endpoint)]
    }

    fn current(&mut self, endpoint: Endpoint, now: Instant) -> &mut Window {
        let length = self.limits.window;
        let window = &mut self.windows[index(endpoint)];
        if window.started.is_none_or(|started| now >= started + length) {
            *window = Window {
                started: Some(now),
                used: 0,
            };
        }
        window
    }

    fn quota(&self, endpoint: Endpoint, now: Instant, wall: SystemTime) -> Quota {
        let window = self.windows[index(endpoint)];
        let limit = self.limits.limit(endpoint);
        let ends_in = window.started.map_or(self.limits.window, |started| {
            (started + self.limits.window).saturating_duration_since(now)
        });
        let reset = (wall + ends_in)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Quota {
            limit,
            remaining: limit.saturating_sub(window.used),
            reset: reset.as_secs() + u64::from(reset.subsec_nanos() > 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: RateLimits = RateLimits {
        window: Duration::from_secs(10),
        stream_connects: 2,
        rules_get: 3,
        rules_post: 1,
    };

    #[test]
    fn each_endpoint_counts_down_its_own_window_then_refuses_until_the_reset() {
        let start = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut windows = Windows::new(SMALL);
        let first = windows.take(Endpoint::StreamConnect, start, wall).unwrap();
        assert_eq!(
            first,
            Quota {
                limit: 2,
                remaining: 1,
                reset: 1_010
            }
        );
        // Another endpoint is not touched.
        let rules = windows.take(Endpoint::RulesGet, start, wall).unwrap();
        assert_eq!(rules.remaining, 2);

        let later = start + Duration::from_millis(2_500);
        let wall_later = wall + Duration::from_millis(2_500);
        let second = windows
            .take(Endpoint::StreamConnect, later, wall_later)
            .unwrap();
        assert_eq!(second.remaining, 0);
        // The reset stays the window's end, rounded up to the second.
        assert_eq!(second.reset, 1_010);
        let refused = windows
            .take(Endpoint::StreamConnect, later, wall_later)
            .unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset, 1_010);
        assert_eq!(windows.refused(Endpoint::StreamConnect), 1);

        let after = start + Duration::from_secs(10);
        let fresh = windows
            .take(
                Endpoint::StreamConnect,
                after,
                wall + Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(fresh.remaining, 1);
        assert_eq!(fresh.reset, 1_020);
    }

    #[test]
    fn a_reset_between_seconds_is_rounded_up() {
        let start = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_millis(1_000_400);
        let mut windows = Windows::new(SMALL);
        let quota = windows.take(Endpoint::RulesPost, start, wall).unwrap();
        assert_eq!(quota.reset, 1_011, "1,010.4 s rounds up");
    }

    #[test]
    fn exhaust_uses_up_the_current_window() {
        let start = Instant::now();
        let wall = SystemTime::now();
        let mut windows = Windows::new(SMALL);
        windows.exhaust(Endpoint::RulesGet, start);
        assert!(windows.take(Endpoint::RulesGet, start, wall).is_err());
        assert!(windows.take(Endpoint::RulesPost, start, wall).is_ok());
        assert!(
            windows
                .take(Endpoint::RulesGet, start + SMALL.window, wall)
                .is_ok()
        );
    }

    #[test]
    fn x_figures_are_the_documented_ones() {
        let limits = RateLimits::default();
        assert_eq!(limits.window, Duration::from_secs(900));
        let endpoints = [
            Endpoint::StreamConnect,
            Endpoint::RulesGet,
            Endpoint::RulesPost,
        ];
        let per_endpoint: Vec<u32> = endpoints.iter().map(|e| limits.limit(*e)).collect();
        assert_eq!(per_endpoint, [50, 450, 100]);
    }
}
