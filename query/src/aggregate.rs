//! Counting, pure: groups of index entries, per-minute (or hour, day) series with peak and mean,
//! per-keyword tallies, and the dedupe that counts a post once across keywords.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use time::{Duration, OffsetDateTime, Time, UtcOffset};
use twitter_table::schema;

use crate::time_format;

/// What a group is called when the entry has no value for the grouping attribute.
pub const NONE: &str = "(none)";

/// One entry of the keyword index, with whichever attributes were read.
pub use twitter_table::IndexEntry as Entry;

/// How `stats` groups posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// UTC hour of the post's creation
    Hour,
    /// UTC day of the post's creation
    Day,
    /// language X detected (`und` when it could not tell)
    Lang,
    /// country of the post's place (most posts have none)
    Country,
    /// hashtag, case folded; a post counts once under each of its hashtags
    Hashtag,
    /// the author's @username
    Author,
}

impl By {
    /// The one attribute the grouping reads (the Query projects only this one).
    pub fn attribute(self) -> &'static str {
        match self {
            By::Hour | By::Day => schema::TIMESTAMP,
            By::Lang => schema::LANG,
            By::Country => schema::COUNTRY,
            By::Hashtag => schema::HASHTAGS,
            By::Author => schema::USERNAME,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            By::Hour => "hour",
            By::Day => "day",
            By::Lang => "lang",
            By::Country => "country",
            By::Hashtag => "hashtag",
            By::Author => "author",
        }
    }

    /// Time groupings are listed in time order, the others by count.
    pub fn is_time(self) -> bool {
        matches!(self, By::Hour | By::Day)
    }
}

/// One group and how many posts it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    pub key: String,
    /// `posts` in JSON, as in the CSV header and every other command.
    #[serde(rename = "posts")]
    pub count: u64,
}

/// Counts `entries` by `by`. Hours and days come in time order (hours and days without posts are
/// not listed); the other groupings by count, largest first, ties by key.
pub fn group(by: By, entries: &[Entry]) -> Vec<Bucket> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut bump = |key: String| *counts.entry(key).or_default() += 1;
    for entry in entries {
        match by {
            By::Hour | By::Day => bump(time_bucket(by, entry.timestamp.as_deref())),
            By::Lang => bump(value_or_none(&entry.lang)),
            By::Country => bump(value_or_none(&entry.country)),
            By::Author => bump(value_or_none(&entry.username)),
            By::Hashtag => {
                if entry.hashtags.is_empty() {
                    bump(NONE.to_owned());
                }
                // X treats hashtags case-insensitively: #Rust and #rust are one tag.
                let folded: HashSet<String> =
                    entry.hashtags.iter().map(|h| h.to_lowercase()).collect();
                for tag in folded {
                    bump(tag);
                }
            }
        }
    }
    let mut buckets: Vec<Bucket> = counts
        .into_iter()
        .map(|(key, count)| Bucket { key, count })
        .collect();
    if by.is_time() {
        // The stored form sorts in time order; NONE (no timestamp) sorts after digits.
        buckets.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        buckets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    }
    buckets
}

fn value_or_none(v: &Option<String>) -> String {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => NONE.to_owned(),
    }
}

/// [`time_format::hour_key`] for an hour, [`time_format::day_key`] for a day: a prefix of the
/// stored timestamp, which is already UTC.
fn time_bucket(by: By, timestamp: Option<&str>) -> String {
    let Some(t) = timestamp else {
        return NONE.to_owned();
    };
    let key = match by {
        By::Hour => time_format::hour_key(t),
        _ => time_format::day_key(t).map(str::to_owned),
    };
    key.unwrap_or_else(|| NONE.to_owned())
}

/// The `n` largest buckets, and what the rest add up to (for charts that cannot show every one).
pub fn top(buckets: &[Bucket], n: usize) -> (Vec<Bucket>, Option<Bucket>) {
    if buckets.len() <= n {
        return (buckets.to_vec(), None);
    }
    let rest = &buckets[n..];
    let other = Bucket {
        key: format!("{} others", rest.len()),
        count: rest.iter().map(|b| b.count).sum(),
    };
    (buckets[..n].to_vec(), Some(other))
}

/// Keeps the first entry of each post id: a post matching several keywords has one index entry
/// per keyword, and must be counted once when keywords are combined.
pub fn dedupe_by_id(entries: Vec<Entry>) -> Vec<Entry> {
    let mut seen: HashSet<String> = HashSet::with_capacity(entries.len());
    entries
        .into_iter()
        .filter(|e| match &e.id {
            Some(id) => seen.insert(id.clone()),
            None => true,
        })
        .collect()
}

/// The width of one slot of a time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Minute,
    Hour,
    Day,
}

impl Step {
    pub fn seconds(self) -> i64 {
        match self {
            Step::Minute => 60,
            Step::Hour => 3_600,
            Step::Day => 86_400,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Minute => "minute",
            Step::Hour => "hour",
            Step::Day => "day",
        }
    }

    /// The start of the slot `t` falls in (UTC).
    pub fn floor(self, t: OffsetDateTime) -> OffsetDateTime {
        let t = t.to_offset(UtcOffset::UTC);
        let time = match self {
            Step::Minute => Time::from_hms(t.hour(), t.minute(), 0),
            Step::Hour => Time::from_hms(t.hour(), 0, 0),
            Step::Day => Ok(Time::MIDNIGHT),
        };
        t.replace_time(time.unwrap_or(Time::MIDNIGHT))
    }

    /// The finest step that shows `[since, until)` in at most `max_slots` slots (days when none
    /// does).
    pub fn fitting(since: OffsetDateTime, until: OffsetDateTime, max_slots: usize) -> Step {
        [Step::Minute, Step::Hour]
            .into_iter()
            .find(|step| slot_count(*step, since, until) <= max_slots)
            .unwrap_or(Step::Day)
    }
}

fn slot_count(step: Step, since: OffsetDateTime, until: OffsetDateTime) -> usize {
    if since >= until {
        return 0;
    }
    let first = step.floor(since);
    let last = step.floor(until - Duration::milliseconds(1));
    usize::try_from((last - first).whole_seconds() / step.seconds() + 1).unwrap_or(0)
}

/// Posts per slot over a window, every slot present (empty ones are zeros).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The start of the first slot.
    #[serde(serialize_with = "time_format::serialize_utc")]
    pub start: OffsetDateTime,
    pub step: Step,
    pub counts: Vec<u64>,
}

impl Series {
    /// Counts `timestamps` (stored form) into the slots covering `[since, until)`; timestamps
    /// outside the window, or unreadable, are not counted.
    pub fn count<'a>(
        timestamps: impl IntoIterator<Item = &'a str>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        step: Step,
    ) -> Series {
        let start = step.floor(since);
        let mut counts = vec![0u64; slot_count(step, since, until)];
        for t in timestamps {
            let Some(t) = time_format::parse_stored(t) else {
                continue;
            };
            if t < since || t >= until {
                continue;
            }
            let slot = (t - start).whole_seconds() / step.seconds();
            if let Some(c) = usize::try_from(slot).ok().and_then(|i| counts.get_mut(i)) {
                *c += 1;
            }
        }
        Series {
            start,
            step,
            counts,
        }
    }

    pub fn slot_start(&self, index: usize) -> OffsetDateTime {
        let offset = i64::try_from(index).unwrap_or(i64::MAX / 86_400) * self.step.seconds();
        self.start + Duration::seconds(offset)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The busiest slot (the earliest of equals), or `None` when there is no post at all.
    pub fn peak(&self) -> Option<(OffsetDateTime, u64)> {
        let (index, &count) = self
            .counts
            .iter()
            .enumerate()
            .max_by(|(ia, a), (ib, b)| a.cmp(b).then(ib.cmp(ia)))?;
        (count > 0).then(|| (self.slot_start(index), count))
    }

    /// Posts per slot, over every slot of the window (empty ones included).
    pub fn mean(&self) -> f64 {
        if self.counts.is_empty() {
            return 0.0;
        }
        self.total() as f64 / self.counts.len() as f64
    }
}

/// Per keyword: how many index entries (posts), the first and the last `Timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeywordSummary {
    pub keyword: String,
    pub posts: u64,
    pub first_seen: String,
    pub last_seen: String,
}

/// Folds index entries into [`KeywordSummary`]s; one per Scan segment, merged at the end.
#[derive(Debug, Clone, Default)]
pub struct KeywordTally {
    by_keyword: BTreeMap<String, (u64, String, String)>,
}

impl KeywordTally {
    pub fn add(&mut self, keyword: &str, timestamp: &str) {
        match self.by_keyword.get_mut(keyword) {
            Some((n, first, last)) => {
                *n += 1;
                if timestamp < first.as_str() {
                    timestamp.clone_into(first);
                }
                if timestamp > last.as_str() {
                    timestamp.clone_into(last);
                }
            }
            None => {
                self.by_keyword.insert(
                    keyword.to_owned(),
                    (1, timestamp.to_owned(), timestamp.to_owned()),
                );
            }
        }
    }

    pub fn merge(&mut self, other: KeywordTally) {
        for (keyword, (n, first, last)) in other.by_keyword {
            match self.by_keyword.get_mut(&keyword) {
                Some((m, f, l)) => {
                    *m += n;
                    if first < *f {
                        *f = first;
                    }
                    if last > *l {
                        *l = last;
                    }
                }
                None => {
                    self.by_keyword.insert(keyword, (n, first, last));
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_keyword.is_empty()
    }

    /// Largest first, ties by keyword.
    pub fn summaries(self) -> Vec<KeywordSummary> {
        let mut out: Vec<KeywordSummary> = self
            .by_keyword
            .into_iter()
            .map(|(keyword, (posts, first_seen, last_seen))| KeywordSummary {
                keyword,
                posts,
                first_seen,
                last_seen,
            })
            .collect();
        out.sort_by(|a, b| {
            b.posts
                .cmp(&a.posts)
                .then_with(|| a.keyword.cmp(&b.keyword))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn at(ts: &str) -> Entry {
        Entry {
            timestamp: Some(ts.to_owned()),
            ..Entry::default()
        }
    }

    fn pairs(buckets: &[Bucket]) -> Vec<(&str, u64)> {
        buckets.iter().map(|b| (b.key.as_str(), b.count)).collect()
    }

    #[test]
    fn hours_and_days_split_exactly_at_utc_boundaries() {
        let entries = [
            at("2026-01-01T23:59:59.999Z"),
            at("2026-01-02T00:00:00.000Z"),
            at("2026-01-02T00:59:59.999Z"),
            at("2026-01-02T01:00:00.000Z"),
            at("2025-12-31T23:00:00.000Z"),
        ];
        assert_eq!(
            pairs(&group(By::Hour, &entries)),
            [
                ("2025-12-31T23:00:00Z", 1),
                ("2026-01-01T23:00:00Z", 1),
                ("2026-01-02T00:00:00Z", 2),
                ("2026-01-02T01:00:00Z", 1),
            ]
        );
        assert_eq!(
            pairs(&group(By::Day, &entries)),
            [("2025-12-31", 1), ("2026-01-01", 1), ("2026-01-02", 3)]
        );
    }

    #[test]
    fn categories_sort_by_count_then_key_with_missing_values_named() {
        let entry = |lang: Option<&str>| Entry {
            lang: lang.map(str::to_owned),
            ..Entry::default()
        };
        let entries = [
            entry(Some("fr")),
            entry(Some("en")),
            entry(None),
            entry(Some("en")),
            entry(Some("de")),
            entry(Some("")),
        ];
        assert_eq!(
            pairs(&group(By::Lang, &entries)),
            [("(none)", 2), ("en", 2), ("de", 1), ("fr", 1)]
        );
    }

    #[test]
    fn hashtags_fold_case_and_count_once_per_post() {
        let entry = |tags: &[&str]| Entry {
            hashtags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Entry::default()
        };
        let entries = [
            entry(&["Rust", "rust", "Tokio"]),
            entry(&["RUST"]),
            entry(&[]),
            entry(&["Ça"]),
        ];
        assert_eq!(
            pairs(&group(By::Hashtag, &entries)),
            [("rust", 2), ("(none)", 1), ("tokio", 1), ("ça", 1)]
        );
    }

    #[test]
    fn authors_group_by_username() {
        let entry = |u: &str| Entry {
            username: Some(u.to_owned()),
            ..Entry::default()
        };
        let entries = [entry("b"), entry("a"), entry("b")];
        assert_eq!(pairs(&group(By::Author, &entries)), [("b", 2), ("a", 1)]);
    }

    #[test]
    fn top_sums_the_rest() {
        let buckets: Vec<Bucket> = (0..5)
            .map(|i| Bucket {
                key: format!("k{i}"),
                count: 10 - i,
            })
            .collect();
        let (head, other) = top(&buckets, 3);
        assert_eq!(pairs(&head), [("k0", 10), ("k1", 9), ("k2", 8)]);
        assert_eq!(
            other,
            Some(Bucket {
                key: "2 others".into(),
                count: 13
            })
        );
        assert_eq!(top(&buckets, 5).1, None);
    }

    #[test]
    fn dedupe_keeps_the_first_entry_of_each_post() {
        let entry = |id: &str, k: &str| Entry {
            id: Some(id.to_owned()),
            keyword: Some(k.to_owned()),
            ..Entry::default()
        };
        let kept = dedupe_by_id(vec![entry("1", "a"), entry("2", "a"), entry("1", "b")]);
        let keys: Vec<(&str, &str)> = kept
            .iter()
            .map(|e| (e.id.as_deref().unwrap(), e.keyword.as_deref().unwrap()))
            .collect();
        assert_eq!(keys, [("1", "a"), ("2", "a")]);
    }

    #[test]
    fn per_minute_series_has_zeros_peak_and_mean() {
        let since = datetime!(2026-01-01 10:00:30 UTC);
        let until = datetime!(2026-01-01 10:04:00 UTC);
        let stamps = [
            "2026-01-01T10:00:29.999Z", // before the window
            "2026-01-01T10:00:30.000Z",
            "2026-01-01T10:00:59.999Z",
            "2026-01-01T10:02:00.000Z",
            "2026-01-01T10:02:01.000Z",
            "2026-01-01T10:03:59.999Z",
            "2026-01-01T10:04:00.000Z", // the end is exclusive
            "not a time",
        ];
        let series = Series::count(stamps, since, until, Step::Minute);
        assert_eq!(series.start, datetime!(2026-01-01 10:00 UTC));
        assert_eq!(series.counts, [2, 0, 2, 1]);
        assert_eq!(series.total(), 5);
        // The earliest of two equal minutes is the peak.
        assert_eq!(series.peak(), Some((datetime!(2026-01-01 10:00 UTC), 2)));
        assert!((series.mean() - 1.25).abs() < 1e-12);
        assert_eq!(series.slot_start(3), datetime!(2026-01-01 10:03 UTC));
    }

    #[test]
    fn an_empty_series_has_no_peak() {
        let since = datetime!(2026-01-01 10:00 UTC);
        let series = Series::count([], since, since + Duration::hours(1), Step::Minute);
        assert_eq!(series.counts.len(), 60);
        assert_eq!(series.peak(), None);
        assert_eq!(series.mean(), 0.0);
        let none = Series::count([], since, since, Step::Minute);
        assert!(none.counts.is_empty());
        assert_eq!(none.mean(), 0.0);
    }

    #[test]
    fn hour_and_day_slots_start_on_utc_boundaries() {
        let since = datetime!(2026-01-01 22:30 +02:00); // 20:30 UTC
        let until = datetime!(2026-01-02 01:00 UTC);
        let hours = Series::count(
            ["2026-01-01T20:59:00.000Z", "2026-01-02T00:00:00.000Z"],
            since,
            until,
            Step::Hour,
        );
        assert_eq!(hours.start, datetime!(2026-01-01 20:00 UTC));
        // 20, 21, 22, 23 and 00 o'clock.
        assert_eq!(hours.counts, [1, 0, 0, 0, 1]);
        let days = Series::count(
            ["2026-01-01T20:59:00.000Z", "2026-01-02T00:00:00.000Z"],
            since,
            until,
            Step::Day,
        );
        assert_eq!(days.counts, [1, 1]);
    }

    #[test]
    fn fitting_step_is_the_finest_that_fits() {
        let t = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(Step::fitting(t, t + Duration::hours(2), 240), Step::Minute);
        assert_eq!(Step::fitting(t, t + Duration::days(3), 240), Step::Hour);
        assert_eq!(Step::fitting(t, t + Duration::days(30), 240), Step::Day);
        assert_eq!(Step::fitting(t, t + Duration::days(3000), 240), Step::Day);
    }

    #[test]
    fn keyword_tallies_merge_across_segments() {
        let mut a = KeywordTally::default();
        a.add("rust", "2026-01-02T00:00:00.000Z");
        a.add("rust", "2026-01-01T00:00:00.000Z");
        a.add("go", "2026-01-05T00:00:00.000Z");
        let mut b = KeywordTally::default();
        b.add("rust", "2026-01-03T00:00:00.000Z");
        b.add("zig", "2026-01-04T00:00:00.000Z");
        b.add("go", "2026-01-04T00:00:00.000Z");
        a.merge(b);
        let s = a.summaries();
        let rows: Vec<(&str, u64, &str, &str)> = s
            .iter()
            .map(|k| {
                (
                    k.keyword.as_str(),
                    k.posts,
                    &k.first_seen[..10],
                    &k.last_seen[..10],
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("rust", 3, "2026-01-01", "2026-01-03"),
                ("go", 2, "2026-01-04", "2026-01-05"),
                ("zig", 1, "2026-01-04", "2026-01-04"),
            ]
        );
    }
}
