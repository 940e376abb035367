//! Time slices of a long Query: the pages of one Query can only be fetched one after the other,
//! so what is left of its range after the first page is read as several ranges at once.

use twitter_table::timestamp::utc_millis;

use crate::time_format::parse_stored;
use crate::window::TimestampBounds;

/// Splits what is left of a range, after the entry stored at `resume`, up to `end` (inclusive),
/// into at most `n` consecutive inclusive ranges of equal time. The first keeps the range's own
/// start (`from`): it is read on from the last key already read, which also picks up entries
/// sharing `resume`'s time. Falls back to one range when the times cannot be read.
pub fn split_rest(from: Option<&str>, resume: &str, end: &str, n: usize) -> Vec<TimestampBounds> {
    let whole = || {
        vec![TimestampBounds {
            from: from.map(str::to_owned),
            to: Some(end.to_owned()),
        }]
    };
    let (Some(resume_at), Some(end_at)) = (parse_stored(resume), parse_stored(end)) else {
        return whole();
    };
    let span_ms = (end_at - resume_at).whole_milliseconds();
    let n = i128::try_from(n).unwrap_or(1).min(span_ms);
    if n <= 1 {
        return whole();
    }
    let step = span_ms / n;
    let mut slices = Vec::with_capacity(n as usize);
    let mut slice_from = from.map(str::to_owned);
    for i in 1..n {
        let cut = resume_at + time::Duration::milliseconds(i64::try_from(step * i).unwrap_or(0));
        slices.push(TimestampBounds {
            from: slice_from,
            to: Some(utc_millis(cut)),
        });
        slice_from = Some(utc_millis(cut + time::Duration::milliseconds(1)));
    }
    slices.push(TimestampBounds {
        from: slice_from,
        to: Some(end.to_owned()),
    });
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_of_a_range_splits_into_consecutive_slices() {
        let slices = split_rest(
            Some("2026-01-01T00:00:00.000Z"),
            "2026-01-01T00:00:10.000Z",
            "2026-01-01T00:00:40.000Z",
            3,
        );
        let pairs: Vec<(Option<&str>, Option<&str>)> = slices
            .iter()
            .map(|b| (b.from.as_deref(), b.to.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [
                // The first keeps the range's start: it resumes from the last key read.
                (
                    Some("2026-01-01T00:00:00.000Z"),
                    Some("2026-01-01T00:00:20.000Z")
                ),
                (
                    Some("2026-01-01T00:00:20.001Z"),
                    Some("2026-01-01T00:00:30.000Z")
                ),
                (
                    Some("2026-01-01T00:00:30.001Z"),
                    Some("2026-01-01T00:00:40.000Z")
                ),
            ]
        );
    }

    #[test]
    fn short_or_unreadable_ranges_stay_whole() {
        let whole = |slices: Vec<TimestampBounds>| {
            assert_eq!(slices.len(), 1);
            (slices[0].from.clone(), slices[0].to.clone())
        };
        assert_eq!(
            whole(split_rest(
                None,
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:00:00.000Z",
                8
            )),
            (None, Some("2026-01-01T00:00:00.000Z".to_owned()))
        );
        assert_eq!(
            whole(split_rest(None, "garbage", "2026-01-01T00:00:00.000Z", 8)).1,
            Some("2026-01-01T00:00:00.000Z".to_owned())
        );
        assert_eq!(
            split_rest(
                None,
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:00:10.000Z",
                1
            )
            .len(),
            1
        );
        // Never more slices than milliseconds left.
        let slices = split_rest(
            None,
            "2026-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00.003Z",
            8,
        );
        let ends: Vec<&str> = slices.iter().filter_map(|b| b.to.as_deref()).collect();
        assert_eq!(
            ends,
            [
                "2026-01-01T00:00:00.001Z",
                "2026-01-01T00:00:00.002Z",
                "2026-01-01T00:00:00.003Z"
            ]
        );
    }
}
