//! `report`: what the HTML page shows of one keyword's window, and what `report` prints once the
//! page is written.

use serde::Serialize;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::{PostLine, window_text};
use crate::aggregate::{self, Bucket, By, Entry, Series, Step};
use crate::time_format;
use crate::window::{self, Window};

/// Slots in the report's time chart at most: the finest of minute, hour, day that fits.
pub const REPORT_MAX_SLOTS: usize = 400;
/// Groups each breakdown chart shows; the rest are summed into one bar.
pub const REPORT_TOP: usize = 12;

/// One breakdown chart: the largest groups, and the rest summed.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub title: &'static str,
    pub by: By,
    pub buckets: Vec<Bucket>,
    pub other: Option<Bucket>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub keyword: String,
    pub table: String,
    /// The window in words (`all time`, `from ... to ...`).
    pub window: String,
    pub generated_at: String,
    pub posts: u64,
    pub series: Series,
    pub breakdowns: Vec<Breakdown>,
    /// Newest first.
    pub latest: Vec<PostLine>,
}

impl ReportData {
    /// The page of `keyword` in `table` over `window`, from its index entries (oldest first) and
    /// the latest of them with their text, as of `now`.
    pub fn build(
        keyword: &str,
        table: &str,
        window: &Window,
        now: OffsetDateTime,
        entries: &[Entry],
        latest: Vec<PostLine>,
    ) -> ReportData {
        let first = entries
            .first()
            .and_then(|e| e.timestamp.as_deref())
            .and_then(time_format::parse_stored);
        let last = entries
            .last()
            .and_then(|e| e.timestamp.as_deref())
            .and_then(time_format::parse_stored);
        let (since, until) = chart_span(window, first, last, now);
        let step = Step::fitting(since, until, REPORT_MAX_SLOTS);
        let series = Series::count(
            entries.iter().filter_map(|e| e.timestamp.as_deref()),
            since,
            until,
            step,
        );
        let breakdown = |title: &'static str, by: By| {
            let (top, other) = aggregate::top(&aggregate::group(by, entries), REPORT_TOP);
            Breakdown {
                title,
                by,
                buckets: top,
                other,
            }
        };
        ReportData {
            keyword: keyword.to_owned(),
            table: table.to_owned(),
            window: window_text(
                window.since.map(time_format::utc).as_deref(),
                window.until.map(time_format::utc).as_deref(),
            ),
            generated_at: time_format::utc(window::millis(now)),
            posts: entries.len() as u64,
            series,
            breakdowns: vec![
                breakdown("Languages", By::Lang),
                breakdown("Countries", By::Country),
                breakdown("Hashtags", By::Hashtag),
                breakdown("Authors", By::Author),
            ],
            latest,
        }
    }
}

/// What `report` prints once the page is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub out: String,
    pub keyword: String,
    pub posts: u64,
    pub bytes: u64,
}

/// The time chart's span: the window's sides where given. An open end is now when the window
/// has a start (`--since 24h`: the quiet minutes up to now are part of the answer), else the last
/// post, so an all-time report of last year's posts is not squeezed against eleven empty months.
/// An open start is the first post.
fn chart_span(
    window: &Window,
    first: Option<OffsetDateTime>,
    last: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime) {
    let since = window.since.or(first).unwrap_or(now);
    // The window is half-open: the last post's own millisecond is inside it. After a post at
    // the table's last instant (9999-12-31T23:59:59.999Z) no millisecond can be written: the
    // last nanosecond `time` holds ends the span, and still holds that post.
    let after_last = last.map(|l| {
        l.checked_add(Duration::milliseconds(1))
            .unwrap_or(PrimitiveDateTime::MAX.assume_utc())
    });
    let until = match (window.until, window.since) {
        (Some(until), _) => until,
        (None, Some(_)) => after_last.map_or(now, |l| l.max(now)),
        (None, None) => after_last.unwrap_or(now),
    };
    (since, until.max(since))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn window(since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> Window {
        Window { since, until }
    }

    #[test]
    fn an_all_time_chart_spans_the_posts_not_up_to_now() {
        let (first, last) = (
            datetime!(2026-01-06 00:00 UTC),
            datetime!(2026-01-07 23:54 UTC),
        );
        let now = datetime!(2026-11-23 20:00 UTC);
        assert_eq!(
            chart_span(&window(None, None), Some(first), Some(last), now),
            (first, last + Duration::milliseconds(1))
        );
    }

    #[test]
    fn a_chart_with_a_start_runs_to_now_and_given_sides_are_kept() {
        let now = datetime!(2026-11-23 20:00 UTC);
        let since = now - Duration::hours(24);
        let last = now - Duration::hours(3);
        assert_eq!(
            chart_span(&window(Some(since), None), Some(since), Some(last), now),
            (since, now)
        );
        let until = now - Duration::hours(1);
        assert_eq!(
            chart_span(&window(Some(since), Some(until)), None, None, now),
            (since, until)
        );
        // Nothing stored and no window: an empty chart at now, never a reversed span.
        assert_eq!(chart_span(&window(None, None), None, None, now), (now, now));
    }

    fn at(timestamp: &str) -> Entry {
        Entry {
            timestamp: Some(timestamp.to_owned()),
            ..Entry::default()
        }
    }

    #[test]
    fn a_post_at_the_last_instant_is_charted() {
        let now = datetime!(2026-11-23 20:00 UTC);
        let entries = [
            at("9999-12-31T22:10:00.000Z"),
            at("9999-12-31T23:59:59.999Z"),
        ];
        for w in [
            window(None, None),
            window(Some(datetime!(9999-12-31 22:00 UTC)), None),
        ] {
            let data = ReportData::build("k", "T", &w, now, &entries, Vec::new());
            assert_eq!(data.series.step, Step::Minute);
            assert_eq!(data.series.total(), 2, "{w:?}");
            let last = data.series.counts.len() - 1;
            assert_eq!(
                data.series.slot_start(last),
                datetime!(9999-12-31 23:59 UTC)
            );
            assert_eq!(data.series.counts[last], 1);
        }
        // By day from the first year to the last.
        let entries = [
            at("0000-01-01T00:00:00.000Z"),
            at("9999-12-31T23:59:59.999Z"),
        ];
        let data = ReportData::build("k", "T", &window(None, None), now, &entries, Vec::new());
        assert_eq!(data.series.step, Step::Day);
        assert_eq!(data.series.total(), 2);
        assert_eq!(
            data.series.slot_start(data.series.counts.len() - 1),
            datetime!(9999-12-31 00:00 UTC)
        );
    }
}
