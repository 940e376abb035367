//! The low watermark: the position at or before which everything received was written, on the
//! clock of the host that stamped it.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{HOST_SWITCH_MARGIN_US, RESUME_MARGIN_US};
use crate::spool::Acknowledge;

/// A place in the stream: a `time_us`, and the host whose clock stamped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub time_us: u64,
    /// `host` or `host:port`; `None` when unknown (a cursor file from before hosts were
    /// recorded).
    pub host: Option<String>,
}

/// How far before a position stamped by `position_host` a connection to `host` resumes: the
/// small margin on the same host, the wide one anywhere else (or when the stamp's host is
/// unknown).
pub fn resume_margin(position_host: Option<&str>, host: &str) -> u64 {
    if position_host == Some(host) {
        RESUME_MARGIN_US
    } else {
        HOST_SWITCH_MARGIN_US
    }
}

#[derive(Debug, Default)]
struct State {
    /// Whose clock the positions below are on; `None` until known.
    host: Option<String>,
    /// Position loaded at start, or resumed from on this host, reported until an event is seen.
    start: Option<u64>,
    /// Highest `time_us` received from this host.
    max_seen: Option<u64>,
    /// `time_us` of this host's matching posts handed on and not yet written, with their count.
    in_flight: BTreeMap<u64, u32>,
    /// Posts of hosts left behind that are not written yet, by those hosts' stamps: they cannot
    /// be compared with this host's.
    carried: BTreeMap<u64, u32>,
    /// While `carried` holds a post, the watermark stays at or before this: the cursor this host
    /// resumed from, which its wide margin puts before every carried post on this host's clock.
    carried_floor: Option<u64>,
    /// The furthest the hosts left behind reached: this one makes progress only beyond it.
    progress_floor: Option<u64>,
}

impl State {
    fn current(&self) -> Option<u64> {
        let own = match self.max_seen {
            None => self.start,
            Some(max_seen) => Some(match self.in_flight.keys().next() {
                Some(oldest) => max_seen.min(oldest.saturating_sub(1)),
                None => max_seen,
            }),
        };
        if self.carried.is_empty() {
            return own;
        }
        match (own, self.carried_floor) {
            (Some(own), Some(floor)) => Some(own.min(floor)),
            (own, floor) => own.or(floor),
        }
    }

    fn furthest(&self) -> Option<u64> {
        self.max_seen.max(self.start).max(self.progress_floor)
    }
}

/// The low watermark. Shared by the reader (which reports what it received and handed on) and
/// the writer (which reports what was written).
#[derive(Debug, Default)]
pub struct Watermark {
    state: Mutex<State>,
}

impl Watermark {
    /// A watermark that reports `start` until events arrive.
    pub fn new(start: Option<Position>) -> Watermark {
        let (start, host) = match start {
            Some(position) => (Some(position.time_us), position.host),
            None => (None, None),
        };
        Watermark {
            state: Mutex::new(State {
                host,
                start,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An event that needs no write (not a post, not matching, a repeat, too large) arrived.
    pub fn observe(&self, time_us: u64) {
        let mut state = self.state();
        state.max_seen = state.max_seen.max(Some(time_us));
    }

    /// A matching post is about to be handed on: it holds the watermark back until written.
    /// Called before the post is handed on, so its acknowledgement cannot come first.
    pub fn dispatch(&self, time_us: u64) {
        let mut state = self.state();
        state.max_seen = state.max_seen.max(Some(time_us));
        *state.in_flight.entry(time_us).or_default() += 1;
    }

    /// Events now come from `host`, resumed from `from` on its clock. Called before its first
    /// event is observed; nothing changes when the positions are that host's already. What the
    /// host left behind had not written yet keeps the watermark at `from` until written.
    pub fn switch_host(&self, host: &str, from: Option<u64>) {
        let mut state = self.state();
        if state.host.as_deref() == Some(host) {
            return;
        }
        let furthest = state.furthest();
        for (time_us, count) in std::mem::take(&mut state.in_flight) {
            *state.carried.entry(time_us).or_default() += count;
        }
        state.carried_floor = if state.carried.is_empty() { None } else { from };
        state.host = Some(host.to_owned());
        state.start = from;
        state.max_seen = None;
        state.progress_floor = furthest;
    }

    /// The highest position at or before which everything received was written.
    pub fn current(&self) -> Option<u64> {
        self.state().current()
    }

    /// [`Self::current`] with the host whose clock it is on.
    pub fn position(&self) -> Option<Position> {
        let state = self.state();
        state.current().map(|time_us| Position {
            time_us,
            host: state.host.clone(),
        })
    }

    /// The host whose clock the positions are on, when known.
    pub fn host(&self) -> Option<String> {
        self.state().host.clone()
    }

    /// Where a connection to `host` should start: the watermark less the margin for that host
    /// ([`resume_margin`]), or live when there is no position at all.
    pub fn resume_cursor(&self, host: &str) -> Option<u64> {
        let state = self.state();
        let margin = resume_margin(state.host.as_deref(), host);
        state.current().map(|w| w.saturating_sub(margin))
    }

    /// The furthest position received (or loaded, or reached on a host left behind): it moves
    /// only when the stream brings something new, whether or not it is written yet.
    pub fn furthest(&self) -> Option<u64> {
        self.state().furthest()
    }

    /// Posts handed on and not yet written.
    pub fn in_flight(&self) -> usize {
        let state = self.state();
        state
            .in_flight
            .values()
            .chain(state.carried.values())
            .map(|n| *n as usize)
            .sum()
    }
}

impl Acknowledge for Watermark {
    /// A post left behind and one of this host's can share a `time_us` (stamps of two clocks);
    /// the one left behind is counted off first. Either way both must be written before the
    /// watermark passes the later of the two.
    fn written(&self, time_us: u64) {
        let mut state = self.state();
        let state = &mut *state;
        let (map, carried) = if state.carried.contains_key(&time_us) {
            (&mut state.carried, true)
        } else {
            (&mut state.in_flight, false)
        };
        if let Some(count) = map.get_mut(&time_us) {
            *count -= 1;
            if *count == 0 {
                map.remove(&time_us);
            }
        }
        if carried && state.carried.is_empty() {
            state.carried_floor = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "jetstream1.us-east.bsky.network";
    const B: &str = "jetstream2.us-east.bsky.network";

    fn at(time_us: u64, host: Option<&str>) -> Option<Position> {
        Some(Position {
            time_us,
            host: host.map(str::to_owned),
        })
    }

    #[test]
    fn the_watermark_waits_for_the_oldest_unwritten_post() {
        let w = Watermark::new(None);
        assert_eq!(w.current(), None, "nothing seen, nothing loaded: live");
        w.observe(100);
        assert_eq!(w.current(), Some(100));
        w.dispatch(110);
        w.observe(120);
        w.dispatch(130);
        w.observe(140);
        assert_eq!(w.current(), Some(109), "110 is not written yet");
        // Writes complete out of order: 130 first.
        w.written(130);
        assert_eq!(w.current(), Some(109));
        w.written(110);
        assert_eq!(w.current(), Some(140), "everything received is written");
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn an_event_arriving_out_of_time_order_holds_the_watermark_back() {
        let w = Watermark::new(None);
        w.observe(200);
        assert_eq!(w.current(), Some(200));
        // Stamped before 200 but delivered after it, and not written yet.
        w.dispatch(150);
        assert_eq!(w.current(), Some(149));
        w.written(150);
        assert_eq!(w.current(), Some(200));
    }

    #[test]
    fn posts_sharing_a_time_are_counted_one_by_one() {
        let w = Watermark::new(None);
        w.dispatch(50);
        w.dispatch(50);
        w.written(50);
        assert_eq!(w.current(), Some(49));
        w.written(50);
        assert_eq!(w.current(), Some(50));
        // A stray acknowledgement changes nothing.
        w.written(50);
        w.written(7);
        assert_eq!(w.current(), Some(50));
    }

    #[test]
    fn the_rewind_is_small_on_the_positions_host_and_wide_anywhere_else() {
        assert_eq!(resume_margin(Some(A), A), 5_000_000);
        assert_eq!(resume_margin(Some(A), B), 120_000_000);
        assert_eq!(resume_margin(None, A), 120_000_000, "unknown host");
        let w = Watermark::new(at(200_000_000, Some(A)));
        assert_eq!(w.current(), Some(200_000_000));
        assert_eq!(w.resume_cursor(A), Some(195_000_000));
        assert_eq!(w.resume_cursor(B), Some(80_000_000));
        let old_file = Watermark::new(at(200_000_000, None));
        assert_eq!(old_file.resume_cursor(A), Some(80_000_000));
        w.observe(196_000_000);
        assert_eq!(w.current(), Some(196_000_000));
        assert_eq!(Watermark::new(at(3, Some(A))).resume_cursor(A), Some(0));
        assert_eq!(Watermark::new(None).resume_cursor(A), None, "live");
    }

    #[test]
    fn a_switch_rebases_the_position_on_the_new_hosts_clock() {
        let w = Watermark::new(at(500_000_000, Some(A)));
        w.observe(510_000_000);
        let cursor = w.resume_cursor(B);
        assert_eq!(cursor, Some(390_000_000));
        // Nothing from B yet: the position is still A's, exactly.
        assert_eq!(w.position(), at(510_000_000, Some(A)));
        w.switch_host(B, cursor);
        assert_eq!(w.position(), at(390_000_000, Some(B)));
        // B is a minute behind A: its replay stamps the same events 60 s earlier.
        w.observe(450_000_001);
        assert_eq!(w.position(), at(450_000_001, Some(B)));
        assert_eq!(w.resume_cursor(B), Some(445_000_001), "B's own now");
        // Switching to the host the positions are on already changes nothing.
        w.switch_host(B, Some(1));
        assert_eq!(w.position(), at(450_000_001, Some(B)));
    }

    #[test]
    fn posts_left_unwritten_by_the_old_host_hold_the_new_one_at_its_cursor() {
        let w = Watermark::new(None);
        w.switch_host(A, None);
        w.observe(1_000_000_000);
        w.dispatch(1_000_000_100);
        w.dispatch(1_000_000_200);
        let cursor = w.resume_cursor(B);
        assert_eq!(cursor, Some(1_000_000_099 - HOST_SWITCH_MARGIN_US));
        w.switch_host(B, cursor);
        assert_eq!(w.in_flight(), 2);
        // B's clock is ahead: its stamps pass A's unwritten ones, yet the watermark waits.
        w.observe(1_000_000_500);
        w.dispatch(1_000_000_600);
        assert_eq!(w.current(), cursor);
        w.written(1_000_000_100);
        assert_eq!(w.current(), cursor, "one of A's posts still unwritten");
        w.written(1_000_000_200);
        assert_eq!(w.current(), Some(1_000_000_599), "only B's own post now");
        w.written(1_000_000_600);
        assert_eq!(w.position(), at(1_000_000_600, Some(B)));
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn a_post_left_behind_sharing_a_stamp_with_a_new_one_is_counted_off_first() {
        let w = Watermark::new(at(1_000, Some(A)));
        w.dispatch(2_000);
        w.switch_host(B, Some(500));
        w.dispatch(2_000);
        w.observe(3_000);
        assert_eq!(w.current(), Some(500));
        w.written(2_000);
        assert_eq!(
            w.current(),
            Some(1_999),
            "one 2,000 is left, whichever it is"
        );
        w.written(2_000);
        assert_eq!(w.current(), Some(3_000));
    }

    #[test]
    fn a_new_host_makes_progress_only_past_where_the_old_one_was() {
        let w = Watermark::new(at(100, Some(A)));
        assert_eq!(w.furthest(), Some(100));
        w.observe(90);
        assert_eq!(
            w.furthest(),
            Some(100),
            "a replay before the loaded position"
        );
        w.dispatch(120);
        assert_eq!(w.furthest(), Some(120), "received, not yet written");
        assert_eq!(w.current(), Some(119));
        w.written(120);
        w.switch_host(B, Some(10));
        w.observe(110);
        assert_eq!(w.furthest(), Some(120), "B's replay is not progress");
        w.observe(121);
        assert_eq!(w.furthest(), Some(121));
        assert_eq!(Watermark::new(None).furthest(), None);
    }
}
