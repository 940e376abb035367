//! What the tool answers, as data: one serializable type per answer (the `--json` shapes), built
//! from what the store read by pure functions. The renderers ([`crate::render`]) print these
//! types and nothing else, and [`crate::reads`] returns them.

mod post;
mod rate;
mod report;
mod stats;

pub use crate::aggregate::KeywordSummary;
pub use post::{Post, PostLine, newest_item, post_from_items};
pub use rate::{MAX_RATE_MINUTES, MinuteCount, Peak, Rate, rate_of};
pub use report::{Breakdown, ReportData, ReportSummary};
pub use stats::Stats;

/// A window in words (`all time`, `since ...`, `before ...`, `from ... to ...`), from its sides
/// as [`crate::time_format::utc`] writes them.
pub fn window_text(since: Option<&str>, until: Option<&str>) -> String {
    match (since, until) {
        (None, None) => "all time".to_owned(),
        (Some(s), None) => format!("since {s}"),
        (None, Some(u)) => format!("before {u}"),
        (Some(s), Some(u)) => format!("from {s} to {u}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_words() {
        assert_eq!(window_text(None, None), "all time");
        assert_eq!(
            window_text(Some("2026-01-01T00:00:00Z"), None),
            "since 2026-01-01T00:00:00Z"
        );
        assert_eq!(
            window_text(None, Some("2026-01-02T00:00:00Z")),
            "before 2026-01-02T00:00:00Z"
        );
        assert_eq!(
            window_text(Some("2026-01-01T00:00:00Z"), Some("2026-01-02T00:00:00Z")),
            "from 2026-01-01T00:00:00Z to 2026-01-02T00:00:00Z"
        );
    }
}
