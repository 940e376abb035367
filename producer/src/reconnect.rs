//! When to reconnect to the filtered stream, exactly as X documents it.
//!
//! X disconnects clients that reconnect too eagerly, and counts every connection against a
//! rate limit, so each kind of failure has its own schedule.

use std::time::Duration;

/// The delays between reconnect attempts for each kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Linear back-off for network errors and stalls: this much more each try...
    pub network_step: Duration,
    /// ...up to this.
    pub network_max: Duration,
    /// Exponential back-off for HTTP errors worth retrying (5xx): from this, doubling...
    pub server_error_start: Duration,
    /// ...up to this.
    pub server_error_max: Duration,
    /// Exponential back-off for 429 (too many connections, or rate limited).
    pub rate_limit_start: Duration,
    pub rate_limit_max: Duration,
}

impl Schedule {
    /// X's documented figures. X gives no cap for 429; ours means a long outage still gets a
    /// try every 16 minutes.
    pub const X_DOCUMENTED: Schedule = Schedule {
        network_step: Duration::from_millis(250),
        network_max: Duration::from_secs(16),
        server_error_start: Duration::from_secs(5),
        server_error_max: Duration::from_secs(320),
        rate_limit_start: Duration::from_secs(60),
        rate_limit_max: Duration::from_secs(960),
    };
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::X_DOCUMENTED
    }
}

/// Why the last connection attempt or connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An established connection ended (closed, reset, or X's operational disconnect).
    Dropped,
    /// Could not connect, or the connection broke in a way that looks like the network.
    Network,
    /// No byte, keep-alives included, for the stall timeout.
    Stall,
    /// HTTP 5xx.
    ServerError,
    /// HTTP 429.
    RateLimited,
}

/// Reconnect delays; each kind of failure keeps its own count, all reset by a healthy
/// connection.
#[derive(Debug, Default, Clone)]
pub struct ReconnectBackoff {
    schedule: Schedule,
    network_attempts: u32,
    server_attempts: u32,
    rate_limit_attempts: u32,
    /// The first reconnect after a healthy connection dropped is immediate, later ones are not.
    dropped_once: bool,
}

impl ReconnectBackoff {
    pub fn new(schedule: Schedule) -> Self {
        ReconnectBackoff {
            schedule,
            ..ReconnectBackoff::default()
        }
    }

    /// A connection delivered data: the next failure starts every schedule from the beginning.
    pub fn reset(&mut self) {
        *self = ReconnectBackoff::new(self.schedule);
    }

    /// How long to wait before the next attempt.
    pub fn next_delay(&mut self, failure: Failure) -> Duration {
        match failure {
            Failure::Dropped if !self.dropped_once => {
                self.dropped_once = true;
                Duration::ZERO
            }
            Failure::Dropped | Failure::Network | Failure::Stall => {
                self.network_attempts += 1;
                (self.schedule.network_step * self.network_attempts).min(self.schedule.network_max)
            }
            Failure::ServerError => {
                let delay = doubled(
                    self.schedule.server_error_start,
                    self.server_attempts,
                    self.schedule.server_error_max,
                );
                self.server_attempts += 1;
                delay
            }
            Failure::RateLimited => {
                let delay = doubled(
                    self.schedule.rate_limit_start,
                    self.rate_limit_attempts,
                    self.schedule.rate_limit_max,
                );
                self.rate_limit_attempts += 1;
                delay
            }
        }
    }
}

fn doubled(start: Duration, times: u32, max: Duration) -> Duration {
    start.saturating_mul(1u32 << times.min(16)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn schedule(backoff: &mut ReconnectBackoff, failure: Failure, n: usize) -> Vec<Duration> {
        (0..n).map(|_| backoff.next_delay(failure)).collect()
    }

    #[test]
    fn network_errors_back_off_linearly_to_16_seconds() {
        let delays = schedule(&mut ReconnectBackoff::default(), Failure::Network, 70);
        assert_eq!(delays[..4], [secs(0.25), secs(0.5), secs(0.75), secs(1.0)]);
        assert_eq!(delays[63], secs(16.0));
        assert_eq!(delays[69], secs(16.0));
    }

    #[test]
    fn stalls_follow_the_network_schedule() {
        let delays = schedule(&mut ReconnectBackoff::default(), Failure::Stall, 2);
        assert_eq!(delays, [secs(0.25), secs(0.5)]);
    }

    #[test]
    fn server_errors_double_from_5_to_320_seconds() {
        let delays = schedule(&mut ReconnectBackoff::default(), Failure::ServerError, 9);
        let expected = [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 320.0, 320.0].map(secs);
        assert_eq!(delays, expected);
    }

    #[test]
    fn rate_limits_double_from_a_minute() {
        let delays = schedule(&mut ReconnectBackoff::default(), Failure::RateLimited, 7);
        let expected = [60.0, 120.0, 240.0, 480.0, 960.0, 960.0, 960.0].map(secs);
        assert_eq!(delays, expected);
    }

    #[test]
    fn a_drop_reconnects_at_once_then_backs_off_until_a_healthy_connection() {
        let mut backoff = ReconnectBackoff::default();
        assert_eq!(backoff.next_delay(Failure::Dropped), Duration::ZERO);
        assert_eq!(backoff.next_delay(Failure::Dropped), secs(0.25));
        assert_eq!(backoff.next_delay(Failure::ServerError), secs(5.0));
        assert_eq!(backoff.next_delay(Failure::ServerError), secs(10.0));
        backoff.reset();
        assert_eq!(backoff.next_delay(Failure::Dropped), Duration::ZERO);
        assert_eq!(backoff.next_delay(Failure::ServerError), secs(5.0));
        assert_eq!(backoff.next_delay(Failure::Network), secs(0.25));
    }
}
