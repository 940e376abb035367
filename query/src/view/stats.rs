//! `stats`: the posts of one keyword in a window, grouped.

use serde::Serialize;

use crate::aggregate::{self, Bucket, By, Entry};
use crate::time_format;
use crate::window::Window;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub keyword: String,
    pub by: By,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Posts in the window (a post with two hashtags is one post, in two buckets).
    pub posts: u64,
    pub buckets: Vec<Bucket>,
}

impl Stats {
    /// `entries` (the keyword's, within `window`) grouped by `by`.
    pub fn of(keyword: &str, by: By, window: &Window, entries: &[Entry]) -> Stats {
        Stats {
            keyword: keyword.to_owned(),
            by,
            since: window.since.map(time_format::utc),
            until: window.until.map(time_format::utc),
            posts: entries.len() as u64,
            buckets: aggregate::group(by, entries),
        }
    }
}
