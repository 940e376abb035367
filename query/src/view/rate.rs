//! `rate`: posts per minute over a window, with peak and mean, for one keyword or all.

use serde::Serialize;
use time::OffsetDateTime;

use crate::aggregate::{Series, Step};
use crate::time_format;
use crate::window::Window;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    /// `null` (`None`): every keyword, each post once.
    pub keyword: Option<String>,
    pub since: String,
    pub until: String,
    pub posts: u64,
    pub minutes: usize,
    pub peak: Option<Peak>,
    pub mean_per_minute: f64,
    pub per_minute: Vec<MinuteCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Peak {
    pub minute: String,
    pub posts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MinuteCount {
    pub minute: String,
    pub posts: u64,
}

/// Minutes `rate` lists at most (69 days): one row each, so a window of years would be millions
/// of rows; `stats --by hour|day` is the tool for long spans.
pub const MAX_RATE_MINUTES: i64 = 100_000;

/// The per-minute counts of `timestamps` (stored form) over `window`.
pub fn rate_of(keyword: Option<&str>, window: &Window, timestamps: &[&str]) -> Rate {
    let (since, until) = (
        window.since.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        window.until.unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    let series = Series::count(timestamps.iter().copied(), since, until, Step::Minute);
    Rate {
        keyword: keyword.map(str::to_owned),
        since: time_format::utc(since),
        until: time_format::utc(until),
        posts: series.total(),
        minutes: series.counts.len(),
        peak: series.peak().map(|(minute, posts)| Peak {
            minute: time_format::utc_minute(minute),
            posts,
        }),
        mean_per_minute: series.mean(),
        per_minute: series
            .counts
            .iter()
            .enumerate()
            .map(|(i, &posts)| MinuteCount {
                minute: time_format::utc_minute(series.slot_start(i)),
                posts,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rate_counts_every_minute_of_the_window() {
        let window = Window {
            since: Some(datetime!(2026-01-01 10:00 UTC)),
            until: Some(datetime!(2026-01-01 10:03 UTC)),
        };
        let rate = rate_of(
            Some("k"),
            &window,
            &[
                "2026-01-01T10:00:10.000Z",
                "2026-01-01T10:02:00.000Z",
                "2026-01-01T10:02:59.999Z",
            ],
        );
        assert_eq!(rate.minutes, 3);
        assert_eq!(rate.posts, 3);
        let per: Vec<(&str, u64)> = rate
            .per_minute
            .iter()
            .map(|m| (m.minute.as_str(), m.posts))
            .collect();
        assert_eq!(
            per,
            [
                ("2026-01-01T10:00:00Z", 1),
                ("2026-01-01T10:01:00Z", 0),
                ("2026-01-01T10:02:00Z", 2)
            ]
        );
        assert_eq!(
            rate.peak,
            Some(Peak {
                minute: "2026-01-01T10:02:00Z".into(),
                posts: 2
            })
        );
        assert!((rate.mean_per_minute - 1.0).abs() < 1e-12);
        let json = serde_json::to_value(&rate).unwrap();
        assert_eq!(json["per_minute"][2]["posts"], 2);
        assert_eq!(json["peak"]["minute"], "2026-01-01T10:02:00Z");
    }

    #[test]
    fn a_window_ending_at_the_last_instant_counts_its_last_minute() {
        let window = Window {
            since: Some(datetime!(9999-12-31 23:00 UTC)),
            until: Some(datetime!(9999-12-31 23:59:59.999 UTC)),
        };
        let rate = rate_of(
            None,
            &window,
            &[
                "9999-12-31T23:00:00.000Z",
                "9999-12-31T23:59:59.998Z",
                // The window is half-open: its end is not in it.
                "9999-12-31T23:59:59.999Z",
            ],
        );
        assert_eq!(rate.minutes, 60);
        assert_eq!(rate.posts, 2);
        assert_eq!(rate.until, "9999-12-31T23:59:59.999Z");
        let last = rate.per_minute.last().unwrap();
        assert_eq!(
            (last.minute.as_str(), last.posts),
            ("9999-12-31T23:59:00Z", 1)
        );
    }
}
