//! `twitter-query`'s time windows (`--since`, `--until`) and its reading of stored times.

use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};
use twitter_query::time_format;
use twitter_query::window::{self, Window};

/// When "now" is: an ordinary day, and the two ends of the four-digit years.
const NOW: [OffsetDateTime; 4] = [
    datetime!(2026-01-02 03:04:05.678901 UTC),
    datetime!(9999-12-31 23:59:59.999999999 UTC),
    datetime!(0000-01-01 00:00:00 UTC),
    datetime!(1970-01-01 00:00:00 UTC),
];

/// The first byte chooses "now"; the rest is `--since` and, after a newline, `--until`.
pub fn window(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = crate::text(rest) else {
        return;
    };
    let now = NOW[usize::from(first % 4)];
    let (since, until) = match text.split_once('\n') {
        Some((since, until)) => (Some(since), Some(until)),
        None => (Some(text), None),
    };
    for value in [since, until].into_iter().flatten() {
        if let Ok(t) = window::parse_instant("--since", value, now) {
            instant(t);
        }
        stored(value);
    }
    if let Ok(window) = Window::parse(since, until, now) {
        checked(&window);
        for t in [window.since, window.until].into_iter().flatten() {
            instant(t);
        }
    }
    if let Ok(window) = Window::parse(until, since, now) {
        checked(&window);
    }
    if let Ok(window) = Window::parse_or(since, until, now, window::last_hour) {
        checked(&window);
        assert!(window.since.is_some() && window.until.is_some());
    }
}

/// An instant the tool read: in UTC, whole milliseconds, in years 0-9999, written and read back
/// the same.
fn instant(t: OffsetDateTime) {
    assert_eq!(t.offset(), UtcOffset::UTC);
    assert_eq!(t.nanosecond() % 1_000_000, 0, "not whole milliseconds");
    assert!((0..=9999).contains(&t.year()));
    let written = time_format::utc(t);
    assert_eq!(
        time_format::parse_stored(&written),
        Some(t),
        "{written} does not read back"
    );
    let _ = time_format::utc_minute(t);
    let _ = window::floor_minute(t);
}

fn checked(window: &Window) {
    if let (Some(since), Some(until)) = (window.since, window.until) {
        assert!(since <= until, "a reversed window was accepted");
    }
    match window.timestamp_bounds() {
        None => assert!(window.is_empty()),
        Some(bounds) => {
            if let (Some(from), Some(to)) = (&bounds.from, &bounds.to) {
                assert!(from <= to, "bounds {from} > {to}");
            }
            // Stored times order as text: the bounds must be of the stored form.
            for bound in [&bounds.from, &bounds.to].into_iter().flatten() {
                assert_eq!(bound.len(), 24, "{bound}");
            }
        }
    }
}

/// The text as a stored `Timestamp`: every reading of it is total.
fn stored(text: &str) {
    if let Some(t) = time_format::parse_stored(text) {
        let _ = t.year();
    }
    let _ = time_format::hour_key(text);
    let _ = time_format::day_key(text);
    let _ = time_format::human(text);
    let _ = time_format::human_minute(text);
}
