//! When to reconnect: exactly as X documents it for the filtered stream, and an exponential
//! schedule with jitter for Jetstream, which documents none.
//!
//! X disconnects clients that reconnect too eagerly, and counts every connection against a
//! rate limit, so each kind of failure has its own schedule.

use std::time::Duration;

/// How the network delay grows from one try to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// `network_step` more each try.
    Linear,
    /// `network_step`, then doubling.
    Doubling,
}

/// The delays between reconnect attempts for each kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Back-off for network errors and stalls: from this, growing...
    pub network_step: Duration,
    /// ...up to this...
    pub network_max: Duration,
    /// ...linearly (X) or doubling (Jetstream).
    pub network_growth: Growth,
    /// Exponential back-off for HTTP errors worth retrying (5xx): from this, doubling...
    pub server_error_start: Duration,
    /// ...up to this.
    pub server_error_max: Duration,
    /// Exponential back-off for 429 (too many connections, or rate limited).
    pub rate_limit_start: Duration,
    pub rate_limit_max: Duration,
    /// Draw each delay at random from its upper half, so that many clients dropped together
    /// by a restarting host do not all come back at the same instant.
    pub jitter: bool,
}

impl Schedule {
    /// X's documented figures. X gives no cap for 429; ours means a long outage still gets a
    /// try every 16 minutes.
    pub const X_DOCUMENTED: Schedule = Schedule {
        network_step: Duration::from_millis(250),
        network_max: Duration::from_secs(16),
        network_growth: Growth::Linear,
        server_error_start: Duration::from_secs(5),
        server_error_max: Duration::from_secs(320),
        rate_limit_start: Duration::from_secs(60),
        rate_limit_max: Duration::from_secs(960),
        jitter: false,
    };

    /// Jetstream documents no schedule and bills nothing: back off exponentially with jitter,
    /// capped so that a host coming back is found within half a minute (a minute after 5xx,
    /// five after 429). A resume from the cursor loses nothing however long the gap.
    pub const JETSTREAM: Schedule = Schedule {
        network_step: Duration::from_millis(500),
        network_max: Duration::from_secs(30),
        network_growth: Growth::Doubling,
        server_error_start: Duration::from_secs(2),
        server_error_max: Duration::from_secs(60),
        rate_limit_start: Duration::from_secs(10),
        rate_limit_max: Duration::from_secs(300),
        jitter: true,
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
        let delay = self.nominal_delay(failure);
        if self.schedule.jitter {
            jittered(delay, rand::random::<f64>())
        } else {
            delay
        }
    }

    fn nominal_delay(&mut self, failure: Failure) -> Duration {
        match failure {
            Failure::Dropped if !self.dropped_once => {
                self.dropped_once = true;
                Duration::ZERO
            }
            Failure::Dropped | Failure::Network | Failure::Stall => {
                self.network_attempts += 1;
                match self.schedule.network_growth {
                    Growth::Linear => (self.schedule.network_step * self.network_attempts)
                        .min(self.schedule.network_max),
                    Growth::Doubling => doubled(
                        self.schedule.network_step,
                        self.network_attempts - 1,
                        self.schedule.network_max,
                    ),
                }
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

/// "Equal jitter": half the delay for sure, the other half at random (`unit` in [0, 1)).
fn jittered(delay: Duration, unit: f64) -> Duration {
    let half = delay / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
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
    fn jetstream_backs_off_exponentially_to_its_caps_within_the_jitter_band() {
        let mut backoff = ReconnectBackoff::new(Schedule::JETSTREAM);
        let nominal = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0];
        for expected in nominal {
            let delay = backoff.next_delay(Failure::Network).as_secs_f64();
            assert!(
                delay >= expected / 2.0 && delay <= expected,
                "{delay} not in [{}, {expected}]",
                expected / 2.0
            );
        }
        let mut backoff = ReconnectBackoff::new(Schedule::JETSTREAM);
        let server: Vec<f64> = (0..8)
            .map(|_| backoff.next_delay(Failure::ServerError).as_secs_f64())
            .collect();
        assert!(server[0] >= 1.0 && server[0] <= 2.0, "{server:?}");
        assert!(server[7] >= 30.0 && server[7] <= 60.0, "{server:?}");
        let limited = backoff.next_delay(Failure::RateLimited).as_secs_f64();
        assert!((5.0..=10.0).contains(&limited), "{limited}");
        // A healthy connection that drops is still retried at once.
        backoff.reset();
        assert_eq!(backoff.next_delay(Failure::Dropped), Duration::ZERO);
    }

    #[test]
    fn jitter_keeps_the_upper_half_of_the_delay() {
        assert_eq!(jittered(secs(4.0), 0.0), secs(2.0));
        assert_eq!(jittered(secs(4.0), 0.5), secs(3.0));
        assert!(jittered(secs(4.0), 0.999_999) <= secs(4.0));
        assert_eq!(jittered(Duration::ZERO, 0.7), Duration::ZERO);
        assert_eq!(
            jittered(secs(4.0), 7.0),
            secs(4.0),
            "out-of-range draws are clamped"
        );
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
